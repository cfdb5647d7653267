"""``earlywarn drivers`` end to end: load, build the frame, estimate, render, write, log to MLflow.

The report file is written to a temporary name and moved into place, so a failed run never leaves
a half-written report behind.
"""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from earlywarn.analysis.analysis import DriverEffect, analyse_drivers

if TYPE_CHECKING:
    from earlywarn.core.settings import Settings

Penalty = Literal["plugin", "cv"]

_SELECTION = {
    "plugin": "with the plug-in penalty of Belloni, Chen, Chernozhukov and Hansen",
    "cv": "each penalty chosen by 5-fold cross-validation",
}
_INTERVALS = (
    "Intervals are computed where each driver varies: heteroskedasticity-robust (HC1) for "
    "student behaviour and open content, which vary between students; clustered by first-term "
    "course set for course design, which varies between courses (CR1 with Student's t from 30 "
    "clusters, the wild cluster bootstrap with Webb weights below). q-values adjust the p-values "
    "for testing every driver at once (Benjamini-Hochberg); a course-design estimate resting on "
    "fewer courses than the driver_min_courses setting is a hint, not a finding."
)
METHOD_TEXT = {
    penalty: (
        "One linear probability model per driver, with program fixed effects always in. Controls "
        "are chosen by double lasso (a lasso of retention and a lasso of the driver on every "
        f"candidate control, keeping the union), {selection}. {_INTERVALS}"
    )
    for penalty, selection in _SELECTION.items()
}


@dataclass(frozen=True)
class DriversRun:
    """What one run produced."""

    results: list[DriverEffect]
    report_path: Path
    students: int
    programs: int
    run_id: str | None
    program_rows: list[dict[str, Any]] = field(default_factory=list)
    summary: list[str] = field(default_factory=list)


def results_json(results: list[DriverEffect], students: int, programs: list[dict[str, Any]]) -> str:
    """The ``--json`` output: ``{"drivers": [...], "n": students, "programs": [...]}``.

    ``drivers`` holds one object per driver, ranked; ``programs`` one per program (id, name,
    students, retention in percent, each driver's mean).
    """
    payload = {"drivers": [r.as_json() for r in results], "n": students, "programs": programs}
    return json.dumps(payload, indent=2)


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
    from earlywarn.analysis.design import DRIVERS_IN_REPORT_ORDER, build_analysis_frame
    from earlywarn.analysis.report import render_html
    from earlywarn.analysis.summary import program_summaries, summary_sentences
    from earlywarn.contract.load import load_tables

    say = progress or (lambda message: None)
    say(f"loading and validating {data_dir}")
    tables = load_tables(data_dir)
    say("building the first-term analysis frame")
    analysis = build_analysis_frame(tables, pass_score=settings.pass_score)
    say(f"estimating {len(DRIVERS_IN_REPORT_ORDER)} drivers on {len(analysis.students)} students")
    min_courses = settings.driver_min_courses
    results = analyse_drivers(
        analysis, penalty=penalty, random_state=settings.seed, min_courses=min_courses
    )
    students = len(analysis.students)
    programs = int(analysis.students["program_id"].nunique())
    names = dict(
        zip(
            tables.programs["program_id"].astype(str),
            tables.programs["name"].astype(str),
            strict=True,
        )
    )
    program_rows = program_summaries(analysis.students, analysis.drivers, names)
    html = render_html(
        results,
        institution=Path(data_dir).resolve().name,
        generated_on=today,
        students=students,
        programs=programs,
        method=METHOD_TEXT[penalty],
        program_rows=program_rows,
        min_courses=min_courses,
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
            json_text=results_json(results, students, program_rows),
            params={
                "data_dir": str(Path(data_dir).resolve()),
                "penalty": penalty,
                "students": students,
                "programs": programs,
                "pass_score": settings.pass_score,
                "driver_min_courses": min_courses,
            },
        )
    summary = summary_sentences(
        results, students=students, programs=programs, min_courses=min_courses
    )
    return DriversRun(results, report_path, students, programs, run_id, program_rows, summary)
