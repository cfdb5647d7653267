"""Run the institution forward in time, term by term, and draw each cohort's outcome.

Per program, terms are simulated in order: a term's enrollments are its new cohort plus the
continuing students that earlier outcomes sent there. After a term, each new student's drivers are
computed from that term's rows, the outcome model gives p, and the drawn outcome decides their
later enrollments (the anniversary term included). A course's median days active uses only the
terms before, as its definition says, which is why the order matters.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from earlywarn.core.time import end_of_local_day
from earlywarn.synthetic.behaviour import (
    NO_DROP,
    US_PER_DAY,
    CourseOutlines,
    LocalClock,
    TermBehaviour,
    TermEnrollments,
    Traits,
    simulate_term,
)
from earlywarn.synthetic.catalogue import Catalogue, build_catalogue, epoch_day
from earlywarn.synthetic.config import SIMULATED_DRIVERS, GeneratorConfig
from earlywarn.synthetic.enrollment import (
    concat_enrollments,
    simulate_continuing_enrollments,
    simulate_first_term_enrollments,
)
from earlywarn.synthetic.outcome import (
    CohortContext,
    coefficients,
    cohort_drivers,
    confounder_points,
    measured_iqr,
    nonlinear_shares,
    retention_probability,
)
from earlywarn.synthetic.population import (
    COUNTRY_GROUPS,
    EDUCATION_LEVELS,
    Population,
    build_population,
)

ANNIVERSARY_DAYS = 335
# Row codes (student, course, item, term) of the large tables fit in 32 bits; at 60,000 students
# activity alone has some 30 million rows, so this saves hundreds of megabytes.
CODE = np.int32


@dataclass
class Rows:
    """Growing lists of per-term arrays for one output table."""

    parts: dict[str, list[np.ndarray]] = field(default_factory=dict)

    def add(self, **columns: np.ndarray) -> None:
        for name, values in columns.items():
            self.parts.setdefault(name, []).append(values)

    def build(self) -> dict[str, np.ndarray]:
        return {name: np.concatenate(chunks) for name, chunks in self.parts.items() if chunks}


@dataclass(frozen=True)
class RowChunks:
    """A large table's columns, kept as the per-term chunks they were simulated in. Joining
    them whole would hold every row twice for a while (activity at 60,000 students has some 30
    million rows); the writer joins one row group at a time instead."""

    chunks: dict[str, list[np.ndarray]]

    @property
    def num_rows(self) -> int:
        return sum(chunk.size for chunk in next(iter(self.chunks.values()), []))

    def rows(self, start: int, stop: int) -> dict[str, np.ndarray]:
        """Rows ``start`` to ``stop`` (exclusive) of every column, joined."""
        out = {}
        for name, chunks in self.chunks.items():
            pieces, offset = [], 0
            for chunk in chunks:
                lo, hi = max(start - offset, 0), min(stop - offset, chunk.size)
                if lo < hi:
                    pieces.append(chunk[lo:hi])
                offset += chunk.size
            out[name] = np.concatenate(pieces) if pieces else chunks[0][:0]
        return out


@dataclass(frozen=True)
class Simulation:
    """Everything generated, before the cut at --today and before writing."""

    config: GeneratorConfig
    catalogue: Catalogue
    population: Population
    enrollments: dict[str, np.ndarray]
    activity: RowChunks
    submissions: RowChunks
    forum: RowChunks
    tickets: dict[str, np.ndarray]
    drivers: dict[str, np.ndarray]  # per student
    baseline: np.ndarray  # program effect + confounders, per student
    confounders: dict[str, np.ndarray]
    p_retained: np.ndarray
    retained: np.ndarray
    label_known: np.ndarray
    coefficients: dict[str, float]


def _outlines(cat: Catalogue) -> CourseOutlines:
    graded = np.flatnonzero(cat.item_graded)
    order = graded[np.lexsort((cat.item_due_day[graded], cat.item_course[graded]))]
    counts = np.bincount(cat.item_course[order], minlength=len(cat.course_id))
    return CourseOutlines(
        weeks=cat.course_weeks,
        pace=cat.course_pace,
        graded_ptr=np.concatenate([[0], np.cumsum(counts)]),
        graded_items=order,
        item_due_day=cat.item_due_day,
        item_weight=np.nan_to_num(cat.item_weight),
    )


def _open_history(pop: Population, start: np.ndarray) -> dict[str, np.ndarray]:
    """Open-course drivers and the unfinished-free count, as of each student's first term."""
    n = pop.size
    s = pop.open_student
    before = pop.open_enrolled < start[s]
    done = (pop.open_completed >= 0) & (pop.open_completed < start[s])
    return {
        "completed_open_course": (np.bincount(s[done], minlength=n) > 0) * 1.0,
        "stackable_open_course": (np.bincount(s[before & pop.open_stackable], minlength=n) > 0)
        * 1.0,
        "open_unfinished_free": np.bincount(s[before & ~pop.open_paid & ~done], minlength=n).astype(
            float
        ),
    }


