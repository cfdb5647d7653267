"""``earlywarn digest DIR --as-of T``: build (and with ``--send``, send) the advisor digests."""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any

import click

from earlywarn.commands.arguments import as_of_option, data_folder, parse_as_of
from earlywarn.commands.progress import step

log = logging.getLogger(__name__)


@click.command("digest")
@click.argument("folder", type=click.Path(path_type=Path))
@as_of_option("The week to send: any instant in it")
@click.option(
    "--dry-run/--send",
    "dry_run",
    default=True,
    help="--dry-run (the default) writes .eml files into the outbox folder and changes no "
    "delivery state; --send delivers over SMTP (the [smtp] settings of earlywarn.toml).",
)
@click.option("--json", "as_json", is_flag=True, help="Print what happened as JSON.")
@click.pass_obj
def command(obj: Any, folder: Path, as_of: str | None, dry_run: bool, as_json: bool) -> None:
    """Build each advisor's digest of at-risk students for the week of T from data folder FOLDER.

    Reads the week's scores from the state database (run `earlywarn score` first) and the
    advisors, names and courses from FOLDER. One email per advisor with at least one student at
    medium risk or above; students without a reachable advisor go to the operator summary. A
    digest already sent for an advisor and week is never sent again; messages the mail server
    refuses for now stay pending for the next --send. Exits 1 when a message failed or is still
    pending after --send.

    \b
    Examples:
      earlywarn digest data/institution --as-of 2026-10-05            # preview: .eml files
      earlywarn digest data/institution --as-of 2026-10-05 --send     # deliver over SMTP
    """
    from earlywarn.contract import load_tables
    from earlywarn.digest.run import run_digests

    instant = parse_as_of(as_of).to_pydatetime()
    data_folder(folder)
    settings = obj.settings
    if not dry_run:
        from earlywarn.mail.probe import require_smtp_settings

        # The same check as `earlywarn check`: a wrong smtp_* setting stops here (exit 2).
        step("checking the SMTP settings against the server")
        require_smtp_settings(settings)
    step(f"loading and validating {folder}")
    tables = load_tables(folder)
    step("building the digests" if dry_run else "building and sending the digests")
    result = run_digests(settings, tables, instant, send=not dry_run)
    if as_json:
        click.echo(json.dumps(_as_json(result), indent=2))
    else:
        _print(result, settings.outbox_dir, folder)
    if not dry_run and (result.failed or any(e.week == result.week for e in result.pending)):
        raise click.exceptions.Exit(1)


def _as_json(result: Any) -> dict[str, Any]:
    return {
        "week": result.week,
        "dry_run": result.dry_run,
        "digests": result.digests,
        "already_sent": result.already_sent,
        "sent": [list(k) for k in result.delivery.sent],
        "failed": [
            {
                "recipient": e.recipient_id,
                "week": e.week,
                "attempts": e.attempts,
                "error": e.last_error,
            }
            for e in result.failed
        ],
        "pending": [
            {
                "recipient": e.recipient_id,
                "week": e.week,
                "attempts": e.attempts,
                "error": e.last_error,
                "next_attempt_at": None
                if e.next_attempt_at is None
                else e.next_attempt_at.isoformat(timespec="seconds"),
            }
            for e in result.pending
        ],
        "unassigned": [u.student_id for u in result.unassigned],
        "operator_summary": result.operator,
        "files": [str(p) for p in result.files],
    }


def _print(result: Any, outbox: Path, folder: Path) -> None:
    week = result.week
    if result.dry_run:
        click.echo(
            f"dry run for the week of {week}: {len(result.digests)} advisor digests written to "
            f"{outbox / week} (nothing sent)"
        )
        for path in result.files:
            click.echo(f"  {path}")
        click.echo(f"send them with: earlywarn digest {folder} --as-of {week} --send")
    else:
        click.echo(
            f"week of {week}: {len(result.digests)} advisor digests; "
            f"{len(result.delivery.sent)} messages sent now, "
            f"{len(result.already_sent)} already sent before"
        )
    if result.unassigned:
        click.echo(
            f"  {len(result.unassigned)} at-risk students have no reachable advisor: "
            "see the operator summary"
        )
    click.echo(f"  operator summary: {result.operator}")
    for entry in result.failed:
        click.echo(
            f"  FAILED {entry.recipient_id} (week {entry.week}): {entry.last_error}", err=True
        )
    for entry in result.pending:
        later = ""
        if entry.next_attempt_at is not None:
            later = f", next try after {entry.next_attempt_at:%Y-%m-%d %H:%M} UTC"
        click.echo(
            f"  pending {entry.recipient_id} (week {entry.week}, {entry.attempts} attempts"
            f"{later}): {entry.last_error or 'not tried yet'}",
            err=True,
        )
