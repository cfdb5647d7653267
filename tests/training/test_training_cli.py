"""`earlywarn train DIR --json` end to end on the small generated institution, in a real store."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
from click.testing import CliRunner

from earlywarn.cli import cli
from earlywarn.core.settings import load_settings
from earlywarn.model.store import CHALLENGER, MODEL_NAME, alias_version, client, load_model_by_alias


def test_train_json_registers_a_challenger(
    small_institution: Path, tmp_path: Path, mlflow_store_template: Path
) -> None:
    home = tmp_path / "home"
    (home / "mlruns").mkdir(parents=True)
    shutil.copyfile(mlflow_store_template, home / "mlruns" / "mlflow.db")
    result = CliRunner().invoke(
        cli, ["--home", str(home), "train", str(small_institution), "--json"]
    )
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout)  # exactly one JSON object, progress went to stderr
    assert summary["model_name"] == MODEL_NAME
    assert summary["model_version"] == "1"
    assert isinstance(summary["run_id"], str)
    assert isinstance(summary["test_cohort"], str)
    assert summary["weeks"], "no checkpoint week evaluated"
    for week in summary["weeks"]:
        assert {"week", "n", "roc_auc", "pr_auc", "brier", "ece", "baseline_roc_auc"} <= set(week)
        assert {"positives", "roc_auc_ci", "prior_roc_auc", "top_n_precision"} <= set(week)
        assert {"top_n_recall"} <= set(week)
        assert isinstance(week["oracle_roc_auc"], float)  # the truth folder is there
    assert "overall" not in summary
    assert "last_checkpoint" not in summary
    assert summary["trees"] > 1
    assert "program_id" in summary["fairness"]["attributes"]
    assert summary["weeks"] == sorted(summary["weeks"], key=lambda w: w["week"])
    assert "age" not in summary["features"]  # sensitive attributes stay out by default
    assert set(summary["audit_largest_gaps"]) <= {"age_band", "education_level", "country_group"}

    settings = load_settings(home)
    assert alias_version(settings, CHALLENGER) == "1"
    run = client(settings).get_run(summary["run_id"])
    assert run.data.params["as_of"] == summary["as_of"]
    week = summary["weeks"][0]

    def at_week(key: str) -> float:
        history = client(settings).get_metric_history(summary["run_id"], key)
        return next(m.value for m in history if m.step == week["week"])

    assert at_week("roc_auc") == week["roc_auc"]
    assert run.data.metrics["window_mean_roc_auc"] == summary["window"]["mean_roc_auc"]
    version, model = load_model_by_alias(settings, CHALLENGER)
    assert version == "1"
    assert model.feature_names == summary["features"]
    # The per-week drift reference travels with the registered model, and the run shows the
    # calibration error by week against its noise floor.
    assert model.reference_stats_by_week_
    assert all(w["ece_floor_p95"] > 0 for w in summary["weeks"])
    # On generated data the calibration error against the true probabilities is reported and
    # logged; the calibrator learned from out-of-fold scores of every training row.
    assert all(isinstance(w["ece_vs_truth"], float) for w in summary["weeks"])
    assert at_week("ece_vs_truth") == week["ece_vs_truth"]
    assert summary["calibration_rows"] > summary["weeks"][0]["n"]
    logged = {a.path for a in client(settings).list_artifacts(summary["run_id"], "plots")}
    assert "plots/ece_by_week.png" in logged
    risk = model.predict_risk(_first_rows(settings, summary["run_id"]))
    assert np.isfinite(risk).all()


def _first_rows(settings, run_id):  # type: ignore[no-untyped-def]
    import mlflow
    import pandas as pd

    path = mlflow.artifacts.download_artifacts(
        run_id=run_id, artifact_path="evaluation/test_cohort.parquet"
    )
    return pd.read_parquet(path).head(50)


def test_too_few_training_students_is_one_line_exit_2_and_leaves_no_store(tmp_path: Path) -> None:
    import subprocess
    import sys

    from tests.factories import minimal_institution, write_institution

    folder = write_institution(tmp_path / "data", minimal_institution(), "csv")
    home = tmp_path / "home"
    command = ["--home", str(home), "train", str(folder), "--as-of", "2025-01-01", "--json"]
    proc = subprocess.run(
        [sys.executable, "-m", "earlywarn", *command],
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode == 2, proc.stderr
    assert "Traceback" not in proc.stderr
    last = proc.stderr.strip().splitlines()[-1]
    assert last.startswith("error: training dataset: the training cohorts (2023-06 summer)")
    assert "training needs at least 3 of each" in last
    assert proc.stdout == ""
    assert not (home / "mlruns" / "mlflow.db").exists()
