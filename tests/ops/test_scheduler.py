"""The scheduler: weekly local time across DST, one catch-up after downtime, one per home, SIGTERM.

Triggers are checked with fixed, timezone-aware instants (``CronTrigger.get_next_fire_time``), no
sleeping. The catch-up test runs a real ``BackgroundScheduler`` on a real SQLite job store that a
first scheduler left with a next run time three weeks in the past (as after downtime); it waits
for the job's execution event (not a timer) and checks the job ran exactly once and is then due
next week, so no second catch-up can follow. Lock and signal tests spawn real ``earlywarn
scheduler run`` processes.
"""

from __future__ import annotations

import os
import queue
import signal
import subprocess
import sys
import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from earlywarn.core.errors import SchedulerError, SettingsError
from earlywarn.core.settings import Settings, load_settings
from earlywarn.core.time import parse_weekly_time
from earlywarn.ops import jobs
from earlywarn.ops.lock import lock_holder, scheduler_lock
from earlywarn.ops.scheduler import (
    RETRAIN_JOB_ID,
    WEEKLY_JOB_ID,
    build_scheduler,
    retrain_trigger,
    scheduled_runs,
    weekly_trigger,
)
from earlywarn.state import open_state
from earlywarn.state.job_runs import recent_job_runs

NEW_YORK = ZoneInfo("America/New_York")


def _settings(home: Path, **overrides: object) -> Settings:
    return load_settings(home, **overrides)


@pytest.mark.parametrize(
    ("start", "expected_utc"),
    [
        # Spring forward (Sunday 8 March 2026): 07:00 EST is 12:00 UTC, 07:00 EDT is 11:00 UTC.
        (
            datetime(2026, 3, 3, tzinfo=NEW_YORK),
            [datetime(2026, 3, 9, 11, tzinfo=UTC), datetime(2026, 3, 16, 11, tzinfo=UTC)],
        ),
        # Fall back (Sunday 1 November 2026): 07:00 EDT is 11:00 UTC, 07:00 EST is 12:00 UTC.
        (
            datetime(2026, 10, 27, tzinfo=NEW_YORK),
            [datetime(2026, 11, 2, 12, tzinfo=UTC), datetime(2026, 11, 9, 12, tzinfo=UTC)],
        ),
    ],
)
def test_weekly_trigger_keeps_the_local_hour_across_daylight_saving(
    tmp_path: Path, start: datetime, expected_utc: list[datetime]
) -> None:
    settings = _settings(tmp_path, schedule_timezone="America/New_York")
    trigger = weekly_trigger(settings)
    before = trigger.get_next_fire_time(None, start - timedelta(days=7))
    fires = [trigger.get_next_fire_time(None, start)]
    fires.append(trigger.get_next_fire_time(fires[0], fires[0] + timedelta(seconds=1)))
    assert [f.astimezone(UTC) for f in fires] == expected_utc
    for fire in [before, *fires]:
        local = fire.astimezone(NEW_YORK)
        assert (local.strftime("%a"), local.hour, local.minute) == ("Mon", 7, 0)
    # The UTC hour of the run moved by one across the change; the local hour did not.
    assert before.astimezone(UTC).hour != fires[0].astimezone(UTC).hour


def test_weekly_trigger_follows_the_settings(tmp_path: Path) -> None:
    settings = _settings(
        tmp_path,
        schedule_day="wed",
        schedule_hour=18,
        schedule_minute=30,
        schedule_timezone="Europe/Berlin",
    )
    fire = weekly_trigger(settings).get_next_fire_time(
        None, datetime(2026, 6, 1, tzinfo=ZoneInfo("Europe/Berlin"))
    )
    assert fire == datetime(2026, 6, 3, 18, 30, tzinfo=ZoneInfo("Europe/Berlin"))


def test_retrain_schedule_is_parsed_and_optional(tmp_path: Path) -> None:
    assert retrain_trigger(_settings(tmp_path)) is None
    assert parse_weekly_time("Sunday 2:30") == ("sun", 2, 30)
    trigger = retrain_trigger(_settings(tmp_path, retrain_schedule="sun 02:30"))
    assert trigger is not None
    fire = trigger.get_next_fire_time(None, datetime(2026, 6, 1, tzinfo=UTC))
    assert fire == datetime(2026, 6, 7, 2, 30, tzinfo=UTC)
    for bad in ("someday 02:00", "sun 25:00", "sun", "02:00 sun"):
        with pytest.raises(SettingsError, match="retrain_schedule"):
            parse_weekly_time(bad)


