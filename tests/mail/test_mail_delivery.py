"""Delivery through a real SMTP server on loopback: nothing lost, nothing sent twice."""

from __future__ import annotations

import smtplib
import socket
import ssl
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from email.headerregistry import Address
from pathlib import Path

import pytest
from sqlalchemy import Engine

from earlywarn.core.errors import DeliveryError, SendError
from earlywarn.mail.delivery import classify, deliver_pending
from earlywarn.mail.message import build_message, message_bytes
from earlywarn.mail.senders import FolderSender, SMTPSender, eml_name
from earlywarn.state import OutgoingMessage, open_state, outbox_entries
from earlywarn.state.outbox import stage
from tests.fixtures.smtp import SMTP_PASSWORD, SMTP_USER, SMTPServer

NOW = datetime(2026, 10, 5, 7, 0, tzinfo=UTC)
WEEK = "2026-10-05"


class Clock:
    """A clock that moves only when told to."""

    def __init__(self) -> None:
        self.now = NOW

    def __call__(self) -> datetime:
        return self.now


class Sleeps(list[float]):
    """Records the backoff instead of sleeping."""

    def __call__(self, seconds: float) -> None:
        self.append(seconds)


@pytest.fixture
def engine(state_url: str) -> Iterator[Engine]:
    """The outbox's database, on SQLite and on PostgreSQL (``tests/fixtures/postgres.py``)."""
    engine = open_state(state_url)
    yield engine
    engine.dispose()


def outgoing(recipient_id: str, to: str, week: str = WEEK) -> OutgoingMessage:
    sender = Address("earlywarn", "earlywarn", "uni.example")
    local, domain = to.split("@")
    msg = build_message(
        to=Address(recipient_id, local, domain),
        mail_from=sender,
        subject=f"digest for {recipient_id}",
        text=f"students of {recipient_id}",
        html=None,
        date=NOW,
    )
    return OutgoingMessage(
        recipient_id=recipient_id,
        week=week,
        kind="advisor",
        to_addr=to,
        from_addr=sender.addr_spec,
        subject=str(msg["Subject"]),
        message_id=str(msg["Message-ID"]),
        data=message_bytes(msg),
        n_students=1,
    )


def smtp_sender(server: SMTPServer, **changes: object) -> SMTPSender:
    options: dict[str, object] = {
        "host": server.host,
        "port": server.port,
        "security": server.security,
        "timeout": 5.0,
        "ssl_context": server.client_context(),
    }
    if server.auth:
        options.update(user=SMTP_USER, password=SMTP_PASSWORD)
    options.update(changes)
    return SMTPSender(**options)  # type: ignore[arg-type]


def statuses(engine: Engine) -> dict[str, tuple[str, int]]:
    return {e.recipient_id: (e.status, e.attempts) for e in outbox_entries(engine)}


def test_messages_reach_their_recipients_once(engine: Engine, smtp_server: SMTPServer) -> None:
    stage(engine, [outgoing("a1", "ana@uni.example"), outgoing("a2", "ravi@uni.example")], NOW)
    sleeps = Sleeps()
    first = deliver_pending(engine, smtp_sender(smtp_server), clock=Clock(), sleep=sleeps)
    assert sorted(first.sent) == [("a1", WEEK), ("a2", WEEK)]
    by_rcpt = {tuple(r.rcpt_tos): r.message for r in smtp_server.received}
    assert by_rcpt[("ana@uni.example",)]["Subject"] == "digest for a1"
    assert by_rcpt[("ravi@uni.example",)]["Subject"] == "digest for a2"

    again = deliver_pending(engine, smtp_sender(smtp_server), clock=Clock(), sleep=sleeps)
    stage(engine, [outgoing("a1", "ana@uni.example")], NOW)  # a rebuild after sending
    third = deliver_pending(engine, smtp_sender(smtp_server), clock=Clock(), sleep=sleeps)
    assert again.sent == []
    assert third.sent == []
    assert len(smtp_server.received) == 2
    assert statuses(engine) == {"a1": ("sent", 1), "a2": ("sent", 1)}
    assert sleeps == []


