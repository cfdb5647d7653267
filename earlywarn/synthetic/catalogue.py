"""Programs, their term calendars, their courses and each course's outline (items).

Everything here is a design decision of a program or a course, fixed before any student arrives.
Dates are whole days since 1970-01-01 (``int``), the local calendar day in the program's zone.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import numpy as np

from earlywarn.features.catalogue import COURSE_STRUCTURE_DRIVERS
from earlywarn.synthetic.config import HISTORY_YEARS, PROGRAM_EFFECT_SD, GeneratorConfig

PROGRAM_NAMES = (
    "Master of Computer Science",
    "Bachelor of Science in Business Administration",
    "Master of Public Health",
    "Master of Data Science",
    "Bachelor of Applied Arts in Design",
    "Master of Business Administration",
    "Master of Electrical Engineering",
    "Bachelor of Science in Computer Science",
    "Master of Applied Statistics",
    "Master of Education in Learning Design",
    "Master of Accounting",
    "Bachelor of Arts in Psychology",
    "Master of Science in Cybersecurity",
    "Master of Global Management",
    "Master of Information Technology",
    "Bachelor of Science in Marketing",
    "Master of Science in Finance",
    "Master of Engineering Management",
    "Bachelor of Science in Nursing Leadership",
)
TIMEZONES = (
    "America/New_York",
    "Europe/London",
    "America/Los_Angeles",
    "Asia/Kolkata",
    "Europe/Berlin",
    "Australia/Sydney",
    "America/Chicago",
    "Asia/Singapore",
    "America/Sao_Paulo",
    "UTC",
)
COURSE_TOPICS = (
    "Foundations",
    "Quantitative Methods",
    "Academic Writing",
    "Programming Basics",
    "Ethics and Society",
    "Research Design",
    "Data Analysis",
    "Systems Thinking",
    "Communication",
    "Project Management",
    "Applied Modelling",
    "Capstone Studio",
    "Leadership",
    "Advanced Topics",
    "Statistics",
    "Information Systems",
    "Professional Practice",
    "Design Studio",
    "Economics",
    "Policy and Law",
    "Cloud Computing",
    "Human Factors",
    "Finance Essentials",
    "Digital Marketing",
    "Operations",
    "Global Perspectives",
)
HANDS_ON = ("programming", "staff_graded", "peer_graded", "discussion_prompt", "team")
# terms per year -> (weeks between term starts, full teaching weeks of a term)
CALENDARS = {2: (26, 15), 3: (17, 12), 4: (13, 10)}
EXTRA_TERM_DAYS = 3  # a short exam/grading tail after the last full week
# Courses per program (inclusive ranges): those open to first-term students, and later ones.
# Many first-term options give the course-design drivers room to vary within a program.
FIRST_TERM_COURSES = (8, 14)
LATER_COURSES = (6, 10)
# Per-course design quantities that are drivers (means over a student's first-term courses): the
# course-structure drivers but the typical days active, which comes from earlier terms' behaviour.
COURSE_DESIGN_DRIVERS = tuple(
    name for name in COURSE_STRUCTURE_DRIVERS if name != "course_median_days_active"
)


def epoch_day(day: date) -> int:
    """Days since 1970-01-01."""
    return (day - date(1970, 1, 1)).days


def season_of(month: int) -> str:
    """Northern-hemisphere season of a start month (the contract's four values)."""
    return {12: "winter", 1: "winter", 2: "winter", 3: "spring", 4: "spring", 5: "spring"}.get(
        month, "summer" if month in (6, 7, 8) else "fall"
    )


@dataclass(frozen=True)
class Catalogue:
    """Programs, terms, courses and items as parallel arrays (row i of each array is one row)."""

    # programs
    program_id: list[str]
    program_name: list[str]
    terms_per_year: np.ndarray
    terms_allowed_missing: np.ndarray
    timezone: list[str]
    program_effect: np.ndarray  # probability points added to the retention baseline
    full_load: np.ndarray  # courses that make a full first-term load
    program_weight: np.ndarray  # share of the students
    # terms (sorted by program, then start)
    term_id: list[str]
    term_program: np.ndarray
    term_start: np.ndarray  # epoch day
    term_end: np.ndarray
    term_deadline: np.ndarray
    term_season: list[str]
    term_weeks: np.ndarray  # full teaching weeks
    # courses
    course_id: list[str]
    course_program: np.ndarray
    course_title: list[str]
    course_weeks: np.ndarray
    course_first_option: np.ndarray  # bool: open to first-term students
    course_pace: np.ndarray  # logit shift of the daily chance of being active
    course_popularity: np.ndarray
    course_design: dict[str, np.ndarray]  # COURSE_DESIGN_DRIVERS -> value per course
    # items (sorted by course)
    item_id: list[str]
    item_course: np.ndarray
    item_week: np.ndarray
    item_type: list[str]
    item_graded: np.ndarray
    item_weight: np.ndarray  # NaN for ungraded
    item_due_day: np.ndarray  # -1 for ungraded
    item_video_minutes: np.ndarray  # NaN unless video

    def program_terms(self, program: int) -> np.ndarray:
        """Row numbers of a program's terms, in time order."""
        return np.flatnonzero(self.term_program == program)

    def program_courses(self, program: int) -> np.ndarray:
        return np.flatnonzero(self.course_program == program)


def build_catalogue(config: GeneratorConfig, rng: np.random.Generator) -> Catalogue:
    """Draw every program's calendar, courses and course outlines."""
    n_prog = config.programs
    today = epoch_day(config.today)
    program_id = [f"P{i + 1:02d}" for i in range(n_prog)]
    names = [
        PROGRAM_NAMES[i % len(PROGRAM_NAMES)]
        + ("" if i < len(PROGRAM_NAMES) else f" ({i // len(PROGRAM_NAMES) + 1})")
        for i in range(n_prog)
    ]
    terms_per_year = np.array([(2, 3, 4)[i % 3] for i in range(n_prog)], dtype=np.int64)
    rng.shuffle(terms_per_year)
    allowed_missing = rng.integers(0, 3, n_prog)
    zones = [TIMEZONES[i % len(TIMEZONES)] for i in range(n_prog)]
    program_effect = np.round(rng.normal(0.0, PROGRAM_EFFECT_SD, n_prog), 4)
    full_load = rng.choice([2, 3], n_prog, p=[0.6, 0.4])
    weight = rng.lognormal(0.0, 0.5, n_prog)
    weight = weight / weight.sum()
    drop_deadline_day = rng.choice([9, 13, 13, 13, 16], n_prog)

    term_rows: list[tuple[int, int, int, int, int]] = []
    for p in range(n_prog):
        spacing, weeks = CALENDARS[int(terms_per_year[p])]
        days_in = int(rng.integers(drop_deadline_day[p] + 4, 39))
        current = today - days_in
        count = HISTORY_YEARS * int(terms_per_year[p]) + 1
        for j in range(count - 1, -1, -1):
            start = current - 7 * spacing * j
            end = start + 7 * weeks + EXTRA_TERM_DAYS - 1
            term_rows.append((p, start, end, start + int(drop_deadline_day[p]), weeks))
    term_program = np.array([r[0] for r in term_rows], dtype=np.int64)
    term_start = np.array([r[1] for r in term_rows], dtype=np.int64)
    term_end = np.array([r[2] for r in term_rows], dtype=np.int64)
    term_deadline = np.array([r[3] for r in term_rows], dtype=np.int64)
    term_weeks = np.array([r[4] for r in term_rows], dtype=np.int64)
    starts = np.array(term_start, dtype="datetime64[D]").astype(object)
    term_id = [f"{program_id[p]}-{s:%Y-%m}" for p, s in zip(term_program, starts, strict=True)]
    term_season = [season_of(s.month) for s in starts]

    courses: list[dict[str, object]] = []
    items: list[tuple[int, int, str, bool, float, int, float]] = []
    for p in range(n_prog):
        weeks = CALENDARS[int(terms_per_year[p])][1]
        n_first = int(rng.integers(FIRST_TERM_COURSES[0], FIRST_TERM_COURSES[1] + 1))
        n_courses = n_first + int(rng.integers(LATER_COURSES[0], LATER_COURSES[1] + 1))
        topics = rng.permutation(len(COURSE_TOPICS))[:n_courses]
        for k in range(n_courses):
            c = len(courses)
            design, course_items = _design_course(c, weeks, rng)
            items.extend(course_items)
            courses.append(
                {
                    "id": f"{program_id[p]}-C{k + 1:02d}",
                    "program": p,
                    "title": f"{COURSE_TOPICS[topics[k]]} {'I' if k < n_first else 'II'}",
                    "weeks": design.pop("weeks"),
                    "first": k < n_first,
                    "pace": float(rng.normal(0.0, 0.45)),
                    "popularity": float(rng.uniform(0.5, 1.5)),
                    "design": design,
                }
            )

    item_course = np.array([it[0] for it in items], dtype=np.int64)
    per_course_counter = np.zeros(len(courses), dtype=np.int64)
    item_id = []
    for c in item_course:
        per_course_counter[c] += 1
        item_id.append(f"{courses[c]['id']}-I{per_course_counter[c]:03d}")
    return Catalogue(
        program_id=program_id,
        program_name=names,
        terms_per_year=terms_per_year,
        terms_allowed_missing=allowed_missing.astype(np.int64),
        timezone=zones,
        program_effect=program_effect,
        full_load=full_load.astype(np.int64),
        program_weight=weight,
        term_id=term_id,
        term_program=term_program,
        term_start=term_start,
        term_end=term_end,
        term_deadline=term_deadline,
        term_season=term_season,
        term_weeks=term_weeks,
        course_id=[str(c["id"]) for c in courses],
        course_program=np.array([c["program"] for c in courses], dtype=np.int64),
        course_title=[str(c["title"]) for c in courses],
        course_weeks=np.array([c["weeks"] for c in courses], dtype=np.int64),
        course_first_option=np.array([c["first"] for c in courses], dtype=bool),
        course_pace=np.array([c["pace"] for c in courses]),
        course_popularity=np.array([c["popularity"] for c in courses]),
        course_design={
            name: np.array([c["design"][name] for c in courses])  # type: ignore[index]
            for name in COURSE_DESIGN_DRIVERS
        },
        item_id=item_id,
        item_course=item_course,
        item_week=np.array([it[1] for it in items], dtype=np.int64),
        item_type=[it[2] for it in items],
        item_graded=np.array([it[3] for it in items], dtype=bool),
        item_weight=np.array([it[4] for it in items]),
        item_due_day=np.array([it[5] for it in items], dtype=np.int64),
        item_video_minutes=np.array([it[6] for it in items]),
    )


def _spread_weeks(count: int, first: int, last: int) -> list[int]:
    """``count`` weeks spread evenly from ``first`` to ``last`` (inclusive)."""
    if count == 1:
        return [last]
    return [round(first + (last - first) * i / (count - 1)) for i in range(count)]


def _design_course(
    course: int, term_weeks: int, rng: np.random.Generator
) -> tuple[dict[str, float], list[tuple[int, int, str, bool, float, int, float]]]:
    """One course's outline and the design quantities the drivers read from it."""
    weeks = int(term_weeks - rng.integers(0, 3))
    items: list[tuple[int, int, str, bool, float, int, float]] = []

    # Ungraded items: video, practice, reading and other (or plugin) shares drawn apart and
    # normalised, so that no share is simply what the others leave.
    shares = np.array(
        [
            rng.uniform(0.3, 0.66),  # video
            rng.uniform(0.12, 0.38),  # reading
            rng.uniform(0.0, 0.28),  # practice
            rng.uniform(0.0, 0.3),  # other or plugin
        ]
    )
    shares = shares / shares.sum()
    n_ungraded = weeks * int(rng.integers(6, 11))
    raw = shares * n_ungraded
    counts = np.floor(raw).astype(int)
    for extra in np.argsort(-(raw - counts), kind="stable")[: n_ungraded - counts.sum()]:
        counts[extra] += 1
    kinds = ["video"] * counts[0] + ["reading"] * counts[1] + ["practice"] * counts[2]
    kinds += [str(rng.choice(["other", "plugin"])) for _ in range(counts[3])]
    order = rng.permutation(len(kinds))
    for pos, idx in enumerate(order):
        kind = kinds[idx]
        week = 1 + pos * weeks // len(kinds)
        minutes = round(float(rng.uniform(3.0, 16.0)), 1) if kind == "video" else float("nan")
        items.append((course, week, kind, False, float("nan"), -1, minutes))
    ungraded = [it[2] for it in items]

    # Graded items: which types, how much of the grade each type carries, when they are due.
    # Presence is drawn type by type (hands-on work without staff grading is common: peer,
    # programming, discussion or team work alone), and a course without hands-on work often
    # grades plugin activities beside its quizzes, so the quiz share does not just mirror it.
    present = {
        "quiz": rng.random() < 0.85,
        "staff_graded": rng.random() < 0.4,
        "peer_graded": rng.random() < 0.3,
        "programming": rng.random() < 0.25,
        "discussion_prompt": rng.random() < 0.3,
        "team": rng.random() < 0.15,
        "plugin": rng.random() < 0.1,
    }
    if not any(present[t] for t in HANDS_ON) and rng.random() < 0.5:
        present["plugin"] = True
    if not any(present.values()):
        present["quiz"] = True
    types = [t for t, on in present.items() if on]
    # The quiz share is drawn on its own (anywhere from a tenth to nine tenths); the other
    # types split the rest.
    others = [t for t in types if t != "quiz"]
    type_share = dict(zip(others, rng.dirichlet(np.full(len(others), 2.0)), strict=True))
    if present["quiz"]:
        quiz = float(rng.uniform(0.1, 0.9)) if others else 1.0
        type_share = {t: w * (1.0 - quiz) for t, w in type_share.items()} | {"quiz": quiz}
    first_week = int(rng.choice([1, 1, 2, 3]))
    due_offset = int(rng.choice([0, 0, 2]))
    # Weights lean towards the start or the end of the course (moves graded_weight_centroid).
    tilt = float(rng.uniform(-1.5, 1.5))
    graded: list[tuple[str, int, float]] = []
    for t in types:
        n = {
            "quiz": max(1, (weeks - first_week + 1) // int(rng.choice([1, 2]))),
            "staff_graded": int(rng.integers(1, 4)),
            "peer_graded": int(rng.integers(1, 4)),
            "programming": int(rng.integers(2, 6)),
            "discussion_prompt": int(rng.integers(1, 5)),
            "team": 1,
            "plugin": int(rng.integers(1, 3)),
        }[t]
        start = first_week if t in ("quiz", "discussion_prompt", "plugin") else max(first_week, 2)
        spread = _spread_weeks(n, start, weeks)
        split = rng.dirichlet(np.full(n, 6.0)) * np.exp(tilt * (np.array(spread) / weeks - 0.5))
        split = split / split.sum() * type_share[t]
        for week, w in zip(spread, split, strict=True):
            graded.append((t, week, float(w)))
    # 45% of courses have one major item worth 15-40% of the grade: a final exam, project or
    # team work in the last week, or a midterm halfway (moves max_item_weight, Figure 7, and
    # apart from the centroid).
    if rng.random() < 0.45:
        major_share = float(rng.uniform(0.15, 0.4))
        major_week = weeks if rng.random() < 0.6 else max(first_week, weeks // 2)
        graded = [(t, wk, w * (1.0 - major_share)) for t, wk, w in graded]
        graded.append((str(rng.choice(types)), major_week, major_share))
    weights = np.round(np.array([g[2] for g in graded]), 4)
    weights[int(np.argmax(weights))] += round(1.0 - float(weights.sum()), 4)
    for (t, week, _), w in zip(graded, weights, strict=True):
        due = max(7 * week - 1 - due_offset, 0)
        items.append((course, week, t, True, float(w), due, float("nan")))

    graded_types = np.array([g[0] for g in graded])
    n_ung = max(len(ungraded), 1)
    design = {
        "weeks": weeks,
        "has_staff_graded": float(np.any(graded_types == "staff_graded")),
        "has_hands_on": float(np.isin(graded_types, HANDS_ON).any()),
        "practice_share": ungraded.count("practice") / n_ung,
        "video_share": ungraded.count("video") / n_ung,
        "reading_share": ungraded.count("reading") / n_ung,
        "staff_grade_share": float(weights[graded_types == "staff_graded"].sum()),
        "peer_grade_share": float(weights[graded_types == "peer_graded"].sum()),
        "quiz_grade_share": float(weights[graded_types == "quiz"].sum()),
        "graded_weight_centroid": float((weights * np.array([g[1] for g in graded])).sum() / weeks),
        "max_item_weight": float(weights.max()),
    }
    return design, items
