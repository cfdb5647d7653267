"""Reading a data folder: find each table's file and read it as Arrow (CSV columns as text).

Column types are parsed in :mod:`earlywarn.contract.parse`. Reading is multi-threaded Arrow I/O,
so a table of ten million rows reads in seconds. Reading never raises for bad data: it reports
:class:`~earlywarn.core.errors.Problem` values, which the validator collects.
:func:`earlywarn.contract.load.load_tables` is the one entry point the rest of the project uses.
"""

from __future__ import annotations

import codecs
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pyarrow as pa

from earlywarn.contract.schema import TABLES
from earlywarn.core.errors import DataFolderError, Problem

FORMATS = ("csv", "parquet")


@dataclass
class RawTable:
    """One table file read as Arrow, before any type is parsed."""

    name: str
    path: Path
    data: pa.Table
    problems: list[Problem] = field(default_factory=list)

    @property
    def file(self) -> str:
        return self.path.name

    @property
    def is_csv(self) -> bool:
        return self.path.suffix == ".csv"

    def location(self, index: np.ndarray) -> np.ndarray:
        """Line numbers in a CSV (header = line 1) or 0-based row indexes in Parquet."""
        return index + 2 if self.is_csv else index


def find_table_files(folder: Path) -> tuple[dict[str, Path], list[Problem], list[str]]:
    """Map each contract table to its file; report tables in both formats and missing ones.

    Files and folders the contract does not name (``_truth/``, ``README.md``) are left alone;
    other ``.csv``/``.parquet`` files get a warning, since a misspelt table name looks like that.
    """
    if not folder.exists():
        raise DataFolderError(f"{folder}: no such folder; give the path of a data folder")
    if not folder.is_dir():
        raise DataFolderError(f"{folder}: not a folder; give the folder that holds the tables")
    try:
        entries = sorted(folder.iterdir())
    except OSError as exc:
        raise DataFolderError(f"{folder}: cannot list the folder ({exc.strerror})") from exc
    files: dict[str, Path] = {}
    problems: list[Problem] = []
    warnings: list[str] = []
    for path in entries:
        if not path.is_file() or path.suffix.lstrip(".") not in FORMATS:
            continue
        name = path.stem
        if name not in TABLES:
            warnings.append(f"{path.name}: not a table of the data contract; ignored")
            continue
        if name in files:
            problems.append(
                Problem(
                    path.name,
                    f"table {name} is given both as {files[name].name} and {path.name}; "
                    "keep one of them",
                )
            )
            continue
        files[name] = path
    for name, spec in TABLES.items():
        if spec.required and name not in files:
            problems.append(
                Problem(
                    f"{name}.csv",
                    f"required table {name} is missing: add {name}.csv or {name}.parquet",
                )
            )
    in_contract_order = {name: files[name] for name in TABLES if name in files}
    return in_contract_order, problems, warnings


def read_table_file(name: str, path: Path) -> RawTable | Problem:
    """Read a CSV (every column as text) or Parquet file; a Problem when it cannot be read."""
    try:
        size = path.stat().st_size
    except OSError as exc:
        return Problem(path.name, f"cannot read the file ({exc.strerror})")
    if size == 0:
        return Problem(path.name, "the file is empty (0 bytes); it needs at least a header row")
    if path.suffix == ".csv":
        return _read_csv(name, path)
    return _read_parquet(name, path)