def test_temporary_refusal_is_retried_with_backoff_then_left_pending(
    engine: Engine, smtp_server: SMTPServer
) -> None:
    stage(engine, [outgoing("a1", "ana@uni.example")], NOW)
    smtp_server.handler.data_replies = ["451 4.3.0 try again later"] * 3
    sleeps = Sleeps()
    result = deliver_pending(engine, smtp_sender(smtp_server), clock=Clock(), sleep=sleeps)
    assert result.sent == []
    assert result.still_pending == [(("a1", WEEK), "451 4.3.0 try again later")]
    assert sleeps == [2.0, 8.0]
    [entry] = outbox_entries(engine)
    assert (entry.status, entry.attempts, entry.last_error) == (
        "pending",
        3,
        "451 4.3.0 try again later",
    )
    assert smtp_server.received == []

    # Deferred: 3 tries so far, so 300 s doubled twice before the next one.
    assert entry.next_attempt_at == NOW + timedelta(seconds=1200)

    # A run inside the back-off leaves it alone; the first run after it gets it through, once.
    clock = Clock()
    early = deliver_pending(engine, smtp_sender(smtp_server), clock=clock, sleep=sleeps)
    assert early.sent == []
    assert early.deferred == [(("a1", WEEK), NOW + timedelta(seconds=1200))]
    clock.now = NOW + timedelta(minutes=21)
    result = deliver_pending(engine, smtp_sender(smtp_server), clock=clock, sleep=sleeps)
    deliver_pending(engine, smtp_sender(smtp_server), clock=clock, sleep=sleeps)
    assert result.sent == [("a1", WEEK)]
    assert [r.rcpt_tos for r in smtp_server.received] == [["ana@uni.example"]]
    assert statuses(engine) == {"a1": ("sent", 4)}


def test_a_421_is_retried_within_the_run(engine: Engine, smtp_server: SMTPServer) -> None:
    stage(engine, [outgoing("a1", "ana@uni.example")], NOW)
    smtp_server.handler.data_replies = ["421 4.7.0 too busy"]
    sleeps = Sleeps()
    result = deliver_pending(engine, smtp_sender(smtp_server), clock=Clock(), sleep=sleeps)
    assert result.sent == [("a1", WEEK)]
    assert sleeps == [2.0]
    assert statuses(engine) == {"a1": ("sent", 2)}
    assert len(smtp_server.received) == 1


def test_a_connection_dropped_after_the_content_is_not_retried_in_the_same_run(
    engine: Engine, smtp_server: SMTPServer
) -> None:
    stage(engine, [outgoing("a1", "ana@uni.example")], NOW)
    smtp_server.handler.drop_next_data = 1
    sleeps = Sleeps()
    clock = Clock()
    result = deliver_pending(engine, smtp_sender(smtp_server), clock=clock, sleep=sleeps)
    assert result.sent == []
    assert sleeps == []  # the server may have the message: no second copy at once
    [entry] = outbox_entries(engine)
    assert (entry.status, entry.attempts) == ("pending", 1)
    assert entry.last_error is not None
    assert entry.last_error.startswith("outcome unknown")
    assert entry.next_attempt_at == NOW + timedelta(seconds=300)
    clock.now = NOW + timedelta(minutes=6)
    result = deliver_pending(engine, smtp_sender(smtp_server), clock=clock, sleep=sleeps)
    assert result.sent == [("a1", WEEK)]
    assert statuses(engine) == {"a1": ("sent", 2)}
    assert len(smtp_server.received) == 1


def test_a_message_cut_off_after_storing_does_not_hold_up_the_others(
    engine: Engine, smtp_server: SMTPServer
) -> None:
    advisors = {f"a{i}": f"advisor{i}@uni.example" for i in range(1, 7)}
    stage(engine, [outgoing(rid, to) for rid, to in advisors.items()], NOW)
    smtp_server.handler.store_then_cut = {"advisor1@uni.example"}
    clock = Clock()
    sleeps = Sleeps()

    def copies() -> dict[str, int]:
        counted = dict.fromkeys(advisors.values(), 0)
        for received in smtp_server.received:
            counted[received.rcpt_tos[0]] += 1
        return counted

    first = deliver_pending(engine, smtp_sender(smtp_server), clock=clock, sleep=sleeps)
    assert sorted(first.sent) == [(f"a{i}", WEEK) for i in range(2, 7)]
    assert copies() == dict.fromkeys(advisors.values(), 1)
    # Two more runs, one inside the back-off and one after it: one more copy at most.
    deliver_pending(engine, smtp_sender(smtp_server), clock=clock, sleep=sleeps)
    clock.now = NOW + timedelta(minutes=6)
    deliver_pending(engine, smtp_sender(smtp_server), clock=clock, sleep=sleeps)
    assert copies()["advisor1@uni.example"] == 2
    assert all(n == 1 for to, n in copies().items() if to != "advisor1@uni.example")
    assert sleeps == []
    [entry] = outbox_entries(engine, status="pending")
    assert (entry.recipient_id, entry.attempts) == ("a1", 2)
    assert entry.next_attempt_at == clock.now + timedelta(seconds=600)


