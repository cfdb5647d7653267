"""What students do in one term: activity sessions, submissions, forum posts, support tickets.

One call simulates every enrollment of one program's term at once (numpy, no per-student loops).
Times are whole microseconds since the epoch (UTC); days are local days of the program's zone,
counted from the term's start (``0`` = the first day). Sessions fall between 06:00 and 24:00
local time, so a daylight-saving change (always between 01:00 and 03:00 in the zones used) never
moves a session to another local day, and a late-evening session in the Americas lands on the
next UTC day.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

US_PER_DAY = 86_400_000_000
US_PER_SECOND = 1_000_000
NO_DROP = np.iinfo(np.int64).max // 4  # "never dropped", as a relative day
TICKET_CATEGORIES = ("technical", "billing", "enrollment", "academic", "accessibility", "other")
# Local hour of a session's start, 06:00 to 23:00 (evenings are when working students learn).
_HOUR_WEIGHTS = np.array(
    [1, 2, 3, 3, 3, 3, 4, 3, 3, 3, 3, 4, 5, 7, 8, 8, 7, 5], dtype=float
)  # hours 6..23
_HOUR_CDF = np.cumsum(_HOUR_WEIGHTS) / _HOUR_WEIGHTS.sum()


@dataclass(frozen=True)
class LocalClock:
    """UTC offsets of a program's zone, to turn (local day, second of day) into UTC instants."""

    first_day: int
    offset_us: np.ndarray  # local minus UTC, microseconds, at noon of each local day

    @classmethod
    def for_zone(cls, tz: str, first_day: int, last_day: int) -> LocalClock:
        days = np.arange(first_day, last_day + 1, dtype=np.int64)
        noon = pd.DatetimeIndex((days * 86_400 + 43_200).astype("datetime64[s]"))
        utc = noon.tz_localize(tz).tz_convert("UTC").tz_localize(None)
        offset = (noon.asi8 - utc.as_unit("s").asi8) * US_PER_SECOND
        return cls(first_day=first_day, offset_us=np.asarray(offset, dtype=np.int64))

    def instant_us(self, day: np.ndarray, second: np.ndarray) -> np.ndarray:
        """UTC microseconds of local ``day`` (epoch day) at ``second`` after local midnight."""
        local = day * US_PER_DAY + second * US_PER_SECOND
        return local - self.offset_us[day - self.first_day]


@dataclass(frozen=True)
class TermEnrollments:
    """The enrollments of one term (parallel arrays)."""

    student: np.ndarray
    course: np.ndarray
    enrolled_day: np.ndarray  # epoch day
    drop_rel: np.ndarray  # relative day of the drop, NO_DROP when none
    first_term: np.ndarray  # bool: the student's first term


@dataclass(frozen=True)
class TermBehaviour:
    """Everything that happened in one term, before any cut at --today."""

    # activity rows
    act_enrollment: np.ndarray
    act_day: np.ndarray  # relative local day
    act_started_us: np.ndarray
    act_minutes: np.ndarray
    days_active: np.ndarray  # per enrollment: distinct local days with activity in its course
    # submissions
    sub_enrollment: np.ndarray
    sub_item: np.ndarray
    sub_at_us: np.ndarray
    sub_score: np.ndarray
    final_grade: np.ndarray  # per enrollment, NaN when dropped
    # forum
    forum_enrollment: np.ndarray
    forum_at_us: np.ndarray
    forum_action: np.ndarray  # 0 view, 1 thread, 2 reply
    # support tickets
    ticket_student: np.ndarray
    ticket_at_us: np.ndarray
    ticket_category: np.ndarray


@dataclass(frozen=True)
class Traits:
    """The hidden traits of the population that behaviour reads (rows = students)."""

    engagement: np.ndarray
    habit: np.ndarray
    ability: np.ndarray
    timeliness: np.ndarray
    session_minutes: np.ndarray
    sessions_per_day: np.ndarray


