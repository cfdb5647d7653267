"""Split a training dataset by time and fit the retention model and its baseline.

The split (documented in docs/training.md): cohorts are grouped by the season in which their
first term started ("start period", across programs; seasons by month: fall = Sep-Nov, winter =
Dec-Feb, spring = Mar-May, summer = Jun-Aug, named by their first month, e.g. ``2025-09 fall``).
The latest start period with known labels is the *test* cohort; every earlier period trains,
the most recent one included, so a course or program first seen in the latest earlier cohort is
known to the model. Early stopping and calibration are cross-fitted: the training students are
dealt into ``CROSS_FIT_FOLDS`` folds (a student's rows together), a booster per fold is fitted on
the others and early-stopped on its own fold, its out-of-fold raw scores calibrate, and the final
booster is refitted on every training row with the folds' mean number of trees. No student is on
two sides of train and test.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from earlywarn.core.errors import UsageError
from earlywarn.model.artifact import RetentionModel
from earlywarn.model.calibration import CalibrationMethod
from earlywarn.model.columns import CHECKPOINT_WEEK, FeatureColumn
from earlywarn.training.evaluate import WINDOW
from earlywarn.training.params import (
    CROSS_FIT_FOLDS,
    DESIGN_MIN_PROFILES,
    EARLY_STOPPING_ROUNDS,
    LEFT_OUT_OF_MODEL,
    LINEAR_BASE_BELOW_TREES,
    LINEAR_L2,
    N_ESTIMATORS,
    PROGRAM_HISTORY,
    lightgbm_params,
    monotone_risk_direction,
)

if TYPE_CHECKING:
    import pandas as pd

# The dataset's identifying and label columns; everything else may be a feature.
LABEL = "retained"


@dataclass(frozen=True)
class DatasetSplit:
    """Training rows (every earlier start period) and test rows (the latest), split by cohort
    start."""

    train: pd.DataFrame
    test: pd.DataFrame
    test_period: str
    train_periods: tuple[str, ...]

    @property
    def test_cohorts(self) -> list[str]:
        return sorted(str(c) for c in self.test["cohort"].unique())

    def describe(self) -> dict[str, Any]:
        """A JSON-ready summary of the split, for the run log."""
        return {
            "test_period": self.test_period,
            "train_periods": list(self.train_periods),
            "test_cohorts": self.test_cohorts,
            "rows": {"train": len(self.train), "test": len(self.test)},
            "students": {
                side: int(frame["student_id"].nunique())
                for side, frame in (("train", self.train), ("test", self.test))
            },
        }


_SEASONS = (
    (12, "winter"),
    (1, "winter"),
    (2, "winter"),
    (3, "spring"),
    (4, "spring"),
    (5, "spring"),
    (6, "summer"),
    (7, "summer"),
    (8, "summer"),
    (9, "fall"),
    (10, "fall"),
    (11, "fall"),
)
_SEASON_START = {"winter": 12, "spring": 3, "summer": 6, "fall": 9}


def start_period(start: pd.Timestamp) -> str:
    """The sortable name of the season a term starting on ``start`` belongs to (``2025-09 fall``;
    a winter starts in December, so January 2026 is ``2025-12 winter``)."""
    season = dict(_SEASONS)[start.month]
    year = start.year - 1 if season == "winter" and start.month < 12 else start.year
    return f"{year}-{_SEASON_START[season]:02d} {season}"


def risk_target(frame: pd.DataFrame) -> pd.Series:
    """The model's target: 1 when the student was NOT retained."""
    return (1 - frame[LABEL].astype(int)).rename("not_retained")


