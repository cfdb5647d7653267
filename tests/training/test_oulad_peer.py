"""The simple peers of benchmarks/oulad_peer.py score the same students as the model: the same
population rule, read from the raw OULAD files instead of through the importer."""

from __future__ import annotations

from pathlib import Path

from click.testing import CliRunner

from earlywarn.cli import cli
from earlywarn.contract import load_tables
from earlywarn.training.dataset import build_training_dataset
from earlywarn.training.pipeline import default_as_of
from tests.paths import TEST_DATA, benchmark_module

SLICE = TEST_DATA / "oulad_slice"


def test_the_peers_score_the_students_the_model_scores_each_week(tmp_path: Path) -> None:
    oulad_peer = benchmark_module("oulad_peer")

    folder = tmp_path / "contract"
    done = CliRunner().invoke(
        cli,
        ["import", "oulad", str(SLICE), "--out", str(folder), "--label", "withdrawn",
         "--no-activity"],
    )  # fmt: skip
    assert done.exit_code == 0, done.output
    tables = load_tables(folder)
    ours = build_training_dataset(tables, default_as_of(tables), weeks=list(oulad_peer.WEEKS))

    peers = oulad_peer.student_weeks(SLICE, "withdrawn")
    peer_ids = (
        peers["code_module"] + "-" + peers["code_presentation"] + "-"
        + peers["id_student"].astype(str)
    )  # fmt: skip
    for week in oulad_peer.WEEKS:
        model_students = set(ours.loc[ours["checkpoint_week"] == week, "student_id"])
        peer_students = set(peer_ids[peers["week"] == week])
        assert peer_students == model_students, f"week {week}"
    # Someone left during these weeks, so the rule was exercised, not just both sides empty.
    assert len(set(peer_ids[peers["week"] == 1])) > len(set(peer_ids[peers["week"] == 8])) > 0
