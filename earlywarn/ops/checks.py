"""``earlywarn check``: is everything the Monday run needs in place? One finding per part.

Each check returns a :class:`Finding`: ``ok``, ``note`` (worth knowing, not wrong), ``wrong`` (a
setting or the data needs fixing: exit 2) or ``down`` (a service does not answer: exit 1). The
checks read and connect; they never send a message, score or write state.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Literal

from earlywarn.core.errors import EarlyWarnError

if TYPE_CHECKING:
    from earlywarn.core.settings import Settings

Status = Literal["ok", "note", "wrong", "down"]


@dataclass(frozen=True)
class Finding:
    """One line of the check: what was checked, how it stands, and what to do."""

    check: str
    status: Status
    message: str

    def line(self) -> str:
        label = {"ok": "ok", "note": "note", "wrong": "WRONG", "down": "DOWN"}[self.status]
        return f"{label:<6}{self.check}: {self.message}"

    def to_json(self) -> dict[str, str]:
        return {"check": self.check, "status": self.status, "message": self.message}


def exit_code(findings: list[Finding]) -> int:
    """2 when a setting or the data is wrong, else 1 when a service is down, else 0."""
    statuses = {f.status for f in findings}
    if "wrong" in statuses:
        return 2
    return 1 if "down" in statuses else 0


def check_addresses(settings: Settings) -> list[Finding]:
    """``mail_from`` must be an address; ``operator_email`` one too, when set."""
    from earlywarn.digest.run import mail_from_address
    from earlywarn.mail.message import parse_address

    findings: list[Finding] = []
    try:
        sender = mail_from_address(settings)
        findings.append(Finding("mail_from", "ok", f"messages come from {sender.addr_spec}"))
    except EarlyWarnError as exc:
        findings.append(Finding("mail_from", "wrong", str(exc)))
    if settings.operator_email:
        try:
            parse_address(settings.operator_email, who="operator_email")
            findings.append(Finding("operator_email", "ok", "the operator summary is mailed"))
        except EarlyWarnError as exc:
            findings.append(Finding("operator_email", "wrong", str(exc)))
    else:
        findings.append(
            Finding(
                "operator_email",
                "note",
                f"unset: the operator summary is only written to {settings.outbox_dir}; set "
                "operator_email to have it mailed",
            )
        )
    return findings


def check_smtp(settings: Settings) -> Finding:
    from earlywarn.mail.probe import probe_smtp

    probe = probe_smtp(settings)
    statuses: dict[str, Status] = {
        "ok": "ok",
        "setting": "wrong",
        "refused": "down",
        "down": "down",
    }
    return Finding("smtp", statuses[probe.status], probe.message)


def check_data(settings: Settings, folder: Path | None, as_of: datetime) -> Finding:
    """The data folder loads against the contract and its newest time stamp is recent."""
    import pandas as pd

    from earlywarn.contract import load_tables
    from earlywarn.contract.freshness import STALE_AFTER_DAYS, last_time_stamp

    if folder is None:
        return Finding(
            "data",
            "wrong",
            "data_dir is not set: set data_dir in earlywarn.toml or EARLYWARN_DATA_DIR (or "
            "pass DIR) to the institution data folder",
        )
    if not folder.is_dir():
        return Finding("data", "wrong", f"{folder} is not a folder; point data_dir at the export")
    try:
        tables = load_tables(folder)
    except EarlyWarnError as exc:
        return Finding("data", "wrong", str(exc))
    last = last_time_stamp(tables)
    students = len(tables.students)
    if last is None:
        return Finding("data", "note", f"{folder}: {students} students, no time-stamped rows yet")
    gap = pd.Timestamp(as_of) - pd.Timestamp(last)
    newest = f"newest time stamp {pd.Timestamp(last):%Y-%m-%d %H:%M} UTC"
    if gap > pd.Timedelta(days=STALE_AFTER_DAYS):
        return Finding(
            "data",
            "wrong",
            f"{folder}: {newest}, {gap.days} days before {pd.Timestamp(as_of):%Y-%m-%d}; the "
            "weekly run refuses data older than "
            f"{STALE_AFTER_DAYS} days: refresh the export",
        )
    return Finding("data", "ok", f"{folder}: valid, {students:,} students, {newest}")


def check_model(settings: Settings) -> Finding:
    """The registry has a champion (the model weekly scoring uses)."""
    from earlywarn.model.store import CHAMPION, alias_version, version_run_id

    try:
        version = alias_version(settings, CHAMPION)
    except EarlyWarnError as exc:
        return Finding("model", "wrong", str(exc))
    if version is None:
        return Finding(
            "model",
            "wrong",
            f"no champion model in {settings.mlruns_dir}: run earlywarn train DIR, then "
            "earlywarn promote",
        )
    run_id = version_run_id(settings, version)
    return Finding("model", "ok", f"champion is version {version} (MLflow run {run_id})")


def check_state(settings: Settings) -> Finding:
    """The state database opens and answers."""
    from sqlalchemy import text
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError, NoSuchModuleError, SQLAlchemyError

    try:
        shown = make_url(settings.state_url).render_as_string(hide_password=True)
    except ArgumentError as exc:
        return Finding("state", "wrong", f"database_url is not a SQLAlchemy URL ({exc})")
    from earlywarn.state import open_state

    try:
        engine = open_state(settings.state_url)
    except (ArgumentError, NoSuchModuleError, ImportError) as exc:
        return Finding("state", "wrong", f"database_url {shown}: {exc}; fix database_url")
    except (SQLAlchemyError, OSError) as exc:
        return Finding("state", "down", f"{shown} does not answer ({_first_line(exc)})")
    try:
        with engine.connect() as conn:
            conn.execute(text("SELECT 1"))
    except SQLAlchemyError as exc:
        return Finding("state", "down", f"{shown} does not answer ({_first_line(exc)})")
    finally:
        engine.dispose()
    return Finding("state", "ok", f"{shown} answers")


def check_schedule(settings: Settings, now: datetime) -> Finding:
    """When the weekly run (and retraining) will next run."""
    from earlywarn.ops.scheduler import retrain_trigger, weekly_trigger

    try:
        weekly = weekly_trigger(settings).get_next_fire_time(None, now)
        retrain = retrain_trigger(settings)
    except EarlyWarnError as exc:
        return Finding("schedule", "wrong", str(exc))
    when = f"{settings.schedule_day} {settings.schedule_hour:02d}:{settings.schedule_minute:02d}"
    text = f"weekly run {when} {settings.schedule_timezone}, next {weekly:%Y-%m-%d %H:%M %Z}"
    if retrain is None:
        text += "; retraining off (retrain_schedule unset)"
    else:
        text += f"; retraining {settings.retrain_schedule}, next "
        text += f"{retrain.get_next_fire_time(None, now):%Y-%m-%d %H:%M %Z}"
    return Finding("schedule", "ok", text)


def _first_line(exc: BaseException) -> str:
    return str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__


def run_checks(
    settings: Settings,
    folder: Path | None,
    as_of: datetime,
    now: datetime,
    *,
    on_check: Callable[[str], None] | None = None,
) -> list[Finding]:
    """Every check, in the order an operator fixes things: settings, mail, data, model, state,
    schedule. ``on_check`` hears each check's name as it starts (for progress)."""
    say = on_check or (lambda name: None)
    findings = check_addresses(settings)
    say("smtp")
    findings.append(check_smtp(settings))
    say("data")
    findings.append(check_data(settings, folder, as_of))
    say("model")
    findings.append(check_model(settings))
    say("state")
    findings.append(check_state(settings))
    findings.append(check_schedule(settings, now))
    return findings
