"""LightGBM settings and monotone directions: the one reviewed place for both.

Change a value here only with a measured reason (a better held-out calibration error or AUC on
the default synthetic institution and on real data) noted in the commit message.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

# Small, regularised trees: first-year cohorts are thousands of students, not millions, and the
# signal is a handful of strong behaviours. Early stopping on the held-out cohort picks the rounds.
LIGHTGBM_PARAMS: dict[str, Any] = {
    "objective": "binary",
    # 0.1: half the trees of 0.05 for the same cross-fitted logloss on OULAD, so half the cost.
    "learning_rate": 0.1,
    # 63 histogram bins (LightGBM's default is 255): the features are counts, shares and days, and
    # coarser histograms cut the cost of every split search.
    "max_bin": 63,
    # 7 leaves and 200 rows per leaf. Compared on the *held-out* cohort's ROC-AUC (the early-
    # stopping rows, so a shade optimistic for all), never the test cohort's, on two versions of
    # the default synthetic institution: 15 leaves / 40 rows 0.665 and 0.659, 7 leaves / 200 rows
    # 0.676 and 0.658, 3 leaves / 200 rows 0.678 and 0.664. 3 leaves was not taken: its gain is
    # within noise, and on a small institution (1,200 students) its few shallow trees left 30% of
    # the scored students without any driver above MIN_CONTRIBUTION, so without a reason.
    "num_leaves": 7,
    "max_depth": -1,
    "min_child_samples": 200,
    "subsample": 0.8,
    "subsample_freq": 1,
    "colsample_bytree": 0.8,
    "reg_lambda": 1.0,
    "min_split_gain": 0.0,
    "cat_smooth": 10.0,
    # A category column with up to 32 values (the program, education level, country group) is
    # split one value against the rest, so a value training never saw (a new program) always
    # goes with the rest; above 8 values LightGBM would otherwise split a sorted subset against
    # the others, and a new value would follow whichever side was not chosen. On the default
    # synthetic institution (19 programs) the mean weekly ROC-AUC, weeks 1-8, went from 0.699
    # to 0.701.
    "max_cat_to_onehot": 32,
    "monotone_constraints_method": "advanced",
    # Same predictions for the same seed on one machine, whatever the thread count (checked: 1
    # and 2 threads give identical scores). The thread count is LIGHTGBM_THREADS, set per run.
    "deterministic": True,
    "force_row_wise": True,
    "verbose": -1,
}
# LightGBM's threads: up to this many of the machine's cores. On the 2-core machine, 60 trees on
# the default synthetic institution's training rows took 1.1 s with 2 threads against 2.0 s with
# 1, and binning the rows 0.6 s against 1.1 s. Two threads used to be much slower when another
# process kept a core busy (OpenMP threads spin while they wait for each other: 3.7 s for those
# trees); earlywarn/__init__.py makes them sleep instead (OMP_WAIT_POLICY=PASSIVE), which gave
# 1.8 s under the same load.
LIGHTGBM_THREADS = 4
# Threads of the other numerical libraries (OpenBLAS, OpenMP in scikit-learn) while training:
# one. On a shared 2-core machine the baseline's fit took 5.9 s with 2 BLAS threads and 2.3 s
# with 1 (the same 76 iterations), and five Platt fits 1.1 s against 0.2 s.
TRAINING_THREADS = 1
N_ESTIMATORS = 2000
# The checkpoint weeks training builds snapshots for (and the test cohort is evaluated at): every
# week of the first eight, where advisors act and the window summary is taken, then sparser. On
# OULAD (38-week terms) this is 17 of 38 weeks, 45% of the rows; the later weeks change slowly.
CHECKPOINT_WEEKS: tuple[int, ...] = (
    *range(1, 9),
    10,
    12,
    14,
    16,
    20,
    24,
    28,
    32,
    36,
    40,
    44,
    48,
    52,
)
# 20 rounds without a better fold logloss end a fold's boosting. Against 50: the same ROC-AUC in
# every week 1-8 to 0.002 on the default synthetic institution and on OULAD (not-passed), and
# 2-4 s less training (fewer trees grown past the best one, in six fold fits).
EARLY_STOPPING_ROUNDS = 20
# Boost on top of a monotone linear base (earlywarn.model.linear.MonotoneLinear, whose log-odds
# are the booster's starting score), or not? The plain booster is cross-fitted first; when its
# folds keep fewer than LINEAR_BASE_BELOW_TREES trees on average (it barely learns: the data are
# close to linear, or too few for a tree to split), the form on a linear base is cross-fitted too
# and the one whose out-of-fold scores rank the window's weeks better is kept (training/fit.py).
# Where the plain booster learns it won: out of fold on OULAD (withdrawn 0.684 against 0.682, 78
# trees) and on the default synthetic institution (0.680 against 0.679, 75 trees); where it
# cannot learn at all (it scores 0.5 out of fold) the linear base still ranks students. Trying
# both every time cost three more fold fits (7-8 s on the synthetic institution) for no gain.
LINEAR_BASE_BELOW_TREES = 20
LINEAR_L2 = 1.0
# Early stopping and calibration are cross-fitted over this many folds of the training students
# (training/fit.py); the final booster is refitted on all of them with the folds' mean number of
# trees. Three keeps the cost at four fits; each fold model still trains on two thirds.
CROSS_FIT_FOLDS = 3

# The program's historical not-retained rate as a model input (earlywarn.model.history), computed
# out of fold in training. On OULAD (withdrawn, weeks 1-8, test 2014B) it and the columns left out
# below took the logistic baseline's week-1 ROC-AUC from 0.534 to 0.638 and the booster's from
# 0.552 to 0.60 (an exploratory script on the imported folder; docs/training.md, "Inputs").
PROGRAM_HISTORY = True

# Features the model leaves out, with the reason (reviewed list). Each is still computed, shown
# where it is shown and used by the driver analysis; only the model does not learn from it.
LEFT_OUT_OF_MODEL: dict[str, str] = {
    # A rank within the student's own cohort means something different in every cohort (at week 1
    # of OULAD's 2014B, items_submitted_cohort_rank flipped direction between training and test):
    # the booster learned cohort-specific splits from them that did not carry to the next cohort.
    "graded_score_cohort_rank": "cohort-relative: its meaning changes from cohort to cohort",
    "on_time_share_cohort_rank": "cohort-relative: its meaning changes from cohort to cohort",
    "items_submitted_cohort_rank": "cohort-relative: its meaning changes from cohort to cohort",
    "days_early_cohort_rank": "cohort-relative: its meaning changes from cohort to cohort",
    "days_active_cohort_rank": "cohort-relative: its meaning changes from cohort to cohort",
    # Point-in-time, so it is missing for every cohort whose program had no ended term yet: in
    # training the booster learned "missing" as the rate of the cohorts that happened to lack it.
    "program_not_retained_rate": "replaced by the model's own program_history_rate",
}
# The categorical program is a model input beside program_history_rate. Alone it had put a
# program the training cohorts never had into whichever branch its code fell (OULAD's CCC, new in
# 2014B, scored as the safest module); with the rate beside it a new program gets the
# institution's rate, and the program's own splits add what the rate misses (how its students'
# grades and deadlines relate to the outcome). On OULAD 2014B (benchmarks/oulad_eval.py, with
# the graded_score change of the same commit) withdrawn-or-failed's mean weekly ROC-AUC over
# weeks 1-8 went from 0.728 to 0.735 (week 3 0.702 to 0.709, week 4 0.737 to 0.744) and
# withdrawn's from 0.692 to 0.694, with CCC's week-1 mean risk 0.220 against 0.216. The linear
# models leave it out where the rate is present (the two are collinear): the monotone linear
# base, and the logistic baseline (training/baseline.py).

# Course-design features (family "design", a mean over each student's first-term courses) enter
# the model only when the training students' course designs take at least this many distinct
# profiles. With a handful of courses each profile names a course, and the model learns those
# courses' base rates, which say nothing about next term's courses: on OULAD (10 profiles, one
# course per module and presentation) they took the logistic baseline's week-1 ROC-AUC from 0.636
# to 0.534; on the synthetic institution (1,885 profiles among 3,743 students) they add 0.03.
DESIGN_MIN_PROFILES = 50

# Directions we do not trust even where a feature declares one: none today. A feature named here
# is left unconstrained (reviewed list; say why next to each name).
UNCONSTRAINED: frozenset[str] = frozenset()


def lightgbm_params(seed: int) -> dict[str, Any]:
    """The LightGBM parameters for one training run, seeded, on up to ``LIGHTGBM_THREADS`` of the
    machine's cores."""
    from earlywarn.training.forked import usable_cores

    # The cores this process may run on (a container or taskset may allow fewer than the machine's).
    threads = max(1, min(LIGHTGBM_THREADS, usable_cores()))
    return {**LIGHTGBM_PARAMS, "random_state": seed, "n_jobs": threads}


def monotone_risk_direction(name: str, kind: str, retention_direction: int) -> int:
    """A feature's monotone direction on the *risk* of not being retained.

    ``retention_direction`` is the feature's declared direction on retention
    (``FeatureSpec.monotone``: +1 more is better, -1 more is worse, 0 in doubt). Risk runs the
    other way. Categorical features and reviewed exceptions are unconstrained.
    """
    if kind == "categorical" or name in UNCONSTRAINED or retention_direction == 0:
        return 0
    return -1 if retention_direction > 0 else 1


def monotone_directions(specs: Mapping[str, Any]) -> dict[str, int]:
    """Risk directions for every feature spec (anything with ``kind`` and ``monotone``)."""
    return {
        name: monotone_risk_direction(name, spec.kind, int(spec.monotone))
        for name, spec in specs.items()
    }
