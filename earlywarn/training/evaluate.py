"""Honest evaluation on the test cohort: metrics per checkpoint week, the logistic baseline, the
prior-only baseline, the oracle (true probabilities, on a synthetic institution) and a subgroup
audit.

The population at week k is the test cohort's students still enrolled as of that checkpoint's
instant (earlywarn.training.dataset builds exactly those rows), so every metric is per week: a
student who
left before week k is not scored at week k. There is no pooled figure across weeks and no
"last checkpoint" figure (a student's last checkpoint is chosen by when the student left, which
leaks the label). The one summary is the mean weekly ROC-AUC over a named window of weeks
(``WINDOW``, weeks 1-8 by default), always shown with its window.

Every metric is about the *at-risk* class (1 = not retained) and a probability of that class:

* ``roc_auc`` with ``roc_auc_ci`` (a 95% percentile bootstrap interval over the week's
  students), ``pr_auc`` (average precision), ``brier``;
* ``ece``: expected calibration error, 10 equal-width bins, count-weighted
  (:func:`earlywarn.model.metrics.expected_calibration_error`); for the model also its noise floor
  (``ece_floor``, ``ece_floor_p95``: the mean and 95th percentile of the ECE that a perfectly
  calibrated model with the very same predictions would show on this many rows, its labels drawn
  from the predictions themselves) and ``ece_debiased`` = ``ece - ece_floor``;
* ``ece_vs_truth`` (synthetic institutions only): the binned calibration error against the
  true probabilities instead of the observed outcomes;
* ``top_n_precision`` and ``top_n_recall``: of the ``top_n`` riskiest students of the week (the
  digest capacity), the share who were not retained and the share of all non-retained students
  they are; ``top10_recall``/``top10_precision`` the same for the riskiest 10%.

Each metric is also given for the logistic baseline (``baseline_<m>``), the prior-only baseline
(``prior_<m>``: the program's historical rate) and, when known, the oracle (``oracle_<m>``).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from earlywarn.core.errors import DataFolderError
from earlywarn.model.metrics import calibration_bins, expected_calibration_error

if TYPE_CHECKING:
    import numpy as np
    import pandas as pd

METRICS = (
    "roc_auc",
    "pr_auc",
    "brier",
    "ece",
    "top10_recall",
    "top10_precision",
    "top_n_precision",
    "top_n_recall",
)
#: The weeks whose mean ROC-AUC is the run's one summary (inclusive).
WINDOW = (1, 8)
#: Bootstrap draws of each week's ROC-AUC interval.
AUC_BOOTSTRAP_DRAWS = 200
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
    at_risk: np.ndarray | pd.Series, risk: np.ndarray | pd.Series, top_n: int | None = None
) -> dict[str, Any]:
    """The metrics above for one set of rows (``None`` where undefined, e.g. one class only);
    ``top_n`` is the digest capacity (default: 10% of the rows, rounded up)."""
    import numpy as np
    from sklearn.metrics import average_precision_score, brier_score_loss, roc_auc_score

    y = np.asarray(at_risk, dtype=int)
    p = np.asarray(risk, dtype=float)
    out: dict[str, Any] = {
        "n": len(y),
        "positives": int(y.sum()),
        "at_risk_rate": _number(float(y.mean())) if len(y) else None,
    }
    if len(y) == 0:
        return out | dict.fromkeys(METRICS)
    both = 0 < y.sum() < len(y)
    out["roc_auc"] = float(roc_auc_score(y, p)) if both else None
    out["pr_auc"] = float(average_precision_score(y, p)) if both else None
    out["brier"] = float(brier_score_loss(y, p))
    out["ece"] = expected_calibration_error(y, p)
    order = np.argsort(-p, kind="stable")
    for name, count in (
        ("top10", max(1, math.ceil(0.1 * len(y)))),
        ("top_n", min(len(y), top_n if top_n is not None else max(1, math.ceil(0.1 * len(y))))),
    ):
        caught = int(y[order[:count]].sum())
        out[f"{name}_recall"] = caught / int(y.sum()) if y.sum() else None
        out[f"{name}_precision"] = caught / count
    return out


def weighted_auc_draws(y: np.ndarray, p: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """The ROC-AUC of scores ``p`` on labels ``y`` under each row of ``weights`` (draws x rows):
    the weighted Mann-Whitney statistic, ties counting one half (NaN where a draw holds one
    class only). Vectorised over draws, so a bootstrap costs one sort."""
    import numpy as np

    order = np.argsort(p, kind="stable")
    y, weights = np.asarray(y, dtype=int)[order], np.asarray(weights, dtype=float)[:, order]
    tie = np.unique(np.asarray(p, dtype=float)[order], return_inverse=True)[1]
    neg = weights * (y == 0)
    pos = weights * (y == 1)
    # Negative weight strictly below each tie group, and inside it.
    group_neg = np.zeros((len(weights), int(tie.max()) + 1 if len(tie) else 0))
    np.add.at(group_neg.T, tie, neg.T)
    below = np.cumsum(group_neg, axis=1) - group_neg
    wins = (pos * (below[:, tie] + 0.5 * group_neg[:, tie])).sum(axis=1)
    total = pos.sum(axis=1) * neg.sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        result: np.ndarray = np.where(total > 0, wins / np.where(total > 0, total, 1), np.nan)
    return result


def bootstrap_auc_interval(
    at_risk: np.ndarray, risk: np.ndarray, *, draws: int = AUC_BOOTSTRAP_DRAWS, seed: int = 0
) -> list[float] | None:
    """A 95% percentile bootstrap interval of the ROC-AUC, resampling rows (one per student in a
    week) with replacement (:func:`weighted_auc_draws` with multinomial counts as weights)."""
    import numpy as np

    y = np.asarray(at_risk, dtype=int)
    p = np.asarray(risk, dtype=float)
    if len(y) < 2 or not 0 < y.sum() < len(y):
        return None
    rng = np.random.default_rng(seed)
    weights = rng.multinomial(len(y), np.full(len(y), 1.0 / len(y)), size=draws)
    aucs = weighted_auc_draws(y, p, weights)
    aucs = aucs[~np.isnan(aucs)]
    if len(aucs) < 2:
        return None
    low, high = np.quantile(aucs, [0.025, 0.975])
    return [float(low), float(high)]


def ece_if_calibrated(
    risk: np.ndarray, *, n_bins: int = 10, draws: int = ECE_FLOOR_DRAWS, seed: int = 0
) -> tuple[float, float]:
    """The mean and 95th percentile of the ECE that perfectly calibrated predictions ``risk``
    would show on ``len(risk)`` rows: labels drawn from ``risk`` itself, binned as
    :func:`earlywarn.model.metrics.expected_calibration_error` bins. An observed ECE below the 95th
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
    prior: np.ndarray | None = None,
    top_n: int | None = None,
    window: tuple[int, int] = WINDOW,
    seed: int = 0,
) -> dict[str, Any]:
    """Metrics of the model, the logistic baseline, the prior-only baseline and (when known) the
    oracle, per checkpoint week: ``{"weeks": [{"week", "n", "positives", metrics...,
    "roc_auc_ci", "ece_floor", "ece_floor_p95", "ece_debiased", "ece_vs_truth",
    "baseline_<m>", "prior_<m>", "oracle_<m>"}], "window": {...}}`` (:func:`window_summary`).
    ``top_n`` is the digest capacity; ``seed`` seeds the bootstrap and the noise floor draws."""
    import numpy as np

    weeks_col = test["checkpoint_week"].to_numpy()
    y_all = at_risk.to_numpy()

    def block(mask: np.ndarray, offset: int) -> dict[str, Any]:
        y = y_all[mask]
        row = classification_metrics(y, risk[mask], top_n)
        row["roc_auc_ci"] = bootstrap_auc_interval(y, risk[mask], seed=seed + offset)
        floor, floor_p95 = ece_if_calibrated(risk[mask], seed=seed + offset)
        row["ece_floor"] = _number(floor)
        row["ece_floor_p95"] = _number(floor_p95)
        row["ece_debiased"] = None if row["ece"] is None else _number(row["ece"] - floor)
        row["ece_vs_truth"] = (
            None
            if oracle is None
            else _number(expected_calibration_error(oracle[mask], risk[mask]))
        )
        for prefix, scores in (("baseline", baseline), ("prior", prior), ("oracle", oracle)):
            other = classification_metrics(y, scores[mask], top_n) if scores is not None else {}
            for metric in METRICS:
                row[f"{prefix}_{metric}"] = other.get(metric)
        return row

    weeks = [
        {"week": int(week)} | block(weeks_col == week, int(week))
        for week in sorted(np.unique(weeks_col))
    ]
    return {"weeks": weeks, "window": window_summary(weeks, window)}


