"""The monotone linear base: a logistic regression whose coefficients keep each feature's
monotone direction."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from earlywarn.model.columns import FeatureColumn

if TYPE_CHECKING:
    import numpy as np
    import pandas as pd


#: Standardised values of the linear base are clipped to this many standard deviations.
STANDARD_LIMIT = 8.0


class MonotoneLinear:
    """A logistic regression on the model's features whose coefficients keep each feature's
    declared direction on risk: the linear base the booster adds its trees to.

    Numbers are imputed with the training median and standardised; a categorical feature is one
    indicator per known category (missing: none), except those named in ``without``, which add
    nothing (the program beside its historical rate: earlywarn.model.history.COLLINEAR_WITH_RATE).
    A coefficient of a feature with
    ``monotone_risk`` +1 is bounded at >= 0, -1 at <= 0; the others are free. L2-penalised
    (``l2`` on the standardised scale), fitted by L-BFGS-B, so deterministic. A feature's
    contribution to the logit is its coefficient(s) times its standardised value, so the
    contributions of a row sum with :attr:`intercept_` to :meth:`logit`.
    """

    def __init__(self, l2: float = 1.0, without: frozenset[str] = frozenset()) -> None:
        self.l2 = l2
        self.without = without

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
                left_out = column.name in self.without
                categories = [] if left_out else list(frame[column.name].cat.categories)
                self.categories_[column.name] = categories
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