def test_jobs_are_stored_and_the_retrain_job_leaves_when_unset(tmp_path: Path) -> None:
    now = datetime.now(UTC)
    settings = _settings(tmp_path, retrain_schedule="sat 03:00")
    scheduler = build_scheduler(settings, blocking=False)
    scheduler.start(paused=True)
    scheduler.shutdown()
    runs = {r.job_id: r.next_run_time for r in scheduled_runs(settings)}
    assert set(runs) == {WEEKLY_JOB_ID, RETRAIN_JOB_ID}
    weekly = runs[WEEKLY_JOB_ID]
    assert weekly is not None
    assert now < weekly <= now + timedelta(days=7)
    assert weekly.astimezone(UTC).strftime("%a %H:%M") == "Mon 07:00"

    without = _settings(tmp_path)
    scheduler = build_scheduler(without, blocking=False)
    scheduler.start(paused=True)
    scheduler.shutdown()
    assert [r.job_id for r in scheduled_runs(without)] == [WEEKLY_JOB_ID]


def _set_next_run_time(settings: Settings, scheduler: object, when: datetime) -> None:
    """Write a next run time into the stored weekly job, as a scheduler that went down leaves it.

    Done on the job store directly: a scheduler would process the job as soon as it is due.
    """
    from apscheduler.jobstores.sqlalchemy import SQLAlchemyJobStore

    store = SQLAlchemyJobStore(url=settings.state_url)
    store.start(scheduler, "default")
    try:
        job = store.lookup_job(WEEKLY_JOB_ID)
        job._modify(next_run_time=when)
        store.update_job(job)
    finally:
        store.shutdown()


def test_downtime_of_three_weeks_gives_one_catch_up_run(tmp_path: Path) -> None:
    from apscheduler.events import EVENT_JOB_ERROR, EVENT_JOB_EXECUTED

    settings = _settings(tmp_path)
    # The scheduler ran once and was then down: its weekly run is three weeks overdue.
    first = build_scheduler(settings, blocking=False)
    first.start(paused=True)
    first.shutdown()
    overdue = (datetime.now(UTC) - timedelta(days=21)).replace(microsecond=0)
    _set_next_run_time(settings, first, overdue)
    assert scheduled_runs(settings)[0].next_run_time == overdue

    executed: list[datetime] = []
    done = threading.Event()

    def on_run(event: object) -> None:
        executed.append(event.scheduled_run_time)  # type: ignore[attr-defined]
        done.set()

    restarted = build_scheduler(settings, blocking=False)
    restarted.add_listener(on_run, EVENT_JOB_EXECUTED | EVENT_JOB_ERROR)
    restarted.start()
    try:
        assert done.wait(timeout=60), "the missed weekly run did not catch up"
        job = restarted.get_job(WEEKLY_JOB_ID)
        now = datetime.now(UTC)
        # Due again next week: no second catch-up is pending.
        assert now < job.next_run_time <= now + timedelta(days=7)
    finally:
        restarted.shutdown(wait=True)
    assert len(executed) == 1
    assert overdue <= executed[0] <= datetime.now(UTC)
    # The real weekly job ran (and, with no data folder configured, recorded why it failed).
    engine = open_state(settings.state_url)
    try:
        runs = recent_job_runs(engine, job="weekly")
    finally:
        engine.dispose()
    assert [r.status for r in runs] == ["failed"]
    assert "data_dir is not set" in runs[0].summary["error"]


def test_a_stop_request_stops_the_weekly_run_between_steps(tmp_path: Path) -> None:
    settings = _settings(tmp_path, data_dir=tmp_path / "data")
    jobs.request_stop()
    try:
        report = jobs.weekly_run(settings, as_of=datetime(2026, 10, 5, 7, tzinfo=UTC))
    finally:
        jobs.clear_stop()
    assert report.status == "stopped"
    assert report.summary["stopped_before"] == ["deliver_earlier", "score", "digest"]
    engine = open_state(settings.state_url)
    try:
        assert [r.status for r in recent_job_runs(engine)] == ["stopped"]
    finally:
        engine.dispose()


# ---------------------------------------------------------------- real scheduler processes


def _env(home: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("EARLYWARN_")}
    return {**env, "EARLYWARN_HOME": str(home)}


