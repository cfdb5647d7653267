"""The OULAD importer on a real slice of the data set: counts, keys, labels, times, both variants.

Expected figures are read from the slice's own files with the csv module, never typed in, so the
tests hold for any slice cut by tests/data/oulad_slice/cut_slice.py.
"""

from __future__ import annotations

import csv
import shutil
from collections import Counter
from datetime import date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from earlywarn.contract import load_tables, validate_folder
from earlywarn.importers.oulad.convert import import_oulad
from earlywarn.importers.oulad.layout import presentation_start
from tests.paths import TEST_DATA

SLICE = TEST_DATA / "oulad_slice"
LONDON = ZoneInfo("Europe/London")


def source_rows(folder: Path, name: str) -> list[dict[str, str]]:
    """An OULAD file's rows as the csv module reads them (either variant)."""
    with (folder / name).open(encoding="utf-8-sig", newline="") as handle:
        return list(csv.DictReader(handle))


def output_rows(folder: Path, name: str) -> list[dict[str, str]]:
    with (folder / f"{name}.csv").open(encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle))


def plain_variant(source: Path, target: Path) -> Path:
    """The other circulating format: unquoted, LF line ends, ``?`` for a missing value.

    The clickstream fragment, already plain, goes the other way (every field quoted, CRLF).
    """
    target.mkdir()
    for path in sorted(source.glob("*.csv")):
        with path.open(encoding="utf-8", newline="") as handle:
            rows = list(csv.reader(handle))
        with (target / path.name).open("w", encoding="utf-8", newline="") as handle:
            if path.name.startswith("studentVle"):
                csv.writer(handle, quoting=csv.QUOTE_ALL, lineterminator="\r\n").writerows(rows)
            else:
                writer = csv.writer(handle, quoting=csv.QUOTE_NONE, lineterminator="\n")
                writer.writerow(rows[0])
                writer.writerows([[value or "?" for value in row] for row in rows[1:]])
    return target


