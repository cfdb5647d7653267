"""Checks of what users pass on the command line (folders, output paths, instants), shared by verbs.

Each check raises :class:`~earlywarn.core.errors.UsageError` with one line that names the option,
the
path or value and what to do, and runs before any work starts: a typo costs nothing, waits for
no model and leaves nothing half-written. Not a verb (``cli.COMMANDS`` does not list it).
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import click

from earlywarn.core.errors import UsageError

if TYPE_CHECKING:
    from collections.abc import Callable

    from earlywarn.contract import Tables

AS_OF_EXAMPLE = "for example 2026-10-05 or 2026-10-05T07:00Z"

F = TypeVar("F", bound="Callable[..., Any]")


def as_of_option(purpose: str, *, required: bool = False) -> Callable[[F], F]:
    """The ``--as-of T`` option (a string for :func:`parse_as_of`, ``None`` when not given).

    ``purpose`` opens its help ("Score as of this instant"); the help then says how T is read
    and, unless ``required``, that it defaults to now.
    """
    default = "" if required else " Default: now."
    return click.option(
        "--as-of",
        "as_of",
        required=required,
        default=None,
        metavar="T",
        help=f"{purpose} (ISO 8601; without an offset it is UTC).{default}",
    )


def data_folder(folder: Path, what: str = "the data folder that holds the tables") -> Path:
    """``folder`` when it is an existing folder (the data folder argument of most verbs);
    ``what`` says in the error what to pass instead."""
    if not folder.exists():
        raise UsageError(f"{folder}: no such folder; pass {what}")
    if not folder.is_dir():
        raise UsageError(f"{folder}: not a folder; pass {what}")
    return folder


def parse_as_of(text: str | None, option: str = "--as-of") -> Any:
    """The instant ``text`` names (ISO 8601; no offset means UTC) as a UTC ``pandas.Timestamp``,
    or now when ``text`` is ``None``."""
    import pandas as pd

    from earlywarn.core.time import as_of

    if text is None:
        return pd.Timestamp.now(tz="UTC")
    try:
        return as_of(text)
    except (ValueError, TypeError, OverflowError) as exc:
        raise UsageError(
            f"{option}: {text!r} is not an ISO 8601 date or instant ({AS_OF_EXAMPLE})"
        ) from exc


def _probe_writable(folder: Path, option: str) -> None:
    """Create and remove a scratch file in ``folder``: the one check that holds for every user
    (root included) and every file system (read-only mounts, /proc)."""
    try:
        handle, scratch = tempfile.mkstemp(dir=folder, prefix=".earlywarn-probe-")
    except OSError as exc:
        raise UsageError(
            f"{option}: cannot write in {folder} ({exc.strerror or exc}); choose another {option}"
        ) from exc
    os.close(handle)
    Path(scratch).unlink(missing_ok=True)


def output_file(out: Path, suffixes: tuple[str, ...], option: str = "--out") -> Path:
    """Check that ``out`` can be written as a file with one of ``suffixes``, before any work.

    The folder that will hold it must exist (a missing folder is usually a typo); the file itself
    may exist and is then replaced.
    """
    if out.suffix.lower() not in suffixes:
        raise UsageError(f"{option}: {out} must end in {' or '.join(suffixes)}")
    if out.is_dir():
        raise UsageError(f"{option}: {out} is a folder; give a file name ending in {suffixes[0]}")
    parent = out.parent if str(out.parent) else Path(".")
    if not parent.exists():
        raise UsageError(
            f"{option}: the folder {parent} does not exist; create it first or choose another "
            f"{option}"
        )
    if not parent.is_dir():
        raise UsageError(f"{option}: {parent} is not a folder; choose another {option}")
    _probe_writable(parent, option)
    return out


def output_folder(out: Path, option: str = "--out") -> Path:
    """Check that the folder ``out`` can be created (with any missing parents) or written."""
    existing = out
    while not existing.exists():
        if existing.parent == existing:
            break
        existing = existing.parent
    if not existing.is_dir():
        raise UsageError(f"{option}: {existing} is a file, not a folder; choose another {option}")
    _probe_writable(existing, option)
    return out


def first_term_window(tables: Tables) -> tuple[Any, Any] | None:
    """The first day of the earliest first term and the last day of the latest one (calendar
    days, no time zone), or ``None`` when no student has a dated first term."""
    terms = tables.terms.set_index("term_id")
    first_terms = terms.reindex(tables.students["first_term_id"].astype(str).unique())
    starts, ends = first_terms["start_date"].dropna(), first_terms["end_date"].dropna()
    if starts.empty or ends.empty:
        return None
    return starts.min(), ends.max()


def require_first_terms_at(
    tables: Tables, instant: Any, folder: Path, option: str = "--as-of"
) -> None:
    """Refuse an instant outside every first term of the data (before any data, or long after
    it): scoring or featurising it would quietly give nobody."""
    import pandas as pd

    window = first_term_window(tables)
    if window is None:
        raise UsageError(f"{folder}: no student has a first term with dates; check terms.csv")
    start, end = window
    day = pd.Timestamp(instant).tz_convert("UTC").tz_localize(None)
    if day < start or day >= end + pd.Timedelta(days=1):
        when = "before" if day < start else "after"
        raise UsageError(
            f"{option} {day:%Y-%m-%d %H:%M} UTC is {when} every first term in {folder} (first "
            f"terms run from {start:%Y-%m-%d} to {end:%Y-%m-%d}); pick an instant in that range"
        )
