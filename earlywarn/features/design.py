"""Course design of the first-term courses: assessment mix, pacing, centroids, item weights.

Each course's outline gives one row of numbers (:func:`course_design_table`); a student's value
is the mean over their first-term courses (dropped ones included) of the courses where it is
defined. ``course_median_days_active`` also depends on t: only terms that ended before t count.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from earlywarn.features.prepared import Prepared
from earlywarn.features.view import View

HANDS_ON = ("programming", "staff_graded", "peer_graded", "discussion_prompt", "team")
GRADED_TYPES = {
    "quiz": "quiz",
    "staff_graded": "staff_graded",
    "peer_graded": "peer_graded",
    "programming": "programming",
}
GRADE_SHARE_NAMES = {
    "quiz": "quiz_grade_share",
    "staff_graded": "staff_grade_share",
    "peer_graded": "peer_grade_share",
    "programming": "programming_grade_share",
}


def _weekly(
    course: np.ndarray, week: np.ndarray, values: np.ndarray, n_courses: int, weeks: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Per course: mean and coefficient of variation (population std / mean) over its weeks."""
    width = int(weeks.max()) + 1 if len(weeks) else 1
    grid = np.bincount(course * width + week, weights=values, minlength=n_courses * width)
    grid = grid.reshape(n_courses, width)[:, 1:]
    inside = np.arange(1, width)[None, :] <= weeks[:, None]
    total = grid.sum(axis=1)
    with np.errstate(divide="ignore", invalid="ignore"):
        mean = total / weeks
        var = (((grid - mean[:, None]) ** 2) * inside).sum(axis=1) / weeks
        cv = np.where(mean > 0, np.sqrt(var) / mean, np.nan)
    return mean, cv


def course_design_table(prep: Prepared) -> pd.DataFrame:
    """One row per course (in course order) of its design features; NaN where undefined."""
    key = "course_design"
    if key in prep.cache:
        cached: pd.DataFrame = prep.cache[key]
        return cached
    items = prep.tables.course_items
    n = prep.n_courses
    course = items["course_id"].cat.codes.to_numpy(np.int64)
    week = items["week"].to_numpy(np.int64)
    kind = items["item_type"].to_numpy(dtype=object)
    graded = items["graded"].to_numpy(bool)
    weight = np.where(graded, np.nan_to_num(items["grade_weight"].to_numpy(np.float64)), 0.0)
    minutes = np.nan_to_num(items["video_minutes"].to_numpy(np.float64))
    weeks = prep.tables.courses["weeks"].to_numpy(np.float64)

    def per_course(mask: np.ndarray, values: np.ndarray | None = None) -> np.ndarray:
        return np.bincount(
            course[mask], weights=None if values is None else values[mask], minlength=n
        ).astype(np.float64)

    everything = np.ones(len(course), dtype=bool)
    n_graded = per_course(graded)
    n_ungraded = per_course(~graded)
    out: dict[str, np.ndarray] = {}
    with np.errstate(divide="ignore", invalid="ignore"):
        for item_type, name in (
            ("staff_graded", "has_staff_graded"),
            ("peer_graded", "has_peer_graded"),
            ("programming", "has_programming"),
        ):
            out[name] = (per_course(graded & (kind == item_type)) > 0).astype(np.float64)
        out["has_hands_on"] = (per_course(graded & np.isin(kind, HANDS_ON)) > 0).astype(np.float64)
        for item_type, prefix in GRADED_TYPES.items():
            of_type = graded & (kind == item_type)
            out[f"{prefix}_item_share"] = np.where(
                n_graded > 0, per_course(of_type) / n_graded, np.nan
            )
        for item_type, name in GRADE_SHARE_NAMES.items():
            out[name] = per_course(graded & (kind == item_type), weight)
        for item_type in ("practice", "video", "reading"):
            out[f"{item_type}_share"] = np.where(
                n_ungraded > 0, per_course(~graded & (kind == item_type)) / n_ungraded, np.nan
            )
        weekly_inputs = {
            "videos": (kind == "video").astype(np.float64),
            "readings": (kind == "reading").astype(np.float64),
            "practice": (~graded & (kind == "practice")).astype(np.float64),
            "graded": graded.astype(np.float64),
            "video_minutes": minutes,
            "grade_weight": weight,
        }
        for name, values in weekly_inputs.items():
            mean, cv = _weekly(course, week, values, n, weeks)
            out[f"weekly_{name}_mean"] = mean
            out[f"weekly_{name}_cv"] = cv
        out["graded_weight_centroid"] = per_course(everything, weight * week) / weeks
        total_minutes = per_course(everything, minutes)
        out["video_minutes_centroid"] = np.where(
            total_minutes > 0,
            per_course(everything, minutes * week) / total_minutes / weeks,
            np.nan,
        )
        largest = np.full(n, -np.inf)
        np.maximum.at(largest, course[graded], weight[graded])
        out["max_item_weight"] = np.where(np.isinf(largest), np.nan, largest)
        for name, mask in (
            ("small_item_share", weight < 0.05),
            ("medium_item_share", (weight >= 0.05) & (weight <= 0.15)),
            ("large_item_share", weight > 0.15),
        ):
            out[name] = np.where(n_graded > 0, per_course(graded & mask) / n_graded, np.nan)
        out["first_week_video_minutes"] = per_course(week == 1, minutes)
        out["course_weeks"] = weeks
    table = pd.DataFrame(out)
    prep.cache[key] = table
    return table


