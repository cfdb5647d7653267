"""The synthetic institution: valid, deterministic, time-zone correct, and true to its truth."""

from __future__ import annotations

import hashlib
import json
import re
from datetime import date
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow.parquet as pq
import pytest
from click.testing import CliRunner

from earlywarn.cli import cli
from earlywarn.contract import Tables, load_tables, validate_folder
from earlywarn.core.errors import UsageError
from earlywarn.core.time import end_of_local_day
from earlywarn.synthetic import generate
from earlywarn.synthetic.config import DEFAULT_TODAY, DRIVER_TARGETS, GeneratorConfig
from tests.paths import REPO
from tests.timeline import local_dates

DOCS = REPO / "docs" / "driver-definitions.md"


def _hashes(folder: Path) -> dict[str, str]:
    return {
        str(path.relative_to(folder)): hashlib.sha256(path.read_bytes()).hexdigest()
        for path in sorted(folder.rglob("*"))
        if path.is_file()
    }


@pytest.fixture(scope="module")
def tables(small_institution: Path) -> Tables:
    return load_tables(small_institution)


@pytest.fixture(scope="module")
def truth(small_institution: Path) -> pd.DataFrame:
    return pd.read_csv(small_institution / "_truth" / "students.csv", keep_default_na=True)


def test_same_seed_gives_identical_files_and_another_seed_does_not(tmp_path: Path) -> None:
    config = GeneratorConfig(students=600, programs=3, seed=11)
    generate(config, tmp_path / "a")
    generate(config, tmp_path / "b")
    generate(GeneratorConfig(students=600, programs=3, seed=12), tmp_path / "c")
    first, second, other = (_hashes(tmp_path / name) for name in "abc")
    assert first == second
    assert "activity.parquet" in first
    assert "_truth/drivers.json" in first
    assert {name for name in first if first[name] != other.get(name)} >= {
        "students.csv",
        "activity.parquet",
        "_truth/students.csv",
    }


def test_output_meets_the_contract_with_every_optional_table(small_institution: Path) -> None:
    report = validate_folder(small_institution)
    assert report.ok, [str(p) for p in report.problems[:5]]
    assert not report.warnings
    names = {path.name for path in small_institution.iterdir() if path.is_file()}
    for table in ("advisors", "activity", "forum_activity", "open_content", "support_tickets"):
        assert f"{table}.csv" in names or f"{table}.parquet" in names
    assert not any(name.startswith("outcomes") for name in names)


def test_big_tables_are_parquet_with_arrow_types(small_institution: Path) -> None:
    schema = pq.read_schema(small_institution / "activity.parquet")
    assert str(schema.field("started_at").type) == "timestamp[us, tz=UTC]"
    assert str(schema.field("student_id").type) == "string"
    assert str(schema.field("minutes").type) == "double"
    schema = pq.read_schema(small_institution / "submissions.parquet")
    assert str(schema.field("submitted_at").type) == "timestamp[us, tz=UTC]"


def test_every_program_has_a_cohort_a_few_weeks_into_its_first_term(tables: Tables) -> None:
    today = pd.Timestamp(DEFAULT_TODAY)
    terms = tables.terms
    current = terms[(terms["start_date"] <= today) & (terms["end_date"] >= today)]
    assert set(current["program_id"].astype(str)) == set(tables.programs["program_id"])
    weeks_in = (today - current["start_date"]).dt.days / 7
    assert weeks_in.between(2, 6).all()
    cohort_terms = set(tables.students["first_term_id"].astype(str))
    assert set(current["term_id"]) <= cohort_terms


def test_nothing_is_dated_on_or_after_today(tables: Tables) -> None:
    cut = pd.Timestamp(DEFAULT_TODAY, tz="UTC")
    assert (tables.activity["started_at"] < cut).all()
    assert (tables.submissions["submitted_at"] < cut).all()
    assert (tables.forum_activity["at"] < cut).all()
    enr = tables.enrollments
    assert (enr["dropped_on"].dropna() < pd.Timestamp(DEFAULT_TODAY)).all()
    term_end = tables.terms["end_date"].to_numpy()[enr["term_id"].cat.codes]
    graded = enr["final_grade"].notna().to_numpy()
    assert (term_end[graded] < np.datetime64(DEFAULT_TODAY)).all()
    assert graded.any()


