"""Turning validated columns into the typed frames that :mod:`earlywarn.contract.tables` defines."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
import pyarrow as pa

from earlywarn.contract.parse import Parsed, plain
from earlywarn.contract.read import release_freed_memory
from earlywarn.contract.schema import TABLES, Column, key_column
from earlywarn.contract.tables import Tables

if TYPE_CHECKING:
    from earlywarn.contract.parse import LoadedTable

_UTC = pd.DatetimeTZDtype("us", "UTC")


def build_tables(loaded: dict[str, LoadedTable], files: dict[str, Path]) -> Tables:
    """The typed tables of a folder that passed every rule (see the conventions in tables.py).

    Consumes ``loaded``: each column is released as soon as its frame column is built, so the
    file's data and the frames are never both held whole.
    """
    keys = {
        name: _key_index(table)
        for name, table in loaded.items()
        if len(table.spec.key) == 1 and name != "outcomes"
    }
    absent = {
        name: frozenset(c.name for c in table.spec.columns if not table.has(c.name))
        for name, table in loaded.items()
    }
    frames: dict[str, pd.DataFrame | None] = dict.fromkeys(TABLES)
    for name in list(loaded):
        frames[name] = _frame(loaded.pop(name), keys)
    return Tables(**frames, sources=dict(files), absent_columns=absent)


def _key_index(table: LoadedTable) -> pd.Index:
    values = table.columns[key_column(table.spec.name)].values
    assert isinstance(values, pa.Array)
    return pd.Index(plain(values).to_pandas(), dtype="str")


def _frame(table: LoadedTable, keys: dict[str, pd.Index]) -> pd.DataFrame:
    n = table.rows
    series: dict[str, pd.Series] = {}
    for column in table.spec.columns:
        parsed, codes = table.release(column.name)
        series[column.name] = _series(column, n, parsed, codes, keys)
        del parsed, codes
        release_freed_memory()
    # Every series holds arrays of its own (fresh, writable): the frame takes them without a copy.
    return pd.DataFrame(series, index=pd.RangeIndex(n), copy=False)


def _series(
    column: Column,
    n: int,
    parsed: Parsed | None,
    codes: np.ndarray | None,
    keys: dict[str, pd.Index],
) -> pd.Series:
    if column.references is not None:
        categories = keys.get(column.references, pd.Index([], dtype="str"))
        if codes is None:
            codes = np.full(n, -1, dtype=np.int64)
        return pd.Series(pd.Categorical.from_codes(codes, categories=categories), copy=False)
    if column.type == "string":
        if parsed is None:
            return pd.Series([column.default] * n if column.default else [None] * n, dtype="str")
        assert isinstance(parsed.values, pa.Array)
        text = pd.Series(plain(parsed.values).to_pandas(), dtype="str")
        if column.default is not None:
            text = text.fillna(str(column.default))
        return text
    if parsed is None:
        values: np.ndarray = np.full(n, np.nan)
        missing = np.ones(n, dtype=bool)
    else:
        assert isinstance(parsed.values, np.ndarray)
        values, missing = parsed.values, parsed.missing
    return pd.Series(_numpy_values(column, n, values, missing, parsed is None), copy=False)


def _numpy_values(
    column: Column, n: int, values: np.ndarray, missing: np.ndarray, absent: bool
) -> np.ndarray | pd.api.extensions.ExtensionArray:
    """A non-text column's values in their frame type: always a new array, never a view."""
    if column.type == "int":
        if column.default is not None:
            return np.where(missing, float(column.default), values).astype(np.int64)
        if not column.nullable:
            return values.astype(np.int64)
        return np.where(missing, np.nan, values).astype(np.float64, copy=False)
    if column.type == "float":
        return np.where(missing, np.nan, values).astype(np.float64, copy=False)
    if column.type == "bool":
        flags = np.zeros(n, dtype=bool) if absent else values.astype(bool)
        if column.nullable:
            return pd.arrays.BooleanArray(flags, missing.copy())
        return flags
    if column.type == "date":
        if absent:
            return np.full(n, np.datetime64("NaT", "s"))
        return values.astype("datetime64[s]")
    stamps = np.full(n, np.datetime64("NaT", "us")) if absent else values
    return pd.array(stamps.astype("datetime64[us]", copy=False), dtype=_UTC)
