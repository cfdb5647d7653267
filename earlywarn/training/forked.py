"""Running a list of independent pieces of work on two cores: half in a forked child process.

Building the training rows computes the features of one cohort at one checkpoint at a time, each
piece independent of the others and mostly Python, so a thread would not run beside another. A
forked child shares the parent's prepared tables without copying them, computes the later half
of the pieces and sends its results back through a pipe, joined into a few large arrays (many
small ones cost more to send than to compute); the parent computes the first half meanwhile.

Fork is used only where it is safe and worth it: on Linux (macOS has fork, but its system
libraries are not safe in a forked child, which is why Python spawns processes there), when this
process runs no other thread (a fork copies locks held by other threads, and Python 3.12 warns
about it), the process may use two cores or more, and there are enough pieces. Otherwise, or
when the child dies or cannot send its results, the parent computes every piece itself: the
results are the same either way, in the order of the pieces.
"""

from __future__ import annotations

import os
import sys
import threading
import traceback
from collections.abc import Callable, Sequence
from typing import Any, TypeVar

T = TypeVar("T")
R = TypeVar("R")

#: Fewer pieces than this are computed in this process: a fork would cost more than it saves.
MIN_PIECES = 8


def usable_cores() -> int:
    """The cores this process may run on (its CPU affinity where the platform tells)."""
    if hasattr(os, "sched_getaffinity"):
        return len(os.sched_getaffinity(0))
    return os.cpu_count() or 1


def can_fork() -> bool:
    """True when a forked child may share this process's work (see the module's docstring)."""
    import multiprocessing

    return (
        sys.platform.startswith("linux")
        and "fork" in multiprocessing.get_all_start_methods()
        and threading.active_count() == 1
        and usable_cores() >= 2
    )


def map_in_two(work: Callable[[T], R], pieces: Sequence[T], combine: Callable[[list[R]], R]) -> R:
    """``combine([work(p) for p in pieces])``, the later half of the pieces computed in a forked
    child. ``combine`` must be associative (concatenation is): each process combines its own
    results, and the parent combines the two.
    """
    if len(pieces) < MIN_PIECES or not can_fork():
        return combine([work(piece) for piece in pieces])
    import multiprocessing

    half = (len(pieces) + 1) // 2
    context = multiprocessing.get_context("fork")
    receiver, sender = context.Pipe(duplex=False)
    child = context.Process(target=_child, args=(work, pieces[half:], combine, sender), daemon=True)
    child.start()
    sender.close()
    status: str | None = None
    payload: Any = None
    try:
        mine = combine([work(piece) for piece in pieces[:half]])
        try:
            status, payload = receiver.recv()
        except (EOFError, OSError):  # the child died before sending: its pieces are done here
            status, payload = "lost", None
    finally:
        receiver.close()
        if status is None:  # this process failed before the child's results came
            child.terminate()
        child.join()
    if status == "error":
        raise payload
    if status != "ok":
        payload = combine([work(piece) for piece in pieces[half:]])
    return combine([mine, payload])


def _child(
    work: Callable[[Any], Any],
    pieces: Sequence[Any],
    combine: Callable[[list[Any]], Any],
    sender: Any,
) -> None:
    try:
        outcome: tuple[str, Any] = ("ok", combine([work(piece) for piece in pieces]))
    except Exception as error:  # raised again in the parent, as itself where it can be sent
        outcome = ("error", error)
    try:
        sender.send(outcome)
    except Exception:  # an error that cannot be pickled: its text instead
        sender.send(("error", RuntimeError(traceback.format_exc())))
    sender.close()
