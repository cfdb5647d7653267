"""The fairness report's per-group ROC-AUC is scikit-learn's, ties included."""

from __future__ import annotations

import math

import numpy as np
from sklearn.metrics import roc_auc_score

from earlywarn.training.fairness import _auc


def test_group_auc_equals_scikit_learn_with_ties_and_is_undefined_for_one_class() -> None:
    rng = np.random.default_rng(5)
    for size in (4, 37, 400):
        y = rng.integers(0, 2, size)
        y[:2] = [0, 1]
        risk = np.round(rng.random(size), 1)  # rounded: many ties
        assert math.isclose(_auc(y, risk), roc_auc_score(y, risk), abs_tol=1e-12)
    assert math.isnan(_auc(np.ones(5, dtype=int), np.arange(5.0)))
