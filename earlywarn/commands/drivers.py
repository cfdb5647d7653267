"""``earlywarn drivers DIR``: which behaviours and course designs go with retention, controlled."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import click


@click.command("drivers")
@click.argument("folder", type=click.Path(path_type=Path))
@click.option(
    "--out",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Where to write the HTML report, an .html file in an existing folder (default: "
    "<home>/reports/drivers-<date>.html).",
)
@click.option("--json", "as_json", is_flag=True, help="Print the results as JSON on stdout.")
@click.option(
    "--penalty",
    type=click.Choice(["plugin", "cv"]),
    default="plugin",
    show_default=True,
    help="How the lassos choose their penalty: the plug-in rule or cross-validation.",
)
@click.option("--no-mlflow", is_flag=True, help="Do not log the run to the home's MLflow store.")
@click.pass_obj
def command(
    obj: object, folder: Path, out: Path | None, as_json: bool, penalty: str, no_mlflow: bool
) -> None:
    """Measure what drives first-year retention in the data folder FOLDER.

    One model per driver, controlled for everything else the data knows (double lasso, program
    fixed effects), as in the technical appendix of Coursera's "Drivers of Retention in Online
    Degree Programs". Prints a three-sentence summary and a ranked table (effect in percentage
    points from the 25th to the 75th percentile, 95% interval, the naive comparison without
    controls, the q-value, what the estimate rests on), writes an HTML report with a chart and
    a per-program table, and logs the run to MLflow (tag run_type=drivers). --json prints
    {"drivers": [...], "n": students, "programs": [...]} instead. Needs first-term students
    whose first-year outcome is known (an anniversary term in the data, or an outcomes table).
    Progress goes to stderr.

    \b
    Examples:
      earlywarn drivers data/institution
      earlywarn drivers data/institution --out drivers.html --json > drivers.json
    """
    from earlywarn.analysis.pipeline import results_json, run_drivers
    from earlywarn.analysis.report import terminal_table
    from earlywarn.commands.arguments import data_folder, output_file
    from earlywarn.commands.progress import step

    data_folder(folder)
    if out is not None:
        output_file(out, (".html", ".htm"))
    settings = obj.settings  # type: ignore[attr-defined]
    run = run_drivers(
        folder,
        settings,
        today=date.today(),
        out=out,
        penalty=penalty,  # type: ignore[arg-type]
        log_to_mlflow=not no_mlflow,
        progress=step,
    )
    if as_json:
        click.echo(results_json(run.results, run.students, run.program_rows))
        return
    click.echo(
        f"{run.students:,} first-term students with a known first-year outcome, "
        f"{run.programs} program(s)"
    )
    click.echo(" ".join(run.summary))
    click.echo("")
    click.echo(terminal_table(run.results))
    click.echo(f"report: {run.report_path}")
    if run.run_id:
        click.echo(f"mlflow run: {run.run_id}")