@dataclass(frozen=True)
class CourseOutlines:
    """Graded items grouped by course (CSR layout) plus course pacing."""

    weeks: np.ndarray
    pace: np.ndarray
    graded_ptr: np.ndarray  # graded items of course c: graded_items[ptr[c]:ptr[c + 1]]
    graded_items: np.ndarray
    item_due_day: np.ndarray
    item_weight: np.ndarray


def _sigmoid(x: np.ndarray) -> np.ndarray:
    out: np.ndarray = 1.0 / (1.0 + np.exp(-x))
    return out


def _seconds(rng: np.random.Generator, n: int) -> np.ndarray:
    """Random local times of day between 06:00 and 24:00, as seconds after midnight."""
    hour = 6 + np.minimum(np.searchsorted(_HOUR_CDF, rng.random(n), side="right"), 17)
    return hour * 3600 + rng.integers(0, 3600, n)


def simulate_term(
    enr: TermEnrollments,
    *,
    term_start: int,
    term_days: int,
    clock: LocalClock,
    traits: Traits,
    outlines: CourseOutlines,
    rng: np.random.Generator,
) -> TermBehaviour:
    """Draw activity, submissions, grades, forum and tickets for one term's enrollments."""
    n_enr = enr.student.size
    stu = enr.student
    eng = traits.engagement[stu]
    course_days = 7 * outlines.weeks[enr.course]
    day = np.arange(term_days)

    # Activity: each enrollment is active on a local day with a chance that depends on the
    # student's engagement, the course's pacing, the weekday, and fades for the disengaged.
    level = (
        -0.95
        + 0.4 * eng
        + 0.65 * traits.habit[stu]
        + outlines.pace[enr.course]
        + rng.normal(0.0, 0.35, n_enr)
    )
    fade = np.clip(0.9 - 0.7 * eng, 0.0, 2.0)
    weekday = (term_start + day + 3) % 7  # 0 = Monday
    logit = (
        level[:, None]
        - fade[:, None] * day[None, :] / term_days
        + np.where(weekday >= 5, 0.25, 0.0)[None, :]
    )
    chance = _sigmoid(logit)
    chance = np.where(day[None, :] >= course_days[:, None], chance * 0.12, chance)
    active = rng.random((n_enr, term_days)) < chance
    active &= day[None, :] < enr.drop_rel[:, None]
    # Every first-term student shows up in their first days, in the first of their courses.
    first_rows = np.flatnonzero(enr.first_term)
    if first_rows.size:
        _, lead = np.unique(stu[first_rows], return_index=True)
        lead_rows = first_rows[lead]
        opening = rng.integers(0, 3, lead_rows.size)
        opening = np.minimum(opening, np.maximum(enr.drop_rel[lead_rows] - 1, 0))
        active[lead_rows, opening] = True
    days_active = active.sum(axis=1)
    act_e, act_d = np.nonzero(active)
    sessions = 1 + rng.poisson(traits.sessions_per_day[stu[act_e]])
    act_e = np.repeat(act_e, sessions)
    act_d = np.repeat(act_d, sessions)
    n_act = act_e.size
    started = clock.instant_us(term_start + act_d, _seconds(rng, n_act))
    minutes = np.round(
        np.maximum(rng.lognormal(np.log(traits.session_minutes[stu[act_e]]), 0.6), 1.0),
        1,
    )
    # Rows come out ordered by enrollment and day (np.nonzero is row-major).

    # Submissions: one attempt per graded item the student turns in, some late, some redone.
    counts = np.diff(outlines.graded_ptr)[enr.course]
    pair_e = np.repeat(np.arange(n_enr), counts)
    within = np.arange(pair_e.size) - np.repeat(np.cumsum(counts) - counts, counts)
    item = outlines.graded_items[outlines.graded_ptr[enr.course][pair_e] + within]
    due = outlines.item_due_day[item]
    ps = stu[pair_e]
    submit_logit = (
        2.7
        + 0.6 * traits.engagement[ps]
        + 0.4 * traits.ability[ps]
        - fade[pair_e] * due / term_days
        + rng.normal(0.0, 0.5, pair_e.size)
    )
    submitted = rng.random(pair_e.size) < _sigmoid(submit_logit)
    on_time = rng.random(pair_e.size) < _sigmoid(1.6 + 1.1 * traits.timeliness[ps])
    early = np.minimum(rng.geometric(0.55, pair_e.size) - 1, due)
    late = rng.integers(1, 5, pair_e.size)
    sub_day = np.where(on_time, due - early, np.minimum(due + late, term_days - 1))
    submitted &= sub_day < enr.drop_rel[pair_e]
    score = np.round(
        100.0 * _sigmoid(2.3 + 0.8 * traits.ability[ps] + rng.normal(0.0, 0.9, pair_e.size)), 1
    )
    redo = submitted & (rng.random(pair_e.size) < _sigmoid(-2.4 + 1.8 * (score < 70)))
    redo_day = np.minimum(sub_day + rng.integers(1, 4, pair_e.size), term_days - 1)
    redo &= redo_day < enr.drop_rel[pair_e]
    redo_score = np.round(np.minimum(score + rng.uniform(0.0, 25.0, pair_e.size), 100.0), 1)
    best = np.where(redo, np.maximum(score, redo_score), score)
    dropped = enr.drop_rel != NO_DROP
    grade = np.bincount(
        pair_e,
        weights=np.where(submitted, best, 0.0) * outlines.item_weight[item],
        minlength=n_enr,
    )
    final_grade = np.where(dropped, np.nan, np.round(np.minimum(grade, 100.0), 2))
    first_pick = np.flatnonzero(submitted)
    redo_pick = np.flatnonzero(redo)
    sub_pair = np.concatenate([first_pick, redo_pick])
    sub_day_all = np.concatenate([sub_day[first_pick], redo_day[redo_pick]])
    sub_at = clock.instant_us(term_start + sub_day_all, _seconds(rng, sub_pair.size))
    # A submission on its due day is on time whatever the hour; one made "early" on the same
    # day as a redo keeps its order by construction of the days, times need not.
    sub_score = np.concatenate([score[first_pick], redo_score[redo_pick]])
    order = np.lexsort((sub_at, pair_e[sub_pair]))

    # Forum: some sessions include reading the forum, fewer a post.
    forum_rate = np.clip(0.1 * np.exp(0.5 * traits.engagement[stu[act_e]]), 0.0, 0.6)
    forum_pick = np.flatnonzero(rng.random(n_act) < forum_rate)
    forum_at = started[forum_pick] + (
        rng.uniform(0.0, 1.0, forum_pick.size) * minutes[forum_pick] * 60 * US_PER_SECOND
    ).astype(np.int64)
    forum_action = rng.choice(3, forum_pick.size, p=[0.8, 0.05, 0.15])

    # Support tickets: a few per term, more from students who struggle.
    students = np.unique(stu)
    n_tickets = rng.poisson(0.12 + 0.25 * (traits.engagement[students] < -0.6))
    ticket_student = np.repeat(students, n_tickets)
    ticket_day = rng.integers(-5, term_days, ticket_student.size)
    ticket_at = clock.instant_us(term_start + ticket_day, _seconds(rng, ticket_student.size))
    ticket_category = rng.choice(
        len(TICKET_CATEGORIES), ticket_student.size, p=[0.35, 0.15, 0.2, 0.15, 0.05, 0.1]
    )

    return TermBehaviour(
        act_enrollment=act_e,
        act_day=act_d,
        act_started_us=started,
        act_minutes=minutes,
        days_active=days_active,
        sub_enrollment=pair_e[sub_pair][order],
        sub_item=item[sub_pair][order],
        sub_at_us=sub_at[order],
        sub_score=sub_score[order],
        final_grade=final_grade,
        forum_enrollment=act_e[forum_pick],
        forum_at_us=forum_at,
        forum_action=forum_action,
        ticket_student=ticket_student,
        ticket_at_us=ticket_at,
        ticket_category=ticket_category,
    )