def _local_days(tables: Tables, frame: pd.DataFrame, column: str) -> pd.Series:
    """Each row's local calendar day in its program's zone."""
    zone = tables.programs["timezone"].to_numpy()[
        tables.terms["program_id"].cat.codes.to_numpy()[frame["term_id"].cat.codes]
    ]
    out = pd.Series(pd.NaT, index=frame.index, dtype="datetime64[s]")
    for tz in np.unique(zone):
        rows = zone == tz
        out[rows] = local_dates(frame.loc[rows, column], tz).to_numpy()
    return out


def test_sessions_fall_on_local_days_with_late_evenings_crossing_utc_midnight(
    tables: Tables,
) -> None:
    act = tables.activity
    zone = tables.programs["timezone"].to_numpy()[
        tables.terms["program_id"].cat.codes.to_numpy()[act["term_id"].cat.codes]
    ]
    crossing = 0
    for tz in np.unique(zone):
        rows = act.loc[zone == tz, "started_at"]
        local_hour = rows.dt.tz_convert(tz).dt.hour
        assert local_hour.between(6, 23).all(), tz
        if tz.startswith("America/"):
            next_utc_day = rows.dt.date > rows.dt.tz_convert(tz).dt.date
            crossing += int((next_utc_day & (local_hour >= 20)).sum())
    assert crossing > 0


def test_no_activity_after_a_drop(tables: Tables) -> None:
    act = tables.activity
    act_day = _local_days(tables, act, "started_at")
    key = ["student_id", "course_id", "term_id"]
    dropped = tables.enrollments.dropna(subset=["dropped_on"])[[*key, "dropped_on"]]
    rows = act[key].assign(day=act_day).merge(dropped, on=key)
    assert len(dropped) > 0
    assert (rows["day"] < rows["dropped_on"]).all()


def _derived_labels(tables: Tables) -> pd.Series:
    """The contract's first-year label, recomputed from the tables (NaN where unknown)."""
    terms, students, enr = tables.terms, tables.students, tables.enrollments
    first_start = terms["start_date"].to_numpy()[students["first_term_id"].cat.codes]
    label = pd.Series(np.nan, index=students.index)
    today = np.datetime64(DEFAULT_TODAY)
    for program, members in students.groupby("program_id", observed=True).groups.items():
        own = terms[terms["program_id"] == program].sort_values("start_date")
        starts = own["start_date"].to_numpy()
        for row in members:
            later = np.flatnonzero(starts >= first_start[row] + np.timedelta64(335, "D"))
            if later.size == 0:
                continue
            anniversary = own.iloc[later[0]]
            if today < anniversary["drop_deadline"]:
                continue
            label[row] = 0.0
    enrolled = enr.merge(
        terms[["term_id", "drop_deadline"]].rename(columns={"term_id": "tid"}),
        left_on=enr["term_id"].astype(str),
        right_on="tid",
    )
    kept = enrolled[
        enrolled["dropped_on"].isna() | (enrolled["dropped_on"] >= enrolled["drop_deadline"])
    ]
    pairs = set(zip(kept["student_id"].astype(str), kept["tid"], strict=True))
    for row in np.flatnonzero(label.notna().to_numpy()):
        program = students["program_id"].iloc[row]
        own = terms[terms["program_id"] == program].sort_values("start_date")
        later = own[own["start_date"] >= first_start[row] + np.timedelta64(335, "D")]
        if (students["student_id"].iloc[row], later["term_id"].iloc[0]) in pairs:
            label[row] = 1.0
    return label


def test_labels_known_for_older_cohorts_and_equal_to_the_drawn_outcome(
    tables: Tables, truth: pd.DataFrame
) -> None:
    label = _derived_labels(tables)
    assert (label.notna().to_numpy() == truth["label_known"].to_numpy()).all()
    known = truth["label_known"].to_numpy()
    drawn = truth.loc[known, "retained"].astype(bool).to_numpy()
    assert (label[known].to_numpy() == drawn).all()
    first_start = tables.terms["start_date"].to_numpy()[tables.students["first_term_id"].cat.codes]
    old = first_start < np.datetime64(DEFAULT_TODAY) - np.timedelta64(400, "D")
    assert known[old].mean() > 0.95
    assert 0.6 < drawn.mean() < 0.85


