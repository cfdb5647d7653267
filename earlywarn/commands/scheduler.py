"""``earlywarn scheduler run``: the weekly scoring, digest and retraining schedule."""

from __future__ import annotations

import json
import os
import signal
from datetime import datetime
from typing import Any

import click


@click.group("scheduler")
def command() -> None:
    """Run the weekly scoring, digest and (optional) retraining schedule.

    The schedule comes from the settings (schedule_day, schedule_hour, schedule_minute,
    schedule_timezone, retrain_schedule). Only one scheduler may run per state database.

    \b
    Examples:
      earlywarn scheduler run            # run until stopped (SIGTERM or Ctrl-C)
      earlywarn scheduler run --once     # run this week's job now, then exit
    """


def _when(moment: datetime | None) -> str:
    return "paused" if moment is None else moment.isoformat(timespec="minutes")


@command.command("run", short_help="Start the weekly schedule, or run this week's job once.")
@click.option("--once", is_flag=True, help="Run the weekly job now and exit (no schedule).")
@click.option(
    "--as-of",
    "as_of",
    default=None,
    metavar="T",
    help="With --once: score as of this instant (ISO 8601; default now).",
)
@click.option("--no-send", is_flag=True, help="With --once: build the digests but send nothing.")
@click.option("--json", "as_json", is_flag=True, help="With --once: print the run summary as JSON.")
@click.pass_obj
def run(obj: Any, once: bool, as_of: str | None, no_send: bool, as_json: bool) -> None:
    """Start the scheduler in the foreground (or, with --once, run the weekly job now).

    A run missed while the scheduler was down runs once when it is back. SIGTERM or Ctrl-C stop
    it cleanly: a running job stops between its steps and the lock is released. With --once a
    stopped run exits with 128 plus the signal's number; running it again finishes the week.

    \b
    Examples:
      earlywarn scheduler run
      earlywarn scheduler run --once --as-of 2026-10-05T07:00Z
    """
    settings = obj.settings
    if as_of is not None and not once:
        raise click.UsageError("--as-of only goes with --once")
    if not once:
        from earlywarn.mail.probe import require_smtp_settings

        # A wrong smtp_* setting is found now (exit 2), not at the first weekly run (which,
        # like --once, checks again before scoring).
        require_smtp_settings(settings)
    if once:
        from earlywarn.commands.arguments import parse_as_of
        from earlywarn.ops.jobs import weekly_run
        from earlywarn.ops.lock import scheduler_lock
        from earlywarn.ops.scheduler import stop_after_current_step

        instant = None if as_of is None else parse_as_of(as_of).to_pydatetime()
        stopped_by: list[str] = []

        def stopping_once(signal_name: str) -> None:
            stopped_by.append(signal_name)
            click.echo(f"{signal_name}: stopping after the current step", err=True)

        with scheduler_lock(settings), stop_after_current_step(stopping_once):
            click.echo(
                f"weekly run started (pid {os.getpid()}); SIGTERM or Ctrl-C stops it after "
                "the current step",
                err=True,
            )
            report = weekly_run(settings, as_of=instant, send=not no_send)
        if as_json:
            click.echo(json.dumps(report.to_json(), indent=2, default=str))
        else:
            click.echo(report.describe())
        if report.status == "stopped":
            # Like a process the signal ended (128 + its number), so wrappers see it was cut
            # short; running the command again finishes the week (scores are replaced, each
            # digest goes out once).
            raise SystemExit(128 + signal.Signals[stopped_by[0]].value if stopped_by else 1)
        return

    from earlywarn.ops.scheduler import ScheduledRun, run_scheduler

    def started(runs: list[ScheduledRun]) -> None:
        click.echo(f"scheduler started (pid {os.getpid()}, home {settings.home})")
        for scheduled in runs:
            click.echo(f"  {scheduled.job_id}: next run {_when(scheduled.next_run_time)}")

    def stopping(signal_name: str) -> None:
        click.echo(f"{signal_name}: stopping after the current step", err=True)

    run_scheduler(settings, on_started=started, on_stopping=stopping)
    click.echo("scheduler stopped")
