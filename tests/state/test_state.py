"""The state database: scoring runs, weekly scores and their history."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pandas as pd
import pytest
from sqlalchemy import Engine, func, select

from earlywarn.core.errors import StateError
from earlywarn.state import (
    DriftRow,
    Reason,
    ScoreRow,
    ScoringRun,
    latest_run,
    open_state,
    previous_scored_week,
    run_for_week,
    save_scores,
    schema,
    scored_weeks,
    scores_for_week,
    student_history,
    tier_for,
    week_key,
)
from tests.fixtures.smtp import SMTPServer
from tests.paths import TEST_DATA

MONDAY = datetime(2026, 10, 5, 7, 0, tzinfo=UTC)


@pytest.fixture
def engine(state_url: str) -> Iterator[Engine]:
    """The state database, on SQLite and on PostgreSQL (``tests/fixtures/postgres.py``)."""
    engine = open_state(state_url)
    yield engine
    engine.dispose()


def make_run(
    as_of: datetime, *, version: str = "3", drift: tuple[DriftRow, ...] = ()
) -> ScoringRun:
    return ScoringRun(
        as_of=as_of,
        model_name="retention",
        model_version=version,
        started_at=as_of,
        finished_at=as_of + timedelta(seconds=5),
        n_students=3,
        drift=drift,
    )


def row(student_id: str, risk: float, advisor_id: str | None = "a1") -> ScoreRow:
    return ScoreRow(
        student_id=student_id,
        risk=risk,
        tier=tier_for(risk, high=0.5, medium=0.3),
        program_id="p1",
        advisor_id=advisor_id,
        courses="Statistics I; Writing",
        reasons=[
            {"driver": "late_first_submission", "text": "Late first quiz.", "action": "Call."}
        ],
    )


def test_week_key_is_the_monday_of_the_utc_week() -> None:
    assert week_key(datetime(2026, 10, 5, 0, 0, tzinfo=UTC)) == "2026-10-05"
    assert week_key(datetime(2026, 10, 11, 23, 59, tzinfo=UTC)) == "2026-10-05"
    assert week_key(datetime(2026, 10, 12, 0, 0, tzinfo=UTC)) == "2026-10-12"
    # An instant with an offset is read in UTC: Monday 01:00 in Berlin is still Sunday in UTC.
    berlin_summer = timezone(timedelta(hours=2))
    assert week_key(datetime(2026, 10, 12, 1, 0, tzinfo=berlin_summer)) == "2026-10-05"
    # A pandas Timestamp (what scoring passes) gives the same key.
    assert week_key(pd.Timestamp("2026-10-07T15:00Z")) == "2026-10-05"


def test_week_key_follows_the_schedule_time_zone() -> None:
    """A Monday 07:00 run in Tokyo is Sunday in UTC; it must key the Tokyo week it runs in."""
    monday_morning_tokyo = datetime(2026, 10, 11, 22, 0, tzinfo=UTC)
    assert week_key(monday_morning_tokyo, "Asia/Tokyo") == "2026-10-12"
    assert week_key(monday_morning_tokyo) == "2026-10-05"
    run = ScoringRun(
        as_of=monday_morning_tokyo,
        model_name="m",
        model_version="1",
        started_at=monday_morning_tokyo,
        week_timezone="Asia/Tokyo",
    )
    assert run.week == "2026-10-12"


def test_open_state_creates_the_database_and_is_idempotent(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'deep' / 'folder' / 'earlywarn.db'}"
    open_state(url)
    engine = open_state(url)
    assert (tmp_path / "deep" / "folder" / "earlywarn.db").is_file()
    assert latest_run(engine) is None
    assert scored_weeks(engine) == []


def test_scores_round_trip_with_reasons_and_run(engine: Engine) -> None:
    run = make_run(
        MONDAY, drift=(DriftRow("days_active", 0.31, "warning"), DriftRow("age", 0.02, "ok"))
    )
    save_scores(engine, run, [row("s1", 0.62), row("s2", 0.35), row("s3", 0.1, None)])

    stored = scores_for_week(engine, "2026-10-05")
    assert [s.student_id for s in stored] == ["s1", "s2", "s3"]  # highest risk first
    first = stored[0]
    assert first.tier == "high"
    assert first.reasons == (Reason("late_first_submission", "Late first quiz.", "Call."),)
    assert first.as_of == MONDAY
    assert first.run_id == run.run_id
    assert first.model_version == "3"
    assert stored[2].advisor_id is None

    latest = latest_run(engine)
    assert latest is not None
    assert latest.run_id == run.run_id
    assert (latest.n_scored, latest.n_high, latest.n_medium, latest.n_low) == (3, 1, 1, 1)
    assert latest.as_of == MONDAY
    assert [d.feature for d in latest.drift_warnings] == ["days_active"]


def test_rescoring_a_week_replaces_its_scores_and_keeps_history(engine: Engine) -> None:
    save_scores(engine, make_run(MONDAY - timedelta(days=7)), [row("s1", 0.2), row("s2", 0.4)])
    save_scores(engine, make_run(MONDAY), [row("s1", 0.5), row("s2", 0.4)])
    rerun = make_run(MONDAY + timedelta(days=2), version="4")
    save_scores(engine, rerun, [row("s1", 0.7)])

    with engine.connect() as conn:
        total = conn.execute(select(func.count()).select_from(schema.scores)).scalar()
    assert total == 3  # two from last week, one from the rescored week
    this_week = scores_for_week(engine, "2026-10-05")
    assert [(s.student_id, s.risk, s.model_version) for s in this_week] == [("s1", 0.7, "4")]
    assert scored_weeks(engine) == ["2026-09-28", "2026-10-05"]
    assert previous_scored_week(engine, "2026-10-05") == "2026-09-28"
    assert previous_scored_week(engine, "2026-09-28") is None
    found = run_for_week(engine, "2026-10-05")
    assert found is not None
    assert found.run_id == rerun.run_id
    assert [s.risk for s in student_history(engine, "s1")] == [0.2, 0.7]


def test_a_week_scored_with_no_students_still_counts_as_scored(engine: Engine) -> None:
    run = make_run(MONDAY)
    save_scores(engine, run, [])
    found = run_for_week(engine, "2026-10-05")
    assert found is not None
    assert found.n_scored == 0


def test_a_failed_save_writes_nothing(engine: Engine) -> None:
    save_scores(engine, make_run(MONDAY), [row("s1", 0.5)])
    with pytest.raises(StateError, match="s2 is scored twice"):
        save_scores(engine, make_run(MONDAY), [row("s2", 0.5), row("s2", 0.6)])
    assert [s.student_id for s in scores_for_week(engine, "2026-10-05")] == ["s1"]
    run = make_run(MONDAY)
    save_scores(engine, run, [row("s3", 0.5)])
    with pytest.raises(StateError, match="already stored"):
        save_scores(engine, run, [row("s4", 0.5)])
    assert [s.student_id for s in scores_for_week(engine, "2026-10-05")] == ["s3"]


def test_bad_rows_are_refused_with_the_student_named() -> None:
    with pytest.raises(StateError, match=r"student s9: risk 1\.5"):
        ScoreRow(student_id="s9", risk=1.5, tier="high", program_id="p1")
    with pytest.raises(StateError, match="tier 'urgent'"):
        ScoreRow(student_id="s9", risk=0.5, tier="urgent", program_id="p1")  # type: ignore[arg-type]
    with pytest.raises(StateError, match="'action' is missing"):
        ScoreRow(
            student_id="s9",
            risk=0.5,
            tier="high",
            program_id="p1",
            reasons=[{"driver": "x", "text": "y"}],
        )


def test_tiers_follow_the_thresholds() -> None:
    assert tier_for(0.5, high=0.5, medium=0.3) == "high"
    assert tier_for(0.4999, high=0.5, medium=0.3) == "medium"
    assert tier_for(0.3, high=0.5, medium=0.3) == "medium"
    assert tier_for(0.29, high=0.5, medium=0.3) == "low"


def test_importing_the_state_package_does_not_import_sqlalchemy() -> None:
    code = "import sys, earlywarn.state; print('sqlalchemy' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_a_state_database_of_the_first_release_is_upgraded_in_place(
    tmp_path: Path, smtp_server: SMTPServer
) -> None:
    import sqlite3

    from earlywarn.mail.delivery import deliver_pending
    from earlywarn.mail.senders import SMTPSender
    from earlywarn.state import outbox_entries

    path = tmp_path / "earlywarn.db"
    dump = (TEST_DATA / "state_v1.sql").read_text(encoding="utf-8")
    with sqlite3.connect(path) as conn:
        conn.executescript(dump)
    engine = open_state(f"sqlite:///{path}")
    with engine.connect() as conn:
        version = conn.execute(
            select(schema.meta.c.value).where(schema.meta.c.key == "schema_version")
        ).scalar()
    assert version == str(schema.SCHEMA_VERSION)
    assert _revision(engine) == "0003_feedback_and_holdout"  # stamped 0001, then upgraded
    # The message the old release left pending is still there, and goes out once.
    [entry] = outbox_entries(engine)
    assert (entry.recipient_id, entry.status, entry.next_attempt_at) == ("A1", "pending", None)
    sender = SMTPSender(host=smtp_server.host, port=smtp_server.port, security="none")
    result = deliver_pending(engine, sender, clock=lambda: MONDAY, sleep=lambda _: None)
    assert result.sent == [("A1", "2026-10-05")]
    assert [r.rcpt_tos for r in smtp_server.received] == [["ana@uni.example"]]
    engine.dispose()
    # Opening it again changes nothing.
    again = open_state(f"sqlite:///{path}")
    assert [e.status for e in outbox_entries(again)] == ["sent"]
    again.dispose()


def _revision(engine: Engine) -> str | None:
    from alembic.runtime.migration import MigrationContext

    with engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()


def test_the_migrations_build_exactly_the_tables_the_code_uses(state_url: str) -> None:
    from alembic.autogenerate import compare_metadata
    from alembic.runtime.migration import MigrationContext
    from alembic.script import ScriptDirectory
    from sqlalchemy import MetaData

    from earlywarn.state.job_runs import _job_runs_table
    from earlywarn.state.migrate import alembic_config

    engine = open_state(state_url)
    head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    assert _revision(engine) == head == "0003_feedback_and_holdout"
    everything = MetaData()
    for table in [*schema.metadata.tables.values(), _job_runs_table()]:
        table.to_metadata(everything)
    with engine.connect() as conn:
        differences = compare_metadata(MigrationContext.configure(conn), everything)
    assert differences == []
    engine.dispose()


def test_a_database_from_a_newer_release_is_refused(state_url: str) -> None:
    from sqlalchemy import text

    url = state_url
    engine = open_state(url)
    with engine.begin() as conn:
        conn.execute(text("update alembic_version set version_num = '0099_from_the_future'"))
    engine.dispose()
    with pytest.raises(StateError, match="schema revision 0099_from_the_future, which this"):
        open_state(url)
