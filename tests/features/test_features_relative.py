"""The timing, banked, background and cohort-rank features on the minimal institution, where the
right value can be worked out by hand (tests/factories.py describes its students)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from earlywarn.contract import Tables, load_tables
from earlywarn.features import features_as_of, first_term_features
from earlywarn.features.cohort import cohort_rank
from tests.factories import minimal_institution, write_institution

Frames = dict[str, pd.DataFrame]
# New York's fall term is running, Kolkata's has ended; S002 dropped on 2023-10-02.
LATE_NOVEMBER = pd.Timestamp("2023-12-01T12:00Z")
HOURS = 1 / 24


@pytest.fixture
def build(tmp_path: Path) -> Callable[..., Tables]:
    counter = iter(range(100))

    def make(change: Callable[[Frames], None] | None = None) -> Tables:
        frames = minimal_institution()
        if change is not None:
            change(frames)
        return load_tables(write_institution(tmp_path / f"i{next(counter)}", frames))

    return make


def row(frame: pd.DataFrame, student: str) -> pd.Series:
    return frame.set_index("student_id").loc[student]


def test_submission_timing_counts_each_item_once_at_its_first_submission(
    build: Callable[..., Tables],
) -> None:
    s001 = row(features_as_of(build(), LATE_NOVEMBER), "S001")
    # I2 due at the end of 2023-09-17 New York (04:00Z on the 18th), handed in 1 h 45 min before;
    # I3 due 04:00Z on 2023-10-16, first handed in 10 h late (the second attempt does not count);
    # I5 due 04:00Z on 2023-09-25, handed in at 10:00Z on the 20th: 4 days 18 h early.
    early = [1.75 * HOURS, -10 * HOURS, 4 + 18 * HOURS]
    assert s001["items_submitted"] == 3
    assert s001["mean_days_early"] == pytest.approx(sum(early) / 3)
    assert s001["early_submission_share"] == pytest.approx(1 / 3)
    # The last submission (the second attempt at I3) was 2023-11-06T13:30Z.
    last = pd.Timestamp("2023-11-06T13:30:00.250Z")
    assert s001["days_since_last_submission"] == pytest.approx(
        (LATE_NOVEMBER - last) / pd.Timedelta(days=1)
    )
    # Nothing handed in yet: no timing to average, and days since the term started.
    start = features_as_of(build(), pd.Timestamp("2023-09-10T04:00Z"))
    s003 = row(start, "S003")
    assert s003["items_submitted"] == 0
    assert np.isnan(s003["mean_days_early"])
    assert np.isnan(s003["early_submission_share"])
    assert s003["days_since_last_submission"] == pytest.approx(6.0)


def test_banked_results_are_counted_apart_and_missing_without_the_column(
    build: Callable[..., Tables],
) -> None:
    plain = row(features_as_of(build(), LATE_NOVEMBER), "S001")
    assert np.isnan(plain["banked_items"])
    assert np.isnan(plain["banked_grade_share"])

    def bank_i5(frames: Frames) -> None:
        frames["submissions"]["is_banked"] = ["false"] * len(frames["submissions"])
        frames["submissions"].loc[2, "is_banked"] = "true"  # S001's I5, the whole of C-NY-102

    frame = features_as_of(build(bank_i5), LATE_NOVEMBER)
    s001 = row(frame, "S001")
    assert s001["banked_items"] == 1
    assert s001["banked_grade_share"] == pytest.approx(0.5)  # one of two courses' grade
    assert row(frame, "S003")["banked_items"] == 0
    # Banked work is not new work: the timing features leave it out.
    assert s001["items_submitted"] == 2
    assert s001["mean_days_early"] == pytest.approx((1.75 * HOURS - 10 * HOURS) / 2)


def test_an_empty_banked_column_is_present_not_absent(build: Callable[..., Tables]) -> None:
    """Whether the column exists is a fact of the file, not of the rows visible at t: a file with
    the column but no value yet gives counts of 0, so later rows can never turn them missing."""

    def empty_column(frames: Frames) -> None:
        frames["submissions"]["is_banked"] = [""] * len(frames["submissions"])

    tables = build(empty_column)
    assert tables.has_column("submissions", "is_banked")
    assert not build().has_column("submissions", "is_banked")
    s001 = row(features_as_of(tables, LATE_NOVEMBER), "S001")
    assert s001["banked_items"] == 0
    assert s001["banked_grade_share"] == 0


def test_background_from_the_extension_columns_and_the_enrollment_day(
    build: Callable[..., Tables],
) -> None:
    def background(frames: Frames) -> None:
        frames["students"]["prior_attempts"] = ["0", "1", "2", "0", ""]
        frames["students"]["first_term_credits"] = ["60", "30", "120", "60", ""]

    frame = first_term_features(build(background), LATE_NOVEMBER)
    assert row(frame, "S003")["prior_attempts"] == 2
    assert row(frame, "S003")["first_term_credits"] == 120
    assert np.isnan(row(frame, "S005")["prior_attempts"])
    # S001 enrolled 2023-08-20 for a term starting 2023-09-04; S003 on the first day.
    assert row(frame, "S001")["days_enrolled_before_start"] == 15
    assert row(frame, "S003")["days_enrolled_before_start"] == 0
    assert row(frame, "S004")["days_enrolled_before_start"] == 8
    plain = first_term_features(build(), LATE_NOVEMBER)
    assert plain["prior_attempts"].isna().all()
    assert plain["first_term_credits"].isna().all()
    # An enrollment is not known before its day has ended.
    before = features_as_of(build(), pd.Timestamp("2023-09-05T03:00Z"))
    assert np.isnan(row(before, "S003")["days_enrolled_before_start"])


def test_cohort_ranks_compare_with_the_enrolled_peers_of_the_same_first_term(
    build: Callable[..., Tables],
) -> None:
    frame = first_term_features(build(), LATE_NOVEMBER)
    # graded_score: S001 (0.4*90 + 0.6*82 + 100) / 2 = 92.6 against S003's 60.
    assert row(frame, "S001")["graded_score"] == pytest.approx(92.6)
    assert row(frame, "S001")["graded_score_cohort_rank"] == pytest.approx(0.75)
    assert row(frame, "S003")["graded_score_cohort_rank"] == pytest.approx(0.25)
    # S002 has left: ranked against S001 (3 items) and S003 (1 item), not part of the reference.
    assert row(frame, "S002")["items_submitted_cohort_rank"] == pytest.approx(0.25)
    assert row(frame, "S003")["items_submitted_cohort_rank"] == pytest.approx(0.25)
    assert np.isnan(row(frame, "S002")["graded_score_cohort_rank"])  # no score
    # Kolkata is a cohort of its own: S004 scored 70 and 88, S005 35.
    assert row(frame, "S004")["graded_score_cohort_rank"] == pytest.approx(0.75)
    # Days active: S001 on 2 New York days, S003 on 1.
    assert row(frame, "S001")["days_active_cohort_rank"] == pytest.approx(0.75)


def test_cohort_rank_handles_ties_missing_values_and_empty_references() -> None:
    values = np.array([1.0, 2.0, 2.0, np.nan, 5.0, 3.0])
    cohort = np.array([0, 0, 0, 0, 1, 1])
    reference = np.array([True, True, True, True, False, False])
    ranks = cohort_rank(values, cohort, reference)
    assert ranks[:3] == pytest.approx([0.5 / 3, 2 / 3, 2 / 3])
    assert np.isnan(ranks[3])
    assert np.isnan(ranks[4])
    assert np.isnan(ranks[5])
