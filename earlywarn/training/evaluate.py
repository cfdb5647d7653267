"""Honest evaluation on the test cohort: metrics per checkpoint week and overall, the baseline,
the oracle (true probabilities, on a synthetic institution) and a subgroup audit.

Every metric is about the *at-risk* class (1 = not retained) and a probability of that class:

* ``roc_auc``, ``pr_auc`` (average precision), ``brier``;
* ``ece``: expected calibration error, 10 equal-width bins, count-weighted
  (:func:`earlywarn.model.artifact.expected_calibration_error`); for the model also its noise floor
  (``ece_floor``, ``ece_floor_p95``: the mean and 95th percentile of the ECE that a perfectly
  calibrated model with the very same predictions would show on this many rows, its labels drawn
  from the predictions themselves) and ``ece_debiased`` = ``ece - ece_floor``;
* ``ece_vs_truth`` (synthetic institutions only): the same binned calibration error with each
  bin's mean *true* probability in place of its observed rate
  (:func:`earlywarn.model.artifact.expected_calibration_error` given the true probabilities).
  Expected
  calibration error is defined on the true probability of the outcome given the prediction;
  observed labels estimate it with sampling noise of about 0.02 on a cohort of 1,600 students,
  the true probabilities without it;
* ``top10_recall`` and ``top10_precision``: of the 10% riskiest students (rounded up), the share of
  all non-retained students they catch, and the share of them who were not retained.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from earlywarn.core.errors import DataFolderError
from earlywarn.model.artifact import calibration_bins, expected_calibration_error

if TYPE_CHECKING:
    import numpy as np
    import pandas as pd

METRICS = ("roc_auc", "pr_auc", "brier", "ece", "top10_recall", "top10_precision")
# The model's calibration diagnostics beside METRICS (logged to MLflow too).
CALIBRATION_DIAGNOSTICS = ("ece_floor", "ece_floor_p95", "ece_debiased", "ece_vs_truth")
# Label draws behind the ECE noise floor: 200 put its mean within about 0.0002 at 2,000 rows.
ECE_FLOOR_DRAWS = 200
AUDIT_ATTRIBUTES = ("age_band", "education_level", "country_group")
AGE_BANDS = ((0, 25, "under 25"), (25, 35, "25-34"), (35, 45, "35-44"), (45, 200, "45 and over"))
TRUTH_FILE = Path("_truth") / "students.csv"


def _number(value: float) -> float | None:
    return None if value is None or math.isnan(value) else float(value)


def classification_metrics(
    at_risk: np.ndarray | pd.Series, risk: np.ndarray | pd.Series
) -> dict[str, Any]:
    """The metrics above for one set of rows (``None`` where undefined, e.g. one class only)."""
    import numpy as np
    from sklearn.metrics import average_precision_score, brier_score_loss, roc_auc_score

    y = np.asarray(at_risk, dtype=int)
    p = np.asarray(risk, dtype=float)
    out: dict[str, Any] = {
        "n": len(y),
        "at_risk_rate": _number(float(y.mean())) if len(y) else None,
    }
    if len(y) == 0:
        return out | dict.fromkeys(METRICS)
    both = 0 < y.sum() < len(y)
    out["roc_auc"] = float(roc_auc_score(y, p)) if both else None
    out["pr_auc"] = float(average_precision_score(y, p)) if both else None
    out["brier"] = float(brier_score_loss(y, p))
    out["ece"] = expected_calibration_error(y, p)
    top = np.argsort(-p, kind="stable")[: max(1, math.ceil(0.1 * len(y)))]
    caught = int(y[top].sum())
    out["top10_recall"] = caught / int(y.sum()) if y.sum() else None
    out["top10_precision"] = caught / len(top)
    return out


def ece_if_calibrated(
    risk: np.ndarray, *, n_bins: int = 10, draws: int = ECE_FLOOR_DRAWS, seed: int = 0
) -> tuple[float, float]:
    """The mean and 95th percentile of the ECE that perfectly calibrated predictions ``risk``
    would show on ``len(risk)`` rows: labels drawn from ``risk`` itself, binned as
    :func:`earlywarn.model.artifact.expected_calibration_error` bins. An observed ECE below the 95th
    percentile is what sampling noise alone would give."""
    import numpy as np

    p = np.asarray(risk, dtype=float)
    if len(p) == 0:
        return float("nan"), float("nan")
    bins = calibration_bins(p, n_bins)
    labels = np.random.default_rng(seed).random((draws, len(p))) < p
    gaps = np.zeros(draws)
    for b in np.unique(bins):
        in_bin = bins == b
        gaps += np.abs(labels[:, in_bin].sum(axis=1) - p[in_bin].sum())
    errors = gaps / len(p)
    return float(errors.mean()), float(np.quantile(errors, 0.95))


def evaluate_by_week(
    test: pd.DataFrame,
    at_risk: pd.Series,
    risk: np.ndarray,
    baseline: np.ndarray,
    oracle: np.ndarray | None,
    *,
    seed: int = 0,
) -> dict[str, Any]:
    """Metrics of the model, the baseline and (when known) the oracle, per checkpoint week,
    overall, and at each student's last checkpoint of the term (terms differ in length):
    ``{"weeks": [{"week", "n", metrics..., "ece_floor", "ece_floor_p95", "ece_debiased",
    "ece_vs_truth", "baseline_<m>", "oracle_<m>"}], "overall", "last_checkpoint"}``. ``seed``
    seeds the label draws of the ECE noise floor."""
    import numpy as np

    weeks_col = test["checkpoint_week"].to_numpy()

    def block(mask: np.ndarray, offset: int) -> dict[str, Any]:
        y = at_risk.to_numpy()[mask]
        row = classification_metrics(y, risk[mask])
        floor, floor_p95 = ece_if_calibrated(risk[mask], seed=seed + offset)
        row["ece_floor"] = _number(floor)
        row["ece_floor_p95"] = _number(floor_p95)
        row["ece_debiased"] = None if row["ece"] is None else _number(row["ece"] - floor)
        row["ece_vs_truth"] = (
            None
            if oracle is None
            else _number(expected_calibration_error(oracle[mask], risk[mask]))
        )
        for prefix, scores in (("baseline", baseline), ("oracle", oracle)):
            other = classification_metrics(y, scores[mask]) if scores is not None else {}
            for metric in METRICS:
                row[f"{prefix}_{metric}"] = other.get(metric)
        return row

    weeks = [
        {"week": int(week)} | block(weeks_col == week, int(week))
        for week in sorted(np.unique(weeks_col))
    ]
    students = test["student_id"].astype(str).to_numpy()
    order = np.lexsort((weeks_col, students))
    last = np.zeros(len(test), dtype=bool)
    is_last = np.append(students[order][1:] != students[order][:-1], True)
    last[order[is_last]] = True
    return {
        "weeks": weeks,
        "overall": block(np.ones(len(test), dtype=bool), 1000),
        "last_checkpoint": block(last, 2000),
    }


def age_band(age: pd.Series) -> pd.Series:
    """Age at the start of the first term, in the bands the audit reports."""
    import pandas as pd

    edges = [low for low, _, _ in AGE_BANDS] + [AGE_BANDS[-1][1]]
    labels = [label for _, _, label in AGE_BANDS]
    bands = pd.cut(pd.to_numeric(age, errors="coerce"), bins=edges, right=False, labels=labels)
    return bands.astype(object).where(bands.notna(), "unknown")


def audit_groups(test: pd.DataFrame) -> dict[str, pd.Series]:
    """The audit's grouping of test rows: age band, education level, country group."""
    groups: dict[str, pd.Series] = {}
    if "age" in test.columns:
        groups["age_band"] = age_band(test["age"])
    for name in ("education_level", "country_group"):
        if name in test.columns:
            values = test[name].astype(object)
            groups[name] = values.where(values.notna(), "unknown")
    return groups


