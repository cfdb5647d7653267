"""What a user sees when the OULAD import cannot work: one located line, exit 2, nothing written."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from earlywarn.cli import main
from tests.importers.test_oulad import SLICE, plain_variant


def run(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    with pytest.raises(SystemExit) as exit_info:
        main(argv)
    captured = capsys.readouterr()
    return int(exit_info.value.code or 0), captured.out, captured.err


def copy_of_slice(tmp_path: Path) -> Path:
    return Path(shutil.copytree(SLICE, tmp_path / "source"))


def replace_line(path: Path, number: int, text: str) -> str:
    """Replace line ``number`` (1-based) of ``path``, keeping the file's line ends."""
    lines = path.read_bytes().decode().splitlines(keepends=True)
    old = lines[number - 1]
    ending = "\r\n" if old.endswith("\r\n") else "\n"
    lines[number - 1] = text + ending
    path.write_bytes("".join(lines).encode())
    return old


def assert_nothing_written(out: Path) -> None:
    assert not out.exists()
    assert [p.name for p in out.parent.iterdir() if p.name.startswith(f".{out.name}")] == []


def test_cli_imports_and_prints_row_counts(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = run(["import", "oulad", str(SLICE), "--out", str(tmp_path / "out")], capsys)
    assert code == 0, err
    assert "students" in out
    assert "activity" in out
    assert (tmp_path / "out" / "students.csv").is_file()


def test_a_folder_that_is_not_oulad(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "notes").mkdir()
    (tmp_path / "notes" / "students.csv").write_text("student_id\nS1\n")
    code, _, err = run(
        ["import", "oulad", str(tmp_path / "notes"), "--out", str(tmp_path / "o")], capsys
    )
    assert code == 2
    assert "not an OULAD folder" in err
    assert len(err.strip().splitlines()) == 1
    assert "Traceback" not in err
    assert_nothing_written(tmp_path / "o")


def test_a_missing_file_is_named(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    source = copy_of_slice(tmp_path)
    (source / "studentAssessment.csv").unlink()
    code, _, err = run(["import", "oulad", str(source), "--out", str(tmp_path / "o")], capsys)
    assert code == 2
    assert "studentAssessment.csv is missing" in err
    assert len(err.strip().splitlines()) == 1
    assert_nothing_written(tmp_path / "o")


@pytest.mark.parametrize("variant", ["original", "plain"])
def test_a_bad_value_is_located_by_file_line_and_column(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], variant: str
) -> None:
    source = (
        copy_of_slice(tmp_path) if variant == "original" else plain_variant(SLICE, tmp_path / "p")
    )
    path = source / "studentAssessment.csv"
    old = replace_line(path, 5, "")
    fields = old.strip().replace('"', "").split(",")
    bad = ",".join([fields[0], fields[1], "soon", *fields[3:]])
    replace_line(path, 5, bad if variant == "plain" else ",".join(f'"{v}"' for v in bad.split(",")))
    code, _, err = run(["import", "oulad", str(source), "--out", str(tmp_path / "o")], capsys)
    assert code == 2
    assert "studentAssessment.csv, line 5, column date_submitted" in err
    assert "'soon'" in err
    assert_nothing_written(tmp_path / "o")


def test_a_row_with_missing_fields_is_located(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    source = copy_of_slice(tmp_path)
    replace_line(source / "studentInfo.csv", 7, '"AAA","2013J","99"')
    code, _, err = run(["import", "oulad", str(source), "--out", str(tmp_path / "o")], capsys)
    assert code == 2
    assert "studentInfo.csv, line 7" in err
    assert "expected 12 fields, found 3" in err


def test_an_unknown_presentation_is_located(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    source = copy_of_slice(tmp_path)
    old = replace_line(source / "studentRegistration.csv", 3, "")
    replace_line(
        source / "studentRegistration.csv", 3, old.strip().replace('"2013J"', '"2019J"', 1)
    )
    code, _, err = run(["import", "oulad", str(source), "--out", str(tmp_path / "o")], capsys)
    assert code == 2
    assert "studentRegistration.csv, line 3, column code_presentation" in err
    assert "courses.csv does not list" in err


def test_a_bad_clickstream_row_leaves_nothing_half_written(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The clickstream is read last, inside the staging folder: a bad row there must undo it all."""
    source = copy_of_slice(tmp_path)
    clicks = source / "studentVle_fragment.csv"
    old = replace_line(clicks, 40, "")
    fields = old.strip().split(",")
    replace_line(clicks, 40, ",".join([*fields[:4], "day-two", fields[5]]))
    out = tmp_path / "o"
    code, _, err = run(["import", "oulad", str(source), "--out", str(out)], capsys)
    assert code == 2
    assert "studentVle_fragment.csv, line 40, column date" in err
    assert "'day-two'" in err
    assert_nothing_written(out)

    replace_line(clicks, 40, ",".join(fields[:4]))
    code, _, err = run(["import", "oulad", str(source), "--out", str(out)], capsys)
    assert code == 2
    assert "studentVle_fragment.csv, line 40" in err
    assert "wrong number of fields" in err
    assert_nothing_written(out)


def test_an_existing_folder_needs_force_and_is_then_replaced(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "out"
    out.mkdir()
    (out / "old.txt").write_text("keep me unless forced")
    argv = ["import", "oulad", str(SLICE), "--out", str(out), "--no-activity"]
    code, _, err = run(argv, capsys)
    assert code == 2
    assert "--force" in err
    assert (out / "old.txt").exists()
    code, _, err = run([*argv, "--force"], capsys)
    assert code == 0, err
    assert not (out / "old.txt").exists()
    assert (out / "students.csv").is_file()
    assert [p.name for p in tmp_path.iterdir()] == ["out"]