def window_summary(weeks: list[dict[str, Any]], window: tuple[int, int] = WINDOW) -> dict[str, Any]:
    """The mean weekly ROC-AUC of the model and each baseline over the weeks of ``window``
    (inclusive) that have a value: the run's one summary, named by its window."""
    first, last = window
    inside = [row for row in weeks if first <= row["week"] <= last]

    def mean(key: str) -> float | None:
        values = [row[key] for row in inside if row.get(key) is not None]
        return sum(values) / len(values) if values else None

    return {
        "name": f"mean weekly ROC-AUC, weeks {first}-{last}",
        "first_week": first,
        "last_week": last,
        "weeks": [row["week"] for row in inside],
        "mean_roc_auc": mean("roc_auc"),
        "mean_baseline_roc_auc": mean("baseline_roc_auc"),
        "mean_prior_roc_auc": mean("prior_roc_auc"),
        "mean_oracle_roc_auc": mean("oracle_roc_auc"),
        "mean_ece": mean("ece"),
    }


def prior_rates(train: pd.DataFrame, *, label: str = "retained", strength: float = 20.0) -> Any:
    """The prior-only baseline: each program's historical not-retained rate among its training
    students (one count per student), shrunk toward the rate of all of them by ``strength``
    pseudo-students. Returns a function from a frame (with ``program_id``) to risks; a program
    never seen in training gets the overall rate."""
    import numpy as np

    students = train.drop_duplicates("student_id")
    target = 1.0 - students[label].astype(float)
    overall = float(target.mean())
    grouped = target.groupby(students["program_id"].astype(str).to_numpy()).agg(["sum", "count"])
    rates = ((grouped["sum"] + strength * overall) / (grouped["count"] + strength)).to_dict()

    def score(frame: pd.DataFrame) -> np.ndarray:
        programs = frame["program_id"].astype(str)
        return np.asarray(programs.map(rates).fillna(overall), dtype=float)

    return score


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

    result: dict[str, Any] = {}
    y = at_risk.to_numpy()
    for attribute, labels in groups.items():
        values = labels.astype(str).to_numpy()
        per_group = {}
        for group in sorted(set(values)):
            mask = values == group
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
