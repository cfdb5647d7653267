"""Forum participation in the first term and support tickets since it started, to date."""

from __future__ import annotations

import numpy as np

from earlywarn.features.catalogue import SUPPORT_TICKET_CATEGORIES
from earlywarn.features.prepared import sorted_distinct
from earlywarn.features.view import View

FORUM_FEATURES = (
    "forum_days_accessing",
    "forum_days_posting",
    "forum_threads_started",
    "forum_replies",
)
SUPPORT_FEATURES = ("support_tickets", *(f"support_tickets_{c}" for c in SUPPORT_TICKET_CATEGORIES))


def _distinct_days(pos: np.ndarray, day: np.ndarray, n: int) -> np.ndarray:
    """Distinct (student, day) pairs per student."""
    if len(pos) == 0:
        return np.zeros(n)
    d0 = int(day.min())
    span = int(day.max()) - d0 + 1
    cells = sorted_distinct(pos * span + (day - d0))
    return np.bincount(cells // span, minlength=n).astype(np.float64)


def forum_features(view: View) -> dict[str, np.ndarray]:
    """Days accessing and posting, threads and replies; missing without a forum table."""
    prep, n = view.prep, view.n
    if prep.forum is None:
        return {name: np.full(n, np.nan) for name in FORUM_FEATURES}
    rows = prep.forum.take(view.cohorts)
    visible = rows["at"] < view.t
    pos = view.local[rows["student"][visible]]
    day = rows["day"][visible]
    posting = rows["posting"][visible].astype(bool)
    thread = rows["thread"][visible].astype(bool)
    return {
        "forum_days_accessing": _distinct_days(pos, day, n),
        "forum_days_posting": _distinct_days(pos[posting], day[posting], n),
        "forum_threads_started": np.bincount(pos[thread], minlength=n).astype(np.float64),
        "forum_replies": np.bincount(pos[posting & ~thread], minlength=n).astype(np.float64),
    }


def support_features(view: View) -> dict[str, np.ndarray]:
    """Tickets opened from the first term's local start to t, in total and by category."""
    prep, n = view.prep, view.n
    if prep.tickets is None:
        return {name: np.full(n, np.nan) for name in SUPPORT_FEATURES}
    rows = prep.tickets.take(view.cohorts)
    pos_all = view.local[rows["student"]]
    keep = (rows["at"] < view.t) & (rows["at"] >= view.start_us[pos_all])
    pos = pos_all[keep]
    category = rows["category"][keep].astype(np.int64)
    out = {"support_tickets": np.bincount(pos, minlength=n).astype(np.float64)}
    for code, name in enumerate(SUPPORT_TICKET_CATEGORIES):
        out[f"support_tickets_{name}"] = np.bincount(pos[category == code], minlength=n).astype(
            np.float64
        )
    return out