class _Scheduler:
    """A real ``earlywarn scheduler run`` process, with its output read line by line."""

    def __init__(self, home: Path, **env: str) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "earlywarn", "scheduler", "run"],
            cwd=home,
            env={**_env(home), **env},
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        self.lines: queue.Queue[str] = queue.Queue()
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self.lines.put(line)

    def wait_started(self) -> str:
        try:
            line = self.lines.get(timeout=60)
        except queue.Empty:
            self.stop(signal.SIGKILL)
            raise AssertionError("the scheduler did not start") from None
        assert line.startswith("scheduler started"), line
        return line

    def stop(self, signum: int = signal.SIGTERM) -> tuple[int, str, str]:
        """Send ``signum``, wait for the exit; the exit code, the rest of stdout, and stderr."""
        assert self.proc.stdout is not None
        assert self.proc.stderr is not None
        self.proc.send_signal(signum)
        code = self.proc.wait(timeout=60)
        self.reader.join(timeout=10)
        errors = self.proc.stderr.read()
        self.proc.stdout.close()
        self.proc.stderr.close()
        rest = []
        while not self.lines.empty():
            rest.append(self.lines.get())
        return code, "".join(rest), errors


def test_a_second_scheduler_on_the_same_home_refuses(tmp_path: Path) -> None:
    running = _Scheduler(tmp_path)
    try:
        running.wait_started()
        holder = lock_holder(_settings(tmp_path))
        assert holder is not None
        assert holder.holder.pid == running.proc.pid
        second = subprocess.run(
            [sys.executable, "-m", "earlywarn", "scheduler", "run"],
            cwd=tmp_path,
            env=_env(tmp_path),
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert second.returncode == 1
        assert f"another scheduler (pid {running.proc.pid}) is already running" in second.stderr
        assert "Traceback" not in second.stderr
    finally:
        code, _, _ = running.stop()
    assert code == 0


def test_two_schedulers_with_different_homes_on_one_database_refuse(
    tmp_path: Path, state_url: str
) -> None:
    shared = {"EARLYWARN_DATABASE_URL": state_url}
    first_home, second_home = tmp_path / "first", tmp_path / "second"
    first_home.mkdir()
    second_home.mkdir()
    running = _Scheduler(first_home, **shared)
    try:
        running.wait_started()
        second = subprocess.run(
            [sys.executable, "-m", "earlywarn", "scheduler", "run"],
            cwd=second_home,
            env={**_env(second_home), **shared},
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert second.returncode == 1
        [line] = second.stderr.strip().splitlines()
        assert line.startswith(
            f"error: another scheduler (pid {running.proc.pid}) is already running on this "
            "state database"
        )
        assert f"home {first_home}" in line
        assert "EARLYWARN_DATABASE_URL" in line
    finally:
        code, _, _ = running.stop()
    assert code == 0


def test_a_lock_left_by_a_scheduler_elsewhere_is_taken_over_after_its_lease(
    tmp_path: Path, state_url: str
) -> None:
    from earlywarn.state.lease import Holder, acquire

    engine = open_state(state_url)
    start = datetime(2026, 10, 5, 7, tzinfo=UTC)
    lease = timedelta(seconds=60)
    # A scheduler on another machine took the lock and was killed: no more heartbeats.
    gone = Holder("db-host-2:4242:abc", "db-host-2", 4242, "/srv/earlywarn-b")
    assert acquire(engine, "scheduler", gone, start, lease) is None
    mine = Holder.this_process(str(tmp_path))
    held = acquire(engine, "scheduler", mine, start + timedelta(seconds=59), lease)
    assert held is not None
    assert (held.holder.host, held.holder.pid) == ("db-host-2", 4242)
    assert acquire(engine, "scheduler", mine, start + timedelta(seconds=61), lease) is None
    # Now it is ours, and the old holder cannot take it back while we renew it.
    assert acquire(engine, "scheduler", gone, start + timedelta(seconds=90), lease) is not None
    engine.dispose()


def test_a_killed_schedulers_lock_on_this_host_is_taken_over_at_once(tmp_path: Path) -> None:
    settings = _settings(tmp_path)
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import sys, time\n"
            "from earlywarn.ops.lock import scheduler_lock\n"
            "from earlywarn.core.settings import load_settings\n"
            "scheduler_lock(load_settings(sys.argv[1])).acquire()\n"
            "print('locked', flush=True)\n"
            "time.sleep(120)\n",
            str(tmp_path),
        ],
        env=_env(tmp_path),
        stdout=subprocess.PIPE,
        text=True,
    )
    assert holder.stdout is not None
    assert holder.stdout.readline().strip() == "locked"
    with pytest.raises(SchedulerError, match=f"another scheduler \\(pid {holder.pid}\\)"):
        scheduler_lock(settings).acquire()
    holder.kill()
    holder.wait(timeout=30)
    holder.stdout.close()
    with scheduler_lock(settings) as lock:  # its lease has not run out, but its process is gone
        assert lock.held


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT])
def test_a_signal_stops_the_scheduler_cleanly_and_releases_the_lock(
    tmp_path: Path, signum: int
) -> None:
    running = _Scheduler(tmp_path)
    running.wait_started()
    code, output, errors = running.stop(signum)
    assert code == 0, errors
    assert "scheduler stopped" in output
    assert f"{signal.Signals(signum).name}: stopping" in errors
    assert "Traceback" not in errors
    assert lock_holder(_settings(tmp_path)) is None
    with scheduler_lock(_settings(tmp_path)) as lock:  # free again: a new scheduler could start
        assert lock.held
    # The job it scheduled is in the store for `earlywarn status`.
    assert [r.job_id for r in scheduled_runs(_settings(tmp_path))] == [WEEKLY_JOB_ID]