def course_median_days_active(prep: Prepared, t: int) -> np.ndarray:
    """Per course: the median days active of its enrollments in terms that ended before t."""
    n = prep.n_courses
    history = prep.history
    if history is None:
        return np.full(n, np.nan)
    e = prep.enrollments
    ended = (prep.term_end_us[e["term"]] < t) & (e["seen_us"] <= t)
    late = history.late_at < t
    key = ("course_median_days_active", int(ended.sum()), int(late.sum()))
    if key in prep.cache:
        cached: np.ndarray = prep.cache[key]  # type: ignore[assignment]
        return cached
    days = history.full_before_end.copy()
    if late.any():
        cells = np.unique(
            np.stack([history.late_enrollment[late], history.late_day[late]], axis=1), axis=0
        )
        days += np.bincount(cells[:, 0], minlength=len(days))
    course = e["course"][ended]
    values = days[ended]
    medians = np.full(n, np.nan)
    if len(values):
        order = np.lexsort((values, course))
        course, values = course[order], values[order]
        counts = np.bincount(course, minlength=n)
        starts = np.concatenate([[0], np.cumsum(counts)])[:-1]
        has = counts > 0
        low = values[starts[has] + (counts[has] - 1) // 2]
        high = values[starts[has] + counts[has] // 2]
        medians[has] = (low + high) / 2.0
    prep.cache[key] = medians
    return medians


def design_features(view: View) -> dict[str, np.ndarray]:
    """Mean over each student's first-term courses of every course design feature."""
    prep, n = view.prep, view.n
    table = course_design_table(prep)
    names = [*table.columns, "course_median_days_active"]
    matrix = np.column_stack([prep_matrix(prep, table), course_median_days_active(prep, view.t)])[
        view.enr["course"]
    ]
    pos = view.enr["pos"]
    defined = ~np.isnan(matrix)
    out: dict[str, np.ndarray] = {}
    with np.errstate(divide="ignore", invalid="ignore"):
        for k, name in enumerate(names):
            mask = defined[:, k]
            total = np.bincount(pos[mask], weights=matrix[mask, k], minlength=n)
            count = np.bincount(pos[mask], minlength=n)
            out[name] = np.where(count > 0, total / count, np.nan)
    return out


def prep_matrix(prep: Prepared, table: pd.DataFrame) -> np.ndarray:
    """The course design table as a float matrix (courses x features), built once."""
    key = "course_design_matrix"
    if key not in prep.cache:
        prep.cache[key] = table.to_numpy(np.float64)
    value: np.ndarray = prep.cache[key]  # type: ignore[assignment]
    return value
