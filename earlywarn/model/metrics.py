"""Calibration metrics: the binned expected calibration error, overall and week by week."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import numpy as np
    import pandas as pd


def calibration_bins(probability: np.ndarray, n_bins: int = 10) -> np.ndarray:
    """The equal-width bin (0 to ``n_bins - 1``) of each probability on [0, 1]; 1.0 falls in the
    last bin. Every calibration figure (ECE, its noise floor, the calibration curve) bins so."""
    import numpy as np

    bins: np.ndarray = np.minimum((np.asarray(probability) * n_bins).astype(int), n_bins - 1)
    return bins


def expected_calibration_error(
    y_true: Sequence[float] | np.ndarray | pd.Series,
    probability: Sequence[float] | np.ndarray | pd.Series,
    n_bins: int = 10,
) -> float:
    """Expected calibration error with ``n_bins`` equal-width bins on [0, 1].

    The count-weighted mean, over non-empty bins, of |mean predicted - observed rate|. Equal-width
    bins match the calibration curve a person reads; weighting by count keeps sparse bins small.
    ``y_true`` may be outcomes (0/1) or, on generated data, the true probabilities: then each bin's
    mean true probability replaces its observed rate, which is the error without sampling noise.
    """
    import numpy as np

    y = np.asarray(y_true, dtype=float)
    p = np.asarray(probability, dtype=float)
    if len(y) == 0:
        return float("nan")
    bins = calibration_bins(p, n_bins)
    total = 0.0
    for b in np.unique(bins):
        in_bin = bins == b
        total += in_bin.sum() * abs(p[in_bin].mean() - y[in_bin].mean())
    return float(total / len(y))


def weekly_ece(y: np.ndarray, probability: np.ndarray, week: np.ndarray | None) -> float:
    """The row-weighted mean over checkpoint weeks of each week's ECE (the pooled ECE when the
    week is unknown): how calibrated the risk is where advisors read it, one week at a time."""
    import numpy as np

    if week is None:
        return expected_calibration_error(y, probability)
    total = 0.0
    for value in np.unique(week):
        rows = week == value
        total += rows.sum() * expected_calibration_error(y[rows], probability[rows])
    return float(total / len(y))
