"""What earlier students of the same program say: each program's historical not-retained rate.

A program's base rate is the strongest single fact about a first-term student before the term
has shown anything (on OULAD the module's earlier withdrawal rate ranks week-1 students better
than every behaviour). The model learns it from its own training students: the share of each
program's training students who were not retained, shrunk toward the rate of all of them by
``SHRINK_STUDENTS`` pseudo-students, so a small program borrows from the institution and a program
the training cohorts never had gets the institution's rate.

Inside training the column is computed out of fold (:func:`out_of_fold_rates`: each student's
value comes from the students of the other folds), so no training row sees its own label; the
fitted :class:`HistoricalRates` gives the value of every later row (the test cohort, the weekly
scoring). The rate counts students, not student-weeks: a student who stays longer has more
checkpoint rows, and counting rows would tilt the rate toward those retained.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import numpy as np

#: The model column the rate is given in, and the feature it is a rate of.
HISTORY_COLUMN = "program_history_rate"
HISTORY_KEY = "program"
#: What a linear model leaves out beside the rate: the categorical program. The two are
#: collinear, so the program's indicators and the rate's coefficient trade off freely, and a
#: program new to the model (no indicator) gets whatever is left of that trade: on OULAD 2014B,
#: where module CCC is new, the logistic baseline's week-1 ROC-AUC on withdrawn was 0.578 with the
#: program and 0.620 without. The monotone linear base and the logistic baseline both use it; the
#: booster takes the program (one program against the rest, training/params.py).
COLLINEAR_WITH_RATE = frozenset({HISTORY_KEY})
#: Pseudo-students at the institution's rate added to every program (the shrinkage).
SHRINK_STUDENTS = 50.0


class HistoricalRates:
    """Each key's shrunk not-retained rate among the students it was fitted on."""

    def __init__(self, shrink: float = SHRINK_STUDENTS) -> None:
        self.shrink = shrink

    def fit(self, keys: Any, y: Any, students: Any) -> HistoricalRates:
        """Fit on one row per student-week: ``keys`` (the program), ``y`` (1 = not retained) and
        ``students`` (whose row it is; each student counts once)."""
        import pandas as pd

        rows = pd.DataFrame(
            {
                "key": _text(keys),
                "y": pd.Series(y).to_numpy(dtype=float),
                "student": _text(students),
            }
        ).drop_duplicates("student")
        overall = float(rows["y"].mean()) if len(rows) else 0.0
        counts = rows.groupby("key")["y"].agg(["sum", "count"])
        rates = (counts["sum"] + self.shrink * overall) / (counts["count"] + self.shrink)
        self.overall_ = overall
        self.rates_ = {str(k): float(v) for k, v in rates.items()}
        self.students_ = {str(k): int(v) for k, v in counts["count"].items()}
        return self

    def transform(self, keys: Any) -> np.ndarray:
        """The rate of each row's key (the overall rate for a key never seen, or missing)."""
        import numpy as np
        import pandas as pd

        mapped = pd.Series(_text(keys)).map(self.rates_)
        return np.asarray(mapped.fillna(self.overall_).to_numpy(dtype=float), dtype=float)


def out_of_fold_rates(keys: Any, y: Any, students: Any, folds: Sequence[int] | Any) -> np.ndarray:
    """Each row's rate from the students of the other folds (``folds``: one fold number per row,
    a student's rows in one fold)."""
    import numpy as np

    fold = np.asarray(folds)
    key_text, labels, ids = _text(keys), np.asarray(y, dtype=float), _text(students)
    out = np.full(len(fold), np.nan)
    for number in np.unique(fold):
        inside = fold == number
        rates = HistoricalRates().fit(key_text[~inside], labels[~inside], ids[~inside])
        out[inside] = rates.transform(key_text[inside])
    return out


def _text(values: Any) -> np.ndarray:
    """Values as strings, missing as ``None`` (so a missing key matches no program)."""
    import numpy as np
    import pandas as pd

    # Each distinct value is converted once: the rows are student-weeks, the values a handful.
    codes, uniques = pd.factorize(pd.Series(values).astype(object), use_na_sentinel=True)
    names = np.array([*(str(v) for v in uniques), None], dtype=object)
    result: np.ndarray = names[codes]  # the sentinel -1 picks the trailing None
    return result
