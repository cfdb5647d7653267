"""The scaled OULAD copy that benchmarks/oulad_scaled.py trains on is valid OULAD: more
registrations, no id shared with the original, and `earlywarn import oulad` takes it."""

from __future__ import annotations

import csv
import sys
from pathlib import Path

from click.testing import CliRunner

from earlywarn.cli import cli
from tests.paths import REPO, TEST_DATA

SLICE = TEST_DATA / "oulad_slice"


def _rows(folder: Path, name: str) -> list[dict[str, str]]:
    with (folder / name).open(encoding="utf-8-sig", newline="") as handle:
        return list(csv.DictReader(handle))


def test_the_scaled_copy_adds_the_copied_presentations_under_new_ids(tmp_path: Path) -> None:
    sys.path.insert(0, str(REPO / "benchmarks"))
    try:
        import oulad_scaled
    finally:
        sys.path.remove(str(REPO / "benchmarks"))

    registrations = oulad_scaled.write_scaled_copy(SLICE, tmp_path / "scaled")

    original = _rows(SLICE, "studentInfo.csv")
    scaled = _rows(tmp_path / "scaled", "studentInfo.csv")
    copied = [r for r in original if r["code_presentation"] in ("2013J", "2013B")]
    assert registrations == len(scaled) == len(original) + len(copied)
    presentations = {r["code_presentation"] for r in scaled}
    assert {"2012J", "2014J"} <= presentations
    keys = [(r["code_module"], r["code_presentation"], r["id_student"]) for r in scaled]
    assert len(set(keys)) == len(keys)
    originals = {r["id_student"] for r in original}
    made_up = {r["id_student"] for r in scaled if r["code_presentation"] in ("2012J", "2014J")}
    assert not originals & made_up
    submitted = _rows(tmp_path / "scaled", "studentAssessment.csv")
    assert len(submitted) > len(_rows(SLICE, "studentAssessment.csv"))

    result = CliRunner().invoke(
        cli,
        ["import", "oulad", str(tmp_path / "scaled"), "--out", str(tmp_path / "folder"),
         "--label", "withdrawn", "--no-activity"],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    outcomes = _rows(tmp_path / "folder", "outcomes.csv")
    assert len(outcomes) == registrations
