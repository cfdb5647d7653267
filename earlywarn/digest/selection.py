"""Who goes into which advisor's digest this week: pure functions, no I/O.

A student is *to act on* when their risk is at or above the medium tier. Each advisor with at
least one such student gets a digest listing the riskiest ``max_students`` of them (the rest are
counted and attached in full). Every student is compared with the previous scored week: *new*
(not scored then, or not at risk then), *worse* (risk up by more than ``worse_margin``) or
*still at risk*. A student reaches exactly one advisor: the one the institution's data names now.
Students with no advisor, an unknown advisor or an advisor without an email address go to the
operator instead.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Literal

from earlywarn.state.records import Reason, ScoreRow, Tier, tier_for

if TYPE_CHECKING:
    from earlywarn.contract.tables import Tables

Status = Literal["new", "worse", "still"]
MAX_REASONS = 3
MAX_ACTIONS = 2


@dataclass(frozen=True)
class StudentContact:
    """What an advisor may see of a student besides the score: a name and first-term courses."""

    student_id: str
    name: str
    advisor_id: str | None
    courses: tuple[str, ...] = ()
    email: str | None = None  # the student's own address (optional contract column)
    phone: str | None = None
    term_id: str | None = None  # first term (the holdout's term)


@dataclass(frozen=True)
class AdvisorContact:
    """An advisor: name and the address their digest goes to (``None`` when unusable)."""

    advisor_id: str
    name: str
    email: str | None


@dataclass(frozen=True)
class Roster:
    """Who advises whom, from the institution's data as of the digest."""

    students: Mapping[str, StudentContact]
    advisors: Mapping[str, AdvisorContact]


@dataclass(frozen=True)
class Thresholds:
    """The selection settings (from :class:`~earlywarn.core.settings.Settings`)."""

    high: float
    medium: float
    max_students: int
    worse_margin: float


@dataclass(frozen=True)
class StudentLine:
    """One student as the advisor reads them."""

    student_id: str
    name: str
    courses: tuple[str, ...]
    risk: float
    tier: Tier
    status: Status
    previous_risk: float | None
    reasons: tuple[Reason, ...]
    actions: tuple[str, ...]
    context: tuple[Reason, ...] = ()
    program_id: str = ""
    # Filled by digest.loop (feedback, links, contact); empty when unused.
    extra: Mapping[str, object] = field(default_factory=dict)


@dataclass(frozen=True)
class AdvisorDigest:
    """One advisor's digest: the students shown, and the full to-act-on list for the CSV."""

    advisor: AdvisorContact
    students: tuple[StudentLine, ...]
    shown: tuple[StudentLine, ...]
    extra: Mapping[str, object] = field(default_factory=dict)  # see digest.loop

    @property
    def more(self) -> int:
        """How many to-act-on students did not fit in the digest ("and K more")."""
        return len(self.students) - len(self.shown)

    def count(self, status: Status) -> int:
        return sum(1 for s in self.students if s.status == status)


@dataclass(frozen=True)
class Unassigned:
    """An at-risk student no advisor will hear about, and why."""

    student_id: str
    risk: float
    tier: Tier
    why: str


@dataclass
class Selection:
    """The week's digests, and what the operator must know."""

    digests: list[AdvisorDigest] = field(default_factory=list)
    unassigned: list[Unassigned] = field(default_factory=list)
    unknown_students: list[str] = field(default_factory=list)
    tier_counts: dict[str, int] = field(default_factory=dict)


def _status(risk: float, previous: float | None, t: Thresholds) -> Status:
    if previous is None or previous < t.medium:
        return "new"
    if round(risk - previous, 9) > t.worse_margin:  # 0.65 - 0.60 is not more than 0.05
        return "worse"
    return "still"


def _actions(reasons: Iterable[Reason]) -> tuple[str, ...]:
    seen: list[str] = []
    for reason in reasons:
        if reason.action and reason.action not in seen:
            seen.append(reason.action)
    return tuple(seen[:MAX_ACTIONS])


def _why_unassigned(contact: StudentContact, roster: Roster) -> str | None:
    if contact.advisor_id is None:
        return "no advisor"
    advisor = roster.advisors.get(contact.advisor_id)
    if advisor is None:
        return f"advisor {contact.advisor_id} is not in the advisors table"
    if advisor.email is None:
        return f"advisor {contact.advisor_id} has no usable email address"
    return None


