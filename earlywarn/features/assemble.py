"""Putting the families together: the feature table of some cohorts as of one instant."""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from earlywarn.core.errors import UsageError
from earlywarn.core.time import as_of_us
from earlywarn.features.activity import activity_features
from earlywarn.features.background import background_features
from earlywarn.features.banked import banked_features
from earlywarn.features.catalogue import FEATURES
from earlywarn.features.cohort import cohort_features
from earlywarn.features.course_load import load_features
from earlywarn.features.design import design_features
from earlywarn.features.first_deadline import first_deadline_features
from earlywarn.features.forum import forum_features, support_features
from earlywarn.features.history import history_features
from earlywarn.features.prepared import Prepared, prepare
from earlywarn.features.prior import prior_features
from earlywarn.features.submissions import submission_features
from earlywarn.features.timing import timing_features
from earlywarn.features.view import View, build_view, days_between, still_enrolled

if TYPE_CHECKING:
    from earlywarn.contract import Tables

ID_COLUMNS = ("student_id", "program_id", "first_term_id")


CATEGORICAL_SOURCES = {
    "education_level": "education_level",
    "country_group": "country_group",
    "program": "program_id",
}


def categories_and_codes(prep: Prepared, name: str) -> tuple[list[str], np.ndarray]:
    """A categorical student attribute: its sorted categories and every student's code."""
    key = ("categorical", name)
    if key not in prep.cache:
        values = prep.tables.students[CATEGORICAL_SOURCES[name]]
        categories = sorted({str(v) for v in values.dropna().unique()})
        codes = np.asarray(pd.Categorical(values.astype(object), categories=categories).codes)
        prep.cache[key] = (categories, codes)
    value: tuple[list[str], np.ndarray] = prep.cache[key]  # type: ignore[assignment]
    return value


def as_categorical(prep: Prepared, name: str, codes: np.ndarray) -> pd.Categorical:
    return pd.Categorical.from_codes(codes, categories=categories_and_codes(prep, name)[0])


def _student_and_program(view: View) -> dict[str, np.ndarray]:
    """Age, the categorical attributes (as codes) and the program's term structure."""
    prep = view.prep
    key = "student_and_program"
    if key not in prep.cache:
        students, programs = prep.tables.students, prep.tables.programs
        program = prep.student_program
        prep.cache[key] = {
            "age": students["age"].to_numpy(np.float64),
            "terms_per_year": programs["terms_per_year"].to_numpy(np.float64)[program],
            "terms_allowed_missing": programs["terms_allowed_missing"].to_numpy(np.float64)[
                program
            ],
            **{name: categories_and_codes(prep, name)[1] for name in CATEGORICAL_SOURCES},
        }
    per_student: dict[str, np.ndarray] = prep.cache[key]  # type: ignore[assignment]
    return {name: values[view.students] for name, values in per_student.items()}


def compute_columns(
    prep: Prepared, cohorts: Iterable[int], t: int, pass_score: float
) -> tuple[View, dict[str, Any]]:
    """Every feature of every student of ``cohorts`` as of ``t``.

    Numeric and binary features are float arrays; categorical ones are integer codes into
    :func:`categories_and_codes` (-1 missing), so callers wrap them once (:func:`as_categorical`).
    """
    view = build_view(prep, np.asarray(list(cohorts), dtype=np.int64), t)
    columns: dict[str, Any] = {"checkpoint_week": days_between(t, view.start_us) / 7.0}
    columns.update(first_deadline_features(view))
    columns.update(activity_features(view))
    columns.update(submission_features(view, pass_score))
    columns.update(load_features(view))
    columns.update(forum_features(view))
    columns.update(support_features(view))
    columns.update(prior_features(view))
    columns.update(_student_and_program(view))
    columns.update(design_features(view))
    columns.update(timing_features(view))
    columns.update(banked_features(view))
    columns.update(background_features(view))
    columns.update(history_features(view))
    columns.update(cohort_features(view, columns))  # ranks of the features above
    missing = set(FEATURES) - set(columns)
    extra = set(columns) - set(FEATURES)
    if missing or extra:  # a programming error, caught by the tests
        raise RuntimeError(f"feature families disagree with the registry: {missing} {extra}")
    return view, {
        name: columns[name]
        if spec.kind == "categorical"
        else np.asarray(columns[name], dtype=np.float64)
        for name, spec in FEATURES.items()
    }


