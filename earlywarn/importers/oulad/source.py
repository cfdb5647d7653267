"""Reading the OULAD files as they circulate, with located errors.

Two variants of the same files are in the wild: the original (every field quoted, CRLF line ends,
missing values as ``""``) and a plain one (unquoted, LF, sometimes ``?`` for missing). Both read to
the same frames here. Every file is read as text first and converted column by column, so a bad
value is reported with its file, line and column instead of a parser's traceback.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Literal

from earlywarn.core.errors import ContractError, DataFolderError, Problem

if TYPE_CHECKING:
    import pandas as pd

Kind = Literal["text", "int", "float"]

#: Values that mean "missing" in one variant or the other.
MISSING_VALUES = ("", "?")
#: The full clickstream and the fragment that ships in its place; the first one present is used.
CLICKSTREAM_FILES = ("studentVle.csv", "studentVle_fragment.csv")
PRESENTATION_PATTERN = r"^\d{4}[BJ]$"


@dataclass(frozen=True)
class Field:
    """One column of an OULAD file: its kind, whether it may be empty, and its allowed values."""

    name: str
    kind: Kind
    required: bool = True
    choices: tuple[str, ...] | None = None
    minimum: float | None = None
    maximum: float | None = None
    pattern: str | None = None


_MODULE = Field("code_module", "text")
_PRESENTATION = Field("code_presentation", "text", pattern=PRESENTATION_PATTERN)
_STUDENT = Field("id_student", "int")

#: The files an OULAD folder holds (besides the clickstream), each with the columns we read.
SOURCES: dict[str, tuple[Field, ...]] = {
    "courses": (_MODULE, _PRESENTATION, Field("module_presentation_length", "int", minimum=1)),
    "assessments": (
        _MODULE,
        _PRESENTATION,
        Field("id_assessment", "int"),
        Field("assessment_type", "text", choices=("TMA", "CMA", "Exam")),
        Field("date", "int", required=False, minimum=0),
        Field("weight", "float", minimum=0),
    ),
    "vle": (
        Field("id_site", "int"),
        _MODULE,
        _PRESENTATION,
        Field("activity_type", "text"),
        Field("week_from", "int", required=False, minimum=0),
    ),
    "studentInfo": (
        _MODULE,
        _PRESENTATION,
        _STUDENT,
        Field("region", "text", required=False),
        Field("highest_education", "text", required=False),
        Field("age_band", "text", required=False),
        Field("num_of_prev_attempts", "int", required=False, minimum=0),
        Field("studied_credits", "int", required=False, minimum=0),
        Field("final_result", "text", choices=("Pass", "Distinction", "Fail", "Withdrawn")),
    ),
    "studentRegistration": (
        _MODULE,
        _PRESENTATION,
        _STUDENT,
        Field("date_registration", "int", required=False),
        Field("date_unregistration", "int", required=False),
    ),
    "studentAssessment": (
        Field("id_assessment", "int"),
        _STUDENT,
        Field("date_submitted", "int"),
        Field("is_banked", "int", required=False, choices=("0", "1")),
        Field("score", "float", required=False, minimum=0, maximum=100),
    ),
}

CLICKSTREAM_FIELDS: tuple[Field, ...] = (
    _MODULE,
    _PRESENTATION,
    _STUDENT,
    Field("id_site", "int"),
    Field("date", "int"),
)

_ROW_PROBLEM_CAP = 50


def check_folder(folder: Path) -> Path | None:
    """Fail unless ``folder`` holds the OULAD files; return its clickstream file, if any."""
    if not folder.is_dir():
        raise DataFolderError(
            f"{folder}: no such folder; pass the folder that holds the OULAD CSVs"
        )
    expected = [f"{name}.csv" for name in SOURCES]
    present = [name for name in expected if (folder / name).is_file()]
    if not present:
        raise DataFolderError(
            f"{folder}: not an OULAD folder (none of {', '.join(expected)} is in it); "
            "pass the folder that holds the unzipped OULAD files"
        )
    missing = [name for name in expected if name not in present]
    if missing:
        raise DataFolderError(
            f"{folder}: OULAD file {missing[0]} is missing"
            + (f" (and {', '.join(missing[1:])})" if len(missing) > 1 else "")
            + "; copy every file of the data set into the folder"
        )
    for name in CLICKSTREAM_FILES:
        if (folder / name).is_file():
            return folder / name
    return None


def read_header(path: Path, fields: tuple[Field, ...]) -> list[str]:
    """The header of an OULAD file, after checking that it has every column we read."""
    try:
        with path.open(encoding="utf-8-sig", newline="") as handle:
            header = next(csv.reader(handle), None)
    except UnicodeDecodeError as exc:
        raise DataFolderError(f"{path}: not UTF-8 text ({exc.reason}); save it as UTF-8") from exc
    if not header:
        raise DataFolderError(f"{path}: empty file; expected a header row and data")
    missing = [field.name for field in fields if field.name not in header]
    if missing:
        raise ContractError(
            [
                Problem(path.name, "missing column; is this the OULAD file?", column=c)
                for c in missing
            ]
        )
    return header


def read_source(folder: Path, name: str) -> pd.DataFrame:
    """One OULAD file as a frame: text columns as ``str``, numbers as ``int64``/``float64``.

    Optional whole-number columns are ``float64`` with NaN for missing. Raises
    :class:`ContractError` naming the file, line and column of every malformed row (up to a cap).
    """
    import pyarrow as pa
    import pyarrow.csv as pacsv

    fields = SOURCES[name]
    path = folder / f"{name}.csv"
    header = read_header(path, fields)
    bad_rows: list[Problem] = []

    def on_invalid_row(row: pacsv.InvalidRow) -> str:
        if len(bad_rows) < _ROW_PROBLEM_CAP:
            bad_rows.append(
                Problem(
                    path.name,
                    f"expected {row.expected_columns} fields, found {row.actual_columns}",
                    row=row.number,
                    value=row.text,
                )
            )
        return "skip"

    try:
        table = pacsv.read_csv(
            path,
            read_options=pacsv.ReadOptions(use_threads=False),
            parse_options=pacsv.ParseOptions(invalid_row_handler=on_invalid_row),
            convert_options=pacsv.ConvertOptions(
                column_types={column: pa.string() for column in header},
                include_columns=[field.name for field in fields],
                null_values=list(MISSING_VALUES),
                strings_can_be_null=True,
                quoted_strings_can_be_null=True,
            ),
        )
    except pa.ArrowInvalid as exc:
        raise DataFolderError(f"{path}: cannot be read as CSV ({exc}); check the file") from exc
    if bad_rows:
        raise ContractError(bad_rows)
    return convert_columns(table.to_pandas(), fields, path.name, first_line=2)


def convert_columns(
    text: pd.DataFrame, fields: tuple[Field, ...], file: str, *, first_line: int
) -> pd.DataFrame:
    """Check and convert text columns to their kinds; row ``i`` is line ``first_line + i``."""
    import numpy as np
    import pandas as pd

    problems: list[Problem] = []
    out: dict[str, pd.Series] = {}
    for field in fields:
        raw = text[field.name]
        present = raw.notna().to_numpy()

        def report(mask: np.ndarray, rule: str, field: Field = field, raw: pd.Series = raw) -> None:
            for row in np.flatnonzero(mask)[: max(0, _ROW_PROBLEM_CAP - len(problems))]:
                value = raw.iloc[row]
                problems.append(
                    Problem(
                        file,
                        rule,
                        row=int(row) + first_line,
                        column=field.name,
                        value=None if pd.isna(value) else str(value),
                    )
                )

        if field.required:
            report(~present, "empty; a value is required")
        if field.choices is not None:
            report(present & ~raw.isin(field.choices).to_numpy(), f"not one of {field.choices}")
        if field.pattern is not None:
            matches = raw.str.fullmatch(field.pattern).fillna(True).to_numpy(dtype=bool)
            report(~matches, "not a presentation code such as 2013J")
        if field.kind == "text":
            out[field.name] = raw
            continue
        numbers = pd.to_numeric(raw, errors="coerce").astype("float64")
        values = numbers.to_numpy()
        not_a_number = present & np.isnan(values)
        report(not_a_number, "not a number")
        if field.kind == "int":
            report(present & ~not_a_number & (values != np.round(values)), "not a whole number")
        if field.minimum is not None:
            report(values < field.minimum, f"below the minimum {field.minimum:g}")
        if field.maximum is not None:
            report(values > field.maximum, f"above the maximum {field.maximum:g}")
        if field.kind == "int" and field.required and not problems:
            out[field.name] = numbers.astype("int64")
        else:
            out[field.name] = numbers
    if problems:
        raise ContractError(problems)
    return pd.DataFrame(out)
