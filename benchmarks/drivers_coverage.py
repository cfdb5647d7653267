"""Coverage of the driver analysis's 95% intervals on generated institutions with a known truth.

Usage: nice -n 10 .venv/bin/python benchmarks/drivers_coverage.py [--students 1500] [--seeds 20]
       [--programs 4 8 19] [--width-students 15000] [--width-seeds 2] [--jobs 2]

For each number of programs and each seed, generates an institution (``earlywarn generate``'s
generator, seeds 1000, 1001, ...), runs the whole driver analysis and checks every measurable
driver's interval against ``_truth/drivers.json``. Prints, per size and driver family, the share of
intervals that hold the true effect and the median interval width (high minus low, in points),
then the student-level half-widths measured on institutions of ``--width-students`` students in
4 programs (only the student-level drivers are estimated there) and their coverage. Goal:
coverage between 0.90 and 0.98 for every family at every size; student-level intervals within
+/-5 points at 15,000 students. Exits 1 when a goal is missed. Nothing is logged to MLflow and
no report is written.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import statistics
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path

GOAL_LOW, GOAL_HIGH, GOAL_HALF_WIDTH = 0.90, 0.98, 5.0


def true_effects(folder: Path) -> dict[str, float]:
    truth = json.loads((folder / "_truth" / "drivers.json").read_text(encoding="utf-8"))
    return {
        name: float(v if isinstance(v, int | float) else v["effect_points"])
        for name, v in truth.items()
    }


Rows = list[tuple[str, bool, float, str | None]]


def one_institution(
    students: int, programs: int, seed: int, drivers: tuple[str, ...] | None
) -> tuple[int, int, Rows, int]:
    """(family, covered, width, method) of every measurable driver of one generated institution."""
    from earlywarn.analysis.analysis import analyse_drivers, estimate_driver
    from earlywarn.analysis.design import build_analysis_frame
    from earlywarn.contract.load import load_tables
    from earlywarn.synthetic import generate
    from earlywarn.synthetic.config import GeneratorConfig

    with tempfile.TemporaryDirectory() as temporary:
        folder = Path(temporary) / "institution"
        generate(GeneratorConfig(students=students, programs=programs, seed=seed), folder)
        truth = true_effects(folder)
        analysis = build_analysis_frame(load_tables(folder))
    if drivers is None:
        results = analyse_drivers(analysis)
    else:
        results = [estimate_driver(analysis, d) for d in drivers]
    out = []
    for r in results:
        if not r.measurable or r.driver not in truth:
            continue
        assert r.ci_low_pp is not None
        assert r.ci_high_pp is not None
        covered = r.ci_low_pp <= truth[r.driver] <= r.ci_high_pp
        out.append((r.group, covered, r.ci_high_pp - r.ci_low_pp, r.interval_method))
    return programs, seed, out, len(analysis.students)


def _run(
    task: tuple[int, int, int, tuple[str, ...] | None],
) -> tuple[int, int, Rows, int, bool]:
    return (*one_institution(*task), task[3] is not None)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--students", type=int, default=1500)
    parser.add_argument("--seeds", type=int, default=20)
    parser.add_argument("--programs", type=int, nargs="+", default=[4, 8, 19])
    parser.add_argument("--width-students", type=int, default=15000)
    parser.add_argument("--width-seeds", type=int, default=2)
    parser.add_argument("--jobs", type=int, default=2, help="institutions analysed at once")
    args = parser.parse_args(argv)
    for variable in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ.setdefault(variable, "1")

    from earlywarn.features.catalogue import BEHAVIOUR_DRIVERS, DRIVER_GROUPS, OPEN_CONTENT_DRIVERS

    started = time.perf_counter()
    table: dict[tuple[int, str], list[tuple[bool, float, str | None]]] = defaultdict(list)

    student_level = (*OPEN_CONTENT_DRIVERS, *BEHAVIOUR_DRIVERS)
    tasks: list[tuple[int, int, int, tuple[str, ...] | None]] = [
        (args.students, programs, seed, None)
        for programs in args.programs
        for seed in range(1000, 1000 + args.seeds)
    ]
    tasks += [
        (args.width_students, 4, seed, student_level)
        for seed in range(1000, 1000 + args.width_seeds)
    ]
    halves: list[float] = []
    wide_covered: list[bool] = []
    sizes: list[int] = []
    with multiprocessing.get_context("spawn").Pool(args.jobs) as pool:
        # The large width runs first, so they do not finish last on one worker.
        for programs, seed, rows, n, wide in pool.imap_unordered(_run, tasks[::-1]):
            if wide:
                halves += [width / 2 for _, _, width, _ in rows]
                wide_covered += [covered for _, covered, _, _ in rows]
                sizes.append(n)
            else:
                for family, covered, width, method in rows:
                    table[(programs, family)].append((covered, width, method))
            missed = sum(not covered for _, covered, _, _ in rows)
            print(
                f"  {programs} programs, seed {seed}: {n} students, {len(rows)} intervals, "
                f"{missed} miss the truth ({time.perf_counter() - started:.0f}s)",
                file=sys.stderr,
                flush=True,
            )
    ok = True
    print(
        f"Coverage of 95% intervals: {args.students:,} generated students, seeds 1000 to "
        f"{999 + args.seeds}"
    )
    print()
    print("| programs | family | intervals | coverage | median width (points) | interval method |")
    print("|---:|---|---:|---:|---:|---|")
    for programs in args.programs:
        for family in DRIVER_GROUPS:
            cells = table[(programs, family)]
            if not cells:
                continue
            coverage = sum(c for c, _, _ in cells) / len(cells)
            width = statistics.median(w for _, w, _ in cells)
            methods = ", ".join(sorted({str(m) for _, _, m in cells}))
            ok &= GOAL_LOW <= coverage <= GOAL_HIGH
            print(
                f"| {programs} | {family} | {len(cells)} | {coverage:.2f} | {width:.1f} | "
                f"{methods} |"
            )
    if halves:
        ok &= max(halves) <= GOAL_HALF_WIDTH
        print()
        print(
            f"Student-level intervals at {args.width_students:,} generated students in 4 programs "
            f"({', '.join(f'{n:,}' for n in sorted(sizes))} with a known outcome; {len(halves)} "
            f"intervals): half-width median +/-{statistics.median(halves):.1f}, largest "
            f"+/-{max(halves):.1f} points (goal: at most +/-{GOAL_HALF_WIDTH:.0f}); coverage "
            f"{sum(wide_covered) / len(wide_covered):.2f}"
        )
    print()
    print(f"goals {'met' if ok else 'MISSED'}; {time.perf_counter() - started:.0f}s")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
