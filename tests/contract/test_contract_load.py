"""Loading a data folder: formats, the in-memory conventions, and folders that cannot be read."""

from __future__ import annotations

import codecs
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from earlywarn.contract import ALL_TABLES, Tables, load_tables, validate_folder
from earlywarn.core.errors import ContractError, DataFolderError
from tests.factories import minimal_institution, write_institution


@pytest.fixture
def csv_tables(tmp_path: Path) -> Tables:
    return load_tables(write_institution(tmp_path / "csv", minimal_institution()))


def assert_same_tables(left: Tables, right: Tables) -> None:
    for name in ALL_TABLES:
        a, b = left.get(name), right.get(name)
        assert (a is None) == (b is None), name
        if a is not None and b is not None:
            pd.testing.assert_frame_equal(a, b, check_exact=True, obj=name)


def test_csv_parquet_and_a_mix_load_identically(tmp_path: Path, csv_tables: Tables) -> None:
    frames = minimal_institution()
    parquet = load_tables(write_institution(tmp_path / "pq", frames, "parquet"))
    mixed = load_tables(
        write_institution(
            tmp_path / "mix",
            frames,
            {"students": "parquet", "submissions": "parquet", "activity": "parquet"},
        )
    )
    assert_same_tables(csv_tables, parquet)
    assert_same_tables(csv_tables, mixed)
    assert parquet.sources["students"].name == "students.parquet"
    assert mixed.sources["terms"].name == "terms.csv"


def test_parquet_with_text_columns_loads_like_csv(tmp_path: Path, csv_tables: Tables) -> None:
    """A Parquet file whose columns are all strings (as a spreadsheet export might be)."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    folder = write_institution(tmp_path / "text", minimal_institution())
    for path in list(folder.glob("*.csv")):
        frame = pd.read_csv(path, dtype=str, keep_default_na=False)
        pq.write_table(
            pa.Table.from_pandas(frame, preserve_index=False), path.with_suffix(".parquet")
        )
        path.unlink()
    assert_same_tables(csv_tables, load_tables(folder))


def test_parquet_in_row_groups_with_their_own_dictionaries_loads_like_csv(
    tmp_path: Path, csv_tables: Tables
) -> None:
    """Id columns are read dictionary-encoded; row groups that each hold a different dictionary
    (and a value absent from one of them) must merge into the same table, row for row."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    folder = write_institution(tmp_path / "groups", minimal_institution())
    for path in list(folder.glob("*.csv")):
        frame = pd.read_csv(path, dtype=str, keep_default_na=False)
        table = pa.Table.from_pandas(frame, preserve_index=False)
        # One row per row group: every group has a dictionary of its own.
        pq.write_table(table, path.with_suffix(".parquet"), row_group_size=1, use_dictionary=True)
        path.unlink()
    assert pq.ParquetFile(folder / "activity.parquet").num_row_groups > 1
    assert_same_tables(csv_tables, load_tables(folder))


def test_in_memory_conventions(csv_tables: Tables) -> None:
    t = csv_tables
    assert list(t.students.columns) == [
        "student_id", "program_id", "first_term_id", "advisor_id", "display_name", "age",
        "country_group", "education_level", "platform_joined_on", "admitted_on",
        "prior_attempts", "first_term_credits",  # earlywarn extensions, absent from the file
        "email", "phone",  # optional student contact, absent from the file
    ]  # fmt: skip
    assert t.students["prior_attempts"].dtype == "float64"  # optional int: float with NaN
    assert t.students["prior_attempts"].isna().all()
    assert t.submissions["is_banked"].dtype == "boolean"
    assert isinstance(t.students.index, pd.RangeIndex)
    assert t.students["student_id"].dtype == "str"
    # Reference columns: categories are the parent keys in parent row order.
    assert list(t.students["program_id"].cat.categories) == ["NY", "IN"]
    assert t.enrollments["student_id"].cat.codes.tolist() == [0, 0, 0, 1, 2, 3, 4, 3]
    assert t.students["advisor_id"].cat.codes.tolist() == [0, 0, -1, 1, 1]
    assert t.activity is not None
    assert t.activity["item_id"].cat.codes.tolist() == [0, -1, 3, 0, -1, 5, 8]
    assert t.terms["season"].dtype == "str"
    assert pd.isna(t.terms["season"].iloc[4])
    # Numbers, booleans, defaults.
    assert t.programs["terms_allowed_missing"].tolist() == [1, 0]
    assert t.programs["terms_allowed_missing"].dtype == np.int64
    assert t.courses["weeks"].dtype == np.int64
    assert t.students["age"].dtype == np.float64
    assert np.isnan(t.students["age"].iloc[2])
    graded = [False, True, True, False, True, False, True, True, False]
    assert t.course_items["graded"].tolist() == graded
    assert t.enrollments["is_required"].dtype == "boolean"
    is_required_missing = [False, False, True, False, True, False, False, True]
    assert t.enrollments["is_required"].isna().tolist() == is_required_missing
    assert t.outcomes is not None
    assert t.outcomes["retained"].dtype == bool
    # Dates are naive days; timestamps are UTC instants.
    assert t.terms["start_date"].dtype == "datetime64[s]"
    assert t.terms["start_date"].iloc[0] == pd.Timestamp("2023-09-04")
    assert pd.isna(t.terms["drop_deadline"].iloc[3])
    assert t.submissions["submitted_at"].dtype == "datetime64[us, UTC]"