def simulate(config: GeneratorConfig) -> Simulation:
    """Generate the whole institution in memory, with coefficients calibrated to its drivers.

    A first pass uses the designed interquartile ranges; the second, the one returned, divides
    each target effect, less the share the nonlinear terms carry of it, by the range the first
    pass measured, so the true effects land close to the report's at any size. Both passes use
    the same seed.
    """
    pilot = _simulate(config, coefficients(), keep_rows=False)
    measured = measured_iqr(pilot.drivers, pilot.label_known)
    carried = nonlinear_shares(pilot.drivers, pilot.label_known)
    return _simulate(config, coefficients(measured, carried))


def _simulate(
    config: GeneratorConfig, beta: dict[str, float], *, keep_rows: bool = True
) -> Simulation:
    root = np.random.SeedSequence(config.seed)
    cat_seed, pop_seed, *program_seeds = root.spawn(2 + config.programs)
    cat = build_catalogue(config, np.random.default_rng(cat_seed))
    pop = build_population(config, cat, np.random.default_rng(pop_seed))
    n = pop.size
    start = cat.term_start[pop.first_term]
    open_hist = _open_history(pop, start)
    confounders = {
        "long_time_learner": ((start - pop.joined_day) >= 365) * 1.0,
        "late_admission": ((start - pop.admitted_day) < 30) * 1.0,
        "open_unfinished_free": open_hist["open_unfinished_free"],
    }
    baseline = cat.program_effect[pop.program] + confounder_points(
        age=pop.age.astype(float),
        education=[EDUCATION_LEVELS[e] for e in pop.education],
        country=[COUNTRY_GROUPS[c] for c in pop.country],
        joined_lead_days=start - pop.joined_day,
        admitted_lead_days=start - pop.admitted_day,
        open_unfinished_free=open_hist["open_unfinished_free"],
    )
    traits = Traits(
        engagement=pop.engagement,
        habit=pop.habit,
        ability=pop.ability,
        timeliness=pop.timeliness,
        session_minutes=pop.session_minutes,
        sessions_per_day=pop.sessions_per_day,
    )
    outlines = _outlines(cat)
    drivers = {name: np.full(n, np.nan) for name in SIMULATED_DRIVERS}
    drivers["completed_open_course"] = open_hist["completed_open_course"]
    drivers["stackable_open_course"] = open_hist["stackable_open_course"]
    p_retained = np.full(n, np.nan)
    retained = np.zeros(n, dtype=bool)
    label_known = np.zeros(n, dtype=bool)
    today = epoch_day(config.today)
    tables = {name: Rows() for name in ("enr", "act", "sub", "forum", "tickets")}

    for p in range(len(cat.program_id)):
        rng = np.random.default_rng(program_seeds[p])
        _simulate_program(
            p, cat, pop, traits, outlines, baseline, drivers, rng, tables, today,
            p_retained, retained, label_known, beta, keep_rows,
        )  # fmt: skip

    return Simulation(
        config=config,
        catalogue=cat,
        population=pop,
        enrollments=tables["enr"].build(),
        activity=RowChunks(tables["act"].parts),
        submissions=RowChunks(tables["sub"].parts),
        forum=RowChunks(tables["forum"].parts),
        tickets=tables["tickets"].build(),
        drivers=drivers,
        baseline=baseline,
        confounders=confounders,
        p_retained=p_retained,
        retained=retained,
        label_known=label_known,
        coefficients=beta,
    )