@pytest.fixture(scope="module")
def imported(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("oulad") / "contract"
    import_oulad(SLICE, out)
    return out


def registration_id(row: dict[str, str]) -> str:
    return f"{row['code_module']}-{row['code_presentation']}-{row['id_student']}"


def test_the_import_meets_the_contract(imported: Path) -> None:
    report = validate_folder(imported)
    assert report.ok, [str(problem) for problem in report.problems]
    assert report.warnings == []
    tables = load_tables(imported)
    assert tables.activity is not None
    assert tables.outcomes is not None


def test_one_student_per_registration_even_when_an_id_repeats(imported: Path) -> None:
    info = source_rows(SLICE, "studentInfo.csv")
    students = output_rows(imported, "students")
    assert sorted(row["student_id"] for row in students) == sorted(map(registration_id, info))
    repeated = {i for i, n in Counter(row["id_student"] for row in info).items() if n > 1}
    assert repeated, "the slice should hold an id_student registered on two presentations"
    for id_student in repeated:
        mine = [row for row in students if row["display_name"] == id_student]
        assert len(mine) == sum(row["id_student"] == id_student for row in info)
        assert len({row["program_id"] + row["first_term_id"] for row in mine}) == len(mine)
    modules = {row["code_module"] for row in info}
    assert {row["program_id"] for row in output_rows(imported, "programs")} == modules


def test_enrollments_keep_registration_days(imported: Path) -> None:
    registrations = {registration_id(r): r for r in source_rows(SLICE, "studentRegistration.csv")}
    enrollments = output_rows(imported, "enrollments")
    assert len(enrollments) == len(registrations)
    for row in enrollments:
        source = registrations[row["student_id"]]
        start = presentation_start(source["code_presentation"])
        if source["date_unregistration"]:
            dropped = start + timedelta(days=int(source["date_unregistration"]))
            assert row["dropped_on"] == dropped.isoformat()
        else:
            assert row["dropped_on"] == ""
        if source["date_registration"]:
            enrolled = start + timedelta(days=int(source["date_registration"]))
            assert row["enrolled_on"] == enrolled.isoformat()
    assert any(not r["date_registration"] for r in registrations.values())


def test_terms_start_on_the_first_saturday_and_end_after_the_length(imported: Path) -> None:
    lengths = {
        f"{r['code_module']}-{r['code_presentation']}": int(r["module_presentation_length"])
        for r in source_rows(SLICE, "courses.csv")
    }
    terms = output_rows(imported, "terms")
    assert {row["term_id"] for row in terms} == set(lengths)
    for row in terms:
        start = date.fromisoformat(row["start_date"])
        assert start.weekday() == 5
        assert start.day <= 7
        assert start.month == (10 if row["term_id"].endswith("J") else 2)
        assert date.fromisoformat(row["end_date"]) == start + timedelta(
            days=lengths[row["term_id"]]
        )
    assert presentation_start("2013J") == date(2013, 10, 5)
    assert presentation_start("2014B") == date(2014, 2, 1)


def test_assessments_become_graded_items_with_weights_adding_to_one(imported: Path) -> None:
    assessments = source_rows(SLICE, "assessments.csv")
    lengths = {
        f"{r['code_module']}-{r['code_presentation']}": int(r["module_presentation_length"])
        for r in source_rows(SLICE, "courses.csv")
    }
    items = output_rows(imported, "course_items")
    graded = [row for row in items if row["graded"] == "true"]
    assert len(graded) == len(assessments)
    assert len(items) - len(graded) == len(source_rows(SLICE, "vle.csv"))
    by_id = {row["item_id"]: row for row in graded}
    for source in assessments:
        course = f"{source['code_module']}-{source['code_presentation']}"
        item = by_id[f"{course}-A{source['id_assessment']}"]
        kind = {"TMA": "staff_graded", "CMA": "quiz", "Exam": "staff_graded"}
        assert item["item_type"] == kind[source["assessment_type"]]
        expected_day = int(source["date"]) if source["date"] else lengths[course]
        assert int(item["due_day"]) == expected_day
    for course in lengths:
        mine = [row for row in graded if row["course_id"] == course]
        assert sum(float(row["grade_weight"]) for row in mine) == pytest.approx(1, abs=1e-4)
        exams = {
            f"{course}-A{r['id_assessment']}"
            for r in assessments
            if f"{r['code_module']}-{r['code_presentation']}" == course
            and r["assessment_type"] == "Exam"
        }
        assert {row["item_id"] for row in mine[-len(exams) :]} == exams, "the exam comes last"
    # GGG weighs its coursework 0 and its exam 100: the exam carries the whole grade.
    ggg = [row for row in graded if row["course_id"] == "GGG-2013J"]
    assert [float(row["grade_weight"]) for row in ggg][-1] == 1.0


def test_submissions_keep_day_offsets_at_the_last_minute_of_the_london_day(imported: Path) -> None:
    results = source_rows(SLICE, "studentAssessment.csv")
    course_of = {
        r["id_assessment"]: (r["code_module"], r["code_presentation"])
        for r in source_rows(SLICE, "assessments.csv")
    }
    submissions = output_rows(imported, "submissions")
    assert len(submissions) == len(results)
    expected = Counter()
    for r in results:
        module, presentation = course_of[r["id_assessment"]]
        day = presentation_start(presentation) + timedelta(days=int(r["date_submitted"]))
        local = datetime(day.year, day.month, day.day, 23, 59, tzinfo=LONDON)
        expected[(f"{module}-{presentation}-{r['id_student']}", local, r["score"])] += 1
    seen = Counter(
        (
            row["student_id"],
            datetime.fromisoformat(row["submitted_at"]),
            row["score"].removesuffix(".0"),
        )
        for row in submissions
    )
    assert seen == expected
    offsets = {datetime.fromisoformat(row["submitted_at"]).utcoffset() for row in submissions}
    assert offsets == {timedelta(0), timedelta(hours=1)}, "summer and winter time both occur"
    banked = output_rows(imported, "oulad/banked_submissions")
    assert len(banked) == sum(r["is_banked"] == "1" for r in results) > 0
    flagged = Counter(
        (row["student_id"], row["item_id"]) for row in submissions if row["is_banked"] == "true"
    )
    assert flagged == Counter((row["student_id"], row["item_id"]) for row in banked)
    assert {row["is_banked"] for row in submissions} == {"true", "false"}


def test_prior_attempts_and_credits_become_student_columns(imported: Path) -> None:
    info = {registration_id(r): r for r in source_rows(SLICE, "studentInfo.csv")}
    students = output_rows(imported, "students")
    assert len(students) == len(info)
    for row in students:
        source = info[row["student_id"]]
        assert row["prior_attempts"] == source["num_of_prev_attempts"]
        assert row["first_term_credits"] == source["studied_credits"]
    assert any(row["prior_attempts"] != "0" for row in students)
    tables = load_tables(imported)
    assert tables.students["prior_attempts"].notna().all()
    assert tables.submissions["is_banked"].sum() > 0


def test_default_label_is_did_not_withdraw(imported: Path) -> None:
    info = {registration_id(r): r["final_result"] for r in source_rows(SLICE, "studentInfo.csv")}
    outcomes = {row["student_id"]: row["retained"] for row in output_rows(imported, "outcomes")}
    assert outcomes == {key: str(result != "Withdrawn").lower() for key, result in info.items()}
    assert set(outcomes.values()) == {"true", "false"}


def test_label_not_passed_means_passed(tmp_path: Path) -> None:
    import_oulad(SLICE, tmp_path / "out", label="not-passed", activity=False)
    info = {registration_id(r): r["final_result"] for r in source_rows(SLICE, "studentInfo.csv")}
    outcomes = {
        row["student_id"]: row["retained"] for row in output_rows(tmp_path / "out", "outcomes")
    }
    passed = {"Pass", "Distinction"}
    assert outcomes == {key: str(result in passed).lower() for key, result in info.items()}
    assert "Fail" in info.values(), "the slice should hold a Fail, where the two labels differ"
    assert not (tmp_path / "out" / "activity.csv").exists()


def test_clickstream_becomes_one_activity_row_per_student_site_and_day(imported: Path) -> None:
    clicks = source_rows(SLICE, "studentVle_fragment.csv")
    distinct = {(registration_id(r), r["id_site"], r["date"]) for r in clicks}
    assert len(distinct) < len(clicks), "the slice should hold repeated clicks"
    activity = output_rows(imported, "activity")
    assert len(activity) == len(distinct)
    sites = {r["id_site"] for r in source_rows(SLICE, "vle.csv")}
    for row in activity:
        assert row["minutes"] == ""
        assert row["item_id"].split("-V")[-1] in sites
        assert datetime.fromisoformat(row["started_at"]).astimezone(LONDON).time().hour == 23
    found = {
        (row["student_id"], row["item_id"].split("-V")[-1], row["started_at"]) for row in activity
    }
    assert len(found) == len(distinct)


def test_both_circulating_variants_import_identically(tmp_path: Path) -> None:
    plain = plain_variant(SLICE, tmp_path / "plain")
    assert b"\r\n" not in (plain / "studentInfo.csv").read_bytes()
    assert b"?" in (plain / "studentRegistration.csv").read_bytes()
    import_oulad(SLICE, tmp_path / "from-original")
    import_oulad(plain, tmp_path / "from-plain")
    original = sorted(
        p.relative_to(tmp_path / "from-original")
        for p in (tmp_path / "from-original").rglob("*.csv")
    )
    assert original == sorted(
        p.relative_to(tmp_path / "from-plain") for p in (tmp_path / "from-plain").rglob("*.csv")
    )
    assert Path("activity.csv") in original
    for name in original:
        assert (tmp_path / "from-original" / name).read_bytes() == (
            tmp_path / "from-plain" / name
        ).read_bytes(), name


def test_the_full_clickstream_name_is_preferred_to_the_fragment(tmp_path: Path) -> None:
    source = tmp_path / "source"
    shutil.copytree(SLICE, source)
    fragment = source_rows(SLICE, "studentVle_fragment.csv")
    lines = (SLICE / "studentVle_fragment.csv").read_text().splitlines()
    (source / "studentVle.csv").write_text("\n".join(lines[: 1 + len(fragment) // 2]) + "\n")
    summary = import_oulad(source, tmp_path / "out")
    assert summary.clickstream == "studentVle.csv"
    half = {(registration_id(r), r["id_site"], r["date"]) for r in fragment[: len(fragment) // 2]}
    assert summary.rows["activity"] == len(half)


def test_a_course_whose_weights_are_all_zero_shares_its_grade_equally(tmp_path: Path) -> None:
    source = Path(shutil.copytree(SLICE, tmp_path / "source"))
    path = source / "assessments.csv"
    lines = path.read_bytes().decode().splitlines(keepends=True)
    zeroed = [
        line.replace(line.split(",")[-1], '"0"\r\n') if line.startswith('"AAA"') else line
        for line in lines
    ]
    path.write_bytes("".join(zeroed).encode())
    count = sum(line.startswith('"AAA"') for line in lines)
    import_oulad(source, tmp_path / "out", activity=False)
    weights = [
        float(row["grade_weight"])
        for row in output_rows(tmp_path / "out", "course_items")
        if row["course_id"] == "AAA-2013J" and row["graded"] == "true"
    ]
    assert weights == pytest.approx([1 / count] * count, abs=1e-6)
    assert validate_folder(tmp_path / "out").ok
