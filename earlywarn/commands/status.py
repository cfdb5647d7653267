"""``earlywarn status``: the champion model, the last runs, deliveries, the schedule and drift."""

from __future__ import annotations

import json
from collections import Counter
from datetime import datetime
from typing import TYPE_CHECKING, Any

import click

from earlywarn.core.time import aware_utc

if TYPE_CHECKING:
    from earlywarn.core.settings import Settings


def _iso(moment: datetime | None) -> str | None:
    return None if moment is None else moment.isoformat(timespec="seconds")


def _minutes(stamp: str | None) -> str | None:
    """An ISO time stamp as people read it: '2026-10-05 07:00 UTC' (as given when unparsable)."""

    if not stamp:
        return None
    try:
        moment = datetime.fromisoformat(stamp)
    except ValueError:
        return stamp
    return aware_utc(moment).strftime("%Y-%m-%d %H:%M UTC")


def _local(moment: datetime | None, settings: Settings) -> datetime | None:
    """An instant in the schedule's time zone, as the schedule is written."""
    from zoneinfo import ZoneInfo

    return None if moment is None else moment.astimezone(ZoneInfo(settings.schedule_timezone))


def _champion(settings: Settings) -> dict[str, Any] | None:
    """The champion's version and when it was promoted (``None`` when there is no champion)."""
    from earlywarn.model.store import CHAMPION, MODEL_NAME, alias_version, client

    version = alias_version(settings, CHAMPION)
    if version is None:
        return None
    details = client(settings).get_model_version(MODEL_NAME, version)
    promoted = details.tags.get("promotion.at")
    return {
        "name": MODEL_NAME,
        "version": version,
        "promoted_at": promoted,
        "promoted_by": details.tags.get("promotion.by"),
        "promotion_status": details.tags.get("promotion.status"),
    }


def collect_status(settings: Settings) -> dict[str, Any]:
    """Everything ``earlywarn status`` shows, as one JSON-able object."""
    from earlywarn.ops.lock import lock_holder
    from earlywarn.ops.scheduler import scheduled_runs
    from earlywarn.state import latest_run, open_state, outbox_entries
    from earlywarn.state.feedback import feedback_summary, list_feedback
    from earlywarn.state.job_runs import recent_job_runs

    run, pending, failed, jobs, running = None, [], [], [], None
    recorded: list[Any] = []
    has_state = settings.database_url is not None or (settings.home / "earlywarn.db").is_file()
    if has_state:
        # Only read: status never creates a state database where nothing has run yet.
        engine = open_state(settings.state_url)
        try:
            run = latest_run(engine)
            pending = outbox_entries(engine, status="pending")
            failed = outbox_entries(engine, status="failed")
            jobs = recent_job_runs(engine, limit=5)
            recorded = list_feedback(engine)
        finally:
            engine.dispose()
        running = lock_holder(settings)
    from earlywarn.scoring.drift import drift_report, drift_summary_line

    last_run = None
    drift: list[dict[str, Any]] = []
    report: dict[str, Any] | None = None
    if run is not None:
        last_run = {
            "week": run.week,
            "as_of": _iso(run.as_of),
            "finished_at": _iso(run.finished_at),
            "model_version": run.model_version,
            "students": run.n_scored,
            "tiers": {"high": run.n_high, "medium": run.n_medium, "low": run.n_low},
        }
        drift = [{"feature": d.feature, "psi": round(d.psi, 4)} for d in run.drift_warnings]
        report = drift_report(run.as_of, run.drift) | {"summary": drift_summary_line(run.drift)}
    return {
        "home": str(settings.home),
        "champion": _champion(settings),
        "last_scoring_run": last_run,
        "drift": report,
        "drift_warnings": drift,
        "drift_psi_warning": settings.drift_psi_warning,
        "deliveries": {
            "pending": len(pending),
            "pending_weeks": dict(sorted(Counter(e.week for e in pending).items())),
            "pending_messages": [
                {
                    "recipient_id": e.recipient_id,
                    "week": e.week,
                    "attempts": e.attempts,
                    "last_error": e.last_error,
                    "last_attempt_at": _iso(e.last_attempt_at),
                    "next_attempt_at": _iso(e.next_attempt_at),
                }
                for e in pending
            ],
            "failed": [
                {
                    "recipient_id": e.recipient_id,
                    "week": e.week,
                    "attempts": e.attempts,
                    "error": e.last_error,
                }
                for e in failed
            ],
        },
        "scheduler": {
            "running_pid": running.holder.pid if running is not None else None,
            "timezone": settings.schedule_timezone,
            "next_runs": [
                {"job": r.job_id, "next_run_time": _iso(_local(r.next_run_time, settings))}
                for r in (scheduled_runs(settings) if has_state else [])
            ],
        },
        "feedback": feedback_summary(recorded),
        "recent_jobs": [
            {
                "job": j.job,
                "status": j.status,
                "started_at": _iso(j.started_at),
                "finished_at": _iso(j.finished_at),
                "error": j.summary.get("error"),
            }
            for j in jobs
        ],
    }