def test_pending_messages_are_tried_longest_waiting_first(engine: Engine) -> None:
    from earlywarn.state.outbox import claim, delivery_queue, mark_pending

    stage(engine, [outgoing("a1", "ana@uni.example"), outgoing("a2", "ravi@uni.example")], NOW)
    assert claim(engine, ("a1", WEEK), NOW, timedelta(minutes=5))
    mark_pending(
        engine, ("a1", WEEK), NOW, attempts=1, error="451", next_attempt_at=NOW + timedelta(1)
    )
    stage(engine, [outgoing("a0", "zoe@uni.example")], NOW + timedelta(hours=1))
    # a1 was deferred (it waits from the end of its back-off): the others go first.
    assert [e.recipient_id for e in delivery_queue(engine)] == ["a2", "a0", "a1"]


def test_a_message_is_given_up_after_its_attempts_and_the_reason_kept(
    engine: Engine, smtp_server: SMTPServer
) -> None:
    from earlywarn.mail.delivery import RetryPolicy

    stage(engine, [outgoing("a1", "ana@uni.example")], NOW)
    smtp_server.handler.rcpt_replies["ana@uni.example"] = "452 4.2.2 mailbox full"
    policy = RetryPolicy(attempts=1, max_attempts=2)
    clock = Clock()
    first = deliver_pending(
        engine, smtp_sender(smtp_server), clock=clock, sleep=Sleeps(), policy=policy
    )
    assert first.failed == []
    clock.now = NOW + timedelta(hours=1)
    second = deliver_pending(
        engine, smtp_sender(smtp_server), clock=clock, sleep=Sleeps(), policy=policy
    )
    [(key, reason)] = second.failed
    assert key == ("a1", WEEK)
    assert reason == (
        "gave up after 2 attempts (delivery_max_attempts); last error: 452 4.2.2 mailbox full"
    )
    [entry] = outbox_entries(engine, status="failed")
    assert (entry.attempts, entry.last_error) == (2, reason)


def test_a_message_past_the_queue_lifetime_is_failed_without_a_try(
    engine: Engine, smtp_server: SMTPServer
) -> None:
    stage(engine, [outgoing("a1", "ana@uni.example")], NOW)
    clock = Clock()
    clock.now = NOW + timedelta(days=6)
    result = deliver_pending(engine, smtp_sender(smtp_server), clock=clock, sleep=Sleeps())
    [(_, reason)] = result.failed
    assert reason.startswith("gave up after 6.0 days in the queue (delivery_queue_lifetime_days 5)")
    assert smtp_server.received == []
    assert statuses(engine) == {"a1": ("failed", 0)}


def test_a_stopped_server_gets_everything_on_the_next_run_exactly_once(
    engine: Engine, smtp_server: SMTPServer
) -> None:
    stage(
        engine,
        [outgoing("a1", "ana@uni.example"), outgoing("a2", "ravi@uni.example")],
        NOW,
    )
    smtp_server.stop()
    sleeps = Sleeps()
    result = deliver_pending(engine, smtp_sender(smtp_server), clock=Clock(), sleep=sleeps)
    assert result.sent == []
    [(key, error)] = result.still_pending
    assert key == ("a1", WEEK)
    assert error.startswith("cannot reach the server: ConnectionRefusedError")
    # An outage stops the run at once, and counts against no message.
    assert result.not_tried == [("a2", WEEK)]
    assert result.unreachable == error
    assert sleeps == []
    assert statuses(engine) == {"a1": ("pending", 0), "a2": ("pending", 0)}
    assert all(e.next_attempt_at is None for e in outbox_entries(engine))

    smtp_server.start()
    result = deliver_pending(engine, smtp_sender(smtp_server), clock=Clock(), sleep=sleeps)
    deliver_pending(engine, smtp_sender(smtp_server), clock=Clock(), sleep=sleeps)
    assert sorted(result.sent) == [("a1", WEEK), ("a2", WEEK)]
    assert sorted(r.rcpt_tos[0] for r in smtp_server.received) == [
        "ana@uni.example",
        "ravi@uni.example",
    ]


