"""Weekly scoring end to end: a real champion in a real MLflow store, a real SQLite state database.

The institution is the session's ``small_institution`` (generated with "today" 2026-10-19); the
weeks scored are the two before it.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import pytest
from click.testing import CliRunner

from earlywarn.cli import cli
from earlywarn.contract import load_tables
from earlywarn.core.errors import RegistryError
from earlywarn.core.settings import Settings
from earlywarn.features import features_as_of
from earlywarn.scoring.reasons import DRIVERS, render
from earlywarn.scoring.score import score_institution
from earlywarn.state import latest_run, open_state, scored_weeks, scores_for_week, student_history

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
    import pandas as pd

    result = score_institution(scoring_settings, small_institution, WEEK_1)
    high, medium = scoring_settings.tier_high, scoring_settings.tier_medium
    for row in result.scores:
        expected = "high" if row.risk >= high else "medium" if row.risk >= medium else "low"
        assert row.tier == expected
    # Reasons: top three at most, known drivers, each text said with the student's own values.
    features = features_as_of(
        load_tables(small_institution), pd.Timestamp(WEEK_1), pass_score=50.0
    ).set_index("student_id")
    with_reasons = [row for row in result.scores if row.reasons]
    # Every student an advisor is asked to look at (medium risk or above) comes with at least
    # one reason; a low-risk student may have none (no driver raises their risk in words).
    assert all(row.reasons for row in result.scores if row.tier in ("high", "medium"))
    for row in with_reasons:
        assert len(row.reasons) <= 3
        values = features.loc[row.student_id].to_dict()
        for reason in row.reasons:
            assert reason.driver in DRIVERS
            assert reason.text == render(reason.driver, values)
            assert reason.action == DRIVERS[reason.driver].action
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
