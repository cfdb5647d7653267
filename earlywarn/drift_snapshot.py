"""What the drift check compares: this week's students as of their own term's latest checkpoint,
and each course's submissions against the other courses of the same week.

:func:`checkpoint_snapshot` re-features the scored students as training did (see
:mod:`earlywarn.drift`). :func:`course_submission_drift` catches a break too small for a
distribution to show: a course whose graded work is due but from which (almost) no student has a
submission, while the other courses' students do. Under "this course is like the others", the
number of its students with a submission is binomial with the other courses' share; the course
alarms when that count is improbably low (the false-alarm rate shared over the courses checked)
and under half the others' share.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import TYPE_CHECKING

from earlywarn.state.records import DriftRow

if TYPE_CHECKING:
    import pandas as pd

    from earlywarn.contract import Tables
    from earlywarn.features.prepared import Prepared
    from earlywarn.model import RetentionModel

#: Courses with fewer enrolled students are not checked on their own.
MIN_COURSE_STUDENTS = 5


def checkpoint_snapshot(
    prep: Prepared, as_of: pd.Timestamp, student_ids: Sequence[str], *, pass_score: float
) -> pd.DataFrame:
    """Features of ``student_ids`` (scored as of ``as_of``) as of the latest checkpoint of their
    own first term: local midnight of ``start + 7w`` days, ``w = floor(weeks since start)``,
    with ``checkpoint_week = w``. Students in week 0 of their term are left out."""
    import numpy as np
    import pandas as pd

    from earlywarn.features.assemble import cohorts_in_progress, compute
    from earlywarn.features.prepared import instant_us

    t = instant_us(as_of)
    frames = []
    for cohort in cohorts_in_progress(prep, t):
        program = np.array([prep.term_program[cohort]])
        start = int(prep.term_start_day[cohort])
        week = int((t - int(prep.term_start_us[cohort])) // (7 * 86_400_000_000)) + 1
        while week > 0:
            instant = int(prep.zones.midnight_us(np.array([start + 7 * week]), program)[0])
            if instant <= t:
                break
            week -= 1
        if week <= 0:
            continue
        frame = compute(prep, [int(cohort)], instant, pass_score, enrolled_only=True)
        frames.append(frame.assign(checkpoint_week=float(week)))
    if not frames:
        return pd.DataFrame()
    snapshot = pd.concat(frames, ignore_index=True)
    wanted = {str(s) for s in student_ids}
    return snapshot[snapshot["student_id"].astype(str).isin(wanted)].reset_index(drop=True)


def course_submission_drift(
    tables: Tables, as_of: pd.Timestamp, student_ids: Sequence[str], *, false_alarm_rate: float
) -> list[DriftRow]:
    """The least likely course of the scored students' first-term courses with graded work due,
    as one ``items_submitted`` row scoped to that course: statistic ``-log10(p)``, threshold
    ``-log10(false_alarm_rate / courses)`` (nothing when no course can be checked)."""
    import pandas as pd
    from scipy.stats import binom

    from earlywarn.timeutil import end_of_local_day

    t = pd.Timestamp(as_of)
    day = pd.Timestamp(t.tz_convert("UTC").date())
    first_term = tables.students.set_index("student_id")["first_term_id"].astype(str)
    wanted = {str(s) for s in student_ids}
    enrollments = tables.enrollments
    student = enrollments["student_id"].astype(str)
    dropped = pd.to_datetime(enrollments["dropped_on"])
    current = enrollments[
        student.isin(wanted)
        & (enrollments["term_id"].astype(str).to_numpy() == student.map(first_term).to_numpy())
        & (pd.to_datetime(enrollments["enrolled_on"]) <= day).to_numpy()
        & (dropped.isna() | (dropped > day)).to_numpy()
    ].assign(
        student=lambda f: f["student_id"].astype(str), course=lambda f: f["course_id"].astype(str)
    )
    if current.empty:
        return []
    items = tables.course_items
    graded = items[items["graded"].astype(bool) & items["due_day"].notna()]
    terms = tables.terms.set_index("term_id")
    zones = tables.programs.set_index("program_id")["timezone"].astype(str)
    pairs = current[["term_id", "course"]].drop_duplicates()
    due = pairs.merge(graded.assign(course=graded["course_id"].astype(str)), on="course")
    start = pd.to_datetime(due["term_id"].map(terms["start_date"]))
    due_date = start + pd.to_timedelta(due["due_day"].astype(float), unit="D")
    zone = due["term_id"].map(terms["program_id"]).astype(str).map(zones).fillna("UTC")
    instant = pd.Series(pd.NaT, index=due.index, dtype="datetime64[us, UTC]")
    for name in zone.unique():
        rows = zone == name
        instant[rows] = end_of_local_day(due_date[rows].reset_index(drop=True), name).to_numpy()
    courses_due = set(due.loc[(instant <= t).to_numpy(), "course"])
    current = current[current["course"].isin(courses_due)]
    if current.empty:
        return []
    course_of = graded.set_index(graded["item_id"].astype(str))["course_id"].astype(str)
    submissions = tables.submissions
    seen = submissions[submissions["submitted_at"] <= t]
    handed_in = set(
        zip(seen["student_id"].astype(str), seen["item_id"].astype(str).map(course_of), strict=True)
    )
    current = current.assign(
        submitted=[
            (s, c) in handed_in for s, c in zip(current["student"], current["course"], strict=True)
        ]
    )
    per_course = current.groupby("course")["submitted"].agg(["sum", "count"])
    per_course = per_course[per_course["count"] >= MIN_COURSE_STUDENTS]
    if len(per_course) < 2:
        return []
    total_k, total_n = per_course["sum"].sum(), per_course["count"].sum()
    limit = -math.log10(false_alarm_rate / len(per_course))
    worst: DriftRow | None = None
    for course, (k, n) in per_course.iterrows():
        others = (total_k - k) / max(total_n - n, 1)
        p_value = float(binom.cdf(int(k), int(n), float(others)))
        statistic = -math.log10(max(p_value, 1e-12))
        alarm = statistic > limit and k / n < others / 2
        row = DriftRow(
            feature="items_submitted",
            psi=statistic,
            level="warning" if alarm else "ok",
            threshold=limit,
            scope=f"course {course}: {int(k)} of {int(n)} students submitted",
        )
        if worst is None or (row.level, row.psi) > (worst.level, worst.psi):
            worst = row
    return [] if worst is None else [worst]


def weekly_drift(
    model: RetentionModel,
    prepared: Prepared,
    as_of: pd.Timestamp,
    student_ids: Sequence[str],
    *,
    pass_score: float,
    warning_threshold: float,
    false_alarm_rate: float,
) -> list[DriftRow]:
    """A scoring run's drift: the features of ``student_ids`` at their term's latest checkpoint
    against training (:func:`earlywarn.drift.scoring_drift`), and the courses' submissions
    against each other (:func:`course_submission_drift`), each sharing half the false-alarm
    rate. One row per feature, the most alarming kept, largest statistic first."""
    from earlywarn.drift import scoring_drift

    snapshot = checkpoint_snapshot(prepared, as_of, student_ids, pass_score=pass_score)
    rows = scoring_drift(
        model,
        snapshot,
        warning_threshold=warning_threshold,
        false_alarm_rate=false_alarm_rate / 2,
    )
    courses = course_submission_drift(
        prepared.tables, as_of, student_ids, false_alarm_rate=false_alarm_rate / 2
    )
    best = {row.feature: row for row in rows}
    for row in courses:
        kept = best.get(row.feature)
        if kept is None or (row.level == "warning" and kept.level != "warning"):
            best[row.feature] = row
    return sorted(best.values(), key=lambda row: (row.level != "warning", -row.psi, row.feature))
