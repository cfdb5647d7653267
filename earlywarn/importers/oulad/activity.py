"""The OULAD clickstream (studentVle) as the contract's ``activity`` table, streamed.

The full file has 10.6 million rows. It is read in Arrow blocks; each block is reduced to one int64
per row that packs (registration, day, site), the distinct keys are sorted once in NumPy, and the
rows are written back in chunks with Arrow's CSV writer. No Python object is made per row.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from earlywarn.core.errors import ContractError, DataFolderError, Problem
from earlywarn.importers.oulad.layout import MAX_ABS_DAY, Layout, local_instants
from earlywarn.importers.oulad.source import CLICKSTREAM_FIELDS, MISSING_VALUES, read_header

if TYPE_CHECKING:
    import numpy as np
    import pyarrow as pa

_SITE_BITS = 22
_DAY_BITS = 13
_BLOCK_BYTES = 16 << 20
_WRITE_CHUNK = 1 << 20

UNKNOWN_PRESENTATION = "clickstream rows of a presentation not in courses.csv"
NOT_REGISTERED = "clickstream rows of a student not registered on the presentation"
MERGED = "clickstream rows merged into another of the same student, site and day"


def write_activity(path: Path, layout: Layout, target: Path) -> tuple[int, dict[str, int]]:
    """Write one activity row per (registration, site, day) of ``path`` to ``target``.

    Returns the rows written and, by reason, the clickstream rows left out or merged.
    """
    keys, counts = _distinct_keys(path, layout)
    _write_rows(keys, layout, target)
    return len(keys), counts


def _open(path: Path, text_only: bool, bad_rows: list[str]) -> pa.RecordBatchReader:
    import pyarrow as pa
    import pyarrow.csv as pacsv

    header = read_header(path, CLICKSTREAM_FIELDS)
    names = [field.name for field in CLICKSTREAM_FIELDS]
    label = pa.dictionary(pa.int32(), pa.string())
    types: dict[str, pa.DataType] = {name: pa.string() for name in header}
    if not text_only:
        types.update(
            code_module=label, code_presentation=label, id_student=pa.int64(), id_site=pa.int64()
        )
        types["date"] = pa.int64()

    def on_invalid_row(row: pacsv.InvalidRow) -> str:
        bad_rows.append(row.text)
        return "skip"

    try:
        return pacsv.open_csv(
            path,
            read_options=pacsv.ReadOptions(block_size=_BLOCK_BYTES),
            parse_options=pacsv.ParseOptions(invalid_row_handler=on_invalid_row),
            convert_options=pacsv.ConvertOptions(
                column_types=types,
                include_columns=names,
                null_values=list(MISSING_VALUES),
                strings_can_be_null=True,
                quoted_strings_can_be_null=True,
            ),
        )
    except pa.ArrowInvalid as exc:
        raise _located_error(path, exc, bad_rows) from exc


def _distinct_keys(path: Path, layout: Layout) -> tuple[np.ndarray, dict[str, int]]:
    """Every clickstream row of a known registration as a packed key, distinct and sorted."""
    import numpy as np
    import pyarrow as pa

    course_of = {
        (module, presentation): number
        for number, (module, presentation) in enumerate(
            zip(layout.courses["code_module"], layout.courses["code_presentation"], strict=True)
        )
    }
    bad_rows: list[str] = []
    reader = _open(path, False, bad_rows)
    parts: list[np.ndarray] = []
    counts = {UNKNOWN_PRESENTATION: 0, NOT_REGISTERED: 0, MERGED: 0}
    line = 2
    while True:
        try:
            batch = reader.read_next_batch()
        except StopIteration:
            break
        except pa.ArrowInvalid as exc:
            raise _located_error(path, exc, bad_rows) from exc
        if bad_rows:
            raise _located_error(path, None, bad_rows)
        _check_present(batch, path, line)
        module = batch.column("code_module")
        presentation = batch.column("code_presentation")
        table = np.full((len(module.dictionary), len(presentation.dictionary)), -1, np.int64)
        for i, m in enumerate(module.dictionary.to_pylist()):
            for j, p in enumerate(presentation.dictionary.to_pylist()):
                table[i, j] = course_of.get((m, p), -1)
        course = table[module.indices.to_numpy(), presentation.indices.to_numpy()]
        student = batch.column("id_student").to_numpy()
        site = batch.column("id_site").to_numpy()
        day = batch.column("date").to_numpy()
        _check_range(site, 0, (1 << _SITE_BITS) - 1, "id_site", path, line)
        _check_range(day, -MAX_ABS_DAY, MAX_ABS_DAY, "date", path, line)
        known = course >= 0
        counts[UNKNOWN_PRESENTATION] += int((~known).sum())
        wanted = course.astype(np.int64) * (1 << 32) + student
        if not len(layout.registration_keys):
            counts[NOT_REGISTERED] += int(known.sum())
            line += batch.num_rows
            continue
        position = np.searchsorted(layout.registration_keys, wanted)
        position = np.minimum(position, len(layout.registration_keys) - 1)
        found = known & (layout.registration_keys[position] == wanted)
        counts[NOT_REGISTERED] += int((known & ~found).sum())
        packed = (
            (position.astype(np.int64) << (_SITE_BITS + _DAY_BITS))
            | ((day + MAX_ABS_DAY) << _SITE_BITS)
            | site
        )
        parts.append(packed[found])
        line += batch.num_rows
    keys = np.concatenate(parts) if parts else np.empty(0, np.int64)
    keys.sort()  # a plain sort: np.unique hashes first, several times slower on 10M keys
    if len(keys):
        keys = keys[np.concatenate(([True], keys[1:] != keys[:-1]))]
    counts[MERGED] = sum(len(part) for part in parts) - len(keys)
    return keys, counts


def _check_present(batch: pa.RecordBatch, path: Path, line: int) -> None:
    import numpy as np
    import pyarrow.compute as pc

    for name in batch.schema.names:
        column = batch.column(name)
        if column.null_count:
            row = int(np.flatnonzero(pc.is_null(column).to_numpy(zero_copy_only=False))[0])
            raise ContractError(
                [Problem(path.name, "empty; a value is required", row=line + row, column=name)]
            )


def _check_range(
    values: np.ndarray, low: int, high: int, column: str, path: Path, line: int
) -> None:
    import numpy as np

    outside = np.flatnonzero((values < low) | (values > high))
    if len(outside):
        row = int(outside[0])
        raise ContractError(
            [
                Problem(
                    path.name,
                    f"outside the supported range {low} to {high}",
                    row=line + row,
                    column=column,
                    value=str(values[row]),
                )
            ]
        )


def _located_error(path: Path, exc: Exception | None, bad_rows: list[str]) -> Exception:
    """Turn Arrow's unlocated complaint into a Problem with the file's line and column."""
    if bad_rows:
        return ContractError(
            [
                Problem(
                    path.name,
                    "wrong number of fields",
                    row=_line_of(path, bad_rows[0]),
                    value=bad_rows[0],
                )
            ]
        )
    if exc is not None and "conversion error" in str(exc):
        problem = _first_bad_number(path)
        if problem is not None:
            return ContractError([problem])
    return DataFolderError(f"{path}: cannot be read as CSV ({exc}); check the file")


def _line_of(path: Path, text: str) -> int | None:
    """The line number of the first line whose content is ``text`` (error path only)."""
    with path.open(encoding="utf-8-sig", errors="replace") as handle:
        for number, content in enumerate(handle, 1):
            if content.rstrip("\r\n") == text:
                return number
    return None


def _first_bad_number(path: Path) -> Problem | None:
    """Re-read the file as text to find the first value that is not a whole number."""
    import numpy as np
    import pyarrow.compute as pc

    reader = _open(path, True, [])
    line = 2
    whole = r"^\s*-?\d+\s*$"
    for batch in reader:
        for name in ("id_student", "id_site", "date"):
            column = batch.column(name)
            ok = pc.match_substring_regex(column, whole).fill_null(True)
            bad = np.flatnonzero(~ok.to_numpy(zero_copy_only=False))
            if len(bad):
                row = int(bad[0])
                return Problem(
                    path.name,
                    "not a whole number",
                    row=line + row,
                    column=name,
                    value=str(column[row].as_py()),
                )
        line += batch.num_rows
    return None


def _write_rows(keys: np.ndarray, layout: Layout, target: Path) -> None:
    """Decode the packed keys and write the activity rows, a chunk at a time (bounded memory)."""
    import numpy as np
    import pyarrow as pa
    import pyarrow.csv as pacsv

    from earlywarn.contract.schema import TABLES

    students = pa.array(layout.registration_student_ids, pa.string())
    course_ids = pa.array(layout.courses["course_id"].to_numpy(dtype=object), pa.string())
    items = pa.array(layout.site_item_ids, pa.string())
    columns = TABLES["activity"].names
    schema = pa.schema(
        [(name, pa.float64() if name == "minutes" else pa.string()) for name in columns]
    )
    options = pacsv.WriteOptions(quoting_style="needed")
    with pacsv.CSVWriter(target, schema, write_options=options) as writer:
        for start in range(0, len(keys), _WRITE_CHUNK):
            chunk = keys[start : start + _WRITE_CHUNK]
            position = chunk >> (_SITE_BITS + _DAY_BITS)
            day = ((chunk >> _SITE_BITS) & ((1 << _DAY_BITS) - 1)) - MAX_ABS_DAY
            site = chunk & ((1 << _SITE_BITS) - 1)
            course = layout.registration_keys[position] >> 32
            slot = np.searchsorted(layout.site_ids, site)
            slot = np.minimum(slot, max(len(layout.site_ids) - 1, 0))
            is_item = (
                (layout.site_ids[slot] == site) & (layout.site_course[slot] == course)
                if len(layout.site_ids)
                else np.zeros(len(chunk), bool)
            )
            instants, instant_of_row = local_instants(layout.courses["start_date"], course, day)
            course_id = course_ids.take(pa.array(course))
            values = {
                "student_id": students.take(pa.array(position)),
                "course_id": course_id,
                "term_id": course_id,
                "started_at": pa.array(instants, pa.string()).take(pa.array(instant_of_row)),
                "minutes": pa.nulls(len(chunk), pa.float64()),
                "item_id": items.take(pa.array(slot, mask=~is_item)),
            }
            writer.write_table(pa.table([values[name] for name in columns], schema=schema))
