"""Is the data fresh enough to score? A weekly run on an export that stopped weeks ago would show
every student as inactive since then and tell advisors that everyone is at risk.

Both ``earlywarn score`` and the scheduler's weekly job refuse such data.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from earlywarn.core.errors import UsageError

if TYPE_CHECKING:
    import pandas as pd

    from earlywarn.contract import Tables

STALE_AFTER_DAYS = 14


def last_time_stamp(tables: Tables) -> Any:
    """The latest time stamp the data records (submissions, activity, forum, support tickets),
    or ``None`` when it records none."""
    import pandas as pd

    stamps = [
        frame[column].max()
        for frame, column in (
            (tables.submissions, "submitted_at"),
            (tables.activity, "started_at"),
            (tables.forum_activity, "at"),
            (tables.support_tickets, "opened_at"),
        )
        if frame is not None and len(frame)
    ]
    stamps = [stamp for stamp in stamps if pd.notna(stamp)]
    return max(stamps) if stamps else None


def require_fresh_data(tables: Tables, instant: Any, folder: Path, option: str = "--as-of") -> None:
    """Refuse an instant long after the data's last time stamp: every student would look
    inactive since then, and advisors would be told that everyone is at risk."""
    import pandas as pd

    last = last_time_stamp(tables)
    if last is None:
        return
    gap = pd.Timestamp(instant) - pd.Timestamp(last)
    if gap > pd.Timedelta(days=STALE_AFTER_DAYS):
        raise UsageError(
            f"{option} {pd.Timestamp(instant):%Y-%m-%d %H:%M} UTC is {gap.days} days after the "
            f"last time stamp in {folder} ({pd.Timestamp(last):%Y-%m-%d %H:%M} UTC): every "
            "student would look inactive since then; refresh the data folder, or pass an "
            "earlier --as-of"
        )


def latest_instant(tables: Tables) -> pd.Timestamp | None:
    """Just after the last thing the data records: its last timestamp or the end of its last day
    (``None`` when it records nothing). The default as-of of training and the driver analysis."""
    import pandas as pd

    from earlywarn.core import time as timeutil

    stamps: list[pd.Timestamp] = []
    for frame in tables.present().values():
        for column in frame.columns:
            series = frame[column]
            if isinstance(series.dtype, pd.DatetimeTZDtype) and series.notna().any():
                stamps.append(pd.Timestamp(series.max()) + pd.Timedelta(microseconds=1))
    latest_day = None
    for name, frame in tables.present().items():
        if name == "terms":  # scheduled terms may lie in the future; they are not observations
            continue
        for column in frame.columns:
            series = frame[column]
            if str(series.dtype).startswith("datetime64[s]") and series.notna().any():
                day = pd.Timestamp(series.max())
                latest_day = day if latest_day is None else max(latest_day, day)
    if latest_day is not None:
        for tz in tables.programs["timezone"].unique():
            end = timeutil.end_of_local_day(pd.Series([latest_day]), str(tz)).iloc[0]
            stamps.append(pd.Timestamp(end))
    if not stamps:
        return None
    return max(stamps)
