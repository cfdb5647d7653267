"""``earlywarn impact DIR``: what the digests did to retention, from the randomized holdout."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import click

from earlywarn.commands.arguments import as_of_option, data_folder, parse_as_of


@click.command("impact")
@click.argument("folder", type=click.Path(path_type=Path))
@as_of_option("Outcomes known as of this instant")
@click.option("--json", "as_json", is_flag=True, help="Print the estimate as JSON.")
@click.pass_obj
def command(obj: Any, folder: Path, as_of: str | None, as_json: bool) -> None:
    """Estimate the digests' effect on retention from the holdout (holdout_share above 0).

    Compares first-year retention of the students drawn to be listed (notify) with those
    withheld, per tier and overall: intention-to-treat difference, 95% interval, students per
    arm, and warnings when an arm is small, the arms' predicted risk differs or too few outcomes
    are known yet. FOLDER is the institution's data folder (for the outcomes).

    \b
    Examples:
      earlywarn impact data/institution
      earlywarn impact data/institution --json
    """
    from earlywarn.analysis.impact import ArmRow, estimate_impact
    from earlywarn.contract import load_tables
    from earlywarn.features.labels import retention_labels
    from earlywarn.state import open_state
    from earlywarn.state.holdout import assignments

    instant = parse_as_of(as_of)
    data_folder(folder)
    tables = load_tables(folder)
    labels = retention_labels(tables, instant)
    engine = open_state(obj.settings.state_url)
    try:
        arms = assignments(engine)
    finally:
        engine.dispose()
    rows = []
    for a in arms:
        value = labels.get(a.student_id)
        known = value is not None and value == value
        rows.append(ArmRow(a.student_id, a.arm, a.tier, a.risk, bool(value) if known else None))
    result = estimate_impact(rows)
    result["students"] = len(rows)
    if as_json:
        click.echo(json.dumps(result, indent=2))
        return
    if not rows:
        click.echo("no holdout assignments yet: set holdout_share above 0 (see docs/feedback.md)")
        return
    for name, cell in [("overall", result["overall"]), *result["per_tier"].items()]:
        ci = cell["ci95"]
        diff = cell["difference"]
        shown = "unknown" if diff is None else f"{diff * 100:+.1f} points"
        interval = "" if ci is None else f" (95% CI {ci[0] * 100:+.1f} to {ci[1] * 100:+.1f})"
        click.echo(
            f"{name}: {shown}{interval}; n notify {cell['notify']['n']}, "
            f"n withhold {cell['withhold']['n']}"
        )
    for warning in result["warnings"]:
        click.echo(f"warning: {warning}")
