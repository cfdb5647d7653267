"""Instants and days as integers: UTC microseconds, day numbers, and each program's local midnights.

The features work on integer arrays (numpy), so that each as-of instant is a few masks and
bincounts; this module turns table columns into those integers and knows each program's local
midnights (DST included, through :func:`earlywarn.core.time.local_midnight`).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from earlywarn.core import time as timeutil

US_PER_DAY = 86_400_000_000
NEVER = np.iinfo(np.int64).max  # an instant after every as-of: "not seen, ever"
NO_DAY = np.iinfo(np.int64).min


def to_us(series: pd.Series) -> np.ndarray:
    """UTC microseconds of a ``datetime64[.., UTC]`` column; NaT becomes :data:`NEVER`."""
    values = series.dt.as_unit("us")
    out = np.asarray(values.array.asi8, dtype=np.int64).copy()
    out[values.isna().to_numpy()] = NEVER
    return out


def day_numbers(series: pd.Series) -> np.ndarray:
    """Calendar days (days since 1970-01-01) of a naive ``date`` column; NaT becomes NO_DAY."""
    values = series.to_numpy(dtype="datetime64[s]")
    out = values.astype("datetime64[D]").astype(np.int64)
    out[np.isnat(values)] = NO_DAY
    return out


class Zones:
    """Local days and local midnights in each program's time zone."""

    def __init__(self, timezones: list[str]) -> None:
        self.timezones = timezones
        # per program: (first day, UTC microseconds of the local midnight of each following day)
        self._midnights: dict[int, tuple[int, np.ndarray]] = {}

    def _table(self, code: int, low: int, high: int) -> tuple[int, np.ndarray]:
        """Local midnights of program ``code`` for a range of days covering [low, high]."""
        cached = self._midnights.get(code)
        if cached is not None and cached[0] <= low and high < cached[0] + len(cached[1]):
            return cached
        if cached is not None:
            low, high = min(low, cached[0]), max(high, cached[0] + len(cached[1]) - 1)
        days = np.arange(low, high + 1).astype("datetime64[D]").astype("datetime64[s]")
        midnights = timeutil.local_midnight(pd.Series(days), self.timezones[code])
        table = (low, np.asarray(midnights.array.asi8, dtype=np.int64))
        self._midnights[code] = table
        return table

    def midnight_us(self, days: np.ndarray, program: np.ndarray) -> np.ndarray:
        """UTC microseconds of the local midnight that begins each day number (NO_DAY -> NEVER)."""
        out = np.full(len(days), NEVER, dtype=np.int64)
        valid = days != NO_DAY
        for code in np.flatnonzero(np.bincount(program[valid], minlength=len(self.timezones))):
            rows = valid & (program == code)
            wanted = days[rows]
            first, table = self._table(int(code), int(wanted.min()), int(wanted.max()))
            out[rows] = table[wanted - first]
        return out

    def local_day(self, instants_us: np.ndarray, program: np.ndarray) -> np.ndarray:
        """The local day number of each UTC instant in its program's time zone.

        A local day starts within a day of the UTC day, so each instant's local day is its UTC
        day, the one before or the one after, told apart by that program's local midnights.
        """
        if len(instants_us) == 0:
            return np.zeros(0, dtype=np.int64)
        utc_day = instants_us // US_PER_DAY
        low, high = int(utc_day.min()) - 1, int(utc_day.max()) + 2
        width = high - low + 1
        codes = np.flatnonzero(np.bincount(program, minlength=len(self.timezones)))
        grid = np.zeros((len(self.timezones), width + 1), dtype=np.int64)
        for code in codes:
            first, table = self._table(int(code), low, high)
            grid[code, :width] = table[low - first : low - first + width]
        flat = grid.ravel()
        # in-place steps: this runs over every activity row
        index = program * (width + 1)
        index += utc_day
        index -= low
        out = utc_day - 1
        out += instants_us >= flat[index]
        index += 1
        out += instants_us >= flat[index]
        return out
