"""The jobs the scheduler runs and the CLI runs by hand: the weekly run and retraining.

:func:`weekly_run` delivers what an earlier week left pending, scores the current week, builds each
advisor's digest and sends it; :func:`retrain_run` trains a challenger and promotes it only when the
promotion guard agrees. Each run is recorded in the ``job_runs`` table with what it did.
:func:`weekly_job` and :func:`retrain_job` are the importable entry points the scheduler's job
store refers to: they take only the home folder (the store holds no settings and no secrets),
reload the settings, and log a failure as one line instead of raising into the scheduler.

A stop request (SIGTERM to the scheduler) is honoured between steps: the current step finishes,
the run is recorded as ``stopped`` with what it did, and the rest waits for the next run.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from earlywarn.contract.freshness import require_fresh_data
from earlywarn.core.errors import DeliveryError, EarlyWarnError, SettingsError, UsageError
from earlywarn.core.time import now as utc_now

if TYPE_CHECKING:
    from sqlalchemy import Engine

    from earlywarn.contract import Tables
    from earlywarn.core.settings import Settings
    from earlywarn.mail.senders import Sender
    from earlywarn.state.job_runs import JobStatus

log = logging.getLogger(__name__)

Clock = Callable[[], datetime]
WEEKLY = "weekly"
RETRAIN = "retrain"

_stop = threading.Event()


def request_stop() -> None:
    """Ask a running job to stop after its current step."""
    _stop.set()


def clear_stop() -> None:
    """Forget an earlier stop request (a new scheduler starts with none)."""
    _stop.clear()


def stop_requested() -> bool:
    return _stop.is_set()


@dataclass
class JobReport:
    """What one job run did: its status and a JSON-able summary, as stored in ``job_runs``."""

    job: str
    run_id: str
    status: JobStatus
    started_at: datetime
    finished_at: datetime
    summary: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return {
            "job": self.job,
            "run_id": self.run_id,
            "status": self.status,
            "started_at": self.started_at.isoformat(),
            "finished_at": self.finished_at.isoformat(),
            "summary": self.summary,
        }

    def one_line(self) -> str:
        """The run in one log line: job, status and what each step did (ids and counts only)."""
        steps = "; ".join(f"{k}: {_plain(v)}" for k, v in self.summary.get("steps", {}).items())
        error = self.summary.get("error")
        return (
            f"{self.job} run {self.status}"
            + (f": {steps}" if steps else "")
            + (f"; error: {error}" if error else "")
        )

    def describe(self) -> str:
        """A few lines for a person."""
        lines = [f"{self.job} run {self.status}"]
        for step, what in self.summary.get("steps", {}).items():
            lines.append(f"  {step}: {_plain(what)}")
        if self.summary.get("stopped_before"):
            lines.append(f"  stopped before: {', '.join(self.summary['stopped_before'])}")
        if self.summary.get("error"):
            lines.append(f"  error: {self.summary['error']}")
        return "\n".join(lines)


def _plain(value: Any) -> str:
    if isinstance(value, dict):
        return ", ".join(f"{k} {_plain(v)}" for k, v in value.items())
    if isinstance(value, list):
        return ", ".join(str(v) for v in value) or "none"
    return str(value)


class _Run:
    """Records one job run in ``job_runs``: started now, finished by :meth:`finish`."""

    def __init__(self, engine: Engine, job: str, clock: Clock) -> None:
        from earlywarn.state.job_runs import start_job_run

        self.engine = engine
        self.job = job
        self.clock = clock
        self.started_at = clock()
        self.run_id = start_job_run(engine, job, self.started_at)
        self.summary: dict[str, Any] = {"steps": {}}

    def finish(self, status: JobStatus) -> JobReport:
        from earlywarn.state.job_runs import finish_job_run

        finished = self.clock()
        finish_job_run(
            self.engine, self.run_id, finished_at=finished, status=status, summary=self.summary
        )
        log.info("%s run %s: %s", self.job, self.run_id, status)
        return JobReport(self.job, self.run_id, status, self.started_at, finished, self.summary)


@contextmanager
def _recorded(run: _Run) -> Iterator[None]:
    """Record a failure of the job's body (its message; the exception's type too for a bug), then
    re-raise it; close the state database whatever happens."""
    try:
        yield
    except EarlyWarnError as exc:
        run.summary["error"] = str(exc)
        run.finish("failed")
        raise
    except Exception as exc:
        run.summary["error"] = f"{type(exc).__name__}: {exc}"
        run.finish("failed")
        raise
    finally:
        run.engine.dispose()


def _delivery_summary(result: Any) -> dict[str, int]:
    return {
        "sent": len(result.sent),
        "failed": len(result.failed),
        "pending": len(result.still_pending) + len(result.deferred) + len(result.not_tried),
    }


def _require_data_dir(folder: Path | None, purpose: str) -> Path:
    """The data folder a job works on; without one (no argument, no setting) a usage error."""
    if folder is None:
        raise UsageError(
            "data_dir is not set: set data_dir in earlywarn.toml or EARLYWARN_DATA_DIR to "
            f"the institution data folder {purpose}"
        )
    return Path(folder)


def _check_data_dir_setting(folder: Path, *, given: bool) -> None:
    """A data_dir that came from the settings and is not a folder is a bad setting (exit 2)."""
    if not given and not Path(folder).is_dir():
        raise SettingsError(
            f"data_dir (EARLYWARN_DATA_DIR or earlywarn.toml): {folder} is not a folder; point "
            "it at the institution data folder"
        )


def weekly_run(
    settings: Settings,
    as_of: datetime | None = None,
    clock: Clock = utc_now,
    *,
    data_dir: Path | None = None,
    send: bool = True,
    sender: Sender | None = None,
    sleep: Callable[[float], None] = time.sleep,
) -> JobReport:
    """Deliver earlier pending messages, score the week of ``as_of`` (default: now), build the
    digests and send them (with the operator summary, which carries the drift warnings).
    Returns the run's report; raises the first error after recording it.

    ``send=False`` builds and stores the digests but delivers nothing (a dry run). ``sender``
    defaults to SMTP as configured by the ``smtp_*`` settings.
    """
    from earlywarn.state import open_state, week_key

    folder = data_dir or settings.data_dir
    engine = open_state(settings.state_url)
    run = _Run(engine, WEEKLY, clock)
    instant = as_of or clock()
    run.summary["as_of"] = instant.isoformat()
    steps: dict[str, Any] = run.summary["steps"]
    with _recorded(run):
        folder = _require_data_dir(folder, "the weekly run scores")
        if send and sender is None:
            # A wrong SMTP setting stops the run before the week is scored (exit 2); a server
            # that is down does not: the digests wait in the outbox for the next run.
            from earlywarn.mail.probe import require_smtp_settings

            require_smtp_settings(settings)
        plan = ["deliver_earlier", "score", "digest"] if send else ["score", "digest"]
        week = week_key(instant, settings.schedule_timezone)
        tables: Tables | None = None
        for position, step in enumerate(plan):
            if stop_requested():
                run.summary["stopped_before"] = plan[position:]
                return run.finish("stopped")
            if step == "deliver_earlier":
                try:
                    steps[step] = _deliver_earlier(
                        settings, engine, sender, clock, sleep, before_week=week
                    )
                except DeliveryError as exc:  # bad SMTP settings: still score and stage
                    steps[step] = {"error": str(exc)}
            elif step == "score":
                _check_data_dir_setting(folder, given=data_dir is not None)
                tables = _load(folder)
                require_fresh_data(tables, instant, folder, option="the weekly run's instant")
                steps[step] = _score(settings, folder, tables, instant, clock, engine)
            else:
                assert tables is not None
                steps[step] = _digest(
                    settings,
                    tables,
                    instant,
                    clock,
                    engine,
                    send=send,
                    sender=sender,
                    sleep=sleep,
                    since=run.started_at,
                )
        return run.finish("ok")


def _load(folder: Path) -> Tables:
    from earlywarn.contract import load_tables

    return load_tables(folder)


def _deliver_earlier(
    settings: Settings,
    engine: Engine,
    sender: Sender | None,
    clock: Clock,
    sleep: Callable[[float], None],
    *,
    before_week: str,
) -> dict[str, int]:
    """Send what earlier weeks left pending, before this week's work can fail. This week's
    messages wait for the digest step, which rebuilds them (the operator summary above all)."""
    from earlywarn.mail.delivery import RetryPolicy, deliver_pending
    from earlywarn.mail.senders import SMTPSender

    chosen = sender if sender is not None else SMTPSender.from_settings(settings)
    result = deliver_pending(
        engine,
        chosen,
        clock=clock,
        sleep=sleep,
        policy=RetryPolicy.from_settings(settings),
        before_week=before_week,
    )
    return _delivery_summary(result)


def _score(
    settings: Settings,
    folder: Path,
    tables: Tables,
    as_of: datetime,
    clock: Clock,
    engine: Engine,
) -> dict[str, Any]:
    from earlywarn.scoring.score import score_institution

    result = score_institution(settings, folder, as_of, clock=clock, engine=engine, tables=tables)
    return result.summary()


def _digest(
    settings: Settings,
    tables: Tables,
    as_of: datetime,
    clock: Clock,
    engine: Engine,
    *,
    send: bool,
    sender: Sender | None,
    sleep: Callable[[float], None],
    since: datetime,
) -> dict[str, Any]:
    """Build this week's digests and (when ``send``) deliver everything pending."""
    from earlywarn.digest.run import run_digests

    result = run_digests(
        settings,
        tables,
        as_of,
        send=send,
        clock=clock,
        sleep=sleep,
        sender=sender,
        engine=engine,
        since=since,
    )
    # run_digests counts these after the operator summary's own delivery.
    return {
        "week": result.week,
        "digests": len(result.digests),
        "already_sent": len(result.already_sent),
        "unassigned": len(result.unassigned),
        "sent": len(result.delivery.sent),
        "failed": len(result.failed),
        "pending": len(result.pending),
        "operator_summary": result.operator,
    }