def test_truth_files_are_well_formed(small_institution: Path, truth: pd.DataFrame) -> None:
    names = re.findall(r"^\| (\w+) \|", DOCS.read_text(encoding="utf-8"), flags=re.MULTILINE)
    names = [n for n in names if n != "driver"]
    assert len(names) == 22
    effects = json.loads((small_institution / "_truth" / "drivers.json").read_text())
    assert list(effects) == names
    assert all(np.isfinite(v) for v in effects.values())
    assert set(names) <= set(truth.columns)
    students = pd.read_csv(small_institution / "students.csv")
    assert truth["student_id"].tolist() == students["student_id"].tolist()
    assert truth["p_retained"].between(0.02, 0.98).all()
    assert (small_institution / "_truth" / "README.md").is_file()


def test_driver_values_recomputed_from_the_tables_match_the_truth(
    tables: Tables, truth: pd.DataFrame
) -> None:
    """Days active (local days), hours, the first assessment and drops, by the definitions."""
    students, terms, enr = tables.students, tables.terms, tables.enrollments
    first_term = students["first_term_id"].cat.codes.to_numpy()
    ended = terms["end_date"].to_numpy()[first_term] < np.datetime64(DEFAULT_TODAY)
    act = tables.activity
    in_first = act["term_id"].cat.codes.to_numpy() == first_term[act["student_id"].cat.codes]
    act = act[in_first]
    days = pd.DataFrame(
        {"s": act["student_id"].cat.codes, "day": _local_days(tables, act, "started_at")}
    )
    days_active = days.drop_duplicates().groupby("s").size()
    hours = (act["minutes"].groupby(act["student_id"].cat.codes.to_numpy()).sum()) / 60

    first_enr = enr[enr["term_id"].cat.codes.to_numpy() == first_term[enr["student_id"].cat.codes]]
    items = tables.course_items
    graded = items[items["graded"]]
    t_of = first_enr[["student_id", "course_id", "term_id"]].merge(
        graded[["item_id", "course_id", "due_day"]], on="course_id"
    )
    term_rows = t_of["term_id"].cat.codes.to_numpy()
    due_dates = pd.Series(
        terms["start_date"].to_numpy()[term_rows]
        + t_of["due_day"].to_numpy().astype("timedelta64[D]")
    )
    zone = tables.programs["timezone"].to_numpy()[terms["program_id"].cat.codes.to_numpy()]
    t_of["due"] = pd.Series(pd.NaT, index=t_of.index, dtype="datetime64[us, UTC]")
    for tz in np.unique(zone[term_rows]):
        rows = zone[term_rows] == tz
        t_of.loc[rows, "due"] = end_of_local_day(due_dates[rows], tz).to_numpy()
    t_of["first"] = t_of.groupby("student_id", observed=True)["due"].transform("min")
    due_first = t_of[t_of["due"] == t_of["first"]]
    subs = tables.submissions.merge(
        due_first[["student_id", "item_id", "due"]], on=["student_id", "item_id"]
    )
    good = subs[(subs["submitted_at"] <= subs["due"]) & (subs["score"] >= 50)]
    on_time = set(good["student_id"].astype(str))
    first_deadline = t_of.groupby("student_id", observed=True)["first"].min()
    before = (
        act["started_at"].to_numpy()
        < first_deadline.reindex(act["student_id"].astype(str)).to_numpy()
    )
    days_before = days[before].drop_duplicates().groupby("s").size()

    checked = 0
    for row in np.flatnonzero(ended):
        sid = students["student_id"].iloc[row]
        want = truth.iloc[row]
        assert want["days_active_first_term"] == days_active.get(row, 0), sid
        assert want["days_active_before_first_deadline"] == days_before.get(row, 0), sid
        assert want["learning_hours_first_term"] == pytest.approx(hours.get(row, 0.0)), sid
        assert want["first_assessment_on_time"] == float(sid in on_time), sid
        mine = first_enr[first_enr["student_id"] == sid]
        assert want["courses_enrolled"] == len(mine), sid
        assert want["courses_dropped"] == mine["dropped_on"].notna().sum(), sid
        checked += 1
    assert checked > 500


