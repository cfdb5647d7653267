"""`earlywarn drivers` end to end on the small synthetic institution, with a real MLflow store."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest
from click.testing import CliRunner

from earlywarn.analysis.design import DRIVERS_IN_REPORT_ORDER
from earlywarn.analysis.glossary import plain_name
from earlywarn.cli import cli
from earlywarn.core.settings import Settings
from earlywarn.features.catalogue import DRIVER_GROUPS

JSON_KEYS = {
    "driver",
    "name",
    "effect_pp",
    "ci_low_pp",
    "ci_high_pp",
    "p25",
    "p75",
    "n",
    "naive_pp",
    "p_value",
    "programs",
    "controls",
    "reason",
    "q_value",
    "cluster_level",
    "clusters",
    "interval_method",
    "courses",
    "hint",
}
COURSE_DESIGN = set(DRIVER_GROUPS["Course structure"])


@pytest.fixture(scope="module")
def json_run(small_institution: Path, tmp_path_factory: pytest.TempPathFactory) -> dict:
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
    payload: dict = json.loads(result.stdout)
    payload["_html"] = out.read_text(encoding="utf-8")
    return payload


def test_json_is_an_object_of_drivers_students_and_programs(json_run: dict) -> None:
    rows = json_run["drivers"]
    assert json_run["n"] > 0
    programs = json_run["programs"]
    assert len(programs) == 4
    assert sum(p["students"] for p in programs) == json_run["n"]
    for program in programs:
        assert program["name"]
        assert program["program_id"]
        assert 0 <= program["retained_pct"] <= 100
        assert set(program["driver_means"]) <= set(DRIVERS_IN_REPORT_ORDER)
    assert sorted(r["driver"] for r in rows) == sorted(DRIVERS_IN_REPORT_ORDER)
    for row in rows:
        assert row.keys() >= JSON_KEYS
        assert row["name"] == plain_name(row["driver"]) != row["driver"]
        if row["driver"] in COURSE_DESIGN:
            assert row["cluster_level"] == "course"
            assert row["courses"] is not None
            assert row["courses"] > 0
        else:
            assert row["cluster_level"] == "student"
            assert row["courses"] is None
        if row["measurable"]:
            assert 0 <= row["p_value"] <= row["q_value"] <= 1
            assert row["interval_method"] in {"hc1", "cr1_t", "wild_cluster_bootstrap_webb"}
            assert row["clusters"] >= 2
            assert row["programs"] == 4
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


def test_report_renders_every_driver_by_its_plain_name(json_run: dict) -> None:
    html = json_run["_html"]
    assert html.startswith("<!DOCTYPE html>")
    assert "<svg" in html
    for driver in DRIVERS_IN_REPORT_ORDER:
        assert f"<strong>{plain_name(driver)}</strong>" in html
        assert f">{plain_name(driver)}</text>" in html
        assert f">{driver}<" not in html  # no variable name as a label or a cell
    summary = html[html.index('id="summary">') : html.index("</p>", html.index('id="summary">'))]
    assert "Of 22 drivers tested on" in summary
    assert summary.count(". ") == 2  # three sentences
    assert 'id="programs"' in html


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
    assert lines[1].startswith("Of 22 drivers tested on ")
    for driver in DRIVERS_IN_REPORT_ORDER:
        assert any(line.startswith(plain_name(driver) + " ") for line in lines), driver
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


def test_student_level_intervals_hold_their_truth_and_narrow_with_students(
    json_run: dict, small_institution: Path
) -> None:
    # The smallest honest test of "every student-level interval holds its truth and is within
    # +/-5 points at 15,000 students": the shared 1,200-student institution (4 programs) for the
    # truth; HC1 half-widths shrink as 1/sqrt(students), so each is scaled to 15,000 here, and
    # benchmarks/drivers_coverage.py measures them on generated 15,000-student institutions.
    truth = json.loads((small_institution / "_truth" / "drivers.json").read_text("utf-8"))
    student_level = [r for r in json_run["drivers"] if r["cluster_level"] == "student"]
    assert len(student_level) == 11
    for row in student_level:
        assert row["measurable"], row["driver"]
        assert row["interval_method"] == "hc1"
        assert row["clusters"] == row["n"]
        assert row["ci_low_pp"] <= truth[row["driver"]] <= row["ci_high_pp"], row["driver"]
        half_width = (row["ci_high_pp"] - row["ci_low_pp"]) / 2
        assert half_width * math.sqrt(row["n"] / 15_000) < 5, row["driver"]