def _print(status: dict[str, Any]) -> None:
    champion = status["champion"]
    if champion is None:
        click.echo("champion model: none (run earlywarn train DIR, then earlywarn promote)")
    else:
        when = _minutes(champion["promoted_at"]) or "at an unknown time"
        click.echo(f"champion model: {champion['name']} version {champion['version']}")
        forced = champion["promotion_status"] == "forced"
        click.echo(
            f"  promoted {when}"
            + (f" by {champion['promoted_by']}" if champion["promoted_by"] else "")
            + (" (forced past the promotion guard; see earlywarn promote --list)" if forced else "")
        )
    run = status["last_scoring_run"]
    if run is None:
        click.echo("last scoring run: none")
    else:
        tiers = run["tiers"]
        click.echo(
            f"last scoring run: week {run['week']}, as of {run['as_of']}, "
            f"model version {run['model_version']}"
        )
        click.echo(
            f"  {run['students']} students: high {tiers['high']}, medium {tiers['medium']}, "
            f"low {tiers['low']}"
        )
    report = status["drift"]
    click.echo(report["summary"] if report else "Drift: no scoring run yet.")
    deliveries = status["deliveries"]
    click.echo(f"deliveries: {deliveries['pending']} pending, {len(deliveries['failed'])} failed")
    for week, count in deliveries["pending_weeks"].items():
        click.echo(f"  pending week {week}: {count}")
    for message in deliveries["pending_messages"]:
        if not message["attempts"] and not message["last_error"]:
            continue  # not tried yet: counted above
        later = message["next_attempt_at"]
        click.echo(
            f"    {message['recipient_id']} week {message['week']}: "
            f"{message['attempts']} attempts"
            + (f", next try after {_minutes(later)}" if later else "")
            + f"; last error: {message['last_error']}"
        )
    if deliveries["pending_weeks"]:
        click.echo(
            "  (the next scheduled run retries them; to retry now: "
            "earlywarn digest DIR --as-of WEEK --send)"
        )
    for failure in deliveries["failed"]:
        click.echo(
            f"  failed {failure['recipient_id']} week {failure['week']} "
            f"({failure['attempts']} attempts): {failure['error']}"
        )
    _print_feedback(status["feedback"])
    scheduler = status["scheduler"]
    pid = scheduler["running_pid"]
    click.echo(f"scheduler: {'running (pid ' + str(pid) + ')' if pid else 'not running'}")
    if not scheduler["next_runs"]:
        click.echo("  no scheduled runs (start it with earlywarn scheduler run)")
    for scheduled in scheduler["next_runs"]:
        click.echo(f"  {scheduled['job']}: next run {scheduled['next_run_time'] or 'paused'}")
    for job in status["recent_jobs"]:
        line = f"  last {job['job']} run {job['started_at']}: {job['status']}"
        click.echo(line + (f" ({job['error']})" if job["error"] else ""))


def _print_feedback(feedback: dict[str, Any]) -> None:
    def share(value: float | None) -> str:
        return "-" if value is None else f"{value:.0%}"

    if not feedback["recorded"]:
        click.echo("feedback: none recorded")
        return
    counts = ", ".join(f"{k.replace('_', ' ')} {v}" for k, v in feedback["by_choice"].items())
    click.echo(
        f"feedback: {feedback['recorded']} recorded ({counts}); "
        f"{share(feedback['wrong_share'])} of flags marked wrong"
    )
    for label, key in (("advisor", "per_advisor"), ("tier", "per_tier")):
        for name, row in feedback[key].items():
            click.echo(
                f"  {label} {name}: {row['recorded']} recorded, "
                f"{share(row['wrong_share'])} marked wrong"
            )


@click.command("status")
@click.option("--json", "as_json", is_flag=True, help="Print the status as one JSON object.")
@click.pass_obj
def command(obj: Any, as_json: bool) -> None:
    """Show the champion model, the last scoring run, deliveries, the schedule and drift.

    \b
    Examples:
      earlywarn status
      earlywarn --home /srv/earlywarn status --json
    """
    from earlywarn.core.errors import UsageError

    settings = obj.settings
    if not settings.home.is_dir():
        raise UsageError(
            f"{settings.home}: no such home folder; pass --home (or set EARLYWARN_HOME to) the "
            "folder that holds earlywarn.db and mlruns/"
        )
    status = collect_status(settings)
    if as_json:
        click.echo(json.dumps(status, indent=2))
    else:
        _print(status)
