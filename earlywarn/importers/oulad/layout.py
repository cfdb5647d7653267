"""How OULAD's keys and day offsets map to the contract: the id layout and local instants.

Shared by the table conversion (:mod:`~earlywarn.importers.oulad.convert`) and the clickstream
conversion (:mod:`~earlywarn.importers.oulad.activity`).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
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
