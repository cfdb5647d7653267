"""Time and memory of each pipeline stage on synthetic institutions of several sizes.

    .venv/bin/python benchmarks/run.py                      # 5,000, 17,960 and 60,000 students
    .venv/bin/python benchmarks/run.py --sizes 17960        # one size
    .venv/bin/python benchmarks/run.py --quick              # a tiny run (1,000 students)
    .venv/bin/python benchmarks/run.py --save               # and record them (make bench)

Each stage runs in a child process of its own, so its peak resident memory (``ru_maxrss``) is its
own. The institution is generated once per size into a temporary folder (or ``--work DIR``).
Prints one JSON object per size, e.g. ``{"students": 17960, "activity_rows": ..., "stages":
{"generate_s": ..., "load_validate_s": ..., "features_s": ..., "features_rows_per_s": ...,
"training_dataset_s": ..., "train_s": ..., "train_steps_s": {...}}, "peak_rss_mb": ...}``.
``train_s`` is ``earlywarn train`` end to end (load, dataset, fit, evaluation, MLflow logging
into a fresh temporary home, whose store migrations are part of it); ``train_steps_s`` splits it.
A later stage (scoring) is one more function in :data:`STAGES`.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

DEFAULT_SIZES = (5_000, 17_960, 60_000)
SAVED = ROOT / "benchmarks" / "results" / "speed.jsonl"
QUICK_SIZE = 1_000


def _as_of(folder: Path) -> Any:
    """The data's own "today": the instant the benchmark computes features and labels as of."""
    import pandas as pd

    from earlywarn.synthetic.config import DEFAULT_TODAY

    return pd.Timestamp(DEFAULT_TODAY, tz="UTC")


def stage_generate(folder: Path, students: int) -> dict[str, Any]:
    from earlywarn.synthetic import generate
    from earlywarn.synthetic.config import GeneratorConfig

    start = time.perf_counter()
    rows = generate(GeneratorConfig(students=students), folder, force=True)
    return {"generate_s": time.perf_counter() - start, "activity_rows": rows.get("activity", 0)}


def stage_load_validate(folder: Path, students: int) -> dict[str, Any]:
    from earlywarn.contract import load_tables

    start = time.perf_counter()
    tables = load_tables(folder)
    elapsed = time.perf_counter() - start
    activity = 0 if tables.activity is None else len(tables.activity)
    return {"load_validate_s": elapsed, "activity_rows": activity}


def stage_features(folder: Path, students: int) -> dict[str, Any]:
    from earlywarn.contract import load_tables
    from earlywarn.features import features_as_of

    tables = load_tables(folder)
    activity = 0 if tables.activity is None else len(tables.activity)
    start = time.perf_counter()
    frame = features_as_of(tables, _as_of(folder))
    elapsed = time.perf_counter() - start
    return {
        "features_s": elapsed,
        "features_rows_per_s": activity / elapsed,
        "features_students": len(frame),
    }


def stage_training_dataset(folder: Path, students: int) -> dict[str, Any]:
    from earlywarn.contract import load_tables
    from earlywarn.training.dataset import build_training_dataset

    tables = load_tables(folder)
    start = time.perf_counter()
    data = build_training_dataset(tables, _as_of(folder))
    return {
        "training_dataset_s": time.perf_counter() - start,
        "training_dataset_rows": len(data),
    }


def stage_train(folder: Path, students: int) -> dict[str, Any]:
    """``train_from_folder`` from the data folder to a registered model, into a temporary home."""
    from earlywarn.core.settings import load_settings
    from earlywarn.training.pipeline import train_from_folder

    with tempfile.TemporaryDirectory(prefix="earlywarn-bench-home-") as home:
        start = time.perf_counter()
        result = train_from_folder(load_settings(Path(home)), folder)
        elapsed = time.perf_counter() - start
    return {
        "train_s": elapsed,
        "train_steps_s": result.extra.get("step_seconds", {}),
        "train_rows": len(result.split.train),
        "test_rows": len(result.split.test),
    }


