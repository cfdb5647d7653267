"""`earlywarn validate` as an operator meets it: a summary and exit 0, or problems and exit 2."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from click.testing import CliRunner

from earlywarn.cli import cli
from tests.factories import minimal_institution, write_institution


def run_validate(*args: str) -> subprocess.CompletedProcess[str]:
    """The real entry point (`python -m earlywarn`), as a user's shell runs it."""
    return subprocess.run(
        [sys.executable, "-m", "earlywarn", "validate", *args],
        capture_output=True,
        text=True,
        env={**os.environ, "EARLYWARN_HOME": str(Path(args[0]).parent)},
        check=False,
    )


def test_good_folder_prints_summary_and_exits_0(tmp_path: Path) -> None:
    frames = minimal_institution()
    frames["courses"]["credits"] = "5"
    folder = write_institution(tmp_path / "data", frames, {"activity": "parquet"})
    result = CliRunner().invoke(cli, ["validate", str(folder)])
    assert result.exit_code == 0, result.output
    out = result.stdout
    assert "meets the data contract" in out
    assert "activity                  7 rows  activity.parquet" in out
    assert "students                  5 rows  students.csv" in out
    assert "dates from 2021-01-10 to 2024-12-13" in out
    assert "warning: courses.csv: column credits not in the data contract; ignored" in out


def test_bad_folder_lists_problems_on_stderr_and_exits_2(tmp_path: Path) -> None:
    frames = minimal_institution()
    frames["students"].loc[3, "age"] = "7"
    frames["terms"].loc[0, "season"] = "autumn"
    folder = write_institution(tmp_path / "data", frames)
    result = CliRunner().invoke(cli, ["validate", str(folder)])
    assert result.exit_code == 2
    assert result.stdout == ""
    lines = result.stderr.splitlines()
    assert (
        "terms.csv, line 2, column season: must be one of fall, winter, spring, summer"
        in (lines[0])
    )
    assert lines[1] == (
        "students.csv, line 5, column age: out of range: must be 14 to 100 (value '7')"
    )
    assert "breaks the data contract" in lines[-1]


def test_json_report(tmp_path: Path) -> None:
    frames = minimal_institution()
    frames["activity"].loc[0, "minutes"] = "-5"
    folder = write_institution(tmp_path / "data", frames)
    result = CliRunner().invoke(cli, ["validate", str(folder), "--json"])
    assert result.exit_code == 2
    report = json.loads(result.stdout)
    assert report["ok"] is False
    assert report["tables"]["activity"] == {"file": "activity.csv", "rows": 7}
    assert report["problems"][0] == {
        "file": "activity.csv",
        "row": 2,
        "column": "minutes",
        "value": "-5",
        "rule": "out of range: must be at least 0",
        "message": "activity.csv, line 2, column minutes: out of range: must be at least 0 "
        "(value '-5')",
    }


def test_good_data_exits_0_through_the_entry_point(tmp_path: Path) -> None:
    folder = write_institution(tmp_path / "data", minimal_institution(), "parquet")
    proc = run_validate(str(folder))
    assert proc.returncode == 0, proc.stderr
    assert "meets the data contract" in proc.stdout


def one_line_failure(folder: Path) -> str:
    proc = run_validate(str(folder))
    assert proc.returncode == 2
    assert "Traceback" not in proc.stderr
    lines = proc.stderr.splitlines()
    assert len(lines) == 1, proc.stderr
    return lines[0]


def test_missing_folder_is_one_line(tmp_path: Path) -> None:
    line = one_line_failure(tmp_path / "no-such-data")
    assert (
        line
        == f"error: {tmp_path / 'no-such-data'}: no such folder; give the path of a data folder"
    )


def test_non_utf8_file_is_one_line(tmp_path: Path) -> None:
    folder = write_institution(tmp_path / "data", minimal_institution())
    (folder / "courses.csv").write_bytes(
        (folder / "courses.csv").read_bytes().replace(b"Algorithms", b"Algor\xefthms")
    )
    line = one_line_failure(folder)
    assert line.startswith("courses.csv, line 4: not UTF-8: byte ")


def test_empty_file_is_one_line(tmp_path: Path) -> None:
    folder = write_institution(tmp_path / "data", minimal_institution())
    (folder / "terms.csv").write_bytes(b"")
    assert one_line_failure(folder) == (
        "terms.csv: the file is empty (0 bytes); it needs at least a header row"
    )


def test_table_in_both_formats_is_one_line(tmp_path: Path) -> None:
    frames = minimal_institution()
    folder = write_institution(tmp_path / "data", frames)
    write_institution(folder, {"outcomes": frames["outcomes"]}, "parquet")
    assert "table outcomes is given both as outcomes.csv and outcomes.parquet" in (
        one_line_failure(folder)
    )


def test_help_shows_an_example() -> None:
    result = CliRunner().invoke(cli, ["validate", "--help"])
    assert result.exit_code == 0
    assert "  earlywarn validate data/institution\n" in result.output


def test_a_header_split_on_semicolons_or_tabs_says_the_delimiter_looks_wrong(
    tmp_path: Path,
) -> None:
    folder = write_institution(tmp_path / "data", minimal_institution())
    for delimiter, shown in ((b";", "';'"), (b"\t", "a tab")):
        comma_separated = (folder / "terms.csv").read_bytes().replace(b";", b",")
        (folder / "terms.csv").write_bytes(comma_separated.replace(b",", delimiter))
        assert one_line_failure(folder) == (
            f"terms.csv, line 1: the header splits on {shown}, not on commas: the delimiter "
            "looks wrong; save the file as comma-separated CSV (UTF-8)"
        )
