"""``earlywarn import``: convert a public data set into a contract folder."""

from __future__ import annotations

import json
from pathlib import Path

import click


@click.group(name="import")
def command() -> None:
    """Convert a public data set into a data folder that `earlywarn validate` accepts.

    \b
    Example:
      earlywarn import oulad data/oulad --out data/oulad-contract
    """


@command.command(
    name="oulad", short_help="Convert the Open University Learning Analytics Dataset (OULAD)."
)
@click.argument("source", type=click.Path(path_type=Path))
@click.option(
    "--out",
    "out",
    required=True,
    type=click.Path(path_type=Path),
    help="Folder to write (created; written in full or not at all).",
)
@click.option(
    "--label",
    type=click.Choice(["withdrawn", "not-passed"]),
    default="withdrawn",
    show_default=True,
    help="What outcomes.retained means: did not withdraw, or passed (Pass or Distinction).",
)
@click.option("--no-activity", is_flag=True, help="Leave out the clickstream (studentVle).")
@click.option("--force", is_flag=True, help="Replace --out if it already holds files.")
@click.option("--json", "as_json", is_flag=True, help="Print the summary as JSON.")
def oulad(
    source: Path, out: Path, label: str, no_activity: bool, force: bool, as_json: bool
) -> None:
    """Convert the Open University Learning Analytics Dataset (OULAD) folder SOURCE.

    Each registration (module, presentation, id_student) becomes one student, each module a
    program, each presentation a term with one course. See docs/oulad.md. The clickstream
    (studentVle.csv, about 10 million rows) takes the longest; --no-activity skips it.

    \b
    Examples:
      earlywarn import oulad data/oulad --out data/oulad-contract
      earlywarn import oulad data/oulad --out data/oulad-passed --label not-passed
    """
    from earlywarn.commands.arguments import data_folder, output_folder
    from earlywarn.commands.progress import step
    from earlywarn.importers.oulad.convert import import_oulad

    data_folder(source, "the folder that holds the OULAD CSVs")
    output_folder(out)
    summary = import_oulad(
        source, out, label=label, activity=not no_activity, replace=force, progress=step
    )
    if as_json:
        click.echo(
            json.dumps(
                {
                    "out": str(summary.out),
                    "rows": summary.rows,
                    "skipped": summary.skipped,
                    "clickstream": summary.clickstream,
                    "seconds": round(summary.seconds, 3),
                },
                indent=2,
            )
        )
        return
    click.echo(f"wrote {summary.out} in {summary.seconds:.2f} s (label: {label})")
    for table, rows in summary.rows.items():
        click.echo(f"  {table:<14} {rows:>10,} rows")
    if summary.clickstream is None:
        click.echo("  activity: no clickstream imported")
    else:
        click.echo(f"  activity from {summary.clickstream}")
    for reason, rows in summary.skipped.items():
        if rows:
            click.echo(f"  note: {rows:,} {reason}")
