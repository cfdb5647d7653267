"""Turning validated columns into the typed frames that :mod:`earlywarn.contract.tables` defines."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
import pyarrow as pa

from earlywarn.contract.schema import TABLES, Column, key_column
from earlywarn.contract.tables import Tables

if TYPE_CHECKING:
    from earlywarn.contract.validate import LoadedTable


def build_tables(loaded: dict[str, LoadedTable], files: dict[str, Path]) -> Tables:
    """The typed tables of a folder that passed every rule (see the conventions in tables.py)."""
    keys = {
        name: _key_index(table)
        for name, table in loaded.items()
        if len(table.spec.key) == 1 and name != "outcomes"
    }
    frames: dict[str, pd.DataFrame | None] = dict.fromkeys(TABLES)
    for name, table in loaded.items():
        frames[name] = pd.DataFrame(
            {column.name: _series(table, column, keys) for column in table.spec.columns},
            index=pd.RangeIndex(table.rows),
        )
    absent = {
        name: frozenset(c.name for c in table.spec.columns if not table.has(c.name))
        for name, table in loaded.items()
    }
    return Tables(**frames, sources=dict(files), absent_columns=absent)


def _key_index(table: LoadedTable) -> pd.Index:
    values = table.columns[key_column(table.spec.name)].values
    assert isinstance(values, pa.Array)
    return pd.Index(values.to_pandas(), dtype="str")


def _series(table: LoadedTable, column: Column, keys: dict[str, pd.Index]) -> pd.Series:
    n = table.rows
    parsed = table.columns.get(column.name)
    if column.references is not None:
        categories = keys.get(column.references, pd.Index([], dtype="str"))
        codes = table.codes.get(column.name)
        if codes is None:
            codes = np.full(n, -1, dtype=np.int64)
        return pd.Series(pd.Categorical.from_codes(codes, categories=categories))
    if column.type == "string":
        if parsed is None:
            text = pd.Series([column.default] * n if column.default else [None] * n, dtype="str")
            return text
        assert isinstance(parsed.values, pa.Array)
        text = pd.Series(parsed.values.to_pandas(), dtype="str")
        if column.default is not None:
            text = text.fillna(str(column.default))
        return text
    if parsed is None:
        values: np.ndarray = np.full(n, np.nan)
        missing = np.ones(n, dtype=bool)
    else:
        assert isinstance(parsed.values, np.ndarray)
        values, missing = parsed.values, parsed.missing
    if column.type == "int":
        if column.default is not None:
            filled = np.where(missing, float(column.default), values)
            return pd.Series(filled.astype(np.int64))
        if not column.nullable:
            return pd.Series(values.astype(np.int64))
        return pd.Series(np.where(missing, np.nan, values).astype(np.float64))
    if column.type == "float":
        return pd.Series(np.where(missing, np.nan, values).astype(np.float64))
    if column.type == "bool":
        flags = values.astype(bool) if parsed is not None else np.zeros(n, dtype=bool)
        if column.nullable:
            return pd.Series(pd.arrays.BooleanArray(flags, missing.copy()))
        return pd.Series(flags)
    if column.type == "date":
        if parsed is None:
            return pd.Series(np.full(n, np.datetime64("NaT", "s")))
        return pd.Series(values.astype("datetime64[s]"))
    if parsed is None:
        return pd.Series(np.full(n, np.datetime64("NaT", "us"))).dt.tz_localize("UTC")
    return pd.Series(values.astype("datetime64[us]")).dt.tz_localize("UTC")
