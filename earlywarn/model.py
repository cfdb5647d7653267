"""The retention model artifact: what MLflow stores and what weekly scoring loads.

A :class:`RetentionModel` holds everything scoring needs and trusts nothing else: the LightGBM
booster (trained on the *risk* target, 1 = not retained), a calibrator fitted on a held-out cohort,
the feature list with its kinds and categories, and reference statistics of the training features
for drift checks. It follows scikit-learn's estimator conventions where they fit: settings in
``__init__`` with no logic, learned state in attributes ending in ``_``, ``fit`` returns ``self``.

Reference statistics (``reference_stats``), per feature:

* numeric and binary: ``{"kind", "edges", "proportions", "missing_share"}``. ``edges`` are the
  distinct deciles of the non-missing training values; a value ``v`` falls in bin
  ``numpy.searchsorted(edges, v, side="right")``, so there are ``len(edges) + 1`` bins and
  ``proportions`` (shares of the non-missing values, summing to 1) has that length.
* categorical: ``{"kind", "proportions": {category: share of non-missing}, "missing_share"}``.

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
CalibrationMethod = Literal["auto", "sigmoid", "isotonic"]
EXPECTED_VALUE = "expected_value"
REFERENCE_QUANTILES = tuple(q / 10 for q in range(1, 10))
# "auto" calibration picks isotonic only when its cross-validated ECE is 10% below sigmoid's.
ISOTONIC_MARGIN = 1.0 / 0.9


@dataclass(frozen=True)
class FeatureColumn:
    """One model input: its name, kind and monotone direction on the *risk* of not being retained.

    ``monotone_risk`` is +1 when a higher value may only raise risk, -1 when it may only lower it,
    0 when unconstrained (always 0 for categorical features).
    """

    name: str
    kind: FeatureKind
    monotone_risk: int = 0


def expected_calibration_error(
    y_true: Sequence[float] | np.ndarray | pd.Series,
    probability: Sequence[float] | np.ndarray | pd.Series,
    n_bins: int = 10,
) -> float:
    """Expected calibration error with ``n_bins`` equal-width bins on [0, 1].

    The count-weighted mean, over non-empty bins, of |mean predicted - observed rate|. Equal-width
    bins match the calibration curve a person reads; weighting by count keeps sparse bins small.
    """
    import numpy as np

    y = np.asarray(y_true, dtype=float)
    p = np.asarray(probability, dtype=float)
    if len(y) == 0:
        return float("nan")
    bins = np.minimum((p * n_bins).astype(int), n_bins - 1)
    total = 0.0
    for b in np.unique(bins):
        in_bin = bins == b
        total += in_bin.sum() * abs(p[in_bin].mean() - y[in_bin].mean())
    return float(total / len(y))


class _SigmoidCalibrator:
    """Platt scaling: a one-feature logistic regression on the booster's raw score."""

    def fit(self, raw: np.ndarray, y: np.ndarray) -> _SigmoidCalibrator:
        from sklearn.linear_model import LogisticRegression

        self.model_ = LogisticRegression(C=1e6, max_iter=1000).fit(raw.reshape(-1, 1), y)
        return self

    def transform(self, raw: np.ndarray) -> np.ndarray:
        result: np.ndarray = self.model_.predict_proba(raw.reshape(-1, 1))[:, 1]
        return result


class _IsotonicCalibrator:
    """Isotonic regression on the booster's raw score, clipped outside the fitted range."""

    def fit(self, raw: np.ndarray, y: np.ndarray) -> _IsotonicCalibrator:
        from sklearn.isotonic import IsotonicRegression

        self.model_ = IsotonicRegression(
            out_of_bounds="clip", y_min=0.0, y_max=1.0, increasing=True
        ).fit(raw, y)
        return self

    def transform(self, raw: np.ndarray) -> np.ndarray:
        import numpy as np

        result: np.ndarray = np.asarray(self.model_.predict(raw), dtype=float)
        return result


_CALIBRATORS: dict[str, type[_SigmoidCalibrator] | type[_IsotonicCalibrator]] = {
    "sigmoid": _SigmoidCalibrator,
    "isotonic": _IsotonicCalibrator,
}