def test_a_refused_recipient_is_failed_with_the_server_answer_and_not_retried(
    engine: Engine, smtp_server: SMTPServer
) -> None:
    answer = "550 5.1.1 mailbox unavailable"
    smtp_server.handler.rcpt_replies["gone@uni.example"] = answer
    stage(
        engine,
        [outgoing("a1", "gone@uni.example"), outgoing("a2", "ravi@uni.example")],
        NOW,
    )
    sleeps = Sleeps()
    result = deliver_pending(engine, smtp_sender(smtp_server), clock=Clock(), sleep=sleeps)
    assert result.failed == [(("a1", WEEK), answer)]
    assert result.sent == [("a2", WEEK)]
    assert sleeps == []
    failed = {e.recipient_id: e for e in outbox_entries(engine, status="failed")}
    assert failed["a1"].last_error == answer
    assert failed["a1"].attempts == 1

    deliver_pending(engine, smtp_sender(smtp_server), clock=Clock(), sleep=sleeps)
    assert statuses(engine)["a1"] == ("failed", 1)
    # Rebuilt with the same address it stays failed; with a corrected address it is retried.
    stage(engine, [outgoing("a1", "gone@uni.example")], NOW)
    assert statuses(engine)["a1"] == ("failed", 1)
    stage(engine, [outgoing("a1", "ana@uni.example")], NOW)
    assert statuses(engine)["a1"] == ("pending", 0)
    deliver_pending(engine, smtp_sender(smtp_server), clock=Clock(), sleep=sleeps)
    assert statuses(engine)["a1"] == ("sent", 1)


def test_a_rejected_message_body_is_failed(engine: Engine, smtp_server: SMTPServer) -> None:
    smtp_server.handler.data_replies = ["554 5.6.0 message content rejected"]
    stage(engine, [outgoing("a1", "ana@uni.example")], NOW)
    result = deliver_pending(engine, smtp_sender(smtp_server), clock=Clock(), sleep=Sleeps())
    assert result.failed == [(("a1", WEEK), "554 5.6.0 message content rejected")]


def test_earlier_weeks_are_delivered_first(engine: Engine, smtp_server: SMTPServer) -> None:
    stage(engine, [outgoing("a1", "ana@uni.example", week="2026-10-12")], NOW)
    stage(engine, [outgoing("a1", "ana@uni.example", week="2026-10-05")], NOW)
    result = deliver_pending(engine, smtp_sender(smtp_server), clock=Clock(), sleep=Sleeps())
    assert result.sent == [("a1", "2026-10-05"), ("a1", "2026-10-12")]


def test_starttls_with_login_delivers(
    engine: Engine, make_smtp_server: Callable[..., SMTPServer]
) -> None:
    server = make_smtp_server(security="starttls", auth=True)
    stage(engine, [outgoing("a1", "ana@uni.example")], NOW)
    result = deliver_pending(engine, smtp_sender(server), clock=Clock(), sleep=Sleeps())
    assert result.sent == [("a1", WEEK)]
    assert server.handler.logins  # the password was checked by the server
    assert len(server.received) == 1


def test_implicit_tls_delivers(engine: Engine, make_smtp_server: Callable[..., SMTPServer]) -> None:
    server = make_smtp_server(security="ssl")
    stage(engine, [outgoing("a1", "ana@uni.example")], NOW)
    result = deliver_pending(engine, smtp_sender(server), clock=Clock(), sleep=Sleeps())
    assert result.sent == [("a1", WEEK)]


def test_a_wrong_password_stops_delivery_and_loses_nothing(
    engine: Engine, make_smtp_server: Callable[..., SMTPServer]
) -> None:
    server = make_smtp_server(security="starttls", auth=True)
    stage(engine, [outgoing("a1", "ana@uni.example"), outgoing("a2", "ravi@uni.example")], NOW)
    sender = smtp_sender(server, password="wrong")
    with pytest.raises(DeliveryError, match="login refused: 535") as info:
        deliver_pending(engine, sender, clock=Clock(), sleep=Sleeps())
    assert "wrong" not in str(info.value)
    assert "check smtp_user (EARLYWARN_SMTP_USER)" in str(info.value)
    assert "EARLYWARN_SMTP_PASSWORD" in str(info.value)
    assert "2 messages stay pending" in str(info.value)
    assert statuses(engine) == {"a1": ("pending", 1), "a2": ("pending", 0)}
    result = deliver_pending(engine, smtp_sender(server), clock=Clock(), sleep=Sleeps())
    assert len(result.sent) == 2


