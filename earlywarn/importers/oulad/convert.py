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
from datetime import date, timedelta
from pathlib import Path
from typing import TYPE_CHECKING

from earlywarn.core.errors import ContractError, Problem, UsageError
from earlywarn.importers.oulad.layout import TIMEZONE, Layout, local_instants
from earlywarn.importers.oulad.source import SOURCES, check_folder, read_source
from earlywarn.importers.staging import check_target, staged_folder

if TYPE_CHECKING:
    import numpy as np
    import pandas as pd

#: A presentation starts on the first Saturday of this month (B: February, J: October).
START_MONTH = {"B": 2, "J": 10}
SEASON = {"B": "spring", "J": "fall"}
SATURDAY = 5
#: A representative age (years) for each OULAD age band.
AGE_OF_BAND = {"0-35": 25, "35-55": 45, "55<=": 62}
ITEM_TYPE_OF_ASSESSMENT = {"TMA": "staff_graded", "CMA": "quiz", "Exam": "staff_graded"}
ITEM_TYPE_OF_ACTIVITY = {
    **dict.fromkeys(
        (
            "resource",
            "oucontent",
            "page",
            "subpage",
            "sharedsubpage",
            "url",
            "glossary",
            "dataplus",
            "dualpane",
            "folder",
            "htmlactivity",
        ),
        "reading",
    ),
    **dict.fromkeys(("quiz", "externalquiz", "questionnaire", "repeatactivity"), "practice"),
    **dict.fromkeys(("ouelluminate", "oucollaborate"), "video"),
    "forumng": "discussion_prompt",
}
LABELS = {
    "withdrawn": ("Pass", "Distinction", "Fail"),
    "not-passed": ("Pass", "Distinction"),
}


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