@pytest.mark.slow
def test_a_signal_stops_a_once_run_after_its_current_step(
    tmp_path: Path, champion_home: Path, small_institution: Path
) -> None:
    import json
    import shutil

    home = tmp_path / "home"
    shutil.copytree(champion_home / "mlruns", home / "mlruns")
    env = {
        **_env(home),
        "EARLYWARN_DATA_DIR": str(small_institution),
        "EARLYWARN_DATABASE_URL": f"sqlite:///{tmp_path / 'state.db'}",
    }
    once = ["scheduler", "run", "--once", "--no-send", "--json", "--as-of", "2026-10-05T07:00Z"]
    proc = subprocess.Popen(
        [sys.executable, "-m", "earlywarn", *once],
        cwd=home,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert proc.stderr is not None
    # The handlers are in place once it says it started; the signal lands in an early step.
    for line in proc.stderr:
        if line.startswith("weekly run started"):
            break
    else:
        raise AssertionError(f"the run did not start: {proc.communicate()}")
    proc.send_signal(signal.SIGTERM)
    output, errors = proc.communicate(timeout=120)
    assert proc.returncode == 128 + signal.SIGTERM, errors
    assert "SIGTERM: stopping after the current step" in errors
    assert "Traceback" not in errors
    report = json.loads(output)
    assert report["status"] == "stopped"
    assert report["summary"]["stopped_before"][-1] == "digest"
    assert lock_holder(_settings(home, database_url=f"sqlite:///{tmp_path / 'state.db'}")) is None
    engine = open_state(f"sqlite:///{tmp_path / 'state.db'}")
    try:
        assert [r.status for r in recent_job_runs(engine)] == ["stopped"]
    finally:
        engine.dispose()


_RACER = """
import sys, time
from pathlib import Path
from earlywarn.core.errors import SchedulerError
from earlywarn.core.settings import load_settings
from earlywarn.ops.lock import scheduler_lock
import alembic.command, earlywarn.state.lease, earlywarn.state.schema  # loaded before the start

lock = scheduler_lock(load_settings(sys.argv[1]))
go = Path(sys.argv[2])
print("ready", flush=True)
while not go.exists():
    time.sleep(0.005)
try:
    lock.acquire()
except SchedulerError as exc:
    print("lost", exc, flush=True)
    sys.exit(0)
print("won", flush=True)
sys.stdin.readline()
lock.release()
"""


def test_two_schedulers_starting_together_on_one_database_one_wins(
    tmp_path: Path, state_url: str
) -> None:
    """Two scheduler processes take the lock at the same moment: exactly one gets it."""
    go = tmp_path / "go"
    racers = []
    for name in ("first", "second"):
        home = tmp_path / name
        home.mkdir()
        racers.append(
            subprocess.Popen(
                [sys.executable, "-c", _RACER, str(home), str(go)],
                env={**_env(home), "EARLYWARN_DATABASE_URL": state_url},
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                text=True,
            )
        )
    try:
        for racer in racers:
            assert racer.stdout is not None
            assert racer.stdout.readline().strip() == "ready"
        go.touch()
        said = {}
        for racer in racers:
            assert racer.stdout is not None
            said[racer.pid] = racer.stdout.readline().strip()
        winners = [pid for pid, line in said.items() if line == "won"]
        assert len(winners) == 1, said
        [loser] = [line for pid, line in said.items() if pid not in winners]
        assert loser.startswith(f"lost another scheduler (pid {winners[0]}) is already running")
        holder = lock_holder(_settings(tmp_path, database_url=state_url))
        assert holder is not None
        assert holder.holder.pid == winners[0]
    finally:
        for racer in racers:
            assert racer.stdin is not None
            racer.stdin.close()  # the winner releases the lock and exits
            racer.wait(timeout=60)
            if racer.stdout is not None:
                racer.stdout.close()
    assert [r.returncode for r in racers] == [0, 0]
    assert lock_holder(_settings(tmp_path, database_url=state_url)) is None
