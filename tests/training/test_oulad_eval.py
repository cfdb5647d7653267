"""OULAD end to end: import the committed slice, train with `earlywarn train --json`, and check the
per-week evaluation of the latest presentation and that only students still enrolled are scored.

The expected counts are read from the slice's own OULAD files with the csv module (never from
our code), so the test holds for any slice cut by tests/data/oulad_slice/cut_slice.py.
"""

from __future__ import annotations

import csv
import json
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

from earlywarn.cli import cli
from earlywarn.training.params import CHECKPOINT_WEEKS
from tests.paths import TEST_DATA, benchmark_module

SLICE = TEST_DATA / "oulad_slice"
WEEK_KEYS = {"week", "n", "roc_auc", "pr_auc", "brier", "ece", "baseline_roc_auc"}


def source_rows(name: str) -> list[dict[str, str]]:
    with (SLICE / name).open(encoding="utf-8-sig", newline="") as handle:
        return list(csv.DictReader(handle))


def still_registered(presentation: str, week: int) -> int:
    """Registrations of ``presentation`` not withdrawn before local day 7 * week (a withdrawal
    on day d is known from the end of day d, so it is seen at the checkpoint when d < 7w)."""
    return sum(
        1
        for row in source_rows("studentRegistration.csv")
        if row["code_presentation"] == presentation
        and not (row["date_unregistration"] and int(row["date_unregistration"]) < 7 * week)
    )


@pytest.mark.parametrize("label", ["withdrawn", "not-passed"])
def test_import_and_train_evaluate_the_latest_presentation_by_week(
    tmp_path: Path, mlflow_store_template: Path, label: str
) -> None:
    runner = CliRunner()
    folder = tmp_path / "oulad"
    imported = runner.invoke(
        cli, ["import", "oulad", str(SLICE), "--out", str(folder), "--label", label]
    )
    assert imported.exit_code == 0, imported.output
    home = tmp_path / "home"
    (home / "mlruns").mkdir(parents=True)
    shutil.copyfile(mlflow_store_template, home / "mlruns" / "mlflow.db")
    trained = runner.invoke(cli, ["--home", str(home), "train", str(folder), "--json"])
    assert trained.exit_code == 0, trained.output
    summary = json.loads(trained.stdout)

    latest = max(
        (row for row in source_rows("courses.csv")),
        key=lambda row: (row["code_presentation"][:4], row["code_presentation"][4]),
    )["code_presentation"]
    expected_cohorts = sorted(
        f"{row['code_module']}-{row['code_presentation']}"
        for row in source_rows("courses.csv")
        if row["code_presentation"] == latest
    )
    assert summary["test_cohorts"] == expected_cohorts
    weeks = [row["week"] for row in summary["weeks"]]
    # Every week of the first eight, then the sparser training checkpoints inside the term.
    assert weeks[:8] == list(range(1, 9))
    assert set(weeks) <= set(CHECKPOINT_WEEKS)
    assert len(weeks) >= 12
    for row in summary["weeks"]:
        assert set(row) >= WEEK_KEYS
        # Only students still enrolled at the checkpoint are in that week's test rows.
        assert row["n"] == still_registered(latest, row["week"]), row["week"]
        assert row["positives"] <= row["n"]
    assert summary["weeks"][-1]["n"] < summary["weeks"][0]["n"], "nobody withdrew in the slice?"
    # OULAD fills the extension columns; it has no forum, support or open-course tables.
    assert "prior_attempts" in summary["features"]
    assert "first_term_credits" in summary["features"]
    assert "forum_replies" in summary["features_never_observed"]


def test_the_benchmark_imports_the_clickstream_only_when_the_full_file_is_there(
    tmp_path: Path,
) -> None:
    oulad_eval = benchmark_module("oulad_eval")

    # The shared copy and the slice hold only the fragment: every student of another
    # presentation would read as never active, so the benchmark leaves the clickstream out.
    assert (SLICE / "studentVle_fragment.csv").is_file()
    assert not oulad_eval.has_clickstream(SLICE)
    full = tmp_path / "full"
    shutil.copytree(SLICE, full)
    shutil.copyfile(SLICE / "studentVle_fragment.csv", full / "studentVle.csv")
    assert oulad_eval.has_clickstream(full)
    summary = oulad_eval.evaluate(full, "withdrawn", tmp_path / "work", clickstream=True)
    assert summary["clickstream"] is True
    # Imported with the activity: its features are observed for the fragment's students.
    assert "days_active_first_term" not in summary["features_never_observed"]
