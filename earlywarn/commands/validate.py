"""``earlywarn validate DIR``: check a data folder against the data contract."""

from __future__ import annotations

import json
from pathlib import Path

import click

from earlywarn.core.errors import DataFolderError

#: Lines of problems printed before "... and N more" (``--json`` lists them all).
SHOWN_PROBLEMS = 100


@click.command("validate")
@click.argument("folder", type=click.Path(path_type=Path))
@click.option("--json", "as_json", is_flag=True, help="Print the report as JSON on stdout.")
@click.pass_context
def command(ctx: click.Context, folder: Path, as_json: bool) -> None:
    """Check the data folder FOLDER against the data contract (CONTRACT.md).

    On good data, prints each table with its file and row count, the range of dates seen and any
    warnings, and exits 0. Otherwise prints every problem (file, line or row, column, value and
    rule) to stderr and exits 2.

    \b
    Examples:
      earlywarn validate data/institution
      earlywarn validate data/institution --json > report.json
    """
    from earlywarn.commands.progress import step
    from earlywarn.contract.validate import validate_folder

    step(f"checking {folder} against the data contract")
    try:
        report = validate_folder(folder)
    except DataFolderError as exc:
        if as_json:
            click.echo(json.dumps({"folder": str(folder), "ok": False, "error": str(exc)}))
        click.echo(f"error: {exc}", err=True)
        ctx.exit(2)
        return
    if as_json:
        click.echo(json.dumps(report.to_dict(), indent=2))
        ctx.exit(0 if report.ok else 2)
        return
    if not report.ok:
        for warning in report.warnings:
            click.echo(f"warning: {warning}", err=True)
        for problem in report.problems[:SHOWN_PROBLEMS]:
            click.echo(str(problem), err=True)
        hidden = len(report.problems) - SHOWN_PROBLEMS
        if hidden > 0:
            click.echo(f"... and {hidden} more (run with --json to see them all)", err=True)
        if len(report.problems) > 1:
            click.echo(
                f"{folder}: the data breaks the data contract; fix the lines above", err=True
            )
        ctx.exit(2)
        return
    click.echo(f"{folder}: meets the data contract")
    width = max(len(name) for name in report.files)
    for name, path in report.files.items():
        click.echo(f"  {name:<{width}}  {report.row_counts[name]:>10,} rows  {path.name}")
    if report.date_range is not None:
        low, high = report.date_range
        click.echo(f"  dates from {low.isoformat()} to {high.isoformat()}")
    for warning in report.warnings:
        click.echo(f"  warning: {warning}")
