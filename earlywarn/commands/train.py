"""``earlywarn train DIR``: fit, evaluate and register a retention model (alias ``challenger``)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import click

from earlywarn.commands.arguments import data_folder, parse_as_of
from earlywarn.commands.progress import step


def _fmt(value: Any) -> str:
    return "   n/a" if value is None else f"{value:6.3f}"


@click.command("train")
@click.argument("data_dir", metavar="DIR", type=click.Path(path_type=Path))
@click.option(
    "--as-of",
    "as_of",
    metavar="TIMESTAMP",
    default=None,
    help="Build the training data as of this instant (ISO 8601; default: the latest time stamp).",
)
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object on stdout.")
@click.pass_obj
def command(obj: Any, data_dir: Path, as_of: str | None, as_json: bool) -> None:
    """Fit a calibrated LightGBM retention model on the institution in DIR, evaluate it on the
    latest cohort with known outcomes, log the run to MLflow under <home>/mlruns and register the
    model as the challenger. Promote it with `earlywarn promote`.

    \b
    Examples:
      earlywarn train data/institution
      earlywarn --home /srv/earlywarn train data/institution --as-of 2025-09-01 --json
    """
    from earlywarn.training.pipeline import train_from_folder

    settings = obj.settings
    folder = data_folder(data_dir)
    instant = None if as_of is None else parse_as_of(as_of)
    result = train_from_folder(settings, folder, as_of=instant, progress=step)
    summary = result.summary()
    if as_json:
        click.echo(json.dumps(summary))
        return
    click.echo(
        f"model {summary['model_name']} version {summary['model_version']} (alias challenger), "
        f"run {summary['run_id']}"
    )
    click.echo(
        f"test cohort {summary['test_cohort']} ({', '.join(summary['test_cohorts'])}); "
        f"{summary['calibration']} calibration; {summary['training_seconds']} s"
    )
    header = (
        "  week      n  ROC-AUC  PR-AUC   Brier     ECE   noise  top10%  baseline  oracle  "
        "oracle ECE  ECE vs truth"
    )
    click.echo(header)
    for row in [*summary["weeks"], {"week": "all", **summary["overall"]}]:
        click.echo(
            f"  {row['week']!s:>4} {row['n']:>6} {_fmt(row['roc_auc'])}  {_fmt(row['pr_auc'])} "
            f"{_fmt(row['brier'])}  {_fmt(row['ece'])}  {_fmt(row['ece_floor_p95'])}  "
            f"{_fmt(row['top10_recall'])}   {_fmt(row['baseline_roc_auc'])}  "
            f"{_fmt(row['oracle_roc_auc'])}      {_fmt(row['oracle_ece'])}        "
            f"{_fmt(row['ece_vs_truth'])}"
        )
    click.echo(
        "  (ROC-AUC of baseline and oracle; noise = the ECE a perfectly calibrated model stays "
        "under 95% of the time on these rows; top10% = recall among the 10% riskiest; ECE vs "
        "truth = calibration error against the true probabilities, on generated data only)"
    )
    click.echo("Promote it with: earlywarn promote")
