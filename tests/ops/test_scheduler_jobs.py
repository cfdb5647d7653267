"""The weekly job end to end: score, digest, send over real SMTP on loopback, record the run.

The same function runs from the scheduler and from ``earlywarn scheduler run --once``.
"""

from __future__ import annotations

from datetime import UTC, datetime
from email.utils import parseaddr
from pathlib import Path
from typing import Any

import pytest

from earlywarn.core.errors import UsageError
from earlywarn.core.settings import Settings, load_settings
from earlywarn.ops.jobs import retrain_run, weekly_run
from earlywarn.state import open_state
from earlywarn.state.job_runs import recent_job_runs

pytestmark = pytest.mark.slow

WEEK_1 = datetime(2026, 10, 5, 7, 0, tzinfo=UTC)
WEEK_2 = datetime(2026, 10, 12, 7, 0, tzinfo=UTC)


def _weekly_settings(
    champion_home: Path, tmp_path: Path, data: Path, smtp: Any, **extra: Any
) -> Settings:
    return load_settings(
        champion_home,
        database_url=f"sqlite:///{tmp_path / 'state.db'}",
        data_dir=data,
        operator_email="operator@uni.example",
        **smtp.settings_overrides(),
        **extra,
    )


def _job_runs(settings: Settings) -> list[Any]:
    engine = open_state(settings.state_url)
    try:
        return recent_job_runs(engine)
    finally:
        engine.dispose()


def _week_of(received: Any) -> str:
    return str(received.message["Subject"])


def test_weekly_run_scores_sends_each_advisor_a_digest_and_records_the_run(
    champion_home: Path, tmp_path: Path, small_institution: Path, smtp_server: Any
) -> None:
    settings = _weekly_settings(champion_home, tmp_path, small_institution, smtp_server)
    report = weekly_run(settings, as_of=WEEK_1, sleep=lambda _: None)
    assert report.status == "ok", report.summary
    score, digest = report.summary["steps"]["score"], report.summary["steps"]["digest"]
    assert score["week"] == "2026-10-05"
    assert score["students"] == sum(score["tiers"].values()) > 0
    assert digest["digests"] > 0
    assert digest["failed"] == digest["pending"] == 0
    recipients = [parseaddr(r.rcpt_tos[0])[1] for r in smtp_server.received]
    assert len(recipients) == digest["digests"] + 1  # every advisor, then the operator
    assert recipients[-1] == "operator@uni.example"
    assert len(set(recipients)) == len(recipients)
    # The operator summary names the model's MLflow run, which the MLflow UI can find.
    from earlywarn.model.store import client, version_run_id

    mlflow_run = version_run_id(settings, score["model_version"])
    assert mlflow_run is not None
    assert client(settings).get_run(mlflow_run).info.run_id == mlflow_run
    summary_text = smtp_server.received[-1].message.get_body(("plain",)).get_content()
    assert f"MLflow run {mlflow_run}" in summary_text
    runs = _job_runs(settings)
    assert [(r.job, r.status) for r in runs] == [("weekly", "ok")]
    assert runs[0].summary["steps"]["score"]["students"] == score["students"]


def test_messages_left_pending_by_an_outage_go_out_first_next_week(
    champion_home: Path, tmp_path: Path, small_institution: Path, smtp_server: Any
) -> None:
    settings = _weekly_settings(champion_home, tmp_path, small_institution, smtp_server)
    smtp_server.stop()
    down = weekly_run(settings, as_of=WEEK_1, sleep=lambda _: None)
    assert down.status == "ok"  # scored and staged; the mail server is a temporary problem
    assert down.summary["steps"]["digest"]["pending"] > 0
    assert smtp_server.received == []

    smtp_server.start()
    up = weekly_run(settings, as_of=WEEK_2, sleep=lambda _: None)
    assert up.status == "ok", up.summary
    earlier = up.summary["steps"]["deliver_earlier"]
    assert earlier["sent"] == down.summary["steps"]["digest"]["pending"]
    assert earlier["pending"] == earlier["failed"] == 0
    subjects = [_week_of(r) for r in smtp_server.received]
    first_week_2 = next(i for i, s in enumerate(subjects) if "2026-10-12" in s or "Oct 12" in s)
    assert first_week_2 >= earlier["sent"]
    assert up.summary["steps"]["digest"]["pending"] == 0
    assert [r.status for r in _job_runs(settings)] == ["ok", "ok"]


def test_a_run_without_a_data_folder_is_recorded_as_failed(mlflow_settings: Settings) -> None:
    with pytest.raises(UsageError, match="data_dir is not set"):
        weekly_run(mlflow_settings, as_of=WEEK_1)
    with pytest.raises(UsageError, match="data_dir is not set"):
        retrain_run(mlflow_settings)
    runs = _job_runs(mlflow_settings)
    assert sorted((r.job, r.status) for r in runs) == [("retrain", "failed"), ("weekly", "failed")]
    assert all("data_dir is not set" in r.summary["error"] for r in runs)