def split_by_time(dataset: pd.DataFrame, cohort_starts: Mapping[str, pd.Timestamp]) -> DatasetSplit:
    """Split labelled rows by the start month of each row's cohort (see the module docstring)."""
    import pandas as pd

    known = dataset[LABEL].notna()
    # No copy when every row is labelled (build_training_dataset's rows all are).
    labelled = dataset if bool(known.all()) else dataset[known]
    cohorts = labelled["cohort"].astype(str)
    unknown = sorted(set(cohorts) - set(cohort_starts))
    if unknown:
        raise UsageError(f"training dataset: cohort {unknown[0]!r} has no start date in terms")
    period_of = {c: start_period(pd.Timestamp(cohort_starts[c])) for c in cohorts.unique()}
    period = cohorts.map(period_of)
    periods = sorted(period.unique())
    if len(periods) < 2:
        raise UsageError(
            f"training dataset: only {len(periods)} start period(s) with known retention "
            f"({', '.join(periods) or 'none'}); training needs at least 2 (train, test). "
            "Use data that spans more cohorts, or a later --as-of"
        )
    test_period = periods[-1]
    split = DatasetSplit(
        train=labelled[period < test_period],
        test=labelled[period == test_period],
        test_period=test_period,
        train_periods=tuple(periods[:-1]),
    )
    overlap = set(split.train["student_id"]) & set(split.test["student_id"])
    assert not overlap, "a student is in both the train and test cohorts"
    students = split.train.drop_duplicates("student_id")[LABEL].astype(int)
    left, stayed = int((students == 0).sum()), int((students == 1).sum())
    if min(left, stayed) < CROSS_FIT_FOLDS:
        # Cross-fitting deals each outcome's students into CROSS_FIT_FOLDS folds: fewer would
        # leave a fold with no student, or a model with one outcome to learn from.
        raise UsageError(
            f"training dataset: the training cohorts ({', '.join(split.train_periods)}) hold "
            f"{left} student(s) not retained and {stayed} retained; training needs at least "
            f"{CROSS_FIT_FOLDS} of each. Use data that spans more cohorts, or a later --as-of"
        )
    return split


def feature_columns(
    specs: Mapping[str, Any], available: list[str], *, include_sensitive: bool
) -> list[FeatureColumn]:
    """The model's inputs: every feature spec the dataset has, sensitive ones only when allowed,
    except the reviewed ``LEFT_OUT_OF_MODEL`` (training/params.py).

    ``specs`` maps names to objects with ``kind``, ``sensitive`` and ``monotone`` (the direction on
    retention); ``checkpoint_week`` joins as an unconstrained numeric input, because how much a
    behaviour says depends on how far into the term it is measured.
    """
    columns = [
        FeatureColumn(name, spec.kind, monotone_risk_direction(name, spec.kind, int(spec.monotone)))
        for name, spec in specs.items()
        if name in available
        and (include_sensitive or not spec.sensitive)
        and name not in LEFT_OUT_OF_MODEL
    ]
    if "checkpoint_week" in available and "checkpoint_week" not in specs:
        columns.append(FeatureColumn("checkpoint_week", "numeric", 0))
    if not columns:
        raise UsageError("training dataset: none of the feature columns is present")
    return columns


def observed_columns(
    columns: list[FeatureColumn], train: pd.DataFrame
) -> tuple[list[FeatureColumn], list[str]]:
    """The columns with at least one value in the training rows, and the names of the others
    (e.g. ``grade_first_term`` is never known at a checkpoint inside the first term)."""
    kept = [c for c in columns if train[c.name].notna().any()]
    dropped = [c.name for c in columns if c not in kept]
    if not kept:
        raise UsageError("training dataset: every feature is missing in the training cohorts")
    return kept, dropped


def design_profiles(train: pd.DataFrame, specs: Mapping[str, Any]) -> int:
    """How many distinct course-design profiles the training students have (one per student)."""
    design = [n for n, spec in specs.items() if spec.family == "design" and n in train.columns]
    if not design:
        return 0
    students = train.drop_duplicates("student_id")[design]
    return len(students.round(6).drop_duplicates())


def without_course_design(
    columns: list[FeatureColumn], train: pd.DataFrame, specs: Mapping[str, Any]
) -> tuple[list[FeatureColumn], list[str]]:
    """Leave the course-design features out when the training students have fewer than
    ``DESIGN_MIN_PROFILES`` distinct design profiles (see training/params.py); the kept columns
    and the names left out."""
    if design_profiles(train, specs) >= DESIGN_MIN_PROFILES:
        return columns, []
    design = {n for n, spec in specs.items() if spec.family == "design"}
    return [c for c in columns if c.name not in design], [
        c.name for c in columns if c.name in design
    ]


