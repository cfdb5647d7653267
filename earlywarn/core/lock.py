"""A single-instance lock: one scheduler per home folder.

APScheduler 3.x has no cross-process locking, so two schedulers on one job store would double-run
or miss jobs. The scheduler takes an exclusive ``fcntl.flock`` on ``<home>/scheduler.lock`` and
writes its pid into the file; the kernel drops the lock when the process exits, however it exits,
so a crash never leaves a stale lock behind.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
from pathlib import Path
from types import TracebackType
from typing import IO

from earlywarn.core.errors import SchedulerError

LOCK_FILE = "scheduler.lock"


def lock_path(home: Path) -> Path:
    """Where the scheduler lock of ``home`` lives."""
    return Path(home).resolve() / LOCK_FILE


class SingleInstanceLock:
    """An exclusive, non-blocking lock on one file, holding the owner's pid."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self._file: IO[str] | None = None

    @property
    def held(self) -> bool:
        return self._file is not None

    def acquire(self) -> None:
        """Take the lock, or raise :class:`SchedulerError` naming the process that holds it."""
        if self._file is not None:
            return
        self.path.parent.mkdir(parents=True, exist_ok=True)
        handle = self.path.open("a+", encoding="utf-8")
        try:
            fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.seek(0)
            holder = handle.read().strip() or "unknown"
            handle.close()
            raise SchedulerError(
                f"another scheduler (pid {holder}) is already running on this home "
                f"({self.path}); stop it first, or use a different --home"
            ) from None
        except OSError as exc:
            handle.close()
            raise SchedulerError(f"{self.path}: cannot lock ({exc.strerror})") from exc
        handle.seek(0)
        handle.truncate()
        handle.write(f"{os.getpid()}\n")
        handle.flush()
        self._file = handle

    def release(self) -> None:
        """Clear the pid and drop the lock (idempotent)."""
        if self._file is None:
            return
        handle, self._file = self._file, None
        with contextlib.suppress(OSError):
            handle.seek(0)
            handle.truncate()
            handle.flush()
        fcntl.flock(handle.fileno(), fcntl.LOCK_UN)
        handle.close()

    def __enter__(self) -> SingleInstanceLock:
        self.acquire()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.release()


def scheduler_lock(home: Path) -> SingleInstanceLock:
    """The lock that keeps a second scheduler off ``home``."""
    return SingleInstanceLock(lock_path(home))


def lock_holder(home: Path) -> int | None:
    """The pid of the scheduler running on ``home``, or ``None`` when none is.

    Reads the pid the holder wrote and checks that the process still exists; it never takes the
    lock itself, so asking cannot keep a scheduler from starting.
    """
    path = lock_path(home)
    try:
        text = path.read_text(encoding="utf-8").strip()
    except OSError:
        return None
    if not text.isdigit():
        return None
    pid = int(text)
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return None
    except PermissionError:
        return pid
    return pid