def presentation_start(presentation: str) -> date:
    """The day a presentation starts: the first Saturday of February (B) or October (J)."""
    first = date(int(presentation[:4]), START_MONTH[presentation[4]], 1)
    return first + timedelta(days=(SATURDAY - first.weekday()) % 7)


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
    courses = _courses(frames["courses"])
    items, sites = _course_items(frames["assessments"], frames["vle"], courses)
    students, enrollments, outcomes, registrations, skipped = _registrations(
        frames["studentInfo"], frames["studentRegistration"], courses, label
    )
    submissions, banked, skipped_submissions = _submissions(
        frames["studentAssessment"], frames["assessments"], courses, registrations
    )
    skipped.update(skipped_submissions)
    tables = {
        "programs": _programs(courses),
        "terms": _terms(courses),
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


def _located(frame: pd.DataFrame, mask: pd.Series, file: str, rule: str, column: str) -> None:
    """Raise a ContractError for the rows of ``frame`` (read from ``file``) selected by ``mask``."""
    rows = frame.index[mask.to_numpy()]
    if len(rows):
        raise ContractError(
            [
                Problem(
                    file, rule, row=int(row) + 2, column=column, value=str(frame.at[row, column])
                )
                for row in rows[:50]
            ]
        )


def _course_numbers(
    frame: pd.DataFrame, courses: pd.DataFrame, file: str, column: str = "code_presentation"
) -> np.ndarray:
    """The course number of each row's (code_module, code_presentation); unknown ones raise."""
    import pandas as pd

    index = pd.MultiIndex.from_frame(courses[["code_module", "code_presentation"]])
    numbers = index.get_indexer(pd.MultiIndex.from_frame(frame[["code_module", column]]))
    _located(
        frame,
        pd.Series(numbers < 0),
        f"{file}.csv",
        "a module presentation that courses.csv does not list",
        column,
    )
    return numbers


def _courses(source: pd.DataFrame) -> pd.DataFrame:
    """One row per module presentation, ordered by module and start, numbered from 0."""
    import pandas as pd

    _located(
        source,
        source.duplicated(["code_module", "code_presentation"]),
        "courses.csv",
        "this module presentation is listed twice",
        "code_presentation",
    )
    courses = source.assign(
        start_date=pd.to_datetime(source["code_presentation"].map(presentation_start)),
    )
    courses = courses.sort_values(["code_module", "start_date"], kind="stable")
    courses = courses.reset_index(drop=True)
    length = courses["module_presentation_length"]
    code = courses["code_module"] + "-" + courses["code_presentation"]
    return courses.assign(
        course_id=code,
        term_id=code,
        program_id=courses["code_module"],
        title="OULAD module " + courses["code_module"] + ", " + courses["code_presentation"],
        end_date=courses["start_date"] + pd.to_timedelta(length, unit="D"),
        weeks=(length // 7 + 1).clip(upper=52),
        season=courses["code_presentation"].str[4].map(SEASON),
    )


def _programs(courses: pd.DataFrame) -> pd.DataFrame:
    import pandas as pd

    modules = courses["code_module"].drop_duplicates()
    return pd.DataFrame(
        {
            "program_id": modules,
            "name": "OULAD module " + modules,
            "terms_per_year": 2,
            "terms_allowed_missing": 0,
            "timezone": TIMEZONE,
        }
    )


def _terms(courses: pd.DataFrame) -> pd.DataFrame:
    return courses.assign(
        start_date=_day_text(courses["start_date"]),
        end_date=_day_text(courses["end_date"]),
        drop_deadline="",
    )[["term_id", "program_id", "start_date", "end_date", "drop_deadline", "season"]]


def _day_text(days: pd.Series) -> pd.Series:
    return days.dt.strftime("%Y-%m-%d")


def _grade_weights(weight: pd.Series, course: pd.Series) -> pd.Series:
    """Each course's weights as shares adding up to 1; equal shares where all are zero."""
    total = weight.groupby(course).transform("sum")
    count = weight.groupby(course).transform("size")
    shares = (weight / total).where(total > 0, 1.0 / count)
    return shares.round(6)


def _course_items(
    assessments: pd.DataFrame, vle: pd.DataFrame, courses: pd.DataFrame
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Assessments as graded items, VLE sites as ungraded ones; also the site lookup."""
    import pandas as pd

    for frame, file, column in (
        (assessments, "assessments", "id_assessment"),
        (vle, "vle", "id_site"),
    ):
        _located(
            frame, frame[column].duplicated(), f"{file}.csv", "this id is listed twice", column
        )
    course = pd.Series(
        _course_numbers(assessments, courses, "assessments"), index=assessments.index
    )
    info = courses.loc[course]
    length = info["module_presentation_length"].to_numpy()
    is_exam = assessments["assessment_type"] == "Exam"
    due_day = assessments["date"].fillna(pd.Series(length, index=assessments.index))
    graded = pd.DataFrame(
        {
            "item_id": info["course_id"].to_numpy()
            + "-A"
            + assessments["id_assessment"].astype(str),
            "course_id": info["course_id"].to_numpy(),
            "week": (due_day // 7 + 1).clip(lower=1, upper=info["weeks"].to_numpy()).astype(int),
            "item_type": assessments["assessment_type"].map(ITEM_TYPE_OF_ASSESSMENT),
            "graded": "true",
            "grade_weight": _grade_weights(assessments["weight"], course),
            "due_day": due_day.astype(int),
            "_course": course,
            "_last": is_exam,
            "_id": assessments["id_assessment"],
        }
    )
    graded = graded.sort_values(["_course", "_last", "due_day", "_id"], kind="stable")

    site_course = pd.Series(_course_numbers(vle, courses, "vle"), index=vle.index)
    site_info = courses.loc[site_course]
    site_items = pd.DataFrame(
        {
            "item_id": site_info["course_id"].to_numpy() + "-V" + vle["id_site"].astype(str),
            "course_id": site_info["course_id"].to_numpy(),
            "week": (vle["week_from"] + 1)
            .fillna(1)
            .clip(lower=1, upper=site_info["weeks"].to_numpy())
            .astype(int),
            "item_type": vle["activity_type"].map(ITEM_TYPE_OF_ACTIVITY).fillna("other"),
            "graded": "false",
            "grade_weight": float("nan"),
            "due_day": pd.NA,
            "_course": site_course,
            "_id": vle["id_site"],
        }
    ).sort_values(["_course", "_id"], kind="stable")
    columns = ["item_id", "course_id", "week", "item_type", "graded", "grade_weight", "due_day"]
    items = pd.concat([graded[columns], site_items[columns]], ignore_index=True)
    items["due_day"] = items["due_day"].astype("Int64")
    sites = pd.DataFrame(
        {
            "id_site": site_items["_id"],
            "course": site_items["_course"],
            "item_id": site_items["item_id"],
        }
    ).sort_values("id_site", kind="stable")
    return items, sites


def registration_key(course: np.ndarray, id_student: np.ndarray) -> np.ndarray:
    """One int64 per (course number, id_student): the key the clickstream is joined on."""
    import numpy as np

    return course.astype(np.int64) * (1 << 32) + id_student.astype(np.int64)


def _registrations(
    info: pd.DataFrame,
    registration: pd.DataFrame,
    courses: pd.DataFrame,
    label: str,
) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame, pd.DataFrame, dict[str, int]]:
    """Students, enrollments and outcomes: one contract student per OULAD registration."""
    import numpy as np
    import pandas as pd

    keys = ["code_module", "code_presentation", "id_student"]
    for frame, file in ((info, "studentInfo"), (registration, "studentRegistration")):
        _located(
            frame,
            frame.duplicated(keys),
            f"{file}.csv",
            "this registration is listed twice",
            "id_student",
        )
    course = _course_numbers(info, courses, "studentInfo")
    _course_numbers(registration, courses, "studentRegistration")
    merged = info.assign(_course=course, _row=np.arange(len(info))).merge(
        registration, on=keys, how="left", validate="one_to_one"
    )
    merged = merged.sort_values(["_course", "id_student"], kind="stable").reset_index(drop=True)
    course_info = courses.loc[merged["_course"]].reset_index(drop=True)
    start = course_info["start_date"]
    student_id = course_info["course_id"] + "-" + merged["id_student"].astype(str)

    unregistered = merged["date_unregistration"]
    registered = merged["date_registration"].fillna(unregistered.clip(upper=0)).fillna(0)
    registered = registered.where(unregistered.isna() | (registered <= unregistered), unregistered)
    enrolled_on = start + pd.to_timedelta(registered, unit="D")
    dropped_on = start + pd.to_timedelta(unregistered, unit="D")

    students = pd.DataFrame(
        {
            "student_id": student_id,
            "program_id": course_info["program_id"],
            "first_term_id": course_info["term_id"],
            "display_name": merged["id_student"].astype(str),
            "age": merged["age_band"].map(AGE_OF_BAND).astype("Int64"),
            "country_group": merged["region"],
            "education_level": merged["highest_education"],
            "prior_attempts": merged["num_of_prev_attempts"].astype("Int64"),
            "first_term_credits": merged["studied_credits"].astype("Int64"),
        }
    )
    enrollments = pd.DataFrame(
        {
            "student_id": student_id,
            "course_id": course_info["course_id"],
            "term_id": course_info["term_id"],
            "enrolled_on": _day_text(enrolled_on),
            "dropped_on": _day_text(dropped_on),
            "is_required": "true",
        }
    )
    retained = merged["final_result"].isin(LABELS[label])
    outcomes = pd.DataFrame(
        {"student_id": student_id, "retained": retained.map({True: "true", False: "false"})}
    )
    registrations = pd.DataFrame(
        {
            "student_id": student_id,
            "key": registration_key(merged["_course"].to_numpy(), merged["id_student"].to_numpy()),
            "source_row": merged["_row"],
        }
    )
    known = pd.MultiIndex.from_frame(info[keys])
    orphans = ~pd.MultiIndex.from_frame(registration[keys]).isin(known)
    skipped = {"studentRegistration rows without a studentInfo row": int(orphans.sum())}
    return students, enrollments, outcomes, registrations, skipped


def registrations_extra(info: pd.DataFrame, registrations: pd.DataFrame) -> pd.DataFrame:
    """OULAD fields the contract has no column for, by contract student (see docs/oulad.md)."""
    rows = info.iloc[registrations["source_row"].to_numpy()].reset_index(drop=True)
    return rows.assign(student_id=registrations["student_id"].to_numpy())[
        [
            "student_id",
            "code_module",
            "code_presentation",
            "id_student",
            "num_of_prev_attempts",
            "studied_credits",
            "final_result",
        ]
    ]


def _submissions(
    results: pd.DataFrame,
    assessments: pd.DataFrame,
    courses: pd.DataFrame,
    registrations: pd.DataFrame,
) -> tuple[pd.DataFrame, pd.DataFrame, dict[str, int]]:
    """Each assessment result as a submission at the end of its local day; banked ones aside."""
    import numpy as np
    import pandas as pd

    course = pd.Series(
        _course_numbers(assessments, courses, "assessments"), index=assessments.index
    )
    by_assessment = pd.Series(course.to_numpy(), index=assessments["id_assessment"].to_numpy())
    result_course = by_assessment.reindex(results["id_assessment"].to_numpy()).to_numpy()
    known_assessment = ~np.isnan(result_course)
    result_course = np.where(known_assessment, result_course, 0).astype(np.int64)
    key = registration_key(result_course, results["id_student"].to_numpy())
    lookup = pd.Series(
        registrations["student_id"].to_numpy(), index=registrations["key"].to_numpy()
    )
    student_id = lookup.reindex(key).to_numpy(dtype=object)
    registered = pd.notna(student_id) & known_assessment
    keep = np.flatnonzero(registered)
    kept = results.iloc[keep]
    course_id = courses["course_id"].to_numpy(dtype=object)[result_course[keep]]
    item_id = course_id + "-A" + kept["id_assessment"].astype(str).to_numpy(dtype=object)
    days = kept["date_submitted"].to_numpy()
    instants, inverse = local_instants(courses["start_date"], result_course[keep], days)
    submissions = pd.DataFrame(
        {
            "student_id": student_id[keep],
            "item_id": item_id,
            "term_id": course_id,
            "submitted_at": np.asarray(instants, dtype=object)[inverse],
            "score": kept["score"].to_numpy(),
            "is_banked": np.where(kept["is_banked"].to_numpy() == 1, "true", "false"),
        }
    )
    banked = kept["is_banked"].to_numpy() == 1
    banked_rows = submissions.loc[banked, ["student_id", "item_id"]].reset_index(drop=True)
    skipped = {
        "studentAssessment rows of an assessment not in assessments.csv": int(
            (~known_assessment).sum()
        ),
        "studentAssessment rows of a student not registered on the presentation": int(
            (known_assessment & ~registered).sum()
        ),
    }
    return submissions, banked_rows, skipped
