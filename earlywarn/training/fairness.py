"""Fairness in the same run: per group of each background column, course and program, how well the
model ranks (ROC-AUC), how calibrated it is (ECE), and how the digest treats the group (flag rate
and false-flag rate at the digest capacity), with the largest gap between groups.

Per-group metrics come from fairlearn's ``MetricFrame`` (Weerts et al., 2023, *Fairlearn:
Assessing and Improving Fairness of AI Systems*, JMLR 24(257)). Each metric is computed one
checkpoint week at a time over the weeks of the evaluation window (training/evaluate.py,
``WINDOW``), a student being flagged when the model ranks them among the week's ``top_n``
riskiest, and averaged over those weeks (weighted by the group's rows), so no figure pools
weeks. Groups with fewer than ``MIN_GROUP_ROWS`` rows in the window are listed but left out of
the gaps. A calibration gap is judged against its noise: ``ece_gap_noise`` is the larger of the
two groups' ECE noise floors (the 95th percentile a perfectly calibrated model would show on
their rows), and ``ece_gap_beyond_noise`` the gap minus it.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from earlywarn.model.metrics import expected_calibration_error
from earlywarn.training.evaluate import WINDOW, age_band, ece_if_calibrated, weighted_auc_draws

if TYPE_CHECKING:
    import numpy as np
    import pandas as pd

    from earlywarn.core.settings import Settings

FAIRNESS_METRICS = ("roc_auc", "ece", "flag_rate", "false_flag_rate")
MIN_GROUP_ROWS = 50
#: Numeric background columns with more distinct values than this are cut into quartiles.
MAX_LEVELS = 8


def fairness_groups(test: pd.DataFrame, specs: Mapping[str, Any]) -> dict[str, pd.Series]:
    """The grouping of the test rows: every background column the data has (age in bands,
    other numbers with many values in quartiles), and the program and course when present."""
    import pandas as pd

    groups: dict[str, pd.Series] = {}
    names = [n for n, spec in specs.items() if getattr(spec, "family", "") == "background"]
    for name in [*names, "program_id", "course_id"]:
        if name not in test.columns or test[name].isna().all():
            continue
        values = test[name]
        if name == "age":
            labels = age_band(values)
        elif isinstance(values.dtype, pd.CategoricalDtype) or values.dtype == object:
            labels = values.astype(object).where(values.notna(), "unknown").astype(str)
        else:
            number = pd.to_numeric(values, errors="coerce")
            if number.nunique() > MAX_LEVELS:
                cut = pd.qcut(number, 4, duplicates="drop")
                labels = cut.astype(str).where(cut.notna(), "unknown")
            else:
                labels = number.map(lambda v: "unknown" if pd.isna(v) else f"{v:g}")
        groups[name] = pd.Series(labels.to_numpy(), index=test.index, dtype=object)
    return groups


def _auc(y: np.ndarray, p: np.ndarray) -> float:
    """ROC-AUC (ties count one half; NaN for one class) by the evaluation's own Mann-Whitney sum,
    :func:`weighted_auc_draws` with one unweighted draw: scikit-learn's input checks cost more
    than the sum itself on the hundreds of small groups a run has."""
    import numpy as np

    return float(weighted_auc_draws(y, p, np.ones((1, len(y))))[0])


def _ece(y: np.ndarray, p: np.ndarray) -> float:
    return expected_calibration_error(y, p)


def _flag_rate(y: np.ndarray, p: np.ndarray, flagged: np.ndarray) -> float:
    return float(flagged.mean()) if len(flagged) else float("nan")


def _false_flag_rate(y: np.ndarray, p: np.ndarray, flagged: np.ndarray) -> float:
    kept = y == 0
    return float(flagged[kept].mean()) if kept.any() else float("nan")


def fairness_report(
    groups: Mapping[str, pd.Series],
    at_risk: pd.Series,
    risk: np.ndarray,
    *,
    top_n: int | None,
    settings: Settings | None = None,
    window: tuple[int, int] = WINDOW,
    weeks: np.ndarray,
) -> dict[str, Any]:
    """Per-group metrics and the largest gaps (module docstring), JSON-ready. ``weeks`` is each
    row's checkpoint week."""
    import numpy as np
    from fairlearn.metrics import MetricFrame

    y = at_risk.to_numpy().astype(int)
    p = np.asarray(risk, dtype=float)
    week = np.asarray(weeks)
    limit = float(getattr(settings, "promote_max_calibration_gap", 0.05))
    first, last = window
    chosen = [w for w in sorted(set(week.tolist())) if first <= w <= last] or sorted(
        set(week.tolist())
    )[:1]
    flagged = np.zeros(len(y), dtype=bool)
    for w in chosen:
        rows = np.flatnonzero(week == w)
        count = min(len(rows), top_n or max(1, math.ceil(0.1 * len(rows))))
        flagged[rows[np.argsort(-p[rows], kind="stable")[:count]]] = True
    in_window = np.isin(week, chosen)
    report: dict[str, Any] = {
        "weeks": [int(w) for w in chosen],
        "top_n": top_n,
        "calibration_gap_limit": limit,
        "attributes": {},
    }
    for attribute, labels in groups.items():
        sums: dict[str, dict[str, float]] = {}
        counts: dict[str, float] = {}
        for w in chosen:
            rows = np.flatnonzero((week == w) & in_window)
            if len(rows) == 0:
                continue
            frame = MetricFrame(
                metrics={
                    "roc_auc": _auc,
                    "ece": _ece,
                    "flag_rate": _flag_rate,
                    "false_flag_rate": _false_flag_rate,
                },
                y_true=y[rows],
                y_pred=p[rows],
                sensitive_features=labels.to_numpy()[rows],
                sample_params={
                    "flag_rate": {"flagged": flagged[rows]},
                    "false_flag_rate": {"flagged": flagged[rows]},
                },
            ).by_group
            sizes = labels.iloc[rows].value_counts()
            for group in frame.index:
                n = float(sizes.get(group, 0))
                target = sums.setdefault(str(group), dict.fromkeys(FAIRNESS_METRICS, 0.0))
                weight = sums.setdefault(f"\0{group}", dict.fromkeys(FAIRNESS_METRICS, 0.0))
                for metric in FAIRNESS_METRICS:
                    value = float(frame.loc[group, metric])
                    if not math.isnan(value):
                        target[metric] += n * value
                        weight[metric] += n
                counts[str(group)] = counts.get(str(group), 0.0) + n
        per_group: dict[str, dict[str, Any]] = {}
        masks: dict[str, np.ndarray] = {}
        for group, n in sorted(counts.items()):
            weight = sums[f"\0{group}"]
            members = (labels.to_numpy() == group) & in_window
            per_group[group] = {"n": int(n)} | {
                m: (sums[group][m] / weight[m] if weight[m] else None) for m in FAIRNESS_METRICS
            }
            masks[group] = members
        gaps = _largest_gaps(per_group)
        if "ece" in gaps:
            # The noise of the calibration gap: the larger of its two groups' ECE noise floors.
            gap = gaps["ece"]
            noise = max(
                ece_if_calibrated(p[masks[gap["lowest"]]], draws=100)[1],
                ece_if_calibrated(p[masks[gap["highest"]]], draws=100)[1],
            )
            gap["noise"] = noise
            gap["gap_beyond_noise"] = gap["gap"] - noise
        report["attributes"][attribute] = {"groups": per_group, "largest_gap": gaps}
    ece_gaps = [
        block["largest_gap"]["ece"]["gap_beyond_noise"]
        for block in report["attributes"].values()
        if "ece" in block["largest_gap"]
    ]
    report["largest_calibration_gap_beyond_noise"] = max(ece_gaps, default=None)
    return report


def _largest_gaps(per_group: Mapping[str, Mapping[str, Any]]) -> dict[str, Any]:
    gaps: dict[str, Any] = {}
    for metric in FAIRNESS_METRICS:
        scored = {
            g: m[metric]
            for g, m in per_group.items()
            if m["n"] >= MIN_GROUP_ROWS and m[metric] is not None
        }
        if len(scored) < 2:
            continue
        low, high = min(scored, key=scored.__getitem__), max(scored, key=scored.__getitem__)
        gaps[metric] = {"gap": scored[high] - scored[low], "lowest": low, "highest": high}
    return gaps
