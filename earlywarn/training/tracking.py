"""Log one training run to MLflow as an ML engineer expects to find it.

One metric key per measure with step = checkpoint week (``roc_auc``, ``baseline_roc_auc``,
``ece``, ...: every numeric field of each entry of the evaluation's ``weeks``), tags for the data
folder's fingerprint, the label, the test cohort and the git commit, the training and test rows as
input datasets (``mlflow.log_input``), every plot under ``plots/``, the test-cohort rows the
promotion guard needs, and the model with its signature and input example (registered, alias
``challenger``).
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from earlywarn.model.runs import DATA_DIR_TAG, RunLog, code_tags, tracked_run
from earlywarn.model.store import log_retention_model, mark_challenger
from earlywarn.training.fit import risk_target

if TYPE_CHECKING:
    from earlywarn.contract import Tables
    from earlywarn.core.settings import Settings
    from earlywarn.training.result import TrainingResult

TEST_ROWS_ARTIFACT = "evaluation/test_cohort.parquet"
METRICS_ARTIFACT = "evaluation/metrics.json"
FAIRNESS_ARTIFACT = "evaluation/fairness.json"
FEEDBACK_ARTIFACT = "evaluation/advisor_feedback.json"
#: The logistic baseline's risk, logged beside the test rows for the promotion guard.
BASELINE_RISK_COLUMN = "baseline_risk"
PLOTS_FOLDER = "plots"
PLOTS = (
    "auc_by_week.png",
    "ece_by_week.png",
    "calibration.png",
    "roc_pr.png",
    "feature_importance.png",
    "shap_summary.png",
)
RISK_COLUMN = "not_retained"
# Tags every training run carries (besides the git commit): what it learned from and was tested on.
DATA_TAG = "earlywarn.data_sha256"
LABEL_TAG = "earlywarn.label"
TEST_COHORT_TAG = "earlywarn.test_cohort"


def data_fingerprint(tables: Tables, data_dir: Path, as_of: Any) -> dict[str, Any]:
    """What the model was trained on: folder, as-of, each table's rows and its file's hash."""
    digest = hashlib.sha256()
    files: dict[str, Any] = {}
    for name, frame in tables.present().items():
        source = tables.sources.get(name)
        entry: dict[str, Any] = {"rows": len(frame)}
        if source is not None and Path(source).is_file():
            # Streamed: an activity table can be a gigabyte (OULAD's full clickstream).
            with Path(source).open("rb") as handle:
                file_hash = hashlib.file_digest(handle, "sha256").hexdigest()
            entry |= {"file": Path(source).name, "sha256": file_hash}
            digest.update(f"{name}:{file_hash}".encode())
        files[name] = entry
    return {
        "data_dir": str(Path(data_dir).resolve()),
        "as_of": str(as_of),
        "tables": files,
        "sha256": digest.hexdigest(),
    }


def _numeric(value: Any) -> float | None:
    """``value`` as a metric value, or ``None`` for what is not a finite number (or a flag)."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return None if math.isnan(value) or math.isinf(value) else float(value)


def week_metrics(evaluation: Mapping[str, Any]) -> list[tuple[str, float, int]]:
    """``(key, value, step)`` for every numeric field of every entry of ``evaluation["weeks"]``,
    with step = the checkpoint week: one metric key per measure (``roc_auc``,
    ``baseline_roc_auc``, ``ece``, ...), so MLflow charts each over the term."""
    rows: list[tuple[str, float, int]] = []
    for entry in evaluation.get("weeks", []):
        week = int(entry["week"])
        for key, value in entry.items():
            if key == "week":
                continue
            if isinstance(value, list | tuple) and len(value) == 2:  # an interval: low, high
                for end, bound in (("low", value[0]), ("high", value[1])):
                    number = _numeric(bound)
                    if number is not None:
                        rows.append((f"{key}_{end}", number, week))
                continue
            number = _numeric(value)
            if number is not None:
                rows.append((key, number, week))
    return rows


