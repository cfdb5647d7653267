"""The figures a person opens in a training run: ROC and precision-recall curves, calibration,
AUC and calibration error by checkpoint week, feature importance and a SHAP summary.

Figures are built as ``matplotlib.figure.Figure`` objects on the Agg backend (no pyplot, no global
state, no display needed); the caller saves or logs them.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import numpy as np
    import pandas as pd
    from matplotlib.figure import Figure

TOP_FEATURES = 20


def _figure(width: float, height: float, ncols: int = 1) -> tuple[Figure, Any]:
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib.figure import Figure

    figure = Figure(figsize=(width, height), layout="constrained")
    axes = figure.subplots(1, ncols)
    return figure, axes


def roc_pr_curves(
    at_risk: np.ndarray, curves: Mapping[str, np.ndarray | None], title: str
) -> Figure:
    """ROC and precision-recall curves of each named risk score (model, baseline, oracle)."""
    from sklearn.metrics import average_precision_score, precision_recall_curve, roc_auc_score
    from sklearn.metrics import roc_curve as roc

    figure, (roc_ax, pr_ax) = _figure(11, 4.8, ncols=2)
    for name, risk in curves.items():
        if risk is None:
            continue
        fpr, tpr, _ = roc(at_risk, risk)
        roc_ax.plot(fpr, tpr, label=f"{name} (AUC {roc_auc_score(at_risk, risk):.3f})")
        precision, recall, _ = precision_recall_curve(at_risk, risk)
        pr_ax.plot(
            recall, precision, label=f"{name} (AP {average_precision_score(at_risk, risk):.3f})"
        )
    roc_ax.plot([0, 1], [0, 1], color="grey", linestyle=":", linewidth=1)
    roc_ax.set(xlabel="false positive rate", ylabel="true positive rate", title=f"ROC: {title}")
    pr_ax.axhline(float(at_risk.mean()), color="grey", linestyle=":", linewidth=1)
    pr_ax.set(
        xlabel="recall (not retained)", ylabel="precision", title=f"Precision-recall: {title}"
    )
    roc_ax.legend(loc="lower right")
    pr_ax.legend(loc="upper right")
    return figure


def calibration_curve(
    at_risk: np.ndarray, risk: np.ndarray, title: str, n_bins: int = 10
) -> Figure:
    """Observed share not retained against predicted risk (equal-width bins), with a histogram."""
    import numpy as np

    from earlywarn.model.metrics import calibration_bins

    figure, (curve_ax, hist_ax) = _figure(11, 4.8, ncols=2)
    bins = calibration_bins(risk, n_bins)
    predicted, observed, counts = [], [], []
    for b in np.unique(bins):
        mask = bins == b
        predicted.append(risk[mask].mean())
        observed.append(at_risk[mask].mean())
        counts.append(int(mask.sum()))
    curve_ax.plot([0, 1], [0, 1], color="grey", linestyle=":", linewidth=1, label="perfect")
    curve_ax.plot(predicted, observed, marker="o", label="model")
    curve_ax.set(
        xlabel="predicted risk of not being retained",
        ylabel="observed share not retained",
        title=f"Calibration: {title}",
        xlim=(0, 1),
        ylim=(0, 1),
    )
    curve_ax.legend(loc="upper left")
    hist_ax.hist(risk, bins=np.linspace(0, 1, 2 * n_bins + 1), color="tab:blue", alpha=0.8)
    hist_ax.set(xlabel="predicted risk", ylabel="students", title="How risk is spread")
    return figure


def auc_by_week(weeks: Sequence[Mapping[str, Any]]) -> Figure:
    """Test-cohort ROC-AUC at each checkpoint week: model, baseline and (when known) oracle."""
    figure, ax = _figure(7, 4.5)
    x = [row["week"] for row in weeks]
    for key, label, style in (
        ("roc_auc", "model", "-o"),
        ("baseline_roc_auc", "baseline (logistic regression)", "--s"),
        ("oracle_roc_auc", "oracle (true probabilities)", ":^"),
    ):
        y = [row.get(key) for row in weeks]
        if any(v is not None for v in y):
            ax.plot(x, [float("nan") if v is None else v for v in y], style, label=label)
    ax.set(
        xlabel="checkpoint week", ylabel="ROC-AUC (not retained)", title="AUC by checkpoint week"
    )
    ax.set_xticks(x)
    ax.legend(loc="lower right")
    return figure


def ece_by_week(weeks: Sequence[Mapping[str, Any]]) -> Figure:
    """Test-cohort ECE at each checkpoint week against its noise floor: the model, the oracle
    (true probabilities) and the band a perfectly calibrated model would fall in (95%)."""
    figure, ax = _figure(7, 4.5)
    x = [row["week"] for row in weeks]

    def series(key: str) -> list[float]:
        return [float("nan") if row.get(key) is None else float(row[key]) for row in weeks]

    ax.fill_between(
        x,
        0,
        series("ece_floor_p95"),
        color="grey",
        alpha=0.25,
        label="95% of a perfectly calibrated model's ECE",
    )
    ax.plot(x, series("ece"), "-o", label="model")
    if any(row.get("oracle_ece") is not None for row in weeks):
        ax.plot(x, series("oracle_ece"), ":^", label="oracle (true probabilities)")
    if any(row.get("ece_vs_truth") is not None for row in weeks):
        ax.plot(x, series("ece_vs_truth"), "--s", label="model against the true probabilities")
    ax.set(
        xlabel="checkpoint week",
        ylabel="ECE (10 equal-width bins)",
        title="Calibration error by checkpoint week",
    )
    ax.set_xticks(x)
    ax.set_ylim(bottom=0)
    ax.legend(loc="upper left")
    return figure


def feature_importance(importance: Mapping[str, float]) -> Figure:
    """Total split gain per feature, largest first (top 20)."""
    ranked = sorted(importance.items(), key=lambda kv: kv[1], reverse=True)[:TOP_FEATURES]
    figure, ax = _figure(7, 0.35 * len(ranked) + 1.5)
    names = [name for name, _ in reversed(ranked)]
    ax.barh(names, [value for _, value in reversed(ranked)], color="tab:blue")
    ax.set(xlabel="total gain", title="Feature importance (LightGBM gain)")
    return figure


def shap_summary(contributions: pd.DataFrame, features: pd.DataFrame) -> Figure:
    """A SHAP beeswarm from ``pred_contrib``: each dot a student, colour the feature's value
    (its rank within the feature), x its contribution to the risk score (log-odds)."""
    import numpy as np

    names = [c for c in contributions.columns if c != "expected_value"]
    ranked = sorted(names, key=lambda n: float(contributions[n].abs().mean()), reverse=True)
    ranked = ranked[:TOP_FEATURES]
    figure, ax = _figure(8, 0.4 * len(ranked) + 1.8)
    rng = np.random.default_rng(0)
    scatter = None
    for row, name in enumerate(reversed(ranked)):
        x = contributions[name].to_numpy(dtype=float)
        values = features[name]
        if values.dtype.name == "category":
            colour = values.cat.codes.to_numpy(dtype=float)
            colour[colour < 0] = np.nan
        else:
            colour = values.to_numpy(dtype=float)
        ranks = np.argsort(
            np.argsort(np.nan_to_num(colour, nan=np.nanmin(colour, initial=0.0)))
        ) / max(len(colour) - 1, 1)
        jitter = rng.uniform(-0.3, 0.3, len(x))
        scatter = ax.scatter(
            x, row + jitter, c=ranks, cmap="coolwarm", s=6, alpha=0.6, linewidths=0
        )
    ax.set_yticks(range(len(ranked)), list(reversed(ranked)))
    ax.axvline(0, color="grey", linewidth=1)
    ax.set(xlabel="contribution to risk (log-odds; right = raises risk)", title="SHAP summary")
    if scatter is not None:
        bar = figure.colorbar(scatter, ax=ax, ticks=[0, 1])
        bar.ax.set_yticklabels(["low", "high"])
        bar.set_label("feature value")
    return figure
