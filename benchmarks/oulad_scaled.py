"""Training cost at the full OULAD size, from the shared copy: wall time and peak memory.

The full OULAD tables hold 32,593 registrations in 22 presentations; the shared copy holds 21,333
in 15. This writes a larger copy in OULAD's own format: the shared tables, plus the 2013J
presentations again as a made-up 2014J and the 2013B ones again as a made-up 2012J (new student
and assessment ids, everything else as it was), 34,862 registrations. It then runs the commands a
user would (``earlywarn import oulad --label withdrawn --no-activity`` and ``earlywarn train
--json``, each in a fresh interpreter) and prints the training's wall time, peak memory, kept
trees and step times.

The ROC-AUC of this run means nothing: its test presentations are copies of training ones. Only
the cost is measured (issue 14's goal: under 60 s and 1.5 GB on the full tables, 2 cores).

``--clickstream`` also writes a made-up ``studentVle.csv`` at the full file's density (10,655,280
rows for 32,593 registrations, about 327 a registration; clicks on the presentation's own sites,
on days from 10 before the start to the student's withdrawal or the end) and imports it, so the
cost of the activity features at the full clickstream's size is measured too (import and
training). The full file is not in the shared copy; its clicks carry no real signal here.

    .venv/bin/python benchmarks/oulad_scaled.py
    .venv/bin/python benchmarks/oulad_scaled.py --source path/to/oulad
    .venv/bin/python benchmarks/oulad_scaled.py --clickstream
"""

from __future__ import annotations

import argparse
import json
import shutil
import tempfile
import time
from pathlib import Path

import pandas as pd
from oulad_eval import DEFAULT_SOURCE, earlywarn, oulad_clickstream, say

TABLES = ("courses", "assessments", "studentInfo", "studentRegistration", "studentAssessment")
# (presentation copied, the made-up presentation, student id offset, assessment id offset)
COPIES = (("2013J", "2014J", 100_000_000, 1_000_000), ("2013B", "2012J", 200_000_000, 2_000_000))
# The full studentVle.csv: 10,655,280 rows for OULAD's 32,593 registrations (Kuzilek et al. 2017).
CLICK_ROWS_PER_REGISTRATION = 10_655_280 / 32_593
SITE_OFFSET = 1_000_000  # new site ids for a copy (the importer takes ids up to 2^22 - 1)


def _shift(frame: pd.DataFrame, column: str, offset: int) -> None:
    if column in frame.columns:
        frame[column] = (frame[column].astype("int64") + offset).astype(str)


def write_scaled_copy(source: Path, out: Path) -> int:
    """Write the scaled copy of ``source`` into ``out``; the number of registrations."""
    out.mkdir(parents=True, exist_ok=True)
    tables = {
        name: pd.read_csv(source / f"{name}.csv", dtype=str, keep_default_na=False)
        for name in TABLES
    }
    parts = {name: [frame] for name, frame in tables.items()}
    for copied, made_up, student_offset, assessment_offset in COPIES:
        for name in TABLES[:4]:
            frame = tables[name][tables[name]["code_presentation"] == copied].copy()
            frame["code_presentation"] = made_up
            _shift(frame, "id_student", student_offset)
            _shift(frame, "id_assessment", assessment_offset)
            parts[name].append(frame)
        assessments = tables["assessments"]
        ids = set(assessments.loc[assessments["code_presentation"] == copied, "id_assessment"])
        submitted = tables["studentAssessment"]
        frame = submitted[submitted["id_assessment"].isin(ids)].copy()
        _shift(frame, "id_student", student_offset)
        _shift(frame, "id_assessment", assessment_offset)
        parts["studentAssessment"].append(frame)
    for name, frames in parts.items():
        pd.concat(frames).to_csv(out / f"{name}.csv", index=False, quoting=1)
    vle = source / "vle.csv"
    if vle.is_file():
        sites = pd.read_csv(vle, dtype=str, keep_default_na=False)
        copies = [sites]
        for number, (copied, made_up, _, _) in enumerate(COPIES, start=1):
            frame = sites[sites["code_presentation"] == copied].copy()
            frame["code_presentation"] = made_up
            _shift(frame, "id_site", number * SITE_OFFSET)
            copies.append(frame)
        pd.concat(copies).to_csv(out / "vle.csv", index=False, quoting=1)
    if (source / "studentVle_fragment.csv").is_file():
        shutil.copy(source / "studentVle_fragment.csv", out / "studentVle_fragment.csv")
    return sum(len(frame) for frame in parts["studentInfo"])