def _read_csv(name: str, path: Path) -> RawTable | Problem:
    import pyarrow.csv as pcsv

    try:
        with path.open("rb") as handle:
            first = handle.readline()
    except OSError as exc:
        return Problem(path.name, f"cannot read the file ({exc.strerror})")
    header_text = first.removeprefix(codecs.BOM_UTF8)
    try:
        header = header_text.decode("utf-8").rstrip("\r\n")
    except UnicodeDecodeError:
        return _not_utf8(path)
    names = next(iter(_split_header(header)), [])
    if not names or names == [""]:
        return Problem(path.name, "the first line is empty; it must be the header row", row=1)
    bad_rows: list[Problem] = []
    bad_count = 0

    def on_invalid_row(row: pcsv.InvalidRow) -> str:
        nonlocal bad_count
        bad_count += 1
        if len(bad_rows) < 20:
            bad_rows.append(
                Problem(
                    path.name,
                    f"malformed row: {row.actual_columns} fields where the header has "
                    f"{row.expected_columns}; quote values that contain commas",
                    row=row.number,
                    value=row.text,
                )
            )
        return "skip"

    labels = set(_label_columns(name))
    label_type = pa.dictionary(pa.int32(), pa.string())

    def read(use_threads: bool) -> pa.Table:
        return pcsv.read_csv(
            path,
            read_options=pcsv.ReadOptions(use_threads=use_threads, block_size=1 << 24),
            parse_options=pcsv.ParseOptions(invalid_row_handler=on_invalid_row),
            convert_options=pcsv.ConvertOptions(
                column_types={c: label_type if c in labels else pa.string() for c in names},
                null_values=[""],
                strings_can_be_null=True,
                quoted_strings_can_be_null=True,
            ),
        )

    try:
        data = read(use_threads=True)
        if bad_count:
            # Only a single-threaded read knows the line numbers of malformed rows.
            bad_rows.clear()
            bad_count = 0
            data = read(use_threads=False)
    except pa.ArrowInvalid as exc:
        if "UTF8" in str(exc) or "utf8" in str(exc).lower():
            return _not_utf8(path)
        return Problem(path.name, f"cannot parse the CSV file: {exc}")
    except OSError as exc:
        return Problem(path.name, f"cannot read the file ({exc})")
    raw = RawTable(name, path, data)
    raw.problems.extend(bad_rows)
    if bad_count > len(bad_rows):
        raw.problems.append(
            Problem(path.name, f"... and {bad_count - len(bad_rows)} more malformed rows")
        )
    return raw


def _split_header(header: str) -> list[list[str]]:
    import csv

    return list(csv.reader([header]))


def _not_utf8(path: Path) -> Problem:
    """Name the first byte that is not UTF-8, with its line, reading the file in chunks."""
    decoder = codecs.getincrementaldecoder("utf-8")()
    offset = 0
    line = 1
    with path.open("rb") as handle:
        while chunk := handle.read(1 << 20):
            try:
                decoder.decode(chunk)
            except UnicodeDecodeError as exc:
                # exc.start is relative to the bytes the decoder held plus this chunk.
                held = len(decoder.getstate()[0])
                position = max(exc.start - held, 0)
                bad_offset = offset + position
                line += chunk[:position].count(b"\n")
                return Problem(
                    path.name,
                    f"not UTF-8: byte {bad_offset} (0x{chunk[position]:02x}) cannot be decoded; "
                    "save the file as UTF-8",
                    row=line,
                )
            offset += len(chunk)
            line += chunk.count(b"\n")
    return Problem(path.name, "not UTF-8; save the file as UTF-8")


def _read_parquet(name: str, path: Path) -> RawTable | Problem:
    import pyarrow.parquet as pq

    try:
        data = pq.read_table(path, read_dictionary=_label_columns(name))
    except (pa.ArrowException, OSError) as exc:
        return Problem(path.name, f"cannot read the Parquet file: {exc}")
    return RawTable(name, path, data)


def _label_columns(name: str) -> list[str]:
    """Columns to read dictionary-encoded: the table's ``string`` columns whose values repeat.

    Ids of students, courses and terms repeat on every row of an activity table: one copy of each
    distinct value and a 4-byte index per row take a fraction of the memory of the text. The
    Parquet reader ignores the names of columns that the file lacks or that do not hold text.
    """
    return [c.name for c in TABLES[name].columns if c.type == "string" and not c.unique]


def release_freed_memory() -> None:
    """Hand the memory that Arrow's allocator has freed back to the system.

    The allocator keeps freed blocks for reuse; the loader frees large buffers table by table and
    column by column, so without this the peak memory of loading counts them twice.
    """
    pa.default_memory_pool().release_unused()
