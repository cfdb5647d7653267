"""Time ``earlywarn demo`` as a new user runs it: a fresh home, the default institution (and the
quick one the README suggests), wall time and peak memory of the whole process.

    .venv/bin/python benchmarks/demo_time.py                 # print one JSON object per run
    .venv/bin/python benchmarks/demo_time.py --save          # and record them for the README

``--save`` writes benchmarks/results/demo.json, which benchmarks/docs_figures.py turns into the
README's demo figures. The virtual environment is not part of the time (``make venv`` is).
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
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "benchmarks" / "results" / "demo.json"
# The README's quick look, then the default demo: the peak memory of finished children is a
# running maximum, so the small run goes first to have its own.
RUNS = ((1_500, 3), (17_960, 19))
DEFAULT = (17_960, 19)


def time_demo(students: int, programs: int) -> dict[str, Any]:
    """Run the demo in a fresh temporary home; its wall time and the child's peak memory."""
    program = Path(sys.executable).parent / "earlywarn"
    with tempfile.TemporaryDirectory(prefix="earlywarn-demo-bench-") as home:
        argv = [str(program), "--home", home, "demo"]
        if (students, programs) != DEFAULT:
            argv += ["--students", str(students), "--programs", str(programs)]
        started = time.perf_counter()
        proc = subprocess.run(argv, capture_output=True, text=True, check=False)
        seconds = time.perf_counter() - started
    if proc.returncode != 0:
        raise SystemExit(f"the demo failed ({proc.returncode}):\n{proc.stderr}")
    peak_kb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    shown = " ".join(["earlywarn", *argv[3:]])
    return {
        "students": students,
        "programs": programs,
        "seconds": round(seconds, 1),
        "peak_rss_mb": round(peak_kb / 1024, 1),
        "command": shown,
        "load_average_1m": round(os.getloadavg()[0], 1),
        "cpus": os.cpu_count(),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--save", action="store_true", help=f"record the runs in {RESULTS}")
    parser.add_argument("--quick-only", action="store_true", help="only the 1,500-student demo")
    args = parser.parse_args()
    runs = []
    for students, programs in RUNS[:1] if args.quick_only else RUNS:
        run = time_demo(students, programs)
        print(json.dumps(run), flush=True)
        runs.append(run)
    if args.save:
        kept = json.loads(RESULTS.read_text()) if RESULTS.is_file() else []
        measured = {r["students"] for r in runs}
        merged = [r for r in kept if r["students"] not in measured] + runs
        RESULTS.parent.mkdir(parents=True, exist_ok=True)
        RESULTS.write_text(json.dumps(merged, indent=2) + "\n")


if __name__ == "__main__":
    main()
