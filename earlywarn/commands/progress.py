"""Progress of long commands: short step lines on stderr, so stdout stays clean for ``--json``.

Lines appear only when stderr is a terminal: a person waiting sees what is happening, while cron
mails, service logs and scripts that read stderr get only what went wrong. Not a verb
(``cli.COMMANDS`` does not list it).
"""

from __future__ import annotations

import sys

import click


def interactive() -> bool:
    """Whether a person is watching stderr."""
    isatty = getattr(sys.stderr, "isatty", None)
    return bool(isatty and isatty())


def step(message: str) -> None:
    """Say on stderr what a long command is doing now (one short line, no names of people)."""
    if interactive():
        click.echo(message, err=True)
