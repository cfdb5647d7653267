"""Honest evaluation on real data: OULAD, both labels, ROC-AUC by week on the latest presentation.

Imports the OULAD folder twice (``--label withdrawn`` and ``--label not-passed``, without the
clickstream fragment: see docs/oulad.md, "Results"), trains each with ``earlywarn train --json``
in a temporary home (its own MLflow store), and prints a table of ROC-AUC by checkpoint week for
the model and the logistic-regression baseline, then one JSON object with every figure.

    .venv/bin/python benchmarks/oulad_eval.py                       # the shared copy
    .venv/bin/python benchmarks/oulad_eval.py --source path/to/oulad --weeks 1-12

It runs the same commands a user would, so the figures are the CLI's own.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

DEFAULT_SOURCE = Path(__file__).resolve().parents[2] / "shared" / "data" / "oulad"
LABELS = ("withdrawn", "not-passed")


def earlywarn(*args: str) -> str:
    """Run one earlywarn command in a fresh interpreter; its stdout (stderr shown on failure)."""
    done = subprocess.run(
        [sys.executable, "-m", "earlywarn", *args], capture_output=True, text=True, check=False
    )
    if done.returncode != 0:
        sys.stderr.write(done.stderr)
        raise SystemExit(f"earlywarn {' '.join(args)} failed with exit code {done.returncode}")
    return done.stdout


def evaluate(source: Path, label: str, work: Path) -> dict[str, Any]:
    """Import with ``label`` and train; the ``earlywarn train --json`` summary plus timings."""
    folder = work / f"oulad-{label}"
    started = time.perf_counter()
    earlywarn("import", "oulad", str(source), "--out", str(folder), "--label", label,
              "--no-activity")  # fmt: skip
    imported = time.perf_counter()
    summary: dict[str, Any] = json.loads(
        earlywarn("--home", str(work / f"home-{label}"), "train", str(folder), "--json")
    )
    summary["import_seconds"] = round(imported - started, 1)
    summary["train_wall_seconds"] = round(time.perf_counter() - imported, 1)
    return summary


def weeks_wanted(text: str) -> list[int]:
    low, _, high = text.partition("-")
    return list(range(int(low), int(high or low) + 1))


def _auc(value: float | None) -> str:
    return "  n/a" if value is None else f"{value:.3f}"


def table(results: dict[str, dict[str, Any]], weeks: list[int]) -> str:
    """ROC-AUC by week: model and baseline for each label, with the test rows of that week."""
    by_week = {label: {row["week"]: row for row in r["weeks"]} for label, r in results.items()}
    head = "| week | " + " | ".join(f"{label}: n | model | baseline" for label in results) + " |"
    lines = [head, "|---:|" + "---:|---:|---:|" * len(results)]
    for week in [*weeks, "all"]:
        cells = [str(week)]
        for label in results:
            row = results[label]["overall"] if week == "all" else by_week[label].get(week)
            if row is None:
                cells += ["", "", ""]
                continue
            cells += [str(row["n"]), _auc(row["roc_auc"]), _auc(row["baseline_roc_auc"])]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--source", type=Path, default=DEFAULT_SOURCE, help="the OULAD folder")
    parser.add_argument("--weeks", default="1-12", help="weeks to print, e.g. 1-12 (JSON: all)")
    parser.add_argument("--keep", type=Path, help="work in this folder and keep it")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="oulad-eval-") as scratch:
        work = args.keep or Path(scratch)
        work.mkdir(parents=True, exist_ok=True)
        results = {label: evaluate(args.source, label, work) for label in LABELS}
    first = results[LABELS[0]]
    print(f"OULAD {args.source}: test cohort {first['test_cohort']} "
          f"({', '.join(first['test_cohorts'])}); ROC-AUC of the at-risk class by checkpoint "
          "week, students still enrolled at each checkpoint")  # fmt: skip
    print(table(results, weeks_wanted(args.weeks)))
    print(json.dumps({
        label: {
            "test_cohort": r["test_cohort"],
            "test_cohorts": r["test_cohorts"],
            "as_of": r["as_of"],
            "calibration": r["calibration"],
            "import_seconds": r["import_seconds"],
            "train_wall_seconds": r["train_wall_seconds"],
            "features_never_observed": r["features_never_observed"],
            "weeks": [
                {k: row[k] for k in ("week", "n", "roc_auc", "baseline_roc_auc", "pr_auc", "ece")}
                for row in r["weeks"]
            ],
            "overall": {k: r["overall"][k] for k in ("n", "roc_auc", "baseline_roc_auc")},
        }
        for label, r in results.items()
    }))  # fmt: skip


if __name__ == "__main__":
    main()
