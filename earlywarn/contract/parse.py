"""Parsing a column read as Arrow to its contract type, vectorised, marking what does not parse.

Text (every CSV column, and Parquet columns stored as strings) is parsed by pattern and cast;
Parquet columns that already have a type are accepted when that type fits the contract's.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from earlywarn.contract.read import RawTable
from earlywarn.contract.schema import Column, TableSpec

_INT_PATTERN = r"^\s*[+-]?\d+\s*$"
_FLOAT_PATTERN = r"^\s*[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?\s*$"
_DATE_PATTERN = r"^\d{4}-\d{2}-\d{2}$"
_OFFSET_PATTERN = r"[T ]\d.*([Zz]|[+-]\d\d(:?\d\d)?)$"
# Whole numbers beyond this do not survive a float64; nothing in the contract comes near it.
_LARGEST_INT = 2**53


@dataclass
class Parsed:
    """A column parsed to its contract type: an Arrow array (strings) or numpy values.

    String values may be dictionary-encoded (the reader reads repeating text so, see
    ``load._label_columns``); :func:`plain` decodes them.
    """

    values: pa.Array | np.ndarray
    missing: np.ndarray  # bool per row: the value is empty
    bad: np.ndarray  # bool per row: the value is present but does not parse
    too_large: np.ndarray | None = None  # bool per row: a number, but beyond what fits (in bad)


def combine(column: pa.ChunkedArray) -> pa.Array:
    """The column as one array; a dictionary-encoded column stays encoded, with one dictionary."""
    if pa.types.is_dictionary(column.type) and column.num_chunks > 1:
        column = column.unify_dictionaries()
    return column.combine_chunks() if column.num_chunks != 1 else column.chunk(0)


def plain(array: pa.Array) -> pa.Array:
    """A string column's values as plain text (a dictionary-encoded one decoded)."""
    return array.dictionary_decode() if pa.types.is_dictionary(array.type) else array


def _as_text(array: pa.Array) -> pa.Array:
    if pa.types.is_large_string(array.type) or pa.types.is_string_view(array.type):
        return array.cast(pa.string())
    return array


def _is_text(t: pa.DataType) -> bool:
    return pa.types.is_string(t) or pa.types.is_large_string(t) or pa.types.is_string_view(t)


def _null_mask(array: pa.Array) -> np.ndarray:
    if array.null_count == 0:
        return np.zeros(len(array), dtype=bool)
    return np.asarray(array.is_null().to_numpy(zero_copy_only=False), dtype=bool)


def _mask(array: pa.Array) -> np.ndarray:
    """A boolean Arrow array as numpy, nulls as False."""
    return np.asarray(pc.fill_null(array, False).to_numpy(zero_copy_only=False), dtype=bool)


def parse_column(array: pa.Array, spec: Column) -> Parsed | str:
    """Parse one column to ``spec.type``; a message when its Arrow type cannot hold that type.

    A dictionary-encoded text column of a ``string`` type stays encoded (see :func:`plain`).
    """
    if pa.types.is_dictionary(array.type):
        if spec.type == "string" and _is_text(array.type.value_type):
            return _parse_labels(array)
        array = array.dictionary_decode()
    array = _as_text(array)
    if pa.types.is_string(array.type):
        # An empty string is a missing value, as an empty CSV field is.
        empty = pc.equal(array, "")
        if pc.any(empty).as_py():
            array = pc.if_else(empty, pa.scalar(None, pa.string()), array)
        return _parse_text(array, spec)
    if pa.types.is_null(array.type):
        n = len(array)
        return _parse_text(pa.nulls(n, pa.string()), spec)
    return _parse_typed(array, spec)


def _parse_labels(array: pa.DictionaryArray) -> Parsed:
    """Dictionary-encoded text: an empty (or null) dictionary value makes its rows missing."""
    dictionary = _as_text(array.dictionary)
    indices = array.indices
    empty = pc.fill_null(pc.equal(dictionary, ""), True)
    if pc.any(empty).as_py():
        dropped = pc.fill_null(pc.take(empty, indices), False)
        indices = pc.if_else(dropped, pa.scalar(None, indices.type), indices)
    labels = pa.DictionaryArray.from_arrays(indices, dictionary)
    return Parsed(labels, _null_mask(indices), np.zeros(len(labels), dtype=bool))