def without_cohort_constants(
    columns: list[FeatureColumn], train: pd.DataFrame
) -> tuple[list[FeatureColumn], list[str]]:
    """Leave out every number that is the same for all training students of each cohort at each
    checkpoint week; the kept columns and the names left out.

    Such a value says nothing about the student. Across cohorts it only names the cohort's
    course (on OULAD, where a presentation is a cohort, the days until the module's first
    deadline): the categorical program and its historical rate already carry the course, and a
    linear model extrapolates these values to a course training never had without bound (on
    OULAD tested on 2013J after training on 2013B, the logistic baseline's mean weekly ROC-AUC
    over weeks 1-8 was 0.551 with them and 0.632 without; the model's moved by 0.001). Only the
    students with a value count (a missing value is not a second value). The checkpoint week and
    the categories (the program) are kept."""
    if "cohort" not in train.columns or CHECKPOINT_WEEK not in train.columns:
        return columns, []
    numbers = [c.name for c in columns if c.kind != "categorical" and c.name != CHECKPOINT_WEEK]
    if not numbers:
        return columns, []
    groups = train.groupby(["cohort", CHECKPOINT_WEEK], observed=True)[numbers]
    distinct, present = groups.nunique(), groups.count()
    # Only a cohort-week with two or more values present can show that a number is shared; a
    # number never seen twice in one cohort-week (a very small institution) is kept.
    constant = [
        name
        for name in numbers
        if bool((present[name] >= 2).any()) and bool((distinct[name] <= 1).all())
    ]
    return [c for c in columns if c.name not in constant], constant


def with_history(train: pd.DataFrame, folds: Any) -> pd.DataFrame:
    """``train`` with its out-of-fold ``program_history_rate`` (earlywarn.model.history)."""
    from earlywarn.model.history import HISTORY_COLUMN, HISTORY_KEY, out_of_fold_rates

    if not PROGRAM_HISTORY or HISTORY_KEY not in train.columns:
        return train
    rates = out_of_fold_rates(
        train[HISTORY_KEY], risk_target(train).to_numpy(), train["student_id"], folds
    )
    return train.assign(**{HISTORY_COLUMN: rates.astype("float32")})


#: What :func:`training_rows` gives: the rows with their program history, the risk target, the
#: students and the cross-fitting folds.
TrainingRows = tuple["pd.DataFrame", Any, Any, Any]


def training_rows(split: DatasetSplit, seed: int) -> TrainingRows:
    """The training rows with their out-of-fold program history, their risk target, students and
    cross-fitting folds (seeded, so the model and the baseline see the same values). Computed
    once per run (training/pipeline.py) and given to both: the history copies the rows."""
    from earlywarn.model.calibration import calibration_folds

    y = risk_target(split.train).to_numpy()
    ids = split.train["student_id"].astype(str).to_numpy()
    folds = calibration_folds(y, ids, seed, CROSS_FIT_FOLDS)
    return with_history(split.train, folds), y, ids, folds


def _retention_model(
    columns: list[FeatureColumn],
    *,
    seed: int,
    linear_base: bool,
    calibration: CalibrationMethod = "auto",
) -> RetentionModel:
    return RetentionModel(
        columns,
        lightgbm_params(seed),
        n_estimators=N_ESTIMATORS,
        early_stopping_rounds=EARLY_STOPPING_ROUNDS,
        calibration=calibration,
        random_state=seed,
        linear_base=linear_base,
        linear_l2=LINEAR_L2,
        history=PROGRAM_HISTORY,
    )


#: A progress callback: hears one short line as each long step starts.
Progress = Callable[[str], None]


def quiet(_: str) -> None:
    """The progress callback that says nothing."""
    return None


