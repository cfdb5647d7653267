"""How a digest reads: plain text, phone-friendly HTML with inlined CSS, and the CSV attachment."""

from __future__ import annotations

import csv
import io
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from earlywarn.core.errors import TemplateError
from earlywarn.core.templating import bound_percent, plural, render, tier_percent
from earlywarn.core.time import aware_utc
from earlywarn.digest.heading import model_text
from earlywarn.digest.selection import MAX_ACTIONS, AdvisorDigest, StudentLine

if TYPE_CHECKING:
    import jinja2

STATUS_LABELS = {"new": "new this week", "worse": "worse", "still": "still at risk"}
CSV_COLUMNS = (
    "student_id",
    "name",
    "tier",
    "risk_percent",
    "status",
    "previous_risk_percent",
    "courses",
    "reasons",
    # One suggested action per column, so a spreadsheet can filter and sort by them.
    *(f"action_{i}" for i in range(1, MAX_ACTIONS + 1)),
)
# Excel reads a CSV as the machine's legacy code page unless it starts with a UTF-8 byte order
# mark; with it, accented names open as written. Other spreadsheet programs ignore the mark.
BOM = "\ufeff"


@dataclass(frozen=True)
class DigestContext:
    """What every digest of one week shares."""

    week: str
    previous_week: str | None
    as_of: datetime
    model_version: str
    medium: float
    operator_contact: str
    high: float = 0.5
    model_trained_at: datetime | None = None


@dataclass(frozen=True)
class RenderedDigest:
    """One advisor's digest, ready to become an email."""

    subject: str
    text: str
    html: str
    csv_name: str
    csv_text: str


def as_of_text(as_of: datetime, timezone: str = "UTC") -> str:
    """An instant as a reader in ``timezone`` reads it: '2026-10-05 07:00 UTC',
    '2026-10-05 03:00 EDT'."""
    from zoneinfo import ZoneInfo

    local = aware_utc(as_of).astimezone(ZoneInfo(timezone))
    return local.strftime("%Y-%m-%d %H:%M ") + (local.tzname() or timezone)


def tier_legend(high: float, medium: float) -> list[dict[str, str]]:
    """The tiers a digest lists, each with its bounds as the digest shows risks."""
    top, middle = bound_percent(high), bound_percent(medium)
    return [
        {"tier": "high", "bounds": f"{top}% or more"},
        {"tier": "medium", "bounds": f"{middle}% to {top - 1}%"},
    ]


def digest_subject(digest: AdvisorDigest, week: str, heading: str = "") -> str:
    """The counts first, for a phone's preview line, e.g. '7 students to contact, 2 new this
    week (Data Science BSc, week 4 of term; 2026-10-05)'."""
    count = plural(len(digest.students), "student")
    where = f"{heading}; {week}" if heading else f"week of {week}"
    return f"{count} to contact, {digest.count('new')} new this week ({where})"


def _safe_cell(value: str) -> str:
    """Keep spreadsheet programs from reading a cell (a name, say) as a formula."""
    return "'" + value if value[:1] in ("=", "+", "-", "@", "\t", "\r") else value


