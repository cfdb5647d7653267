"""Progress of long commands, on stderr and only for a person at a terminal (``rich``).

At a terminal a command says each step in one line (:func:`step`), shows a spinner while it
waits (:func:`status`) and a bar where the work can be counted (:func:`bar`). On a pipe, in a
cron mail or under a service manager all three are silent, so stdout stays clean for ``--json``
and logs hold only what went wrong and each job's summary. Not a verb (``cli.COMMANDS`` does
not list it).
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from rich.console import Console


def interactive() -> bool:
    """Whether a person is watching stderr."""
    isatty = getattr(sys.stderr, "isatty", None)
    return bool(isatty and isatty())


def _console() -> Console:
    from rich.console import Console

    # Made per use: sys.stderr may have been replaced (tests, redirections) since the last call.
    return Console(file=sys.stderr, highlight=False)


def step(message: str) -> None:
    """Say on stderr what a long command is doing now (one short line, no names of people)."""
    if interactive():
        _console().print(message, markup=False, soft_wrap=True)


@contextmanager
def status(message: str) -> Iterator[Callable[[str], None]]:
    """A spinner with ``message`` while the block runs; yields a function that changes the text."""
    if not interactive():
        yield lambda text: None
        return
    with _console().status(message) as spinner:
        yield lambda text: spinner.update(text)


@contextmanager
def bar(total: int, description: str) -> Iterator[Callable[[str], None]]:
    """A progress bar over ``total`` steps; yields ``advance(text)``, called as each step starts
    (the bar shows how many are done and what runs now)."""
    if not interactive():
        yield lambda text: None
        return
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    progress = Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=_console(),
        transient=True,
    )
    started = [False]
    with progress:
        task = progress.add_task(description, total=total)

        def advance(text: str) -> None:
            if started[0]:
                progress.advance(task)
            started[0] = True
            progress.update(task, description=text)

        yield advance