STAGES: dict[str, Callable[[Path, int], dict[str, Any]]] = {
    "generate": stage_generate,
    "load_validate": stage_load_validate,
    "features": stage_features,
    "training_dataset": stage_training_dataset,
    "train": stage_train,
}


def run_stage_here(stage: str, folder: Path, students: int) -> None:
    """Child-process entry: run one stage and print its figures and peak memory as JSON."""
    figures = STAGES[stage](folder, students)
    peak_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print(json.dumps({**figures, "peak_rss_mb": peak_kb / 1024}))


def run_stage(stage: str, folder: Path, students: int) -> dict[str, Any]:
    proc = subprocess.run(
        [sys.executable, __file__, "--stage", stage, "--folder", str(folder),
         "--sizes", str(students)],
        capture_output=True,
        text=True,
        check=False,
    )  # fmt: skip
    if proc.returncode != 0:
        raise SystemExit(f"stage {stage} failed for {students} students:\n{proc.stderr}")
    result: dict[str, Any] = json.loads(proc.stdout.strip().splitlines()[-1])
    return result


def benchmark(students: int, work: Path) -> dict[str, Any]:
    folder = work / f"institution-{students}"
    report: dict[str, Any] = {"students": students, "activity_rows": None, "stages": {}}
    peaks: dict[str, float] = {}
    for stage in STAGES:
        figures = run_stage(stage, folder, students)
        peaks[stage] = round(figures.pop("peak_rss_mb"), 1)
        rows = figures.pop("activity_rows", None)
        if rows is not None:
            report["activity_rows"] = rows
        report["stages"].update(
            {k: round(v, 3) if isinstance(v, float) else v for k, v in figures.items()}
        )
    report["peak_rss_mb"] = max(peaks.values())
    report["peak_rss_mb_by_stage"] = peaks
    # How busy the machine was: a shared machine slows every stage down.
    report["load_average_1m"] = round(os.getloadavg()[0], 1)
    report["cpus"] = os.cpu_count()
    return report


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default=",".join(str(s) for s in DEFAULT_SIZES),
                        help="comma-separated numbers of students")  # fmt: skip
    parser.add_argument("--quick", action="store_true", help=f"one tiny run ({QUICK_SIZE})")
    parser.add_argument("--work", type=Path, default=None, help="keep the generated data here")
    parser.add_argument("--save", action="store_true",
                        help="record the results in benchmarks/results/ (by size)")  # fmt: skip
    parser.add_argument("--stage", choices=list(STAGES), help=argparse.SUPPRESS)
    parser.add_argument("--folder", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    sizes = [QUICK_SIZE] if args.quick else [int(s) for s in args.sizes.split(",") if s.strip()]
    if args.stage:
        run_stage_here(args.stage, args.folder, sizes[0])
        return
    reports: list[dict[str, Any]] = []
    if args.work is not None:
        args.work.mkdir(parents=True, exist_ok=True)
        for size in sizes:
            reports.append(benchmark(size, args.work))
            print(json.dumps(reports[-1]), flush=True)
    else:
        with tempfile.TemporaryDirectory(prefix="earlywarn-bench-") as work:
            for size in sizes:
                reports.append(benchmark(size, Path(work)))
                print(json.dumps(reports[-1]), flush=True)
    if args.save:
        save(reports)


def save(reports: list[dict[str, Any]]) -> None:
    """Replace the saved result of each measured size (others stay) for docs_figures.py."""
    kept = []
    if SAVED.is_file():
        kept = [json.loads(line) for line in SAVED.read_text().splitlines() if line.strip()]
    measured = {r["students"] for r in reports}
    rows = [r for r in kept if r["students"] not in measured] + [
        {**r, "command": f"benchmarks/run.py --sizes {r['students']}"} for r in reports
    ]
    SAVED.parent.mkdir(parents=True, exist_ok=True)
    lines = [json.dumps(r) for r in sorted(rows, key=lambda r: r["students"])]
    SAVED.write_text("\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
