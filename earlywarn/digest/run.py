"""The weekly digest job: select, render, commit to the outbox, then deliver.

:func:`run_digests` is what ``earlywarn digest`` and the scheduler call. With ``send=False`` it
writes every message as an ``.eml`` file under ``Settings.outbox_dir/<week>/`` and touches no
delivery state. With ``send=True`` it commits each advisor's digest to the outbox (one
transaction, before any send), delivers everything pending (the message waiting longest first),
then builds the operator summary from the outcome, which goes to ``Settings.operator_email`` or,
when that is unset, to the folder. The summary never lists itself; what the run reports as
pending and failed afterwards includes the summary's own delivery.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from email.headerregistry import Address
from email.utils import parseaddr
from pathlib import Path
from typing import TYPE_CHECKING, Any

from earlywarn.core.errors import DeliveryError, SettingsError, UnscoredWeekError
from earlywarn.core.time import aware_utc
from earlywarn.core.time import now as utc_now
from earlywarn.digest.heading import heading_for, parse_trained_at, student_program_weeks
from earlywarn.digest.loop import close_loop
from earlywarn.digest.render import (
    DigestContext,
    as_of_text,
    render_digest,
    render_operator_summary,
)
from earlywarn.digest.selection import (
    AdvisorDigest,
    Selection,
    Thresholds,
    Unassigned,
    roster_from_tables,
    select_digests,
)
from earlywarn.mail.delivery import DeliveryResult, RetryPolicy, deliver
from earlywarn.mail.message import Attachment, build_message, message_bytes, parse_address
from earlywarn.mail.senders import FolderSender, Sender, SMTPSender
from earlywarn.state import (
    OPERATOR_ID,
    OutgoingMessage,
    StoredRun,
    open_state,
    outbox_entries,
    previous_scored_week,
    run_for_week,
    scores_for_week,
    week_key,
)
from earlywarn.state.outbox import OutboxEntry, delivery_queue, sent_recipients, stage

if TYPE_CHECKING:
    import jinja2
    from sqlalchemy import Engine

    from earlywarn.contract.tables import Tables
    from earlywarn.core.settings import Settings

log = logging.getLogger(__name__)


@dataclass
class DigestResult:
    """What one digest run did (advisor ids only: no names, no addresses)."""

    week: str
    dry_run: bool
    digests: list[str] = field(default_factory=list)
    already_sent: list[str] = field(default_factory=list)
    kept_failed: list[str] = field(default_factory=list)
    unassigned: list[Unassigned] = field(default_factory=list)
    unknown_students: list[str] = field(default_factory=list)
    files: list[Path] = field(default_factory=list)
    delivery: DeliveryResult = field(default_factory=DeliveryResult)
    operator: str = "not built"
    pending: list[OutboxEntry] = field(default_factory=list)
    failed: list[OutboxEntry] = field(default_factory=list)


def mail_from_address(settings: Settings) -> Address:
    """``Settings.mail_from`` ('earlywarn@uni.edu' or 'Early Warning <earlywarn@uni.edu>')."""
    name, addr = parseaddr(settings.mail_from)
    try:
        return parse_address(addr, name or "earlywarn", who="mail_from")
    except DeliveryError as exc:
        raise SettingsError(f"EARLYWARN_MAIL_FROM / mail_from: {exc}") from exc


def _data_folder(tables: Tables) -> str:
    paths = list(tables.sources.values())
    return str(paths[0].parent) if paths else "DIR"


def _instant_text(as_of: datetime) -> str:
    """An instant as a user would type it for ``--as-of``: a date at midnight UTC, else minutes."""
    moment = aware_utc(as_of)
    if (moment.hour, moment.minute, moment.second, moment.microsecond) == (0, 0, 0, 0):
        return moment.strftime("%Y-%m-%d")
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def _scored_run(engine: Engine, tables: Tables, as_of: datetime, week: str) -> StoredRun:
    run = run_for_week(engine, week)
    if run is None:
        raise UnscoredWeekError(
            f"the week of {week} has not been scored; run earlywarn score {_data_folder(tables)} "
            f"--as-of {_instant_text(as_of)} first"
        )
    return run


def _message(
    settings: Settings,
    *,
    recipient_id: str,
    week: str,
    kind: str,
    to: Address,
    subject: str,
    text: str,
    html: str | None,
    now: datetime,
    attachments: tuple[Attachment, ...] = (),
    n_students: int = 0,
) -> OutgoingMessage:
    sender = mail_from_address(settings)
    msg = build_message(
        to=to,
        mail_from=sender,
        subject=subject,
        text=text,
        html=html,
        date=now,
        attachments=attachments,
        list_unsubscribe=settings.list_unsubscribe,
    )
    return OutgoingMessage(
        recipient_id=recipient_id,
        week=week,
        kind="operator" if kind == "operator" else "advisor",
        to_addr=to.addr_spec,
        from_addr=sender.addr_spec,
        subject=subject,
        message_id=str(msg["Message-ID"]),
        data=message_bytes(msg),
        n_students=n_students,
    )


def program_timezones(tables: Tables) -> dict[str, str]:
    """Each program's time zone (CONTRACT.md: programs.timezone, UTC when not given)."""
    programs = tables.programs
    if "timezone" not in programs.columns:
        return {}
    return {
        str(p): str(z)
        for p, z in zip(programs["program_id"], programs["timezone"], strict=True)
        if z == z and z is not None
    }