def test_timestamps_with_offset_are_that_instant_without_are_utc(csv_tables: Tables) -> None:
    at = csv_tables.submissions["submitted_at"]
    assert at.iloc[0] == pd.Timestamp("2023-09-18T02:15:00Z")  # -04:00
    assert at.iloc[2] == pd.Timestamp("2023-09-20T10:00:00Z")  # no offset, space separator
    assert at.iloc[4] == pd.Timestamp("2023-11-06T13:30:00.250Z")  # fraction, -05:00
    assert at.iloc[6] == pd.Timestamp("2023-07-16T18:00:00Z")  # +05:30


def test_optional_columns_absent_get_defaults(tmp_path: Path) -> None:
    frames = minimal_institution()
    frames["programs"] = frames["programs"].drop(columns=["terms_allowed_missing", "timezone"])
    frames["terms"] = frames["terms"].drop(columns=["drop_deadline", "season"])
    tables = load_tables(write_institution(tmp_path, frames))
    assert tables.programs["terms_allowed_missing"].tolist() == [0, 0]
    assert tables.programs["timezone"].tolist() == ["UTC", "UTC"]
    assert tables.terms["drop_deadline"].isna().all()
    assert tables.terms["season"].dtype == "str"


def test_absent_optional_tables_are_none(tmp_path: Path) -> None:
    frames = minimal_institution()
    for name in ("activity", "forum_activity", "open_content", "support_tickets", "outcomes"):
        frames.pop(name)
    tables = load_tables(write_institution(tmp_path, frames))
    assert tables.activity is None
    assert tables.outcomes is None
    assert set(tables.present()) == {
        "programs", "terms", "students", "courses", "course_items", "enrollments",
        "submissions", "advisors",
    }  # fmt: skip


def test_byte_order_mark_is_tolerated(tmp_path: Path, csv_tables: Tables) -> None:
    folder = write_institution(tmp_path / "bom", minimal_institution())
    for path in folder.glob("*.csv"):
        path.write_bytes(codecs.BOM_UTF8 + path.read_bytes())
    assert_same_tables(csv_tables, load_tables(folder))


def test_unknown_columns_and_files_are_ignored_with_a_warning(tmp_path: Path) -> None:
    frames = minimal_institution()
    frames["students"]["favourite_colour"] = "blue"
    folder = write_institution(tmp_path, frames)
    (folder / "_truth").mkdir()
    (folder / "_truth" / "labels.csv").write_text("student_id,risk\nS001,0.2\n")
    (folder / "README.md").write_text("hello\n")
    (folder / "studnets.csv").write_text("student_id\nS001\n")
    report = validate_folder(folder)
    assert report.problems == []
    assert report.warnings == [
        "studnets.csv: not a table of the data contract; ignored",
        "students.csv: column favourite_colour not in the data contract; ignored",
    ]
    assert report.tables is not None
    assert "favourite_colour" not in report.tables.students.columns


def test_header_only_file_is_an_empty_table(tmp_path: Path) -> None:
    folder = write_institution(tmp_path, minimal_institution())
    (folder / "outcomes.csv").write_text("student_id,retained\n")
    tables = load_tables(folder)
    assert tables.outcomes is not None
    assert len(tables.outcomes) == 0
    assert tables.outcomes["retained"].dtype == bool


def folder_problem(folder: Path) -> str:
    report = validate_folder(folder)
    assert report.tables is None
    assert len(report.problems) == 1, [str(p) for p in report.problems]
    return str(report.problems[0])


