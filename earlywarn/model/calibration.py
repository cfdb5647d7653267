"""Calibrators: maps from the booster's raw score to a probability, and how one is chosen."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Literal

from earlywarn.model.columns import CHECKPOINT_WEEK
from earlywarn.model.metrics import weekly_ece

if TYPE_CHECKING:
    import numpy as np


CalibrationMethod = Literal[
    "auto", "sigmoid", "isotonic", "sigmoid_by_week", "sigmoid_by_band", "isotonic_by_week"
]


# "auto" calibration: an isotonic map must have a cross-validated ECE 10% below a sigmoid's.
ISOTONIC_MARGIN = 1.0 / 0.9


# Week bands of the week-aware isotonic map: consecutive checkpoint weeks merged until a band holds
# this many calibration rows. Measured on the default synthetic institution (64,401 held-out rows):
# 2,000 and 4,000 rows per band give the lowest cross-validated per-week ECE (0.0107, 0.0106, vs
# 0.0120 pooled), 8,000 and 16,000 more (0.0127, 0.0128); isotonic wants thousands of rows.
ISOTONIC_BAND_ROWS = 4000


# Week bands of the per-band Platt maps: two parameters per band need far fewer rows than an
# isotonic map, so bands are narrower and follow how the score's meaning changes over the term.
SIGMOID_BAND_ROWS = 1500


CALIBRATION_FOLDS = 5


def _week_or_ones(week: np.ndarray | None, n: int) -> np.ndarray:
    import numpy as np

    if week is None:
        return np.ones(n, dtype=float)
    return np.clip(np.nan_to_num(np.asarray(week, dtype=float), nan=1.0), 1.0, None)


class _SigmoidCalibrator:
    """Platt scaling: a one-feature logistic regression on the booster's raw score."""

    def fit(self, raw: np.ndarray, y: np.ndarray, week: np.ndarray | None = None) -> Any:
        from sklearn.linear_model import LogisticRegression

        self.model_ = LogisticRegression(C=1e6, max_iter=1000).fit(raw.reshape(-1, 1), y)
        return self

    def transform(self, raw: np.ndarray, week: np.ndarray | None = None) -> np.ndarray:
        result: np.ndarray = self.model_.predict_proba(raw.reshape(-1, 1))[:, 1]
        return result


class _SigmoidByWeekCalibrator:
    """Platt scaling that knows the checkpoint week: a logistic regression on
    ``[raw, log(week), raw * log(week)]``, so both the offset and the slope of the map may move
    with the week (early scores rest on little behaviour and need a different map)."""

    @staticmethod
    def _inputs(raw: np.ndarray, week: np.ndarray | None) -> np.ndarray:
        import numpy as np

        log_week = np.log(_week_or_ones(week, len(raw)))
        return np.column_stack([raw, log_week, raw * log_week])

    def fit(self, raw: np.ndarray, y: np.ndarray, week: np.ndarray | None = None) -> Any:
        from sklearn.linear_model import LogisticRegression

        self.model_ = LogisticRegression(C=1e6, max_iter=1000).fit(self._inputs(raw, week), y)
        return self

    def transform(self, raw: np.ndarray, week: np.ndarray | None = None) -> np.ndarray:
        result: np.ndarray = self.model_.predict_proba(self._inputs(raw, week))[:, 1]
        return result


class _IsotonicCalibrator:
    """Centred isotonic regression on the booster's raw score: the isotonic fit's blocks (runs of
    raw scores sharing one fitted rate), then straight lines between each block's mean raw score
    and its rate, flat beyond the outermost blocks' means.

    Plain isotonic regression is a step function: every student of a block gets the same risk,
    so students the raw score ranks apart are tied, and the ROC-AUC drops (most at week 1, where
    the scores are close together). The centred map keeps the blocks' rates, so it is as
    calibrated, but is strictly increasing between the outermost block means, so it keeps the
    raw score's order. Measured by rolling-origin validation on the default synthetic
    institution (docs/training.md): the same ECE or lower, and no AUC lost to ties.
    """

    def fit(self, raw: np.ndarray, y: np.ndarray, week: np.ndarray | None = None) -> Any:
        import numpy as np
        from sklearn.isotonic import IsotonicRegression

        self.model_ = IsotonicRegression(
            out_of_bounds="clip", y_min=0.0, y_max=1.0, increasing=True
        ).fit(raw, y)
        rates, block = np.unique(self.model_.predict(raw), return_inverse=True)
        self.centres_ = np.bincount(block, weights=raw) / np.bincount(block)
        self.rates_ = rates
        return self

    def transform(self, raw: np.ndarray, week: np.ndarray | None = None) -> np.ndarray:
        import numpy as np

        if not hasattr(self, "centres_"):  # a model saved before maps were centred: steps
            return np.asarray(self.model_.predict(raw), dtype=float)
        result: np.ndarray = np.interp(raw, self.centres_, self.rates_)
        return result


def week_bands(week: np.ndarray, min_rows: int = ISOTONIC_BAND_ROWS) -> list[float]:
    """The first week of each band: consecutive checkpoint weeks merged until a band holds at
    least ``min_rows`` rows (a short last band joins the one before it)."""
    import numpy as np

    weeks, counts = np.unique(np.asarray(week, dtype=float), return_counts=True)
    starts: list[float] = []
    filled = min_rows
    for value, count in zip(weeks, counts, strict=True):
        if filled >= min_rows:
            starts.append(float(value))
            filled = 0
        filled += int(count)
    if filled < min_rows and len(starts) > 1:
        starts.pop()
    return starts


