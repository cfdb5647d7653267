"""Graded work of the first term, to date: on-time share, late and missing items, scores."""

from __future__ import annotations

import numpy as np

from earlywarn.features.view import View


def _graded_items_by_course(view: View) -> tuple[np.ndarray, np.ndarray]:
    """Graded items sorted by course, and per-course offsets into that order."""
    prep = view.prep
    key = "graded_items_by_course"
    if key not in prep.cache:
        items = prep.items
        graded = np.flatnonzero(items["graded"] & ~np.isnan(items["due_day"]))
        graded = graded[np.argsort(items["course"][graded], kind="stable")]
        counts = np.bincount(items["course"][graded], minlength=prep.n_courses)
        prep.cache[key] = (graded, np.concatenate([[0], np.cumsum(counts)]))
    value: tuple[np.ndarray, np.ndarray] = prep.cache[key]  # type: ignore[assignment]
    return value


def submission_features(view: View, pass_score: float) -> dict[str, np.ndarray]:
    """Per student: first-deadline results and the state of every graded item due so far."""
    prep, n, t = view.prep, view.n, view.t
    items = prep.items
    graded, offsets = _graded_items_by_course(view)
    course = view.enr["course"]
    counts = offsets[course + 1] - offsets[course]
    pos = np.repeat(view.enr["pos"], counts)
    starts = np.repeat(offsets[course], counts)
    within = np.arange(len(pos)) - np.repeat(np.cumsum(counts) - counts, counts)
    item = graded[starts + within]
    due_day = items["due_day"][item].astype(np.int64)
    term = view.term[pos]
    due_us = prep.zones.midnight_us(
        prep.term_start_day[term] + due_day + 1, prep.term_program[term]
    )
    weight = np.nan_to_num(items["weight"][item])
    is_first = due_day == view.deadline_day[pos]

    n_items = len(items["course"])
    e_key = pos * n_items + item
    order = np.argsort(e_key, kind="stable")
    sorted_key = e_key[order]
    rows = prep.submissions.take(view.cohorts)
    visible = rows["at"] < t
    s_pos = view.local[rows["student"][visible]]
    s_key = s_pos * n_items + rows["item"][visible]
    s_at = rows["at"][visible]
    s_score = rows["score"][visible].astype(np.float64)
    found = np.searchsorted(sorted_key, s_key)
    found_c = np.minimum(found, max(len(sorted_key) - 1, 0))
    match = (
        (found < len(sorted_key)) & (sorted_key[found_c] == s_key) if len(sorted_key) else found < 0
    )
    j = order[found_c[match]]
    s_at, s_score = s_at[match], s_score[match]
    m = len(pos)
    submitted = np.bincount(j, minlength=m) > 0
    on_time_rows = s_at <= due_us[j]
    on_time = np.bincount(j[on_time_rows], minlength=m) > 0
    passed = np.bincount(j[on_time_rows & (s_score >= pass_score)], minlength=m) > 0
    best = np.full(m, np.nan)
    np.fmax.at(best, j, s_score)

    due = due_us <= t
    due_weight = np.bincount(pos[due], weights=weight[due], minlength=n)
    on_time_weight = np.bincount(pos[due & on_time], weights=weight[due & on_time], minlength=n)
    scored = ~np.isnan(best)
    scored_weight = np.bincount(pos[scored], weights=weight[scored], minlength=n)
    scored_sum = np.bincount(pos[scored], weights=weight[scored] * best[scored], minlength=n)
    # Items that weigh nothing in the grade (practice quizzes, OULAD's computer-marked tests in
    # some modules) still say how the student is doing: their plain mean is the score until an
    # item with weight is scored.
    scored_count = np.bincount(pos[scored], minlength=n)
    plain_sum = np.bincount(pos[scored], weights=best[scored], minlength=n)
    with np.errstate(divide="ignore", invalid="ignore"):
        share = np.where(due_weight > 0, on_time_weight / due_weight, np.nan)
        plain = np.where(scored_count > 0, plain_sum / scored_count, np.nan)
        score = np.where(scored_weight > 0, scored_sum / scored_weight, plain)
    first_on_time = np.bincount(pos[is_first & passed], minlength=n) > 0
    first_submitted = np.bincount(pos[is_first & submitted], minlength=n) > 0
    return {
        "first_assessment_on_time": first_on_time.astype(np.float64),
        "first_assessment_submitted": first_submitted.astype(np.float64),
        "on_time_weight_share": share,
        "late_submissions": np.bincount(pos[submitted & ~on_time], minlength=n).astype(np.float64),
        "missing_submissions": np.bincount(pos[due & ~submitted], minlength=n).astype(np.float64),
        "graded_score": score,
    }