def summary_metrics(evaluation: Mapping[str, Any]) -> dict[str, float]:
    """The one summary beside the weekly series: ``window_mean_<m>``, the mean of each weekly
    measure over the named window of weeks (weeks 1-8 by default)."""
    flat: dict[str, float] = {}
    for key, value in (evaluation.get("window") or {}).items():
        number = _numeric(value)
        if key.startswith("mean_") and number is not None:
            flat[f"window_{key}"] = number
    return flat


def _label(fingerprint: Mapping[str, Any]) -> str:
    """What the label means and where it came from (CONTRACT.md: ``outcomes`` overrides)."""
    tables = fingerprint.get("tables") or {}
    source = "outcomes table" if "outcomes" in tables else "derived from enrollments"
    return f"not retained after the first year ({source})"


def _run_description(result: TrainingResult) -> str:
    """The run's description in the MLflow UI: where the plots and numbers are."""
    return (
        f"Retention model tested on the {result.split.test_period} cohort. Metrics are series "
        "over the checkpoint weeks (step = week): roc_auc, baseline_roc_auc, ece, ... "
        f"Plots: artifacts, folder {PLOTS_FOLDER}/ ({', '.join(PLOTS)}). "
        f"Every number per week: {METRICS_ARTIFACT}."
    )


def _log_dataset(run: RunLog, result: TrainingResult, fingerprint: Mapping[str, Any]) -> None:
    """The training rows as the run's input dataset (``mlflow.log_input``): its schema, size and
    digest, with the data folder as its source; the test cohort as a second input."""
    import pandas as pd

    columns = [*result.model.input_kinds, "checkpoint_week", RISK_COLUMN]
    source = str(fingerprint.get("data_dir", ""))
    test_name = f"test rows ({result.split.test_period} cohort)"
    for context, frame, name in (
        ("training", result.split.train, "training rows (earlier cohorts)"),
        ("test", result.split.test, test_name),
    ):
        rows = frame.assign(**{RISK_COLUMN: risk_target(frame).to_numpy()})
        rows = rows[[c for c in columns if c in rows.columns]]
        # Categories as plain strings: MLflow's schema inference refuses category columns.
        typed = rows.apply(
            lambda col: col.astype(object) if isinstance(col.dtype, pd.CategoricalDtype) else col
        )
        run.frame(typed, name=name, source=source, target=RISK_COLUMN, context=context)


def feedback_metrics(settings: Settings) -> tuple[dict[str, float], dict[str, Any]]:
    """What advisors have recorded from their digests so far (the state database), for the run:
    ``feedback_<choice>`` counts, ``feedback_recorded`` and ``feedback_wrong_share``, and the
    summary per advisor and per tier (ids only). Nothing when no state database exists yet."""
    from earlywarn.state import open_state
    from earlywarn.state.feedback import feedback_summary, list_feedback

    if settings.database_url is None and not (settings.home / "earlywarn.db").is_file():
        return {}, {}
    engine = open_state(settings.state_url)
    try:
        summary = feedback_summary(list_feedback(engine))
    finally:
        engine.dispose()
    by_choice: Mapping[str, int] = summary["by_choice"]  # type: ignore[assignment]
    metrics = {f"feedback_{choice}": float(count) for choice, count in by_choice.items()}
    metrics["feedback_recorded"] = float(summary["recorded"])  # type: ignore[arg-type]
    if summary["wrong_share"] is not None:
        metrics["feedback_wrong_share"] = float(summary["wrong_share"])  # type: ignore[arg-type]
    return metrics, summary


