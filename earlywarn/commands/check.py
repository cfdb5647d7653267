"""``earlywarn check [DIR]``: every setting, the mail server, the data, the model, the state
database and the schedule, one line each with what to do. Sends nothing, changes nothing."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import click

from earlywarn.commands.arguments import as_of_option, parse_as_of


@click.command("check")
@click.argument("folder", metavar="[DIR]", required=False, type=click.Path(path_type=Path))
@as_of_option("Judge the data's freshness as of this instant")
@click.option("--json", "as_json", is_flag=True, help="Print the findings as a JSON list.")
@click.pass_obj
def command(obj: Any, folder: Path | None, as_of: str | None, as_json: bool) -> None:
    """Check that the weekly run will work: the settings, the SMTP server (connect, EHLO,
    STARTTLS or SSL, login; nothing is sent), the data folder (DIR, default the data_dir
    setting) and its freshness, the champion model, the state database and the schedule.

    Exit 0 when all is well, 2 when a setting or the data is wrong, 1 when a service (the mail
    server, the database) does not answer.

    \b
    Examples:
      earlywarn check
      earlywarn --home /srv/earlywarn check /srv/data/institution
    """
    from datetime import UTC, datetime

    from earlywarn.commands.progress import status
    from earlywarn.core.errors import SettingsError
    from earlywarn.ops.checks import Finding, exit_code, run_checks

    instant = parse_as_of(as_of).to_pydatetime()
    try:
        settings = obj.settings
    except SettingsError as exc:
        findings = [Finding("settings", "wrong", str(exc))]
    else:
        where = settings.home / "earlywarn.toml"
        source = f"{where} and the environment" if where.is_file() else "the environment"
        findings = [Finding("settings", "ok", f"read from {source}, all valid")]
        with status("checking") as say:
            findings += run_checks(
                settings,
                folder if folder is not None else settings.data_dir,
                instant,
                datetime.now(UTC),
                on_check=lambda name: say(f"checking {name}"),
            )
    if as_json:
        click.echo(json.dumps([f.to_json() for f in findings], indent=2))
    else:
        for finding in findings:
            click.echo(finding.line())
    raise click.exceptions.Exit(exit_code(findings))
