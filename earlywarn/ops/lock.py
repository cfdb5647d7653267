"""A single-instance lock: one scheduler per state database, however it is reached.

APScheduler 3.x has no cross-process locking, so two schedulers on one job store would double-run
or miss jobs. The job store is the state database, so the lock lives there too: a lease row
(:mod:`earlywarn.state.lease`) holding the scheduler's host, pid and home, renewed by a heartbeat
thread every third of ``Settings.scheduler_lease_seconds``. Two schedulers with different home
folders and the same ``EARLYWARN_DATABASE_URL`` meet at the same row. A scheduler that is killed
stops renewing; its lease is taken over once it expires, or at once from the same host when its
process is gone.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from datetime import datetime, timedelta
from types import TracebackType
from typing import TYPE_CHECKING

from earlywarn.core.errors import SchedulerError
from earlywarn.core.time import now as utc_now

if TYPE_CHECKING:
    from sqlalchemy import Engine

    from earlywarn.core.settings import Settings
    from earlywarn.state.lease import Holder, LeaseRow

log = logging.getLogger(__name__)

LEASE_NAME = "scheduler"
Clock = Callable[[], datetime]


def _where(settings: Settings) -> str:
    """The state database as shown to people: its URL without a password."""
    from sqlalchemy.engine import make_url

    return make_url(settings.state_url).render_as_string(hide_password=True)


class SchedulerLock:
    """The scheduler's lease on its state database, kept alive by a heartbeat thread."""

    def __init__(
        self,
        settings: Settings,
        *,
        clock: Clock = utc_now,
        on_lost: Callable[[], None] | None = None,
        heartbeat: bool = True,
    ) -> None:
        self.settings = settings
        self.clock = clock
        self.on_lost = on_lost
        self.duration = timedelta(seconds=settings.scheduler_lease_seconds)
        self._heartbeat_wanted = heartbeat
        self._engine: Engine | None = None
        self._holder: Holder | None = None
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    @property
    def held(self) -> bool:
        return self._holder is not None

    def acquire(self) -> None:
        """Take the lease, or raise :class:`SchedulerError` naming the scheduler that holds it."""
        from earlywarn.state import open_state
        from earlywarn.state.lease import Holder, acquire

        if self._holder is not None:
            return
        engine = open_state(self.settings.state_url)
        holder = Holder.this_process(str(self.settings.home))
        other = acquire(engine, LEASE_NAME, holder, self.clock(), self.duration)
        if other is not None:
            engine.dispose()
            raise SchedulerError(
                f"another scheduler (pid {other.holder.pid}) is already running on this state "
                f"database ({_where(self.settings)}; host {other.holder.host}, home "
                f"{other.holder.home}); stop it first, or give this one its own "
                "EARLYWARN_DATABASE_URL"
            )
        self._engine, self._holder = engine, holder
        if self._heartbeat_wanted:
            self._stop.clear()
            self._thread = threading.Thread(
                target=self._beat, name="scheduler-lease-heartbeat", daemon=True
            )
            self._thread.start()

    def heartbeat(self) -> bool:
        """Renew the lease now; ``False`` (and ``on_lost`` called) when it was lost."""
        from earlywarn.state.lease import renew

        if self._engine is None or self._holder is None:
            return False
        kept = renew(self._engine, LEASE_NAME, self._holder, self.clock(), self.duration)
        if not kept:
            log.error("the scheduler lost its lock on the state database; stopping")
            if self.on_lost is not None:
                self.on_lost()
        return kept

    def _beat(self) -> None:
        interval = self.duration.total_seconds() / 3
        while not self._stop.wait(interval):
            try:
                if not self.heartbeat():
                    return
            except Exception as exc:  # a database blip: try again at the next beat
                log.warning("scheduler lock heartbeat failed: %s", type(exc).__name__)

    def release(self) -> None:
        """Stop the heartbeat and give the lease back (idempotent)."""
        from earlywarn.state.lease import release

        self._stop.set()
        if self._thread is not None:
            self._thread.join()
            self._thread = None
        if self._engine is not None and self._holder is not None:
            release(self._engine, LEASE_NAME, self._holder)
            self._engine.dispose()
        self._engine, self._holder = None, None

    def __enter__(self) -> SchedulerLock:
        self.acquire()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.release()


def scheduler_lock(
    settings: Settings, *, on_lost: Callable[[], None] | None = None
) -> SchedulerLock:
    """The lock that keeps a second scheduler off the state database of ``settings``."""
    return SchedulerLock(settings, on_lost=on_lost)


def lock_holder(settings: Settings, now: datetime | None = None) -> LeaseRow | None:
    """The live lease of the scheduler running on this state database, or ``None``.

    Only reads; asking never keeps a scheduler from starting.
    """
    from earlywarn.state import open_state
    from earlywarn.state.lease import current_lease, held_by_dead_process

    engine = open_state(settings.state_url)
    try:
        row = current_lease(engine, LEASE_NAME)
    finally:
        engine.dispose()
    if row is None or row.expired(now or utc_now()) or held_by_dead_process(row):
        return None
    return row