def select_digests(
    scores: Sequence[ScoreRow],
    previous: Mapping[str, float],
    roster: Roster,
    thresholds: Thresholds,
) -> Selection:
    """Build every advisor's digest for one week.

    ``scores`` are this week's scores; ``previous`` maps student id to risk in the previous scored
    week (empty when there is none). Tiers are recomputed from risk with ``thresholds`` so the
    digest always follows the current settings.
    """
    t = thresholds
    selection = Selection(tier_counts={"high": 0, "medium": 0, "low": 0})
    by_advisor: dict[str, list[StudentLine]] = {}
    for score in scores:
        tier = tier_for(score.risk, high=t.high, medium=t.medium)
        selection.tier_counts[tier] += 1
        contact = roster.students.get(score.student_id)
        if contact is None:
            selection.unknown_students.append(score.student_id)
            continue
        if tier == "low":
            continue
        why = _why_unassigned(contact, roster)
        if why is not None:
            selection.unassigned.append(Unassigned(score.student_id, score.risk, tier, why))
            continue
        assert contact.advisor_id is not None
        from earlywarn.scoring.reasons import CONTEXT_DRIVERS

        own = [r for r in score.reasons if r.driver not in CONTEXT_DRIVERS]
        reasons = tuple(own[:MAX_REASONS])
        before = previous.get(score.student_id)
        courses = contact.courses or tuple(c for c in score.courses.split("; ") if c)
        line = StudentLine(
            student_id=score.student_id,
            name=contact.name,
            courses=courses,
            risk=score.risk,
            tier=tier,
            status=_status(score.risk, before, t),
            previous_risk=before,
            reasons=reasons,
            actions=_actions(reasons),
            context=tuple(r for r in score.reasons if r.driver in CONTEXT_DRIVERS),
            program_id=score.program_id,
        )
        by_advisor.setdefault(contact.advisor_id, []).append(line)
    for advisor_id in sorted(by_advisor):
        lines = sorted(by_advisor[advisor_id], key=lambda s: (-s.risk, s.student_id))
        selection.digests.append(
            AdvisorDigest(
                advisor=roster.advisors[advisor_id],
                students=tuple(lines),
                shown=tuple(lines[: t.max_students]),
            )
        )
    selection.unassigned.sort(key=lambda u: (-u.risk, u.student_id))
    selection.unknown_students.sort()
    return selection


def _text(value: object) -> str | None:
    """A table cell as one line of text (line breaks and tabs become spaces, so a name can
    never start a line of its own in a plain-text digest), ``None`` when missing or blank."""
    if value is None or value != value:  # NaN / NA compare unequal to themselves
        return None
    try:
        text = " ".join(str(value).split())
    except TypeError:
        return None
    return text or None


def _usable_email(value: object) -> str | None:
    text = _text(value)
    if text is None or text.count("@") != 1 or any(c in text for c in " \t\r\n<>,;\"'"):
        return None
    local, domain = text.split("@")
    return text if local and "." in domain and not domain.startswith(".") else None


def roster_from_tables(tables: Tables, as_of: datetime) -> Roster:
    """Names, advisors and first-term course titles from the institution's loaded tables.

    A student's courses are their first-term enrollments current as of ``as_of``, by the one
    enrolment rule of :mod:`earlywarn.features.population` (features and scoring use it too).
    """
    from earlywarn.core.time import as_of as to_as_of
    from earlywarn.features.population import first_term_enrollments

    students = tables.students
    titles = dict(
        zip(
            tables.courses["course_id"].astype(str),
            [_text(title) or "untitled course" for title in tables.courses["title"]],
            strict=True,
        )
    )
    current = first_term_enrollments(tables, to_as_of(as_of))
    courses: dict[str, list[str]] = {}
    for student_id, course_id in current[["student_id", "course_id"]].itertuples(index=False):
        title = titles.get(course_id, course_id)
        courses.setdefault(student_id, [])
        if title not in courses[student_id]:
            courses[student_id].append(title)

    ids = students["student_id"].astype(str).tolist()
    advisor_ids = students["advisor_id"].astype(object).tolist()

    def column(name: str) -> list[object]:
        if name in students.columns:
            values: list[object] = students[name].astype(object).tolist()
            return values
        return [None] * len(ids)

    terms = students["first_term_id"].astype(str).tolist()
    contacts = {
        student_id: StudentContact(
            student_id=student_id,
            name=_text(name) or student_id,
            advisor_id=_text(advisor_id),
            courses=tuple(sorted(courses.get(student_id, []))),
            email=_usable_email(email),
            phone=_text(phone),
            term_id=term,
        )
        for student_id, advisor_id, name, email, phone, term in zip(
            ids,
            advisor_ids,
            column("display_name"),
            column("email"),
            column("phone"),
            terms,
            strict=True,
        )
    }
    advisors: dict[str, AdvisorContact] = {}
    if tables.advisors is not None:
        for advisor_id, name, email in tables.advisors[["advisor_id", "name", "email"]].itertuples(
            index=False
        ):
            key = str(advisor_id)
            advisors[key] = AdvisorContact(key, _text(name) or key, _usable_email(email))
    return Roster(students=contacts, advisors=advisors)
