"""The weekly schedule: wiring only, from triggers to the job functions in
:mod:`earlywarn.ops.jobs`.

One APScheduler 3.x scheduler keeps its jobs in the state database (``SQLAlchemyJobStore`` on
``Settings.state_url``), so the next run survives a restart. The weekly job fires on
``Settings.schedule_day`` at ``schedule_hour:schedule_minute`` local time in
``schedule_timezone`` (a ``CronTrigger`` keeps the local hour across daylight-saving changes);
the optional retraining job fires on ``Settings.retrain_schedule`` ('DAY HH:MM').

Downtime: jobs coalesce and have no misfire grace limit, so weeks missed while the scheduler was
down become ONE catch-up run as soon as it is back. Re-adding a job with ``replace_existing``
would recompute its next run from now and silently drop the missed week, so a missed run time
already in the store is carried over when the jobs are (re)installed.

Only one scheduler may run per state database (:mod:`earlywarn.ops.lock`: a lease row there, kept
alive by a heartbeat); SIGTERM and SIGINT stop it cleanly: the running job is asked to stop
between its steps and waited for, then the lock is released. A scheduler that loses its lease
(it stalled past it and another took over) stops the same way.
"""

from __future__ import annotations

import signal
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from types import FrameType
from typing import TYPE_CHECKING, Any

from earlywarn.core.settings import Settings
from earlywarn.core.time import parse_weekly_time

if TYPE_CHECKING:
    from apscheduler.schedulers.base import BaseScheduler
    from apscheduler.triggers.cron import CronTrigger

WEEKLY_JOB_ID = "earlywarn-weekly"
RETRAIN_JOB_ID = "earlywarn-retrain"
WEEKLY_JOB_REF = "earlywarn.ops.jobs:weekly_job"
RETRAIN_JOB_REF = "earlywarn.ops.jobs:retrain_job"
JOB_TABLE = "apscheduler_jobs"
# None: a run missed during downtime always runs once on restart, however late (see above).
MISFIRE_GRACE_TIME: int | None = None


@dataclass(frozen=True)
class ScheduledRun:
    """A job in the store and when it runs next (``None`` when it is paused)."""

    job_id: str
    next_run_time: datetime | None


def weekly_trigger(settings: Settings) -> CronTrigger:
    """The weekly scoring and digest trigger, in the schedule's local time."""
    from apscheduler.triggers.cron import CronTrigger

    return CronTrigger(
        day_of_week=settings.schedule_day,
        hour=settings.schedule_hour,
        minute=settings.schedule_minute,
        timezone=settings.schedule_timezone,
    )


def retrain_trigger(settings: Settings) -> CronTrigger | None:
    """The optional retraining trigger, or ``None`` when ``retrain_schedule`` is not set."""
    from apscheduler.triggers.cron import CronTrigger

    if not settings.retrain_schedule:
        return None
    day, hour, minute = parse_weekly_time(settings.retrain_schedule)
    return CronTrigger(
        day_of_week=day, hour=hour, minute=minute, timezone=settings.schedule_timezone
    )


def _job_table(settings: Settings) -> tuple[Any, Any]:
    """The job store's engine and table, or (engine, None) when no scheduler ever ran here."""
    from sqlalchemy import MetaData, Table, create_engine, inspect

    engine = create_engine(settings.state_url)
    if not inspect(engine).has_table(JOB_TABLE):
        return engine, None
    return engine, Table(JOB_TABLE, MetaData(), autoload_with=engine)


def scheduled_runs(settings: Settings) -> list[ScheduledRun]:
    """The jobs in the store and their next run times, read without starting a scheduler."""
    from sqlalchemy import select

    engine, table = _job_table(settings)
    try:
        if table is None:
            return []
        with engine.connect() as conn:
            rows = conn.execute(select(table.c.id, table.c.next_run_time)).all()
    finally:
        engine.dispose()
    runs = [
        ScheduledRun(
            job_id=str(job_id),
            next_run_time=None if stamp is None else datetime.fromtimestamp(float(stamp), UTC),
        )
        for job_id, stamp in rows
    ]
    return sorted(runs, key=lambda r: (r.next_run_time is None, r.next_run_time, r.job_id))


def _stored_next_runs(settings: Settings) -> dict[str, datetime | None]:
    return {run.job_id: run.next_run_time for run in scheduled_runs(settings)}


def _remove_stored_job(settings: Settings, job_id: str) -> None:
    from sqlalchemy import delete

    engine, table = _job_table(settings)
    try:
        if table is not None:
            with engine.begin() as conn:
                conn.execute(delete(table).where(table.c.id == job_id))
    finally:
        engine.dispose()


