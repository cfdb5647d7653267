"""The weekly digest run end to end: state database, institution folder, real SMTP on loopback."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from earlywarn.cli import cli
from earlywarn.contract import Tables, load_tables
from earlywarn.core.errors import DeliveryError, StateError
from earlywarn.core.settings import Settings, load_settings
from earlywarn.digest.run import DigestResult, run_digests
from earlywarn.mail.delivery import RetryPolicy
from earlywarn.mail.senders import SMTPSender
from earlywarn.state import (
    DriftRow,
    OutgoingMessage,
    ScoreRow,
    ScoringRun,
    open_state,
    outbox_entries,
    save_scores,
    tier_for,
)
from tests.factories import minimal_institution, write_institution
from tests.fixtures.smtp import SMTPServer

AS_OF = datetime(2023, 10, 9, 7, 0, tzinfo=UTC)  # a Monday; the week key is 2023-10-09
WEEK = "2023-10-09"
EVIL = "<script>alert(1)</script> & Co"
# This week: S001 worse (35% -> 62%), S002 new (HTML in the name), S003 has no advisor,
# S004 new (20% -> 45%), S005 low (not listed).
THIS_WEEK = {"S001": 0.62, "S002": 0.55, "S003": 0.70, "S004": 0.45, "S005": 0.10}
LAST_WEEK = {"S001": 0.35, "S004": 0.20}
ADVISOR_OF = {"S001": "A1", "S002": "A1", "S004": "A2"}
ADDRESS = {"A1": "ana.advisor@uni.example", "A2": "ravi@uni.example"}


class Sleeps(list[float]):
    def __call__(self, seconds: float) -> None:
        self.append(seconds)


def clock() -> datetime:
    return AS_OF + timedelta(minutes=5)


@pytest.fixture(scope="module")
def institution(tmp_path_factory: pytest.TempPathFactory) -> Path:
    frames = minimal_institution()
    students = frames["students"]
    students.loc[students["student_id"] == "S002", "display_name"] = EVIL
    return write_institution(tmp_path_factory.mktemp("institution"), frames)


@pytest.fixture(scope="module")
def tables(institution: Path) -> Tables:
    return load_tables(institution)


def record(settings: Settings, as_of: datetime, risks: dict[str, float]) -> None:
    engine = open_state(settings.state_url)
    run = ScoringRun(
        as_of=as_of,
        model_name="retention",
        model_version="7",
        started_at=as_of,
        finished_at=as_of + timedelta(seconds=3),
        n_students=5,
        drift=(DriftRow("days_active_first_week", 0.31, "warning"),),
    )
    rows = [
        ScoreRow(
            student_id=s,
            risk=risk,
            tier=tier_for(risk, high=settings.tier_high, medium=settings.tier_medium),
            program_id="NY" if s < "S004" else "IN",
            advisor_id=ADVISOR_OF.get(s),
            courses="Foundations of Data",
            reasons=[
                {
                    "driver": "first_deadline_missed",
                    "text": f"Missed the first graded deadline ({s}).",
                    "action": "Call this week.",
                }
            ],
        )
        for s, risk in risks.items()
    ]
    save_scores(engine, run, rows)
    engine.dispose()


def make_settings(home: Path, server: SMTPServer | None = None, **extra: Any) -> Settings:
    # The risks above are chosen around a medium tier of 0.3; pin it for every load of this home.
    (home / "earlywarn.toml").write_text("tier_medium = 0.3\n")
    overrides: dict[str, Any] = {
        "mail_from": "earlywarn@uni.example",
        "operator_email": "ops@uni.example",
        "list_unsubscribe": "<mailto:ops@uni.example?subject=unsubscribe>",
    }
    if server is not None:
        overrides.update(server.settings_overrides())
    overrides.update(extra)
    return load_settings(home, **overrides)


@pytest.fixture
def home(tmp_path: Path) -> Path:
    settings = make_settings(tmp_path)
    record(settings, AS_OF - timedelta(days=7), LAST_WEEK)
    record(settings, AS_OF, THIS_WEEK)
    return tmp_path


def send(
    settings: Settings, tables: Tables, server: SMTPServer, as_of: datetime = AS_OF, **kw: Any
) -> DigestResult:
    sender = SMTPSender.from_settings(settings, ssl_context=server.client_context())
    kw.setdefault("clock", clock)
    return run_digests(settings, tables, as_of, send=True, sender=sender, **kw)


def inbox(server: SMTPServer) -> dict[str, list[EmailMessage]]:
    by_rcpt: dict[str, list[EmailMessage]] = {}
    for received in server.received:
        for rcpt in received.rcpt_tos:
            by_rcpt.setdefault(rcpt, []).append(received.message)
    return by_rcpt


def everything_in(msg: EmailMessage) -> str:
    """Every text part and attachment of a message, decoded."""
    chunks = []
    for part in msg.walk():
        if not part.is_multipart():
            chunks.append(part.get_content())
    return "\n".join(c if isinstance(c, str) else c.decode() for c in chunks)


def parts(msg: EmailMessage) -> tuple[str, str, str]:
    text = msg.get_body(("plain",))
    html = msg.get_body(("html",))
    assert text is not None
    assert html is not None
    [attachment] = list(msg.iter_attachments())
    text_content, html_content, csv_content = (
        str(part.get_content()).replace("\r\n", "\n") for part in (text, html, attachment)
    )
    return text_content, html_content, csv_content


def test_each_advisor_receives_their_own_students_and_no_one_else(
    home: Path, tables: Tables, smtp_server: SMTPServer
) -> None:
    settings = make_settings(home, smtp_server)
    result = send(settings, tables, smtp_server)
    assert result.digests == ["A1", "A2"]
    assert result.operator == "sent"
    mail = inbox(smtp_server)
    assert sorted(mail) == ["ana.advisor@uni.example", "ops@uni.example", "ravi@uni.example"]
    assert all(len(messages) == 1 for messages in mail.values())

    for advisor, address in ADDRESS.items():
        [msg] = mail[address]
        content = everything_in(msg)
        for student in THIS_WEEK:
            listed = ADVISOR_OF.get(student) == advisor
            assert (student in content) == listed, (advisor, student)
        assert "Priya Rao" not in content if advisor == "A1" else "Jo Smith" not in content

    [ana] = mail["ana.advisor@uni.example"]
    # Term T-NY-2023F began on Monday 4 Sep: 9 Oct in New York is day 35, week 6 of term.
    assert ana["Subject"] == (
        "2 students to contact, 1 new this week "
        "(Data Science (New York), week 6 of term; 2023-10-09)"
    )
    assert ana["From"] == "earlywarn <earlywarn@uni.example>"
    assert ana["To"] == "Ana Advisor <ana.advisor@uni.example>"
    assert ana["List-Unsubscribe"] == "<mailto:ops@uni.example?subject=unsubscribe>"
    assert ana["Date"]
    assert ana["Message-ID"].endswith("@uni.example>")
    assert ana.get_content_type() == "multipart/mixed"
    assert [p.get_content_type() for p in ana.iter_parts()] == [
        "multipart/alternative",
        "text/csv",
    ]
    text, html, attached = parts(ana)
    assert "Risk: high, 62% - worse (35% -> 62% since 2023-10-02)" in text
    assert f"{EVIL} (S002)" in text
    assert "Risk: high, 55% - new this week" in text
    assert "Missed the first graded deadline (S001)." in text
    assert "Suggested:\n   - Call this week." in text
    assert "Courses: Foundations of Data; Programming I" in text
    assert "<script>" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt; &amp; Co" in html
    assert attached.startswith("\ufeff")  # so that Excel reads it as UTF-8
    rows = list(csv.DictReader(io.StringIO(attached.removeprefix("\ufeff"))))
    assert [r["student_id"] for r in rows] == ["S001", "S002"]

    [ops] = mail["ops@uni.example"]
    summary = ops.get_content().replace("\r\n", "\n")
    assert "S003  high 70%  no advisor" in summary
    assert "days_active_first_week  PSI 0.310" in summary
    assert "5 students scored: 3 high, 1 medium, 1 low." in summary
    assert "Jo Smith" not in summary
    assert "Priya" not in summary


def test_a_second_run_sends_nothing_new(
    home: Path, tables: Tables, smtp_server: SMTPServer
) -> None:
    settings = make_settings(home, smtp_server)
    send(settings, tables, smtp_server)
    again = send(settings, tables, smtp_server)
    assert again.delivery.sent == []
    assert again.already_sent == ["A1", "A2"]
    assert again.operator == "already sent for this week"
    assert len(smtp_server.received) == 3


def test_a_dry_run_writes_files_and_a_later_send_still_sends_everything(
    home: Path, tables: Tables, smtp_server: SMTPServer
) -> None:
    settings = make_settings(home, smtp_server)
    dry = run_digests(settings, tables, AS_OF, send=False, clock=clock)
    outbox = settings.outbox_dir / WEEK
    assert sorted(p.name for p in outbox.iterdir()) == ["A1.eml", "A2.eml", "__operator__.eml"]
    assert sorted(dry.files) == sorted(outbox.iterdir())
    written = message_from_bytes((outbox / "A2.eml").read_bytes(), policy=policy.default)
    assert isinstance(written, EmailMessage)
    assert written["To"] == "Ravi Mentor <ravi@uni.example>"
    assert "Priya Rao (S004)" in parts(written)[0]
    assert "DRY RUN" in (outbox / "__operator__.eml").read_text()
    assert outbox_entries(open_state(settings.state_url)) == []
    assert smtp_server.received == []

    result = send(settings, tables, smtp_server)
    assert len(result.delivery.sent) == 3
    assert sorted(inbox(smtp_server)) == [
        "ana.advisor@uni.example",
        "ops@uni.example",
        "ravi@uni.example",
    ]


def test_a_server_down_gets_the_digests_on_the_next_run_exactly_once(
    home: Path, tables: Tables, smtp_server: SMTPServer
) -> None:
    settings = make_settings(home, smtp_server)
    smtp_server.stop()
    sleeps = Sleeps()
    down = send(settings, tables, smtp_server, sleep=sleeps)
    assert down.delivery.sent == []
    assert {e.recipient_id for e in down.pending} == {"A1", "A2", "__operator__"}
    assert down.operator == "pending (the mail server could not be reached)"
    assert sleeps == []  # an outage is not waited out within the run

    smtp_server.start()
    up = send(settings, tables, smtp_server, sleep=sleeps)
    send(settings, tables, smtp_server, sleep=sleeps)
    assert sorted(k[0] for k in up.delivery.sent) == ["A1", "A2", "__operator__"]
    assert (up.pending, up.failed) == ([], [])
    [ops] = inbox(smtp_server)["ops@uni.example"]
    summary = ops.get_content()
    assert "nothing pending or failed" in summary
    assert "__operator__" not in summary
    assert sorted(r.rcpt_tos[0] for r in smtp_server.received) == [
        "ana.advisor@uni.example",
        "ops@uni.example",
        "ravi@uni.example",
    ]


def test_a_temporary_refusal_is_delivered_on_the_next_run(
    home: Path, tables: Tables, smtp_server: SMTPServer
) -> None:
    settings = make_settings(home, smtp_server)
    smtp_server.handler.rcpt_replies["ravi@uni.example"] = "451 4.7.1 greylisted, come back later"
    policy = RetryPolicy(attempts=2)
    first = send(settings, tables, smtp_server, sleep=Sleeps(), policy=policy)
    assert [k for k, _ in first.delivery.still_pending] == [("A2", WEEK)]
    pending = {e.recipient_id: e for e in first.pending}
    assert pending["A2"].last_error == "451 4.7.1 greylisted, come back later"
    [ops] = inbox(smtp_server)["ops@uni.example"]
    assert (
        "PENDING  A2  week 2023-10-09  2 attempts  next try after 2023-10-09 07:15 UTC  "
        "last error: 451 4.7.1 greylisted, come back later"
    ) in ops.get_content()

    del smtp_server.handler.rcpt_replies["ravi@uni.example"]
    later = AS_OF + timedelta(hours=1)  # after the back-off (600 s after two tries)
    second = send(settings, tables, smtp_server, sleep=Sleeps(), policy=policy, clock=lambda: later)
    assert second.delivery.sent == [("A2", WEEK)]
    assert len(inbox(smtp_server)["ravi@uni.example"]) == 1
    assert len(inbox(smtp_server)["ana.advisor@uni.example"]) == 1


def test_a_permanent_refusal_is_reported_with_the_server_answer(
    home: Path, tables: Tables, smtp_server: SMTPServer
) -> None:
    settings = make_settings(home, smtp_server)
    smtp_server.handler.rcpt_replies["ravi@uni.example"] = (
        "550 5.1.1 <ravi@uni.example>: mailbox unknown"
    )
    # Stored, logged and shown to the operator by advisor id: the quoted address is left out.
    answer = "550 5.1.1 <address>: mailbox unknown"
    result = send(settings, tables, smtp_server, sleep=Sleeps())
    assert [(k, error) for k, error in result.delivery.failed] == [(("A2", WEEK), answer)]
    [failed] = outbox_entries(open_state(settings.state_url), status="failed")
    assert (failed.recipient_id, failed.last_error, failed.attempts) == ("A2", answer, 1)
    [ops] = inbox(smtp_server)["ops@uni.example"]
    assert f"FAILED   A2  week 2023-10-09  1 attempt  reason: {answer}" in ops.get_content()
    again = send(settings, tables, smtp_server, sleep=Sleeps())
    assert again.delivery.sent == []
    assert len(smtp_server.received) == 2  # Ana's digest and the operator summary, once each


def test_rebuilding_a_pending_week_refreshes_it_and_a_sent_one_is_never_rebuilt(
    home: Path, tables: Tables, smtp_server: SMTPServer
) -> None:
    settings = make_settings(home, smtp_server)
    smtp_server.stop()
    send(settings, tables, smtp_server, sleep=Sleeps(), policy=RetryPolicy(attempts=1))
    # Rescored while pending: S002 drops out of A1's list.
    record(settings, AS_OF + timedelta(hours=2), {**THIS_WEEK, "S002": 0.05})
    smtp_server.start()
    send(settings, tables, smtp_server, sleep=Sleeps())
    [ana] = inbox(smtp_server)["ana.advisor@uni.example"]
    assert "S002" not in everything_in(ana)
    assert ana["Subject"].startswith("1 student to contact, 0 new this week")

    record(settings, AS_OF + timedelta(hours=4), THIS_WEEK)  # rescored after sending
    send(settings, tables, smtp_server, sleep=Sleeps())
    assert len(inbox(smtp_server)["ana.advisor@uni.example"]) == 1


def test_starttls_and_login_with_settings_from_the_environment(
    home: Path,
    tables: Tables,
    make_smtp_server: Callable[..., SMTPServer],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    server = make_smtp_server(security="starttls", auth=True)
    overrides = server.settings_overrides()
    monkeypatch.setenv("EARLYWARN_SMTP_HOST", overrides["smtp_host"])
    monkeypatch.setenv("EARLYWARN_SMTP_PORT", str(overrides["smtp_port"]))
    monkeypatch.setenv("EARLYWARN_SMTP_SECURITY", "starttls")
    monkeypatch.setenv("EARLYWARN_SMTP_USER", overrides["smtp_user"])
    monkeypatch.setenv("EARLYWARN_SMTP_PASSWORD", overrides["smtp_password"])
    monkeypatch.setenv("EARLYWARN_MAIL_FROM", "Early Warning <ew@uni.example>")
    settings = load_settings(home)
    result = send(settings, tables, server)
    assert len(result.delivery.sent) == 2  # no operator_email: the summary stays in the folder
    assert server.handler.logins
    assert result.operator.startswith("written to ")
    assert (settings.outbox_dir / WEEK / "__operator__.eml").is_file()
    [msg, _] = [r.message for r in server.received]
    assert msg["From"] == "Early Warning <ew@uni.example>"

    monkeypatch.setenv("EARLYWARN_SMTP_PASSWORD", "wrong")
    record(load_settings(home), AS_OF + timedelta(days=7), THIS_WEEK)
    with pytest.raises(DeliveryError, match="login refused") as info:
        send(load_settings(home), tables, server, as_of=AS_OF + timedelta(days=7))
    assert "wrong" not in str(info.value)


def test_an_unscored_week_is_refused_with_what_to_run(
    home: Path, tables: Tables, institution: Path
) -> None:
    settings = make_settings(home)
    with pytest.raises(StateError, match=f"run earlywarn score {institution} --as-of 2023-10-30"):
        run_digests(settings, tables, AS_OF + timedelta(days=21), send=False, clock=clock)


def test_the_command_previews_then_sends(
    home: Path, institution: Path, smtp_server: SMTPServer
) -> None:
    env = {
        "EARLYWARN_SMTP_HOST": smtp_server.host,
        "EARLYWARN_SMTP_PORT": str(smtp_server.port),
        "EARLYWARN_SMTP_SECURITY": "none",
        "EARLYWARN_MAIL_FROM": "earlywarn@uni.example",
    }
    runner = CliRunner()
    args = ["--home", str(home), "digest", str(institution), "--as-of", "2023-10-10"]
    preview = runner.invoke(cli, args, env=env)
    assert preview.exit_code == 0, preview.output
    assert f"2 advisor digests written to {home / 'outbox' / WEEK}" in preview.output
    assert str(home / "outbox" / WEEK / "A1.eml") in preview.output
    assert smtp_server.received == []

    sent = runner.invoke(cli, [*args, "--send"], env=env)
    assert sent.exit_code == 0, sent.output
    assert "2 messages sent now" in sent.output
    assert len(smtp_server.received) == 2

    unscored = runner.invoke(cli, [*args[:-1], "2024-01-01"], env=env)
    assert unscored.exit_code == 1
    assert "has not been scored; run earlywarn score" in str(unscored.exception)


class DiesOnFirstSend:
    """A sender whose process is killed as it starts sending (a Sender, as the run sees it)."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.outbox_at_first_send: list[tuple[str, str]] = []

    def send(self, message: OutgoingMessage) -> None:
        engine = open_state(self.settings.state_url)
        self.outbox_at_first_send = [(e.recipient_id, e.status) for e in outbox_entries(engine)]
        raise KeyboardInterrupt

    def close(self) -> None:
        return None


