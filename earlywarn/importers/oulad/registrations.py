"""OULAD's registrations as students and enrollments, and its assessment results as submissions."""

from __future__ import annotations

from typing import TYPE_CHECKING

from earlywarn.importers.oulad.layout import (
    AGE_OF_BAND,
    LABELS,
    course_numbers,
    day_text,
    local_instants,
    located_rows,
)

if TYPE_CHECKING:
    import numpy as np
    import pandas as pd


def registration_key(course: np.ndarray, id_student: np.ndarray) -> np.ndarray:
    """One int64 per (course number, id_student): the key the clickstream is joined on."""
    import numpy as np

    return course.astype(np.int64) * (1 << 32) + id_student.astype(np.int64)


def registration_tables(
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
        located_rows(
            frame,
            frame.duplicated(keys),
            f"{file}.csv",
            "this registration is listed twice",
            "id_student",
        )
    course = course_numbers(info, courses, "studentInfo")
    course_numbers(registration, courses, "studentRegistration")
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
            "enrolled_on": day_text(enrolled_on),
            "dropped_on": day_text(dropped_on),
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


def submission_table(
    results: pd.DataFrame,
    assessments: pd.DataFrame,
    courses: pd.DataFrame,
    registrations: pd.DataFrame,
) -> tuple[pd.DataFrame, pd.DataFrame, dict[str, int]]:
    """Each assessment result as a submission at the end of its local day; banked ones aside."""
    import numpy as np
    import pandas as pd

    course = pd.Series(course_numbers(assessments, courses, "assessments"), index=assessments.index)
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
