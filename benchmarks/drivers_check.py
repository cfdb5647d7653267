"""Compare the driver analysis with a generated institution's truth (DIR/_truth/drivers.json).

Usage: .venv/bin/python benchmarks/drivers_check.py DIR [--penalty plugin|cv]

Prints one line per driver (truth, estimate, interval, naive, covered) and the three targets:
the true effect inside the 95% interval for at least 90% of the drivers, the right sign for every
driver whose true effect is at least 2 points, and a mean absolute error under 1 point. Exits 1
when a target is missed. Nothing is logged to MLflow and no report is written.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import Any


def true_points(entry: Any) -> float:
    """A truth entry is either a number or an object with the effect in points."""
    if isinstance(entry, int | float):
        return float(entry)
    for key in ("effect_points", "effect_pp", "effect"):
        if key in entry:
            return float(entry[key])
    raise KeyError(f"no effect in truth entry {entry!r}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("folder", type=Path)
    parser.add_argument("--penalty", choices=["plugin", "cv"], default="plugin")
    args = parser.parse_args(argv)

    from earlywarn.analysis.analysis import analyse_drivers
    from earlywarn.analysis.design import build_analysis_frame
    from earlywarn.contract.load import load_tables

    truth = json.loads((args.folder / "_truth" / "drivers.json").read_text(encoding="utf-8"))
    started = time.perf_counter()
    tables = load_tables(args.folder)
    loaded = time.perf_counter()
    analysis = build_analysis_frame(tables)
    framed = time.perf_counter()
    results = analyse_drivers(analysis, penalty=args.penalty)
    done = time.perf_counter()

    print(
        f"{len(analysis.students)} students, {analysis.students['program_id'].nunique()} programs;"
        f" load {loaded - started:.1f}s, frame {framed - loaded:.1f}s,"
        f" estimates {done - framed:.1f}s ({args.penalty} penalty)"
    )
    print(
        f"{'driver':<38} {'truth':>7} {'estimate':>8} {'95% interval':>17} {'naive':>7} "
        f"{'q':>6}  {'interval':<28} covered"
    )
    covered, errors, wrong_sign, rows = 0, [], [], 0
    for r in sorted(results, key=lambda r: r.driver):
        if r.driver not in truth:
            print(f"{r.driver:<38} (no truth)")
            continue
        rows += 1
        t = true_points(truth[r.driver])
        if not r.measurable:
            print(f"{r.driver:<38} {t:>+7.2f} not measurable: {r.reason}")
            errors.append(abs(t))
            if abs(t) >= 2:
                wrong_sign.append(r.driver)
            continue
        assert r.effect_pp is not None
        assert r.ci_low_pp is not None
        assert r.ci_high_pp is not None
        inside = r.ci_low_pp <= t <= r.ci_high_pp
        covered += inside
        errors.append(abs(r.effect_pp - t))
        if abs(t) >= 2 and (r.effect_pp > 0) != (t > 0):
            wrong_sign.append(r.driver)
        interval = f"[{r.ci_low_pp:+.2f}, {r.ci_high_pp:+.2f}]"
        print(
            f"{r.driver:<38} {t:>+7.2f} {r.effect_pp:>+8.2f} {interval:>17} "
            f"{r.naive_pp:>+7.2f} {r.q_value or 0:>6.3f}  {r.interval_method or '-':<28} "
            f"{'yes' if inside else 'NO'}"
        )
    coverage = covered / rows
    mae = sum(errors) / len(errors)
    print()
    print(f"coverage: {covered}/{rows} = {coverage:.0%} (target >= 90%)")
    print(f"sign right for |truth| >= 2 points: {wrong_sign or 'all'}")
    print(f"mean absolute error: {mae:.2f} points (target < 1)")
    ok = coverage >= 0.9 and not wrong_sign and mae < 1
    print("targets met" if ok else "targets MISSED")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
