"""``earlywarn feedback``: what advisors recorded from their digest links, newest first."""

from __future__ import annotations

import json
from typing import Any

import click


@click.command("feedback")
@click.option("--json", "as_json", is_flag=True, help="Print the records as a JSON list.")
@click.pass_obj
def command(obj: Any, as_json: bool) -> None:
    """List what advisors recorded about their students, newest first.

    Each record names the advisor, the student, the digest week of the link and the choice
    (reached_out, already_in_touch, could_not_reach, not_at_risk, flagged_wrongly). Notes are
    not printed here.

    \b
    Examples:
      earlywarn feedback
      earlywarn feedback --json > feedback.json
    """
    from earlywarn.state import open_state
    from earlywarn.state.feedback import list_feedback

    engine = open_state(obj.settings.state_url)
    try:
        rows = list_feedback(engine)
    finally:
        engine.dispose()
    if as_json:
        click.echo(json.dumps([r.to_json() for r in rows], indent=2))
        return
    if not rows:
        click.echo("no feedback recorded yet")
        return
    for r in rows:
        click.echo(
            f"{r.recorded_at.strftime('%Y-%m-%d %H:%M UTC')}  advisor {r.advisor_id}  "
            f"student {r.student_id}  week {r.week}: {r.label}"
        )
