"""Local calendar days and instants, as CONTRACT.md defines them.

A ``date`` is a calendar day in the program's time zone; the instant it "ends" is the local
midnight that follows it. Deadlines are due at the end of a local day, checkpoint week ``w`` is the
local midnight ``start_date + 7w days``. All instants here are UTC ``pandas.Timestamp`` values or
``datetime64[us, UTC]`` arrays.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime
from typing import TypeAlias
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import numpy as np
import pandas as pd

from earlywarn.core.errors import SettingsError

_DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_WEEKLY_TIME = re.compile(r"^\s*([A-Za-z]{3})[a-z]*\s+(\d{1,2}):(\d{2})\s*$")


def is_valid_timezone(name: str) -> bool:
    """Whether ``name`` is an IANA time zone this machine knows."""
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return False
    return True


def local_midnight(days: pd.Series | pd.DatetimeIndex, tz: str) -> pd.Series:
    """The UTC instant at which each calendar day (naive midnight) begins in ``tz``.

    Days whose local midnight does not exist (a DST gap at midnight) start at the first instant
    after the gap; ambiguous midnights take the earlier instant.
    """
    values = pd.Series(pd.to_datetime(days)).dt.tz_localize(
        tz, ambiguous="NaT", nonexistent="shift_forward"
    )
    ambiguous = values.isna() & pd.Series(pd.to_datetime(days)).notna()
    if ambiguous.any():
        values[ambiguous] = (
            pd.Series(pd.to_datetime(days))[ambiguous]
            .dt.tz_localize(tz, ambiguous=np.ones(int(ambiguous.sum()), dtype=bool))
            .to_numpy()
        )
    return values.dt.tz_convert("UTC").dt.as_unit("us")


def end_of_local_day(days: pd.Series | pd.DatetimeIndex, tz: str) -> pd.Series:
    """The UTC instant that ends each calendar day in ``tz`` (the next local midnight).

    A row dated ``d`` is visible as of ``t`` when ``end_of_local_day(d) <= t``; an item due on
    ``d`` is on time when submitted at or before that instant (the contract's 23:59:59.999...).
    """
    return local_midnight(pd.Series(pd.to_datetime(days)) + pd.Timedelta(days=1), tz)


AsOf: TypeAlias = pd.Timestamp
"""An as-of instant: a timezone-aware ``pandas.Timestamp`` in UTC, made by :func:`as_of`.

Features, training snapshots, scoring and the digest all take this one type; text, ``datetime``
values and naive stamps become it at the edge (the CLI, settings, the clock, table time stamps).
"""


def as_of(value: str | datetime | pd.Timestamp | np.datetime64) -> AsOf:
    """The instant ``value`` names, as an :data:`AsOf`: the one place that decides that a value
    without an offset (ISO 8601 text, a naive ``datetime`` or stamp) means UTC."""
    stamp = pd.Timestamp(value)
    if stamp.tzinfo is None:
        stamp = stamp.tz_localize(UTC)
    return stamp.tz_convert("UTC")


def as_of_us(value: AsOf) -> int:
    """An instant as integer UTC microseconds, the unit of the features' arrays."""
    return int(as_of(value).value // 1000)


def aware_utc(value: datetime) -> datetime:
    """A plain timezone-aware ``datetime`` in UTC (what the state database stores)."""
    result: datetime = as_of(value).to_pydatetime()
    return result


def now() -> datetime:
    """The default clock: the current instant, timezone-aware, in UTC. Code that needs the time
    takes a clock argument defaulting to this, so tests pass a fixed one."""
    return datetime.now(UTC)


def local_day(instant: AsOf, tz: str) -> date:
    """The calendar day ``instant`` falls on in the time zone ``tz`` (a program's local day)."""
    return as_of(instant).tz_convert(tz).date()


def parse_weekly_time(text: str, *, setting: str = "retrain_schedule") -> tuple[str, int, int]:
    """Parse 'DAY HH:MM' ('sun 02:30', 'Sunday 2:30') into (day, hour, minute)."""
    match = _WEEKLY_TIME.match(text)
    day = match.group(1).lower() if match else ""
    if match is None or day not in _DAYS:
        raise SettingsError(
            f"{setting}: {text!r} is not 'DAY HH:MM' (for example 'sun 02:00'); fix or unset it"
        )
    hour, minute = int(match.group(2)), int(match.group(3))
    if hour > 23 or minute > 59:
        raise SettingsError(f"{setting}: {text!r} has no such time of day; use 00:00 to 23:59")
    return day, hour, minute
