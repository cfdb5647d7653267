"""The outbox: every digest is stored here, rendered, before anyone tries to send it.

One row per (recipient, week): an advisor's id, or :data:`OPERATOR_ID` for the operator summary.
Status moves ``pending -> sent`` or ``pending -> failed`` (a permanent refusal, or a message that
ran out of attempts or time); a temporary failure leaves it ``pending``, deferred until
``next_attempt_at``, with its attempts counted and the server's last answer. A ``sent`` row is
never rebuilt and never sent again. Senders take a short lease on a row before sending it, so two
processes (the scheduler and a hand-run ``earlywarn digest --send``) never send the same row.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Literal

from earlywarn.core.time import aware_utc

if TYPE_CHECKING:
    from sqlalchemy import Engine, RowMapping

OPERATOR_ID = "__operator__"
Status = Literal["pending", "sent", "failed"]
Kind = Literal["advisor", "operator"]


@dataclass(frozen=True, kw_only=True)
class OutgoingMessage:
    """A rendered message ready for the outbox: its key, envelope and exact bytes."""

    recipient_id: str
    week: str
    kind: Kind
    to_addr: str
    from_addr: str
    subject: str
    message_id: str
    data: bytes
    n_students: int = 0

    @property
    def key(self) -> tuple[str, str]:
        return (self.recipient_id, self.week)


@dataclass(frozen=True, kw_only=True)
class OutboxEntry(OutgoingMessage):
    """An outbox row: the message plus its delivery state."""

    status: Status
    attempts: int
    last_error: str | None
    created_at: datetime
    updated_at: datetime
    sent_at: datetime | None = None
    next_attempt_at: datetime | None = None
    last_attempt_at: datetime | None = None

    def due(self, now: datetime) -> bool:
        """Whether a deferred message's back-off is over (a never-deferred one always is)."""
        return self.next_attempt_at is None or self.next_attempt_at <= now


@dataclass
class StageResult:
    """What :func:`stage` did with each message, by recipient id."""

    added: list[str] = field(default_factory=list)
    refreshed: list[str] = field(default_factory=list)
    already_sent: list[str] = field(default_factory=list)
    kept_failed: list[str] = field(default_factory=list)


def _entry(row: RowMapping) -> OutboxEntry:
    return OutboxEntry(
        recipient_id=row["recipient_id"],
        week=row["week"],
        kind=row["kind"],
        to_addr=row["to_addr"],
        from_addr=row["from_addr"],
        subject=row["subject"],
        message_id=row["message_id"],
        data=bytes(row["message"]),
        n_students=row["n_students"],
        status=row["status"],
        attempts=row["attempts"],
        last_error=row["last_error"],
        created_at=row["created_at"],
        updated_at=row["updated_at"],
        sent_at=row["sent_at"],
        next_attempt_at=row["next_attempt_at"],
        last_attempt_at=row["last_attempt_at"],
    )


def stage(engine: Engine, messages: Sequence[OutgoingMessage], now: datetime) -> StageResult:
    """Commit ``messages`` to the outbox in one transaction, before any of them is sent.

    New keys become ``pending``. A ``pending`` row gets the fresh content. A ``sent`` row is left
    alone. A ``failed`` row stays failed unless the recipient's address changed (the operator fixed
    it), in which case it becomes ``pending`` again with a clean attempt count. A deferred
    message keeps its attempts and back-off when its content is refreshed.
    """
    from sqlalchemy import and_, insert, select, update

    from earlywarn.state import schema

    t = schema.outbox
    now = aware_utc(now)
    result = StageResult()
    with engine.begin() as conn:
        for msg in messages:
            where = and_(t.c.recipient_id == msg.recipient_id, t.c.week == msg.week)
            current = conn.execute(select(t.c.status, t.c.to_addr).where(where)).first()
            content = {
                "kind": msg.kind,
                "to_addr": msg.to_addr,
                "from_addr": msg.from_addr,
                "subject": msg.subject,
                "message_id": msg.message_id,
                "message": msg.data,
                "n_students": msg.n_students,
                "updated_at": now,
            }
            if current is None:
                conn.execute(
                    insert(t).values(
                        recipient_id=msg.recipient_id,
                        week=msg.week,
                        status="pending",
                        attempts=0,
                        created_at=now,
                        **content,
                    )
                )
                result.added.append(msg.recipient_id)
            elif current.status == "sent":
                result.already_sent.append(msg.recipient_id)
            elif current.status == "failed" and current.to_addr == msg.to_addr:
                result.kept_failed.append(msg.recipient_id)
            else:
                reset = {
                    "status": "pending",
                    "attempts": 0,
                    "last_error": None,
                    "next_attempt_at": None,
                    "last_attempt_at": None,
                }
                values = content if current.status == "pending" else {**content, **reset}
                conn.execute(update(t).where(where).values(**values))
                result.refreshed.append(msg.recipient_id)
    return result


