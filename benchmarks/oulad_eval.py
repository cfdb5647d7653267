"""Honest evaluation on real data: OULAD, both labels, ROC-AUC by week on the latest presentation.

Imports the OULAD folder twice (``--label withdrawn`` and ``--label not-passed``), trains each
with ``earlywarn train --json`` in a temporary home (its own MLflow store), and prints, per label,
a table of ROC-AUC by checkpoint week for the model, its logistic-regression baseline and the
prior-only baseline (the module's historical rate), the mean over the window (weeks 1-8), the
kept trees, the training wall time and the training process's peak memory, then one JSON object
with every figure.

    .venv/bin/python benchmarks/oulad_eval.py                       # the shared copy
    .venv/bin/python benchmarks/oulad_eval.py --source path/to/oulad --weeks 1-12
    .venv/bin/python benchmarks/oulad_eval.py --save   # also record it for the README's table

The clickstream is imported when the folder has the full ``studentVle.csv``; with only the
fragment (the shared copy) or with ``--no-clickstream`` it is left out (``--no-activity``: see
docs/oulad.md, "Results"). Each label's JSON says which (``clickstream``).

``--save`` writes the JSON object to ``benchmarks/results/oulad.json``; ``docs_figures.py`` turns it
into the README's OULAD table (``make bench`` runs both).

It runs the same commands a user would, so the figures are the CLI's own. Goals (issue 14): on
withdrawn the model at or above its logistic baseline every week 1-8 and 0.72 at week 4, more
than 50 trees, ECE under 0.03 every week 1-8, training under 60 s and 1.5 GB.
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
SAVED = Path(__file__).resolve().parent / "results" / "oulad.json"
LABELS = ("withdrawn", "not-passed")


# Runs the CLI and reports the process's own peak resident memory (kB) on stderr as it exits.
_PEAK = (
    "import atexit, resource, sys\n"
    "atexit.register(lambda: sys.stderr.write("
    "f'PEAK_RSS_KB {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss}\\n'))\n"
    "from earlywarn.cli import main\n"
    "sys.argv = ['earlywarn', *sys.argv[1:]]\n"
    "main()\n"
)


def earlywarn(*args: str) -> tuple[str, int]:
    """Run one earlywarn command in a fresh interpreter; its stdout (stderr shown on failure) and
    its peak resident memory in MB."""
    done = subprocess.run(
        [sys.executable, "-c", _PEAK, *args], capture_output=True, text=True, check=False
    )
    if done.returncode != 0:
        sys.stderr.write(done.stderr)
        raise SystemExit(f"earlywarn {' '.join(args)} failed with exit code {done.returncode}")
    peak = [line for line in done.stderr.splitlines() if line.startswith("PEAK_RSS_KB ")]
    return done.stdout, int(peak[-1].split()[1]) // 1024 if peak else -1


def say(line: str) -> None:
    """A progress or error line on stderr (stdout carries the results)."""
    print(line, file=sys.stderr, flush=True)


def oulad_clickstream(source: Path) -> Path | None:
    """The importer's own check that ``source`` holds OULAD's files
    (:func:`earlywarn.importers.oulad.source.check_folder`): the clickstream file it would read,
    if any. A one-line error and exit code 2 when the folder is not OULAD's."""
    from earlywarn.core.errors import DataFolderError
    from earlywarn.importers.oulad.source import check_folder

    try:
        return check_folder(source)
    except DataFolderError as exc:
        say(f"error: {exc}")
        raise SystemExit(2) from None


def has_clickstream(source: Path) -> bool:
    """True when ``source`` has OULAD's full clickstream (``studentVle.csv``), not just the
    fragment: with the fragment alone, every other presentation's students would read as never
    active."""
    from earlywarn.importers.oulad.source import CLICKSTREAM_FILES

    clicks = oulad_clickstream(source)
    return clicks is not None and clicks.name == CLICKSTREAM_FILES[0]


def evaluate(source: Path, label: str, work: Path, clickstream: bool = False) -> dict[str, Any]:
    """Import with ``label`` (and the clickstream when ``clickstream``) and train; the
    ``earlywarn train --json`` summary plus timings."""
    folder = work / f"oulad-{label}"
    started = time.perf_counter()
    say(f"{label}: importing {source} (earlywarn import oulad)")
    earlywarn("import", "oulad", str(source), "--out", str(folder), "--label", label,
              *([] if clickstream else ["--no-activity"]))  # fmt: skip
    imported = time.perf_counter()
    say(f"{label}: training (earlywarn train --json), about half a minute on 2 cores")
    output, peak_mb = earlywarn(
        "--home", str(work / f"home-{label}"), "train", str(folder), "--json"
    )
    summary: dict[str, Any] = json.loads(output)
    summary["import_seconds"] = round(imported - started, 1)
    summary["train_wall_seconds"] = round(time.perf_counter() - imported, 1)
    summary["train_peak_mb"] = peak_mb
    summary["clickstream"] = clickstream
    return summary


