"""The retention model artifact: what MLflow stores and what weekly scoring loads.

A :class:`RetentionModel` holds everything scoring needs and trusts nothing else: the LightGBM
booster (trained on the *risk* target, 1 = not retained), a calibrator fitted on scores of rows the
booster never trained on (a held-out cohort, and in training also out-of-fold scores of the
training cohorts: :meth:`RetentionModel.calibrate`), the feature list with its kinds and
categories, and reference statistics of the training features for drift checks, pooled
(``reference_stats_``), per checkpoint week (``reference_stats_by_week_``, see
:func:`earlywarn.scoring.drift.reference_by_week`) and per program and week
(``reference_stats_by_program_week_``). It follows
scikit-learn's estimator conventions where they fit: settings in ``__init__`` with no logic,
learned state in attributes ending in ``_``, ``fit`` returns ``self``.

Reference statistics (``reference_stats``), per feature:

* numeric and binary: ``{"kind", "edges", "proportions", "missing_share"}``. ``edges`` are the
  distinct deciles of the non-missing training values; a value ``v`` falls in bin
  ``numpy.searchsorted(edges, v, side="right")``, so there are ``len(edges) + 1`` bins and
  ``proportions`` (shares of the non-missing values, summing to 1) has that length.
* categorical: ``{"kind", "proportions": {category: share of non-missing}, "missing_share"}``.

Both also carry ``rows``, the number of rows behind them (the drift check's sample size).

:meth:`RetentionModel.profile` computes the same shapes for new data with the training edges, so a
drift check compares like with like.

Heavy libraries are imported inside the methods that need them, so importing this module is cheap.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

if TYPE_CHECKING:
    import numpy as np
    import pandas as pd

FeatureKind = Literal["numeric", "binary", "categorical"]
CalibrationMethod = Literal[
    "auto", "sigmoid", "isotonic", "sigmoid_by_week", "sigmoid_by_band", "isotonic_by_week"
]
EXPECTED_VALUE = "expected_value"
CHECKPOINT_WEEK = "checkpoint_week"
PROGRAM_ID = "program_id"
REFERENCE_QUANTILES = tuple(q / 10 for q in range(1, 10))
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


#: Standardised values of the linear base are clipped to this many standard deviations.
STANDARD_LIMIT = 8.0


@dataclass(frozen=True)
class FeatureColumn:
    """One model input: its name, kind and monotone direction on the *risk* of not being retained.

    ``monotone_risk`` is +1 when a higher value may only raise risk, -1 when it may only lower it,
    0 when unconstrained (always 0 for categorical features).
    """

    name: str
    kind: FeatureKind
    monotone_risk: int = 0


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


class _IsotonicByWeekCalibrator:
    """One isotonic map per band of checkpoint weeks (:func:`week_bands`); a week outside the
    fitted weeks uses the nearest band."""

    def _band(self, week: np.ndarray | None, n: int) -> np.ndarray:
        import numpy as np

        starts = np.asarray(self.band_starts_, dtype=float)
        index = np.searchsorted(starts, _week_or_ones(week, n), side="right") - 1
        return np.clip(index, 0, len(starts) - 1)

    def fit(self, raw: np.ndarray, y: np.ndarray, week: np.ndarray | None = None) -> Any:
        self.band_starts_ = week_bands(_week_or_ones(week, len(raw)))
        band = self._band(week, len(raw))
        self.maps_ = [
            _IsotonicCalibrator().fit(raw[band == b], y[band == b])
            for b in range(len(self.band_starts_))
        ]
        return self

    def transform(self, raw: np.ndarray, week: np.ndarray | None = None) -> np.ndarray:
        import numpy as np

        band = self._band(week, len(raw))
        result = np.empty(len(raw), dtype=float)
        for b, calibrator in enumerate(self.maps_):
            rows = band == b
            if rows.any():
                result[rows] = calibrator.transform(raw[rows])
        return result


class _SigmoidByBandCalibrator:
    """One Platt map per band of checkpoint weeks (:func:`week_bands` with
    ``SIGMOID_BAND_ROWS``); a week outside the fitted weeks uses the nearest band.

    Every map is a logistic curve in the raw score with a positive slope, so within a week it is
    strictly increasing: it never ties two students the booster ranks apart (an isotonic map is
    flat beyond its outermost blocks and, uncentred, inside each block). A band whose fitted slope
    is not positive (no ranking signal there) falls back to the pooled map.
    """

    def _band(self, week: np.ndarray | None, n: int) -> np.ndarray:
        import numpy as np

        starts = np.asarray(self.band_starts_, dtype=float)
        index = np.searchsorted(starts, _week_or_ones(week, n), side="right") - 1
        return np.clip(index, 0, len(starts) - 1)

    def fit(self, raw: np.ndarray, y: np.ndarray, week: np.ndarray | None = None) -> Any:
        import numpy as np

        self.band_starts_ = week_bands(_week_or_ones(week, len(raw)), SIGMOID_BAND_ROWS)
        band = self._band(week, len(raw))
        pooled = _SigmoidCalibrator().fit(raw, y)
        self.maps_: list[Any] = []
        for b in range(len(self.band_starts_)):
            rows = band == b
            fitted: Any = pooled
            if 0 < y[rows].sum() < rows.sum():
                candidate = _SigmoidCalibrator().fit(raw[rows], y[rows])
                if float(np.ravel(candidate.model_.coef_)[0]) > 0:
                    fitted = candidate
            self.maps_.append(fitted)
        return self

    def transform(self, raw: np.ndarray, week: np.ndarray | None = None) -> np.ndarray:
        import numpy as np

        band = self._band(week, len(raw))
        result = np.empty(len(raw), dtype=float)
        for b, calibrator in enumerate(self.maps_):
            rows = band == b
            if rows.any():
                result[rows] = calibrator.transform(raw[rows])
        return result


class MonotoneLinear:
    """A logistic regression on the model's features whose coefficients keep each feature's
    declared direction on risk: the linear base the booster adds its trees to.

    Numbers are imputed with the training median and standardised; a categorical feature is one
    indicator per known category (missing: none). A coefficient of a feature with
    ``monotone_risk`` +1 is bounded at >= 0, -1 at <= 0; the others are free. L2-penalised
    (``l2`` on the standardised scale), fitted by L-BFGS-B, so deterministic. A feature's
    contribution to the logit is its coefficient(s) times its standardised value, so the
    contributions of a row sum with :attr:`intercept_` to :meth:`logit`.
    """

    def __init__(self, l2: float = 1.0) -> None:
        self.l2 = l2

    def _design(self, frame: pd.DataFrame) -> tuple[np.ndarray, list[int]]:
        """The design matrix and, for each of its columns, the index of its feature."""
        import numpy as np
        import pandas as pd

        blocks: list[np.ndarray] = []
        owner: list[int] = []
        for index, column in enumerate(self.columns_):
            values = frame[column.name]
            if column.kind == "categorical":
                known = self.categories_[column.name]
                codes = np.asarray(pd.Index(known).get_indexer(values.astype(object)), dtype=int)
                block = (codes[:, None] == np.arange(len(known))[None, :]).astype(float)
                blocks.append(block)
                owner.extend([index] * len(known))
            else:
                x = values.to_numpy(dtype=float, na_value=np.nan)
                x = np.where(np.isnan(x), self.median_[column.name], x)
                z = (x - self.mean_[column.name]) / self.scale_[column.name]
                # A value far outside training's range must not swing the logit without bound.
                blocks.append(np.clip(z, -STANDARD_LIMIT, STANDARD_LIMIT)[:, None])
                owner.append(index)
        return np.hstack(blocks), owner

    def fit(self, frame: pd.DataFrame, y: np.ndarray, columns: Sequence[FeatureColumn]) -> Any:
        import numpy as np
        from scipy.optimize import minimize

        self.columns_ = list(columns)
        self.median_: dict[str, float] = {}
        self.mean_: dict[str, float] = {}
        self.scale_: dict[str, float] = {}
        self.categories_: dict[str, list[Any]] = {}
        for column in self.columns_:
            if column.kind == "categorical":
                self.categories_[column.name] = list(frame[column.name].cat.categories)
                continue
            x = frame[column.name].to_numpy(dtype=float, na_value=np.nan)
            present = x[~np.isnan(x)]
            median = float(np.median(present)) if len(present) else 0.0
            filled = np.where(np.isnan(x), median, x)
            self.median_[column.name] = median
            self.mean_[column.name] = float(filled.mean())
            spread = float(filled.std())
            # Constant in training (up to rounding): unit scale, so its design column is zero
            # there, its coefficient stays 0, and new values elsewhere add nothing.
            self.scale_[column.name] = spread if spread > 1e-9 * max(1.0, abs(median)) else 1.0
        design, owner = self._design(frame)
        target = np.asarray(y, dtype=float)
        n = len(target)
        signs = [
            0 if self.columns_[i].kind == "categorical" else int(self.columns_[i].monotone_risk)
            for i in owner
        ]
        bounds = [(None, None)] + [
            (0.0, None) if s > 0 else (None, 0.0) if s < 0 else (None, None) for s in signs
        ]

        def loss(w: np.ndarray) -> tuple[float, np.ndarray]:
            z = w[0] + design @ w[1:]
            p = 1.0 / (1.0 + np.exp(-z))
            value = float(np.sum(np.logaddexp(0.0, z) - target * z)) / n
            value += 0.5 * self.l2 * float(w[1:] @ w[1:]) / n
            residual = (p - target) / n
            grad = np.concatenate([[residual.sum()], design.T @ residual + self.l2 * w[1:] / n])
            return value, grad

        start = np.zeros(design.shape[1] + 1)
        rate = min(max(float(target.mean()), 1e-6), 1 - 1e-6)
        start[0] = np.log(rate / (1 - rate))
        result = minimize(
            loss, start, jac=True, method="L-BFGS-B", bounds=bounds, options={"maxiter": 2000}
        )
        self.intercept_ = float(result.x[0])
        self.coef_ = np.asarray(result.x[1:], dtype=float)
        self.owner_ = np.asarray(owner, dtype=int)
        return self

    def contributions(self, frame: pd.DataFrame) -> np.ndarray:
        """Each feature's part of the logit, one column per feature (rows x features)."""
        import numpy as np

        design, _ = self._design(frame)
        parts = design * self.coef_[None, :]
        out = np.zeros((len(frame), len(self.columns_)))
        np.add.at(out.T, self.owner_, parts.T)
        return out

    def logit(self, frame: pd.DataFrame) -> np.ndarray:
        """The linear log-odds of not being retained."""
        design, _ = self._design(frame)
        result: np.ndarray = self.intercept_ + design @ self.coef_
        return result