def test_retraining_promotes_a_challenger_the_guard_passes(
    champion_home: Path, tmp_path: Path, small_institution: Path
) -> None:
    import shutil
    import warnings

    from earlywarn.model.store import CHALLENGER, CHAMPION, alias_version

    home = tmp_path / "home"
    shutil.copytree(champion_home / "mlruns", home / "mlruns")
    # This job's flow, not the gate's judgement, is under test (tests/model/test_store.py tests the
    # gate): the small institution's test cohort is 108 students, whose weekly AUCs are noise of
    # several points, so an AUC tolerance of 0.1 and a calibration-gap limit of 1 let a challenger
    # retrained on the same data as its champion through.
    settings = load_settings(
        home,
        data_dir=small_institution,
        promote_max_calibration_gap=1.0,
        promote_auc_tolerance=0.1,
    )
    with warnings.catch_warnings():
        warnings.filterwarnings(
            "ignore", message="Skipping features without any observed values", category=UserWarning
        )
        report = retrain_run(settings)
    assert report.status == "ok", report.summary
    trained = report.summary["steps"]["train"]["model_version"]
    assert trained == alias_version(settings, CHALLENGER) == "2"
    promote = report.summary["steps"]["promote"]
    assert promote["status"] == "promoted", promote["reason"]
    assert "mean weekly ROC-AUC" in promote["reason"]
    assert alias_version(settings, CHAMPION) == "2"
    assert [(r.job, r.status) for r in _job_runs(settings)] == [("retrain", "ok")]


def test_a_weekly_run_on_stale_data_sends_nothing_and_records_the_failure(
    champion_home: Path, tmp_path: Path, small_institution: Path, smtp_server: Any
) -> None:
    """An export that stopped weeks ago would make every student look inactive: refuse it."""
    settings = _weekly_settings(champion_home, tmp_path, small_institution, smtp_server)
    months_later = datetime(2027, 1, 4, 7, 0, tzinfo=UTC)
    with pytest.raises(UsageError, match="days after the last time stamp"):
        weekly_run(settings, as_of=months_later, sleep=lambda _: None)
    assert smtp_server.received == []
    runs = _job_runs(settings)
    assert [(r.job, r.status) for r in runs] == [("weekly", "failed")]


def test_a_score_running_beside_a_digest_on_postgresql(
    champion_home: Path,
    small_institution: Path,
    smtp_server: Any,
    postgres_url: str,
) -> None:
    """Next week is scored while this week's digests go out, both on one PostgreSQL database:
    neither waits for nor spoils the other."""
    import threading

    from earlywarn.contract import load_tables
    from earlywarn.digest.run import run_digests
    from earlywarn.mail.senders import SMTPSender
    from earlywarn.scoring.score import score_institution
    from earlywarn.state import scores_for_week

    settings = load_settings(
        champion_home,
        database_url=postgres_url,
        data_dir=small_institution,
        operator_email="operator@uni.example",
        **smtp_server.settings_overrides(),
    )
    tables = load_tables(small_institution)
    first = score_institution(settings, small_institution, WEEK_1, tables=tables)
    barrier = threading.Barrier(2)
    outcome: dict[str, Any] = {}

    def score_next_week() -> None:
        barrier.wait()
        try:
            outcome["score"] = score_institution(settings, small_institution, WEEK_2, tables=tables)
        except BaseException as exc:
            outcome["score"] = exc

    def send_this_week() -> None:
        sender = SMTPSender.from_settings(settings, ssl_context=smtp_server.client_context())
        engine = open_state(postgres_url)  # its own connections, as another process would have
        barrier.wait()
        try:
            outcome["digest"] = run_digests(
                settings,
                tables,
                WEEK_1,
                send=True,
                sender=sender,
                sleep=lambda _: None,
                engine=engine,
            )
        except BaseException as exc:
            outcome["digest"] = exc
        finally:
            engine.dispose()

    threads = [threading.Thread(target=score_next_week), threading.Thread(target=send_this_week)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=300)
    assert not isinstance(outcome["score"], BaseException), outcome["score"]
    assert not isinstance(outcome["digest"], BaseException), outcome["digest"]
    second, digest = outcome["score"], outcome["digest"]
    assert digest.week == "2026-10-05"
    assert len(digest.digests) > 0
    assert digest.failed == digest.pending == []
    assert len(smtp_server.received) == len(digest.digests) + 1  # and the operator's summary
    engine = open_state(postgres_url)
    try:
        week_1 = scores_for_week(engine, "2026-10-05")
        week_2 = scores_for_week(engine, "2026-10-12")
    finally:
        engine.dispose()
    assert [s.run_id for s in week_1] == [first.run.run_id] * len(first.scores)
    assert {s.student_id for s in week_2} == {r.student_id for r in second.scores}
    assert len(week_2) == len(second.scores) > 0
    # The advisors read which model scored them by its training date, kept with the run.
    from earlywarn.model.store import version_trained_at

    trained = version_trained_at(settings, first.run.model_version)
    assert trained is not None
    assert first.run.details["model_trained_at"] == trained.isoformat()
    advisor_mail = smtp_server.received[0].message
    text = advisor_mail.get_body(preferencelist=("plain",)).get_content()
    assert f"scores from the model trained on {trained.day} {trained:%b %Y}" in text
