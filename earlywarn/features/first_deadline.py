"""The first deadline: whether the first graded work was on time, and where the student stands."""

from __future__ import annotations

import numpy as np

from earlywarn.features.calendar import NEVER
from earlywarn.features.view import View, days_between


def first_deadline_features(view: View) -> dict[str, np.ndarray]:
    """Timing of the first deadline relative to the as-of instant.

    Whether the first assessment was submitted on time comes from the submissions family, the
    activity before the deadline from the activity family; both use ``view.deadline_us``.
    """
    known = view.deadline_us != NEVER
    passed = np.where(known, (view.deadline_us <= view.t).astype(np.float64), np.nan)
    until = np.where(known, days_between(view.deadline_us, view.t), np.nan)
    return {"first_deadline_passed": passed, "days_until_first_deadline": until}