def digest_timezone(digest: AdvisorDigest, zones: Mapping[str, str]) -> str:
    """The time zone a digest's times are shown in: the program of most of its students."""
    from collections import Counter

    counts = Counter(zones.get(s.program_id, "UTC") for s in digest.students)
    return counts.most_common(1)[0][0] if counts else "UTC"


def _digest_message(
    settings: Settings,
    env: jinja2.Environment,
    digest: AdvisorDigest,
    ctx: DigestContext,
    now: datetime,
    timezone: str = "UTC",
    heading: str = "",
) -> OutgoingMessage:
    rendered = render_digest(env, digest, ctx, timezone, heading)
    advisor = digest.advisor
    assert advisor.email is not None  # selection sends address-less advisors to the operator
    to = parse_address(
        advisor.email, advisor.name, who=f"advisors.csv, advisor {advisor.advisor_id}"
    )
    return _message(
        settings,
        recipient_id=advisor.advisor_id,
        week=ctx.week,
        kind="advisor",
        to=to,
        subject=rendered.subject,
        text=rendered.text,
        html=rendered.html,
        now=now,
        attachments=(Attachment(rendered.csv_name, rendered.csv_text),),
        n_students=len(digest.students),
    )


def _operator_context(
    settings: Settings,
    *,
    run: StoredRun,
    week: str,
    selection: Selection,
    result: DigestResult,
) -> dict[str, Any]:
    from earlywarn.model.store import version_run_id
    from earlywarn.scoring.drift import drift_summary_line

    warnings = [d for d in run.drift if d.level == "warning"]
    return {
        "week": week,
        "dry_run": result.dry_run,
        "outbox_folder": str(settings.outbox_dir / week),
        "as_of_text": as_of_text(run.as_of, settings.schedule_timezone),
        "model_version": run.model_version,
        "run_id": run.run_id,
        "mlflow_run_id": version_run_id(settings, run.model_version),
        "n_scored": sum(selection.tier_counts.values()),
        "tiers": selection.tier_counts,
        "n_digests": len(selection.digests),
        "n_listed": sum(len(d.students) for d in selection.digests),
        "already_sent": result.already_sent,
        "unassigned": selection.unassigned,
        "unknown_students": selection.unknown_students,
        "psi_warning": settings.drift_psi_warning,
        "tier_high": settings.tier_high,
        "tier_medium": settings.tier_medium,
        "drift_warnings": warnings,
        "drift_line": drift_summary_line(run.drift),
        "sent_now": len(result.delivery.sent),
        "pending": result.pending,
        "failed": result.failed,
    }


def _deliveries(
    engine: Engine, week: str, result: DigestResult, *, since: datetime, with_summary: bool
) -> None:
    """Fill in what is pending (any week) and what failed (this week, or since ``since``: given up
    in this run), with this week's operator summary only when ``with_summary``."""
    failed_now = {key for key, _ in result.delivery.failed}
    summary_key = (OPERATOR_ID, week)

    def shown(entry: OutboxEntry) -> bool:
        return with_summary or entry.key != summary_key

    result.pending = [e for e in outbox_entries(engine, status="pending") if shown(e)]
    result.failed = [
        e
        for e in outbox_entries(engine, status="failed")
        if shown(e) and (e.week == week or e.key in failed_now or e.updated_at >= since)
    ]