def weeks_wanted(text: str) -> list[int]:
    low, _, high = text.partition("-")
    return list(range(int(low), int(high or low) + 1))


def _auc(value: float | None) -> str:
    return "  n/a" if value is None else f"{value:.3f}"


def table(label: str, result: dict[str, Any], weeks: list[int]) -> str:
    """ROC-AUC by week for one label: model, logistic baseline, prior baseline, with the rows,
    positives, ECE and the model's bootstrap interval, then the window's means."""
    by_week = {row["week"]: row for row in result["weeks"]}
    lines = [
        f"{label}: {result['trees']} trees, train {result['train_wall_seconds']} s wall, "
        f"peak {result['train_peak_mb']} MB",
        "| week | n | positives | model | 95% interval | logistic | prior | ECE |",
        "|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for week in weeks:
        row = by_week.get(week)
        if row is None:
            continue
        ci = row["roc_auc_ci"]
        interval = "n/a" if ci is None else f"{ci[0]:.3f}-{ci[1]:.3f}"
        lines.append(
            f"| {week} | {row['n']} | {row['positives']} | {_auc(row['roc_auc'])} | {interval} | "
            f"{_auc(row['baseline_roc_auc'])} | {_auc(row['prior_roc_auc'])} | "
            f"{_auc(row['ece'])} |"
        )
    window = result["window"]
    lines.append(
        f"| {window['name']} | | | {_auc(window['mean_roc_auc'])} | | "
        f"{_auc(window['mean_baseline_roc_auc'])} | {_auc(window['mean_prior_roc_auc'])} | "
        f"{_auc(window['mean_ece'])} |"
    )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--source", type=Path, default=DEFAULT_SOURCE, help="the OULAD folder")
    parser.add_argument("--weeks", default="1-12", help="weeks to print, e.g. 1-12 (JSON: all)")
    parser.add_argument("--keep", type=Path, help="work in this folder and keep it")
    parser.add_argument("--save", action="store_true", help=f"record the figures in {SAVED.name}")
    parser.add_argument(
        "--no-clickstream",
        action="store_true",
        help="leave the clickstream out even when the folder has the full studentVle.csv",
    )
    args = parser.parse_args()
    clickstream = has_clickstream(args.source) and not args.no_clickstream
    with tempfile.TemporaryDirectory(prefix="oulad-eval-") as scratch:
        work = args.keep or Path(scratch)
        work.mkdir(parents=True, exist_ok=True)
        results = {label: evaluate(args.source, label, work, clickstream) for label in LABELS}
    first = results[LABELS[0]]
    clicks = "with" if clickstream else "without"
    print(f"OULAD {args.source} ({clicks} the clickstream): test cohort {first['test_cohort']} "
          f"({', '.join(first['test_cohorts'])}); ROC-AUC of the at-risk class by checkpoint "
          "week, students still enrolled at each checkpoint")  # fmt: skip
    for label, result in results.items():
        print(table(label, result, weeks_wanted(args.weeks)))
    record = {
        label: {
            "test_cohort": r["test_cohort"],
            "test_cohorts": r["test_cohorts"],
            "as_of": r["as_of"],
            "trees": r["trees"],
            "linear_base": r.get("linear_base"),
            "calibration": r["calibration"],
            "import_seconds": r["import_seconds"],
            "train_wall_seconds": r["train_wall_seconds"],
            "train_peak_mb": r["train_peak_mb"],
            "clickstream": r["clickstream"],
            "features_never_observed": r["features_never_observed"],
            "features_left_out": r.get("features_left_out", {}),
            "window": r["window"],
            "weeks": [
                {k: row[k] for k in ("week", "n", "positives", "roc_auc", "roc_auc_ci",
                                     "baseline_roc_auc", "prior_roc_auc", "pr_auc", "ece")}
                for row in r["weeks"]
            ],
        }
        for label, r in results.items()
    }  # fmt: skip
    print(json.dumps(record))
    if args.save:
        SAVED.write_text(json.dumps(record, indent=1) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