def log_training_run(
    settings: Settings, result: TrainingResult, fingerprint: Mapping[str, Any] | None = None
) -> tuple[str, str]:
    """Log ``result`` as one MLflow run and register its model; returns (run_id, model version)."""
    import tempfile

    from earlywarn.training import plots

    model = result.model
    split = result.split
    test = split.test
    fingerprint = dict(fingerprint or {})
    tags = {
        TEST_COHORT_TAG: split.test_period,
        "earlywarn.test_cohorts": ",".join(split.test_cohorts),
        DATA_DIR_TAG: str(fingerprint.get("data_dir", "")),
        DATA_TAG: str(fingerprint.get("sha256", "")),
        LABEL_TAG: _label(fingerprint),
        "mlflow.note.content": _run_description(result),
        **code_tags(),
    }
    with tracked_run(settings, run_name=f"train test={split.test_period}", tags=tags) as run:
        run.params(
            {
                **{f"lgbm_{k}": v for k, v in (model.params or {}).items()},
                "n_estimators": model.n_estimators,
                "early_stopping_rounds": model.early_stopping_rounds,
                "best_iteration": model.best_iteration_,
                "calibration": model.calibration_method_,
                "seed": model.random_state,
                "include_sensitive_attributes": settings.include_sensitive_attributes,
                "as_of": str(result.as_of),
                "test_period": split.test_period,
                "train_periods": ", ".join(split.train_periods),
                "n_features": len(model.feature_names),
                "data_sha256": fingerprint.get("sha256", ""),
            }
        )
        run.series(week_metrics(result.evaluation))
        run.metrics(summary_metrics(result.evaluation))
        for method, ece in model.calibration_ece_.items():
            run.metrics({f"calibration_cv_ece_{method}": ece})
        run.metrics(
            {"training_seconds": result.seconds}
            | {
                f"step_seconds_{step}": seconds
                for step, seconds in result.extra.get("step_seconds", {}).items()
            }
        )
        run.json(fingerprint, "data/fingerprint.json")
        run.json(split.describe(), "data/split.json")
        run.json(
            {
                "features": [
                    {"name": c.name, "kind": c.kind, "monotone_risk": c.monotone_risk}
                    for c in model.feature_columns_
                ],
                "categories": model.categories_,
            },
            "model/features.json",
        )
        run.json(model.reference_stats, "model/reference_stats.json")
        by_week = getattr(model, "reference_stats_by_week_", None)
        if by_week:
            run.json(
                {str(week): stats for week, stats in by_week.items()},
                "model/reference_stats_by_week.json",
            )
        run.json(dict(result.evaluation), METRICS_ARTIFACT)
        run.json(dict(result.audit), "evaluation/audit.json")
        run.json(dict(result.fairness), FAIRNESS_ARTIFACT)
        advisors, feedback = feedback_metrics(settings)
        if feedback:
            run.metrics(advisors)
            run.json(feedback, FEEDBACK_ARTIFACT)
        run.metrics({"trees": float(model.best_iteration_)})
        gap = result.fairness.get("largest_calibration_gap_beyond_noise")
        if gap is not None:
            run.metrics({"fairness_calibration_gap_beyond_noise": float(gap)})

        _log_dataset(run, result, fingerprint)

        y = result.test_at_risk.to_numpy()
        figures = {
            "roc_pr.png": plots.roc_pr_curves(
                y,
                {
                    "model": result.test_risk,
                    "baseline": result.baseline_risk,
                    "oracle": result.oracle_risk,
                },
                f"test cohort {split.test_period}, all weeks",
            ),
            "calibration.png": plots.calibration_curve(
                y, result.test_risk, f"test cohort {split.test_period}"
            ),
            "auc_by_week.png": plots.auc_by_week(result.evaluation["weeks"]),
            "ece_by_week.png": plots.ece_by_week(result.evaluation["weeks"]),
            "feature_importance.png": plots.feature_importance(model.feature_importance()),
            "shap_summary.png": plots.shap_summary(
                result.test_contributions, model._frame(test.loc[result.test_contributions.index])
            ),
        }
        for name, figure in figures.items():
            run.figure(figure, f"{PLOTS_FOLDER}/{name}")

        with tempfile.TemporaryDirectory() as scratch:
            rows = Path(scratch) / Path(TEST_ROWS_ARTIFACT).name
            logged = test.assign(**{BASELINE_RISK_COLUMN: result.baseline_risk})
            logged.reset_index(drop=True).to_parquet(rows, index=False)
            run.file(rows, Path(TEST_ROWS_ARTIFACT).parent.as_posix())

        _, registered = log_retention_model(model, split.train)
        version = str(registered)
        run_id = run.run_id

    mark_challenger(settings, version, run_id=run_id, test_period=split.test_period)
    return run_id, version
