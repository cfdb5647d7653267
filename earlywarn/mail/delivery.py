"""Delivering the outbox as a mail queue does: one bad message never holds up the others.

Each pending outbox row is leased, sent, and marked in the database right after the server's
answer, one row at a time, so a crash at any point leaves every message either sent or pending.
A failure is one of five kinds (:func:`classify`):

* unreachable: the session never opened (connection refused, DNS, TLS handshake, a timeout or
  a drop before the greeting). No message is at fault: the run stops at once and everything
  stays pending, attempts uncounted, for the next run.
* temporary: this message failed for now after the session opened (a 4xx answer, or a drop or
  timeout before its content went out). It is retried a few times at once
  (:func:`send_with_retries`), then deferred with a growing back-off; the run goes on.
* unknown: the content went out and the answer never came (a drop or timeout after DATA). The
  server may have kept it, so it is not retried in this run, only after its back-off.
* permanent: a 5xx answer to this message or recipient. Failed with the server's answer.
* configuration: login refused, TLS not offered or not trusted, our sender address refused.
  Delivery stops with a :class:`~earlywarn.core.errors.DeliveryError` naming the setting to check.

Pending messages are tried in the order they have waited (:func:`~earlywarn.state.outbox.
delivery_queue`). A message that has been tried ``max_attempts`` times, or has waited longer
than the queue lifetime, is marked failed with the reason, and the operator summary says so.
"""

from __future__ import annotations

import logging
import re
import smtplib
import ssl
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from functools import partial
from typing import TYPE_CHECKING, Literal

from earlywarn.core.errors import DeliveryError, SendError, Stage
from earlywarn.core.time import now as utc_now
from earlywarn.state.outbox import (
    OutboxEntry,
    claim,
    delivery_queue,
    mark_failed,
    mark_pending,
    mark_sent,
    release,
)

if TYPE_CHECKING:
    from sqlalchemy import Engine

    from earlywarn.core.settings import Settings
    from earlywarn.mail.senders import Sender

log = logging.getLogger(__name__)

FailureKind = Literal["unreachable", "temporary", "unknown", "permanent", "configuration"]
Key = tuple[str, str]
# What a sender may raise; anything else is a bug and propagates.
SEND_ERRORS = (SendError, smtplib.SMTPException, OSError)


@dataclass(frozen=True)
class Failure:
    """A classified delivery failure: its kind and the server's answer (or what happened)."""

    kind: FailureKind
    reason: str
    code: int | None = None

    @property
    def server_unreachable(self) -> bool:
        return self.kind == "unreachable"


@dataclass(frozen=True)
class RetryPolicy:
    """How a message is retried: at once within a run (``attempts`` tries, ``first_delay`` then
    times ``factor`` between them), deferred between runs (``min_backoff`` doubling up to
    ``max_backoff``), and when it is given up (``max_attempts`` tries, or ``lifetime`` since it
    was staged). The defaults of the last four are Postfix's (minimal_backoff_time,
    maximal_backoff_time, maximal_queue_lifetime) and the settings' (delivery_*)."""

    attempts: int = 3
    first_delay: float = 2.0
    factor: float = 4.0
    lease: timedelta = timedelta(minutes=5)
    min_backoff: timedelta = timedelta(seconds=300)
    max_backoff: timedelta = timedelta(seconds=4000)
    max_attempts: int = 10
    lifetime: timedelta = timedelta(days=5)

    @classmethod
    def from_settings(cls, settings: Settings) -> RetryPolicy:
        return cls(
            min_backoff=timedelta(seconds=settings.delivery_min_backoff_seconds),
            max_backoff=timedelta(seconds=settings.delivery_max_backoff_seconds),
            max_attempts=settings.delivery_max_attempts,
            lifetime=timedelta(days=settings.delivery_queue_lifetime_days),
        )

    def delay(self, retry: int) -> float:
        """Seconds to wait before retry number ``retry`` (1-based) within one run."""
        return self.first_delay * self.factor ** (retry - 1)

    def backoff(self, attempts: int) -> timedelta:
        """How long a message tried ``attempts`` times in all waits before its next try."""
        doubled = self.min_backoff * 2 ** max(attempts - 1, 0)
        return min(doubled, self.max_backoff)


_ADDRESS = re.compile(r"<?[^\s<>@\"']+@[^\s<>@\"']+>?")


def _answer(code: int, message: bytes | str) -> str:
    """A server's answer as one line, with any email address it quotes replaced by
    ``<address>``: the answer is stored, logged and shown to the operator, who has the id."""
    text = message.decode("utf-8", "replace") if isinstance(message, bytes) else message
    return _ADDRESS.sub("<address>", f"{code} {' '.join(text.split())}".strip())


def _by_code(code: int, reason: str) -> Failure:
    if 500 <= code < 600:
        return Failure("permanent", reason, code)
    return Failure("temporary", reason, code)


def _unreachable(exc: BaseException) -> Failure:
    if isinstance(exc, smtplib.SMTPResponseException):
        return Failure(
            "unreachable", f"cannot reach the server: {_answer(exc.smtp_code, exc.smtp_error)}"
        )
    what = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
    return Failure("unreachable", f"cannot reach the server: {type(exc).__name__}: {what}")


