"""``earlywarn score DIR --as-of T``: score every first-term student with the champion model."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import click

from earlywarn.commands.arguments import (
    as_of_option,
    data_folder,
    parse_as_of,
    require_first_terms_at,
)
from earlywarn.commands.progress import step
from earlywarn.contract.freshness import require_fresh_data

__all__ = ["command", "parse_as_of"]


@click.command("score")
@click.argument("folder", type=click.Path(path_type=Path))
@as_of_option("Score as of this instant")
@click.option("--json", "as_json", is_flag=True, help="Print every student's score as JSON.")
@click.pass_obj
def command(obj: Any, folder: Path, as_of: str | None, as_json: bool) -> None:
    """Score every first-term student in the data folder FOLDER with the champion model.

    Stores one calibrated risk of not being retained per student for the week of T in the state
    database, with the student's top reasons, the model version and the feature drift. Scoring a
    week again replaces that week's scores; earlier weeks stay as history. T must fall inside
    the first terms of FOLDER. Progress goes to stderr, so --json output can be piped.

    \b
    Examples:
      earlywarn score data/institution --as-of 2026-10-05T07:00Z
      earlywarn score data/institution --as-of 2026-10-05 --json > scores.json
    """
    from earlywarn.contract import load_tables
    from earlywarn.model.store import require_alias
    from earlywarn.scoring.score import score_institution

    instant = parse_as_of(as_of)
    data_folder(folder)
    settings = obj.settings
    require_alias(settings)  # before the data is read: without a champion there is nothing to do
    step(f"loading and validating {folder}")
    tables = load_tables(folder)
    require_first_terms_at(tables, instant, folder)
    require_fresh_data(tables, instant, folder, option="--as-of" if as_of else "now (no --as-of)")
    step("scoring every first-term student with the champion model")
    result = score_institution(settings, folder, instant.to_pydatetime(), tables=tables)
    if as_json:
        click.echo(json.dumps(result.to_json(), indent=2))
        return
    tiers = result.tier_counts
    click.echo(
        f"scored {len(result.scores)} students for week {result.week} "
        f"(as of {result.run.as_of.isoformat()}) with model version {result.run.model_version}"
    )
    click.echo(f"  high {tiers['high']}, medium {tiers['medium']}, low {tiers['low']}")
    from earlywarn.scoring.drift import drift_summary_line

    click.echo("  " + drift_summary_line(result.run.drift))