def _parse_text(array: pa.Array, spec: Column) -> Parsed:
    missing = _null_mask(array)
    kind = spec.type
    if kind == "string":
        return Parsed(array, missing, np.zeros(len(array), dtype=bool))
    if kind in ("int", "float"):
        pattern = _INT_PATTERN if kind == "int" else _FLOAT_PATTERN
        ok = _mask(pc.match_substring_regex(array, pattern))
        bad = ~ok & ~missing
        good = pc.if_else(pa.array(ok), pc.utf8_trim_whitespace(array), None)
        values = np.asarray(pc.cast(good, pa.float64()).to_numpy(zero_copy_only=False), float)
        # 1e400 reads as infinity and a 23-digit integer loses its last digits: both too large.
        limit = _LARGEST_INT if kind == "int" else np.finfo(np.float64).max
        with np.errstate(invalid="ignore"):
            too_large = ok & ~(np.abs(values) <= limit)
        return Parsed(values, missing, bad | too_large, too_large)
    if kind == "bool":
        lowered = pc.utf8_lower(array)
        is_true = _mask(pc.is_in(lowered, pa.array(["true", "1"])))
        is_false = _mask(pc.is_in(lowered, pa.array(["false", "0"])))
        bad = ~(is_true | is_false) & ~missing
        return Parsed(is_true, missing, bad)
    if kind == "date":
        shaped = _mask(pc.match_substring_regex(array, _DATE_PATTERN))
        good = pc.if_else(pa.array(shaped), array, None)
        days = pc.strptime(good, format="%Y-%m-%d", unit="s", error_is_null=True)
        # strptime rolls 2024-02-30 over to March: keep only days that print back the same.
        same = _mask(pc.equal(pc.strftime(days, format="%Y-%m-%d"), good))
        days = pc.if_else(pa.array(same), days, None)
        values = days.to_numpy(zero_copy_only=False).astype("datetime64[s]")
        bad = np.isnat(values) & ~missing
        return Parsed(values, missing, bad)
    return _parse_timestamps(array, missing)


def _parse_timestamps(array: pa.Array, missing: np.ndarray) -> Parsed:
    utc = pa.timestamp("us", tz="UTC")
    try:  # The common case: every value carries an offset (or "Z").
        stamps = pc.cast(array, utc)
    except pa.ArrowInvalid:
        try:  # ... or none does, and they mean UTC.
            stamps = pc.cast(pc.cast(array, pa.timestamp("us")), utc)
        except pa.ArrowInvalid:
            stamps = _parse_mixed_timestamps(array)
    values = _utc_micros(stamps)
    bad = np.isnat(values) & ~missing
    return Parsed(values, missing, bad)


def _parse_mixed_timestamps(array: pa.Array) -> pa.Array:
    """Values with and without offsets, and some that do not parse (those become null)."""
    import pandas as pd

    with_offset = _mask(pc.match_substring_regex(array, _OFFSET_PATTERN))
    parts = []
    for select, target in ((with_offset, pa.timestamp("us", tz="UTC")), (~with_offset, None)):
        subset = pc.if_else(pa.array(select), array, None)
        try:
            if target is None:
                parsed = pc.cast(pc.cast(subset, pa.timestamp("us")), pa.timestamp("us", "UTC"))
            else:
                parsed = pc.cast(subset, target)
        except pa.ArrowInvalid:
            text = pd.Series(subset.to_pandas(), dtype=object)
            coerced = pd.to_datetime(text, format="ISO8601", utc=True, errors="coerce")
            micros = coerced.dt.tz_convert(None).dt.as_unit("us").to_numpy()
            parsed = pa.array(micros, pa.timestamp("us"), from_pandas=True)
            parsed = pc.assume_timezone(parsed, "UTC")
        parts.append(parsed)
    return pc.if_else(pa.array(with_offset), parts[0], parts[1])


