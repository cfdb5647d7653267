"""training/compare_runs.py lists the latest training run with its weekly AUCs from MLflow."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest
from mlflow import MlflowClient

from earlywarn.core.settings import load_settings
from earlywarn.model.store import tracking_uri
from tests.paths import REPO


def _script() -> object:
    spec = importlib.util.spec_from_file_location(
        "compare_runs", REPO / "training" / "compare_runs.py"
    )
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_latest_run_is_listed_with_its_weekly_auc(
    champion_home: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    settings = load_settings(champion_home)
    uri = tracking_uri(settings)
    client = MlflowClient(tracking_uri=uri, registry_uri=uri)
    run = client.search_runs(
        [client.get_experiment_by_name("earlywarn-retention").experiment_id],
        order_by=["attributes.start_time DESC"],
    )[0]
    week_one = next(
        m.value for m in client.get_metric_history(run.info.run_id, "roc_auc") if m.step == 1
    )

    assert _script().main(["--home", str(champion_home), "--weeks", "1"]) == 0  # type: ignore[attr-defined]
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].split()[:2] == ["run", "started"]
    assert lines[1].startswith(run.info.run_id[:8])
    assert f"{week_one:.3f}/" in lines[1]


def test_a_home_without_a_store_says_what_to_do(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert _script().main(["--home", str(tmp_path)]) == 2  # type: ignore[attr-defined]
    assert "run earlywarn train" in capsys.readouterr().out
