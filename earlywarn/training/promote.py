"""The promotion guard: move the ``champion`` alias to the challenger only when it earns it, and
record every decision.

The challenger's test-cohort rows (logged with its run, with the logistic baseline's risk) are
scored over the evaluation window's checkpoint weeks (training/evaluate.py, ``WINDOW``, weeks 1-8
by default; the weeks the rows hold). The guard compares mean weekly ROC-AUC over the window:

* against the logistic baseline of the challenger's own run, and against the champion (scoring
  the same rows) when there is one. A comparison fails when the challenger is lower by more than
  the noise: ``GATE_Z`` standard errors of the paired difference, from a bootstrap that resamples
  test students (each student's weeks together), and at least ``promote_auc_tolerance``;
* calibration: the mean weekly ECE must be under ``promote_max_ece`` or, if not, under the noise
  floor of the rows it has (the mean 95th percentile of the ECE a perfectly calibrated model with
  the same predictions shows on each week's rows), so a small institution's first model is not
  refused for noise;
* fairness: the run's largest calibration gap between groups, beyond its noise
  (training/fairness.py), must not exceed ``promote_max_calibration_gap``.

Every refusal says by how much. ``force`` promotes anyway, recorded as forced. Each promotion is
recorded as tags on the promoted model version (``promotion.*``) and, with every refusal, as one
JSON line in ``<home>/mlruns/promotions.jsonl``.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from earlywarn.core.errors import MissingModelError, RegistryError
from earlywarn.model.metrics import expected_calibration_error
from earlywarn.model.store import (
    CHALLENGER,
    CHAMPION,
    MODEL_NAME,
    alias_version,
    client,
    load_model_uri,
)
from earlywarn.training.evaluate import WINDOW, ece_if_calibrated, weighted_auc_draws
from earlywarn.training.fit import risk_target
from earlywarn.training.tracking import BASELINE_RISK_COLUMN, FAIRNESS_ARTIFACT, TEST_ROWS_ARTIFACT

if TYPE_CHECKING:
    import numpy as np
    import pandas as pd

    from earlywarn.core.settings import Settings

PROMOTIONS_LOG = "promotions.jsonl"
#: Standard errors of the paired bootstrap difference that count as noise (two-sided 95%).
GATE_Z = 1.96
#: Bootstrap draws over test students for the noise of a difference in mean weekly AUC.
GATE_DRAWS = 200


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
    weeks: list[int] | None = None
    baseline_auc: float | None = None
    auc_noise: float | None = None
    ece_noise: float | None = None

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
    import pandas as pd

    from earlywarn.model.runs import run_file

    registry = client(settings)
    model_version = registry.get_model_version(MODEL_NAME, version)
    run_id = model_version.tags.get("run_id") or model_version.run_id
    if not run_id:
        raise RegistryError(
            f"model version {version} has no training run; retrain with earlywarn train"
        )
    path = run_file(settings, run_id, TEST_ROWS_ARTIFACT)
    return pd.read_parquet(path), model_version.tags.get("test_period")


def run_fairness(settings: Settings, version: str) -> dict[str, Any]:
    """The fairness report logged with model ``version``'s run (empty when there is none)."""
    from earlywarn.model.runs import run_json

    model_version = client(settings).get_model_version(MODEL_NAME, version)
    run_id = model_version.tags.get("run_id") or model_version.run_id
    if not run_id:
        return {}
    # an older run without the report: nothing to judge
    return run_json(settings, run_id, FAIRNESS_ARTIFACT) or {}


def mean_weekly_auc_draws(
    y: np.ndarray, scores: dict[str, np.ndarray], week: np.ndarray, student: np.ndarray, seed: int
) -> tuple[dict[str, float], dict[str, np.ndarray]]:
    """Each score's mean weekly ROC-AUC over the weeks in ``week``, and the same under
    ``GATE_DRAWS`` bootstrap draws that resample students (a student's weeks together, paired
    across scores, so differences keep their correlation)."""
    import numpy as np

    codes = np.unique(student.astype(str), return_inverse=True)[1]
    n = int(codes.max()) + 1
    rng = np.random.default_rng(seed)
    counts = rng.multinomial(n, np.full(n, 1.0 / n), size=GATE_DRAWS)[:, codes]
    ones = np.ones((1, len(y)))
    point: dict[str, list[float]] = {name: [] for name in scores}
    draws: dict[str, list[np.ndarray]] = {name: [] for name in scores}
    for value in np.unique(week):
        rows = week == value
        if not 0 < y[rows].sum() < rows.sum():
            continue
        for name, score in scores.items():
            point[name].append(float(weighted_auc_draws(y[rows], score[rows], ones[:, rows])[0]))
            draws[name].append(weighted_auc_draws(y[rows], score[rows], counts[:, rows]))
    means = {name: float(np.mean(v)) if v else float("nan") for name, v in point.items()}
    spread = {
        name: np.nanmean(np.vstack(v), axis=0) if v else np.full(GATE_DRAWS, np.nan)
        for name, v in draws.items()
    }
    return means, spread


