"""Delivering the outbox: retry what may pass later, record what never will, lose nothing.

Each pending outbox row is leased, sent, and marked in the database right after the server's
answer, one row at a time, so a crash at any point leaves every message either sent or pending.
Failures are sorted into three kinds:

* temporary (a 4xx reply, a refused or dropped connection, a timeout): retried with backoff a few
  times within the run, then left pending for the next run;
* permanent (a 5xx reply to this message or recipient): recorded with the server's answer and
  marked failed, never retried;
* configuration (login refused, TLS not offered or not trusted, our sender address refused): no
  message is at fault, so delivery stops with a :class:`~earlywarn.errors.DeliveryError` and
  everything stays pending for a run with fixed settings.
"""

from __future__ import annotations

import logging
import re
import smtplib
import ssl
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Literal

from earlywarn.errors import DeliveryError
from earlywarn.state.outbox import (
    OutboxEntry,
    claim,
    mark_failed,
    mark_pending,
    mark_sent,
    outbox_entries,
    release,
)

if TYPE_CHECKING:
    from sqlalchemy import Engine

    from earlywarn.mail.senders import Sender

log = logging.getLogger(__name__)

FailureKind = Literal["temporary", "permanent", "configuration"]
Key = tuple[str, str]


def utc_now() -> datetime:
    """The real clock; tests pass their own."""
    return datetime.now(UTC)


@dataclass(frozen=True)
class Failure:
    """A classified delivery failure: its kind, the server's answer, whether the server is down."""

    kind: FailureKind
    reason: str
    code: int | None = None
    server_unreachable: bool = False


@dataclass(frozen=True)
class RetryPolicy:
    """How often a temporary failure is retried within one run, and how long to wait between."""

    attempts: int = 3
    first_delay: float = 2.0
    factor: float = 4.0
    lease: timedelta = timedelta(minutes=5)

    def delay(self, retry: int) -> float:
        """Seconds to wait before retry number ``retry`` (1-based)."""
        return self.first_delay * self.factor ** (retry - 1)


_ADDRESS = re.compile(r"<?[^\s<>@\"']+@[^\s<>@\"']+>?")


def _answer(code: int, message: bytes | str) -> str:
    """A server's answer as one line, with any email address it quotes replaced by
    ``<address>``: the answer is stored, logged and shown to the operator, who has the id."""
    text = message.decode("utf-8", "replace") if isinstance(message, bytes) else message
    return _ADDRESS.sub("<address>", f"{code} {' '.join(text.split())}".strip())


def _by_code(code: int, reason: str) -> Failure:
    if 400 <= code < 500:
        return Failure("temporary", reason, code)
    if 500 <= code < 600:
        return Failure("permanent", reason, code)
    return Failure("temporary", reason, code)


def classify(exc: BaseException) -> Failure:
    """Sort an exception raised while sending into temporary, permanent or configuration."""
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
    if isinstance(exc, smtplib.SMTPConnectError | smtplib.SMTPHeloError):
        reason = _answer(exc.smtp_code, exc.smtp_error)
        if 500 <= exc.smtp_code < 600:
            return Failure(
                "configuration", f"the server refused the session: {reason}", exc.smtp_code
            )
        return Failure("temporary", reason, exc.smtp_code, server_unreachable=True)
    if isinstance(exc, smtplib.SMTPResponseException):
        return _by_code(exc.smtp_code, _answer(exc.smtp_code, exc.smtp_error))
    if isinstance(exc, smtplib.SMTPServerDisconnected):
        return Failure("temporary", f"connection dropped: {exc}", server_unreachable=True)
    if isinstance(exc, TimeoutError):
        return Failure("temporary", f"timed out: {exc}", server_unreachable=True)
    if isinstance(exc, smtplib.SMTPException | OSError):
        what = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
        return Failure("temporary", f"{type(exc).__name__}: {what}", server_unreachable=True)
    raise TypeError(f"not a delivery failure: {exc!r}")


