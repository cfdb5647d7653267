"""Validating a data folder against CONTRACT.md, every rule, vectorised.

:func:`validate_folder` reads every table, parses each column to its type and checks the rules
that :mod:`earlywarn.contract.schema` states column by column (required, unique, one of, ranges,
references); :mod:`earlywarn.contract.rules` checks the rules that relate columns and tables. It
collects every problem instead of stopping at the first, and builds the typed
:class:`~earlywarn.contract.tables.Tables` only from a clean folder.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from earlywarn.contract.parse import LoadedTable, combine, parse_column
from earlywarn.contract.read import (
    RawTable,
    find_table_files,
    read_table_file,
    release_freed_memory,
)
from earlywarn.contract.report import ProblemLog, ValidationReport
from earlywarn.contract.schema import TABLES, Column, TableSpec, key_column
from earlywarn.core.errors import Problem

_TYPE_HINTS = {
    "int": "not a whole number",
    "float": "not a number",
    "bool": "not a bool: use true/false or 1/0",
    "date": "not a date: use YYYY-MM-DD (a real calendar day)",
    "timestamp": "not an ISO 8601 timestamp: use e.g. 2024-01-31T14:05:00Z or 2024-01-31 09:05:00",
}


_TOO_LARGE = {
    "int": "too large: a whole number here must be at most 2^53 (9007199254740992) in size",
    "float": "too large: beyond the largest number a 64-bit float holds (about 1.8e308)",
}
# Characters that separate fields when a spreadsheet saves "CSV" in another locale's way.
_OTHER_DELIMITERS = {";": "';'", "\t": "a tab"}


def validate_folder(folder: Path, *, per_rule: int | None = None) -> ValidationReport:
    """Check every rule of the contract on the folder; the report lists what is wrong.

    Raises :class:`~earlywarn.core.errors.DataFolderError` only when ``folder`` is not a readable
    folder; everything else (unreadable files included) is reported as problems.
    """
    from earlywarn.contract.rules import check_cross_table_rules

    folder = Path(folder)
    log = ProblemLog() if per_rule is None else ProblemLog(per_rule)
    files, folder_problems, warnings = find_table_files(folder)
    report = ValidationReport(folder=folder, warnings=warnings, files=dict(files))
    log.extend(folder_problems)
    loaded: dict[str, LoadedTable] = {}
    for name, path in files.items():
        raw = read_table_file(name, path)
        if isinstance(raw, Problem):
            log.add(raw)
            report.unreadable = True
            continue
        log.extend(raw.problems)
        report.row_counts[name] = raw.data.num_rows
        table = _parse_table(raw, log, report.warnings)
        if table is not None:
            loaded[name] = table
    for table in loaded.values():
        _check_columns(table, log)
    for table in loaded.values():
        _check_references(table, loaded, files, log)
    check_cross_table_rules(loaded, log)
    report.date_range = _date_range(loaded)
    report.problems = log.problems
    if not log.problems:
        from earlywarn.contract.build import build_tables

        report.tables = build_tables(loaded, files)
    return report


def _parse_table(raw: RawTable, log: ProblemLog, warnings: list[str]) -> LoadedTable | None:
    spec = TABLES[raw.name]
    names = raw.data.column_names
    seen: set[str] = set()
    for name in names:
        if name in seen:
            log.add(Problem(raw.file, "the header names this column twice", column=name))
        seen.add(name)
    missing = [c.name for c in spec.columns if not c.optional and c.name not in seen]
    hint = _delimiter_hint(names, spec) if missing else None
    if hint is not None:  # one line instead of every column reported missing and unknown
        log.add(Problem(raw.file, hint, row=1))
        return None
    unknown = [name for name in dict.fromkeys(names) if name not in spec.names]
    if unknown:
        warnings.append(
            f"{raw.file}: column{'s' if len(unknown) > 1 else ''} "
            f"{', '.join(unknown)} not in the data contract; ignored"
        )
    for name in missing:
        log.add(
            Problem(
                raw.file,
                f"required column {name} is missing from the header; add it",
                column=name,
            )
        )
    if missing or len(seen) != len(names):
        return None
    table = LoadedTable(raw, spec)
    for column in spec.columns:
        if column.name not in seen:
            continue
        array = combine(raw.data.column(column.name))
        # The file's column and the parsed values share buffers instead of holding two copies.
        position = raw.data.schema.get_field_index(column.name)
        raw.data = raw.data.set_column(position, column.name, array)
        parsed = parse_column(array, column)
        release_freed_memory()
        if isinstance(parsed, str):
            log.add(Problem(raw.file, parsed, column=column.name))
            continue
        table.columns[column.name] = parsed
        not_parsed = parsed.bad
        if parsed.too_large is not None and parsed.too_large.any():
            log.rows(raw, column.name, _TOO_LARGE[column.type], parsed.too_large)
            not_parsed = parsed.bad & ~parsed.too_large
        log.rows(raw, column.name, _TYPE_HINTS.get(column.type, "bad value"), not_parsed)
        if not (column.optional or column.empty_ok):
            rule = "empty: a value is required"
            log.rows(raw, column.name, rule, parsed.missing, lambda rows: [""] * len(rows))
    return table


def _delimiter_hint(names: list[str], spec: TableSpec) -> str | None:
    """When the header only makes sense split on ';' or a tab, say the delimiter looks wrong
    (instead of one 'required column is missing' per column)."""
    header = ",".join(names)
    for delimiter, shown in _OTHER_DELIMITERS.items():
        if delimiter not in header:
            continue
        split = {part.strip().strip('"') for part in header.split(delimiter)}
        if split & set(spec.names):
            return (
                f"the header splits on {shown}, not on commas: the delimiter looks wrong; "
                "save the file as comma-separated CSV (UTF-8)"
            )
    return None


def _check_columns(table: LoadedTable, log: ProblemLog) -> None:
    """Rules of one column at a time: one of, ranges, unique, time zones, email addresses."""
    raw = table.raw
    for column in table.spec.columns:
        if column.name not in table.columns:
            continue
        parsed = table.columns[column.name]
        ok = ~parsed.missing & ~parsed.bad
        if column.choices is not None and isinstance(parsed.values, pa.Array):
            allowed = np.asarray(
                pc.fill_null(pc.is_in(parsed.values, pa.array(column.choices)), True).to_numpy(
                    zero_copy_only=False
                ),
                dtype=bool,
            )
            rule = f"must be one of {', '.join(column.choices)}"
            log.rows(raw, column.name, rule, ~allowed & ~parsed.missing)
        if column.minimum is not None or column.maximum is not None:
            _check_range(table, column, ok, log)
        if column.unique and isinstance(parsed.values, pa.Array):
            _check_unique(table, [column.name], log)
    if table.spec.name == "enrollments" and all(table.has(c) for c in table.spec.key):
        _check_unique(table, list(table.spec.key), log)
    if table.spec.name == "programs" and table.has("timezone"):
        _check_timezones(table, log)
    if table.spec.name == "advisors" and table.has("email"):
        emails = table.text("email")
        looks_ok = pc.match_substring_regex(emails, r"^[^@\s,;<>]+@[^@\s,;<>]+\.[^@\s,;<>.]+$")
        bad = ~np.asarray(pc.fill_null(looks_ok, True).to_numpy(zero_copy_only=False), bool)
        log.rows(raw, "email", "not an email address (name@example.org)", bad)


def _check_range(table: LoadedTable, column: Column, ok: np.ndarray, log: ProblemLog) -> None:
    values = table.values(column.name).astype(np.float64, copy=False)
    outside = np.zeros(table.rows, dtype=bool)
    if column.minimum is not None:
        outside |= values < column.minimum
    if column.maximum is not None:
        outside |= values > column.maximum
    if column.minimum is not None and column.maximum is not None:
        rule = f"out of range: must be {column.minimum:g} to {column.maximum:g}"
    elif column.minimum is not None:
        rule = f"out of range: must be at least {column.minimum:g}"
    else:
        rule = f"out of range: must be at most {column.maximum:g}"
    log.rows(table.raw, column.name, rule, outside & ok)


def _check_unique(table: LoadedTable, columns: list[str], log: ProblemLog) -> None:
    import pandas as pd

    frame = pd.DataFrame({name: table.text(name).to_pandas() for name in columns})
    repeated = frame.duplicated(keep="first").to_numpy() & frame.notna().all(axis=1).to_numpy()
    if len(columns) == 1:
        rule = f"duplicate {columns[0]}: each must appear once"
        log.rows(table.raw, columns[0], rule, repeated)
    else:
        key = ", ".join(columns)
        rule = f"duplicate key ({key}): each combination must appear once"

        def shown(rows: np.ndarray) -> list[str]:
            return ["/".join(map(str, frame.iloc[int(row)].tolist())) for row in rows]

        log.rows(table.raw, None, rule, repeated, shown)


def _check_timezones(table: LoadedTable, log: ProblemLog) -> None:
    from earlywarn.core.time import is_valid_timezone

    zones = table.text("timezone")
    known = {zone: is_valid_timezone(zone) for zone in pc.unique(zones).to_pylist() if zone}
    bad_zones = [zone for zone, ok in known.items() if not ok]
    if bad_zones:
        bad = np.asarray(
            pc.fill_null(pc.is_in(zones, pa.array(bad_zones)), False).to_numpy(
                zero_copy_only=False
            ),
            dtype=bool,
        )
        rule = "unknown time zone: use an IANA name such as America/New_York or UTC"
        log.rows(table.raw, "timezone", rule, bad)


def _check_references(
    table: LoadedTable,
    loaded: dict[str, LoadedTable],
    files: dict[str, Path],
    log: ProblemLog,
) -> None:
    """Each reference column must hold a key of its table; remember the row it points to."""
    for column in table.spec.columns:
        if column.references is None or column.name not in table.columns:
            continue
        child = table.columns[column.name].values
        assert isinstance(child, pa.Array)
        present = ~table.columns[column.name].missing
        parent = loaded.get(column.references)
        parent_key = key_column(column.references)
        if parent is None or parent_key not in parent.columns:
            if column.references not in files and present.any():
                rule = (
                    f"refers to {column.references} but the folder has no {column.references} "
                    f"table: add {column.references}.csv or leave {column.name} empty"
                )
                log.rows(table.raw, column.name, rule, present)
            table.codes[column.name] = None
            continue
        codes = _row_codes(child, parent.text(parent_key))
        table.codes[column.name] = codes
        unknown = present & (codes < 0)
        article = "an" if parent_key[0] in "aeiou" else "a"
        rule = f"not {article} {parent_key} in {parent.raw.file}: use one listed there"
        log.rows(table.raw, column.name, rule, unknown)


def _row_codes(child: pa.Array, keys: pa.Array) -> np.ndarray:
    """The position in ``keys`` of each value of ``child`` (-1: empty or not a key), as int32.

    A dictionary-encoded column is looked up once per distinct value, then spread by its indices.
    """
    if not pa.types.is_dictionary(child.type):
        found = pc.fill_null(pc.index_in(child, value_set=keys), -1)
        return np.array(found.to_numpy(zero_copy_only=False), dtype=np.int32)
    per_value = pc.fill_null(pc.index_in(child.dictionary, value_set=keys), -1)
    # One more entry, -1, for the rows whose index is null (empty values).
    lookup = np.append(per_value.to_numpy(zero_copy_only=False), -1).astype(np.int32)
    indices = child.indices
    if indices.null_count:
        indices = pc.fill_null(indices, len(lookup) - 1)
    return lookup[indices.to_numpy(zero_copy_only=False)]


def _date_range(loaded: dict[str, LoadedTable]) -> tuple[date, date] | None:
    """The earliest and latest calendar day of any date or timestamp in the folder (UTC days)."""
    lows: list[np.datetime64] = []
    highs: list[np.datetime64] = []
    for table in loaded.values():
        for column in table.spec.columns:
            if column.type not in ("date", "timestamp") or column.name not in table.columns:
                continue
            values = table.values(column.name)
            present = table.present(column.name)
            good = values if present.all() else values[present]
            if good.size:
                lows.append(good.min().astype("datetime64[D]"))
                highs.append(good.max().astype("datetime64[D]"))
    if not lows:
        return None
    low: date = min(lows).astype(object)
    high: date = max(highs).astype(object)
    return low, high
