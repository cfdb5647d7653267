"""Drift on a generated institution: quiet on held-out students, loud on a broken export.

The champion of ``champion_home`` was trained on ``small_institution``; its test cohorts (the
latest intake with known outcomes) were never trained on. Scoring them every week of their term,
at midnight and at 07:00 UTC alike, must raise no alarm; each planted break must raise one that
names a feature computed from the table that broke.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from earlywarn.contract import Tables, load_tables
from earlywarn.core.settings import load_settings
from earlywarn.core.time import as_of_us
from earlywarn.features.assemble import cohorts_in_progress, compute
from earlywarn.features.catalogue import FEATURES
from earlywarn.features.prepared import Prepared, prepare
from earlywarn.model.store import MODEL_NAME, client, load_model_by_alias
from earlywarn.scoring.drift import drift_warnings, weekly_drift
from earlywarn.state.records import DriftRow

FALSE_ALARM_RATE = 0.01
PSI_FLOOR = 0.25

FROM_ACTIVITY = {n for n, s in FEATURES.items() if s.family == "activity"} | {
    "days_active_before_first_deadline",
    "learning_hours_before_first_deadline",
}
HOURS = {
    "learning_hours_first_term",
    "hours_per_active_day",
    "learning_hours_before_first_deadline",
}
FROM_SUBMISSIONS = {
    n for n, s in FEATURES.items() if s.family in {"submissions", "timing", "first_deadline"}
} - FROM_ACTIVITY


@pytest.fixture(scope="module")
def held_out(champion_home: Path, small_institution: Path) -> dict[str, Any]:
    """The champion, the institution's tables and the champion's test cohorts (term ids)."""
    settings = load_settings(champion_home)
    version, model = load_model_by_alias(settings)
    mlflow = client(settings)
    run = mlflow.get_run(mlflow.get_model_version(MODEL_NAME, version).run_id)
    cohorts = run.data.tags["earlywarn.test_cohorts"].split(",")
    return {"model": model, "tables": load_tables(small_institution), "cohorts": cohorts}


def _drift(
    model: Any, prepared: Prepared, cohorts: list[str], as_of: pd.Timestamp
) -> list[DriftRow]:
    """What a scoring run at ``as_of`` checks, for the students of ``cohorts``."""
    t = as_of_us(as_of)
    scored = compute(prepared, cohorts_in_progress(prepared, t), t, 50.0, enrolled_only=True)
    ids = scored.loc[scored["first_term_id"].astype(str).isin(cohorts), "student_id"]
    return weekly_drift(
        model,
        prepared,
        as_of,
        ids.astype(str).tolist(),
        pass_score=50.0,
        warning_threshold=PSI_FLOOR,
        false_alarm_rate=FALSE_ALARM_RATE,
    )


def _weeks(tables: Tables, cohorts: list[str]) -> list[pd.Timestamp]:
    """Every Monday from the first test cohort's start to the last one's end."""
    terms = tables.terms[tables.terms["term_id"].astype(str).isin(cohorts)]
    first = pd.Timestamp(terms["start_date"].min())
    last = pd.Timestamp(terms["end_date"].max())
    monday = first + pd.Timedelta(days=(7 - first.weekday()) % 7)
    return list(pd.date_range(monday, last, freq="7D", tz="UTC"))


def test_held_out_students_raise_no_alarm_in_any_week_at_any_hour(
    held_out: dict[str, Any],
) -> None:
    model, tables, cohorts = held_out["model"], held_out["tables"], held_out["cohorts"]
    prepared = prepare(tables)
    checked_weeks = 0
    for monday in _weeks(tables, cohorts):
        for hour in (0, 7):
            rows = _drift(model, prepared, cohorts, monday + pd.Timedelta(hours=hour))
            assert drift_warnings(rows) == [], (monday, hour, [r for r in rows if r.level != "ok"])
            checked_weeks += bool(rows) and hour == 0
    assert checked_weeks >= 8  # the check really ran, week after week


def _mid_term(held_out: dict[str, Any]) -> pd.Timestamp:
    return _weeks(held_out["tables"], held_out["cohorts"])[4]


def _alarms(held_out: dict[str, Any], tables: Tables) -> list[str]:
    rows = _drift(held_out["model"], prepare(tables), held_out["cohorts"], _mid_term(held_out))
    return drift_warnings(rows)


def test_activity_rows_lost_for_half_the_students_alarm_on_activity(
    held_out: dict[str, Any],
) -> None:
    tables: Tables = held_out["tables"]
    activity = tables.activity
    assert activity is not None
    students = tables.students["student_id"].astype(str).to_numpy()
    half = set(np.random.default_rng(3).choice(students, size=len(students) // 2, replace=False))
    broken = dataclasses.replace(
        tables, activity=activity[~activity["student_id"].astype(str).isin(half)]
    )
    alarms = _alarms(held_out, broken)
    assert alarms, "half the activity rows went missing and nothing alarmed"
    assert set(alarms) <= FROM_ACTIVITY, alarms


def test_activity_minutes_sent_in_hours_alarm_on_learning_hours(
    held_out: dict[str, Any],
) -> None:
    tables: Tables = held_out["tables"]
    activity = tables.activity
    assert activity is not None
    broken = dataclasses.replace(tables, activity=activity.assign(minutes=activity["minutes"] / 60))
    alarms = _alarms(held_out, broken)
    assert alarms, "minutes arrived in hours and nothing alarmed"
    assert set(alarms) <= HOURS, alarms


def test_a_course_without_submissions_alarms_on_submissions(held_out: dict[str, Any]) -> None:
    tables: Tables = held_out["tables"]
    as_of = _mid_term(held_out)
    # The held-out intake's course with the most submissions so far loses all of them.
    course_of = dict(
        zip(
            tables.course_items["item_id"].astype(str),
            tables.course_items["course_id"].astype(str),
            strict=True,
        )
    )
    submissions = tables.submissions
    first_term = tables.students.set_index("student_id")["first_term_id"].astype(str)
    intake = first_term[first_term.isin(held_out["cohorts"])].index.astype(str)
    seen = submissions[
        submissions["student_id"].astype(str).isin(set(intake))
        & (submissions["term_id"].astype(str).isin(held_out["cohorts"]))
        & (submissions["submitted_at"] < as_of)
    ]
    course = seen["item_id"].astype(str).map(course_of).value_counts().index[0]
    lost = submissions["item_id"].astype(str).map(course_of) == course
    alarms = _alarms(held_out, dataclasses.replace(tables, submissions=submissions[~lost]))
    assert alarms, f"course {course} lost its submissions and nothing alarmed"
    assert set(alarms) <= FROM_SUBMISSIONS, alarms