class _BandedCalibrator:
    """One map per band of checkpoint weeks (``band_starts_``, ``maps_``); a week outside the
    fitted weeks uses the nearest band. Subclasses fit the maps."""

    band_starts_: list[float]
    maps_: list[Any]

    def _band(self, week: np.ndarray | None, n: int) -> np.ndarray:
        import numpy as np

        starts = np.asarray(self.band_starts_, dtype=float)
        index = np.searchsorted(starts, _week_or_ones(week, n), side="right") - 1
        return np.clip(index, 0, len(starts) - 1)

    def transform(self, raw: np.ndarray, week: np.ndarray | None = None) -> np.ndarray:
        import numpy as np

        band = self._band(week, len(raw))
        result = np.empty(len(raw), dtype=float)
        for b, calibrator in enumerate(self.maps_):
            rows = band == b
            if rows.any():
                result[rows] = calibrator.transform(raw[rows])
        return result


class _IsotonicByWeekCalibrator(_BandedCalibrator):
    """One isotonic map per band of checkpoint weeks (:func:`week_bands`); a week outside the
    fitted weeks uses the nearest band."""

    def fit(self, raw: np.ndarray, y: np.ndarray, week: np.ndarray | None = None) -> Any:
        self.band_starts_ = week_bands(_week_or_ones(week, len(raw)))
        band = self._band(week, len(raw))
        self.maps_ = [
            _IsotonicCalibrator().fit(raw[band == b], y[band == b])
            for b in range(len(self.band_starts_))
        ]
        return self


class _SigmoidByBandCalibrator(_BandedCalibrator):
    """One Platt map per band of checkpoint weeks (:func:`week_bands` with
    ``SIGMOID_BAND_ROWS``); a week outside the fitted weeks uses the nearest band.

    Every map is a logistic curve in the raw score with a positive slope, so within a week it is
    strictly increasing: it never ties two students the booster ranks apart (an isotonic map is
    flat beyond its outermost blocks and, uncentred, inside each block). A band whose fitted slope
    is not positive (no ranking signal there) falls back to the pooled map.
    """

    def fit(self, raw: np.ndarray, y: np.ndarray, week: np.ndarray | None = None) -> Any:
        import numpy as np

        self.band_starts_ = week_bands(_week_or_ones(week, len(raw)), SIGMOID_BAND_ROWS)
        band = self._band(week, len(raw))
        pooled = _SigmoidCalibrator().fit(raw, y)
        self.maps_ = []
        for b in range(len(self.band_starts_)):
            rows = band == b
            fitted: Any = pooled
            if 0 < y[rows].sum() < rows.sum():
                candidate = _SigmoidCalibrator().fit(raw[rows], y[rows])
                if float(np.ravel(candidate.model_.coef_)[0]) > 0:
                    fitted = candidate
            self.maps_.append(fitted)
        return self


WEEK_AWARE = frozenset({"sigmoid_by_week", "sigmoid_by_band", "isotonic_by_week"})


#: What ``calibration="auto"`` chooses from: the strictly increasing maps only, so calibration
#: never ties students the booster ranks apart (isotonic maps stay available by name).
AUTO_CANDIDATES = ("sigmoid", "sigmoid_by_week", "sigmoid_by_band")


def fit_calibrator(
    method: str, raw: np.ndarray, y: np.ndarray, week: np.ndarray | None = None
) -> Any:
    """A calibrator of ``method`` (see :class:`RetentionModel`) fitted on raw scores, labels and
    (for the week-aware methods) checkpoint weeks; its ``transform(raw, week)`` gives risks."""
    if method not in CALIBRATORS:
        raise ValueError(f"unknown calibration method {method!r}")
    if method in WEEK_AWARE and week is None:
        raise ValueError(f"{method} calibration needs {CHECKPOINT_WEEK}")
    return CALIBRATORS[method]().fit(raw, y, week)


def calibration_folds(
    y: np.ndarray, groups: np.ndarray, seed: int, n_folds: int = CALIBRATION_FOLDS
) -> np.ndarray:
    """A fold number (0 to ``n_folds - 1``) for each row: a group's rows (a student's
    checkpoint weeks) share a fold, and groups are dealt out at random within each label, so the
    folds are stratified by label. Seeded, hence reproducible."""
    import numpy as np

    codes = np.unique(np.asarray(groups), return_inverse=True)[1]
    label = np.zeros(codes.max() + 1 if len(codes) else 0, dtype=int)
    label[codes] = np.asarray(y, dtype=int)
    rng = np.random.default_rng(seed)
    fold = np.empty(len(label), dtype=int)
    for value in np.unique(label):
        members = rng.permutation(np.flatnonzero(label == value))
        fold[members] = np.arange(len(members)) % n_folds
    result: np.ndarray = fold[codes]
    return result


def cross_validated_ece(
    raw: np.ndarray, y: np.ndarray, week: np.ndarray | None, folds: np.ndarray, method: str
) -> float:
    """Weekly ECE (:func:`weekly_ece`) of a calibrator measured on the folds of the calibration
    rows it was not fitted on, so a calibrator is never checked on a student it has seen."""
    import numpy as np

    predicted = np.empty(len(y), dtype=float)
    for fold in np.unique(folds):
        fit_rows, check_rows = folds != fold, folds == fold
        calibrator = CALIBRATORS[method]().fit(
            raw[fit_rows], y[fit_rows], None if week is None else week[fit_rows]
        )
        predicted[check_rows] = calibrator.transform(
            raw[check_rows], None if week is None else week[check_rows]
        )
    return weekly_ece(y, predicted, week)


CALIBRATORS: dict[str, Any] = {
    "sigmoid": _SigmoidCalibrator,
    "sigmoid_by_band": _SigmoidByBandCalibrator,
    "isotonic": _IsotonicCalibrator,
    "sigmoid_by_week": _SigmoidByWeekCalibrator,
    "isotonic_by_week": _IsotonicByWeekCalibrator,
}
