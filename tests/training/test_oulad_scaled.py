"""The scaled OULAD copy that benchmarks/oulad_scaled.py trains on is valid OULAD: more
registrations, no id shared with the original, and `earlywarn import oulad` takes it."""

from __future__ import annotations

import csv
from pathlib import Path

from click.testing import CliRunner

from earlywarn.cli import cli
from tests.paths import TEST_DATA, benchmark_module

SLICE = TEST_DATA / "oulad_slice"


def _rows(folder: Path, name: str) -> list[dict[str, str]]:
    with (folder / name).open(encoding="utf-8-sig", newline="") as handle:
        return list(csv.DictReader(handle))


def test_the_scaled_copy_adds_the_copied_presentations_under_new_ids(tmp_path: Path) -> None:
    oulad_scaled = benchmark_module("oulad_scaled")

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


def test_the_made_up_clickstream_is_on_each_presentations_sites_and_imports(
    tmp_path: Path,
) -> None:
    oulad_scaled = benchmark_module("oulad_scaled")

    scaled = tmp_path / "scaled"
    registrations = oulad_scaled.write_scaled_copy(SLICE, scaled)
    written = oulad_scaled.write_clickstream(scaled)
    clicks = _rows(scaled, "studentVle.csv")
    assert len(clicks) == written
    # About the full file's density (a Poisson-gamma draw per registration).
    assert 0.5 < written / registrations / oulad_scaled.CLICK_ROWS_PER_REGISTRATION < 1.5
    sites = {(r["code_module"], r["code_presentation"], r["id_site"])
             for r in _rows(scaled, "vle.csv")}  # fmt: skip
    assert all((c["code_module"], c["code_presentation"], c["id_site"]) in sites for c in clicks)
    left = {
        (r["code_module"], r["code_presentation"], r["id_student"]): int(r["date_unregistration"])
        for r in _rows(scaled, "studentRegistration.csv")
        if r["date_unregistration"]
    }
    key = ("code_module", "code_presentation", "id_student")
    assert all(int(c["date"]) <= left.get(tuple(c[k] for k in key), 10**6) for c in clicks)
    assert {c["code_presentation"] for c in clicks} >= {"2012J", "2014J"}

    result = CliRunner().invoke(
        cli,
        ["import", "oulad", str(scaled), "--out", str(tmp_path / "folder"), "--label",
         "withdrawn"],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert (tmp_path / "folder" / "activity.csv").stat().st_size > 0
