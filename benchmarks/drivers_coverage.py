"""Coverage of the driver analysis's 95% intervals on generated institutions with a known truth.

Usage: nice -n 10 .venv/bin/python benchmarks/drivers_coverage.py [--students 3000] [--seeds 20]
       [--programs 4 8 19] [--width-students 15000] [--width-seeds 2]

For each number of programs and each seed, generates an institution (``earlywarn generate``'s
generator, seeds 1000, 1001, ...), runs the whole driver analysis and checks every measurable
driver's interval against ``_truth/drivers.json``. Prints, per size and driver family, the share of
intervals that hold the true effect and the median interval width (high minus low, in points),
then the student-level half-widths measured on institutions of ``--width-students`` students in
4 programs (only the student-level drivers are estimated there). Goal: coverage between 0.90 and
0.98 for every family at every size; student-level intervals within +/-5 points at 15,000
students. Exits 1 when a goal is missed. Nothing is logged to MLflow and no report is written.
"""

from __future__ import annotations

import argparse
import json
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


def one_institution(students: int, programs: int, seed: int, drivers: tuple[str, ...] | None):
    """(family, covered, width, method) of every measurable driver of one generated institution."""
    from earlywarn.contract.load import load_tables
    from earlywarn.synthetic import generate
    from earlywarn.synthetic.config import GeneratorConfig
    from training.drivers.analysis import analyse_drivers, estimate_driver
    from training.drivers.design import build_analysis_frame

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
    return out, len(analysis.students)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--students", type=int, default=3000)
    parser.add_argument("--seeds", type=int, default=20)
    parser.add_argument("--programs", type=int, nargs="+", default=[4, 8, 19])
    parser.add_argument("--width-students", type=int, default=15000)
    parser.add_argument("--width-seeds", type=int, default=2)
    args = parser.parse_args(argv)

    from earlywarn.features.registry import BEHAVIOUR_DRIVERS, DRIVER_GROUPS, OPEN_CONTENT_DRIVERS

    started = time.perf_counter()
    table: dict[tuple[int, str], list[tuple[bool, float, str | None]]] = defaultdict(list)
    for programs in args.programs:
        for seed in range(1000, 1000 + args.seeds):
            rows, n = one_institution(args.students, programs, seed, None)
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
    if args.width_seeds:
        student_level = (*OPEN_CONTENT_DRIVERS, *BEHAVIOUR_DRIVERS)
        halves: list[float] = []
        sizes = []
        for seed in range(1000, 1000 + args.width_seeds):
            rows, n = one_institution(args.width_students, 4, seed, student_level)
            halves += [width / 2 for _, _, width, _ in rows]
            sizes.append(n)
            print(f"  width run, seed {seed}: {n} students", file=sys.stderr, flush=True)
        ok &= max(halves) <= GOAL_HALF_WIDTH
        print()
        print(
            f"Student-level half-widths at {args.width_students:,} generated students in 4 "
            f"programs ({', '.join(f'{n:,}' for n in sizes)} with a known outcome; "
            f"{len(halves)} intervals): median +/-{statistics.median(halves):.1f}, "
            f"largest +/-{max(halves):.1f} points (goal: at most +/-{GOAL_HALF_WIDTH:.0f})"
        )
    print()
    print(f"goals {'met' if ok else 'MISSED'}; {time.perf_counter() - started:.0f}s")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
