"""One training run from end to end: dataset, time split, model and baseline, evaluation, audit.

:func:`train_on_dataset` works on any frame shaped like ``build_training_dataset``'s output (tests
feed it simulated data); :func:`train_from_folder` builds that frame from a data folder, trains,
and logs the run to MLflow.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any

from threadpoolctl import threadpool_limits

from earlywarn.core.errors import UsageError
from earlywarn.model.runs import prepare_tracking
from earlywarn.training.baseline import baseline_risk, fit_baseline
from earlywarn.training.evaluate import (
    audit_groups,
    evaluate_by_week,
    oracle_risk,
    prior_rates,
    read_truth,
    subgroup_audit,
)
from earlywarn.training.fairness import fairness_groups, fairness_report
from earlywarn.training.fit import (
    Progress,
    feature_columns,
    fit_retention_model,
    observed_columns,
    quiet,
    risk_target,
    split_by_time,
    training_rows,
    without_cohort_constants,
    without_course_design,
)
from earlywarn.training.params import (
    CHECKPOINT_WEEKS,
    DESIGN_MIN_PROFILES,
    LEFT_OUT_OF_MODEL,
    TRAINING_THREADS,
)
from earlywarn.training.result import TrainingResult

if TYPE_CHECKING:
    import pandas as pd

    from earlywarn.contract import Tables
    from earlywarn.core.settings import Settings

# SHAP contributions for the summary plot come from a seeded sample of test rows: a beeswarm of
# 3,000 students shows the same spread as one of 26,000 at a tenth of the cost.
SHAP_SAMPLE_ROWS = 3000
CONSTANT_LEFT_OUT = (
    "the same for every training student of each cohort at each checkpoint week: it names the "
    "cohort's course, which the program and its rate carry"
)
DESIGN_LEFT_OUT = (
    f"course design: fewer than {DESIGN_MIN_PROFILES} distinct course-design profiles in "
    "training, so each would name a course"
)


@threadpool_limits.wrap(limits=TRAINING_THREADS)
def train_on_dataset(
    dataset: pd.DataFrame,
    specs: Mapping[str, Any],
    cohort_starts: Mapping[str, pd.Timestamp],
    settings: Settings,
    *,
    as_of: Any = None,
    truth: pd.Series | None = None,
    top_n: int | None = None,
    progress: Progress = quiet,
    alongside: Callable[[], object] | None = None,
) -> TrainingResult:
    """Split by time, fit the model and the baseline, evaluate and audit on the test cohort.

    ``extra["step_seconds"]`` holds the wall time of each step (split, model, baseline,
    evaluation, audit, contributions) for the benchmark. The numerical libraries run on
    ``TRAINING_THREADS`` threads (see training/params.py). ``alongside``, when given, runs in a
    thread during the model step (once the split has succeeded) and is done before evaluation.
    """
    started = time.perf_counter()
    steps: dict[str, float] = {}
    clock = [started]

    def lap(step: str) -> None:
        now = time.perf_counter()
        steps[step] = round(now - clock[0], 3)
        clock[0] = now

    split = split_by_time(dataset, cohort_starts)
    progress(
        f"split: train {len(split.train)} rows ({', '.join(split.train_periods)}), "
        f"test {len(split.test)} ({split.test_period})"
    )
    columns, unobserved = observed_columns(
        feature_columns(
            specs, list(dataset.columns), include_sensitive=settings.include_sensitive_attributes
        ),
        split.train,
    )
    columns, design_left_out = without_course_design(columns, split.train, specs)
    columns, constant_left_out = without_cohort_constants(columns, split.train)
    lap("split")
    # The baseline is fitted in a thread beside the model: LightGBM and the baseline's matrix
    # products release the GIL, and the booster keeps two cores busy only part of the time.
    # "baseline" in step_seconds is the time left to wait for it (and for ``alongside``) once the
    # model is done.
    # Both learn from the same rows, folds and out-of-fold program history: computed once.
    rows = training_rows(split, settings.seed)
    with ThreadPoolExecutor(max_workers=2, thread_name_prefix="beside-model") as beside:
        fitting = beside.submit(fit_baseline, split, columns, seed=settings.seed, rows=rows)
        if alongside is not None:
            beside.submit(alongside)
        model = fit_retention_model(
            split, columns, seed=settings.seed, progress=progress, rows=rows
        )
        lap("model")
        progress(
            f"model: {model.best_iteration_} trees, {model.calibration_method_} calibration, "
            f"{len(columns)} features"
        )
        baseline = fitting.result()
    lap("baseline")
    test = split.test
    at_risk = risk_target(test)
    risk = model.predict_risk(test)
    base = baseline_risk(baseline, model.with_derived(test), columns)
    oracle = oracle_risk(test, truth)
    prior = prior_rates(split.train)(test)
    evaluation = evaluate_by_week(
        test, at_risk, risk, base, oracle, prior=prior, top_n=top_n, seed=settings.seed
    )
    lap("evaluation")
    audit = subgroup_audit(audit_groups(test), at_risk, risk)
    fairness = fairness_report(
        fairness_groups(test, specs),
        at_risk,
        risk,
        top_n=top_n,
        settings=settings,
        weeks=test["checkpoint_week"].to_numpy(),
    )
    lap("audit")
    sample = test.sample(n=min(SHAP_SAMPLE_ROWS, len(test)), random_state=settings.seed)
    contributions = model.contributions(sample)
    lap("contributions")
    return TrainingResult(
        model=model,
        split=split,
        as_of=as_of,
        evaluation=evaluation,
        audit=audit,
        test_at_risk=at_risk,
        test_risk=risk,
        baseline_risk=base,
        oracle_risk=oracle,
        prior_risk=prior,
        fairness=fairness,
        test_contributions=contributions,
        seconds=time.perf_counter() - started,
        extra={
            "features_never_observed": unobserved,
            "features_left_out": {
                **{name: reason for name, reason in LEFT_OUT_OF_MODEL.items() if name in specs},
                **dict.fromkeys(design_left_out, DESIGN_LEFT_OUT),
                **dict.fromkeys(constant_left_out, CONSTANT_LEFT_OUT),
            },
            "step_seconds": steps,
            "top_n": top_n,
        },
    )


def digest_capacity(tables: Tables, settings: Settings) -> int | None:
    """How many students the weekly digests list at most: ``digest_max_students`` per advisor
    (``None`` without advisors, when evaluation uses the riskiest 10% instead)."""
    advisors = tables.advisors
    if advisors is None or len(advisors) == 0:
        return None
    return int(settings.digest_max_students) * len(advisors)


def default_as_of(tables: Tables) -> pd.Timestamp:
    """The default as-of: the data's latest instant
    (:func:`earlywarn.contract.freshness.latest_instant`)."""
    from earlywarn.contract.freshness import latest_instant

    last = latest_instant(tables)
    if last is None:
        raise UsageError("the data folder has no dated rows; pass --as-of")
    return last


def cohort_starts(tables: Tables) -> dict[str, pd.Timestamp]:
    """The start date of every term, by term id (a cohort is named by its first term)."""
    import pandas as pd

    terms = tables.terms
    return {
        str(t): pd.Timestamp(s) for t, s in zip(terms["term_id"], terms["start_date"], strict=True)
    }


def _prepare_tracking(settings: Settings) -> None:
    # An error here (a deleted experiment, say) is raised again, and reported, when logging opens
    # the store in the main thread.
    with contextlib.suppress(Exception):
        prepare_tracking(settings)


def train_from_folder(
    settings: Settings,
    data_dir: Path,
    *,
    as_of: pd.Timestamp | None = None,
    progress: Progress = quiet,
    log: bool = True,
) -> TrainingResult:
    """Load ``data_dir``, build the dataset as of ``as_of`` (default: the latest time stamp),
    train, evaluate, and (when ``log``) record the run and register the model as challenger."""
    from earlywarn.contract import load_tables
    from earlywarn.features import FEATURES
    from earlywarn.training.dataset import build_training_dataset
    from earlywarn.training.tracking import data_fingerprint, log_training_run

    started = time.perf_counter()
    progress(f"loading {data_dir}")
    tables = load_tables(data_dir)
    loaded = time.perf_counter()
    instant = as_of if as_of is not None else default_as_of(tables)
    progress(f"building the training dataset as of {instant}")
    dataset = build_training_dataset(
        tables, instant, weeks=CHECKPOINT_WEEKS, pass_score=settings.pass_score
    )
    built = time.perf_counter()
    progress(f"dataset: {len(dataset)} rows, {dataset['student_id'].nunique()} students")
    result = train_on_dataset(
        dataset,
        FEATURES,
        cohort_starts(tables),
        settings,
        as_of=instant,
        truth=read_truth(Path(data_dir)),
        top_n=digest_capacity(tables, settings),
        progress=progress,
        # Logging's libraries are imported, and the store opened, while the model trains: LightGBM
        # leaves the GIL free. Only once the split has succeeded, so a run refused there leaves
        # no store behind.
        alongside=partial(_prepare_tracking, settings) if log else None,
    )
    steps = {
        "load": round(loaded - started, 3),
        "dataset": round(built - loaded, 3),
        **result.extra["step_seconds"],
    }
    result.extra["fit_seconds"] = round(result.seconds, 2)
    result.seconds = time.perf_counter() - started
    if log:
        progress("logging the run to MLflow")
        logging_started = time.perf_counter()
        fingerprint = data_fingerprint(tables, Path(data_dir), instant)
        result.run_id, result.model_version = log_training_run(settings, result, fingerprint)
        steps["mlflow"] = round(time.perf_counter() - logging_started, 3)
        result.seconds = time.perf_counter() - started
    result.extra["step_seconds"] = steps
    return result