def classify(exc: BaseException) -> Failure:
    """Sort an exception raised while sending into one of the kinds of the module docstring.

    A :class:`~earlywarn.mail.senders.SendError` carries the stage the send reached; a bare
    exception is read as the transport raised it: a socket error means the server cannot be
    reached, an SMTP answer belongs to the message.
    """
    stage: Stage | None = None
    if isinstance(exc, SendError):
        stage, exc = exc.stage, exc.cause
    if isinstance(exc, smtplib.SMTPAuthenticationError):
        return Failure("configuration", f"login refused: {_answer(exc.smtp_code, exc.smtp_error)}")
    if isinstance(exc, smtplib.SMTPNotSupportedError):
        return Failure("configuration", f"the server does not support it: {exc}")
    if isinstance(exc, ssl.SSLCertVerificationError):
        return Failure("configuration", f"the server's TLS certificate is not trusted: {exc}")
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        code, message = next(iter(exc.recipients.values()), (0, b"recipient refused"))
        return _by_code(code, _answer(code, message))
    if isinstance(exc, smtplib.SMTPSenderRefused):
        failure = _by_code(exc.smtp_code, _answer(exc.smtp_code, exc.smtp_error))
        if failure.kind == "permanent":
            return Failure(
                "configuration", f"sender address refused: {failure.reason}", failure.code
            )
        return failure
    if isinstance(exc, smtplib.SMTPConnectError | smtplib.SMTPHeloError) or stage == "connect":
        if isinstance(exc, smtplib.SMTPResponseException) and 500 <= exc.smtp_code < 600:
            reason = _answer(exc.smtp_code, exc.smtp_error)
            return Failure(
                "configuration", f"the server refused the session: {reason}", exc.smtp_code
            )
        return _unreachable(exc)
    if isinstance(exc, smtplib.SMTPResponseException):
        return _by_code(exc.smtp_code, _answer(exc.smtp_code, exc.smtp_error))
    if stage == "content":
        return Failure(
            "unknown",
            f"outcome unknown: the connection ended after the message was sent, before the "
            f"server answered ({type(exc).__name__}); it may have arrived",
        )
    if stage == "envelope" or isinstance(exc, smtplib.SMTPServerDisconnected):
        return Failure("temporary", f"connection lost before the message was sent: {exc}")
    if isinstance(exc, smtplib.SMTPException | OSError):
        return _unreachable(exc)
    raise TypeError(f"not a delivery failure: {exc!r}")


@dataclass(frozen=True)
class Attempt:
    """What :func:`send_with_retries` did: the tries that reached the server, the last failure
    (``None``: sent)."""

    attempts: int
    failure: Failure | None


def send_with_retries(
    send: Callable[[], None], *, policy: RetryPolicy, sleep: Callable[[float], None]
) -> Attempt:
    """Call ``send`` until it succeeds, retrying after ``policy.delay`` only a temporary failure
    (the server surely did not take the message, and a moment later it may), ``policy.attempts``
    tries at most (tenacity does the retrying). A try that never reached the server is not
    counted and not repeated: the run stops there. ``sleep`` is injected: tests never wait."""
    from tenacity import Retrying, retry_if_exception, stop_after_attempt

    failures: list[Failure] = []

    def worth_retrying(exc: BaseException) -> bool:
        failures.append(classify(exc))
        return failures[-1].kind == "temporary"

    retrying = Retrying(
        stop=stop_after_attempt(policy.attempts),
        wait=lambda state: policy.delay(state.attempt_number),
        retry=retry_if_exception(lambda exc: isinstance(exc, SEND_ERRORS) and worth_retrying(exc)),
        sleep=sleep,
        reraise=True,
    )
    try:
        retrying(send)
    except SEND_ERRORS:
        counted = sum(f.kind != "unreachable" for f in failures)
        return Attempt(counted, failures[-1])
    return Attempt(sum(f.kind != "unreachable" for f in failures) + 1, None)


@dataclass
class DeliveryResult:
    """What one delivery pass did, by (recipient id, week)."""

    sent: list[Key] = field(default_factory=list)
    failed: list[tuple[Key, str]] = field(default_factory=list)
    still_pending: list[tuple[Key, str]] = field(default_factory=list)
    deferred: list[tuple[Key, datetime]] = field(default_factory=list)  # back-off not over
    not_tried: list[Key] = field(default_factory=list)  # the server could not be reached
    unreachable: str | None = None  # why the server could not be reached, when it could not


def _give_up_reason(entry: OutboxEntry, attempts: int, now: datetime, policy: RetryPolicy) -> str:
    """Why a message is given up now, or ``""`` when it may be tried again."""
    if attempts >= policy.max_attempts:
        return f"gave up after {attempts} attempts (delivery_max_attempts)"
    waited = now - entry.created_at
    if waited >= policy.lifetime:
        days = waited.total_seconds() / 86400
        return (
            f"gave up after {days:.1f} days in the queue "
            f"(delivery_queue_lifetime_days {policy.lifetime.total_seconds() / 86400:g})"
        )
    return ""


