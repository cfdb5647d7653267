"""Log one training run to MLflow: parameters, data fingerprint, features, metrics, figures, the
test-cohort rows the promotion guard needs, and the model (registered, alias ``challenger``)."""

from __future__ import annotations

import hashlib
import math
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from earlywarn.registry import CHALLENGER, MODEL_NAME, configure_mlflow, log_retention_model

if TYPE_CHECKING:
    from earlywarn.contract import Tables
    from earlywarn.settings import Settings
    from training.pipeline import TrainingResult

TEST_ROWS_ARTIFACT = "evaluation/test_cohort.parquet"
METRICS_ARTIFACT = "evaluation/metrics.json"
FAIRNESS_ARTIFACT = "evaluation/fairness.json"
#: The logistic baseline's risk, logged beside the test rows for the promotion guard.
BASELINE_RISK_COLUMN = "baseline_risk"


def data_fingerprint(tables: Tables, data_dir: Path, as_of: Any) -> dict[str, Any]:
    """What the model was trained on: folder, as-of, each table's rows and its file's hash."""
    digest = hashlib.sha256()
    files: dict[str, Any] = {}
    for name, frame in tables.present().items():
        source = tables.sources.get(name)
        entry: dict[str, Any] = {"rows": len(frame)}
        if source is not None and Path(source).is_file():
            file_hash = hashlib.sha256(Path(source).read_bytes()).hexdigest()
            entry |= {"file": Path(source).name, "sha256": file_hash}
            digest.update(f"{name}:{file_hash}".encode())
        files[name] = entry
    return {
        "data_dir": str(Path(data_dir).resolve()),
        "as_of": str(as_of),
        "tables": files,
        "sha256": digest.hexdigest(),
    }


def _metric_items(evaluation: Mapping[str, Any]) -> dict[str, float]:
    """Flat MLflow metric names: ``<key>_w<week>`` for every numeric field of each week's row
    (model, ``baseline_``, ``prior_`` and ``oracle_`` metrics, calibration diagnostics; an
    interval ``roc_auc_ci`` as ``roc_auc_ci_low``/``_high``), and ``window_<key>`` for the
    window summary's means."""
    flat: dict[str, float] = {}

    def put(name: str, value: Any) -> None:
        if isinstance(value, bool) or not isinstance(value, int | float):
            return
        if not math.isnan(value):
            flat[name] = float(value)

    for row in evaluation["weeks"]:
        for key, value in row.items():
            if key == "week":
                continue
            if isinstance(value, list | tuple) and len(value) == 2:
                put(f"{key}_low_w{row['week']}", value[0])
                put(f"{key}_high_w{row['week']}", value[1])
            else:
                put(f"{key}_w{row['week']}", value)
    for key, value in evaluation.get("window", {}).items():
        if key.startswith("mean_"):
            put(f"window_{key}", value)
    return flat


def log_training_run(
    settings: Settings, result: TrainingResult, fingerprint: Mapping[str, Any] | None = None
) -> tuple[str, str]:
    """Log ``result`` as one MLflow run and register its model; returns (run_id, model version)."""
    import tempfile

    import mlflow

    from training import plots

    configure_mlflow(settings)
    model = result.model
    split = result.split
    test = split.test
    with mlflow.start_run(run_name=f"train test={split.test_period}") as run:
        mlflow.set_tags(
            {
                "earlywarn.test_period": split.test_period,
                "earlywarn.test_cohorts": ",".join(split.test_cohorts),
                "earlywarn.data_dir": str((fingerprint or {}).get("data_dir", "")),
            }
        )
        mlflow.log_params(
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
                "data_sha256": (fingerprint or {}).get("sha256", ""),
            }
        )
        mlflow.log_metrics(_metric_items(result.evaluation))
        for method, ece in model.calibration_ece_.items():
            mlflow.log_metric(f"calibration_cv_ece_{method}", ece)
        mlflow.log_metrics(
            {"training_seconds": result.seconds}
            | {
                f"step_seconds_{step}": seconds
                for step, seconds in result.extra.get("step_seconds", {}).items()
            }
        )
        mlflow.log_dict(dict(fingerprint or {}), "data/fingerprint.json")
        mlflow.log_dict(split.describe(), "data/split.json")
        mlflow.log_dict(
            {
                "features": [
                    {"name": c.name, "kind": c.kind, "monotone_risk": c.monotone_risk}
                    for c in model.feature_columns_
                ],
                "categories": model.categories_,
            },
            "model/features.json",
        )
        mlflow.log_dict(model.reference_stats, "model/reference_stats.json")
        by_week = getattr(model, "reference_stats_by_week_", None)
        if by_week:
            mlflow.log_dict(
                {str(week): stats for week, stats in by_week.items()},
                "model/reference_stats_by_week.json",
            )
        mlflow.log_dict(dict(result.evaluation), METRICS_ARTIFACT)
        mlflow.log_dict(dict(result.audit), "evaluation/audit.json")
        mlflow.log_dict(dict(result.fairness), FAIRNESS_ARTIFACT)
        mlflow.log_metric("trees", float(model.best_iteration_))
        gap = result.fairness.get("largest_calibration_gap_beyond_noise")
        if gap is not None:
            mlflow.log_metric("fairness_calibration_gap_beyond_noise", float(gap))

        y = result.test_at_risk.to_numpy()
        figures = {
            "plots/roc_pr.png": plots.roc_pr_curves(
                y,
                {
                    "model": result.test_risk,
                    "baseline": result.baseline_risk,
                    "oracle": result.oracle_risk,
                },
                f"test cohort {split.test_period}, all weeks",
            ),
            "plots/calibration.png": plots.calibration_curve(
                y, result.test_risk, f"test cohort {split.test_period}"
            ),
            "plots/auc_by_week.png": plots.auc_by_week(result.evaluation["weeks"]),
            "plots/ece_by_week.png": plots.ece_by_week(result.evaluation["weeks"]),
            "plots/feature_importance.png": plots.feature_importance(model.feature_importance()),
            "plots/shap_summary.png": plots.shap_summary(
                result.test_contributions, model._frame(test.loc[result.test_contributions.index])
            ),
        }
        for path, figure in figures.items():
            mlflow.log_figure(figure, path)

        with tempfile.TemporaryDirectory() as scratch:
            rows = Path(scratch) / Path(TEST_ROWS_ARTIFACT).name
            logged = test.assign(**{BASELINE_RISK_COLUMN: result.baseline_risk})
            logged.reset_index(drop=True).to_parquet(rows, index=False)
            mlflow.log_artifact(str(rows), Path(TEST_ROWS_ARTIFACT).parent.as_posix())

        _, registered = log_retention_model(model, split.train)
        version = str(registered)
        run_id = run.info.run_id

    client = mlflow.MlflowClient()
    client.set_model_version_tag(MODEL_NAME, version, "run_id", run_id)
    client.set_model_version_tag(MODEL_NAME, version, "test_period", split.test_period)
    client.set_registered_model_alias(MODEL_NAME, CHALLENGER, version)
    return run_id, version
