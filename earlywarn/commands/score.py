"""``earlywarn score DIR --as-of T``: score every first-term student with the champion model."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import click

from earlywarn.errors import UsageError


def parse_as_of(text: str | None) -> Any:
    """The ``--as-of`` instant (ISO 8601; no offset means UTC), or now when not given."""
    import pandas as pd

    from earlywarn.timeutil import parse_instant

    if text is None:
        return pd.Timestamp.now(tz="UTC")
    try:
        return parse_instant(text)
    except (ValueError, TypeError) as exc:
        raise UsageError(
            f"--as-of: {text!r} is not an ISO 8601 instant (for example 2026-10-05T07:00Z)"
        ) from exc


@click.command("score")
@click.argument("folder", type=click.Path(path_type=Path))
@click.option(
    "--as-of",
    "as_of",
    default=None,
    metavar="T",
    help="Score as of this instant (ISO 8601; without an offset it is UTC). Default: now.",
)
@click.option("--json", "as_json", is_flag=True, help="Print every student's score as JSON.")
@click.pass_obj
def command(obj: Any, folder: Path, as_of: str | None, as_json: bool) -> None:
    """Score every first-term student in the data folder FOLDER with the champion model.

    Stores one calibrated risk of not being retained per student for the week of T in the state
    database, with the student's top reasons, the model version and the feature drift. Scoring a
    week again replaces that week's scores; earlier weeks stay as history.

    \b
    Examples:
      earlywarn score data/institution --as-of 2026-10-05T07:00Z
      earlywarn score data/institution --as-of 2026-10-05 --json > scores.json
    """
    from earlywarn.scoring import score_institution

    if not folder.is_dir():
        raise UsageError(f"{folder}: no such data folder; pass the folder that holds the tables")
    instant = parse_as_of(as_of)
    result = score_institution(obj.settings, folder, instant.to_pydatetime())
    if as_json:
        click.echo(json.dumps(result.to_json(), indent=2))
        return
    tiers = result.tier_counts
    click.echo(
        f"scored {len(result.scores)} students for week {result.week} "
        f"(as of {result.run.as_of.isoformat()}) with model version {result.run.model_version}"
    )
    click.echo(f"  high {tiers['high']}, medium {tiers['medium']}, low {tiers['low']}")
    if result.drift_warnings:
        click.echo(
            f"  drift warning (PSI above {obj.settings.drift_psi_warning}): "
            + ", ".join(result.drift_warnings)
        )
