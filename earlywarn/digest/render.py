"""How a digest reads: plain text, phone-friendly HTML with inlined CSS, and the CSV attachment."""

from __future__ import annotations

import csv
import io
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from earlywarn.core.errors import TemplateError
from earlywarn.core.templating import plural, render
from earlywarn.core.time import aware_utc
from earlywarn.digest.selection import AdvisorDigest, StudentLine

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
    "suggested_actions",
)


@dataclass(frozen=True)
class DigestContext:
    """What every digest of one week shares."""

    week: str
    previous_week: str | None
    as_of: datetime
    model_version: str
    medium: float
    operator_contact: str


@dataclass(frozen=True)
class RenderedDigest:
    """One advisor's digest, ready to become an email."""

    subject: str
    text: str
    html: str
    csv_name: str
    csv_text: str


def as_of_text(as_of: datetime) -> str:
    """An instant as advisors read it: '2026-10-05 07:00 UTC'."""
    return aware_utc(as_of).strftime("%Y-%m-%d %H:%M UTC")


def digest_subject(digest: AdvisorDigest, week: str) -> str:
    """E.g. 'earlywarn: 7 students to reach this week (week of 2026-10-05)'."""
    count = plural(len(digest.students), "student")
    return f"earlywarn: {count} to reach this week (week of {week})"


def _safe_cell(value: str) -> str:
    """Keep spreadsheet programs from reading a cell (a name, say) as a formula."""
    return "'" + value if value[:1] in ("=", "+", "-", "@", "\t", "\r") else value


def digest_csv(digest: AdvisorDigest) -> str:
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
                round(s.risk * 100, 1),
                STATUS_LABELS[s.status],
                "" if s.previous_risk is None else round(s.previous_risk * 100, 1),
                _safe_cell("; ".join(s.courses)),
                _safe_cell(" | ".join(r.text for r in s.reasons)),
                _safe_cell(" ".join(s.actions)),
            ]
        )
    return out.getvalue()


def _student(s: StudentLine) -> dict[str, Any]:
    return {
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
    env: jinja2.Environment, digest: AdvisorDigest, ctx: DigestContext
) -> RenderedDigest:
    """The text, inlined HTML and CSV of one advisor's digest."""
    import css_inline

    subject = digest_subject(digest, ctx.week)
    csv_name = f"earlywarn-{ctx.week}.csv"
    context = {
        "subject": subject,
        "advisor_name": digest.advisor.name,
        "week": ctx.week,
        "previous_week": ctx.previous_week or "last week",
        "as_of_text": as_of_text(ctx.as_of),
        "medium": ctx.medium,
        "model_version": ctx.model_version,
        "operator_contact": ctx.operator_contact,
        "students": [_student(s) for s in digest.shown],
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
    html = css_inline.inline(render_template(env, "digest.html", context))
    return RenderedDigest(subject, text, html, csv_name, digest_csv(digest))


def render_operator_summary(env: jinja2.Environment, context: Mapping[str, Any]) -> str:
    """The operator summary's plain text (see ``templates/operator_summary.txt``)."""
    return render_template(env, "operator_summary.txt", context)
