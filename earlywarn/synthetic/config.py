"""The knobs of the synthetic institution and the outcome model's calibration targets.

The targets are the report's 25th-to-75th-percentile effects (docs/synthetic.md cites each one).
A driver's coefficient is its target divided by its designed interquartile range, so that the
effect measured on generated data (``_truth/drivers.json``) lands close to the target.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

DEFAULT_STUDENTS = 17960
DEFAULT_PROGRAMS = 19
DEFAULT_SEED = 42
# A fixed "today" so that the output never depends on the day the generator runs.
DEFAULT_TODAY = date(2026, 10, 19)

# Years of terms before --today (each program keeps this much history).
HISTORY_YEARS = 4

# driver -> (target effect in percentage points, designed 25th-to-75th percentile range, centre).
# The centre only moves the intercept; a missing value counts as the centre (contributes 0).
DRIVER_TARGETS: dict[str, tuple[float, float, float]] = {
    "completed_open_course": (12.0, 1.0, 0.0),
    "stackable_open_course": (3.0, 1.0, 0.0),
    "first_assessment_on_time": (6.0, 1.0, 1.0),
    "days_active_first_term": (4.5, 27.0, 26.0),
    "learning_hours_first_term": (1.0, 41.0, 32.0),
    "days_active_before_first_deadline": (2.0, 4.0, 5.0),
    "learning_hours_before_first_deadline": (0.5, 7.3, 6.0),
    "grade_first_term": (3.0, 23.0, 80.0),
    "courses_enrolled": (8.0, 1.0, 2.0),
    "courses_dropped": (-7.0, 1.0, 0.0),
    "dropped_after_deadline": (-8.0, 1.0, 0.0),
    "has_staff_graded": (6.0, 1.0, 0.5),
    "has_hands_on": (3.0, 1.0, 0.75),
    "practice_share": (2.0, 0.076, 0.14),
    "video_share": (0.3, 0.1, 0.48),
    "reading_share": (-1.5, 0.134, 0.25),
    "staff_grade_share": (1.5, 0.254, 0.12),
    "peer_grade_share": (-4.0, 0.27, 0.12),
    "quiz_grade_share": (-2.0, 0.386, 0.36),
    "graded_weight_centroid": (1.0, 0.14, 0.7),
    "max_item_weight": (1.0, 0.14, 0.33),
    "course_median_days_active": (4.0, 6.75, 15.0),
}
#: The drivers the generator simulates (its truth), in the order of DRIVER_TARGETS.
SIMULATED_DRIVERS: tuple[str, ...] = tuple(DRIVER_TARGETS)

# The outcome model's intercept (the mean retention probability before program effects) and
# its clipping bounds.
BASE_RETENTION = 0.75
P_MIN, P_MAX = 0.02, 0.98
PROGRAM_EFFECT_SD = 0.02

# Confounders: observed variables that move both behaviour and the baseline (points).
AGE_POINTS_PER_YEAR = 0.08  # per year above AGE_CENTRE
AGE_CENTRE = 33.0
EDUCATION_POINTS = {"secondary": -3.0, "bachelor": 0.0, "master": 1.5, "doctorate": 1.5}
COUNTRY_POINTS = {
    "North America": 1.0,
    "Europe": 1.5,
    "Latin America": -1.5,
    "South Asia": -1.0,
    "East Asia & Pacific": 0.5,
    "Middle East & North Africa": -1.0,
    "Sub-Saharan Africa": -2.0,
}
LONG_TIME_LEARNER_POINTS = 3.0  # joined the platform at least 365 days before the first term
LONG_TIME_LEARNER_DAYS = 365
LATE_ADMISSION_POINTS = -3.0  # admitted fewer than 30 days before the first term
LATE_ADMISSION_DAYS = 30
OPEN_UNFINISHED_FREE_POINTS = -1.5  # per free open-course enrolment not completed before start

PASS_SCORE = 50.0

# The truth's nonlinear terms (outcome.nonlinear_terms), in probability points. The drivers'
# linear coefficients give up what these carry of their report effect (outcome.nonlinear_shares),
# so each driver's whole effect stays the report's. Sized so a working booster beats a logistic
# model on the demo institution while the driver analysis (a linear estimator, to which a
# threshold is a misspecification that leaks into correlated drivers) still recovers the truth.
# Measured on the default institution (17,960 students; model minus logistic ROC-AUC by
# checkpoint week 1-8 with earlywarn's training; benchmarks/drivers_check.py coverage and mean
# absolute error, targets >= 90% and < 1 point), silent-deadline / low-activity / heavy-load:
#   -15 / -8 / 0.4: model -0.001 to +0.000; coverage 20/22, error 0.88 points;
#   -30 / -8 / 0.4: model +0.003 to +0.007; coverage 20/22, error 0.89, but on the 1,200-student
#     test institution two drop drivers' intervals missed their truth;
#   -45 / -8 / 0.4: model +0.012 to +0.025; coverage 20/22, error 1.09;
#   -15 / -8 / 0.8 (kept): model +0.015 to +0.019 (64 trees); coverage 21/22, error 0.85. The
#     interaction is centred, so it adds no slope to a driver on average and bends no estimate.
#     (The model rows above were measured before education_level became a model input; with it,
#     at the kept sizes, the model leads by 0.009 to 0.012 with 75 trees.)
SILENT_MISSED_DEADLINE_POINTS = -15.0  # missed the first deadline and barely active before it
SILENT_BEFORE_DEADLINE_DAYS = 3
LOW_ACTIVITY_POINTS = -8.0  # fewer than LOW_ACTIVITY_DAYS days active in the first term
LOW_ACTIVITY_DAYS = 8
HEAVY_LOAD_DAY_POINTS = 0.8  # per day active from the centre, with HEAVY_LOAD_COURSES or more
HEAVY_LOAD_COURSES = 3


@dataclass(frozen=True)
class GeneratorConfig:
    """What one run of the generator makes: its size, its seed and its "today"."""

    students: int = DEFAULT_STUDENTS
    programs: int = DEFAULT_PROGRAMS
    seed: int = DEFAULT_SEED
    today: date = DEFAULT_TODAY
