"""What the drift check compares: this week's students as of their own term's latest checkpoint,
and each course's submissions against the other courses of the same week.

:func:`checkpoint_snapshot` re-features the scored students as training did (see
:mod:`earlywarn.scoring.drift`). :func:`course_submission_drift` catches a break too small for a
distribution to show: a course whose graded work is due but from which (almost) no student has a
submission, while the other courses' students do. Under "this course is like the others", the
number of its students with a submission is binomial with the other courses' share; the course
alarms when that count is improbably low (the false-alarm rate shared over the courses checked)
and under half the others' share.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from earlywarn.state.records import DriftRow

if TYPE_CHECKING:
    import pandas as pd

    from earlywarn.contract import Tables
    from earlywarn.features.prepared import Prepared
    from earlywarn.model.artifact import RetentionModel

Stats = Mapping[str, Mapping[str, Any]]


def bin_shares(stats: Mapping[str, Any], categories: Sequence[str] | None) -> list[float]:
    """Shares of all rows per bin, the missing bin last (present shares scaled by 1 - missing)."""
    missing = float(stats.get("missing_share", 0.0))
    present = 1.0 - missing
    proportions = stats.get("proportions", {})
    if categories is not None:
        shares = [float(proportions.get(c, 0.0)) * present for c in categories]
    else:
        shares = [float(p) * present for p in proportions]
    return [*shares, missing]


def reference_by_week(model: RetentionModel, frame: pd.DataFrame) -> dict[int, dict[str, Any]]:
    """Reference statistics of the training rows of each checkpoint week, with the model's edges.

    Meant for training: ``model.reference_stats_by_week_ = reference_by_week(model, train_rows)``.
    """
    weeks = frame["checkpoint_week"].astype(float).round().astype(int)
    return {int(week): model.profile(rows) for week, rows in frame.groupby(weeks, sort=True)}


@dataclass(frozen=True)
class MixedReference:
    """The reference a set of scored rows should match, and its effective number of rows."""

    stats: dict[str, Any]
    rows: float


def mixed_reference(cells: Mapping[Any, Stats], scored_cells: Sequence[Any]) -> MixedReference:
    """The references of the scored rows' cells (a week, or a program and week), mixed in the
    scored proportions; rows whose cell has no reference are left out."""
    counts: dict[Any, int] = {}
    for cell in scored_cells:
        if cell in cells:
            counts[cell] = counts.get(cell, 0) + 1
    total = sum(counts.values())
    if total == 0:
        return MixedReference({}, 0.0)
    first = cells[next(iter(counts))]
    mixed: dict[str, Any] = {}
    for name in first:
        categorical = first[name].get("kind") == "categorical"
        categories = (
            sorted({c for w in counts for c in cells[w][name]["proportions"]})
            if categorical
            else None
        )
        size = len(categories) if categories is not None else len(first[name]["proportions"])
        shares, missing = [0.0] * size, 0.0
        for cell, count in counts.items():
            cell_shares = bin_shares(cells[cell][name], categories)
            for i, share in enumerate(cell_shares[:-1]):
                shares[i] += count / total * share
            missing += count / total * cell_shares[-1]
        present = 1.0 - missing
        normalised = [share / present if present > 0 else 0.0 for share in shares]
        entry: dict[str, Any] = {"kind": first[name].get("kind"), "missing_share": missing}
        if categories is not None:
            entry["proportions"] = dict(zip(categories, normalised, strict=True))
        else:
            entry["edges"] = list(first[name].get("edges", []))
            entry["proportions"] = normalised
        mixed[name] = entry
    known = all(_rows(cells[c]) > 0 for c in counts)
    spread = sum(count**2 / _rows(cells[c]) for c, count in counts.items()) if known else 0.0
    return MixedReference(mixed, total**2 / spread if spread > 0 else math.inf)


def _rows(stats: Stats) -> float:
    """Rows behind a cell's statistics (0 for a model trained before rows were recorded)."""
    return float(next(iter(stats.values()), {}).get("rows", 0))


def reference_cells(
    model: RetentionModel, programs: Sequence[str], weeks: Sequence[float]
) -> tuple[dict[Any, Stats], list[Any]]:
    """The model's reference cells and the cell of each scored row: the same program's same
    week of term when training saw it, else the same week over all programs (a new program),
    the last training week standing in for weeks beyond it."""
    by_program_week: Mapping[Any, Stats] = (
        getattr(model, "reference_stats_by_program_week_", None) or {}
    )
    by_week: Mapping[int, Stats] = getattr(model, "reference_stats_by_week_", None) or {}
    last_week = max(by_week, default=0)
    cells: dict[Any, Stats] = {}
    keys: list[Any] = []
    for program, week in zip(programs, weeks, strict=True):
        key: Any = (str(program), int(week))
        if key not in by_program_week:
            key = min(int(week), last_week)
            if key not in by_week:
                keys.append(None)
                continue
            cells[key] = by_week[key]
        else:
            cells[key] = by_program_week[key]
        keys.append(key)
    return cells, keys


#: Days after an item's due instant before its submissions are counted.
SETTLED_DAYS = 7
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

    from earlywarn.core.time import as_of_us
    from earlywarn.features.assemble import cohorts_in_progress, compute

    t = as_of_us(as_of)
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

    from earlywarn.core.time import end_of_local_day

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
    # Only items due a week or more ago: late work still counts, and a course whose first item
    # fell due yesterday is not compared with courses several items further on.
    settled = due[(instant <= t - pd.Timedelta(days=SETTLED_DAYS)).to_numpy()]
    courses_due = set(zip(settled["term_id"].astype(str), settled["course"], strict=True))
    key = list(zip(current["term_id"].astype(str), current["course"], strict=True))
    current = current.assign(key=[f"{c} (term {term})" for term, c in key])
    current = current[[k in courses_due for k in key]]
    if current.empty:
        return []
    settled_items = settled.assign(item=settled["item_id"].astype(str)).drop_duplicates("item")
    course_of = settled_items.set_index("item")["course"]
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
    per_course = current.groupby("key")["submitted"].agg(["sum", "count"])
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
