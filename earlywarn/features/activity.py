"""Learning activity in the first term, to date: days active, hours, recency and trend."""

from __future__ import annotations

import numpy as np

from earlywarn.features.prepared import Prepared
from earlywarn.features.view import View, days_between, local_day_of_instant

ACTIVITY_FEATURES = (
    "days_active_first_term",
    "learning_hours_first_term",
    "hours_per_active_day",
    "days_since_last_activity",
    "active_days_last_14",
    "active_day_rate_change",
    "days_active_before_first_deadline",
    "learning_hours_before_first_deadline",
)


def active_day_cells(prep: Prepared, cohort: int) -> dict[str, np.ndarray]:
    """Each (student, local day) of a cohort's first-term activity, with its first instant.

    A day counts as active as of t when its first row started before t, so these cells, built
    once per cohort, answer "days active as of t" for every checkpoint with one comparison.
    """
    key = ("active_day_cells", cohort)
    if key not in prep.cache:
        assert prep.activity is not None
        rows = prep.activity.take(np.array([cohort]))
        student, day, at = rows["student"], rows["day"], rows["at"]
        if len(day) == 0:
            cells = {"student": student, "day": day, "first_at": at}
        else:
            d0 = int(day.min())
            span = int(day.max()) - d0 + 1
            keys = student * span + (day - d0)
            order = np.argsort(keys, kind="stable")
            sorted_keys = keys[order]
            starts = np.flatnonzero(np.concatenate([[True], sorted_keys[1:] != sorted_keys[:-1]]))
            cells = {
                "student": sorted_keys[starts] // span,
                "day": sorted_keys[starts] % span + d0,
                "first_at": np.minimum.reduceat(at[order], starts),
            }
        prep.cache[key] = cells
    value: dict[str, np.ndarray] = prep.cache[key]  # type: ignore[assignment]
    return value


def _hours(pos: np.ndarray, minutes: np.ndarray, n: int) -> np.ndarray:
    """Sum of minutes / 60 per student: 0 without rows, missing when no row records minutes."""
    recorded = ~np.isnan(minutes)
    hours = np.bincount(pos[recorded], weights=minutes[recorded], minlength=n) / 60.0
    rows = np.bincount(pos, minlength=n)
    with_minutes = np.bincount(pos[recorded], minlength=n)
    hours[(rows > 0) & (with_minutes == 0)] = np.nan
    return hours


def activity_features(view: View) -> dict[str, np.ndarray]:
    """Activity features of every student in the view; all missing without an activity table."""
    prep, n, t = view.prep, view.n, view.t
    if prep.activity is None:
        return {name: np.full(n, np.nan) for name in ACTIVITY_FEATURES}
    empty = np.zeros(0, dtype=np.int64)
    parts = [active_day_cells(prep, int(c)) for c in view.cohorts]
    cell_student = np.concatenate([empty, *(p["student"] for p in parts)])
    cell_day = np.concatenate([empty, *(p["day"] for p in parts)])
    cell_first = np.concatenate([empty, *(p["first_at"] for p in parts)])
    seen = cell_first < t
    c_pos = view.local[cell_student[seen]]
    c_day = cell_day[seen]
    c_first = cell_first[seen]
    days_active = np.bincount(c_pos, minlength=n).astype(np.float64)
    before_deadline = c_first < view.deadline_us[c_pos]
    days_before = np.bincount(c_pos[before_deadline], minlength=n).astype(np.float64)

    today = local_day_of_instant(view)
    recent_from = today - 14
    recent = c_day >= recent_from[c_pos]
    active_recent = np.bincount(c_pos[recent], minlength=n).astype(np.float64)
    start_day = prep.term_start_day[view.term]
    earlier_days = (recent_from - start_day).astype(np.float64)
    earlier_active = np.bincount(c_pos[~recent & (c_day >= start_day[c_pos])], minlength=n)
    with np.errstate(divide="ignore", invalid="ignore"):
        rate_change = np.where(
            earlier_days > 0, active_recent / 14.0 - earlier_active / earlier_days, np.nan
        )

    rows = prep.activity.take(view.cohorts)
    visible = rows["at"] < t
    r_pos = view.local[rows["student"][visible]]
    r_at = rows["at"][visible]
    r_minutes = rows["minutes"][visible].astype(np.float64)
    hours = _hours(r_pos, r_minutes, n)
    early = r_at < view.deadline_us[r_pos]
    hours_before = _hours(r_pos[early], r_minutes[early], n)
    last = np.full(n, np.iinfo(np.int64).min, dtype=np.int64)
    np.maximum.at(last, r_pos, r_at)
    since = np.clip(days_between(t, np.maximum(last, view.start_us)), 0.0, None)

    no_deadline = np.isnan(view.deadline_day)
    days_before[no_deadline] = np.nan
    hours_before[no_deadline] = np.nan
    with np.errstate(divide="ignore", invalid="ignore"):
        per_day = np.where(days_active > 0, hours / days_active, np.nan)
    return {
        "days_active_first_term": days_active,
        "learning_hours_first_term": hours,
        "hours_per_active_day": per_day,
        "days_since_last_activity": since,
        "active_days_last_14": active_recent,
        "active_day_rate_change": rate_change,
        "days_active_before_first_deadline": days_before,
        "learning_hours_before_first_deadline": hours_before,
    }
