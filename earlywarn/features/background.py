"""What the student brings to the first term: earlier attempts, credit load, how early they
enrolled.

``prior_attempts`` and ``first_term_credits`` come from the optional student columns of the same
names (docs/contract.md, earlywarn extensions) and are missing where the institution does not
provide them. The enrollment lead time uses only enrollments seen as of t.
"""

from __future__ import annotations

import numpy as np

from earlywarn.features.calendar import NO_DAY
from earlywarn.features.view import View


def background_features(view: View) -> dict[str, np.ndarray]:
    """Prior attempts, first-term credits, and days from the first enrollment to the start."""
    prep, n = view.prep, view.n
    students = prep.tables.students
    enr = view.enr
    enrolled_day = enr["enrolled_day"]
    known = enrolled_day != NO_DAY
    first = np.full(n, np.iinfo(np.int64).max, dtype=np.int64)
    np.minimum.at(first, enr["pos"][known], enrolled_day[known])
    start_day = prep.term_start_day[view.term]
    lead = np.where(first == np.iinfo(np.int64).max, np.nan, (start_day - first).astype(np.float64))
    return {
        "prior_attempts": students["prior_attempts"].to_numpy(np.float64)[view.students],
        "first_term_credits": students["first_term_credits"].to_numpy(np.float64)[view.students],
        "days_enrolled_before_start": lead,
    }