def _utc_micros(stamps: pa.Array) -> np.ndarray:
    micros = pc.cast(stamps, pa.timestamp("us", tz="UTC")).cast(pa.int64())
    if not micros.null_count:  # No copy: a view of the Arrow buffer.
        return np.asarray(micros.to_numpy(), dtype=np.int64).view("datetime64[us]")
    values = np.asarray(pc.fill_null(micros, 0).to_numpy(zero_copy_only=False), dtype=np.int64)
    values = np.where(_null_mask(micros), np.iinfo(np.int64).min, values)
    return values.view("datetime64[us]")


def _parse_typed(array: pa.Array, spec: Column) -> Parsed | str:
    """A Parquet column that already has a type: accept the Arrow types that fit the contract."""
    kind = spec.type
    t = array.type
    missing = _null_mask(array)
    no_bad = np.zeros(len(array), dtype=bool)
    wrong = f"Parquet type {t} cannot hold a {kind} column; write it as {kind}"
    if kind == "string":
        return wrong + " (ids are text even when they look like numbers)"
    if kind in ("int", "float"):
        if not (pa.types.is_integer(t) or pa.types.is_floating(t)):
            return wrong
        values = np.asarray(pc.cast(array, pa.float64()).to_numpy(zero_copy_only=False), float)
        bad = no_bad
        too_large = None
        if kind == "int":
            whole = np.isfinite(values) & (np.floor(values) == values)
            too_large = ~missing & np.isinf(values) | (whole & (np.abs(values) > _LARGEST_INT))
            bad = ~missing & ~(whole & (np.abs(values) <= _LARGEST_INT))
        elif kind == "float":
            bad = ~missing & ~np.isfinite(values)
            too_large = ~missing & np.isinf(values)
        return Parsed(values, missing, bad, too_large)
    if kind == "bool":
        if pa.types.is_boolean(t):
            return Parsed(_mask(array), missing, no_bad)
        if pa.types.is_integer(t):
            numbers = pc.fill_null(array, 0).to_numpy(zero_copy_only=False)
            return Parsed(numbers == 1, missing, ~missing & ~np.isin(numbers, (0, 1)))
        return wrong
    if kind == "date":
        if pa.types.is_date(t) or (pa.types.is_timestamp(t) and t.tz is None):
            values = pc.cast(array, pa.timestamp("s")).to_numpy(zero_copy_only=False)
            values = values.astype("datetime64[s]")
            bad = ~missing & (values != values.astype("datetime64[D]"))
            return Parsed(values, missing, bad)
        return wrong
    if pa.types.is_timestamp(t):
        stamps = array if t.tz is not None else pc.assume_timezone(array, "UTC")
        return Parsed(_utc_micros(stamps), missing, no_bad)
    return wrong


@dataclass
class LoadedTable:
    """A table whose columns have been parsed: the working state of the validator."""

    raw: RawTable
    spec: TableSpec
    columns: dict[str, Parsed] = field(default_factory=dict)
    # Reference column -> row of the referenced table (-1: empty or unknown); None if unchecked.
    codes: dict[str, np.ndarray | None] = field(default_factory=dict)

    @property
    def rows(self) -> int:
        return self.raw.data.num_rows

    def has(self, column: str) -> bool:
        return column in self.columns

    def values(self, column: str) -> np.ndarray:
        parsed = self.columns[column].values
        if isinstance(parsed, pa.Array):
            raise TypeError(f"{column} is a string column")
        return parsed

    def text(self, column: str) -> pa.Array:
        """A string column's values as plain text (decoded if they are dictionary-encoded)."""
        parsed = self.columns[column].values
        if not isinstance(parsed, pa.Array):
            raise TypeError(f"{column} is not a string column")
        return plain(parsed)

    def present(self, column: str) -> np.ndarray:
        """Rows whose value in ``column`` is there and parsed (False when the column is absent)."""
        if column not in self.columns:
            return np.zeros(self.rows, dtype=bool)
        parsed = self.columns[column]
        return ~parsed.missing & ~parsed.bad

    def code(self, column: str) -> np.ndarray | None:
        return self.codes.get(column)

    def release(self, column: str) -> tuple[Parsed | None, np.ndarray | None]:
        """Hand over a column's parsed values and row codes, dropping them (and the file's column)
        from this table, so that building the frames frees each column as it goes."""
        if column in self.raw.data.column_names:
            self.raw.data = self.raw.data.drop_columns([column])
        return self.columns.pop(column, None), self.codes.pop(column, None)
