"""``earlywarn drivers`` end to end: load, build the frame, estimate, render, write, log to MLflow.

The report file is written to a temporary name and moved into place, so a failed run never leaves
a half-written report behind.
"""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Literal

from earlywarn.analysis.analysis import DriverEffect, analyse_drivers

if TYPE_CHECKING:
    from earlywarn.core.settings import Settings

Penalty = Literal["plugin", "cv"]

METHOD_TEXT = {
    "plugin": (
        "One linear probability model per driver, with program fixed effects always in. Controls "
        "are chosen by double lasso (a lasso of retention and a lasso of the driver on every "
        "candidate control, keeping the union), with the plug-in penalty of Belloni, Chen, "
        "Chernozhukov and Hansen. Intervals are cluster-robust by program, with Student's t on "
        "programs minus one degrees of freedom."
    ),
    "cv": (
        "One linear probability model per driver, with program fixed effects always in. Controls "
        "are chosen by double lasso (a lasso of retention and a lasso of the driver on every "
        "candidate control, keeping the union), each penalty chosen by 5-fold cross-validation. "
        "Intervals are cluster-robust by program, with Student's t on programs minus one "
        "degrees of freedom."
    ),
}


@dataclass(frozen=True)
class DriversRun:
    """What one run produced."""

    results: list[DriverEffect]
    report_path: Path
    students: int
    programs: int
    run_id: str | None


def results_json(results: list[DriverEffect]) -> str:
    """The ``--json`` output: a list of one object per driver, ranked."""
    return json.dumps([r.as_json() for r in results], indent=2)


def default_report_path(settings: Settings, today: date) -> Path:
    return settings.home / "reports" / f"drivers-{today.isoformat()}.html"


def _write_atomically(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as stream:
            stream.write(text)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def run_drivers(
    data_dir: Path,
    settings: Settings,
    *,
    today: date,
    out: Path | None = None,
    penalty: Penalty = "plugin",
    log_to_mlflow: bool = True,
    progress: Callable[[str], None] | None = None,
) -> DriversRun:
    """Run the whole analysis on the data folder and write the HTML report.

    ``progress`` is told each step in a few words (the CLI prints them on stderr).
    """
    from earlywarn.analysis.design import DRIVERS, build_analysis_frame
    from earlywarn.analysis.report import render_html
    from earlywarn.contract.load import load_tables

    say = progress or (lambda message: None)
    say(f"loading and validating {data_dir}")
    tables = load_tables(data_dir)
    say("building the first-term analysis frame")
    analysis = build_analysis_frame(tables, pass_score=settings.pass_score)
    say(f"estimating {len(DRIVERS)} drivers on {len(analysis.students)} students")
    results = analyse_drivers(analysis, penalty=penalty, random_state=settings.seed)
    students = len(analysis.students)
    programs = int(analysis.students["program_id"].nunique())
    html = render_html(
        results,
        institution=Path(data_dir).resolve().name,
        generated_on=today,
        students=students,
        programs=programs,
        method=METHOD_TEXT[penalty],
        templates_dir=settings.templates_dir,
    )
    report_path = Path(out) if out is not None else default_report_path(settings, today)
    _write_atomically(report_path, html)
    run_id = None
    if log_to_mlflow:
        from earlywarn.analysis.tracking import log_drivers_run

        say("logging the run to MLflow")
        run_id = log_drivers_run(
            settings,
            results,
            html_path=report_path,
            json_text=results_json(results),
            params={
                "data_dir": str(Path(data_dir).resolve()),
                "penalty": penalty,
                "students": students,
                "programs": programs,
                "pass_score": settings.pass_score,
            },
        )
    return DriversRun(results, report_path, students, programs, run_id)
