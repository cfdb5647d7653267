"""Students (who they are, when they start, their hidden traits), advisors and open content.

The hidden traits (motivation, engagement, ability, timeliness, session habits) never reach the
outcome model directly: they only shape behaviour, which the data records. The observed
confounders (age, education, country group, registration timing, open-course history) shape both
behaviour and the retention baseline.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass

import numpy as np

from earlywarn.core.errors import UsageError
from earlywarn.synthetic.catalogue import Catalogue
from earlywarn.synthetic.config import (
    COUNTRY_POINTS,
    EDUCATION_POINTS,
    LATE_ADMISSION_DAYS,
    LONG_TIME_LEARNER_DAYS,
    GeneratorConfig,
)

FIRST_NAMES = (
    "Amara", "José", "Zoë", "Liam", "Priya", "Chen", "Fatima", "Mateus", "Olga", "Kwame",
    "Sofía", "Noah", "Aiko", "Ingrid", "Rahul", "Léa", "Tomás", "Yusuf", "Hannah", "Dmitri",
    "Ngozi", "Mei", "Carlos", "Ananya", "Björn", "Chloé", "Emeka", "Isabel", "Kenji", "Lucía",
    "Omar", "Renée", "Siobhán", "Thandiwe", "Wei", "Ximena", "Yara", "Ahmed", "Grace", "Pedro",
)  # fmt: skip
LAST_NAMES = (
    "O'Brien", "García", "Müller", "Nguyễn", "Okafor", "Smith", "Kowalski", "D'Souza", "Tanaka",
    "Haddad", "Johansson", "Mensah", "Rossi", "Patel", "Fernández", "Kim", "Novák", "Dubois",
    "Ó Súilleabháin", "Silva", "Ivanova", "Chowdhury", "Larsen", "Abebe", "Moreau", "Zhang",
    "López", "Eriksen", "N'Diaye", "Yilmaz", "Khan", "Schröder", "Walker", "Costa", "Sato",
    "Brennan", "Achebe", "Park", "Rodríguez", "Van der Berg",
)  # fmt: skip
# One name that exercises escaping downstream (HTML, CSV, email headers).
TRICKY_NAME = "Zoë <O'Hara> & Sons"
EDUCATION_LEVELS = tuple(EDUCATION_POINTS)
COUNTRY_GROUPS = tuple(COUNTRY_POINTS)
OPEN_POOL = 400  # open courses on the platform
STACKABLE_PER_PROGRAM = 10


@dataclass(frozen=True)
class Population:
    """One row per student (sorted by program, then first term), plus advisors and open content."""

    program: np.ndarray
    first_term: np.ndarray  # row of Catalogue terms
    age: np.ndarray
    education: np.ndarray  # index into EDUCATION_LEVELS
    country: np.ndarray  # index into COUNTRY_GROUPS
    joined_day: np.ndarray  # epoch day
    admitted_day: np.ndarray
    advisor: np.ndarray  # row of advisors, -1 for none
    display_name: list[str]
    # hidden traits
    engagement: np.ndarray
    habit: np.ndarray  # how regularly they learn (days active), apart from engagement
    ability: np.ndarray
    timeliness: np.ndarray
    session_minutes: np.ndarray  # typical minutes per session
    sessions_per_day: np.ndarray  # Poisson rate of extra sessions on an active day
    # advisors
    advisor_name: list[str]
    advisor_email: list[str]
    # open content (one row per open-course enrolment)
    open_student: np.ndarray
    open_course: np.ndarray
    open_enrolled: np.ndarray
    open_paid: np.ndarray
    open_completed: np.ndarray  # epoch day, -1 when never completed
    open_stackable: np.ndarray

    @property
    def size(self) -> int:
        return int(self.program.size)


def _allocate(total: int, weights: np.ndarray, minimum: int) -> np.ndarray:
    """Split ``total`` into integer parts proportional to ``weights``, each at least ``minimum``."""
    free = total - minimum * weights.size
    raw = weights / weights.sum() * free
    parts = np.floor(raw).astype(np.int64)
    for extra in np.argsort(-(raw - parts), kind="stable")[: free - int(parts.sum())]:
        parts[extra] += 1
    return parts + minimum


def _ascii(text: str) -> str:
    folded = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return "".join(ch for ch in folded.lower() if ch.isalnum())


def build_population(
    config: GeneratorConfig, cat: Catalogue, rng: np.random.Generator
) -> Population:
    """Draw every student of every cohort, the advisors and the open-course history."""
    n_prog = len(cat.program_id)
    min_cohort = 2
    n_terms = np.array([cat.program_terms(p).size for p in range(n_prog)])
    needed = int((n_terms * min_cohort).sum())
    if config.students < needed:
        raise UsageError(
            f"--students {config.students} is too few for {n_prog} programs: "
            f"each term needs a cohort, so use at least {needed} students"
        )
    per_program = _allocate(config.students - needed, cat.program_weight, 0)
    program_parts: list[np.ndarray] = []
    term_parts: list[np.ndarray] = []
    for p in range(n_prog):
        terms = cat.program_terms(p)
        years = (cat.term_start[terms] - cat.term_start[terms[0]]) / 365.0
        w = 1.12**years * rng.uniform(0.75, 1.25, terms.size)
        sizes = _allocate(int(per_program[p]) + min_cohort * terms.size, w, min_cohort)
        program_parts.append(np.full(int(sizes.sum()), p, dtype=np.int64))
        term_parts.append(np.repeat(terms, sizes))
    program = np.concatenate(program_parts)
    first_term = np.concatenate(term_parts)
    n = program.size
    start = cat.term_start[first_term]

    age = np.clip(np.round(21 + rng.gamma(2.2, 6.0, n)), 18, 75).astype(np.int64)
    bachelor_program = np.array(["Bachelor" in cat.program_name[p] for p in program])
    edu_probs = np.where(
        bachelor_program[:, None], [0.62, 0.3, 0.07, 0.01], [0.04, 0.66, 0.25, 0.05]
    )
    education = (rng.random(n)[:, None] > np.cumsum(edu_probs, axis=1)).sum(axis=1)
    country = rng.choice(len(COUNTRY_GROUPS), n, p=[0.3, 0.18, 0.12, 0.16, 0.1, 0.07, 0.07])

    long_time = rng.random(n) < 0.35
    joined_lead = np.where(
        long_time,
        rng.integers(LONG_TIME_LEARNER_DAYS, 6 * 365, n),
        rng.integers(5, LONG_TIME_LEARNER_DAYS, n),
    )
    joined_day = start - joined_lead
    admitted_lead = np.where(
        rng.random(n) < 0.2,
        rng.integers(3, LATE_ADMISSION_DAYS, n),
        rng.integers(LATE_ADMISSION_DAYS, 200, n),
    )
    admitted_day = np.maximum(start - admitted_lead, joined_day)

    motivation = rng.normal(0.0, 1.0, n)
    edu_shift = np.array([-0.25, 0.0, 0.15, 0.2])[education]
    country_shift = np.array(list(COUNTRY_POINTS.values()))[country] * 0.04
    engagement = (
        0.25 * motivation
        + 0.3 * long_time
        + 0.012 * (age - 33)
        + edu_shift
        + country_shift
        - 0.2 * (admitted_lead < LATE_ADMISSION_DAYS)
        + rng.normal(0.0, 0.7, n)
    )
    ability = 0.25 * engagement + 1.5 * edu_shift + rng.normal(0.0, 0.8, n)
    timeliness = 0.3 * engagement + rng.normal(0.0, 0.8, n)
    habit = 0.1 * long_time + 0.01 * (age - 33) + rng.normal(0.0, 0.8, n)
    session_minutes = np.exp(rng.normal(np.log(14.0), 0.35, n) + 0.004 * (age - 33))
    sessions_per_day = np.exp(rng.normal(np.log(3.0), 0.45, n))

    # Open courses taken before the degree (and a few during it).
    n_open = rng.poisson(np.where(long_time, 1.8, 0.35) * np.exp(0.25 * motivation))
    open_student = np.repeat(np.arange(n), n_open)
    m = open_student.size
    o_start = start[open_student]
    o_joined = joined_day[open_student]
    window = np.maximum(o_start - o_joined, 1)
    open_enrolled = o_joined + (rng.random(m) * window * 1.1).astype(np.int64)
    open_paid = rng.random(m) < 0.35
    complete_logit = -1.5 + 0.9 * motivation[open_student] + 1.0 * open_paid
    completes = rng.random(m) < 1.0 / (1.0 + np.exp(-complete_logit))
    open_completed = np.where(completes, open_enrolled + rng.integers(20, 150, m), -1)
    stackable_sets = rng.integers(0, OPEN_POOL, (n_prog, STACKABLE_PER_PROGRAM))
    wants_stackable = rng.random(m) < 0.22
    open_course = np.where(
        wants_stackable,
        stackable_sets[program[open_student], rng.integers(0, STACKABLE_PER_PROGRAM, m)],
        rng.integers(0, OPEN_POOL, m),
    )
    open_stackable = (stackable_sets[program[open_student]] == open_course[:, None]).any(axis=1)

    # Advisors: each program has its own, each with a caseload of roughly 80 to 250 students.
    advisor = np.full(n, -1, dtype=np.int64)
    advisor_name: list[str] = []
    advisor_email: list[str] = []
    used: set[str] = set()
    for p in range(n_prog):
        members = np.flatnonzero(program == p)
        count = max(1, round(members.size / rng.uniform(110, 200)))
        first = len(advisor_name)
        for _ in range(count):
            given = str(rng.choice(FIRST_NAMES))
            family = str(rng.choice(LAST_NAMES))
            local = f"{_ascii(given)}.{_ascii(family)}"
            suffix = 1
            while f"{local}{suffix if suffix > 1 else ''}" in used:
                suffix += 1
            local = f"{local}{suffix if suffix > 1 else ''}"
            used.add(local)
            advisor_name.append(f"{given} {family}")
            advisor_email.append(f"{local}@example.edu")
        share = rng.dirichlet(np.full(count, 8.0))
        advisor[members] = first + rng.choice(count, members.size, p=share)
    advisor[rng.random(n) < 0.02] = -1

    display_name = [
        f"{FIRST_NAMES[g]} {LAST_NAMES[f]}"
        for g, f in zip(
            rng.integers(0, len(FIRST_NAMES), n), rng.integers(0, len(LAST_NAMES), n), strict=True
        )
    ]
    # The tricky name goes to a student in the first program's current cohort, who gets scored.
    current = np.flatnonzero(first_term == cat.program_terms(0)[-1])
    display_name[int(current[0])] = TRICKY_NAME
    advisor[int(current[0])] = max(advisor[int(current[0])], 0)

    return Population(
        program=program,
        first_term=first_term,
        age=age,
        education=education,
        country=country,
        joined_day=joined_day,
        admitted_day=admitted_day,
        advisor=advisor,
        display_name=display_name,
        engagement=engagement,
        habit=habit,
        ability=ability,
        timeliness=timeliness,
        session_minutes=session_minutes,
        sessions_per_day=sessions_per_day,
        advisor_name=advisor_name,
        advisor_email=advisor_email,
        open_student=open_student,
        open_course=open_course,
        open_enrolled=open_enrolled,
        open_paid=open_paid,
        open_completed=open_completed,
        open_stackable=open_stackable,
    )
