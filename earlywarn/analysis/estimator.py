"""One driver's effect on retention, controlled by post-double-selection (double lasso).

Belloni, Chernozhukov and Hansen (2014): pick controls with two lassos, one of the outcome on the
candidate controls and one of the driver on them, then fit an ordinary least squares model of the
outcome on the driver plus the union of what either lasso kept. Program fixed effects are always in
the model: they are partialled out (within-program demeaning) before the lassos, so no penalty can
drop them, and they enter the final model as one dummy per program.

The final model is a linear probability model, as the report assumes linear additive effects, so
the effect of moving the driver from its 25th to its 75th percentile (0 to 1 for a yes/no driver),
every control kept at its actual value, is ``coef * (p75 - p25)`` in probability and a hundred times
that in percentage points. Its 95% interval is computed at the level where the driver varies
(:mod:`earlywarn.analysis.inference`): heteroskedasticity-robust (HC1) for a driver that varies
between students, clustered for one that varies between courses (CR1 with t on G-1 degrees of
freedom from 30 clusters, the wild cluster bootstrap with Webb weights below).
"""

from __future__ import annotations

import warnings
from typing import TYPE_CHECKING, Any, Literal, Self

from earlywarn.core.errors import DriverNotMeasurable

if TYPE_CHECKING:
    import numpy as np
    import pandas as pd

# Controls whose (within-program) correlation with the driver is at least this are aliases of it.
ALIAS_CORRELATION = 0.9999
# The driver counts as fully explained by its controls when less than this share of its
# within-program variance is left after regressing it on them.
MIN_RESIDUAL_VARIANCE_SHARE = 1e-8


def _within(values: np.ndarray, codes: np.ndarray, n_groups: int) -> np.ndarray:
    """Subtract each group's mean from every column: partials out the group fixed effects."""
    import numpy as np

    counts = np.bincount(codes, minlength=n_groups).astype(float)
    if values.ndim == 1:
        sums = np.bincount(codes, weights=values, minlength=n_groups)
        return values - (sums / counts)[codes]
    out = np.empty_like(values, dtype=float)
    for j in range(values.shape[1]):
        sums = np.bincount(codes, weights=values[:, j], minlength=n_groups)
        out[:, j] = values[:, j] - (sums / counts)[codes]
    return out


def plugin_lasso_support(
    x: np.ndarray, y: np.ndarray, *, c: float = 1.1, max_iterations: int = 15, tol: float = 1e-5
) -> np.ndarray:
    """Columns of ``x`` kept by the lasso with the heteroskedasticity-robust plug-in penalty.

    The rule of Belloni, Chen, Chernozhukov and Hansen (2012), as in R's ``hdm::rlasso``:
    lambda = 2c sqrt(n) Phi^-1(1 - gamma / 2p) with gamma = 0.1 / log n, and a penalty loading per
    column, sqrt(mean(x_j^2 e^2)), refined from post-lasso residuals. ``x`` and ``y`` must be
    centred (the fixed effects already partialled out).
    """
    import numpy as np
    from scipy.stats import norm
    from sklearn.exceptions import ConvergenceWarning
    from sklearn.linear_model import Lasso

    n, p = x.shape
    if p == 0:
        return np.zeros(0, dtype=bool)
    gamma = 0.1 / np.log(n)
    lam = 2 * c * np.sqrt(n) * norm.ppf(1 - gamma / (2 * p))
    alpha = lam / (2 * n)  # sklearn's objective is hdm's divided by two
    x_sq = x**2
    # The Gram matrix of x, once: each iteration only rescales its columns, so its Gram is this
    # one rescaled (recomputing it every iteration was most of the cost of an analysis).
    gram = x.T @ x
    residual = y - y.mean()
    loadings = np.sqrt(x_sq.T @ residual**2 / n)
    support = np.zeros(p, dtype=bool)
    for _ in range(max_iterations):
        safe = np.where(loadings > 0, loadings, 1.0)
        scaled_gram = gram / np.outer(safe, safe)
        lasso = Lasso(
            alpha=alpha, fit_intercept=False, precompute=scaled_gram, max_iter=100_000, tol=1e-6
        )
        with warnings.catch_warnings():
            # Near-perfect fits (a design driver that other design variables almost determine)
            # shrink the loadings and the penalty until coordinate descent stalls; only the
            # support is used here, and it is settled long before the last digits of the fit.
            warnings.simplefilter("ignore", ConvergenceWarning)
            lasso.fit(x / safe, y)
        support = lasso.coef_ != 0
        if support.any():
            beta, *_ = np.linalg.lstsq(x[:, support], y, rcond=None)
            residual = y - x[:, support] @ beta
        else:
            residual = y - y.mean()
        new_loadings = np.sqrt(x_sq.T @ residual**2 / n)
        if np.max(np.abs(new_loadings - loadings)) < tol:
            break
        loadings = new_loadings
    return support


