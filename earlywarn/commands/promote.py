"""``earlywarn promote``: make the challenger the champion when the promotion guard agrees."""

from __future__ import annotations

import getpass
import json
import os
from typing import Any

import click


def _actor() -> str:
    """Who promotes: $EARLYWARN_ACTOR, else the operating-system user."""
    try:
        return os.environ.get("EARLYWARN_ACTOR") or getpass.getuser()
    except (KeyError, OSError):
        return "unknown"


@click.command("promote")
@click.option("--force", is_flag=True, help="Promote even when the guard refuses (recorded).")
@click.option("--list", "list_only", is_flag=True, help="List past promotion decisions and exit.")
@click.option("--json", "as_json", is_flag=True, help="Print the decision as JSON on stdout.")
@click.pass_obj
def command(obj: Any, force: bool, list_only: bool, as_json: bool) -> None:
    """Move the registry alias `champion` to the challenger when it is at least as good as the
    current champion on the challenger's test cohort (ROC-AUC at checkpoint week promote_week,
    within promote_auc_tolerance) and its calibration error is under promote_max_ece. A refusal
    says why, with the numbers, and exits 1. Every decision is recorded.

    \b
    Examples:
      earlywarn promote
      earlywarn promote --force
      earlywarn promote --list
    """
    from earlywarn.commands.progress import step
    from earlywarn.training.promote import list_promotions, promote_challenger

    if list_only and force:
        raise click.UsageError("--force does not go with --list (--list only reads)")
    settings = obj.settings
    if list_only:
        decisions = list_promotions(settings)
        if as_json:
            click.echo(json.dumps(decisions))
            return
        if not decisions:
            click.echo("no promotion decisions recorded yet")
        for d in decisions:
            click.echo(
                f"{d['at']}  {d['status']:<9} v{d['challenger_version']} "
                f"by {d['actor']}: {d['reason']}"
            )
        return
    step("checking the challenger against the champion on the challenger's test cohort")
    decision = promote_challenger(settings, actor=_actor(), force=force)
    if as_json:
        click.echo(json.dumps(decision.as_dict()))
    elif decision.promoted:
        click.echo(f"version {decision.challenger_version} is now the champion: {decision.reason}")
    elif decision.status == "unchanged":
        click.echo(decision.reason)
    if decision.status == "refused":
        click.echo(f"refused: {decision.reason} (use --force to promote anyway)", err=True)
        click.get_current_context().exit(1)