def _record(
    engine: Engine,
    entry: OutboxEntry,
    outcome: Attempt,
    *,
    now: datetime,
    policy: RetryPolicy,
    result: DeliveryResult,
) -> None:
    """Store the outcome of one message's try in the outbox and in ``result``."""
    failure = outcome.failure
    if failure is None:
        mark_sent(engine, entry.key, now, attempts=outcome.attempts)
        result.sent.append(entry.key)
        log.info("sent %s message %s week %s", entry.kind, entry.recipient_id, entry.week)
        return
    log.warning(
        "%s failure sending to %s week %s (%d attempts, code %s)",
        failure.kind,
        entry.recipient_id,
        entry.week,
        outcome.attempts,
        failure.code,
    )
    if failure.kind == "permanent":
        mark_failed(engine, entry.key, now, attempts=outcome.attempts, error=failure.reason)
        result.failed.append((entry.key, failure.reason))
        return
    if failure.kind in ("unreachable", "configuration"):
        # The server or our settings are at fault, not the message: no back-off, no count.
        mark_pending(engine, entry.key, now, attempts=outcome.attempts, error=failure.reason)
        if failure.kind == "unreachable":
            result.still_pending.append((entry.key, failure.reason))
        return
    total = entry.attempts + outcome.attempts
    given_up = _give_up_reason(entry, total, now, policy)
    if given_up:
        reason = f"{given_up}; last error: {failure.reason}"
        mark_failed(engine, entry.key, now, attempts=outcome.attempts, error=reason)
        result.failed.append((entry.key, reason))
        return
    until = now + policy.backoff(total)
    mark_pending(
        engine,
        entry.key,
        now,
        attempts=outcome.attempts,
        error=failure.reason,
        next_attempt_at=until,
    )
    result.still_pending.append((entry.key, failure.reason))


def _settings_hint(failure: Failure) -> str:
    """Which setting an operator checks for a configuration failure (never its value)."""
    if failure.reason.startswith("login refused"):
        return (
            "check smtp_user (EARLYWARN_SMTP_USER) and the password in EARLYWARN_SMTP_PASSWORD "
            "or the file named by EARLYWARN_SMTP_PASSWORD_FILE"
        )
    if failure.reason.startswith("sender address refused"):
        return "check mail_from (EARLYWARN_MAIL_FROM)"
    return "check smtp_host, smtp_port and smtp_security (EARLYWARN_SMTP_*)"


def deliver(
    engine: Engine,
    sender: Sender,
    entries: Sequence[OutboxEntry],
    *,
    clock: Callable[[], datetime] = utc_now,
    sleep: Callable[[float], None],
    policy: RetryPolicy | None = None,
) -> DeliveryResult:
    """Try each of ``entries`` (pending outbox rows) once, in order; see the module docstring.

    A message still in its back-off is skipped (``deferred``); one past its lifetime is failed
    without a try. When the server cannot be reached the rest are left untried (``not_tried``)
    instead of waiting out the same outage once per message.
    """
    policy = policy or RetryPolicy()
    result = DeliveryResult()
    try:
        for index, entry in enumerate(entries):
            now = clock()
            expired = _give_up_reason(entry, entry.attempts, now, policy)
            if expired:
                reason = f"{expired}; last error: {entry.last_error or 'none (never tried)'}"
                mark_failed(engine, entry.key, now, attempts=0, error=reason, attempted=False)
                result.failed.append((entry.key, reason))
                continue
            if not entry.due(now):
                assert entry.next_attempt_at is not None
                result.deferred.append((entry.key, entry.next_attempt_at))
                continue
            if not claim(engine, entry.key, now, policy.lease):
                log.info("skipped %s week %s: sent or being sent", entry.recipient_id, entry.week)
                continue
            try:
                outcome = send_with_retries(partial(sender.send, entry), policy=policy, sleep=sleep)
                _record(engine, entry, outcome, now=clock(), policy=policy, result=result)
            except BaseException:
                release(engine, entry.key)  # interrupted: let the next run take it at once
                raise
            failure = outcome.failure
            if failure is not None and failure.kind == "configuration":
                left = len(entries) - index
                raise DeliveryError(
                    f"SMTP delivery stopped: {failure.reason}; {_settings_hint(failure)}. "
                    f"Nothing was lost: {left} messages stay pending for the next --send"
                )
            if failure is not None and failure.kind == "unreachable":
                result.unreachable = failure.reason
                result.not_tried.extend(e.key for e in entries[index + 1 :])
                break
    finally:
        sender.close()
    return result


def deliver_pending(
    engine: Engine,
    sender: Sender,
    *,
    clock: Callable[[], datetime] = utc_now,
    sleep: Callable[[float], None],
    policy: RetryPolicy | None = None,
    week: str | None = None,
    before_week: str | None = None,
) -> DeliveryResult:
    """Send every pending outbox message (of ``week``, or before ``before_week``, or all), the
    one waiting longest first."""
    entries = delivery_queue(engine, week=week, before_week=before_week)
    return deliver(engine, sender, entries, clock=clock, sleep=sleep, policy=policy)