def subgroup_audit(
    groups: Mapping[str, pd.Series],
    at_risk: pd.Series,
    risk: np.ndarray,
    *,
    min_rows: int = 30,
) -> dict[str, Any]:
    """Metrics by group for each attribute, and the largest gap between groups per metric.

    Groups with fewer than ``min_rows`` rows are listed but left out of the gaps (too noisy).
    """
    import numpy as np

    result: dict[str, Any] = {}
    y = at_risk.to_numpy()
    for attribute, labels in groups.items():
        values = labels.to_numpy()
        per_group = {}
        for group in sorted({str(v) for v in values}):
            mask = np.asarray([str(v) == group for v in values])
            per_group[group] = classification_metrics(y[mask], risk[mask])
        gaps: dict[str, Any] = {}
        for metric in METRICS:
            scored = {
                g: m[metric]
                for g, m in per_group.items()
                if m["n"] >= min_rows and m[metric] is not None
            }
            if len(scored) >= 2:
                low, high = min(scored, key=scored.__getitem__), max(scored, key=scored.__getitem__)
                gaps[metric] = {
                    "gap": scored[high] - scored[low],
                    "lowest": low,
                    "highest": high,
                }
        result[attribute] = {"groups": per_group, "largest_gap": gaps}
    return result


def read_truth(data_dir: Path) -> pd.Series | None:
    """A synthetic institution's true retention probabilities by student, or ``None``."""
    import pandas as pd

    path = data_dir / TRUTH_FILE
    if not path.is_file():
        return None
    truth = pd.read_csv(path, dtype={"student_id": str})
    if not {"student_id", "p_retained"} <= set(truth.columns):
        raise DataFolderError(f"{path}: needs columns student_id and p_retained")
    series: pd.Series = truth.set_index("student_id")["p_retained"].astype(float)
    return series


def oracle_risk(test: pd.DataFrame, truth: pd.Series | None) -> np.ndarray | None:
    """Risk from the true probabilities (1 - p_retained) for the test rows, when all are known."""
    if truth is None:
        return None
    p = test["student_id"].astype(str).map(truth)
    if p.isna().any():
        return None
    return (1.0 - p).to_numpy(dtype=float)