def fit_retention_model(
    split: DatasetSplit,
    columns: list[FeatureColumn],
    *,
    seed: int,
    progress: Progress = quiet,
    rows: TrainingRows | None = None,
) -> RetentionModel:
    """LightGBM on every training cohort with cross-fitted early stopping and calibration.

    The training students are dealt into ``CROSS_FIT_FOLDS`` folds (a student's checkpoint weeks
    together, stratified by label). For each fold a booster is fitted on the other folds and
    early-stopped on it (logloss), and scores it: those out-of-fold raw scores are the
    calibration rows. The final booster is refitted on all training rows with the mean of the
    folds' kept iterations (``trees_``), then calibrated on the out-of-fold scores. Early
    stopping thus sees students of the same seasons as training (a later cohort's shift in base
    rate would otherwise stop it after a tree or two), and nothing earlier is left untrained on.
    ``rows``: :func:`training_rows` of ``split`` and ``seed``, when the caller has them.
    """
    import numpy as np

    train, y, ids, folds = rows if rows is not None else training_rows(split, seed)
    weeks = np.asarray(train["checkpoint_week"]) if "checkpoint_week" in train.columns else None
    # Every plain booster of this run bins the same training rows: binned once, here.
    template = _retention_model(columns, seed=seed, linear_base=False)
    binned = template.bin_rows(train, y)
    fits = {
        False: _cross_fit(
            columns, train, y, ids, folds, seed, weeks, progress, shared=(template, binned)
        )
    }
    if float(np.mean(fits[False].kept)) < LINEAR_BASE_BELOW_TREES:
        # The plain booster barely learns: try it on a linear base too (training/params.py).
        fits[True] = _cross_fit(columns, train, y, ids, folds, seed, weeks, progress, shared=None)
    # The form whose out-of-fold scores rank the window's weeks better; the plain booster on a tie.
    linear = max(fits, key=lambda form: (fits[form].window_auc, not form))
    chosen = fits[linear]
    trees = max(1, round(float(np.mean(chosen.kept))))
    progress(f"fitting the final booster on all training rows ({trees} trees)")
    model = RetentionModel(
        columns,
        lightgbm_params(seed),
        n_estimators=trees,
        early_stopping_rounds=EARLY_STOPPING_ROUNDS,
        calibration="auto",
        random_state=seed,
        linear_base=linear,
        linear_l2=LINEAR_L2,
        history=PROGRAM_HISTORY,
    ).fit(train, y, binned=None if linear else binned)
    model.fold_trees_ = chosen.kept
    model.form_window_auc_ = {
        ("linear_base" if form else "plain"): fit.window_auc for form, fit in fits.items()
    }
    model.calibrate(chosen.out_of_fold, y, model.checkpoint_weeks(train), ids)
    return model


@dataclass(frozen=True)
class CrossFit:
    """One model form's cross-fitting: out-of-fold raw scores, each fold's kept trees and the
    mean weekly ROC-AUC of those scores over the window's weeks (NaN when none can be scored)."""

    out_of_fold: Any
    kept: list[int]
    window_auc: float


def _cross_fit(
    columns: list[FeatureColumn],
    train: pd.DataFrame,
    y: Any,
    ids: Any,
    folds: Any,
    seed: int,
    weeks: Any,
    progress: Progress,
    *,
    shared: tuple[RetentionModel, Any] | None,
) -> CrossFit:
    """Cross-fit the plain booster on ``shared`` (a template model and the training rows it
    binned, :meth:`RetentionModel.bin_rows`), or with ``shared=None`` the booster on a linear
    base (whose fold models bin their own rows, the base's scores being their start)."""
    import numpy as np

    linear = shared is None
    form = "on a linear base" if linear else "plain"
    out_of_fold = np.full(len(y), np.nan)
    kept: list[int] = []
    for number in range(CROSS_FIT_FOLDS):
        progress(f"cross-fitting the booster {form}: fold {number + 1} of {CROSS_FIT_FOLDS}")
        inside = folds != number
        fold_model = _retention_model(columns, seed=seed, linear_base=linear)
        if linear:
            fold_model.fit(
                train[inside],
                y[inside],
                eval_X=train[~inside],
                eval_y=y[~inside],
                eval_groups=ids[~inside],
                scores_only=True,
            )
        else:
            assert shared is not None
            fold_model.fit_fold(shared[0], shared[1], inside)
        out_of_fold[~inside] = fold_model.raw_score(train[~inside])
        kept.append(int(fold_model.best_iteration_))
    return CrossFit(out_of_fold, kept, window_auc(y, out_of_fold, weeks))


def window_auc(y: Any, scores: Any, weeks: Any) -> float:
    """Mean weekly ROC-AUC over the window's checkpoint weeks (``WINDOW``) that hold both classes;
    all rows as one week when there are no weeks; NaN when nothing can be scored."""
    import numpy as np
    from sklearn.metrics import roc_auc_score

    labels = np.asarray(y)
    if weeks is None:
        groups = [np.ones(len(labels), dtype=bool)]
    else:
        low, high = WINDOW
        groups = [np.asarray(weeks) == w for w in range(low, high + 1)]
    aucs = [
        float(roc_auc_score(labels[g], np.asarray(scores)[g]))
        for g in groups
        if g.any() and 0 < labels[g].sum() < g.sum()
    ]
    return float(np.mean(aucs)) if aucs else float("nan")
