"""How OULAD's keys and day offsets map to the contract: the id layout and local instants.

Shared by the table conversion (:mod:`~earlywarn.importers.oulad.convert`) and the clickstream
conversion (:mod:`~earlywarn.importers.oulad.activity`).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from typing import TYPE_CHECKING

from earlywarn.core.errors import ContractError, Problem

if TYPE_CHECKING:
    import numpy as np
    import pandas as pd

TIMEZONE = "Europe/London"
#: OULAD records days, not times: a submission or click of day d is placed at this local time,
#: the last minute of the day, so no as-of instant inside day d sees it before the day is over.
LOCAL_TIME_OF_DAY = timedelta(hours=23, minutes=59)
#: Day offsets are packed into integer keys; OULAD's lie well inside this range.
MAX_ABS_DAY = 4000


@dataclass(frozen=True)
class Layout:
    """How OULAD keys map to contract ids; what the clickstream conversion needs.

    ``courses`` is indexed by course number (a row per presentation, with ``code_module``,
    ``code_presentation``, ``course_id``, ``start_date``); ``registration_keys`` is sorted and
    ``registration_student_ids`` aligned with it; ``site_ids`` is sorted with ``site_course`` and
    ``site_item_ids`` aligned with it.
    """

    courses: pd.DataFrame
    registration_keys: np.ndarray
    registration_student_ids: np.ndarray
    site_ids: np.ndarray
    site_course: np.ndarray
    site_item_ids: np.ndarray


def local_instants(
    start_dates: pd.Series, course: np.ndarray, days: np.ndarray
) -> tuple[list[str], np.ndarray]:
    """ISO 8601 instants (with the London offset) of local day ``days`` of each row's course.

    Returns the distinct instants and, per row, the index of its instant, so a caller with
    millions of rows builds only as many strings as there are distinct (course, day) pairs.
    """
    import numpy as np
    import pandas as pd

    days = np.asarray(days, dtype=np.int64)
    if len(days) and int(np.abs(days).max()) > MAX_ABS_DAY:
        raise ContractError(
            [Problem("OULAD", f"a day offset beyond ±{MAX_ABS_DAY}", value=str(np.abs(days).max()))]
        )
    pair = np.asarray(course, dtype=np.int64) * (2 * MAX_ABS_DAY + 1) + (days + MAX_ABS_DAY)
    # A dense table over (course, day) instead of np.unique: linear time on millions of rows.
    seen = np.zeros(len(start_dates) * (2 * MAX_ABS_DAY + 1), dtype=bool)
    seen[pair] = True
    unique = np.flatnonzero(seen)
    inverse = (np.cumsum(seen) - 1)[pair]
    unique_course = unique // (2 * MAX_ABS_DAY + 1)
    unique_day = unique % (2 * MAX_ABS_DAY + 1) - MAX_ABS_DAY
    local = (
        start_dates.to_numpy()[unique_course]
        + pd.to_timedelta(unique_day, unit="D").to_numpy()
        + np.timedelta64(LOCAL_TIME_OF_DAY)
    )
    stamps = pd.DatetimeIndex(local).tz_localize(TIMEZONE)
    return [stamp.isoformat() for stamp in stamps], inverse


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


def presentation_start(presentation: str) -> date:
    """The day a presentation starts: the first Saturday of February (B) or October (J)."""
    first = date(int(presentation[:4]), START_MONTH[presentation[4]], 1)
    return first + timedelta(days=(SATURDAY - first.weekday()) % 7)


def located_rows(frame: pd.DataFrame, mask: pd.Series, file: str, rule: str, column: str) -> None:
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


def course_numbers(
    frame: pd.DataFrame, courses: pd.DataFrame, file: str, column: str = "code_presentation"
) -> np.ndarray:
    """The course number of each row's (code_module, code_presentation); unknown ones raise."""
    import pandas as pd

    index = pd.MultiIndex.from_frame(courses[["code_module", "code_presentation"]])
    numbers = index.get_indexer(pd.MultiIndex.from_frame(frame[["code_module", column]]))
    located_rows(
        frame,
        pd.Series(numbers < 0),
        f"{file}.csv",
        "a module presentation that courses.csv does not list",
        column,
    )
    return numbers


def day_text(days: pd.Series) -> pd.Series:
    return days.dt.strftime("%Y-%m-%d")