_CALIBRATORS: dict[str, Any] = {
    "sigmoid": _SigmoidCalibrator,
    "sigmoid_by_band": _SigmoidByBandCalibrator,
    "isotonic": _IsotonicCalibrator,
    "sigmoid_by_week": _SigmoidByWeekCalibrator,
    "isotonic_by_week": _IsotonicByWeekCalibrator,
}
_WEEK_AWARE = frozenset({"sigmoid_by_week", "sigmoid_by_band", "isotonic_by_week"})
#: What ``calibration="auto"`` chooses from: the strictly increasing maps only, so calibration
#: never ties students the booster ranks apart (isotonic maps stay available by name).
_AUTO_CANDIDATES = ("sigmoid", "sigmoid_by_week", "sigmoid_by_band")


def fit_calibrator(
    method: str, raw: np.ndarray, y: np.ndarray, week: np.ndarray | None = None
) -> Any:
    """A calibrator of ``method`` (see :class:`RetentionModel`) fitted on raw scores, labels and
    (for the week-aware methods) checkpoint weeks; its ``transform(raw, week)`` gives risks."""
    if method not in _CALIBRATORS:
        raise ValueError(f"unknown calibration method {method!r}")
    if method in _WEEK_AWARE and week is None:
        raise ValueError(f"{method} calibration needs {CHECKPOINT_WEEK}")
    return _CALIBRATORS[method]().fit(raw, y, week)


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


