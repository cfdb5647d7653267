"""Independent definitions of local days and checkpoint instants, for tests to check the product's
integer arrays against (the product computes them in earlywarn.features.calendar)."""

from __future__ import annotations

import pandas as pd

from earlywarn.core.time import local_midnight


def local_dates(instants: pd.Series, tz: str) -> pd.Series:
    """The local calendar day (naive midnight, ``datetime64[s]``) of each UTC instant in ``tz``."""
    local = instants.dt.tz_convert(tz).dt.tz_localize(None)
    return local.dt.normalize().dt.as_unit("s")


def checkpoint_instant(start_date: pd.Timestamp, week: int, tz: str) -> pd.Timestamp:
    """Checkpoint week ``week`` of a term starting on ``start_date``: local midnight 7w days on."""
    day = pd.Series([pd.Timestamp(start_date) + pd.Timedelta(days=7 * week)])
    return pd.Timestamp(local_midnight(day, tz).iloc[0])