def retrain_run(
    settings: Settings,
    clock: Clock = utc_now,
    *,
    data_dir: Path | None = None,
    actor: str = "scheduler",
) -> JobReport:
    """Train a challenger on the data folder, then promote it only when the guard passes.

    A refusal by the guard is a normal outcome (status ``ok``, the decision in the summary).
    """
    from earlywarn.state import open_state

    folder = data_dir or settings.data_dir
    engine = open_state(settings.state_url)
    run = _Run(engine, RETRAIN, clock)
    steps: dict[str, Any] = run.summary["steps"]
    with _recorded(run):
        folder = _require_data_dir(folder, "to retrain on")
        _check_data_dir_setting(folder, given=data_dir is not None)
        # The product never imports training/ except here, where retraining is the job itself.
        from earlywarn.training.pipeline import train_from_folder
        from earlywarn.training.promote import promote_challenger

        result = train_from_folder(settings, folder)
        steps["train"] = {"model_version": result.model_version, "run_id": result.run_id}
        if stop_requested():
            run.summary["stopped_before"] = ["promote"]
            return run.finish("stopped")
        decision = promote_challenger(settings, actor=actor, now=clock())
        steps["promote"] = {"status": decision.status, "reason": decision.reason}
        return run.finish("ok")


def _run_job(name: str, home: str, job: Callable[[Settings], JobReport]) -> None:
    from earlywarn.core.logs import summary_logger
    from earlywarn.core.settings import load_settings

    try:
        report = job(load_settings(home))
    except EarlyWarnError as exc:
        log.error("%s run failed: %s", name, exc)
        return
    summary_logger().info(report.one_line())


def weekly_job(home: str) -> None:
    """The scheduler's weekly job (``earlywarn.ops.jobs:weekly_job``): :func:`weekly_run` now."""
    _run_job(WEEKLY, home, lambda settings: weekly_run(settings))


def retrain_job(home: str) -> None:
    """The scheduler's retraining job (``earlywarn.ops.jobs:retrain_job``): :func:`retrain_run`."""
    _run_job(RETRAIN, home, lambda settings: retrain_run(settings))
