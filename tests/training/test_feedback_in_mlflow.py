"""The next training run carries what advisors recorded: counts per choice and the share of flags
marked wrong, as metrics and as a summary per advisor and per tier."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from earlywarn.core.settings import Settings
from earlywarn.model.store import client
from earlywarn.state import open_state
from earlywarn.state.feedback import record_feedback
from earlywarn.training.pipeline import train_from_folder
from earlywarn.training.tracking import FEEDBACK_ARTIFACT


def test_training_logs_the_advisors_feedback_so_far(
    mlflow_settings: Settings, small_institution: Path
) -> None:
    engine = open_state(mlflow_settings.state_url)
    now = datetime(2026, 10, 12, 9, 0, tzinfo=UTC)
    try:
        for student, choice, tier in (
            ("S1", "reached_out", "high"),
            ("S2", "could_not_reach", "high"),
            ("S3", "flagged_wrongly", "medium"),
            ("S4", "not_at_risk", "medium"),
        ):
            record_feedback(
                engine,
                advisor_id="A1",
                student_id=student,
                week="2026-10-05",
                choice=choice,
                note="a note that stays in the state database"
                if choice == "flagged_wrongly"
                else None,
                tier=tier,
                now=now,
            )
    finally:
        engine.dispose()

    result = train_from_folder(mlflow_settings, small_institution)

    registry = client(mlflow_settings)
    metrics = registry.get_run(result.run_id).data.metrics
    assert metrics["feedback_recorded"] == 4
    assert metrics["feedback_could_not_reach"] == 1
    assert metrics["feedback_wrong_share"] == 0.5
    local = registry.download_artifacts(result.run_id, FEEDBACK_ARTIFACT)
    summary = Path(local).read_text(encoding="utf-8")
    assert '"A1"' in summary
    assert "a note that stays" not in summary  # notes never leave the state database
