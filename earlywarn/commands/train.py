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
        f"{summary['trees']} trees; {summary['calibration']} calibration; "
        f"{summary['training_seconds']} s"
    )
    click.echo(
        "  week      n    pos  ROC-AUC  95% interval    PR-AUC     ECE   noise  top-N prec  "
        "logistic   prior  oracle"
    )
    for row in summary["weeks"]:
        ci = row["roc_auc_ci"]
        interval = "      n/a      " if ci is None else f"{ci[0]:.3f}-{ci[1]:.3f}"
        click.echo(
            f"  {row['week']!s:>4} {row['n']:>6} {row['positives']:>6} {_fmt(row['roc_auc'])}  "
            f"{interval:>13}  {_fmt(row['pr_auc'])}  {_fmt(row['ece'])}  "
            f"{_fmt(row['ece_floor_p95'])}      {_fmt(row['top_n_precision'])}    "
            f"{_fmt(row['baseline_roc_auc'])}  {_fmt(row['prior_roc_auc'])}  "
            f"{_fmt(row['oracle_roc_auc'])}"
        )
    window = summary["window"]
    click.echo(
        f"  {window['name']}: model {_fmt(window['mean_roc_auc'])}, logistic baseline "
        f"{_fmt(window['mean_baseline_roc_auc'])}, prior baseline "
        f"{_fmt(window['mean_prior_roc_auc'])}"
    )
    click.echo(
        f"  (noise = the ECE a perfectly calibrated model stays under 95% of the time on these "
        f"rows; top-N = the {summary['top_n'] or '10% of the'} riskiest students, the digest "
        "capacity; logistic and prior are the baselines' ROC-AUC; oracle = the true "
        "probabilities, on generated data only)"
    )
    fairness = summary["fairness"]
    for attribute, block in fairness["attributes"].items():
        gaps = block["largest_gap"]
        if not gaps:
            continue
        parts = [
            f"{metric} {gap['gap']:.3f} ({gap['lowest']} vs {gap['highest']})"
            for metric, gap in gaps.items()
        ]
        click.echo(f"  fairness, {attribute}: largest gaps " + "; ".join(parts))
    click.echo("Promote it with: earlywarn promote")