def weekly_calibration(
    y: np.ndarray, risk: np.ndarray, week: np.ndarray, seed: int
) -> tuple[float, float]:
    """The mean over weeks of the ECE and of its noise floor's 95th percentile."""
    import numpy as np

    errors, floors = [], []
    for value in np.unique(week):
        rows = week == value
        errors.append(expected_calibration_error(y[rows], risk[rows]))
        floors.append(ece_if_calibrated(risk[rows], seed=seed + int(value))[1])
    return float(np.mean(errors)), float(np.mean(floors))


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
    rows, test_period = challenger_test_rows(settings, challenger)
    first, last = WINDOW
    checkpoint = rows["checkpoint_week"].astype(int)
    in_window = rows[(checkpoint >= first) & (checkpoint <= last)]
    if in_window.empty:  # a test cohort that starts later in its term: its first weeks
        weeks_held = sorted(set(checkpoint))[: last - first + 1]
        in_window = rows[checkpoint.isin(weeks_held)]
    weeks = sorted({int(w) for w in in_window["checkpoint_week"]})
    numbers: dict[str, Any] = {}

    def decide(status: str, reason: str) -> PromotionDecision:
        return PromotionDecision(
            status=status,
            reason=reason,
            challenger_version=challenger,
            previous_champion_version=champion,
            week=weeks[-1] if weeks else settings.promote_week,
            rows=len(in_window),
            challenger_auc=numbers.get("challenger"),
            champion_auc=numbers.get("champion"),
            challenger_ece=numbers.get("ece"),
            actor=actor,
            at=at,
            test_period=test_period,
            weeks=weeks,
            baseline_auc=numbers.get("baseline"),
            auc_noise=numbers.get("noise"),
            ece_noise=numbers.get("ece_noise"),
        )

    if champion == challenger:
        return decide("unchanged", f"version {challenger} is already the champion")

    problems = _judge(settings, challenger, champion, in_window, numbers)
    span = f"weeks {weeks[0]}-{weeks[-1]}" if weeks else "no weeks"
    summary = (
        f"mean weekly ROC-AUC over {span}, {len(in_window)} rows of test cohort {test_period}: "
        f"challenger v{challenger} {_rounded(numbers.get('challenger'))}, logistic baseline "
        f"{_rounded(numbers.get('baseline'))}, champion "
        + (f"v{champion} {_rounded(numbers.get('champion'))}" if champion else "none")
        + f"; mean weekly ECE {_rounded(numbers.get('ece'))}"
    )
    if problems and not force:
        status, reason = "refused", "; ".join(problems) + f" ({summary})"
    elif problems:
        status, reason = "forced", "forced despite: " + "; ".join(problems) + f" ({summary})"
    elif champion is None:
        status, reason = "promoted", f"first model, within the limits ({summary})"
    else:
        status, reason = "promoted", f"at least as good as the champion ({summary})"
    decision = decide(status, reason)
    _record(settings, decision)
    return decision


def _judge(
    settings: Settings,
    challenger: str,
    champion: str | None,
    rows: pd.DataFrame,
    numbers: dict[str, Any],
) -> list[str]:
    """What is wrong with the challenger on ``rows`` (empty: nothing); fills ``numbers``."""
    import numpy as np

    if rows.empty:
        return ["the challenger's test cohort has no rows to judge it on"]
    y = risk_target(rows).to_numpy()
    week = rows["checkpoint_week"].to_numpy(dtype=float)
    model = load_model_uri(settings, f"models:/{MODEL_NAME}/{challenger}")
    scores = {"challenger": model.predict_risk(rows)}
    problems: list[str] = []
    if BASELINE_RISK_COLUMN in rows.columns:
        scores["baseline"] = rows[BASELINE_RISK_COLUMN].to_numpy(dtype=float)
    if champion is not None:
        try:
            champion_model = load_model_uri(settings, f"models:/{MODEL_NAME}/{champion}")
            scores["champion"] = champion_model.predict_risk(rows)
        except KeyError as exc:
            problems.append(f"the champion cannot score the challenger's test rows ({exc})")
    means, draws = mean_weekly_auc_draws(
        y, scores, week, rows["student_id"].to_numpy(), int(settings.seed)
    )
    numbers.update({k: (None if np.isnan(v) else v) for k, v in means.items()})
    if numbers.get("challenger") is None:
        return [*problems, "the test rows hold only one outcome each week, so AUC is undefined"]
    for other, label in (("baseline", "the logistic baseline"), ("champion", "the champion")):
        if numbers.get(other) is None:
            continue
        difference = means["challenger"] - means[other]
        spread = float(np.nanstd(draws["challenger"] - draws[other], ddof=1))
        noise = max(GATE_Z * spread, float(settings.promote_auc_tolerance))
        numbers["noise"] = max(noise, numbers.get("noise") or 0.0)
        if difference < -noise:
            problems.append(
                f"challenger mean weekly AUC {means['challenger']:.4f} is {-difference:.4f} "
                f"below {label}'s {means[other]:.4f}, beyond the noise of {noise:.4f}"
            )
    ece, floor = weekly_calibration(y, scores["challenger"], week, int(settings.seed))
    numbers["ece"], numbers["ece_noise"] = ece, floor
    limit = max(float(settings.promote_max_ece), floor)
    if ece > limit:
        problems.append(
            f"challenger mean weekly ECE {ece:.4f} is {ece - limit:.4f} over the limit "
            f"{limit:.4f} (promote_max_ece {settings.promote_max_ece}, noise floor {floor:.4f})"
        )
    gap = run_fairness(settings, challenger).get("largest_calibration_gap_beyond_noise")
    gap_limit = float(settings.promote_max_calibration_gap)
    if gap is not None and gap > gap_limit:
        problems.append(
            f"a calibration gap between groups is {gap:.4f} beyond its noise, {gap - gap_limit:.4f}"
            f" over promote_max_calibration_gap {gap_limit}"
        )
    return problems


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
            "promotion.weeks": ",".join(str(w) for w in decision.weeks or []),
            "promotion.baseline_auc": _rounded(decision.baseline_auc),
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