@dataclass
class DeliveryResult:
    """What one delivery pass did, by (recipient id, week)."""

    sent: list[Key] = field(default_factory=list)
    failed: list[tuple[Key, str]] = field(default_factory=list)
    still_pending: list[tuple[Key, str]] = field(default_factory=list)
    not_tried: list[Key] = field(default_factory=list)


def _send_one(
    engine: Engine,
    sender: Sender,
    entry: OutboxEntry,
    *,
    clock: Callable[[], datetime],
    sleep: Callable[[float], None],
    policy: RetryPolicy,
    result: DeliveryResult,
) -> Failure | None:
    """Try one leased entry up to ``policy.attempts`` times; the last failure, or None if sent."""
    from earlywarn.mail.senders import send_with_retries

    failures: list[Failure] = []

    def worth_retrying(exc: BaseException) -> bool:
        failure = classify(exc)
        failures.append(failure)
        log.warning(
            "%s failure sending to %s week %s (attempt %d, code %s)",
            failure.kind,
            entry.recipient_id,
            entry.week,
            len(failures),
            failure.code,
        )
        return failure.kind == "temporary"

    try:
        attempts = send_with_retries(
            sender,
            entry,
            attempts=policy.attempts,
            first_delay=policy.first_delay,
            factor=policy.factor,
            sleep=sleep,
            retry_on=worth_retrying,
        )
    except (smtplib.SMTPException, OSError):
        failure = failures[-1]
    else:
        mark_sent(engine, entry.key, clock(), attempts=attempts)
        result.sent.append(entry.key)
        log.info("sent %s message %s week %s", entry.kind, entry.recipient_id, entry.week)
        return None
    if failure.kind == "configuration":
        mark_pending(engine, entry.key, clock(), attempts=len(failures), error=failure.reason)
        return failure
    if failure.kind == "permanent":
        mark_failed(engine, entry.key, clock(), attempts=len(failures), error=failure.reason)
        result.failed.append((entry.key, failure.reason))
        return failure
    mark_pending(engine, entry.key, clock(), attempts=policy.attempts, error=failure.reason)
    result.still_pending.append((entry.key, failure.reason))
    return failure


def deliver(
    engine: Engine,
    sender: Sender,
    entries: Sequence[OutboxEntry],
    *,
    clock: Callable[[], datetime] = utc_now,
    sleep: Callable[[float], None],
    policy: RetryPolicy | None = None,
) -> DeliveryResult:
    """Send ``entries`` (pending outbox rows) in order; see the module docstring for failures.

    When a server stays unreachable through one message's retries, the rest are left pending
    untried (``not_tried``) instead of waiting out the same outage once per message.
    """
    policy = policy or RetryPolicy()
    result = DeliveryResult()
    try:
        for index, entry in enumerate(entries):
            if not claim(engine, entry.key, clock(), policy.lease):
                log.info("skipped %s week %s: sent or being sent", entry.recipient_id, entry.week)
                continue
            try:
                failure = _send_one(
                    engine, sender, entry, clock=clock, sleep=sleep, policy=policy, result=result
                )
            except BaseException:
                release(engine, entry.key)  # interrupted: let the next run take it at once
                raise
            if failure is None:
                continue
            if failure.kind == "configuration":
                left = len(entries) - index
                raise DeliveryError(
                    f"SMTP delivery stopped: {failure.reason}; check the smtp_* settings "
                    f"(EARLYWARN_SMTP_*). Nothing was lost: {left} messages stay pending "
                    "for the next --send"
                )
            if failure.kind == "temporary" and failure.server_unreachable:
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
) -> DeliveryResult:
    """Send every pending outbox message (of ``week``, or all), oldest week first."""
    entries = outbox_entries(engine, status="pending", week=week)
    return deliver(engine, sender, entries, clock=clock, sleep=sleep, policy=policy)
