"""When the student hands in first-term work, relative to each item's deadline, to date.

Only new work counts: banked results (carried over from an earlier attempt) are left out, and
each graded item counts once, at its first submission seen as of t. A result of day d that a
platform records only by day is at the end of that day (the OULAD importer writes 23:59), so
"days early" is how long before the item's due instant the work arrived.
"""

from __future__ import annotations

import numpy as np

from earlywarn.features.view import View, days_between

#: Work handed in at least this many days before its due instant counts as "early".
EARLY_DAYS = 2.0


def first_term_submissions(view: View) -> dict[str, np.ndarray]:
    """Every first-term submission seen as of t of the view's students, with its item's due
    instant in the student's first term: keys pos, item, at, score, banked, due_us."""
    prep, t = view.prep, view.t
    rows = prep.submissions.take(view.cohorts)
    visible = rows["at"] < t
    pos = view.local[rows["student"][visible]]
    item = rows["item"][visible]
    due_day = prep.items["due_day"][item]
    has_due = ~np.isnan(due_day)
    pos, item, due_day = pos[has_due], item[has_due], due_day[has_due]
    term = view.term[pos]
    due_us = prep.zones.midnight_us(
        prep.term_start_day[term] + due_day.astype(np.int64) + 1, prep.term_program[term]
    )
    return {
        "pos": pos,
        "item": item,
        "at": rows["at"][visible][has_due],
        "score": rows["score"][visible][has_due].astype(np.float64),
        "banked": rows["banked"][visible][has_due].astype(bool),
        "due_us": due_us,
    }


def timing_features(view: View) -> dict[str, np.ndarray]:
    """Items handed in, mean days early (negative: late), share early, days since the last one."""
    n, t = view.n, view.t
    subs = first_term_submissions(view)
    new = ~subs["banked"]
    pos, item, at = subs["pos"][new], subs["item"][new], subs["at"][new]
    due_us = subs["due_us"][new]
    n_items = len(view.prep.items["course"])
    key = pos * max(n_items, 1) + item
    order = np.lexsort((at, key))
    sorted_key = key[order]
    heads = np.ones(len(key), dtype=bool)
    heads[1:] = sorted_key[1:] != sorted_key[:-1]
    first = order[heads]
    f_pos = pos[first]
    early_days = days_between(due_us[first], at[first])
    submitted = np.bincount(f_pos, minlength=n).astype(np.float64)
    early_sum = np.bincount(f_pos, weights=early_days, minlength=n)
    early_count = np.bincount(f_pos[early_days >= EARLY_DAYS], minlength=n)
    last = np.full(n, np.iinfo(np.int64).min, dtype=np.int64)
    np.maximum.at(last, pos, at)
    since = np.clip(days_between(t, np.maximum(last, view.start_us)), 0.0, None)
    with np.errstate(divide="ignore", invalid="ignore"):
        mean_early = np.where(submitted > 0, early_sum / submitted, np.nan)
        early_share = np.where(submitted > 0, early_count / submitted, np.nan)
    return {
        "items_submitted": submitted,
        "mean_days_early": mean_early,
        "early_submission_share": early_share,
        "days_since_last_submission": since,
    }
