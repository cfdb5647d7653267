"""Writing a folder all at once: into a hidden sibling first, renamed into place at the end.

A reader never sees a half-written data folder: either the old folder (or none) or the new one.
"""

from __future__ import annotations

import secrets
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from earlywarn.core.errors import UsageError


def check_target(out: Path, *, replace: bool) -> None:
    """Fail early when ``out`` cannot receive a new folder (before any slow work starts)."""
    if out.exists() and not out.is_dir():
        raise UsageError(f"{out}: exists and is not a folder; choose another --out")
    if out.is_dir() and any(out.iterdir()) and not replace:
        raise UsageError(f"{out}: folder exists and is not empty; pass --force to replace it")


@contextmanager
def staged_folder(out: Path, *, replace: bool = False) -> Iterator[Path]:
    """Yield an empty folder beside ``out``; on success it becomes ``out``, on error it vanishes."""
    out = out.absolute()
    check_target(out, replace=replace)
    out.parent.mkdir(parents=True, exist_ok=True)
    staging = out.with_name(f".{out.name}.partial-{secrets.token_hex(4)}")
    staging.mkdir()
    try:
        yield staging
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    if out.exists():
        old = out.with_name(f".{out.name}.old-{secrets.token_hex(4)}")
        out.rename(old)
        staging.rename(out)
        shutil.rmtree(old, ignore_errors=True)
    else:
        staging.rename(out)