def outbox_entries(
    engine: Engine, *, week: str | None = None, status: Status | None = None
) -> list[OutboxEntry]:
    """Outbox rows, oldest week first, advisors before the operator, then by recipient id."""
    from sqlalchemy import case, select

    from earlywarn.state import schema

    t = schema.outbox
    query = select(t).order_by(
        t.c.week, case((t.c.kind == "operator", 1), else_=0), t.c.recipient_id
    )
    if week is not None:
        query = query.where(t.c.week == week)
    if status is not None:
        query = query.where(t.c.status == status)
    with engine.connect() as conn:
        return [_entry(row) for row in conn.execute(query).mappings()]


def delivery_queue(
    engine: Engine, *, week: str | None = None, before_week: str | None = None
) -> list[OutboxEntry]:
    """Pending rows in the order a run tries them: the one waiting longest first.

    A row waits from the end of its back-off (``next_attempt_at``), or from when it was staged
    if it was never deferred; ties go to the earlier week, advisors before the operator. So a
    message deferred last run does not go first again, and cannot hold up the others.
    """
    from sqlalchemy import case, func, select

    from earlywarn.state import schema

    t = schema.outbox
    query = (
        select(t)
        .where(t.c.status == "pending")
        .order_by(
            func.coalesce(t.c.next_attempt_at, t.c.created_at),
            t.c.week,
            case((t.c.kind == "operator", 1), else_=0),
            t.c.recipient_id,
        )
    )
    if week is not None:
        query = query.where(t.c.week == week)
    if before_week is not None:
        query = query.where(t.c.week < before_week)
    with engine.connect() as conn:
        return [_entry(row) for row in conn.execute(query).mappings()]


def sent_recipients(engine: Engine, week: str) -> set[str]:
    """The recipient ids whose message for ``week`` is already sent."""
    from sqlalchemy import select

    from earlywarn.state import schema

    t = schema.outbox
    query = select(t.c.recipient_id).where(t.c.week == week, t.c.status == "sent")
    with engine.connect() as conn:
        return {str(r) for r in conn.execute(query).scalars()}


def claim(engine: Engine, key: tuple[str, str], now: datetime, lease: timedelta) -> bool:
    """Take the sending lease on a pending row; ``False`` if not pending or already leased."""
    from sqlalchemy import and_, or_, update

    from earlywarn.state import schema

    t = schema.outbox
    now = aware_utc(now)
    query = (
        update(t)
        .where(
            and_(
                t.c.recipient_id == key[0],
                t.c.week == key[1],
                t.c.status == "pending",
                or_(t.c.claimed_until.is_(None), t.c.claimed_until < now),
            )
        )
        .values(claimed_until=now + lease)
    )
    with engine.begin() as conn:
        return conn.execute(query).rowcount == 1


def release(engine: Engine, key: tuple[str, str]) -> None:
    """Give a lease back untouched (the sending process is stopping, not failing)."""
    from sqlalchemy import update

    from earlywarn.state import schema

    t = schema.outbox
    with engine.begin() as conn:
        conn.execute(
            update(t)
            .where(t.c.recipient_id == key[0], t.c.week == key[1], t.c.status == "pending")
            .values(claimed_until=None)
        )


def _finish(
    engine: Engine,
    key: tuple[str, str],
    now: datetime,
    *,
    status: Status,
    attempts: int,
    error: str | None,
    next_attempt_at: datetime | None = None,
    attempted: bool = True,
) -> None:
    from sqlalchemy import update

    from earlywarn.state import schema

    t = schema.outbox
    now = aware_utc(now)
    values: dict[str, object] = {
        "status": status,
        "attempts": t.c.attempts + attempts,
        "updated_at": now,
        "claimed_until": None,
        "next_attempt_at": None if next_attempt_at is None else aware_utc(next_attempt_at),
    }
    if attempted:
        values["last_attempt_at"] = now
    if status == "sent":
        values["sent_at"] = now
    if error is not None:
        values["last_error"] = error[:2000]
    with engine.begin() as conn:
        conn.execute(
            update(t).where(t.c.recipient_id == key[0], t.c.week == key[1]).values(**values)
        )


def mark_sent(engine: Engine, key: tuple[str, str], now: datetime, *, attempts: int) -> None:
    """The server accepted the message: it is never sent again."""
    _finish(engine, key, now, status="sent", attempts=attempts, error=None)


def mark_pending(
    engine: Engine,
    key: tuple[str, str],
    now: datetime,
    *,
    attempts: int,
    error: str,
    next_attempt_at: datetime | None = None,
) -> None:
    """Temporary failures only: release the lease, count the attempts, keep the server's answer,
    and defer the message until ``next_attempt_at`` (``None``: the next run may try it)."""
    _finish(
        engine,
        key,
        now,
        status="pending",
        attempts=attempts,
        error=error,
        next_attempt_at=next_attempt_at,
    )


def mark_failed(
    engine: Engine,
    key: tuple[str, str],
    now: datetime,
    *,
    attempts: int,
    error: str,
    attempted: bool = True,
) -> None:
    """A permanent refusal, or a message out of attempts or time (``attempted=False`` when it
    expired without a new try): record why; it is not tried again."""
    _finish(engine, key, now, status="failed", attempts=attempts, error=error, attempted=attempted)
