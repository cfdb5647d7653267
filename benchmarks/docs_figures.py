"""Write the benchmark figures into the README from the recorded results (the last step of
``make bench``).

    .venv/bin/python benchmarks/docs_figures.py            # rewrite README.md's bench blocks
    .venv/bin/python benchmarks/docs_figures.py --check    # exit 1 when README.md is stale

The results are what the benchmark scripts saved: ``benchmarks/results/speed.jsonl`` (one object
per size, from ``run.py --save``) and ``benchmarks/results/demo.json`` (from ``demo_time.py
--save``). Each figure in the README sits between ``<!-- bench:NAME -->`` and
``<!-- /bench:NAME -->``; everything between the markers is rewritten, nothing else is touched.
tests/test_documented_numbers.py fails when the README and the results disagree.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "benchmarks" / "results"
SPEED = RESULTS / "speed.jsonl"
DEMO = RESULTS / "demo.json"
OULAD = RESULTS / "oulad.json"
PEER = RESULTS / "peer.json"
README = ROOT / "README.md"
BLOCKS = ("demo", "demo_quick", "speed", "oulad", "peer")
OULAD_WEEKS = (1, 2, 4, 8)
OULAD_LABELS = {"withdrawn": "withdrawn", "not-passed": "withdrawn or failed"}


def load_results() -> dict[str, Any]:
    """The saved results: ``speed`` (list, by size) and ``demo`` (list of runs)."""
    speed = [json.loads(line) for line in SPEED.read_text().splitlines() if line.strip()]
    demo = json.loads(DEMO.read_text()) if DEMO.is_file() else []
    oulad = json.loads(OULAD.read_text()) if OULAD.is_file() else {}
    peer = json.loads(PEER.read_text()) if PEER.is_file() else {}
    speed = sorted(speed, key=lambda r: r["students"])
    return {"speed": speed, "demo": demo, "oulad": oulad, "peer": peer}


def _seconds(value: float) -> str:
    if value < 1:
        return f"{value:.2f} s"
    return f"{value:.1f} s" if value < 100 else f"{value:.0f} s"


def _gb(mb: float) -> str:
    return f"{mb / 1024:.2f} GB"


def render_demo(runs: list[dict[str, Any]], quick: bool) -> str:
    """The demo's figures: seconds and memory for the default demo, seconds for the quick one."""
    chosen = [r for r in runs if (r["students"] < 5000) == quick]
    if not chosen:
        return "(not measured yet: run make bench)"
    run = chosen[-1]
    if quick:
        return f"takes about {run['seconds']:.0f} s"
    return f"about {run['seconds']:.0f} s and {run['peak_rss_mb'] / 1024:.1f} GB of memory"


def render_speed(rows: list[dict[str, Any]]) -> str:
    """The speed table (one column per measured size) and where its numbers came from."""
    head = ["stage"] + [
        f"{r['students']:,} students ({r['activity_rows'] / 1e6:.1f}M activity rows)" for r in rows
    ]

    def stage(name: str, key: str, extra: Any = None) -> list[str]:
        cells = [name]
        for r in rows:
            value = r["stages"].get(key)
            text = "n/a" if value is None else _seconds(value)
            if extra is not None and value is not None:
                text += extra(r)
            cells.append(text)
        return cells

    def rate(r: dict[str, Any]) -> str:
        per_s = r["stages"].get("features_rows_per_s")
        return "" if not per_s else f" ({per_s / 1e6:.1f}M activity rows/s)"

    table = [
        head,
        ["---"] * len(head),
        stage("generate", "generate_s"),
        stage("load and validate", "load_validate_s"),
        stage("features for one instant", "features_s", rate),
        stage("training dataset (every checkpoint week)", "training_dataset_s"),
        stage("train, evaluate, log to MLflow", "train_s"),
        ["peak memory"] + [_gb(r["peak_rss_mb"]) for r in rows],
    ]
    lines = ["| " + " | ".join(row) + " |" for row in table]
    commands = ", ".join(f"`{r.get('command') or _default_command(r)}`" for r in rows)
    notes: list[str] = []
    for r in rows:
        if r.get("load_average_1m") is not None:
            notes.append(
                f"{r['students']:,} students: load average {r['load_average_1m']} "
                f"on {r['cpus']} cores"
            )
        if r.get("note") and r["note"] not in notes:
            notes.append(r["note"])
    sources = commands + (f" ({'; '.join(notes)})" if notes else "")
    lines += ["", f"Measured by: {sources}."]
    return "\n".join(lines)


