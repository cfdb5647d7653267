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
from typing import TYPE_CHECKING, Any

from earlywarn.model import booster
from earlywarn.model.calibration import (
    AUTO_CANDIDATES,
    CALIBRATORS,
    ISOTONIC_MARGIN,
    WEEK_AWARE,
    CalibrationMethod,
    calibration_folds,
    cross_validated_ece,
)
from earlywarn.model.columns import CHECKPOINT_WEEK, FeatureColumn
from earlywarn.model.history import (
    COLLINEAR_WITH_RATE,
    HISTORY_COLUMN,
    HISTORY_KEY,
    HistoricalRates,
)
from earlywarn.model.linear import MonotoneLinear
from earlywarn.model.reference import Stats, frame_stats, training_reference

if TYPE_CHECKING:
    import numpy as np
    import pandas as pd

EXPECTED_VALUE = "expected_value"


class RetentionModel:
    """A calibrated LightGBM model of the risk that a first-term student is not retained.

    ``features`` lists the model's inputs; ``params`` are LightGBM parameters (see
    ``training/params.py``); ``calibration`` is ``"sigmoid"`` (Platt), ``"isotonic"``, their
    checkpoint-aware forms ``"sigmoid_by_week"`` (Platt on the raw score, log week and their
    product) and ``"isotonic_by_week"`` (one isotonic map per band of weeks), or ``"auto"``: the
    one with the lowest cross-validated weekly calibration error on the held-out cohort (an
    isotonic map must be 10% lower, being the more flexible). The week-aware forms need the
    ``checkpoint_week`` column among the features. ``history`` adds the program's historical
    not-retained rate (:mod:`earlywarn.model.history`) as an input that may only raise risk with
    the rate, when the training frame has the ``program`` column.
    """

    # Learned by fit (fit_fold copies them from its template).
    history_: HistoricalRates | None
    feature_columns_: list[FeatureColumn]
    categories_: dict[str, list[str]]
    linear_: MonotoneLinear | None
    fold_trees_: list[int]
    form_window_auc_: dict[str, float]
    reference_stats_: Stats
    reference_stats_by_week_: dict[int, Stats] | None
    reference_stats_by_program_week_: dict[tuple[str, int], Stats] | None

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
        history: bool = False,
    ) -> None:
        self.features = features
        self.params = params
        self.n_estimators = n_estimators
        self.early_stopping_rounds = early_stopping_rounds
        self.calibration = calibration
        self.random_state = random_state
        self.linear_base = linear_base
        self.linear_l2 = linear_l2
        self.history = history

    # ------------------------------------------------------------------ fitting
    def fit(
        self,
        X: pd.DataFrame,
        y: Sequence[int] | np.ndarray | pd.Series,
        *,
        eval_X: pd.DataFrame | None = None,
        eval_y: Sequence[int] | np.ndarray | pd.Series | None = None,
        eval_groups: Sequence[Any] | np.ndarray | pd.Series | None = None,
        scores_only: bool = False,
        binned: Any = None,
    ) -> RetentionModel:
        """Fit the booster on ``X``/``y`` (1 = not retained).

        With ``history`` the program rates are fitted on ``X`` (one count per ``student_id``);
        where ``X`` already holds a ``program_history_rate`` column (out-of-fold values, from
        training) the booster learns from those instead of rates that saw each row's own label.

        With ``eval_X``/``eval_y`` (rows of students not in ``X``) it stops early on them and
        calibrates on their raw scores; ``eval_groups`` (the student of each of those rows) keeps
        a student's rows in one fold when the calibration method is chosen by cross-validated
        calibration error. Without them it grows exactly ``n_estimators`` trees (the count that
        cross-fitted early stopping chose, training/fit.py) and the caller must call
        :meth:`calibrate` with out-of-fold scores before predicting risks. ``scores_only`` skips
        the calibration and the drift reference, for a model used only for its raw scores (a
        cross-fitting fold model): it can give :meth:`raw_score` but not risks or a profile.
        ``binned``: the rows of ``X`` already binned by :meth:`bin_rows` (of a model with the same
        settings), used instead of binning them again when there is no ``eval_X`` and no linear
        base; the booster is the same.
        """
        import numpy as np

        columns = self._learn_columns(X, y)
        train = self._frame(X)
        stopping = eval_X is not None and eval_y is not None
        held_out = self._frame(eval_X) if eval_X is not None else train.iloc[:0]
        y_train = np.asarray(y, dtype=int)
        y_eval = np.asarray(eval_y if eval_y is not None else [], dtype=int)
        self._reset_fitted_extras()
        init_train = init_eval = None
        if self.linear_base:
            without = COLLINEAR_WITH_RATE if self.history_ is not None else frozenset()
            self.linear_ = MonotoneLinear(self.linear_l2, without).fit(train, y_train, columns)
            init_train, init_eval = self.linear_.logit(train), self.linear_.logit(held_out)
        self.booster_, self.best_iteration_ = booster.grow(
            self._booster_params(),
            self.n_estimators,
            train,
            y_train,
            init=init_train,
            held_out=(held_out, y_eval, init_eval) if stopping else None,
            stopping_rounds=self.early_stopping_rounds,
            binned=binned,
        )
        if stopping and not scores_only:
            assert eval_X is not None
            self.calibrate(
                self._raw_score(held_out), y_eval, self.checkpoint_weeks(eval_X), eval_groups
            )
        if not scores_only:
            (
                self.reference_stats_,
                self.reference_stats_by_week_,
                self.reference_stats_by_program_week_,
            ) = training_reference(train, X, columns, self.categories_)
        return self

    def bin_rows(self, X: pd.DataFrame, y: Sequence[int] | np.ndarray | pd.Series) -> Any:
        """Every row of ``X`` binned once for LightGBM (:func:`earlywarn.model.booster.bin_rows`),
        with the columns (and categories, and the program rates with ``history``) learned from all
        of them: the rows that :meth:`fit_fold` models of a cross-fitting share, and the final
        model's ``fit(..., binned=)``."""
        self._learn_columns(X, y)
        return booster.bin_rows(self._frame(X), y, self._booster_params())

    def fit_fold(self, template: RetentionModel, binned: Any, inside: np.ndarray) -> RetentionModel:
        """A cross-fitting fold model: boost on the rows ``inside`` (a boolean mask) of
        ``binned`` (``template.bin_rows``), stopping early on the other rows, with the template's
        columns and categories. Like ``fit(..., scores_only=True)``: it gives :meth:`raw_score`,
        not risks; it has no linear base.
        """
        self.history_ = template.history_
        self.feature_columns_ = template.feature_columns_
        self.categories_ = template.categories_
        self._reset_fitted_extras()
        self.booster_, self.best_iteration_ = booster.grow_fold(
            self._booster_params(), self.n_estimators, binned, inside, self.early_stopping_rounds
        )
        return self

    def _learn_columns(
        self, X: pd.DataFrame, y: Sequence[int] | np.ndarray | pd.Series
    ) -> list[FeatureColumn]:
        """The booster's columns (the program rate appended with ``history``) and categories."""
        import numpy as np

        columns = [c for c in self.features if c.name != HISTORY_COLUMN]
        if not columns:
            raise ValueError("RetentionModel needs at least one feature column")
        self.history_ = None
        if self.history and HISTORY_KEY in X.columns:
            students = X["student_id"] if "student_id" in X.columns else np.arange(len(X))
            self.history_ = HistoricalRates().fit(X[HISTORY_KEY], y, students)
            columns.append(FeatureColumn(HISTORY_COLUMN, "numeric", 1))
        self.feature_columns_ = columns
        self.categories_ = {
            c.name: sorted(str(v) for v in X[c.name].dropna().unique())
            for c in columns
            if c.kind == "categorical"
        }
        return columns

    def _booster_params(self) -> dict[str, Any]:
        return booster.booster_params(self.params, self.random_state, self.feature_columns_)

    def _reset_fitted_extras(self) -> None:
        # The linear base (optional): a sign-constrained logistic regression whose log-odds are
        # the booster's starting score, so the trees only add what a linear model misses.
        self.linear_ = None
        # Each cross-fitting fold's kept iterations, when training chose the trees so.
        self.fold_trees_ = []
        # Each model form's cross-fitted mean weekly ROC-AUC, when training chose the form so.
        self.form_window_auc_ = {}
        # The drift reference: none for a model fitted only for its raw scores.
        self.reference_stats_ = {}
        self.reference_stats_by_week_ = None
        self.reference_stats_by_program_week_ = None

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
            methods = [m for m in AUTO_CANDIDATES if week is not None or m not in WEEK_AWARE]
        else:
            if self.calibration in WEEK_AWARE and week is None:
                raise ValueError(f"{self.calibration} calibration needs {CHECKPOINT_WEEK}")
            methods = [self.calibration]
        self.calibration_ece_ = {
            method: cross_validated_ece(scores, labels, week, folds, method) for method in methods
        }
        # Isotonic maps are the more flexible (and can reach 0 or 1), so they must earn their place.
        method = min(
            self.calibration_ece_,
            key=lambda m: self.calibration_ece_[m] * (ISOTONIC_MARGIN if "isotonic" in m else 1.0),
        )
        self.calibration_method_ = method
        self.calibrator_ = CALIBRATORS[method]().fit(scores, labels, week)
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
    def input_kinds(self) -> dict[str, str]:
        """The columns a caller gives the model, with their kinds: the feature columns, except
        that the program's history rate is looked up from the ``program`` column."""
        kinds = self.feature_kinds
        if getattr(self, "history_", None) is not None and HISTORY_COLUMN in kinds:
            del kinds[HISTORY_COLUMN]
            kinds.setdefault(HISTORY_KEY, "categorical")
        return kinds

    def with_derived(self, features: pd.DataFrame) -> pd.DataFrame:
        """``features`` with the columns the model derives itself (its program history rate), for
        whoever needs the values the model used: the reasons' phrasing, another model's inputs."""
        history = getattr(self, "history_", None)
        if history is None or HISTORY_COLUMN in features.columns:
            return features
        return features.assign(**{HISTORY_COLUMN: history.transform(features[HISTORY_KEY])})

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

        history = getattr(self, "history_", None)
        derived = set() if history is None else {HISTORY_COLUMN}
        needed = [c.name for c in self.feature_columns_ if c.name not in derived]
        if derived and HISTORY_COLUMN not in features.columns:
            needed.append(HISTORY_KEY)
        missing = [name for name in needed if name not in features.columns]
        if missing:
            raise KeyError(f"features lack the model's columns: {', '.join(missing)}")
        data: dict[str, Any] = {}
        for column in self.feature_columns_:
            if column.name in derived and HISTORY_COLUMN not in features.columns:
                assert history is not None
                values = pd.Series(history.transform(features[HISTORY_KEY]), index=features.index)
            else:
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
            if getattr(self, "calibration_method_", None) in WEEK_AWARE:
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

    def _stats(
        self, frame: pd.DataFrame, *, edges: Mapping[str, Mapping[str, Any]]
    ) -> dict[str, dict[str, Any]]:
        return frame_stats(frame, self.feature_columns_, self.categories_, edges)
