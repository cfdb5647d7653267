"""Invariants of the feature code, checked on many random variations (hypothesis).

* Leakage: adding, removing or changing any row dated after t never changes a feature as of t.
* Row order: shuffling every table (parents included) changes nothing.
* Growth: counts to date never go down from one checkpoint week to the next.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from earlywarn.contract import Tables, load_tables
from earlywarn.features import features_as_of, first_term_features
from earlywarn.training.dataset import build_training_dataset
from tests.factories import minimal_institution, write_institution

# The minimal institution's first terms run from 2023-07-03 (Kolkata) to 2023-12-15 (New York).
WINDOW_START = pd.Timestamp("2023-06-20", tz="UTC")
WINDOW_HOURS = 24 * 200
TIME_COLUMNS = {
    "activity": "started_at",
    "submissions": "submitted_at",
    "forum_activity": "at",
    "support_tickets": "opened_at",
}
FREE_COLUMNS = {
    "activity": ("minutes", [0.0, 5.0, 90.0, np.nan]),
    "submissions": ("score", [0.0, 49.0, 50.0, 100.0, np.nan]),
    "forum_activity": ("action", ["view", "thread", "reply"]),
    "support_tickets": ("category", ["technical", "billing", "other"]),
}
# No shrinking: each example runs the whole feature pipeline, and shrinking a failure took minutes;
# hypothesis still prints the failing example.
SETTINGS = settings(
    phases=[Phase.explicit, Phase.reuse, Phase.generate],
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)


@pytest.fixture(scope="module")
def base(tmp_path_factory: pytest.TempPathFactory) -> Tables:
    frames = minimal_institution()
    # The optional extension columns too, so their features are under the same invariants.
    frames["students"]["prior_attempts"] = ["0", "1", "", "2", "0"]
    frames["students"]["first_term_credits"] = ["60", "30", "", "120", "60"]
    frames["submissions"]["is_banked"] = ["true", "", "false", "", "", "", "", "false", "true"]
    folder = write_institution(tmp_path_factory.mktemp("base"), frames, "parquet")
    return load_tables(folder)


def instant(hours: float) -> pd.Timestamp:
    """An instant ``hours`` after the window starts, to the microsecond (the tables' unit)."""
    return WINDOW_START + pd.Timedelta(microseconds=round(hours * 3_600_000_000))


def enrich(base: Tables, draw: st.DrawFn) -> Tables:
    """The base institution with random extra time-stamped rows anywhere in the window."""
    changes: dict[str, pd.DataFrame] = {}
    for name, time_column in TIME_COLUMNS.items():
        frame = base.get(name)
        assert frame is not None
        n = draw(st.integers(0, 25))
        picks = draw(st.lists(st.integers(0, len(frame) - 1), min_size=n, max_size=n))
        hours = draw(st.lists(st.floats(0, WINDOW_HOURS), min_size=n, max_size=n))
        extra = frame.iloc[picks].reset_index(drop=True)
        extra[time_column] = pd.Series([instant(h) for h in hours], dtype="datetime64[us, UTC]")
        column, choices = FREE_COLUMNS[name]
        values = draw(st.lists(st.sampled_from(choices), min_size=n, max_size=n))
        extra[column] = pd.Series(values, dtype=frame[column].dtype)
        changes[name] = pd.concat([frame, extra], ignore_index=True)
    return dataclasses.replace(base, **changes)


def after_t(tables: Tables, t: pd.Timestamp, draw: st.DrawFn) -> Tables:
    """Add, remove or change rows dated after t in one randomly chosen table."""
    name = draw(st.sampled_from([*TIME_COLUMNS, "enrollments", "open_content", "final_grade"]))
    later = (t + pd.Timedelta(days=1)).floor("D").tz_localize(None)
    if name in TIME_COLUMNS:
        frame = tables.get(name)
        assert frame is not None
        time_column = TIME_COLUMNS[name]
        action = draw(st.sampled_from(["add", "remove", "change"]))
        is_late = (frame[time_column] >= t).to_numpy()
        if action == "remove":
            frame = frame.loc[~is_late].reset_index(drop=True)
        elif action == "change":
            column, choices = FREE_COLUMNS[name]
            frame = frame.copy()
            value = draw(st.sampled_from(choices))
            frame.loc[is_late, column] = value
            shift = pd.Timedelta(seconds=draw(st.integers(0, 500 * 3600)))
            frame.loc[is_late, time_column] = frame.loc[is_late, time_column] + shift
        else:
            n = draw(st.integers(1, 10))
            picks = draw(st.lists(st.integers(0, len(frame) - 1), min_size=n, max_size=n))
            extra = frame.iloc[picks].reset_index(drop=True)
            delays = draw(st.lists(st.integers(0, 2000 * 3600), min_size=n, max_size=n))
            extra[time_column] = pd.Series(
                [t + pd.Timedelta(seconds=d) for d in delays], dtype=frame[time_column].dtype
            )
            frame = pd.concat([frame, extra], ignore_index=True)
        return dataclasses.replace(tables, **{name: frame})
    days = pd.Timedelta(days=draw(st.integers(0, 400)))
    if name == "enrollments":
        enr = tables.enrollments.copy()
        action = draw(st.sampled_from(["add", "drop_later", "remove"]))
        unseen = (enr["dropped_on"].isna() | (enr["dropped_on"] >= later)).to_numpy()
        if action == "drop_later":
            enr.loc[unseen, "dropped_on"] = later + days
        elif action == "remove":
            enr = enr.loc[~(enr["enrolled_on"] >= later).to_numpy()].reset_index(drop=True)
        else:
            pick = draw(st.integers(0, len(enr) - 1))
            extra = enr.iloc[[pick]].reset_index(drop=True)
            extra["enrolled_on"] = later + days
            extra["dropped_on"] = pd.NaT
            enr = pd.concat([enr, extra], ignore_index=True)
        return dataclasses.replace(tables, enrollments=enr)
    if name == "open_content":
        oc = tables.open_content
        assert oc is not None
        oc = oc.copy()
        unseen = (oc["completed_on"].isna() | (oc["completed_on"] >= later)).to_numpy()
        oc.loc[unseen, "completed_on"] = later + days
        extra = oc.iloc[[0]].reset_index(drop=True)
        extra["enrolled_on"] = later + days
        extra["stackable"] = True
        return dataclasses.replace(tables, open_content=pd.concat([oc, extra], ignore_index=True))
    # final_grade of terms that have not ended by t (the end of end_date's local day). The local
    # day ends at the earliest 14 hours before its UTC midnight (UTC+14), so a term counts as not
    # ended only while t is before that in every zone; a wider window would change the grades of
    # a term that has ended, which a feature may see.
    enr = tables.enrollments.copy()
    end = tables.terms["end_date"].to_numpy()[enr["term_id"].cat.codes.to_numpy()]
    earliest_end = pd.Series(end + np.timedelta64(1, "D") - np.timedelta64(14, "h"))
    not_ended = earliest_end > t.tz_localize(None)
    enr.loc[not_ended.to_numpy(), "final_grade"] = float(draw(st.integers(0, 100)))
    return dataclasses.replace(tables, enrollments=enr)


def same(left: pd.DataFrame, right: pd.DataFrame) -> None:
    pd.testing.assert_frame_equal(
        left.reset_index(drop=True), right.reset_index(drop=True), check_exact=False, rtol=1e-9
    )


@SETTINGS
@given(data=st.data())
def test_rows_after_t_never_change_features_as_of_t(base: Tables, data: st.DataObject) -> None:
    tables = enrich(base, data.draw)
    t = instant(data.draw(st.floats(0, WINDOW_HOURS + 24 * 150)))
    before_now = features_as_of(tables, t)
    before_all = first_term_features(tables, t)
    changed = after_t(tables, t, data.draw)
    same(before_now, features_as_of(changed, t))
    same(before_all, first_term_features(changed, t))


def _shuffled(frames: dict[str, pd.DataFrame], seed: int) -> dict[str, pd.DataFrame]:
    rng = np.random.default_rng(seed)
    return {
        name: frame.iloc[rng.permutation(len(frame))].reset_index(drop=True)
        for name, frame in frames.items()
    }


@settings(max_examples=8, deadline=None, phases=[Phase.explicit, Phase.reuse, Phase.generate])
@given(seed=st.integers(0, 2**32 - 1), hours=st.floats(0, WINDOW_HOURS))
def test_row_order_never_matters(tmp_path_factory: pytest.TempPathFactory, seed: int,
                                 hours: float) -> None:  # fmt: skip
    frames = minimal_institution()
    folder = tmp_path_factory.mktemp("shuffle")
    one = load_tables(write_institution(folder / "a", frames, "csv"))
    two = load_tables(write_institution(folder / "b", _shuffled(frames, seed), "csv"))
    t = instant(hours)
    for left, right in ((features_as_of(one, t), features_as_of(two, t)),
                        (first_term_features(one, t), first_term_features(two, t))):  # fmt: skip
        left = left.sort_values("student_id").reset_index(drop=True)
        right = right.sort_values("student_id").reset_index(drop=True)
        for column in ("program_id", "first_term_id"):
            left[column] = left[column].astype(str)
            right[column] = right[column].astype(str)
        same(left, right)


GROWING = (
    "days_active_first_term",
    "learning_hours_first_term",
    "days_active_before_first_deadline",
    "learning_hours_before_first_deadline",
    "first_assessment_on_time",
    "first_assessment_submitted",
    "first_deadline_passed",
    "late_submissions",
    "courses_enrolled",
    "courses_dropped",
    "dropped_after_deadline",
    "forum_days_accessing",
    "forum_days_posting",
    "forum_threads_started",
    "forum_replies",
    "support_tickets",
    "open_course_enrollments",
    "open_course_completions",
)


@SETTINGS
@given(data=st.data())
def test_counts_never_go_down_from_week_to_week(base: Tables, data: st.DataObject) -> None:
    tables = enrich(base, data.draw)
    snapshots = build_training_dataset(tables, pd.Timestamp("2025-06-01", tz="UTC"))
    snapshots = snapshots.sort_values(["student_id", "checkpoint_week"])
    for name in GROWING:
        steps = snapshots.groupby("student_id")[name].diff().dropna()
        assert (steps >= 0).all(), name
    weeks = snapshots.groupby("student_id")["checkpoint_week"].diff().dropna()
    assert (weeks == 1).all()
