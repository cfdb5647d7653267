"""`earlywarn drivers` end to end on the small synthetic institution, with a real MLflow store."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest
from click.testing import CliRunner

from earlywarn.analysis.design import DRIVERS
from earlywarn.cli import cli
from earlywarn.core.settings import Settings

JSON_KEYS = {"driver", "effect_pp", "ci_low_pp", "ci_high_pp", "p25", "p75", "n", "controls"}


@pytest.fixture(scope="module")
def json_run(small_institution: Path, tmp_path_factory: pytest.TempPathFactory) -> list[dict]:
    home = tmp_path_factory.mktemp("drivers-home")
    out = home / "report.html"
    args = ["--home", str(home), "drivers", str(small_institution), "--json", "--no-mlflow"]
    result = CliRunner().invoke(
        cli,
        [*args, "--out", str(out)],
        catch_exceptions=False,
        env={"EARLYWARN_HOME": str(home)},
    )
    assert result.exit_code == 0, result.output
    assert out.is_file()
    rows: list[dict] = json.loads(result.stdout)
    rows.append({"_html": out.read_text(encoding="utf-8")})
    return rows


def test_json_lists_every_driver_once_with_the_required_keys(json_run: list[dict]) -> None:
    rows = json_run[:-1]
    assert sorted(r["driver"] for r in rows) == sorted(DRIVERS)
    for row in rows:
        assert row.keys() >= JSON_KEYS
        assert "naive_pp" in row
        if row["measurable"]:
            assert row["ci_low_pp"] <= row["effect_pp"] <= row["ci_high_pp"]
            assert row["n"] > 0
            assert row["p25"] <= row["p75"]
            assert all(isinstance(c, str) for c in row["controls"])
            assert row["driver"] not in row["controls"]
            assert math.isfinite(row["naive_pp"])
        else:
            assert row["reason"]
    yes_no = [r for r in rows if r["yes_no"] and r["measurable"]]
    assert yes_no
    assert all((r["p25"], r["p75"]) == (0.0, 1.0) for r in yes_no)
    # most of the drivers can be measured on a small institution
    assert sum(r["measurable"] for r in rows) >= 15


def test_report_renders_every_driver(json_run: list[dict]) -> None:
    html = json_run[-1]["_html"]
    assert html.startswith("<!DOCTYPE html>")
    assert "<svg" in html
    for driver in DRIVERS:
        assert f"<strong>{driver}</strong>" in html
        assert f">{driver}</text>" in html


def test_table_run_writes_default_report_and_logs_to_mlflow(
    small_institution: Path, mlflow_settings: Settings
) -> None:
    import mlflow

    home = mlflow_settings.home
    result = CliRunner().invoke(
        cli,
        ["--home", str(home), "drivers", str(small_institution)],
        catch_exceptions=False,
        env={"EARLYWARN_HOME": str(home)},
    )
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert "first-term students with a known first-year outcome" in lines[0]
    for driver in DRIVERS:
        assert any(line.startswith(driver + " ") for line in lines), driver
    reports = list((home / "reports").glob("drivers-*.html"))
    assert len(reports) == 1
    assert f"report: {reports[0]}" in result.output

    from earlywarn.model.store import DRIVERS_EXPERIMENT_NAME, configure_mlflow

    configure_mlflow(mlflow_settings, DRIVERS_EXPERIMENT_NAME)  # apart from training runs
    runs = mlflow.search_runs(filter_string="tags.run_type = 'drivers'", output_format="list")
    assert len(runs) == 1
    run = runs[0]
    assert run.data.params["penalty"] == "plugin"
    assert "effect_pp.courses_enrolled" in run.data.metrics
    client = mlflow.MlflowClient()
    artifacts = {a.path for a in client.list_artifacts(run.info.run_id, "drivers")}
    assert {"drivers/drivers.json", f"drivers/{reports[0].name}"} <= artifacts


def test_a_missing_folder_is_a_usage_error(tmp_path: Path) -> None:
    result = CliRunner().invoke(
        cli, ["--home", str(tmp_path), "drivers", str(tmp_path / "nowhere"), "--no-mlflow"]
    )
    assert result.exit_code != 0
    assert "no such folder; pass the data folder" in str(result.exception)
