"""The analysis frame of the driver analysis: one row per first-term student with a known label.

Each cohort (students sharing a first term) is featurised as of the end of that first term (the
local midnight that ends its ``end_date``), so every driver sees the whole first term, final grades
included, and nothing later. Labels are first-year retention as of the latest instant in the data.

Candidate controls are the report's Tables 1 and 2 as far as our features carry them (the student,
program enrolment, open content history, support tickets, forum activity, course design, the other
drivers), plus the first term's season and cohort. Categories become one-hot columns; a missing
numeric value becomes the column's median plus a ``<name>_missing`` flag. The program is not a
candidate: the estimator keeps program fixed effects in every model.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial
from typing import TYPE_CHECKING, Any

from earlywarn.core.errors import NoAnalysisRows
from earlywarn.features.catalogue import DRIVER_GROUPS

if TYPE_CHECKING:
    import pandas as pd

    from earlywarn.contract import Tables

#: The 22 drivers in the report's display order (by family: ``DRIVER_GROUPS``).
DRIVERS_IN_REPORT_ORDER: tuple[str, ...] = tuple(
    d for group in DRIVER_GROUPS.values() for d in group
)

#: The optional table a driver cannot be measured without.
NEEDS_TABLE: dict[str, str] = {
    "completed_open_course": "open_content",
    "stackable_open_course": "open_content",
    "days_active_first_term": "activity",
    "learning_hours_first_term": "activity",
    "days_active_before_first_deadline": "activity",
    "learning_hours_before_first_deadline": "activity",
    "course_median_days_active": "activity",
}

#: Features never used as controls: timing artefacts of the as-of instant, ratios of two drivers,
#: and first-term performance to date, which sits downstream of the drivers (not in the report's
#: tables of controls). Program constants are absorbed by the program fixed effects.
NOT_CONTROLS = frozenset(
    {
        "checkpoint_week",
        "first_deadline_passed",
        "days_until_first_deadline",
        "first_assessment_submitted",
        "hours_per_active_day",
        "days_since_last_activity",
        "active_days_last_14",
        "active_day_rate_change",
        "on_time_weight_share",
        "late_submissions",
        "missing_submissions",
        "graded_score",
        "program",
        "terms_per_year",
        "terms_allowed_missing",
    }
)
#: Whole feature families that are never controls: submission timing to date (performance,
#: downstream of the drivers, like ``on_time_weight_share``) and cohort ranks (another feature
#: re-expressed against the cohort; ``days_active_cohort_rank`` all but restates
#: ``days_active_first_term`` and would swallow its variation).
NOT_CONTROL_FAMILIES = frozenset({"timing", "cohort"})

#: Features that restate a driver: a count whose "any" is the driver, a difference or ratio of it,
#: or the same design choice measured another way (by item count instead of grade weight, per
#: week instead of as a share, or the non-driver parts of "has a hands-on assessment"). Holding
#: those fixed would ask a question nobody asks and only inflate the interval.
ALIASES: dict[str, frozenset[str]] = {
    "completed_open_course": frozenset({"open_course_completions"}),
    "stackable_open_course": frozenset({"stackable_open_enrollments"}),
    "courses_enrolled": frozenset({"courses_active", "load_vs_program_median"}),
    "courses_dropped": frozenset({"courses_active"}),
    "has_staff_graded": frozenset({"staff_graded_item_share"}),
    "has_hands_on": frozenset(
        {"has_peer_graded", "has_programming", "peer_graded_item_share", "programming_item_share"}
    ),
    "peer_grade_share": frozenset({"peer_graded_item_share", "has_peer_graded"}),
    "quiz_grade_share": frozenset({"quiz_item_share"}),
    "staff_grade_share": frozenset({"staff_graded_item_share"}),
    "practice_share": frozenset({"weekly_practice_mean"}),
    "video_share": frozenset({"weekly_videos_mean"}),
    "reading_share": frozenset({"weekly_readings_mean"}),
}

#: Shares of one whole: when a driver is an exact sum of its partners, they cannot all be controls.
ZERO_SUM_GROUPS: tuple[frozenset[str], ...] = (
    frozenset({"practice_share", "video_share", "reading_share"}),
    frozenset(
        {"quiz_grade_share", "staff_grade_share", "peer_grade_share", "programming_grade_share"}
    ),
)

FeatureFunction = Callable[..., "pd.DataFrame"]


@dataclass(frozen=True)
class AnalysisFrame:
    """Students (index ``student_id``) with their program, label, drivers and candidate controls.

    ``controls`` are numeric without missing values; ``control_source`` maps each control column
    to the feature (or table column) it came from, so a driver's own columns can be left out.
    """

    students: pd.DataFrame  # program_id, first_term_id, retained (0.0 / 1.0)
    drivers: pd.DataFrame  # the 22 driver columns, missing where undefined
    controls: pd.DataFrame
    control_source: dict[str, str]
    unmeasurable: dict[str, str] = field(default_factory=dict)
    # Each student's first-term courses, sorted and joined by "|" (missing when none): where a
    # course-design driver varies (see earlywarn.analysis.inference).
    course_sets: pd.Series | None = None


def first_term_end(tables: Tables) -> pd.Series:
    """The instant that ends each term (local midnight after ``end_date``), indexed by term_id."""
    import pandas as pd

    from earlywarn.core import time as timeutil

    terms = tables.terms
    zones = tables.programs.set_index("program_id")["timezone"]
    ends = pd.Series(index=terms["term_id"].to_numpy(), dtype="datetime64[us, UTC]")
    program_of = terms["program_id"].astype(str)
    for program, rows in terms.groupby(program_of, sort=False):
        instants = timeutil.end_of_local_day(
            rows["end_date"].reset_index(drop=True), zones[program]
        )
        ends.loc[rows["term_id"].to_numpy()] = instants.to_numpy()
    return ends


def _one_hot(values: pd.Series, prefix: str) -> pd.DataFrame:
    import pandas as pd

    filled = values.astype("object").where(values.notna(), "missing").astype(str)
    frame = pd.get_dummies(filled, prefix=prefix, prefix_sep="=", dtype=float)
    return frame.set_axis(values.index)


def build_controls(
    features: pd.DataFrame, students: pd.DataFrame, tables: Tables
) -> tuple[pd.DataFrame, dict[str, str]]:
    """Numeric candidate controls (one-hot, imputed, flagged) and the source of each column."""
    import pandas as pd

    from earlywarn.features.catalogue import FEATURES

    columns: list[pd.DataFrame] = []
    source: dict[str, str] = {}
    for name in features.columns:
        if name in NOT_CONTROLS or name not in FEATURES:
            continue
        if FEATURES[name].family in NOT_CONTROL_FAMILIES:
            continue
        values = features[name]
        if FEATURES[name].kind == "categorical":
            hot = _one_hot(values, name)
            columns.append(hot)
            source.update(dict.fromkeys(hot.columns, name))
            continue
        numeric = pd.to_numeric(values, errors="coerce").astype(float)
        if numeric.notna().sum() == 0:
            continue
        missing = numeric.isna()
        columns.append(numeric.fillna(numeric.median()).rename(name).to_frame())
        source[name] = name
        if missing.any():
            flag = f"{name}_missing"
            columns.append(missing.astype(float).rename(flag).to_frame())
            source[flag] = name
    terms = tables.terms.set_index("term_id")
    season = students["first_term_id"].map(terms["season"])
    start = students["first_term_id"].map(terms["start_date"])
    people = tables.students.set_index("student_id").loc[students.index]
    timing = {
        # The report's "registration timing": a long-time learner or one who joined just before.
        "joined_platform_days_before": _day_bins(start - people["platform_joined_on"]),
        "admitted_days_before": _day_bins(start - people["admitted_on"]),
        "season": season,
        "cohort": students["first_term_id"],
    }
    for prefix, values in timing.items():
        hot = _one_hot(values, prefix)
        columns.append(hot)
        source.update(dict.fromkeys(hot.columns, prefix))
    for name, counts in _unfinished_open_courses(tables, students.index, start).items():
        columns.append(counts.rename(name).to_frame())
        source[name] = name
    controls = pd.concat(columns, axis=1)
    return controls, source


DAY_BIN_EDGES = (30, 90, 180, 365, 730)


def _day_bins(gaps: pd.Series) -> pd.Series:
    """Days between two dates as bands (under 30 days, 30 to 89, ..., 730 and more)."""
    import numpy as np
    import pandas as pd

    days = gaps.dt.days.astype(float)
    edges = [-np.inf, *DAY_BIN_EDGES, np.inf]
    labels = [f"under {DAY_BIN_EDGES[0]}"]
    labels += [f"{lo} to {hi - 1}" for lo, hi in itertools.pairwise(DAY_BIN_EDGES)]
    labels += [f"{DAY_BIN_EDGES[-1]} and more"]
    bands = pd.cut(days, bins=edges, labels=labels, right=False)
    return pd.Series(bands.astype("object"), index=gaps.index)


def _unfinished_open_courses(
    tables: Tables, students: pd.Index, start: pd.Series
) -> dict[str, pd.Series]:
    """Open courses enrolled in before the first term but not completed by then, free and paid.

    The report finds that enrolling without finishing, paid or not, goes with lower retention,
    so these counts are controls for the open-content drivers.
    """
    import pandas as pd

    zeros = pd.Series(0.0, index=students)
    open_content = tables.open_content
    if open_content is None:
        return {}
    student = open_content["student_id"].astype(str)
    first_start = student.map(start)
    before = open_content["enrolled_on"] < first_start
    finished = open_content["completed_on"].notna() & (open_content["completed_on"] < first_start)
    unfinished = before & ~finished
    paid = open_content["paid"].astype(bool)
    return {
        "open_course_unfinished_free": zeros.add(
            student[unfinished & ~paid].value_counts(), fill_value=0
        ).reindex(students),
        "open_course_unfinished_paid": zeros.add(
            student[unfinished & paid].value_counts(), fill_value=0
        ).reindex(students),
    }


def build_analysis_frame(
    tables: Tables,
    *,
    features_fn: FeatureFunction | None = None,
    labels_fn: Callable[..., Any] | None = None,
    pass_score: float = 50.0,
) -> AnalysisFrame:
    """Featurise every cohort as of the end of its first term and join the known labels.

    By default the features are :func:`earlywarn.features.first_term_features` with the tables
    prepared once and reused for every cohort (preparing is most of the cost of one call);
    ``features_fn`` replaces them (``pass_score`` then does not apply).
    """
    import numpy as np
    import pandas as pd

    from earlywarn.features import first_term_features
    from earlywarn.features.labels import retention_labels
    from earlywarn.features.prepared import prepare

    if features_fn is None:
        featurise: FeatureFunction = partial(
            first_term_features, pass_score=pass_score, prepared=prepare(tables)
        )
    else:
        featurise = features_fn
    label = labels_fn or retention_labels
    labels = _as_retained(label(tables, as_of=_data_end(tables)))
    students = tables.students.set_index("student_id")
    known = students.index.intersection(labels.index[labels.notna()])
    if len(known) == 0:
        raise NoAnalysisRows(
            "no first-term student has a known first-year label yet (each needs an anniversary "
            "term past its drop deadline in the data); add later terms or an outcomes table"
        )
    frame = pd.DataFrame(
        {
            "program_id": students.loc[known, "program_id"].astype(str),
            "first_term_id": students.loc[known, "first_term_id"].astype(str),
            "retained": labels.loc[known].astype(float),
        }
    )
    ends = first_term_end(tables)
    parts = []
    for term_id, rows in frame.groupby("first_term_id", sort=True):
        feats = featurise(tables, ends.loc[term_id], list(rows.index))
        if "student_id" in feats.columns:
            feats = feats.set_index("student_id")
        parts.append(feats.reindex(rows.index))
    features = pd.concat(parts).reindex(frame.index)

    unmeasurable: dict[str, str] = {}
    drivers = pd.DataFrame(index=frame.index)
    for driver in DRIVERS_IN_REPORT_ORDER:
        table = NEEDS_TABLE.get(driver)
        if table is not None and tables.get(table) is None:
            unmeasurable[driver] = f"the data has no {table} table"
            drivers[driver] = np.nan
        elif driver not in features.columns:
            unmeasurable[driver] = "the features do not compute it"
            drivers[driver] = np.nan
        else:
            drivers[driver] = pd.to_numeric(features[driver], errors="coerce").astype(float)
    controls, source = build_controls(features, frame, tables)
    return AnalysisFrame(
        frame, drivers, controls, source, unmeasurable, first_term_course_sets(tables, frame)
    )


def first_term_course_sets(tables: Tables, students: pd.DataFrame) -> pd.Series:
    """Each student's first-term course ids, sorted and joined by "|" (missing when none).

    Students with the same set share every course-design value: the set is the unit at which
    a course-design driver is assigned, so its interval is clustered by it.
    """
    enrollments = tables.enrollments
    first = students["first_term_id"]
    student = enrollments["student_id"].astype(str)
    in_first = enrollments["term_id"].astype(str).to_numpy() == student.map(first).to_numpy()
    courses = enrollments.loc[in_first, "course_id"].astype(str)
    sets = courses.groupby(student[in_first].to_numpy()).agg(lambda c: "|".join(sorted(set(c))))
    return sets.reindex(students.index)


def courses_in(course_sets: pd.Series) -> int:
    """How many distinct courses the given course sets hold."""
    return len({course for joined in course_sets.dropna() for course in str(joined).split("|")})


def _as_retained(labels: Any) -> pd.Series:
    """Labels as a float Series (1.0 retained, 0.0 not, NaN unknown) indexed by student_id."""
    import pandas as pd

    if isinstance(labels, pd.DataFrame):
        if "student_id" in labels.columns:
            labels = labels.set_index("student_id")
        labels = labels["retained"]
    series = pd.Series(labels)
    return series.astype("Float64").astype(float)


def candidate_controls(analysis: AnalysisFrame, driver: str, rows: pd.Index) -> pd.DataFrame:
    """The controls offered to ``driver``'s lassos: all but its own columns and its aliases."""
    import numpy as np

    own = {driver} | ALIASES.get(driver, frozenset())
    keep = [c for c, src in analysis.control_source.items() if src not in own]
    controls = analysis.controls.loc[rows, keep]
    for group in ZERO_SUM_GROUPS:
        if driver not in group:
            continue
        partners = [c for c in controls.columns if analysis.control_source[c] in group]
        if not partners:
            continue
        # Drop the partners only when they pin the driver down exactly (shares adding to one).
        value = analysis.drivers.loc[rows, driver].to_numpy(dtype=float)
        basis = np.column_stack([np.ones(len(rows)), controls[partners].to_numpy(dtype=float)])
        fitted = basis @ np.linalg.lstsq(basis, value, rcond=None)[0]
        if np.allclose(fitted, value, atol=1e-9):
            controls = controls.drop(columns=partners)
    return controls


def _data_end(tables: Tables) -> pd.Timestamp:
    """The data's latest instant (:func:`earlywarn.contract.freshness.latest_instant`)."""
    from earlywarn.contract.freshness import latest_instant

    end = latest_instant(tables)
    if end is None:
        raise NoAnalysisRows("the data holds no dated rows; nothing to analyse")
    return end