def _cross_validated_ece(
    raw: np.ndarray, y: np.ndarray, week: np.ndarray | None, folds: np.ndarray, method: str
) -> float:
    """Weekly ECE (:func:`weekly_ece`) of a calibrator measured on the folds of the calibration
    rows it was not fitted on, so a calibrator is never checked on a student it has seen."""
    import numpy as np

    predicted = np.empty(len(y), dtype=float)
    for fold in np.unique(folds):
        fit_rows, check_rows = folds != fold, folds == fold
        calibrator = _CALIBRATORS[method]().fit(
            raw[fit_rows], y[fit_rows], None if week is None else week[fit_rows]
        )
        predicted[check_rows] = calibrator.transform(
            raw[check_rows], None if week is None else week[check_rows]
        )
    return weekly_ece(y, predicted, week)


class RetentionModel:
    """A calibrated LightGBM model of the risk that a first-term student is not retained.

    ``features`` lists the model's inputs; ``params`` are LightGBM parameters (see
    ``training/params.py``); ``calibration`` is ``"sigmoid"`` (Platt), ``"isotonic"``, their
    checkpoint-aware forms ``"sigmoid_by_week"`` (Platt on the raw score, log week and their
    product) and ``"isotonic_by_week"`` (one isotonic map per band of weeks), or ``"auto"``: the
    one with the lowest cross-validated weekly calibration error on the held-out cohort (an
    isotonic map must be 10% lower, being the more flexible). The week-aware forms need the
    ``checkpoint_week`` column among the features.
    """

    def __init__(
        self,
        features: Sequence[FeatureColumn] = (),
        params: Mapping[str, Any] | None = None,
        *,
        n_estimators: int = 2000,
        early_stopping_rounds: int = 50,
        calibration: CalibrationMethod = "auto",
        random_state: int = 42,
        linear_base: bool = False,
        linear_l2: float = 1.0,
    ) -> None:
        self.features = features
        self.params = params
        self.n_estimators = n_estimators
        self.early_stopping_rounds = early_stopping_rounds
        self.calibration = calibration
        self.random_state = random_state
        self.linear_base = linear_base
        self.linear_l2 = linear_l2

    # ------------------------------------------------------------------ fitting
    def fit(
        self,
        X: pd.DataFrame,
        y: Sequence[int] | np.ndarray | pd.Series,
        *,
        eval_X: pd.DataFrame | None = None,
        eval_y: Sequence[int] | np.ndarray | pd.Series | None = None,
        eval_groups: Sequence[Any] | np.ndarray | pd.Series | None = None,
        reference_stats: bool = True,
    ) -> RetentionModel:
        """Fit the booster on ``X``/``y`` (1 = not retained).

        With ``eval_X``/``eval_y`` (rows of students not in ``X``) it stops early on them and
        calibrates on their raw scores; ``eval_groups`` (the student of each of those rows) keeps
        a student's rows in one fold when the calibration method is chosen by cross-validated
        calibration error. Without them it grows exactly ``n_estimators`` trees (the count that
        cross-fitted early stopping chose, training/fit.py) and the caller must call
        :meth:`calibrate` with out-of-fold scores before predicting risks. ``reference_stats``
        false skips the drift reference (for a model that is only used for its raw scores, such
        as a cross-fitting fold model); such a model cannot be profiled for drift.
        """
        import lightgbm
        import numpy as np
        import pandas as pd

        columns = list(self.features)
        if not columns:
            raise ValueError("RetentionModel needs at least one feature column")
        self.feature_columns_ = columns
        self.categories_ = {
            c.name: sorted(str(v) for v in X[c.name].dropna().unique())
            for c in columns
            if c.kind == "categorical"
        }
        train = self._frame(X)
        stopping = eval_X is not None and eval_y is not None
        held_out = self._frame(eval_X) if eval_X is not None else train.iloc[:0]
        y_train = np.asarray(y, dtype=int)
        y_eval = np.asarray(eval_y if eval_y is not None else [], dtype=int)
        params = dict(self.params or {})
        params.update(
            n_estimators=self.n_estimators,
            random_state=self.random_state,
            monotone_constraints=[
                0 if c.kind == "categorical" else int(c.monotone_risk) for c in columns
            ],
        )
        # The linear base (optional): a sign-constrained logistic regression whose log-odds are
        # the booster's starting score, so the trees only add what a linear model misses.
        self.linear_: MonotoneLinear | None = None
        # Each cross-fitting fold's kept iterations, when training chose the trees so.
        self.fold_trees_: list[int] = []
        init_train = init_eval = None
        if self.linear_base:
            self.linear_ = MonotoneLinear(self.linear_l2).fit(train, y_train, columns)
            init_train, init_eval = self.linear_.logit(train), self.linear_.logit(held_out)
        classifier = lightgbm.LGBMClassifier(**params)
        if stopping:
            classifier.fit(
                train,
                y_train,
                init_score=init_train,
                eval_X=(held_out,),
                eval_y=(y_eval,),
                eval_init_score=None if init_eval is None else [init_eval],
                callbacks=[
                    lightgbm.early_stopping(self.early_stopping_rounds, verbose=False),
                    lightgbm.log_evaluation(0),
                ],
            )
        else:
            classifier.fit(train, y_train, init_score=init_train)
        self.booster_ = classifier.booster_
        self.best_iteration_ = int(classifier.best_iteration_ or classifier.n_estimators)
        if stopping:
            assert eval_X is not None
            self.calibrate(
                self._raw_score(held_out), y_eval, self.checkpoint_weeks(eval_X), eval_groups
            )
        self.reference_stats_: dict[str, dict[str, Any]] = {}
        self.reference_stats_by_week_: dict[int, dict[str, Any]] | None = None
        self.reference_stats_by_program_week_: dict[tuple[str, int], dict[str, Any]] | None = None
        if not reference_stats:
            return self
        self.reference_stats_ = self._reference_stats(train)
        if CHECKPOINT_WEEK in X.columns:
            # What earlywarn.scoring.drift.reference_by_week(self, X) returns, from the frame typed
            # once.
            weeks = pd.to_numeric(X[CHECKPOINT_WEEK], errors="coerce").round()
            self.reference_stats_by_week_ = {
                int(week): self._stats(rows, edges=self.reference_stats_)
                for week, rows in train.groupby(weeks.to_numpy(), sort=True)
            }
            if PROGRAM_ID in X.columns:
                # The drift check compares a week's students with the same program's same week.
                programs = X[PROGRAM_ID].astype(str).to_numpy()
                self.reference_stats_by_program_week_ = {
                    (str(program), int(week)): self._stats(rows, edges=self.reference_stats_)
                    for (program, week), rows in train.groupby(
                        [programs, weeks.to_numpy()], sort=True
                    )
                }
        return self

    def calibrate(
        self,
        raw: np.ndarray,
        y: Sequence[int] | np.ndarray | pd.Series,
        week: np.ndarray | None,
        groups: Sequence[Any] | np.ndarray | pd.Series | None = None,
    ) -> RetentionModel:
        """(Re)fit the calibrator on raw scores ``raw`` of rows the booster was not trained on,
        their labels ``y`` (1 = not retained), checkpoint weeks ``week``
        (:meth:`checkpoint_weeks`) and students ``groups``.

        :meth:`fit` calibrates on the held-out cohort; training may call this again with more
        rows (out-of-fold scores of the training cohorts, see training/fit.py). With
        ``calibration="auto"`` the method with the lowest cross-validated weekly ECE on these
        rows wins (folds keep a student's rows together).
        """
        import numpy as np

        labels = np.asarray(y, dtype=int)
        scores = np.asarray(raw, dtype=float)
        ids = np.arange(len(labels)) if groups is None else np.asarray(groups, dtype=str)
        folds = calibration_folds(labels, ids, self.random_state)
        if self.calibration == "auto":
            methods = [m for m in _AUTO_CANDIDATES if week is not None or m not in _WEEK_AWARE]
        else:
            if self.calibration in _WEEK_AWARE and week is None:
                raise ValueError(f"{self.calibration} calibration needs {CHECKPOINT_WEEK}")
            methods = [self.calibration]
        self.calibration_ece_ = {
            method: _cross_validated_ece(scores, labels, week, folds, method) for method in methods
        }
        # Isotonic maps are the more flexible (and can reach 0 or 1), so they must earn their place.
        method = min(
            self.calibration_ece_,
            key=lambda m: self.calibration_ece_[m] * (ISOTONIC_MARGIN if "isotonic" in m else 1.0),
        )
        self.calibration_method_ = method
        self.calibrator_ = _CALIBRATORS[method]().fit(scores, labels, week)
        self.calibration_rows_ = len(labels)
        return self

    # --------------------------------------------------------------- predicting
    @property
    def feature_names(self) -> list[str]:
        """The model's input columns, in order."""
        return [c.name for c in self.feature_columns_]

    @property
    def feature_kinds(self) -> dict[str, str]:
        """Each input column's kind: numeric, binary or categorical."""
        return {c.name: c.kind for c in self.feature_columns_}

    @property
    def reference_stats(self) -> dict[str, dict[str, Any]]:
        """Training-feature statistics for drift checks (shapes in the module docstring)."""
        return self.reference_stats_

    def predict_risk(self, features: pd.DataFrame) -> np.ndarray:
        """Calibrated probability that each student is NOT retained.

        Never clipped: a floor or ceiling would tie the students beyond it, and ranking and
        evaluation use these values as they are (the digest rounds only for display).
        """
        import numpy as np

        raw = self._raw_score(self._frame(features))
        risk: np.ndarray = np.asarray(
            self.calibrator_.transform(raw, self.checkpoint_weeks(features)), dtype=float
        )
        return risk

    def predict_proba(self, features: pd.DataFrame) -> np.ndarray:
        """scikit-learn's shape: column 0 = retained, column 1 = not retained."""
        import numpy as np

        risk = self.predict_risk(features)
        return np.column_stack([1.0 - risk, risk])

    def predict(self, features: pd.DataFrame) -> np.ndarray:
        """1 where the risk of not being retained is at least one half."""
        return (self.predict_risk(features) >= 0.5).astype(int)

    def raw_score(self, features: pd.DataFrame) -> np.ndarray:
        """The booster's uncalibrated log-odds of not being retained."""
        return self._raw_score(self._frame(features))

    def contributions(self, features: pd.DataFrame) -> pd.DataFrame:
        """Per-feature SHAP contributions to the raw risk score (positive = raises risk).

        One column per feature plus ``expected_value``; each row sums to :meth:`raw_score`.
        """
        import numpy as np
        import pandas as pd

        frame = self._frame(features)
        values = np.asarray(
            self.booster_.predict(frame, num_iteration=self.best_iteration_, pred_contrib=True)
        )
        linear = getattr(self, "linear_", None)
        if linear is not None:
            values[:, :-1] += linear.contributions(frame)
            values[:, -1] += linear.intercept_
        return pd.DataFrame(
            values, columns=[*self.feature_names, EXPECTED_VALUE], index=features.index
        )

    def feature_importance(self) -> dict[str, float]:
        """Total gain of each feature's splits."""
        gains = self.booster_.feature_importance(
            importance_type="gain", iteration=self.best_iteration_
        )
        return {name: float(g) for name, g in zip(self.feature_names, gains, strict=True)}

    def profile(self, features: pd.DataFrame) -> dict[str, dict[str, Any]]:
        """Statistics of ``features`` in the shapes of :attr:`reference_stats`, binned with the
        training edges, so they can be compared with the reference (PSI, missing share)."""
        return self._stats(self._frame(features), edges=self.reference_stats_)

    # ---------------------------------------------------------------- internals
    def _frame(self, features: pd.DataFrame) -> pd.DataFrame:
        """The model's columns, in order and typed as in training; unseen categories -> missing."""
        import pandas as pd

        missing = [c.name for c in self.feature_columns_ if c.name not in features.columns]
        if missing:
            raise KeyError(f"features lack the model's columns: {', '.join(missing)}")
        data: dict[str, Any] = {}
        for column in self.feature_columns_:
            values = features[column.name]
            if column.kind == "categorical":
                known = self.categories_[column.name]
                text = values.astype("string").astype(object)
                text = text.where(values.notna() & text.isin(known), None)
                data[column.name] = pd.Categorical(text, categories=known)
            else:
                # float32: half the memory of float64, and LightGBM bins in float32 anyway.
                data[column.name] = pd.to_numeric(values, errors="coerce").astype("float32")
        return pd.DataFrame(data, index=features.index)

    def checkpoint_weeks(self, features: pd.DataFrame) -> np.ndarray | None:
        """The checkpoint week of each row (for week-aware calibration), when the features have it.

        Week-aware calibrators need it; the others ignore it.
        """
        import pandas as pd

        if CHECKPOINT_WEEK not in features.columns:
            if getattr(self, "calibration_method_", None) in _WEEK_AWARE:
                raise KeyError(f"features lack the model's columns: {CHECKPOINT_WEEK}")
            return None
        weeks = pd.to_numeric(features[CHECKPOINT_WEEK], errors="coerce")
        return weeks.to_numpy(dtype=float, na_value=float("nan"))

    def _raw_score(self, frame: pd.DataFrame) -> np.ndarray:
        import numpy as np

        raw = np.asarray(
            self.booster_.predict(frame, num_iteration=self.best_iteration_, raw_score=True),
            dtype=float,
        )
        linear = getattr(self, "linear_", None)
        return raw if linear is None else raw + linear.logit(frame)

    def _reference_stats(self, frame: pd.DataFrame) -> dict[str, dict[str, Any]]:
        import numpy as np

        edges: dict[str, dict[str, Any]] = {}
        for column in self.feature_columns_:
            if column.kind != "categorical":
                values = frame[column.name].dropna().to_numpy(dtype=float)
                quantiles = np.quantile(values, REFERENCE_QUANTILES) if len(values) else []
                edges[column.name] = {"edges": [float(e) for e in np.unique(quantiles)]}
        return self._stats(frame, edges=edges)

    def _stats(
        self, frame: pd.DataFrame, *, edges: Mapping[str, Mapping[str, Any]]
    ) -> dict[str, dict[str, Any]]:
        import numpy as np

        stats: dict[str, dict[str, Any]] = {}
        for column in self.feature_columns_:
            values = frame[column.name]
            missing_share = float(values.isna().mean()) if len(values) else 0.0
            present = values.dropna()
            if column.kind == "categorical":
                counts = present.value_counts().reindex(self.categories_[column.name], fill_value=0)
                total = max(int(counts.sum()), 1)
                stats[column.name] = {
                    "kind": column.kind,
                    "proportions": {str(k): int(v) / total for k, v in counts.items()},
                    "missing_share": missing_share,
                    "rows": len(values),
                }
            else:
                cuts = list(edges[column.name]["edges"])
                bins = np.searchsorted(
                    np.asarray(cuts, dtype=float), present.to_numpy(dtype=float), side="right"
                )
                counts = np.bincount(bins, minlength=len(cuts) + 1)
                total = max(int(counts.sum()), 1)
                stats[column.name] = {
                    "kind": column.kind,
                    "edges": cuts,
                    "proportions": [int(c) / total for c in counts],
                    "missing_share": missing_share,
                    "rows": len(values),
                }
        return stats
