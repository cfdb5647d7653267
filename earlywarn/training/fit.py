"""Split a training dataset by time and fit the retention model and its baseline.

The split (documented in docs/training.md): cohorts are grouped by the season in which their
first term started ("start period", across programs; seasons by month: fall = Sep-Nov, winter =
Dec-Feb, spring = Mar-May, summer = Jun-Aug, named by their first month, e.g. ``2025-09 fall``).
The latest start period with known labels is the *test* cohort. The most recent earlier periods,
taken whole until there are at least ``HELD_OUT_MIN_PERIODS`` of them and they hold at least
``HELD_OUT_SHARE`` of the earlier students, are *held out* for early stopping and calibration;
every earlier period trains (at least one always does). No student is on two sides.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from earlywarn.core.errors import UsageError
from earlywarn.model.artifact import CalibrationMethod, FeatureColumn, RetentionModel
from earlywarn.training.crossfit import out_of_fold_raw
from earlywarn.training.params import (
    CROSS_FIT_CALIBRATION,
    EARLY_STOPPING_ROUNDS,
    LINEAR_BASE,
    LINEAR_L2,
    N_ESTIMATORS,
    lightgbm_params,
    monotone_risk_direction,
)
from earlywarn.training.select import prefer_plain_booster

if TYPE_CHECKING:
    import numpy as np
    import pandas as pd
    from sklearn.pipeline import Pipeline

# The dataset's identifying and label columns; everything else may be a feature.
ID_COLUMNS = ("student_id", "cohort", "program_id", "checkpoint_week", "as_of")
LABEL = "retained"
# Measured on the default synthetic institution (89 features): at 0.35 whole seasons made the
# held-out 53% of the earlier rows and the model trained on 53,193 rows; at 0.2 it trains on 88,035
# and holds out 25,850 (2,184 students, enough to calibrate), and the test ROC-AUC rose at every
# checkpoint week (last checkpoint 0.658 -> 0.666, oracle 0.688) with ECE still at the oracle's.
HELD_OUT_SHARE = 0.2
# ... and at least this many start periods (always leaving one to train on). 1: the share alone
# decides. 4 (a year of seasons, so the calibrator would see every season's mix of programs) was
# measured by rolling-origin validation (docs/training.md) and not taken: the mean per-week ECE of
# the four stand-in seasons fell (0.0315 to 0.0288) but the model trained on fewer rows and lost
# AUC (last checkpoint 97.5% of the oracle's on average against 96.9%; model minus baseline
# +0.0005 against +0.0003).
HELD_OUT_MIN_PERIODS = 1


@dataclass(frozen=True)
class DatasetSplit:
    """Train, held-out (early stopping and calibration) and test rows, split by cohort start."""

    train: pd.DataFrame
    held_out: pd.DataFrame
    test: pd.DataFrame
    test_period: str
    held_out_period: str
    train_periods: tuple[str, ...]

    @property
    def test_cohorts(self) -> list[str]:
        return sorted(str(c) for c in self.test["cohort"].unique())

    def describe(self) -> dict[str, Any]:
        """A JSON-ready summary of the split, for the run log."""
        return {
            "test_period": self.test_period,
            "held_out_period": self.held_out_period,
            "train_periods": list(self.train_periods),
            "test_cohorts": self.test_cohorts,
            "rows": {
                "train": len(self.train),
                "held_out": len(self.held_out),
                "test": len(self.test),
            },
            "students": {
                side: int(frame["student_id"].nunique())
                for side, frame in (
                    ("train", self.train),
                    ("held_out", self.held_out),
                    ("test", self.test),
                )
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

    labelled = dataset[dataset[LABEL].notna()]
    cohorts = labelled["cohort"].astype(str)
    unknown = sorted(set(cohorts) - set(cohort_starts))
    if unknown:
        raise UsageError(f"training dataset: cohort {unknown[0]!r} has no start date in terms")
    period_of = {c: start_period(pd.Timestamp(cohort_starts[c])) for c in cohorts.unique()}
    period = cohorts.map(period_of)
    periods = sorted(period.unique())
    if len(periods) < 3:
        raise UsageError(
            f"training dataset: only {len(periods)} start period(s) with known retention "
            f"({', '.join(periods) or 'none'}); training needs at least 3 (train, held out, test). "
            "Use data that spans more cohorts, or a later --as-of"
        )
    test_period = periods[-1]
    students = labelled.groupby(period.to_numpy(), observed=True)["student_id"].nunique()
    earlier = periods[:-1]
    total = int(students[earlier].sum())
    held: list[str] = []
    while len(held) < len(earlier) - 1 and (
        len(held) < HELD_OUT_MIN_PERIODS or students[held].sum() < HELD_OUT_SHARE * total
    ):
        held.insert(0, earlier[-1 - len(held)])
    split = DatasetSplit(
        train=labelled[period < held[0]],
        held_out=labelled[period.isin(held)],
        test=labelled[period == test_period],
        test_period=test_period,
        held_out_period=held[0] if len(held) == 1 else f"{held[0]} .. {held[-1]}",
        train_periods=tuple(p for p in earlier if p < held[0]),
    )
    sides = [
        set(split.train["student_id"]),
        set(split.held_out["student_id"]),
        set(split.test["student_id"]),
    ]
    assert not sides[0] & sides[1], "a student is in both the train and held-out cohorts"
    assert not sides[0] & sides[2], "a student is in both the train and test cohorts"
    assert not sides[1] & sides[2], "a student is in both the held-out and test cohorts"
    return split


def feature_columns(
    specs: Mapping[str, Any], available: list[str], *, include_sensitive: bool
) -> list[FeatureColumn]:
    """The model's inputs: every feature spec the dataset has, sensitive ones only when allowed.

    ``specs`` maps names to objects with ``kind``, ``sensitive`` and ``monotone`` (the direction on
    retention); ``checkpoint_week`` joins as an unconstrained numeric input, because how much a
    behaviour says depends on how far into the term it is measured.
    """
    columns = [
        FeatureColumn(name, spec.kind, monotone_risk_direction(name, spec.kind, int(spec.monotone)))
        for name, spec in specs.items()
        if name in available and (include_sensitive or not spec.sensitive)
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
) -> RetentionModel:
    """LightGBM on the training cohorts, early-stopped on the held-out cohort and calibrated on it
    and (with ``CROSS_FIT_CALIBRATION``) on out-of-fold scores of the training cohorts.

    It boosts from a monotone linear base when ``LINEAR_BASE`` is true; with ``"auto"`` it fits
    both and keeps the linear base unless the plain booster ranks the held-out cohort clearly
    better (training/select.py). ``progress`` hears of each fit as it starts.
    """
    held_out_y = risk_target(split.held_out)
    choices = [True, False] if LINEAR_BASE == "auto" else [bool(LINEAR_BASE)]
    models: dict[bool, RetentionModel] = {}
    for linear_base in choices:
        progress(f"fitting the booster {'on a linear base' if linear_base else 'on its own'}")
        models[linear_base] = _retention_model(columns, seed=seed, linear_base=linear_base).fit(
            split.train,
            risk_target(split.train),
            eval_X=split.held_out,
            eval_y=held_out_y,
            eval_groups=split.held_out["student_id"].astype(str),
        )
    model = models[choices[0]]
    if len(models) == 2:
        plain, difference, error = prefer_plain_booster(
            held_out_y.to_numpy(),
            models[True].raw_score(split.held_out),
            models[False].raw_score(split.held_out),
            split.held_out["student_id"].astype(str).to_numpy(),
            seed=seed,
        )
        model = models[not plain]
        model.base_choice_ = {"held_out_auc_gain_of_plain": difference, "standard_error": error}
    if CROSS_FIT_CALIBRATION:
        cross_fit_calibration(model, split, columns, seed=seed, progress=progress)
    return model


def cross_fit_calibration(
    model: RetentionModel,
    split: DatasetSplit,
    columns: list[FeatureColumn],
    *,
    seed: int,
    progress: Progress = quiet,
) -> None:
    """Recalibrate ``model`` on the held-out rows plus out-of-fold scores of the training rows
    (training/crossfit.py), each fold model built like ``model`` (same base, same settings)."""
    import numpy as np

    train_y = risk_target(split.train).to_numpy()
    train_ids = split.train["student_id"].astype(str).to_numpy()
    held_y = risk_target(split.held_out).to_numpy()
    held_ids = split.held_out["student_id"].astype(str).to_numpy()

    def fit_scorer(rows: pd.DataFrame, y: np.ndarray) -> Callable[[pd.DataFrame], np.ndarray]:
        # The fold model's own calibrator is never used: only its raw score is.
        fold_model = _retention_model(
            columns, seed=seed, linear_base=model.linear_base, calibration="sigmoid"
        ).fit(rows, y, eval_X=split.held_out, eval_y=held_y, reference_stats=False)
        return fold_model.raw_score

    out_of_fold = out_of_fold_raw(
        split.train,
        train_y,
        train_ids,
        fit_scorer,
        seed=seed,
        on_fold=lambda k, n: progress(f"cross-fitting the calibrator: fold {k} of {n}"),
    )
    train_weeks = model.checkpoint_weeks(split.train)
    held_weeks = model.checkpoint_weeks(split.held_out)
    model.calibrate(
        np.concatenate([out_of_fold, model.raw_score(split.held_out)]),
        np.concatenate([train_y, held_y]),
        None
        if train_weeks is None or held_weeks is None
        else np.concatenate([train_weeks, held_weeks]),
        np.concatenate([train_ids, held_ids]),
    )


def baseline_frame(frame: pd.DataFrame, columns: list[FeatureColumn]) -> pd.DataFrame:
    """The baseline's inputs: numbers as floats, categories as plain strings (missing as NaN)."""
    import numpy as np
    import pandas as pd

    data: dict[str, Any] = {}
    for column in columns:
        values = frame[column.name]
        if column.kind == "categorical":
            data[column.name] = values.astype(object).where(values.notna(), np.nan)
        else:
            data[column.name] = pd.to_numeric(values, errors="coerce").astype("float64")
    return pd.DataFrame(data, index=frame.index)