def run_digests(
    settings: Settings,
    tables: Tables,
    as_of: datetime,
    *,
    send: bool,
    clock: Callable[[], datetime] = utc_now,
    sleep: Callable[[float], None] = time.sleep,
    sender: Sender | None = None,
    policy: RetryPolicy | None = None,
    engine: Engine | None = None,
    since: datetime | None = None,
) -> DigestResult:
    """Build the digests of the week of ``as_of`` and write them (dry run) or send them.

    Raises :class:`~earlywarn.core.errors.UnscoredWeekError` when that week has not been
    scored, and :class:`~earlywarn.core.errors.DeliveryError` when the mail server refuses our
    settings (login, TLS, sender address); either way nothing already committed to the outbox
    is lost. Messages given up at or after ``since`` (default: when this call starts) are listed
    as failed whatever their week, so the operator hears of them once.
    """
    from earlywarn.core.templating import template_environment

    since = since or clock()
    policy = policy or RetryPolicy.from_settings(settings)
    engine = engine or open_state(settings.state_url)
    week = week_key(as_of, settings.schedule_timezone)
    run = _scored_run(engine, tables, as_of, week)
    previous_week = previous_scored_week(engine, week)
    previous = (
        {s.student_id: s.risk for s in scores_for_week(engine, previous_week)}
        if previous_week
        else {}
    )
    thresholds = Thresholds(
        high=settings.tier_high,
        medium=settings.tier_medium,
        max_students=settings.digest_max_students,
        worse_margin=settings.digest_worse_margin,
    )
    roster = roster_from_tables(tables, as_of)
    selection = select_digests(scores_for_week(engine, week), previous, roster, thresholds)
    selection, loop = close_loop(settings, engine, roster, selection, week=week, now=clock())
    log.info(
        "week %s: %d withheld (holdout), %d not listed (marked not at risk), %d moved up, links %s",
        week,
        loop.withheld,
        loop.quiet,
        loop.moved_up,
        "on" if loop.linked else "off (secret_key or base_url unset)",
    )
    env = template_environment(settings.templates_dir)
    ctx = DigestContext(
        week=week,
        previous_week=previous_week,
        as_of=run.as_of,
        model_version=run.model_version,
        medium=settings.tier_medium,
        high=settings.tier_high,
        operator_contact=settings.operator_email or mail_from_address(settings).addr_spec,
        model_trained_at=parse_trained_at(run.details.get("model_trained_at")),
    )
    program_weeks = student_program_weeks(tables, run.as_of)
    result = DigestResult(
        week=week,
        dry_run=not send,
        unassigned=selection.unassigned,
        unknown_students=selection.unknown_students,
    )
    already = sent_recipients(engine, week) if send else set()
    now = clock()
    zones = program_timezones(tables)
    messages = [
        _digest_message(
            settings,
            env,
            d,
            ctx,
            now,
            digest_timezone(d, zones),
            heading_for((s.student_id for s in d.students), program_weeks),
        )
        for d in selection.digests
        if d.advisor.advisor_id not in already
    ]
    result.digests = [d.advisor.advisor_id for d in selection.digests]
    result.already_sent = sorted(already & set(result.digests))
    folder = FolderSender(settings.outbox_dir)
    if not send:
        for message in messages:
            folder.send(message)
        _deliveries(engine, week, result, since=since, with_summary=False)
    else:
        staged = stage(engine, messages, now)
        result.kept_failed = staged.kept_failed
        log.info(
            "week %s: %d digests staged (%d new, %d refreshed), %d already sent",
            week,
            len(messages),
            len(staged.added),
            len(staged.refreshed),
            len(result.already_sent),
        )
        sender = sender or SMTPSender.from_settings(settings)
        # Everything pending goes out, the longest waiting first, except this week's operator
        # summary: it is rebuilt below with the outcome of these deliveries.
        waiting = [e for e in delivery_queue(engine) if e.key != (OPERATOR_ID, week)]
        result.delivery = deliver(engine, sender, waiting, clock=clock, sleep=sleep, policy=policy)
        _deliveries(engine, week, result, since=since, with_summary=False)

    summary = render_operator_summary(
        env, _operator_context(settings, run=run, week=week, selection=selection, result=result)
    )
    subject = (
        f"earlywarn operator summary: week of {week} "
        f"({len(selection.unassigned)} unassigned, {len(result.failed)} failed, "
        f"{len(result.pending)} pending)"
    )
    operator_to = settings.operator_email
    to = (
        parse_address(operator_to, "earlywarn operator", who="operator_email")
        if operator_to
        else None
    )
    summary_message = _message(
        settings,
        recipient_id=OPERATOR_ID,
        week=week,
        kind="operator",
        to=to or mail_from_address(settings),
        subject=subject,
        text=summary,
        html=None,
        now=clock(),
        n_students=len(selection.unassigned),
    )
    if not send or to is None:
        folder.send(summary_message)
        result.operator = f"written to {folder.path_for(summary_message)}"
    elif OPERATOR_ID in sent_recipients(engine, week):
        result.operator = "already sent for this week"
    elif result.delivery.unreachable is not None:
        # The server could not be reached a moment ago: keep the summary for the next run.
        stage(engine, [summary_message], clock())
        result.operator = "pending (the mail server could not be reached)"
        _deliveries(engine, week, result, since=since, with_summary=True)
    else:
        stage(engine, [summary_message], clock())
        mine = [e for e in delivery_queue(engine, week=week) if e.recipient_id == OPERATOR_ID]
        operator_sender = sender or SMTPSender.from_settings(settings)
        done = deliver(engine, operator_sender, mine, clock=clock, sleep=sleep, policy=policy)
        result.delivery.sent.extend(done.sent)
        result.delivery.failed.extend(done.failed)
        result.delivery.still_pending.extend(done.still_pending)
        result.delivery.deferred.extend(done.deferred)
        result.delivery.not_tried.extend(done.not_tried)
        result.operator = (
            "sent" if done.sent else "failed" if done.failed else "pending" if mine else "not sent"
        )
        # What the run reports now includes the summary's own delivery.
        _deliveries(engine, week, result, since=since, with_summary=True)
    result.files = list(folder.written)
    return result
