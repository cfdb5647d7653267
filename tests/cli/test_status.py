"""``earlywarn status``: what an operator checks on Monday morning."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from earlywarn.cli import cli
from earlywarn.core.settings import load_settings
from earlywarn.ops.jobs import weekly_run
from earlywarn.ops.scheduler import WEEKLY_JOB_ID, build_scheduler
from earlywarn.state import latest_run, open_state

WEEK_1 = datetime(2026, 10, 5, 7, 0, tzinfo=UTC)


def _status(home: Path, state_url: str, *args: str) -> Any:
    result = CliRunner().invoke(
        cli, ["--home", str(home), "status", *args], env={"EARLYWARN_DATABASE_URL": state_url}
    )
    assert result.exit_code == 0, result.output
    return result.output


def test_status_of_a_new_home_says_there_is_nothing_yet(tmp_path: Path) -> None:
    state_url = f"sqlite:///{tmp_path / 'state.db'}"
    shown = json.loads(_status(tmp_path, state_url, "--json"))
    assert shown["champion"] is None
    assert shown["last_scoring_run"] is None
    assert shown["deliveries"] == {
        "pending": 0,
        "pending_weeks": {},
        "pending_messages": [],
        "failed": [],
    }
    assert shown["scheduler"] == {"running_pid": None, "timezone": "UTC", "next_runs": []}
    text = _status(tmp_path, state_url)
    assert "champion model: none (run earlywarn train DIR, then earlywarn promote)" in text
    assert "last scoring run: none" in text
    assert "scheduler: not running" in text


@pytest.mark.slow
def test_status_after_a_weekly_run_shows_model_run_deliveries_schedule_and_drift(
    champion_home: Path, tmp_path: Path, small_institution: Path, smtp_server: Any
) -> None:
    state_url = f"sqlite:///{tmp_path / 'state.db'}"
    settings = load_settings(
        champion_home,
        database_url=state_url,
        data_dir=small_institution,
        operator_email="operator@uni.example",
        drift_psi_warning=0.5,
        **smtp_server.settings_overrides(),
    )
    smtp_server.handler.data_replies.append("550 5.1.1 mailbox unavailable")
    report = weekly_run(settings, as_of=WEEK_1, sleep=lambda _: None)
    assert report.status == "ok"
    scheduler = build_scheduler(settings, blocking=False)
    scheduler.start(paused=True)
    next_weekly = scheduler.get_job(WEEKLY_JOB_ID).next_run_time
    scheduler.shutdown()

    env_settings = {"EARLYWARN_DRIFT_PSI_WARNING": "0.5"}
    result = CliRunner().invoke(
        cli,
        ["--home", str(champion_home), "status", "--json"],
        env={"EARLYWARN_DATABASE_URL": state_url, **env_settings},
    )
    assert result.exit_code == 0, result.output
    shown = json.loads(result.output)

    assert shown["champion"]["version"] == "1"
    assert shown["champion"]["promoted_at"] is not None
    assert shown["champion"]["promoted_by"] == "tests"
    run = shown["last_scoring_run"]
    score = report.summary["steps"]["score"]
    assert run["week"] == "2026-10-05"
    assert run["as_of"] == "2026-10-05T07:00:00+00:00"
    assert run["tiers"] == score["tiers"]
    assert run["students"] == score["students"]
    # The first message was refused for good: one failed delivery, named by recipient id.
    assert shown["deliveries"]["pending"] == 0
    assert len(shown["deliveries"]["failed"]) == 1
    assert "550" in shown["deliveries"]["failed"][0]["error"]
    assert shown["scheduler"]["next_runs"] == [
        {"job": WEEKLY_JOB_ID, "next_run_time": next_weekly.isoformat(timespec="seconds")}
    ]
    engine = open_state(state_url)
    try:
        stored = latest_run(engine)
    finally:
        engine.dispose()
    assert stored is not None
    assert [d["feature"] for d in shown["drift_warnings"]] == [
        d.feature for d in stored.drift_warnings
    ]
    # The run's drift: when, whether it alarmed, and every feature checked with its threshold.
    drift = shown["drift"]
    assert drift["as_of"] == "2026-10-05T07:00:00+00:00"
    assert drift["alarm"] is False  # the institution the champion was trained on, unchanged
    assert len(drift["features"]) > 10
    for row in drift["features"]:
        assert set(row) >= {"feature", "statistic", "threshold", "alarm"}
        assert row["alarm"] == (row["statistic"] > row["threshold"])
    assert shown["recent_jobs"][0]["job"] == "weekly"
    assert shown["recent_jobs"][0]["status"] == "ok"

    text = (
        CliRunner()
        .invoke(
            cli,
            ["--home", str(champion_home), "status"],
            env={"EARLYWARN_DATABASE_URL": state_url, **env_settings},
        )
        .output
    )
    assert "champion model: earlywarn-retention version 1" in text
    assert "last scoring run: week 2026-10-05, as of 2026-10-05T07:00:00+00:00" in text
    assert "deliveries: 0 pending, 1 failed" in text
    assert f"{WEEKLY_JOB_ID}: next run {next_weekly.isoformat(timespec='seconds')}" in text
    assert drift["summary"] in text
    assert drift["summary"].startswith("Drift: none")