def fit_baseline(split: DatasetSplit, columns: list[FeatureColumn], *, seed: int) -> Pipeline:
    """A logistic-regression baseline (impute + scale + one-hot) on the same training rows."""
    from sklearn.compose import ColumnTransformer
    from sklearn.impute import SimpleImputer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import Pipeline, make_pipeline
    from sklearn.preprocessing import OneHotEncoder, StandardScaler

    train = baseline_frame(split.train, columns)
    # Like the boosted model, leave out columns with no value in any training row: an imputer has
    # nothing to learn from them (and would warn and drop them at every transform).
    observed = [c for c in columns if train[c.name].notna().any()]
    numeric = [c.name for c in observed if c.kind != "categorical"]
    categorical = [c.name for c in observed if c.kind == "categorical"]
    prepare = ColumnTransformer(
        [
            ("numeric", make_pipeline(SimpleImputer(strategy="median"), StandardScaler()), numeric),
            (
                "categorical",
                make_pipeline(
                    SimpleImputer(strategy="constant", fill_value="missing"),
                    OneHotEncoder(handle_unknown="ignore"),
                ),
                categorical,
            ),
        ]
    )
    pipeline = Pipeline(
        [("prepare", prepare), ("model", LogisticRegression(max_iter=2000, random_state=seed))]
    )
    pipeline.fit(train[numeric + categorical], risk_target(split.train))
    return pipeline


def baseline_risk(pipeline: Pipeline, frame: pd.DataFrame, columns: list[FeatureColumn]) -> Any:
    """The baseline's probability of NOT being retained for each row of ``frame``."""
    used = set(pipeline.feature_names_in_)
    inputs = baseline_frame(frame, [c for c in columns if c.name in used])
    return pipeline.predict_proba(inputs[list(pipeline.feature_names_in_)])[:, 1]
