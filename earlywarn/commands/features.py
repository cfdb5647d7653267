"""``earlywarn features DIR --as-of T --out FILE``: the feature table as of an instant."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import Any

import click

from earlywarn.errors import UsageError

FORMATS = (".parquet", ".csv")


def _parse_instant(text: str) -> Any:
    from earlywarn.timeutil import parse_instant

    try:
        return parse_instant(text)
    except (ValueError, TypeError) as exc:
        raise UsageError(
            f"--as-of: {text!r} is not an ISO 8601 instant (for example 2026-10-05T07:00Z)"
        ) from exc


def write_frame(frame: Any, out: Path) -> None:
    """Write ``frame`` to ``out`` (Parquet or CSV by extension) atomically: all or nothing."""
    suffix = out.suffix.lower()
    out.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(dir=out.parent, prefix=f".{out.name}.", suffix=suffix)
    os.close(handle)
    try:
        if suffix == ".parquet":
            frame.to_parquet(temporary, index=False)
        else:
            frame.to_csv(temporary, index=False)
        os.replace(temporary, out)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


@click.command("features")
@click.argument("folder", type=click.Path(path_type=Path))
@click.option(
    "--as-of",
    "as_of",
    required=True,
    metavar="T",
    help="Compute the features as of this instant (ISO 8601; without an offset it is UTC).",
)
@click.option(
    "--out",
    "out",
    required=True,
    type=click.Path(dir_okay=False, path_type=Path),
    help="Where to write the table: a .parquet or .csv file.",
)
@click.pass_obj
def command(obj: Any, folder: Path, as_of: str, out: Path) -> None:
    """Write the first-term features of every student in their first term as of T.

    One row per student whose first term is in progress at T and who is still enrolled in it
    (has not dropped every first-term course), student_id first, built only from the rows
    visible at T. docs/features.md lists every column.

    \b
    Examples:
      earlywarn features data/institution --as-of 2026-10-05T07:00Z --out features.parquet
      earlywarn features data/institution --as-of 2026-10-05 --out features.csv
    """
    if out.suffix.lower() not in FORMATS:
        raise UsageError(f"--out: {out} must end in .parquet or .csv")
    instant = _parse_instant(as_of)
    if not folder.is_dir():
        raise UsageError(f"{folder}: no such data folder; pass the folder that holds the tables")

    from earlywarn.contract import load_tables
    from earlywarn.features import features_as_of

    tables = load_tables(folder)
    frame = features_as_of(tables, instant, pass_score=obj.settings.pass_score)
    write_frame(frame, out)
    click.echo(f"{out}: {len(frame):,} students, {frame.shape[1] - 1} columns as of {instant}")
