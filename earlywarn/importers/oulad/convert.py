"""The Open University Learning Analytics Dataset (OULAD) as a contract folder.

OULAD (Kuzilek, Hlosta and Zdrahal, Scientific Data 4, 170171, 2017; CC BY 4.0) records one row
per registration of a student on a module presentation. Here each module is a program, each
presentation (``2013J``) is both a term of that program and its one course, and each registration
is one contract student (``AAA-2013J-11391``), because published OULAD results are per
registration and one ``id_student`` may hold several. docs/oulad.md gives every rule and why.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from earlywarn.core.errors import UsageError
from earlywarn.importers.oulad.courses import (
    course_items,
    courses_table,
    programs_table,
    terms_table,
)
from earlywarn.importers.oulad.layout import LABELS, Layout
from earlywarn.importers.oulad.registrations import (
    registration_tables,
    registrations_extra,
    submission_table,
)
from earlywarn.importers.oulad.source import SOURCES, check_folder, read_source
from earlywarn.importers.staging import check_target, staged_folder

if TYPE_CHECKING:
    import pandas as pd


@dataclass
class Converted:
    """The contract tables built from the small OULAD files, plus what the clickstream needs."""

    tables: dict[str, pd.DataFrame]
    extras: dict[str, pd.DataFrame]
    layout: Layout
    skipped: dict[str, int] = field(default_factory=dict)


@dataclass(frozen=True)
class ImportSummary:
    """What an import wrote: rows per table, rows left out (and why), the clickstream file used."""

    out: Path
    rows: dict[str, int]
    skipped: dict[str, int]
    clickstream: str | None
    seconds: float


def import_oulad(
    source: Path,
    out: Path,
    *,
    label: str = "withdrawn",
    activity: bool = True,
    replace: bool = False,
    progress: Callable[[str], None] | None = None,
) -> ImportSummary:
    """Convert the OULAD folder ``source`` into the contract folder ``out``, all or nothing.

    ``label`` chooses what ``outcomes.retained`` means: ``withdrawn`` (did not withdraw) or
    ``not-passed`` (passed, with or without distinction). ``activity=False`` skips the clickstream.
    ``progress`` is told each long step in a few words, once the folders have been checked.
    """
    from earlywarn.importers.oulad.activity import write_activity

    say = progress or (lambda message: None)
    started = time.perf_counter()
    if label not in LABELS:
        raise UsageError(f"unknown label {label!r}; use one of {', '.join(LABELS)}")
    check_target(out, replace=replace)
    clickstream = check_folder(source)
    say(f"reading and converting the OULAD tables in {source}")
    frames = {name: read_source(source, name) for name in SOURCES}
    converted = convert(frames, label=label)
    rows = {name: len(frame) for name, frame in converted.tables.items()}
    skipped = dict(converted.skipped)
    with staged_folder(out, replace=replace) as staging:
        for name, frame in converted.tables.items():
            write_csv(frame, staging / f"{name}.csv")
        (staging / "oulad").mkdir()
        for name, frame in converted.extras.items():
            write_csv(frame, staging / "oulad" / f"{name}.csv")
        if clickstream is not None and activity:
            say(f"converting the clickstream ({clickstream.name}); the longest step")
            written, left_out = write_activity(
                clickstream, converted.layout, staging / "activity.csv"
            )
            rows["activity"] = written
            skipped.update({k: v for k, v in left_out.items() if v})
    return ImportSummary(
        out=out,
        rows=rows,
        skipped=skipped,
        clickstream=clickstream.name if clickstream is not None and activity else None,
        seconds=time.perf_counter() - started,
    )


def write_csv(frame: pd.DataFrame, path: Path) -> None:
    """A contract CSV: UTF-8, header row, LF line ends, empty cells for missing values."""
    frame.to_csv(path, index=False, lineterminator="\n")


def convert(frames: dict[str, pd.DataFrame], *, label: str = "withdrawn") -> Converted:
    """Build every contract table but ``activity`` from the OULAD frames of :func:`read_source`."""
    courses = courses_table(frames["courses"])
    items, sites = course_items(frames["assessments"], frames["vle"], courses)
    students, enrollments, outcomes, registrations, skipped = registration_tables(
        frames["studentInfo"], frames["studentRegistration"], courses, label
    )
    submissions, banked, skipped_submissions = submission_table(
        frames["studentAssessment"], frames["assessments"], courses, registrations
    )
    skipped.update(skipped_submissions)
    tables = {
        "programs": programs_table(courses),
        "terms": terms_table(courses),
        "students": students,
        "courses": courses[["course_id", "program_id", "title", "weeks"]],
        "course_items": items,
        "enrollments": enrollments,
        "submissions": submissions,
        "outcomes": outcomes,
    }
    extras = {"registrations": registrations_extra(frames["studentInfo"], registrations)}
    extras["banked_submissions"] = banked
    order = registrations["key"].argsort(kind="stable").to_numpy()
    layout = Layout(
        courses=courses[["code_module", "code_presentation", "course_id", "start_date"]],
        registration_keys=registrations["key"].to_numpy()[order],
        registration_student_ids=registrations["student_id"].to_numpy(dtype=object)[order],
        site_ids=sites["id_site"].to_numpy(),
        site_course=sites["course"].to_numpy(),
        site_item_ids=sites["item_id"].to_numpy(dtype=object),
    )
    return Converted(tables=tables, extras=extras, layout=layout, skipped=skipped)
