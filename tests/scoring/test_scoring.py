"""Weekly scoring end to end: a real champion in a real MLflow store, a real SQLite state database.

The institution is the session's ``small_institution`` (generated with "today" 2026-10-19); the
weeks scored are the two before it.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from earlywarn.cli import cli
from earlywarn.contract import load_tables
from earlywarn.core.errors import RegistryError
from earlywarn.core.settings import Settings
from earlywarn.features import features_as_of
from earlywarn.scoring.score import score_institution
from earlywarn.state import latest_run, open_state, scored_weeks, scores_for_week, student_history
from earlywarn.state.records import ScoreRow

pytestmark = pytest.mark.slow

WEEK_1 = datetime(2026, 10, 5, 7, 0, tzinfo=UTC)
WEEK_1_LATER = datetime(2026, 10, 8, 7, 0, tzinfo=UTC)  # same week: replaces it
WEEK_2 = datetime(2026, 10, 12, 7, 0, tzinfo=UTC)


def _first_term_students(folder: Path, as_of: datetime) -> set[str]:
    import pandas as pd

    frame = features_as_of(load_tables(folder), pd.Timestamp(as_of), pass_score=50.0)
    return {str(s) for s in frame["student_id"]}


def test_one_row_per_student_and_week_rescoring_replaces_and_weeks_accumulate(
    scoring_settings: Settings, small_institution: Path
) -> None:
    students = _first_term_students(small_institution, WEEK_1)
    assert len(students) > 20

    first = score_institution(scoring_settings, small_institution, WEEK_1)
    engine = open_state(scoring_settings.state_url)
    try:
        stored = scores_for_week(engine, "2026-10-05")
        assert {s.student_id for s in stored} == students
        assert len(stored) == len(students)
        assert all(s.model_version == first.run.model_version for s in stored)
        assert all(s.as_of == WEEK_1 for s in stored)
        assert all(0.0 <= s.risk <= 1.0 for s in stored)

        again = score_institution(scoring_settings, small_institution, WEEK_1_LATER)
        restored = scores_for_week(engine, "2026-10-05")
        assert len(restored) == len(_first_term_students(small_institution, WEEK_1_LATER))
        assert {s.run_id for s in restored} == {again.run.run_id}
        assert all(s.as_of == WEEK_1_LATER for s in restored)
        assert scored_weeks(engine) == ["2026-10-05"]

        score_institution(scoring_settings, small_institution, WEEK_2)
        assert scored_weeks(engine) == ["2026-10-05", "2026-10-12"]
        both = students & _first_term_students(small_institution, WEEK_2)
        history = student_history(engine, sorted(both)[0])
        assert [h.week for h in history] == ["2026-10-05", "2026-10-12"]
    finally:
        engine.dispose()


def test_tiers_reasons_and_drift_are_stored_with_each_score(
    scoring_settings: Settings, small_institution: Path
) -> None:

    result = score_institution(scoring_settings, small_institution, WEEK_1)
    high, medium = scoring_settings.tier_high, scoring_settings.tier_medium
    for row in result.scores:
        expected = "high" if row.risk >= high else "medium" if row.risk >= medium else "low"
        assert row.tier == expected
    _check_reasons(scoring_settings, small_institution, result.scores)
    # The run and its drift are in the state database for `earlywarn status`.
    engine = open_state(scoring_settings.state_url)
    try:
        run = latest_run(engine)
    finally:
        engine.dispose()
    assert run is not None
    assert run.run_id == result.run.run_id
    assert (run.n_high, run.n_medium, run.n_low) == tuple(
        result.tier_counts[t] for t in ("high", "medium", "low")
    )
    assert len(run.drift) > 10
    assert {d.feature for d in run.drift_warnings} == set(result.drift_warnings)


PROTECTED_WORDS = re.compile(
    r"\b(age|aged|years old|gender|sex|male|female|disab\w*|depriv\w*|imd|country|countries|"
    r"region\w*|education level|ethnic\w*)\b",
    re.IGNORECASE,
)
PAST_DEADLINE_WORDS = re.compile(r"\bdue\b|deadline", re.IGNORECASE)


def _check_reasons(settings: Settings, folder: Path, scores: Sequence[ScoreRow]) -> None:
    """Every flagged student's reasons are that student's largest risk-raising contributions, in
    order; contributions and base add up to the margin; no protected attribute, no passed
    deadline in an action."""
    import pandas as pd

    from earlywarn.model.store import load_model_by_alias
    from earlywarn.scoring.reasons import CONTEXT_DRIVERS, driver_contributions, ranked_drivers

    _, model = load_model_by_alias(settings)
    features = features_as_of(load_tables(folder), pd.Timestamp(WEEK_1), pass_score=50.0)
    contributions = model.contributions(features)
    margin = model.raw_score(features)
    assert np.allclose(contributions.sum(axis=1).to_numpy(), margin, rtol=0, atol=1e-6)
    by_driver = driver_contributions(contributions).set_axis(features["student_id"].astype(str))
    passed = dict(
        zip(features["student_id"].astype(str), features["first_deadline_passed"], strict=True)
    )
    flagged = [row for row in scores if row.tier in ("high", "medium")]
    assert flagged
    for row in flagged:
        own = [r for r in row.reasons if r.driver not in CONTEXT_DRIVERS]
        # An advisor is never asked to look without a reason: the student's own, or, for a
        # student flagged by where they study alone, the context (course design or the program's
        # record with earlier students).
        assert row.reasons, row.student_id
        assert own or all(r.driver in CONTEXT_DRIVERS for r in row.reasons), row.student_id
        ranked = [
            d
            for d in ranked_drivers(by_driver.loc[row.student_id].to_dict())
            if d not in CONTEXT_DRIVERS
        ]
        assert [r.driver for r in own] == ranked[: len(own)], row.student_id
        assert len(own) == min(3, len(ranked))
        for reason in row.reasons:
            assert not PROTECTED_WORDS.search(reason.text), reason.text
            assert not PROTECTED_WORDS.search(reason.action), reason.action
            if passed[row.student_id] == 1:
                assert not PAST_DEADLINE_WORDS.search(reason.action), reason.action
            assert reason.action or reason.driver in CONTEXT_DRIVERS


def test_score_json_lists_every_student_with_reasons(
    scoring_settings: Settings, small_institution: Path, champion_home: Path
) -> None:
    import pandas as pd

    env = {"EARLYWARN_DATABASE_URL": scoring_settings.state_url}
    result = CliRunner().invoke(
        cli,
        [
            "--home",
            str(champion_home),
            "score",
            str(small_institution),
            "--as-of",
            "2026-10-05T07:00Z",
            "--json",
        ],
        env=env,
    )
    assert result.exit_code == 0, result.output
    rows = json.loads(result.stdout)  # progress lines go to stderr
    assert len(rows) == len(_first_term_students(small_institution, WEEK_1))
    tables = load_tables(small_institution)
    advisors = {
        str(student): None if pd.isna(advisor) else str(advisor)
        for student, advisor in zip(
            tables.students["student_id"], tables.students["advisor_id"], strict=True
        )
    }
    for row in rows:
        assert {"student_id", "advisor_id", "risk", "tier", "reasons"} <= set(row)
        assert row["tier"] in ("high", "medium", "low")
        assert 0.0 <= row["risk"] <= 1.0
        assert row["advisor_id"] == advisors[row["student_id"]]
        for reason in row["reasons"]:
            assert set(reason) == {"driver", "text", "action"}
    risks = [row["risk"] for row in rows]
    assert risks == sorted(risks, reverse=True)


def test_without_a_champion_scoring_fails_clearly_and_stores_nothing(
    mlflow_settings: Settings, small_institution: Path, tmp_path: Path
) -> None:
    with pytest.raises(RegistryError, match="no champion model"):
        score_institution(mlflow_settings, small_institution, WEEK_1)
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "earlywarn",
            "score",
            str(small_institution),
            "--as-of",
            "2026-10-05T07:00Z",
        ],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        env={**os.environ, "EARLYWARN_HOME": str(mlflow_settings.home)},
        timeout=120,
    )
    assert proc.returncode == 2  # a step to run first, as with any other usage error
    assert proc.stderr.startswith("error: no champion model: run earlywarn train DIR")
    assert "Traceback" not in proc.stderr
    engine = open_state(mlflow_settings.state_url)
    try:
        assert latest_run(engine) is None
        assert scored_weeks(engine) == []
    finally:
        engine.dispose()
