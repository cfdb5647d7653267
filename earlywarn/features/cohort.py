"""The student relative to their cohort: where they stand among the peers who share their first
term and are still enrolled, as of t.

Raw scores, activity and punctuality mean different things in different courses (an easy quiz,
a course without a forum). A percentile rank within the cohort asks the same question
everywhere: is this student behind the others at this point? Each rank is the mid-rank share
(the share of peers below, plus half of those tied) among the cohort's still-enrolled students
with a value; it is computed from features as of t only, so it inherits their point-in-time
property.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from earlywarn.features.view import View, still_enrolled

#: Each cohort rank feature and the feature it ranks.
RANKED = {
    "graded_score_cohort_rank": "graded_score",
    "on_time_share_cohort_rank": "on_time_weight_share",
    "items_submitted_cohort_rank": "items_submitted",
    "days_early_cohort_rank": "mean_days_early",
    "days_active_cohort_rank": "days_active_first_term",
}


def cohort_rank(values: np.ndarray, cohort: np.ndarray, reference: np.ndarray) -> np.ndarray:
    """Mid-rank percentile (0 to 1) of each value among the ``reference`` values of its cohort.

    Missing values, and cohorts without reference values, give NaN.
    """
    out = np.full(len(values), np.nan)
    valid = ~np.isnan(values)
    pool = reference & valid
    for c in np.unique(cohort[valid]):
        peers = np.sort(values[pool & (cohort == c)])
        if len(peers) == 0:
            continue
        mine = valid & (cohort == c)
        below = np.searchsorted(peers, values[mine], side="left")
        tied_or_below = np.searchsorted(peers, values[mine], side="right")
        out[mine] = (below + 0.5 * (tied_or_below - below)) / len(peers)
    return out


def cohort_features(view: View, columns: Mapping[str, np.ndarray]) -> dict[str, np.ndarray]:
    """Cohort ranks of the features in :data:`RANKED` (computed before this family)."""
    enrolled = still_enrolled(view)
    return {
        name: cohort_rank(np.asarray(columns[source], dtype=np.float64), view.term, enrolled)
        for name, source in RANKED.items()
    }
