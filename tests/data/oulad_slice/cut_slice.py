"""Cut the small OULAD slice that tests/test_oulad*.py import, byte for byte from the shared copy.

Run from the repository root: ``python tests/data/oulad_slice/cut_slice.py ../shared/data/oulad``.
Whole lines are copied unchanged, so the slice keeps each file's own format (quoted with CRLF, or
unquoted with LF for the clickstream fragment).
"""

from __future__ import annotations

import csv
import sys
from pathlib import Path

HERE = Path(__file__).parent
PRESENTATIONS = {"AAA-2013J", "CCC-2014B", "EEE-2014B", "GGG-2013J", "DDD-2013B"}
FIRST_STUDENTS = 12  # of each presentation, in file order
SHARED_STUDENTS = 4  # registered on both CCC-2014B and EEE-2014B (a student id seen twice)


def rows(path: Path) -> tuple[bytes, list[tuple[bytes, dict[str, str]]]]:
    lines = path.read_bytes().splitlines(keepends=True)
    header = next(csv.reader([lines[0].decode("utf-8-sig")]))
    parsed = [
        (line, dict(zip(header, next(csv.reader([line.decode()])), strict=True)))
        for line in lines[1:]
    ]
    return lines[0], parsed


def write(name: str, header: bytes, kept: list[bytes]) -> None:
    (HERE / name).write_bytes(header + b"".join(kept))


def presentation(row: dict[str, str]) -> str:
    return f"{row['code_module']}-{row['code_presentation']}"


def main(source: Path) -> None:
    header, info = rows(source / "studentInfo.csv")
    _, registration = rows(source / "studentRegistration.csv")
    _, results = rows(source / "studentAssessment.csv")
    missing_date = {
        (presentation(r), r["id_student"]) for _, r in registration if r["date_registration"] == ""
    }
    banked = {r["id_student"] for _, r in results if r["is_banked"] == "1"}
    by_student: dict[str, set[str]] = {}
    for _, r in info:
        by_student.setdefault(r["id_student"], set()).add(presentation(r))
    shared = sorted(s for s, ps in by_student.items() if {"CCC-2014B", "EEE-2014B"} <= ps)
    chosen: set[tuple[str, str]] = {
        (p, s) for s in shared[:SHARED_STUDENTS] for p in ("CCC-2014B", "EEE-2014B")
    }
    taken: dict[str, int] = {}
    extras = {"missing date": 0, "banked": 0}
    for _, r in info:
        key = (presentation(r), r["id_student"])
        if key[0] not in PRESENTATIONS:
            continue
        if taken.get(key[0], 0) < FIRST_STUDENTS:
            taken[key[0]] = taken.get(key[0], 0) + 1
            chosen.add(key)
        elif key in missing_date and extras["missing date"] < 2:
            extras["missing date"] += 1
            chosen.add(key)
        elif r["id_student"] in banked and extras["banked"] < 3:
            extras["banked"] += 1
            chosen.add(key)
    write(
        "studentInfo.csv",
        header,
        [line for line, r in info if (presentation(r), r["id_student"]) in chosen],
    )
    header, _ = rows(source / "studentRegistration.csv")
    write(
        "studentRegistration.csv",
        header,
        [line for line, r in registration if (presentation(r), r["id_student"]) in chosen],
    )
    for name in ("courses.csv", "assessments.csv", "vle.csv"):
        header, table = rows(source / name)
        write(name, header, [line for line, r in table if presentation(r) in PRESENTATIONS])
    _, assessments = rows(source / "assessments.csv")
    assessment_of = {r["id_assessment"]: presentation(r) for _, r in assessments}
    header, _ = rows(source / "studentAssessment.csv")
    write(
        "studentAssessment.csv",
        header,
        [
            line
            for line, r in results
            if (assessment_of.get(r["id_assessment"]), r["id_student"]) in chosen
        ],
    )
    header, clicks = rows(source / "studentVle_fragment.csv")
    write(
        "studentVle_fragment.csv",
        header,
        [line for line, r in clicks if (presentation(r), r["id_student"]) in chosen],
    )


if __name__ == "__main__":
    main(Path(sys.argv[1]))