def categorical_features() -> list[str]:
    return [name for name, spec in FEATURES.items() if spec.kind == "categorical"]


def compute(
    prep: Prepared,
    cohorts: Iterable[int],
    t: int,
    pass_score: float,
    *,
    enrolled_only: bool = False,
) -> pd.DataFrame:
    """Features of every student of ``cohorts`` (first-term codes) as of ``t`` (UTC us); with
    ``enrolled_only``, only the students still enrolled at ``t`` (:func:`still_enrolled`)."""
    view, columns = compute_columns(prep, cohorts, t, pass_score)
    keep = still_enrolled(view) if enrolled_only else np.ones(view.n, dtype=bool)
    tables = prep.tables
    students = view.students[keep]
    return pd.DataFrame(
        {
            "student_id": tables.students["student_id"].to_numpy()[students],
            "program_id": pd.Categorical.from_codes(
                prep.student_program[students], categories=tables.programs["program_id"]
            ),
            "first_term_id": pd.Categorical.from_codes(
                view.term[keep], categories=tables.terms["term_id"]
            ),
            **{name: values[keep] for name, values in columns.items()},
            **{
                name: as_categorical(prep, name, columns[name][keep])
                for name in categorical_features()
            },
        },
        copy=False,
    )


def cohorts_in_progress(prep: Prepared, t: int) -> np.ndarray:
    """First terms (of at least one student) in progress at t: local start <= t < end of term."""
    running = (prep.term_start_us <= t) & (t < prep.term_end_us)
    used = np.zeros(prep.n_terms, dtype=bool)
    used[prep.student_first_term] = True
    return np.flatnonzero(running & used)


def features_as_of(
    tables: Tables, as_of: pd.Timestamp, *, pass_score: float = 50.0
) -> pd.DataFrame:
    """One row per *active* first-term student at ``as_of``, from what was visible.

    Active: the student's first term is in progress at ``as_of`` and they are still enrolled in
    it, i.e. not every first-term enrollment seen by then has been dropped by then (a student
    who has left is no longer on an advisor's weekly list, and the training snapshots drop them
    from their withdrawal on). :func:`first_term_features` keeps every student.

    Columns: student_id, program_id, first_term_id, checkpoint_week (fractional weeks since the
    first term's local start), then every feature of :data:`FEATURES` in registry order.
    """
    prep = prepare(tables)
    t = as_of_us(as_of)
    return compute(prep, cohorts_in_progress(prep, t), t, pass_score, enrolled_only=True)


def first_term_features(
    tables: Tables,
    as_of: pd.Timestamp,
    student_ids: Iterable[str] | None = None,
    *,
    pass_score: float = 50.0,
    prepared: Prepared | None = None,
) -> pd.DataFrame:
    """The same features for the given students (all students by default), whatever the term,
    and whether or not they are still enrolled (the driver analysis needs everyone).

    Rows follow ``student_ids`` (or the students table's order). ``prepared`` is
    :func:`prepare` of these same ``tables``, for callers that featurise many instants (the
    driver analysis: one per cohort); without it the tables are prepared on every call.
    """
    if prepared is not None and prepared.tables is not tables:
        raise ValueError("prepared was built from other tables; pass prepare(tables)")
    prep = prepared if prepared is not None else prepare(tables)
    t = as_of_us(as_of)
    all_ids = pd.Index(tables.students["student_id"])
    if student_ids is None:
        codes = np.arange(len(all_ids))
    else:
        wanted = pd.Index(list(student_ids))
        codes = all_ids.get_indexer(wanted)
        if (codes < 0).any():
            unknown = wanted[codes < 0][0]
            raise UsageError(
                f"students table has no student_id {unknown!r}; pass ids from students.csv"
            )
    frame = compute(prep, np.unique(prep.student_first_term[codes]), t, pass_score)
    rows = pd.Index(frame["student_id"]).get_indexer(all_ids[codes])
    return frame.iloc[rows].reset_index(drop=True)