def test_a_run_killed_after_building_loses_nothing(
    home: Path, tables: Tables, smtp_server: SMTPServer
) -> None:
    settings = make_settings(home, smtp_server)
    dying = DiesOnFirstSend(settings)
    with pytest.raises(KeyboardInterrupt):
        run_digests(settings, tables, AS_OF, send=True, clock=clock, sender=dying)
    # Every digest was committed to the outbox before the first send began.
    assert dying.outbox_at_first_send == [("A1", "pending"), ("A2", "pending")]

    result = send(settings, tables, smtp_server)
    send(settings, tables, smtp_server)
    assert sorted(k[0] for k in result.delivery.sent) == ["A1", "A2", "__operator__"]
    assert len(smtp_server.received) == 3


def _smtp_env(server: SMTPServer) -> dict[str, str]:
    return {
        "EARLYWARN_SMTP_HOST": server.host,
        "EARLYWARN_SMTP_PORT": str(server.port),
        "EARLYWARN_SMTP_SECURITY": "none",
        "EARLYWARN_MAIL_FROM": "earlywarn@uni.example",
        "EARLYWARN_OPERATOR_EMAIL": "ops@uni.example",
    }


def test_after_an_outage_the_run_that_delivers_everything_exits_0(
    home: Path, institution: Path, smtp_server: SMTPServer
) -> None:
    runner = CliRunner()
    args = ["--home", str(home), "digest", str(institution), "--as-of", "2023-10-10", "--send"]
    smtp_server.stop()
    down = runner.invoke(cli, args, env=_smtp_env(smtp_server))
    assert down.exit_code == 1, down.output
    assert "pending A1 (week 2023-10-09, 0 attempts): cannot reach the server" in down.output

    smtp_server.start()
    up = runner.invoke(cli, [*args, "--json"], env=_smtp_env(smtp_server))
    assert up.exit_code == 0, up.output
    shown = json.loads(up.output)
    assert sorted(r for r, _ in shown["sent"]) == ["A1", "A2", "__operator__"]
    assert (shown["pending"], shown["failed"]) == ([], [])
    [ops] = inbox(smtp_server)["ops@uni.example"]
    assert "PENDING" not in ops.get_content()
    assert "__operator__" not in ops.get_content()