def test_zero_byte_file(tmp_path: Path) -> None:
    folder = write_institution(tmp_path, minimal_institution())
    (folder / "support_tickets.csv").write_bytes(b"")
    assert folder_problem(folder) == (
        "support_tickets.csv: the file is empty (0 bytes); it needs at least a header row"
    )
    with pytest.raises(DataFolderError, match=r"support_tickets\.csv"):
        load_tables(folder)


def test_file_that_is_not_utf8_names_the_byte(tmp_path: Path) -> None:
    folder = write_institution(tmp_path, minimal_institution())
    path = folder / "advisors.csv"
    text = path.read_bytes()
    offset = text.index(b"Ravi")
    path.write_bytes(text.replace(b"Ravi", b"R\xe9vi"))
    assert folder_problem(folder) == (
        f"advisors.csv, line 3: not UTF-8: byte {offset + 1} (0xe9) cannot be decoded; "
        "save the file as UTF-8"
    )


def test_table_in_both_formats(tmp_path: Path) -> None:
    frames = minimal_institution()
    folder = write_institution(tmp_path, frames)
    write_institution(folder, {"courses": frames["courses"]}, "parquet")
    assert folder_problem(folder) == (
        "courses.parquet: table courses is given both as courses.csv and courses.parquet; "
        "keep one of them"
    )


def test_malformed_csv_row(tmp_path: Path) -> None:
    folder = write_institution(tmp_path, minimal_institution())
    path = folder / "courses.csv"
    path.write_text(path.read_text() + "C-NY-999,NY,Extra,12,oops\n")
    assert folder_problem(folder) == (
        "courses.csv, line 5: malformed row: 5 fields where the header has 4; quote values "
        "that contain commas (value 'C-NY-999,NY,Extra,12,oops')"
    )


def test_missing_folder_and_not_a_folder(tmp_path: Path) -> None:
    with pytest.raises(DataFolderError, match="no such folder"):
        load_tables(tmp_path / "nowhere")
    (tmp_path / "file.csv").write_text("x\n")
    with pytest.raises(DataFolderError, match="not a folder"):
        load_tables(tmp_path / "file.csv")


def test_load_tables_raises_contract_error_with_every_problem(tmp_path: Path) -> None:
    frames = minimal_institution()
    frames["students"].loc[1, "age"] = "200"
    frames["courses"].loc[0, "weeks"] = "0"
    frames["course_items"] = frames["course_items"][
        frames["course_items"]["course_id"] != "C-NY-101"
    ]
    frames["submissions"] = frames["submissions"][
        ~frames["submissions"]["item_id"].isin(["I2", "I3"])
    ]
    frames["activity"] = frames["activity"][frames["activity"]["course_id"] != "C-NY-101"]
    frames["forum_activity"] = frames["forum_activity"].iloc[2:]
    with pytest.raises(ContractError) as caught:
        load_tables(write_institution(tmp_path, frames))
    assert [(p.file, p.row, p.column) for p in caught.value.problems] == [
        ("students.csv", 3, "age"),
        ("courses.csv", 2, "weeks"),
    ]
    assert "courses.csv, line 2, column weeks" in str(caught.value)


def test_report_counts_rows_and_dates(tmp_path: Path) -> None:
    report = validate_folder(write_institution(tmp_path, minimal_institution()))
    assert report.row_counts["activity"] == 7
    assert report.date_range is not None
    assert [d.isoformat() for d in report.date_range] == ["2021-01-10", "2024-12-13"]


def test_tables_written_by_pandas_to_parquet_load_back_identically(
    tmp_path: Path, csv_tables: Tables
) -> None:
    """What a generator writing loaded-style frames with pandas.to_parquet gets back."""
    folder = tmp_path / "roundtrip"
    folder.mkdir()
    for name, frame in csv_tables.present().items():
        frame.to_parquet(folder / f"{name}.parquet", index=False)
    assert_same_tables(csv_tables, load_tables(folder))


def test_numeric_ids_in_parquet_are_refused(tmp_path: Path) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    folder = write_institution(tmp_path, minimal_institution())
    (folder / "outcomes.csv").unlink()
    pq.write_table(
        pa.table({"student_id": pa.array([7, 8]), "retained": pa.array([True, False])}),
        folder / "outcomes.parquet",
    )
    problems = [str(p) for p in validate_folder(folder).problems]
    assert problems == [
        "outcomes.parquet, column student_id: Parquet type int64 cannot hold a string column; "
        "write it as string (ids are text even when they look like numbers)"
    ]