def cv_lasso_support(x: np.ndarray, y: np.ndarray, *, folds: int, random_state: int | None) -> Any:
    """Columns of ``x`` kept by the lasso whose penalty minimises the cross-validated error."""
    from sklearn.exceptions import ConvergenceWarning
    from sklearn.linear_model import LassoCV
    from sklearn.model_selection import KFold

    if x.shape[1] == 0:
        import numpy as np

        return np.zeros(0, dtype=bool)
    splitter = KFold(n_splits=folds, shuffle=True, random_state=random_state)
    model = LassoCV(cv=splitter, fit_intercept=False, max_iter=10_000)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)  # as in plugin_lasso_support
        model.fit(x, y)
    return model.coef_ != 0


class DoubleLassoEffect:
    """The controlled effect of one driver on a 0/1 outcome, in percentage points.

    ``fit(X, y, groups, clusters=None)``: ``X`` holds the driver column (``driver``) and every
    candidate control as numeric columns without missing values; ``y`` is the 0/1 outcome;
    ``groups`` is each row's program (fixed effects, always kept); ``clusters`` is each row's
    cluster for a driver that varies between clusters, or None for one that varies between rows.

    Hyperparameters follow scikit-learn's contract (no logic in ``__init__``); learned values end
    in ``_``: ``effect_pp_``, ``ci_low_pp_``, ``ci_high_pp_``, ``p25_``, ``p75_``, ``coef_``,
    ``se_``, ``p_value_``, ``n_``, ``n_programs_``, ``n_clusters_`` (rows for HC1),
    ``interval_method_``, ``controls_`` (the union of both lassos'
    picks in ``X``'s column order, less the ``collinear_`` ones that add nothing),
    ``outcome_controls_``, ``driver_controls_``, ``aliases_``
    (candidates dropped as exact aliases of the driver) and ``model_`` (statsmodels results).
    """

    def __init__(
        self,
        driver: str,
        *,
        binary: bool = False,
        penalty: Literal["plugin", "cv"] = "plugin",
        cv_folds: int = 5,
        confidence: float = 0.95,
        min_clusters: int = 30,
        bootstrap_draws: int = 1999,
        random_state: int | None = 0,
    ) -> None:
        self.driver = driver
        self.binary = binary
        self.penalty = penalty
        self.cv_folds = cv_folds
        self.confidence = confidence
        self.min_clusters = min_clusters
        self.bootstrap_draws = bootstrap_draws
        self.random_state = random_state

    def get_params(self, deep: bool = True) -> dict[str, Any]:
        return {
            "driver": self.driver,
            "binary": self.binary,
            "penalty": self.penalty,
            "cv_folds": self.cv_folds,
            "confidence": self.confidence,
            "min_clusters": self.min_clusters,
            "bootstrap_draws": self.bootstrap_draws,
            "random_state": self.random_state,
        }

    def set_params(self, **params: Any) -> Self:
        for key, value in params.items():
            if key not in self.get_params():
                raise ValueError(f"unknown parameter {key!r}")
            setattr(self, key, value)
        return self

    def _support(self, x: np.ndarray, target: np.ndarray) -> np.ndarray:
        if self.penalty == "plugin":
            return plugin_lasso_support(x, target)
        if self.penalty == "cv":
            return cv_lasso_support(x, target, folds=self.cv_folds, random_state=self.random_state)
        raise ValueError(f"penalty must be 'plugin' or 'cv', not {self.penalty!r}")

    def fit(self, X: pd.DataFrame, y: Any, groups: Any, clusters: Any = None) -> Self:
        import numpy as np
        import pandas as pd

        from earlywarn.analysis.inference import coefficient_inference

        if self.driver not in X.columns:
            raise KeyError(f"driver column {self.driver!r} is not in X")
        outcome = np.asarray(y, dtype=float)
        driver = X[self.driver].to_numpy(dtype=float)
        candidates = [c for c in X.columns if c != self.driver]
        controls = X[candidates].to_numpy(dtype=float)
        if not (np.isfinite(driver).all() and np.isfinite(controls).all()):
            raise ValueError("X has missing or infinite values; impute them before fitting")
        if not np.isfinite(outcome).all():
            raise ValueError("y has missing values")
        codes, programs = pd.factorize(pd.Series(np.asarray(groups)), sort=True)
        n, n_groups = len(outcome), len(programs)
        if n < 10 or n <= n_groups + 2:
            raise DriverNotMeasurable(
                f"{self.driver}: only {n} students with a value and a known outcome, "
                f"too few for {n_groups} program(s)"
            )

        self.p25_, self.p75_ = (0.0, 1.0) if self.binary else _quartiles(driver)
        driver_w = _within(driver, codes, n_groups)
        driver_ss = float(driver_w @ driver_w)
        if driver_ss <= 1e-12 * max(1.0, float(driver @ driver)):
            raise DriverNotMeasurable(f"{self.driver}: no variation within programs")
        outcome_w = _within(outcome, codes, n_groups)
        controls_w = _within(controls, codes, n_groups) if candidates else controls

        # Candidates with no within-program variation are absorbed by the fixed effects; exact
        # aliases of the driver would leave it nothing to explain.
        spread = controls_w.std(axis=0) if candidates else np.zeros(0)
        usable = spread > 1e-12
        corr = np.zeros(len(candidates))
        if usable.any():
            corr[usable] = (controls_w[:, usable].T @ driver_w) / (
                np.sqrt(driver_ss) * spread[usable] * np.sqrt(n)
            )
        alias = np.abs(corr) >= ALIAS_CORRELATION
        self.aliases_ = [candidates[j] for j in np.flatnonzero(alias)]
        usable &= ~alias
        scaled = controls_w[:, usable] / spread[usable]
        names = [candidates[j] for j in np.flatnonzero(usable)]
        by_outcome = self._support(scaled, outcome_w)
        by_driver = self._support(scaled, driver_w / driver_w.std())
        self.outcome_controls_ = [names[j] for j in np.flatnonzero(by_outcome)]
        self.driver_controls_ = [names[j] for j in np.flatnonzero(by_driver)]
        chosen = set(self.outcome_controls_) | set(self.driver_controls_)
        self.controls_ = [name for name in candidates if name in chosen]

        # Controls that are exact linear combinations of other kept controls (within programs)
        # add nothing and make the model singular: keep a maximal independent subset.
        self.collinear_ = []
        if self.controls_:
            kept_w = _within(X[self.controls_].to_numpy(dtype=float), codes, n_groups)
            independent = _independent_columns(kept_w)
            self.collinear_ = [
                c for c, ok in zip(self.controls_, independent, strict=True) if not ok
            ]
            self.controls_ = [c for c, ok in zip(self.controls_, independent, strict=True) if ok]
            kept_w = kept_w[:, independent]
            # Zero-sum controls (shares of one whole) can leave the driver fully explained.
            beta, *_ = np.linalg.lstsq(kept_w, driver_w, rcond=None)
            left = driver_w - kept_w @ beta
            if float(left @ left) < MIN_RESIDUAL_VARIANCE_SHARE * driver_ss:
                shown = ", ".join(self.controls_[:5])
                more = f" and {len(self.controls_) - 5} more" if len(self.controls_) > 5 else ""
                raise DriverNotMeasurable(
                    f"{self.driver}: fully determined by its controls ({shown}{more})"
                )
        kept = X[self.controls_].to_numpy(dtype=float)

        dummies = np.zeros((n, n_groups))
        dummies[np.arange(n), codes] = 1.0
        exog = np.column_stack([driver, kept, dummies])
        result, inference = coefficient_inference(
            exog,
            outcome,
            None if clusters is None else np.asarray(clusters),
            confidence=self.confidence,
            min_clusters=self.min_clusters,
            bootstrap_draws=self.bootstrap_draws,
            random_state=self.random_state,
        )
        self.model_ = result
        self.coef_ = float(result.params[0])
        self.se_ = inference.se
        self.p_value_ = inference.p_value
        self.n_ = n
        self.n_programs_ = n_groups
        self.n_clusters_ = inference.clusters
        self.interval_method_ = inference.method
        self.program_effects_ = dict(
            zip((str(p) for p in programs), result.params[1 + len(self.controls_) :], strict=True)
        )
        spread_pp = (self.p75_ - self.p25_) * 100
        self.effect_pp_ = self.coef_ * spread_pp
        ends = sorted((inference.low * spread_pp, inference.high * spread_pp))
        self.ci_low_pp_, self.ci_high_pp_ = ends
        return self

    def predict(self, X: pd.DataFrame, groups: Any) -> np.ndarray:
        """Predicted retention probability of each row (linear, so it may leave [0, 1])."""
        import numpy as np

        beta = self.model_.params
        value = beta[0] * X[self.driver].to_numpy(dtype=float)
        if self.controls_:
            value = (
                value + X[self.controls_].to_numpy(dtype=float) @ beta[1 : 1 + len(self.controls_)]
            )
        offsets = np.array([self.program_effects_[str(g)] for g in np.asarray(groups)])
        result: np.ndarray = value + offsets
        return result


def _independent_columns(matrix: np.ndarray, tol: float = 1e-9) -> np.ndarray:
    """Which columns form a maximal linearly independent set (pivoted QR on scaled columns)."""
    import numpy as np
    from scipy.linalg import qr

    scale = np.sqrt((matrix**2).sum(axis=0))
    keep = np.zeros(matrix.shape[1], dtype=bool)
    usable = scale > 0
    if not usable.any():
        return keep
    _, r, pivot = qr(matrix[:, usable] / scale[usable], mode="economic", pivoting=True)
    diagonal = np.abs(np.diag(r))
    rank = int((diagonal > tol * diagonal[0]).sum())
    keep[np.flatnonzero(usable)[pivot[:rank]]] = True
    return keep


def _quartiles(values: np.ndarray) -> tuple[float, float]:
    import numpy as np

    p25, p75 = np.percentile(values, [25, 75])
    return float(p25), float(p75)