def test_a_message_cut_off_after_storing_holds_up_no_one_and_status_shows_it(
    home: Path, institution: Path, smtp_server: SMTPServer
) -> None:
    runner = CliRunner()
    args = ["--home", str(home), "digest", str(institution), "--as-of", "2023-10-10", "--send"]
    smtp_server.handler.store_then_cut = {"ana.advisor@uni.example"}
    for _ in range(2):
        run = runner.invoke(cli, args, env=_smtp_env(smtp_server))
        assert run.exit_code == 1, run.output  # A1's digest is not known to be delivered
        assert "Traceback" not in run.output
        # In the first run already, everyone else got their message, once.
        assert len(inbox(smtp_server)["ravi@uni.example"]) == 1
        assert len(inbox(smtp_server)["ops@uni.example"]) == 1
    assert 1 <= len(inbox(smtp_server)["ana.advisor@uni.example"]) <= 2

    status = runner.invoke(cli, ["--home", str(home), "status", "--json"])
    assert status.exit_code == 0, status.output
    deliveries = json.loads(status.output)["deliveries"]
    [message] = deliveries["pending_messages"]
    assert (message["recipient_id"], message["week"], message["attempts"]) == ("A1", WEEK, 1)
    assert message["last_error"].startswith("outcome unknown: the connection ended after")
    assert message["next_attempt_at"] is not None


def test_a_refused_login_is_one_line_naming_the_settings_exit_1(
    home: Path,
    institution: Path,
    make_smtp_server: Callable[..., SMTPServer],
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    from earlywarn.cli import main

    server = make_smtp_server(security="none", auth=True)
    env = {
        **_smtp_env(server),
        "EARLYWARN_SMTP_USER": "earlywarn",
        "EARLYWARN_SMTP_PASSWORD": "not-the-password-42",
    }
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    args = ["--home", str(home), "digest", str(institution), "--as-of", "2023-10-10", "--send"]
    with pytest.raises(SystemExit) as exited:
        main(args)
    out, err = capsys.readouterr()
    assert exited.value.code == 1
    assert "Traceback" not in err
    errors = [line for line in err.splitlines() if line.startswith("error: ")]
    assert len(errors) == 1, err
    assert "login refused: 535" in errors[0]
    assert "check smtp_user (EARLYWARN_SMTP_USER)" in errors[0]
    assert "EARLYWARN_SMTP_PASSWORD" in errors[0]
    assert "not-the-password-42" not in out + err
    assert server.received == []