def test_an_untrusted_certificate_stops_delivery(
    engine: Engine, make_smtp_server: Callable[..., SMTPServer]
) -> None:
    server = make_smtp_server(security="starttls")
    stage(engine, [outgoing("a1", "ana@uni.example")], NOW)
    sender = smtp_sender(server, ssl_context=None)  # the system's trust store
    with pytest.raises(DeliveryError, match="certificate is not trusted"):
        deliver_pending(engine, sender, clock=Clock(), sleep=Sleeps())
    assert statuses(engine) == {"a1": ("pending", 1)}
    assert server.received == []


def test_a_held_lease_keeps_a_second_sender_away(engine: Engine, smtp_server: SMTPServer) -> None:
    from earlywarn.state.outbox import claim

    stage(engine, [outgoing("a1", "ana@uni.example")], NOW)
    assert claim(engine, ("a1", WEEK), NOW, timedelta(minutes=5))  # another process is sending
    clock = Clock()
    result = deliver_pending(engine, smtp_sender(smtp_server), clock=clock, sleep=Sleeps())
    assert result.sent == []
    assert smtp_server.received == []
    clock.now = NOW + timedelta(minutes=6)  # that process died: its lease runs out
    result = deliver_pending(engine, smtp_sender(smtp_server), clock=clock, sleep=Sleeps())
    assert result.sent == [("a1", WEEK)]


def test_classification_of_server_answers() -> None:
    assert classify(smtplib.SMTPDataError(451, b"later")).kind == "temporary"
    assert classify(smtplib.SMTPDataError(552, b"too big")).kind == "permanent"
    refused = smtplib.SMTPRecipientsRefused({"x@y.z": (550, b"no such user")})
    assert classify(refused) == classify(refused)
    assert classify(refused).kind == "permanent"
    assert classify(refused).reason == "550 no such user"
    assert classify(smtplib.SMTPSenderRefused(553, b"not yours", "a@b.c")).kind == "configuration"
    assert classify(smtplib.SMTPSenderRefused(451, b"later", "a@b.c")).kind == "temporary"
    assert classify(ConnectionRefusedError(111, "Connection refused")).server_unreachable
    assert classify(smtplib.SMTPServerDisconnected("gone")).kind == "temporary"
    # Where the send got to decides: no session, before the content, after the content.
    for before_session in (
        socket.gaierror(-2, "Name or service not known"),
        ssl.SSLError(1, "handshake failure"),
        TimeoutError("timed out"),
        smtplib.SMTPServerDisconnected("gone"),
        smtplib.SMTPConnectError(421, b"too busy"),
    ):
        assert classify(SendError("connect", before_session)).kind == "unreachable"
    assert classify(SendError("connect", smtplib.SMTPConnectError(554, b"no"))).kind == (
        "configuration"
    )
    dropped = smtplib.SMTPServerDisconnected("Connection unexpectedly closed")
    assert classify(SendError("envelope", dropped)).kind == "temporary"
    assert classify(SendError("envelope", TimeoutError("timed out"))).kind == "temporary"
    assert classify(SendError("content", dropped)).kind == "unknown"
    assert classify(SendError("content", TimeoutError("timed out"))).kind == "unknown"
    assert classify(SendError("content", smtplib.SMTPDataError(451, b"later"))).kind == (
        "temporary"
    )


def test_folder_sender_writes_one_file_per_recipient_and_week(tmp_path: Path) -> None:
    folder = FolderSender(tmp_path / "outbox")
    folder.send(outgoing("a1", "ana@uni.example"))
    folder.send(outgoing("../etc/passwd", "x@uni.example"))
    names = [p.relative_to(tmp_path / "outbox").as_posix() for p in folder.written]
    assert names[0] == f"{WEEK}/a1.eml"
    assert names[1].startswith(f"{WEEK}/_etc_passwd-")  # ids never escape the week's folder
    assert names[1].endswith(".eml")
    assert eml_name("a1") == "a1.eml"
    assert (tmp_path / "outbox" / WEEK / "a1.eml").read_bytes().startswith(b"Subject: digest")
