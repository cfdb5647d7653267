"""Cross-fitted calibration rows: out-of-fold raw scores of the training cohorts.

A calibrator fitted on the held-out seasons alone learns its map from a few thousand students
(2,675 on the default synthetic institution), and its errors carry straight into every reported
risk. Cross-fitting gives it the training cohorts too without letting it see a score the booster
earned by memorising a student: the training students are dealt into folds (a student's rows stay
together, labels stratified), the same model is fitted on the other folds (early-stopped on the
held-out cohort, as the final model is) and scores the fold it never saw. Those out-of-fold scores
join the final model's scores of the held-out cohort as calibration rows. This is the
"``ensemble=False``" form of scikit-learn's ``CalibratedClassifierCV``; the test cohort is never
touched. Measured effect: docs/training.md ("Calibration").
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import numpy as np
    import pandas as pd

#: Fits a model on some training rows and their labels; returns its raw-score function.
FitScorer = Callable[["pd.DataFrame", "np.ndarray"], Callable[["pd.DataFrame"], "np.ndarray"]]


def out_of_fold_raw(
    train: pd.DataFrame,
    y: np.ndarray,
    groups: np.ndarray,
    fit_scorer: FitScorer,
    *,
    seed: int,
    on_fold: Callable[[int, int], None] | None = None,
) -> np.ndarray:
    """The raw score of every training row from a model fitted without that row's student.

    ``groups`` names each row's student; folds come from
    :func:`earlywarn.model.artifact.calibration_folds` (seeded, so reproducible). ``on_fold(k, n)``
    hears
    of fold ``k`` of ``n`` as its fit starts.
    """
    import numpy as np

    from earlywarn.model.artifact import calibration_folds

    labels = np.asarray(y, dtype=int)
    folds = calibration_folds(labels, np.asarray(groups, dtype=str), seed)
    scores = np.full(len(labels), np.nan)
    fold_ids = np.unique(folds)
    for number, fold in enumerate(fold_ids, start=1):
        if on_fold is not None:
            on_fold(number, len(fold_ids))
        inside = folds != fold
        score = fit_scorer(train[inside], labels[inside])
        scores[~inside] = score(train[~inside])
    return scores
