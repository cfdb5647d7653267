"""``earlywarn features DIR --as-of T --out FILE``: the feature table as of an instant."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import Any

import click

from earlywarn.commands.arguments import (
    as_of_option,
    data_folder,
    output_file,
    parse_as_of,
    require_first_terms_at,
)
from earlywarn.commands.progress import step
from earlywarn.contract.freshness import require_fresh_data
from earlywarn.core.errors import UsageError

FORMATS = (".parquet", ".csv")


def write_frame(frame: Any, out: Path) -> None:
    """Write ``frame`` to ``out`` (Parquet or CSV by extension) atomically: all or nothing.

    The folder of ``out`` must exist (:func:`~earlywarn.commands.arguments.output_file`).
    """
    suffix = out.suffix.lower()
    try:
        handle, temporary = tempfile.mkstemp(dir=out.parent, prefix=f".{out.name}.", suffix=suffix)
    except OSError as exc:
        raise UsageError(f"--out: cannot write {out} ({exc.strerror or exc})") from exc
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
@as_of_option("Compute the features as of this instant", required=True)
@click.option(
    "--out",
    "out",
    required=True,
    type=click.Path(dir_okay=False, path_type=Path),
    help="Where to write the table: a .parquet or .csv file in an existing folder (replaced "
    "if it exists).",
)
@click.pass_obj
def command(obj: Any, folder: Path, as_of: str, out: Path) -> None:
    """Write the first-term features of every student in their first term as of T.

    One row per student whose first term is in progress at T and who is still enrolled in it
    (has not dropped every first-term course), student_id first, built only from the rows
    visible at T. docs/features.md lists every column. T must fall inside the first terms of
    FOLDER.

    \b
    Examples:
      earlywarn features data/institution --as-of 2026-10-05T07:00Z --out features.parquet
      earlywarn features data/institution --as-of 2026-10-05 --out features.csv
    """
    output_file(out, FORMATS)
    instant = parse_as_of(as_of)
    data_folder(folder)

    from earlywarn.contract import load_tables
    from earlywarn.features import features_as_of

    step(f"loading and validating {folder}")
    tables = load_tables(folder)
    require_first_terms_at(tables, instant, folder)
    require_fresh_data(tables, instant, folder)
    step(f"computing the features as of {instant}")
    frame = features_as_of(tables, instant, pass_score=obj.settings.pass_score)
    write_frame(frame, out)
    click.echo(f"{out}: {len(frame):,} students, {frame.shape[1] - 1} columns as of {instant}")
