"""earlywarn feedback, impact and serve from the command line; the secret key never in a file."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path

import pytest
from click.testing import CliRunner

from earlywarn.cli import cli
from earlywarn.core.errors import SettingsError
from earlywarn.core.settings import load_settings
from earlywarn.state import open_state
from earlywarn.state.feedback import feedback_summary, list_feedback, record_feedback
from earlywarn.state.holdout import Flagged, assign_arms
from tests.web.helpers import AS_OF, WEEK, institution, record_week, settings_for


def test_feedback_lists_newest_first_and_status_counts_wrong_flags(tmp_path: Path) -> None:
    settings = settings_for(tmp_path)
    record_week(settings, AS_OF)
    engine = open_state(settings.state_url)
    for minutes, (advisor, student, choice, tier) in enumerate(
        [
            ("A1", "S001", "reached_out", "high"),
            ("A1", "S002", "flagged_wrongly", "medium"),
            ("A2", "S004", "not_at_risk", "high"),
            ("A2", "S005", "could_not_reach", "medium"),
        ]
    ):
        when = AS_OF + timedelta(minutes=minutes)
        record_feedback(engine, advisor_id=advisor, student_id=student, week=WEEK, choice=choice,
                        note="private words", tier=tier, now=when)  # fmt: skip
    out = CliRunner().invoke(cli, ["--home", str(tmp_path), "feedback", "--json"])
    assert out.exit_code == 0, out.output
    rows = json.loads(out.output)
    assert [r["student_id"] for r in rows] == ["S005", "S004", "S002", "S001"]
    assert set(rows[0]) == {"advisor_id", "student_id", "week", "choice", "recorded_at"}
    assert "private words" not in out.output
    summary = feedback_summary(list_feedback(engine))
    assert summary["marked_wrong"] == 2
    assert summary["wrong_share"] == 0.5
    assert summary["per_advisor"] == {
        "A1": {"recorded": 2, "marked_wrong": 1, "wrong_share": 0.5},
        "A2": {"recorded": 2, "marked_wrong": 1, "wrong_share": 0.5},
    }
    assert summary["per_tier"]["high"] == {"recorded": 2, "marked_wrong": 1, "wrong_share": 0.5}
    engine.dispose()


def test_impact_json_reports_arms_and_guardrails(tmp_path: Path) -> None:
    folder = institution(tmp_path / "data")
    home = tmp_path / "home"
    home.mkdir()
    settings = settings_for(home)
    engine = open_state(settings.state_url)
    flagged = [Flagged(s, "T", "high", 0.6) for s in ("S001", "S002", "S004", "S005")]
    arms = assign_arms(engine, flagged, share=0.5, seed=42, week=WEEK, now=AS_OF)
    engine.dispose()
    out = CliRunner().invoke(
        cli, ["--home", str(home), "impact", str(folder), "--as-of", "2025-01-15", "--json"]
    )
    assert out.exit_code == 0, out.output
    result = json.loads(out.output)
    n_notify = sum(1 for a in arms.values() if a.arm == "notify")
    assert result["overall"]["notify"]["n"] == n_notify
    assert result["overall"]["withhold"]["n"] == 4 - n_notify
    assert any("fewer than 200" in w for w in result["warnings"])


def test_serve_needs_the_key_and_the_key_is_never_in_a_file(tmp_path: Path) -> None:
    out = CliRunner().invoke(cli, ["--home", str(tmp_path), "serve"], standalone_mode=False)
    assert isinstance(out.exception, SettingsError)
    assert "EARLYWARN_SECRET_KEY" in str(out.exception)
    (tmp_path / "earlywarn.toml").write_text('secret_key = "in-a-file"\n')
    with pytest.raises(SettingsError, match="EARLYWARN_SECRET_KEY") as caught:
        load_settings(tmp_path)
    assert "in-a-file" not in str(caught.value)
