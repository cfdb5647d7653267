"""OULAD presentations as programs, terms, courses and items (docs/oulad.md has the rules)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from earlywarn.importers.oulad.layout import (
    ITEM_TYPE_OF_ACTIVITY,
    ITEM_TYPE_OF_ASSESSMENT,
    SEASON,
    TIMEZONE,
    course_numbers,
    day_text,
    located_rows,
    presentation_start,
)

if TYPE_CHECKING:
    import pandas as pd


def courses_table(source: pd.DataFrame) -> pd.DataFrame:
    """One row per module presentation, ordered by module and start, numbered from 0."""
    import pandas as pd

    located_rows(
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


def programs_table(courses: pd.DataFrame) -> pd.DataFrame:
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


def terms_table(courses: pd.DataFrame) -> pd.DataFrame:
    return courses.assign(
        start_date=day_text(courses["start_date"]),
        end_date=day_text(courses["end_date"]),
        drop_deadline="",
    )[["term_id", "program_id", "start_date", "end_date", "drop_deadline", "season"]]


def grade_weights(weight: pd.Series, course: pd.Series) -> pd.Series:
    """Each course's weights as shares adding up to 1; equal shares where all are zero."""
    total = weight.groupby(course).transform("sum")
    count = weight.groupby(course).transform("size")
    shares = (weight / total).where(total > 0, 1.0 / count)
    return shares.round(6)


def course_items(
    assessments: pd.DataFrame, vle: pd.DataFrame, courses: pd.DataFrame
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Assessments as graded items, VLE sites as ungraded ones; also the site lookup."""
    import pandas as pd

    for frame, file, column in (
        (assessments, "assessments", "id_assessment"),
        (vle, "vle", "id_site"),
    ):
        located_rows(
            frame, frame[column].duplicated(), f"{file}.csv", "this id is listed twice", column
        )
    course = pd.Series(course_numbers(assessments, courses, "assessments"), index=assessments.index)
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
            "grade_weight": grade_weights(assessments["weight"], course),
            "due_day": due_day.astype(int),
            "_course": course,
            "_last": is_exam,
            "_id": assessments["id_assessment"],
        }
    )
    graded = graded.sort_values(["_course", "_last", "due_day", "_id"], kind="stable")

    site_course = pd.Series(course_numbers(vle, courses, "vle"), index=vle.index)
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