def digest_csv(digest: AdvisorDigest, *, high: float = 0.5, medium: float = 0.4) -> str:
    """The advisor's full to-act-on list, riskiest first, one row per student."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(CSV_COLUMNS)
    for s in digest.students:
        writer.writerow(
            [
                _safe_cell(s.student_id),
                _safe_cell(s.name),
                s.tier,
                tier_percent(s.risk, high=high, medium=medium).removesuffix("%"),
                STATUS_LABELS[s.status],
                "" if s.previous_risk is None else round(s.previous_risk * 100, 1),
                _safe_cell("; ".join(s.courses)),
                _safe_cell(" | ".join(r.text for r in (*s.reasons, *s.context))),
                *(_safe_cell(a) for a in s.actions),
                *([""] * (MAX_ACTIONS - len(s.actions))),
            ]
        )
    return BOM + out.getvalue()


def _student(s: StudentLine, ctx: DigestContext) -> dict[str, Any]:
    return {
        "risk_text": tier_percent(s.risk, high=ctx.high, medium=ctx.medium),
        "context": [r.text for r in s.context],
        "student_id": s.student_id,
        "name": s.name,
        "courses": list(s.courses),
        "risk": s.risk,
        "tier": s.tier,
        "status": s.status,
        "status_label": STATUS_LABELS[s.status],
        "previous_risk": s.previous_risk,
        "reasons": [{"text": r.text, "driver": r.driver, "action": r.action} for r in s.reasons],
        "actions": list(s.actions),
        # digest.loop: feedback link, latest record, the student's own contact
        "feedback_url": s.extra.get("feedback_url"),
        "recorded": s.extra.get("recorded"),
        "moved_up": bool(s.extra.get("moved_up")),
        "email": s.extra.get("email"),
        "phone": s.extra.get("phone"),
        "record_url": s.extra.get("record_url"),
    }


def render_template(env: jinja2.Environment, name: str, context: Mapping[str, Any]) -> str:
    """Render ``name``, turning any template failure into one clear :class:`TemplateError`."""
    import jinja2

    try:
        return render(env, name, **context)
    except jinja2.TemplateError as exc:
        where = getattr(exc, "filename", None) or name
        line = getattr(exc, "lineno", None)
        at = f", line {line}" if line else ""
        raise TemplateError(
            f"template {where}{at}: {exc}; fix the template (or remove the override)"
        ) from exc


def render_digest(
    env: jinja2.Environment,
    digest: AdvisorDigest,
    ctx: DigestContext,
    timezone: str = "UTC",
    heading: str = "",
) -> RenderedDigest:
    """The text, inlined HTML and CSV of one advisor's digest; times in ``timezone`` (the
    advisor's students' program's); ``heading`` names the program and week of term
    (:func:`earlywarn.digest.heading.heading_for`)."""
    import css_inline

    subject = digest_subject(digest, ctx.week, heading)
    csv_name = f"earlywarn-{ctx.week}.csv"
    context = {
        "subject": subject,
        "advisor_name": digest.advisor.name,
        "week": ctx.week,
        "previous_week": ctx.previous_week or "last week",
        "as_of_text": as_of_text(ctx.as_of, timezone),
        "medium": ctx.medium,
        "medium_text": f"{bound_percent(ctx.medium)}%",
        "legend": tier_legend(ctx.high, ctx.medium),
        "model_version": ctx.model_version,
        "model_text": model_text(ctx.model_trained_at, ctx.model_version),
        "heading": heading,
        "operator_contact": ctx.operator_contact,
        "students": [_student(s, ctx) for s in digest.shown],
        "total": len(digest.students),
        "more": digest.more,
        "counts": {
            "new": digest.count("new"),
            "worse": digest.count("worse"),
            "still": digest.count("still"),
        },
        "csv_name": csv_name,
        # digest.loop: the advisor page and what was recorded since the last digest
        "page_url": digest.extra.get("page_url"),
        "recorded_last_week": digest.extra.get("recorded_last_week", []),
        "quiet": digest.extra.get("quiet", 0),
        "quiet_weeks": digest.extra.get("quiet_weeks", 0),
    }
    text = render_template(env, "digest.txt", context)
    # Keep the dark-mode @media rules in a <style> block: they cannot be inlined.
    inliner = css_inline.CSSInliner(keep_at_rules=True)
    html = inliner.inline(render_template(env, "digest.html", context))
    csv_text = digest_csv(digest, high=ctx.high, medium=ctx.medium)
    return RenderedDigest(subject, text, html, csv_name, csv_text)


def render_operator_summary(env: jinja2.Environment, context: Mapping[str, Any]) -> str:
    """The operator summary's plain text (see ``templates/operator_summary.txt``)."""
    return render_template(env, "operator_summary.txt", context)
