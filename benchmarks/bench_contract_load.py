"""Time load + validate of a folder with a large activity table (Parquet and CSV).

    .venv/bin/python benchmarks/bench_contract_load.py --rows 10000000 [--csv]

Builds the minimal test institution plus 100,000 students and an activity table of ``--rows``
rows (numpy, a few seconds), writes it to a temporary folder, then times ``load_tables``.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.csv as pcsv
import pyarrow.parquet as pq

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from earlywarn.contract import load_tables
from tests.factories import minimal_institution, write_institution


def build(folder: Path, rows: int, fmt: str) -> None:
    rng = np.random.default_rng(7)
    frames = minimal_institution()
    n_students = 100_000
    extra = pd.DataFrame(
        {
            "student_id": [f"X{i:06d}" for i in range(n_students)],
            "program_id": "NY",
            "first_term_id": "T-NY-2023F",
        },
        dtype=str,
    )
    frames["students"] = pd.concat([frames["students"], extra], ignore_index=True).fillna("")
    del frames["activity"]
    write_institution(folder, frames)
    students = np.array(frames["students"]["student_id"].tolist()[:-1], dtype=object)
    courses = np.array(["C-NY-101", "C-NY-102"], dtype=object)
    items = np.array(["I1", "I4"], dtype=object)  # I1 is of C-NY-101, I4 of C-NY-102
    course = rng.integers(0, 2, rows)
    start = np.datetime64("2023-09-04T00:00:00", "us").astype(np.int64)
    stamps = start + rng.integers(0, 100 * 86_400_000_000, rows)
    item = items[course].copy()
    item[rng.random(rows) < 0.5] = None
    activity = pa.table(
        {
            "student_id": pa.array(students[rng.integers(0, len(students) - 1, rows)], pa.string()),
            "course_id": pa.array(courses[course], pa.string()),
            "term_id": pa.array(np.full(rows, "T-NY-2023F", dtype=object), pa.string()),
            "started_at": pa.array(stamps, pa.timestamp("us", tz="UTC")),
            "minutes": pa.array(rng.exponential(20, rows).round(1)),
            "item_id": pa.array(item, pa.string()),
        }
    )
    if fmt == "parquet":
        pq.write_table(activity, folder / "activity.parquet")
    else:
        as_text = activity.set_column(
            3, "started_at", pa.compute.strftime(activity["started_at"], "%Y-%m-%dT%H:%M:%SZ")
        )
        pcsv.write_csv(as_text, folder / "activity.csv")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=10_000_000)
    parser.add_argument("--csv", action="store_true", help="activity as CSV instead of Parquet")
    args = parser.parse_args()
    fmt = "csv" if args.csv else "parquet"
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        t0 = time.perf_counter()
        build(folder, args.rows, fmt)
        size = (folder / f"activity.{fmt}").stat().st_size / 1e6
        print(
            f"built {args.rows:,} activity rows as {fmt} ({size:,.0f} MB) in "
            f"{time.perf_counter() - t0:.1f} s"
        )
        t0 = time.perf_counter()
        tables = load_tables(folder)
        elapsed = time.perf_counter() - t0
        assert tables.activity is not None
        assert len(tables.activity) == args.rows
        print(f"load_tables (read + validate + typed tables): {elapsed:.1f} s")


if __name__ == "__main__":
    main()