def _cross_validated_ece(
    raw: np.ndarray, y: np.ndarray, groups: np.ndarray, method: str, seed: int
) -> float:
    """ECE of a calibrator measured on folds of the calibration rows it was not fitted on.

    Folds keep each group (a student's rows at several checkpoint weeks) together, so a
    calibrator is never checked on a student it has seen.
    """
    import numpy as np
    from sklearn.model_selection import StratifiedGroupKFold

    folds = StratifiedGroupKFold(n_splits=5, shuffle=True, random_state=seed)
    predicted = np.empty(len(y), dtype=float)
    for fit_rows, check_rows in folds.split(raw.reshape(-1, 1), y, groups):
        calibrator = _CALIBRATORS[method]().fit(raw[fit_rows], y[fit_rows])
        predicted[check_rows] = calibrator.transform(raw[check_rows])
    return expected_calibration_error(y, predicted)


class RetentionModel:
    """A calibrated LightGBM model of the risk that a first-term student is not retained.

    ``features`` lists the model's inputs; ``params`` are LightGBM parameters (see
    ``training/params.py``); ``calibration`` is ``"sigmoid"`` (Platt), ``"isotonic"`` or ``"auto"``
    (the one with the lower cross-validated calibration error on the held-out cohort; isotonic
    must be 10% lower, since it is the more flexible map).
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
    ) -> None:
        self.features = features
        self.params = params
        self.n_estimators = n_estimators
        self.early_stopping_rounds = early_stopping_rounds
        self.calibration = calibration
        self.random_state = random_state

    # ------------------------------------------------------------------ fitting
    def fit(
        self,
        X: pd.DataFrame,
        y: Sequence[int] | np.ndarray | pd.Series,
        *,
        eval_X: pd.DataFrame,
        eval_y: Sequence[int] | np.ndarray | pd.Series,
        eval_groups: Sequence[Any] | np.ndarray | pd.Series | None = None,
    ) -> RetentionModel:
        """Fit the booster on ``X``/``y`` (1 = not retained), stopping early and calibrating on
        the held-out ``eval_X``/``eval_y`` (a later cohort than the training rows).

        ``eval_groups`` (the student of each held-out row) keeps a student's rows in one fold when
        the calibration method is chosen by cross-validated calibration error.
        """
        import lightgbm
        import numpy as np

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
        held_out = self._frame(eval_X)
        y_train = np.asarray(y, dtype=int)
        y_eval = np.asarray(eval_y, dtype=int)
        params = dict(self.params or {})
        params.update(
            n_estimators=self.n_estimators,
            random_state=self.random_state,
            monotone_constraints=[
                0 if c.kind == "categorical" else int(c.monotone_risk) for c in columns
            ],
        )
        classifier = lightgbm.LGBMClassifier(**params)
        classifier.fit(
            train,
            y_train,
            eval_X=(held_out,),
            eval_y=(y_eval,),
            callbacks=[
                lightgbm.early_stopping(self.early_stopping_rounds, verbose=False),
                lightgbm.log_evaluation(0),
            ],
        )
        self.booster_ = classifier.booster_
        self.best_iteration_ = int(classifier.best_iteration_ or classifier.n_estimators)

        raw = self._raw_score(held_out)
        groups = (
            np.arange(len(y_eval))
            if eval_groups is None
            else np.unique(np.asarray(eval_groups, dtype=str), return_inverse=True)[1]
        )
        methods = list(_CALIBRATORS) if self.calibration == "auto" else [self.calibration]
        self.calibration_ece_ = {
            method: _cross_validated_ece(raw, y_eval, groups, method, self.random_state)
            for method in methods
        }
        # Isotonic is the more flexible map (and can reach 0 or 1), so it must earn its place.
        method = min(
            self.calibration_ece_,
            key=lambda m: self.calibration_ece_[m] * (1.0 if m == "sigmoid" else ISOTONIC_MARGIN),
        )
        self.calibration_method_ = method
        self.calibrator_ = _CALIBRATORS[method]().fit(raw, y_eval)
        self.reference_stats_ = self._reference_stats(train)
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
        """Calibrated probability that each student is NOT retained."""
        return self.calibrator_.transform(self._raw_score(self._frame(features)))

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
                data[column.name] = pd.to_numeric(values, errors="coerce").astype("float64")
        return pd.DataFrame(data, index=features.index)

    def _raw_score(self, frame: pd.DataFrame) -> np.ndarray:
        import numpy as np

        return np.asarray(
            self.booster_.predict(frame, num_iteration=self.best_iteration_, raw_score=True),
            dtype=float,
        )

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
                }
        return stats
