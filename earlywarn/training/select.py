"""Choosing between the two model forms on the held-out cohort, without chasing noise.

``LINEAR_BASE = "auto"`` fits the booster on a monotone linear base and the plain booster. The
linear base is the simpler model (most of its score is a sign-constrained logistic regression),
so the plain booster replaces it only when it ranks the held-out cohort better by more than
``SE_MARGIN`` standard errors of the difference: a paired bootstrap over held-out *students*
(a student's checkpoint weeks are drawn together, since they share one label).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import numpy as np

#: Bootstrap draws of the paired AUC difference; 200 put its standard error within about 5%.
BOOTSTRAP_DRAWS = 200
#: How many standard errors the plain booster must win by.
SE_MARGIN = 2.0


def paired_auc_difference(
    y: np.ndarray, first: np.ndarray, second: np.ndarray, groups: np.ndarray, *, seed: int
) -> tuple[float, float]:
    """ROC-AUC of ``second`` minus that of ``first`` on the same rows, and the standard error of
    that difference from a bootstrap that resamples whole groups (students) with replacement."""
    import numpy as np
    from sklearn.metrics import roc_auc_score

    labels = np.asarray(y, dtype=int)
    codes = np.unique(np.asarray(groups, dtype=str), return_inverse=True)[1]
    n_groups = int(codes.max()) + 1 if len(codes) else 0
    difference = float(roc_auc_score(labels, second) - roc_auc_score(labels, first))
    rng = np.random.default_rng(seed)
    draws = []
    for _ in range(BOOTSTRAP_DRAWS):
        # A student drawn k times weighs k; the weights carry the resample.
        weight = np.bincount(rng.integers(0, n_groups, n_groups), minlength=n_groups)[codes]
        if not 0 < labels[weight > 0].sum() < (weight > 0).sum():
            continue
        draws.append(
            roc_auc_score(labels, second, sample_weight=weight)
            - roc_auc_score(labels, first, sample_weight=weight)
        )
    spread = float(np.std(draws, ddof=1)) if len(draws) > 1 else float("inf")
    return difference, spread


def prefer_plain_booster(
    y: np.ndarray, linear: np.ndarray, plain: np.ndarray, groups: np.ndarray, *, seed: int
) -> tuple[bool, float, float]:
    """Whether the plain booster's raw score ranks the held-out rows better than the linear-base
    model's by more than ``SE_MARGIN`` standard errors; also the difference and its error."""
    difference, error = paired_auc_difference(y, linear, plain, groups, seed=seed)
    return difference > SE_MARGIN * error, difference, error
