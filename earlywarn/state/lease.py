"""A named lease in the state database: one holder at a time, whoever points at the database.

A lease is one row of ``scheduler_lease``: who holds it (host, pid, home folder), when it was
taken, the holder's last heartbeat and when it expires. The holder renews it well before then;
a process that dies stops renewing, and its lease may be taken once it has expired. A holder
on this host whose process no longer exists is taken over at once. Every change is a
compare-and-set on the row in one transaction, so two processes racing for a free or expired
lease cannot both win, on SQLite or on a server database.
"""

from __future__ import annotations

import os
import socket
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from earlywarn.core.time import aware_utc

if TYPE_CHECKING:
    from sqlalchemy import Connection, Engine


@dataclass(frozen=True)
class Holder:
    """Who holds (or asks for) a lease: ``token`` is unique per process and attempt."""

    token: str
    host: str
    pid: int
    home: str

    @classmethod
    def this_process(cls, home: str) -> Holder:
        host = socket.gethostname()
        pid = os.getpid()
        return cls(f"{host}:{pid}:{uuid.uuid4().hex[:12]}", host, pid, home)


@dataclass(frozen=True)
class LeaseRow:
    """A lease as stored."""

    holder: Holder
    acquired_at: datetime
    heartbeat_at: datetime
    expires_at: datetime

    def expired(self, now: datetime) -> bool:
        return self.expires_at <= aware_utc(now)


def _pid_gone(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        return False
    return False


def held_by_dead_process(row: LeaseRow) -> bool:
    """The holder ran on this host and its process is gone (killed, crashed)."""
    return row.holder.host == socket.gethostname() and _pid_gone(row.holder.pid)


def _read(conn: Connection, name: str) -> LeaseRow | None:
    from sqlalchemy import select

    from earlywarn.state.schema import scheduler_lease as t

    row = conn.execute(select(t).where(t.c.name == name)).mappings().first()
    if row is None:
        return None
    return LeaseRow(
        holder=Holder(row["holder"], row["host"], row["pid"], row["home"]),
        acquired_at=row["acquired_at"],
        heartbeat_at=row["heartbeat_at"],
        expires_at=row["expires_at"],
    )


def current_lease(engine: Engine, name: str) -> LeaseRow | None:
    """The lease row of ``name`` (live or expired), or ``None`` when no one ever took it."""
    with engine.connect() as conn:
        return _read(conn, name)


def acquire(
    engine: Engine, name: str, holder: Holder, now: datetime, duration: timedelta
) -> LeaseRow | None:
    """Take the lease ``name`` for ``duration`` from ``now``; ``None`` when taken, else the
    live lease of another holder (who has it)."""
    from sqlalchemy import insert, update
    from sqlalchemy.exc import IntegrityError

    from earlywarn.state.schema import scheduler_lease as t

    now = aware_utc(now)
    values = {
        "holder": holder.token,
        "host": holder.host,
        "pid": holder.pid,
        "home": holder.home,
        "acquired_at": now,
        "heartbeat_at": now,
        "expires_at": now + duration,
    }
    try:
        with engine.begin() as conn:
            current = _read(conn, name)
            if current is None:
                conn.execute(insert(t).values(name=name, **values))
                return None
            mine = current.holder.token == holder.token
            if not (mine or current.expired(now) or held_by_dead_process(current)):
                return current
            # Compare-and-set: only if nobody renewed or took it since we read it.
            changed = conn.execute(
                update(t)
                .where(
                    t.c.name == name,
                    t.c.holder == current.holder.token,
                    t.c.expires_at == current.expires_at,
                )
                .values(**values)
            ).rowcount
    except IntegrityError:  # another process inserted the row first
        return current_lease(engine, name)
    if changed == 1:
        return None
    return current_lease(engine, name)


def renew(engine: Engine, name: str, holder: Holder, now: datetime, duration: timedelta) -> bool:
    """Extend a lease this holder has; ``False`` when it is no longer theirs."""
    from sqlalchemy import update

    from earlywarn.state.schema import scheduler_lease as t

    now = aware_utc(now)
    with engine.begin() as conn:
        changed = conn.execute(
            update(t)
            .where(t.c.name == name, t.c.holder == holder.token)
            .values(heartbeat_at=now, expires_at=now + duration)
        ).rowcount
    return changed == 1


def release(engine: Engine, name: str, holder: Holder) -> None:
    """Give the lease up (only if this holder still has it)."""
    from sqlalchemy import delete

    from earlywarn.state.schema import scheduler_lease as t

    with engine.begin() as conn:
        conn.execute(delete(t).where(t.c.name == name, t.c.holder == holder.token))