def test_true_effects_have_the_reports_sign_and_size(tmp_path: Path) -> None:
    generate(GeneratorConfig(students=6000, programs=8, seed=3), tmp_path / "inst")
    effects = json.loads((tmp_path / "inst" / "_truth" / "drivers.json").read_text())
    for name, (target, _, _) in DRIVER_TARGETS.items():
        if abs(target) >= 1:
            assert np.sign(effects[name]) == np.sign(target), name
        assert abs(effects[name] - target) <= max(1.5, 0.6 * abs(target)), (name, effects[name])
    # The report's orderings: days active beat learning hours, overall and before the deadline.
    assert effects["days_active_first_term"] > effects["learning_hours_first_term"]
    assert (
        effects["days_active_before_first_deadline"]
        > effects["learning_hours_before_first_deadline"]
    )


def test_names_exercise_escaping(tables: Tables) -> None:
    names = tables.students["display_name"]
    assert names.str.contains("'").any()
    assert names.str.contains("[<&]").any()
    assert names.str.contains("[éëöüá]").any()
    assert tables.advisors["email"].str.endswith("@example.edu").all()


def test_generate_command_prints_a_summary_and_refuses_to_overwrite(tmp_path: Path) -> None:
    out = tmp_path / "inst"
    args = ["--home", str(tmp_path), "generate", "--out", str(out)]
    args += ["--students", "500", "--programs", "3", "--today", "2026-03-02"]
    result = CliRunner().invoke(cli, args)
    assert result.exit_code == 0, result.output
    assert "activity" in result.output
    assert "rows" in result.output
    assert "2026-03-02" in result.output
    again = CliRunner().invoke(cli, args)
    assert isinstance(again.exception, UsageError)
    forced = CliRunner().invoke(cli, [*args, "--force"])
    assert forced.exit_code == 0, forced.output
    started = pd.read_parquet(out / "activity.parquet")["started_at"]
    assert started.max() < pd.Timestamp(date(2026, 3, 2), tz="UTC")


def test_too_few_students_is_a_usage_error(tmp_path: Path) -> None:
    with pytest.raises(UsageError, match="at least"):
        generate(GeneratorConfig(students=20, programs=4), tmp_path / "x")
    assert not (tmp_path / "x").exists()


@pytest.mark.parametrize("rows", [0, 5, 2500])
def test_parquet_written_group_by_group_is_byte_identical_to_one_write(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, rows: int
) -> None:
    from itertools import pairwise

    import pyarrow as pa

    from earlywarn.synthetic import write
    from earlywarn.synthetic.simulate import RowChunks

    monkeypatch.setattr(write, "ROW_GROUP_ROWS", 1000)
    rng = np.random.default_rng(rows)
    act: dict[str, np.ndarray] = {
        "student": rng.integers(0, 3, rows).astype(np.int32),
        "course": rng.integers(0, 2, rows).astype(np.int32),
        "term": rng.integers(0, 2, rows).astype(np.int32),
        "started_us": rng.integers(0, 10**15, rows),
        "minutes": np.round(rng.uniform(1.0, 90.0, rows), 1),
    }
    # Uneven chunks, some empty, some straddling a row-group boundary.
    cuts = [0, *sorted({0, rows, *rng.integers(0, rows + 1, 6).tolist()})]
    chunks = {name: [v[a:b] for a, b in pairwise(cuts)] for name, v in act.items()}
    ids = (["S1", "S2", "S3"], ["C1", "C2"], ["T1", "T2"], ["I1"], list(write.FORUM_ACTIONS))
    names = write.Names(*(pa.array(values, pa.string()) for values in ids))
    table = write.ParquetRows(
        RowChunks(chunks), lambda group: write._activity_columns(names, group)
    )
    write.write_parquet(tmp_path / "groups.parquet", table)
    whole = pa.table(write._activity_columns(names, act))
    pq.write_table(whole, tmp_path / "whole.parquet", compression="zstd", row_group_size=1000)
    assert (tmp_path / "groups.parquet").read_bytes() == (tmp_path / "whole.parquet").read_bytes()
    assert pq.ParquetFile(tmp_path / "groups.parquet").metadata.num_row_groups == max(
        1, -(-rows // 1000)
    )
