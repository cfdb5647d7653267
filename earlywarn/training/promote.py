"""The promotion guard: move the ``champion`` alias to the challenger only when it is at least as
good, and record every decision.

Both models score the challenger's test-cohort rows at checkpoint week ``settings.promote_week``
(logged with the challenger's run). The challenger wins when its ROC-AUC is at least the champion's
minus ``promote_auc_tolerance`` and its expected calibration error is under ``promote_max_ece``;
the first model only has to pass the calibration check. ``force`` promotes anyway, marked forced.

Each promotion is recorded as tags on the promoted model version (``promotion.*``) and, with every
refusal, as one JSON line in ``<home>/mlruns/promotions.jsonl``.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from earlywarn.core.errors import MissingModelError, RegistryError
from earlywarn.model.store import (
    CHALLENGER,
    CHAMPION,
    MODEL_NAME,
    alias_version,
    client,
    load_model_uri,
)
from earlywarn.training.evaluate import classification_metrics
from earlywarn.training.fit import risk_target
from earlywarn.training.tracking import TEST_ROWS_ARTIFACT

if TYPE_CHECKING:
    import pandas as pd

    from earlywarn.core.settings import Settings

PROMOTIONS_LOG = "promotions.jsonl"


@dataclass(frozen=True)
class PromotionDecision:
    """What the guard decided, why, and the numbers behind it."""

    status: str  # "promoted", "forced", "refused" or "unchanged"
    reason: str
    challenger_version: str
    previous_champion_version: str | None
    week: int
    rows: int
    challenger_auc: float | None
    champion_auc: float | None
    challenger_ece: float | None
    actor: str
    at: str
    test_period: str | None = None

    @property
    def promoted(self) -> bool:
        return self.status in ("promoted", "forced")

    def as_dict(self) -> dict[str, Any]:
        return asdict(self) | {"promoted": self.promoted}


def promotions_log_path(settings: Settings) -> Path:
    return settings.mlruns_dir / PROMOTIONS_LOG


def list_promotions(settings: Settings) -> list[dict[str, Any]]:
    """Every recorded decision, oldest first."""
    path = promotions_log_path(settings)
    if not path.is_file():
        return []
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line]


def challenger_test_rows(settings: Settings, version: str) -> tuple[pd.DataFrame, str | None]:
    """The test-cohort rows logged with the run that produced model ``version``."""
    import mlflow
    import pandas as pd

    registry = client(settings)
    model_version = registry.get_model_version(MODEL_NAME, version)
    run_id = model_version.tags.get("run_id") or model_version.run_id
    if not run_id:
        raise RegistryError(
            f"model version {version} has no training run; retrain with earlywarn train"
        )
    try:
        path = mlflow.artifacts.download_artifacts(run_id=run_id, artifact_path=TEST_ROWS_ARTIFACT)
    except Exception as exc:  # MLflow raises several types for a missing artifact
        raise RegistryError(
            f"run {run_id} (model version {version}) has no {TEST_ROWS_ARTIFACT}; "
            "retrain with earlywarn train"
        ) from exc
    return pd.read_parquet(path), model_version.tags.get("test_period")


def _rounded(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.4f}"


def promote_challenger(
    settings: Settings, *, actor: str, force: bool = False, now: datetime | None = None
) -> PromotionDecision:
    """Apply the guard to the current challenger; move the champion alias when it passes (or when
    forced) and record the decision. Raises :class:`RegistryError` when there is no challenger."""
    challenger = alias_version(settings, CHALLENGER)
    if challenger is None:
        raise MissingModelError(
            f"no challenger model in {settings.mlruns_dir}: run earlywarn train DIR first"
        )
    champion = alias_version(settings, CHAMPION)
    at = (now or datetime.now(UTC)).astimezone(UTC).isoformat()
    week = settings.promote_week
    rows, test_period = challenger_test_rows(settings, challenger)
    at_week = rows[rows["checkpoint_week"].astype(float) == week]

    def decide(
        status: str,
        reason: str,
        challenger_auc: float | None = None,
        champion_auc: float | None = None,
        challenger_ece: float | None = None,
    ) -> PromotionDecision:
        return PromotionDecision(
            status=status,
            reason=reason,
            challenger_version=challenger,
            previous_champion_version=champion,
            week=week,
            rows=len(at_week),
            challenger_auc=challenger_auc,
            champion_auc=champion_auc,
            challenger_ece=challenger_ece,
            actor=actor,
            at=at,
            test_period=test_period,
        )

    if champion == challenger:
        return decide("unchanged", f"version {challenger} is already the champion")

    challenger_auc: float | None = None
    challenger_ece: float | None = None
    champion_auc: float | None = None
    problems: list[str] = []
    if at_week.empty:
        weeks = sorted({int(w) for w in rows["checkpoint_week"]})
        problems.append(
            f"the challenger's test cohort has no rows at checkpoint week {week} "
            f"(weeks {weeks}); set promote_week to one of them"
        )
    else:
        at_risk = risk_target(at_week)
        challenger_model = load_model_uri(settings, f"models:/{MODEL_NAME}/{challenger}")
        scores = classification_metrics(at_risk, challenger_model.predict_risk(at_week))
        challenger_auc, challenger_ece = scores["roc_auc"], scores["ece"]
        if champion is not None:
            champion_model = load_model_uri(settings, f"models:/{MODEL_NAME}/{champion}")
            try:
                champion_risk = champion_model.predict_risk(at_week)
            except KeyError as exc:
                problems.append(f"the champion cannot score the challenger's test rows ({exc})")
            else:
                champion_auc = classification_metrics(at_risk, champion_risk)["roc_auc"]
        if challenger_ece is None or challenger_ece >= settings.promote_max_ece:
            problems.append(
                f"challenger ECE {_rounded(challenger_ece)} is not under promote_max_ece "
                f"{settings.promote_max_ece}"
            )
        if challenger_auc is None:
            problems.append("the test rows hold only one outcome, so AUC is undefined")
        elif champion_auc is not None and (
            challenger_auc < champion_auc - settings.promote_auc_tolerance
        ):
            problems.append(
                f"challenger AUC {_rounded(challenger_auc)} is below champion (version {champion}) "
                f"AUC {_rounded(champion_auc)} minus tolerance {settings.promote_auc_tolerance}"
            )

    numbers = (
        f"week {week}, {len(at_week)} rows of test cohort {test_period}: challenger v{challenger} "
        f"AUC {_rounded(challenger_auc)}, ECE {_rounded(challenger_ece)}; champion "
        + (f"v{champion} AUC {_rounded(champion_auc)}" if champion else "none")
    )
    if problems and not force:
        status, reason = "refused", "; ".join(problems) + f" ({numbers})"
    elif problems:
        status, reason = "forced", "forced despite: " + "; ".join(problems) + f" ({numbers})"
    elif champion is None:
        status, reason = "promoted", f"first model, calibration within the limit ({numbers})"
    else:
        status, reason = "promoted", f"at least as good as the champion ({numbers})"
    decision = decide(status, reason, challenger_auc, champion_auc, challenger_ece)
    _record(settings, decision)
    return decision


def _record(settings: Settings, decision: PromotionDecision) -> None:
    """Move the alias (when promoted), tag the version and append the decision to the log."""
    registry = client(settings)
    if decision.promoted:
        registry.set_registered_model_alias(MODEL_NAME, CHAMPION, decision.challenger_version)
        tags = {
            "promotion.status": decision.status,
            "promotion.forced": str(decision.status == "forced").lower(),
            "promotion.by": decision.actor,
            "promotion.at": decision.at,
            "promotion.reason": decision.reason,
            "promotion.week": str(decision.week),
            "promotion.challenger_auc": _rounded(decision.challenger_auc),
            "promotion.champion_auc": _rounded(decision.champion_auc),
            "promotion.challenger_ece": _rounded(decision.challenger_ece),
            "promotion.previous_champion": decision.previous_champion_version or "",
        }
        for key, value in tags.items():
            registry.set_model_version_tag(MODEL_NAME, decision.challenger_version, key, value)
    path = promotions_log_path(settings)
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a", encoding="utf-8") as log:
        log.write(json.dumps(decision.as_dict(), sort_keys=True) + "\n")