def _simulate_program(
    p: int,
    cat: Catalogue,
    pop: Population,
    traits: Traits,
    outlines: CourseOutlines,
    baseline: np.ndarray,
    drivers: dict[str, np.ndarray],
    rng: np.random.Generator,
    tables: dict[str, Rows],
    today: int,
    p_retained: np.ndarray,
    retained: np.ndarray,
    label_known: np.ndarray,
    beta: dict[str, float],
    keep_rows: bool,
) -> None:
    terms = cat.program_terms(p)
    starts = cat.term_start[terms]
    tz = cat.timezone[p]
    clock = LocalClock.for_zone(tz, int(starts[0]) - 30, int(cat.term_end[terms[-1]]) + 30)
    courses = cat.program_courses(p)
    history: dict[int, list[np.ndarray]] = {int(c): [] for c in courses}
    schedule: dict[int, list[tuple[np.ndarray, np.ndarray]]] = {j: [] for j in range(terms.size)}
    program_items = np.flatnonzero(np.isin(cat.item_course, courses) & cat.item_graded)

    for j, term in enumerate(terms):
        t_start = int(cat.term_start[term])
        term_days = int(cat.term_end[term] - t_start + 1)
        cohort = np.flatnonzero(pop.first_term == term)
        first = simulate_first_term_enrollments(cohort, p, term, cat, pop, rng)
        later = simulate_continuing_enrollments(schedule[j], p, term, j, cat, pop, rng)
        enr = concat_enrollments(first, later)
        beh = simulate_term(
            enr,
            term_start=t_start,
            term_days=term_days,
            clock=clock,
            traits=traits,
            outlines=outlines,
            rng=rng,
        )

        # Due instants in this term (the contract's end of the local due day).
        item_due_us = np.zeros(len(cat.item_id), dtype=np.int64)
        due_days = pd.Series(
            (t_start + cat.item_due_day[program_items])
            .astype("datetime64[D]")
            .astype("datetime64[s]")
        )
        item_due_us[program_items] = end_of_local_day(due_days, tz).astype("int64").to_numpy()
        course_first_due = np.full(len(cat.course_id), np.iinfo(np.int64).max)
        np.minimum.at(course_first_due, cat.item_course[program_items], item_due_us[program_items])
        medians = np.full(len(cat.course_id), np.nan)
        for c, past in history.items():
            if past:
                medians[c] = float(np.median(np.concatenate(past)))
        ctx = CohortContext(
            term_start=t_start,
            term_deadline=int(cat.term_deadline[term]),
            item_due_us=item_due_us,
            course_first_due_us=course_first_due,
            item_course=cat.item_course,
            course_design=cat.course_design,
            course_history_median=medians,
        )
        if cohort.size:
            values = cohort_drivers(cohort, enr, beh, ctx)
            for name, v in values.items():
                drivers[name][cohort] = v
            probability = retention_probability(
                {name: drivers[name][cohort] for name in SIMULATED_DRIVERS}, baseline[cohort], beta
            )
            p_retained[cohort] = probability
            kept = rng.random(cohort.size) < probability
            retained[cohort] = kept
            anniversary = int(np.searchsorted(starts, t_start + ANNIVERSARY_DAYS))
            if anniversary < terms.size:
                label_known[cohort] = today >= cat.term_deadline[terms[anniversary]]
            _schedule(schedule, cohort, kept, j, anniversary, terms.size, rng)

        for c in courses:
            mask = enr.course == c
            if mask.any():
                history[int(c)].append(beh.days_active[mask])
        if keep_rows:
            _collect(tables, enr, beh, term, cat, today)


def _schedule(
    schedule: dict[int, list[tuple[np.ndarray, np.ndarray]]],
    cohort: np.ndarray,
    kept: np.ndarray,
    j: int,
    anniversary: int,
    n_terms: int,
    rng: np.random.Generator,
) -> None:
    """Send each student of a cohort to the later terms their drawn outcome implies."""
    stay, leave = cohort[kept], cohort[~kept]
    for later in range(j + 1, n_terms):
        if later < anniversary:
            picks = [(stay[rng.random(stay.size) < 0.85], 0)]
            if later == j + 1:
                picks.append((leave[rng.random(leave.size) < 0.45], 0))
        elif later == anniversary:
            picks = [(stay, 1), (leave[rng.random(leave.size) < 0.15], 2)]
        else:
            gone = later - anniversary
            picks = [(stay[rng.random(stay.size) < 0.8**gone], 0)]
        for students, kind in picks:
            if students.size:
                schedule[later].append((students, np.full(students.size, kind, dtype=np.int64)))


def _collect(
    tables: dict[str, Rows],
    enr: TermEnrollments,
    beh: TermBehaviour,
    term: int,
    cat: Catalogue,
    today: int,
) -> None:
    """Keep what the data shows at --today: nothing dated on or after it."""
    cut_us = today * US_PER_DAY
    t_start = int(cat.term_start[term])
    ended = int(cat.term_end[term]) < today - 1
    drop_day = np.where(enr.drop_rel == NO_DROP, -1, t_start + enr.drop_rel)
    drop_day = np.where(drop_day >= today, -1, drop_day)
    n = enr.student.size
    tables["enr"].add(
        student=enr.student,
        course=enr.course,
        term=np.full(n, term),
        enrolled_day=enr.enrolled_day,
        dropped_day=drop_day,
        final_grade=beh.final_grade if ended else np.full(n, np.nan),
    )
    student, course = enr.student.astype(CODE), enr.course.astype(CODE)
    a = beh.act_started_us < cut_us
    act_rows = beh.act_enrollment[a]
    tables["act"].add(
        student=student[act_rows],
        course=course[act_rows],
        term=np.full(act_rows.size, term, dtype=CODE),
        started_us=beh.act_started_us[a],
        minutes=beh.act_minutes[a],
    )
    s = beh.sub_at_us < cut_us
    tables["sub"].add(
        student=student[beh.sub_enrollment[s]],
        item=beh.sub_item[s].astype(CODE),
        term=np.full(int(s.sum()), term, dtype=CODE),
        at_us=beh.sub_at_us[s],
        score=beh.sub_score[s],
    )
    f = beh.forum_at_us < cut_us
    forum_rows = beh.forum_enrollment[f]
    tables["forum"].add(
        student=student[forum_rows],
        course=course[forum_rows],
        term=np.full(forum_rows.size, term, dtype=CODE),
        at_us=beh.forum_at_us[f],
        action=beh.forum_action[f].astype(np.int8),
    )
    t = beh.ticket_at_us < cut_us
    tables["tickets"].add(
        student=beh.ticket_student[t],
        at_us=beh.ticket_at_us[t],
        category=beh.ticket_category[t],
    )