def write_clickstream(out: Path, seed: int = 0) -> int:
    """Write a made-up ``studentVle.csv`` for the registrations in ``out`` at the full file's
    density; the number of rows written. Students who withdrew click less, and not after."""
    import numpy as np

    rng = np.random.default_rng(seed)
    info = pd.read_csv(out / "studentInfo.csv")
    registrations = pd.read_csv(out / "studentRegistration.csv").merge(
        info[["code_module", "code_presentation", "id_student", "final_result"]]
    )
    lengths = pd.read_csv(out / "courses.csv")
    registrations = registrations.merge(lengths)
    sites = pd.read_csv(out / "vle.csv")
    by_presentation = {
        key: frame["id_site"].to_numpy()
        for key, frame in sites.groupby(["code_module", "code_presentation"])
    }
    written = 0
    target = out / "studentVle.csv"
    target.unlink(missing_ok=True)
    for (module, presentation), group in registrations.groupby(
        ["code_module", "code_presentation"]
    ):
        site_ids = by_presentation.get((module, presentation))
        if site_ids is None:
            continue
        withdrew = group["final_result"].eq("Withdrawn").to_numpy()
        engagement = rng.gamma(2.0, CLICK_ROWS_PER_REGISTRATION / 2, len(group))
        rows = rng.poisson(engagement * np.where(withdrew, 0.5, 1.15))
        last_day = (
            group["date_unregistration"].fillna(group["module_presentation_length"]).to_numpy()
        )
        last_day = np.minimum(last_day, group["module_presentation_length"].to_numpy())
        rows[last_day < -10] = 0  # withdrew before the clickstream begins
        students = np.repeat(group["id_student"].to_numpy(), rows)
        span = np.repeat(last_day + 11, rows)
        clicks = pd.DataFrame(
            {
                "code_module": module,
                "code_presentation": presentation,
                "id_student": students,
                "id_site": site_ids[rng.integers(0, len(site_ids), len(students))],
                "date": (rng.random(len(students)) * span).astype(int) - 10,
                "sum_click": rng.integers(1, 8, len(students)),
            }
        )
        clicks.to_csv(target, mode="a", header=written == 0, index=False)
        written += len(clicks)
    return written


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--source", type=Path, default=DEFAULT_SOURCE, help="the OULAD folder")
    parser.add_argument(
        "--clickstream",
        action="store_true",
        help="also write a made-up studentVle.csv at the full file's size and import it",
    )
    args = parser.parse_args()
    oulad_clickstream(args.source)  # a one-line error unless it holds OULAD's files
    with tempfile.TemporaryDirectory(prefix="oulad-scaled-") as scratch:
        work = Path(scratch)
        say(f"writing the scaled copy of {args.source}")
        registrations = write_scaled_copy(args.source, work / "oulad")
        clicks = 0
        if args.clickstream:
            say("writing a made-up studentVle.csv at the full file's size")
            clicks = write_clickstream(work / "oulad")
        say(f"importing {registrations:,} registrations (earlywarn import oulad)")
        started = time.perf_counter()
        _, import_peak_mb = earlywarn(
            "import", "oulad", str(work / "oulad"), "--out", str(work / "folder"),
            "--label", "withdrawn", *([] if args.clickstream else ["--no-activity"]),
        )  # fmt: skip
        import_wall = time.perf_counter() - started
        say("training (earlywarn train --json): about a minute on 2 cores")
        started = time.perf_counter()
        output, peak_mb = earlywarn("--home", str(work / "home"), "train", str(work / "folder"),
                                    "--json")  # fmt: skip
        wall = time.perf_counter() - started
    summary = json.loads(output)
    print(json.dumps({
        "registrations": registrations,
        "clickstream_rows": clicks,
        "import_wall_seconds": round(import_wall, 1),
        "import_peak_mb": import_peak_mb,
        "train_wall_seconds": round(wall, 1),
        "train_peak_mb": peak_mb,
        "trees": summary["trees"],
        "step_seconds": summary["step_seconds"],
        "command": "benchmarks/oulad_scaled.py",
    }))  # fmt: skip


if __name__ == "__main__":
    main()