def render_oulad(results: dict[str, Any]) -> str:
    """The OULAD table: per label, model / logistic / prior ROC-AUC at a few weeks and over the
    window, the kept trees, the worst ECE of the window, training time and peak memory."""
    if not results:
        return "(not measured yet: run make bench)"
    head = [
        "label",
        *[f"week {w}" for w in OULAD_WEEKS],
        "mean weekly ROC-AUC, weeks 1-8",
        "trees",
        "largest ECE, weeks 1-8",
        "train",
    ]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for label, r in results.items():
        by_week = {row["week"]: row for row in r["weeks"]}
        clicks = " (clickstream)" if r.get("clickstream") else ""
        cells = [OULAD_LABELS.get(label, label) + clicks]
        for week in OULAD_WEEKS:
            row = by_week.get(week)
            cells.append(
                "n/a"
                if row is None
                else f"{row['roc_auc']:.3f} / {row['baseline_roc_auc']:.3f} / "
                f"{row['prior_roc_auc']:.3f}"
            )
        window = r["window"]
        cells.append(
            f"{window['mean_roc_auc']:.3f} / {window['mean_baseline_roc_auc']:.3f} / "
            f"{window['mean_prior_roc_auc']:.3f}"
        )
        cells.append(str(r["trees"]))
        eces = [by_week[w]["ece"] for w in window["weeks"] if w in by_week]
        cells.append(f"{max(eces):.3f}" if eces else "n/a")
        cells.append(f"{r['train_wall_seconds']:.0f} s, {_gb(r['train_peak_mb'])}")
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def render_peer(results: dict[str, Any]) -> str:
    """A row per week 1-8, a column per label: the model's ROC-AUC / the logistic peer's / the
    LightGBM peer's (``oulad_peer.py``), and the model's lead over the better peer (negative: it
    trails)."""
    if not results:
        return "(not measured yet: run make bench)"
    labels = list(results)
    head = ["week", *(OULAD_LABELS.get(label, label) for label in labels)]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for i, first in enumerate(results[labels[0]]["weeks"]):
        cells = [str(first["week"])]
        for label in labels:
            row = results[label]["weeks"][i]
            lead = row["model"] - max(row["logistic_peer"], row["lightgbm_peer"])
            cells.append(
                f"{row['model']:.3f} / {row['logistic_peer']:.3f} / {row['lightgbm_peer']:.3f} "
                f"({0.0 if abs(lead) < 0.0005 else lead:+.3f})"
            )
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def _default_command(row: dict[str, Any]) -> str:
    return f"benchmarks/run.py --sizes {row['students']}"


def rewrite(text: str, results: dict[str, Any]) -> str:
    """``text`` with every bench block replaced by what the results give."""
    rendered = {
        "demo": render_demo(results["demo"], quick=False),
        "demo_quick": render_demo(results["demo"], quick=True),
        "speed": "\n" + render_speed(results["speed"]) + "\n",
        "oulad": "\n" + render_oulad(results.get("oulad", {})) + "\n",
        "peer": "\n" + render_peer(results.get("peer", {})) + "\n",
    }
    for name, body in rendered.items():
        pattern = re.compile(rf"(<!-- bench:{name} -->)(.*?)(<!-- /bench:{name} -->)", re.S)
        text = pattern.sub(lambda m, body=body: m.group(1) + body + m.group(3), text)
    return text


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--check", action="store_true", help="only check; exit 1 when stale")
    args = parser.parse_args()
    text = README.read_text(encoding="utf-8")
    new = rewrite(text, load_results())
    if args.check:
        sys.exit(0 if new == text else 1)
    if new != text:
        README.write_text(new, encoding="utf-8")
        print(f"rewrote the benchmark figures in {README}")
    else:
        print(f"{README} is up to date")


if __name__ == "__main__":
    main()
