"""What a training run produced, before and after it is logged; what train --json prints."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from earlywarn.training.fit import DatasetSplit

if TYPE_CHECKING:
    import numpy as np
    import pandas as pd

    from earlywarn.model.artifact import RetentionModel


@dataclass
class TrainingResult:
    """Everything a training run produced, before and after it is logged."""

    model: RetentionModel
    split: DatasetSplit
    as_of: Any
    evaluation: dict[str, Any]
    audit: dict[str, Any]
    test_at_risk: pd.Series
    test_risk: np.ndarray
    baseline_risk: np.ndarray
    oracle_risk: np.ndarray | None
    prior_risk: np.ndarray
    fairness: dict[str, Any]
    test_contributions: pd.DataFrame  # on a seeded sample of test rows (SHAP_SAMPLE_ROWS)
    seconds: float
    run_id: str | None = None
    model_version: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    def summary(self) -> dict[str, Any]:
        """The JSON object ``earlywarn train --json`` prints."""
        keys = (
            "n",
            "positives",
            "roc_auc",
            "roc_auc_ci",
            "pr_auc",
            "brier",
            "ece",
            "top_n_precision",
            "top_n_recall",
            "top10_recall",
            "top10_precision",
            "baseline_roc_auc",
            "baseline_pr_auc",
            "baseline_ece",
            "prior_roc_auc",
            "oracle_roc_auc",
            "oracle_ece",
            "ece_floor",
            "ece_floor_p95",
            "ece_debiased",
            "ece_vs_truth",
        )
        return {
            "run_id": self.run_id,
            "model_name": "earlywarn-retention",
            "model_version": self.model_version,
            "test_cohort": self.split.test_period,
            "test_cohorts": self.split.test_cohorts,
            "train_periods": list(self.split.train_periods),
            "as_of": str(self.as_of),
            "trees": int(self.model.best_iteration_),
            "fold_trees": list(getattr(self.model, "fold_trees_", [])),
            "calibration": self.model.calibration_method_,
            "calibration_rows": getattr(self.model, "calibration_rows_", None),
            "linear_base": self.model.linear_base,
            "cross_fitted_window_auc": getattr(self.model, "form_window_auc_", {}),
            "top_n": self.extra.get("top_n"),
            "features": self.model.feature_names,
            "training_seconds": round(self.seconds, 2),
            "fit_seconds": self.extra.get("fit_seconds", round(self.seconds, 2)),
            "step_seconds": self.extra.get("step_seconds", {}),
            "features_never_observed": self.extra.get("features_never_observed", []),
            "features_left_out": self.extra.get("features_left_out", {}),
            "window": self.evaluation["window"],
            "weeks": [
                {"week": row["week"]} | {k: row.get(k) for k in keys}
                for row in self.evaluation["weeks"]
            ],
            "fairness": self.fairness,
            "audit_largest_gaps": {
                attribute: block["largest_gap"] for attribute, block in self.audit.items()
            },
        }