def build_scheduler(
    settings: Settings,
    *,
    blocking: bool = True,
    now: datetime | None = None,
    weekly_ref: str = WEEKLY_JOB_REF,
    retrain_ref: str = RETRAIN_JOB_REF,
) -> BaseScheduler:
    """A scheduler (not started) with the weekly and, if configured, retraining jobs.

    Each job is the importable function ``*_ref`` called with the home folder, so the job store
    holds no settings and no secrets; the job reloads the settings when it runs. ``now`` (default:
    the current time) decides whether a run time found in the store was missed.
    """
    from apscheduler.jobstores.sqlalchemy import SQLAlchemyJobStore
    from apscheduler.schedulers.background import BackgroundScheduler
    from apscheduler.schedulers.blocking import BlockingScheduler

    weekly = weekly_trigger(settings)
    retrain = retrain_trigger(settings)
    current = now or datetime.now(UTC)
    stored = _stored_next_runs(settings)
    if retrain is None and RETRAIN_JOB_ID in stored:
        _remove_stored_job(settings, RETRAIN_JOB_ID)

    scheduler_cls = BlockingScheduler if blocking else BackgroundScheduler
    scheduler: BaseScheduler = scheduler_cls(
        jobstores={"default": SQLAlchemyJobStore(url=settings.state_url, tablename=JOB_TABLE)},
        executors={"default": {"type": "threadpool", "max_workers": 1}},
        job_defaults={
            "coalesce": True,
            "max_instances": 1,
            "misfire_grace_time": MISFIRE_GRACE_TIME,
        },
        timezone=settings.schedule_timezone,
    )
    home = str(settings.home)
    jobs = [(WEEKLY_JOB_ID, weekly_ref, weekly, "weekly scoring, digests and delivery")]
    if retrain is not None:
        jobs.append((RETRAIN_JOB_ID, retrain_ref, retrain, "retraining and guarded promotion"))
    for job_id, ref, trigger, name in jobs:
        extra: dict[str, Any] = {}
        missed = stored.get(job_id)
        if missed is not None and missed <= current:
            extra["next_run_time"] = missed
        scheduler.add_job(
            ref,
            trigger=trigger,
            args=[home],
            id=job_id,
            name=name,
            replace_existing=True,
            coalesce=True,
            misfire_grace_time=MISFIRE_GRACE_TIME,
            max_instances=1,
            **extra,
        )
    return scheduler


@contextmanager
def stop_after_current_step(on_stopping: Callable[[str], None] | None = None) -> Iterator[None]:
    """While inside, SIGTERM and SIGINT ask the running job to stop after its current step
    (:func:`earlywarn.ops.jobs.request_stop`) instead of killing it mid-step; ``on_stopping``
    receives the name of the first such signal. Used by the scheduler and by
    ``earlywarn scheduler run --once``, which runs the job in the foreground."""
    from earlywarn.ops import jobs

    previous: dict[int, Any] = {}

    def request_stop(signum: int, frame: FrameType | None) -> None:
        first = not jobs.stop_requested()
        jobs.request_stop()
        if first and on_stopping is not None:
            on_stopping(signal.Signals(signum).name)

    jobs.clear_stop()
    try:
        for stop_signal in (signal.SIGTERM, signal.SIGINT):
            previous[stop_signal] = signal.signal(stop_signal, request_stop)
        yield
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)


def run_scheduler(
    settings: Settings,
    *,
    on_started: Callable[[list[ScheduledRun]], None] | None = None,
    on_stopping: Callable[[str], None] | None = None,
) -> None:
    """Run the blocking scheduler until SIGTERM or SIGINT, holding the single-instance lock.

    ``on_started`` receives the jobs and their next run times once the scheduler runs;
    ``on_stopping`` the name of the signal that stops it. Raises
    :class:`~earlywarn.core.errors.SchedulerError` when another scheduler runs on this state
    database.
    """
    from apscheduler.events import EVENT_SCHEDULER_STARTED

    from earlywarn.ops import jobs
    from earlywarn.ops.lock import scheduler_lock

    lock = scheduler_lock(settings)
    lock.acquire()
    try:
        scheduler = build_scheduler(settings, blocking=True)
        stopper: list[threading.Thread] = []

        def stopping(signal_name: str) -> None:
            if stopper:
                return
            jobs.request_stop()
            if on_stopping is not None:
                on_stopping(signal_name)
            # shutdown(wait=True) waits for the running job; it runs off the signal handler so
            # the blocking main loop is not re-entered from inside itself.
            thread = threading.Thread(
                target=scheduler.shutdown, kwargs={"wait": True}, name="scheduler-shutdown"
            )
            stopper.append(thread)
            thread.start()

        def lease_lost() -> None:
            stopping("lock on the state database lost")

        lock.on_lost = lease_lost

        def started(event: Any) -> None:
            if on_started is not None:
                on_started(
                    [ScheduledRun(job.id, job.next_run_time) for job in scheduler.get_jobs()]
                )

        scheduler.add_listener(started, EVENT_SCHEDULER_STARTED)
        with stop_after_current_step(stopping):
            scheduler.start()
            for thread in stopper:
                thread.join()
    finally:
        lock.release()
