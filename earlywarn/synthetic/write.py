"""Turn a :class:`Simulation` into a contract folder plus its ``_truth`` folder, atomically.

Small tables are CSV; activity, forum_activity and submissions are Parquet with Arrow types
(``timestamp[us, tz=UTC]``, ``string``, ``float64``). Output is a pure function of the simulation:
the same seed gives byte-identical files. The folder is written next to its destination and
renamed into place, so a failure never leaves a half-written folder behind.

Parquet tables are built and written one row group at a time: their string columns never exist
whole, which keeps large sizes within memory.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from earlywarn.core.errors import UsageError
from earlywarn.synthetic.behaviour import TICKET_CATEGORIES
from earlywarn.synthetic.config import (
    BASE_RETENTION,
    HEAVY_LOAD_COURSES,
    HEAVY_LOAD_DAY_POINTS,
    LOW_ACTIVITY_DAYS,
    LOW_ACTIVITY_POINTS,
    P_MAX,
    P_MIN,
    SILENT_BEFORE_DEADLINE_DAYS,
    SILENT_MISSED_DEADLINE_POINTS,
    SIMULATED_DRIVERS,
)
from earlywarn.synthetic.outcome import true_effects
from earlywarn.synthetic.population import COUNTRY_GROUPS, EDUCATION_LEVELS
from earlywarn.synthetic.simulate import RowChunks, Simulation

TRUTH_DIR = "_truth"
FORUM_ACTIONS = ("view", "thread", "reply")
PARQUET_TABLES = ("submissions", "activity", "forum_activity")
# pyarrow's default row-group length: writing group by group cuts the very groups one
# write_table call would, so the bytes are the same.
ROW_GROUP_ROWS = 1024 * 1024


@dataclass(frozen=True)
class ParquetRows:
    """A Parquet table to write group by group: ``columns`` turns a group of simulated rows
    into its Arrow columns."""

    source: RowChunks
    columns: Callable[[dict[str, np.ndarray]], dict[str, pa.Array]]


@dataclass(frozen=True)
class Names:
    """The identifiers that row codes index, as Arrow strings."""

    student: pa.Array
    course: pa.Array
    term: pa.Array
    item: pa.Array
    forum_action: pa.Array


def _dates(days: np.ndarray) -> np.ndarray:
    """Epoch days as YYYY-MM-DD strings; negative (missing) as empty."""
    text = np.datetime_as_string(np.asarray(days, dtype="datetime64[D]"), unit="D")
    return np.where(np.asarray(days) < 0, "", text)


def _instants(us: np.ndarray) -> np.ndarray:
    """UTC microseconds as ISO 8601 with a Z (whole seconds, which is all tickets carry)."""
    return np.char.add(np.datetime_as_string(np.asarray(us, dtype="datetime64[us]"), unit="s"), "Z")


def _take(names: pa.Array, codes: np.ndarray) -> pa.Array:
    return names.take(pa.array(codes, pa.int64()))


def _ts(us: np.ndarray) -> pa.Array:
    return pa.array(np.asarray(us, dtype="datetime64[us]"), pa.timestamp("us", tz="UTC"))


def _bools(values: np.ndarray) -> np.ndarray:
    return np.where(values, "true", "false")


def _floats(values: np.ndarray) -> list[str]:
    return ["" if np.isnan(v) else repr(float(v)) for v in values]


def _submission_columns(names: Names, sub: dict[str, np.ndarray]) -> dict[str, pa.Array]:
    return {
        "student_id": _take(names.student, sub["student"]),
        "item_id": _take(names.item, sub["item"]),
        "term_id": _take(names.term, sub["term"]),
        "submitted_at": _ts(sub["at_us"]),
        "score": pa.array(sub["score"], pa.float64()),
    }


def _activity_columns(names: Names, act: dict[str, np.ndarray]) -> dict[str, pa.Array]:
    return {
        "student_id": _take(names.student, act["student"]),
        "course_id": _take(names.course, act["course"]),
        "term_id": _take(names.term, act["term"]),
        "started_at": _ts(act["started_us"]),
        "minutes": pa.array(act["minutes"], pa.float64()),
    }


def _forum_columns(names: Names, forum: dict[str, np.ndarray]) -> dict[str, pa.Array]:
    return {
        "student_id": _take(names.student, forum["student"]),
        "course_id": _take(names.course, forum["course"]),
        "term_id": _take(names.term, forum["term"]),
        "at": _ts(forum["at_us"]),
        "action": _take(names.forum_action, forum["action"]),
    }


def build_tables(sim: Simulation) -> dict[str, pd.DataFrame | ParquetRows]:
    """Every contract table: pandas frames of strings for CSV, :class:`ParquetRows` for Parquet
    (built group by group as they are written)."""
    cat, pop = sim.catalogue, sim.population
    student_ids = [f"S{i + 1:06d}" for i in range(pop.size)]
    advisor_ids = [f"ADV{i + 1:03d}" for i in range(len(pop.advisor_name))]
    program_of_term = cat.term_program
    out: dict[str, pd.DataFrame | ParquetRows] = {}
    names = Names(
        student=pa.array(student_ids, pa.string()),
        course=pa.array(cat.course_id, pa.string()),
        term=pa.array(cat.term_id, pa.string()),
        item=pa.array(cat.item_id, pa.string()),
        forum_action=pa.array(list(FORUM_ACTIONS), pa.string()),
    )
    out["programs"] = pd.DataFrame(
        {
            "program_id": cat.program_id,
            "name": cat.program_name,
            "terms_per_year": cat.terms_per_year,
            "terms_allowed_missing": cat.terms_allowed_missing,
            "timezone": cat.timezone,
        }
    )
    out["terms"] = pd.DataFrame(
        {
            "term_id": cat.term_id,
            "program_id": [cat.program_id[p] for p in program_of_term],
            "start_date": _dates(cat.term_start),
            "end_date": _dates(cat.term_end),
            "drop_deadline": _dates(cat.term_deadline),
            "season": cat.term_season,
        }
    )
    out["students"] = pd.DataFrame(
        {
            "student_id": student_ids,
            "program_id": [cat.program_id[p] for p in pop.program],
            "first_term_id": [cat.term_id[t] for t in pop.first_term],
            "advisor_id": ["" if a < 0 else advisor_ids[a] for a in pop.advisor],
            "display_name": pop.display_name,
            "age": pop.age,
            "country_group": [COUNTRY_GROUPS[c] for c in pop.country],
            "education_level": [EDUCATION_LEVELS[e] for e in pop.education],
            "platform_joined_on": _dates(pop.joined_day),
            "admitted_on": _dates(pop.admitted_day),
        }
    )
    out["courses"] = pd.DataFrame(
        {
            "course_id": cat.course_id,
            "program_id": [cat.program_id[p] for p in cat.course_program],
            "title": cat.course_title,
            "weeks": cat.course_weeks,
        }
    )
    graded = cat.item_graded
    out["course_items"] = pd.DataFrame(
        {
            "item_id": cat.item_id,
            "course_id": [cat.course_id[c] for c in cat.item_course],
            "week": cat.item_week,
            "item_type": cat.item_type,
            "graded": _bools(graded),
            "grade_weight": _floats(np.where(graded, cat.item_weight, np.nan)),
            "due_day": np.where(graded, cat.item_due_day.astype(str), ""),
            "video_minutes": _floats(cat.item_video_minutes),
        }
    )
    enr = sim.enrollments
    out["enrollments"] = pd.DataFrame(
        {
            "student_id": [student_ids[s] for s in enr["student"]],
            "course_id": [cat.course_id[c] for c in enr["course"]],
            "term_id": [cat.term_id[t] for t in enr["term"]],
            "enrolled_on": _dates(enr["enrolled_day"]),
            "dropped_on": _dates(enr["dropped_day"]),
            "final_grade": _floats(enr["final_grade"]),
            "is_required": _bools(cat.course_first_option[enr["course"]]),
        }
    )
    out["submissions"] = ParquetRows(sim.submissions, partial(_submission_columns, names))
    out["advisors"] = pd.DataFrame(
        {"advisor_id": advisor_ids, "name": pop.advisor_name, "email": pop.advisor_email}
    )
    out["activity"] = ParquetRows(sim.activity, partial(_activity_columns, names))
    out["forum_activity"] = ParquetRows(sim.forum, partial(_forum_columns, names))
    today = int((np.datetime64(sim.config.today, "D") - np.datetime64(0, "D")).astype(int))
    visible = pop.open_enrolled < today
    completed = np.where(pop.open_completed >= today, -1, pop.open_completed)[visible]
    out["open_content"] = pd.DataFrame(
        {
            "student_id": [student_ids[s] for s in pop.open_student[visible]],
            "open_course_id": [f"OC{c:04d}" for c in pop.open_course[visible]],
            "enrolled_on": _dates(pop.open_enrolled[visible]),
            "paid": _bools(pop.open_paid[visible]),
            "completed_on": _dates(completed),
            "stackable": _bools(pop.open_stackable[visible]),
        }
    )
    tickets = sim.tickets
    order = np.lexsort((tickets["at_us"], tickets["student"]))
    out["support_tickets"] = pd.DataFrame(
        {
            "student_id": [student_ids[s] for s in tickets["student"][order]],
            "opened_at": _instants(tickets["at_us"][order]),
            "category": [TICKET_CATEGORIES[c] for c in tickets["category"][order]],
        }
    )
    return out


def write_parquet(path: Path, table: ParquetRows) -> None:
    """Write ``table`` one row group at a time (an empty table gets one empty group, as
    ``pq.write_table`` gives it)."""
    writer: pq.ParquetWriter | None = None
    try:
        for start in range(0, max(table.source.num_rows, 1), ROW_GROUP_ROWS):
            group = pa.table(table.columns(table.source.rows(start, start + ROW_GROUP_ROWS)))
            if writer is None:
                writer = pq.ParquetWriter(path, group.schema, compression="zstd")
            writer.write_table(group)
            del group
    finally:
        if writer is not None:
            writer.close()


def truth_frames(sim: Simulation) -> tuple[pd.DataFrame, dict[str, float], dict[str, object]]:
    """The per-student truth, the 22 true effects, and the outcome model's parameters."""
    pop, cat = sim.population, sim.catalogue
    known = sim.label_known
    students = pd.DataFrame(
        {
            "student_id": [f"S{i + 1:06d}" for i in range(pop.size)],
            "program_id": [cat.program_id[p] for p in pop.program],
            "first_term_id": [cat.term_id[t] for t in pop.first_term],
            "label_known": _bools(known),
            "retained": np.where(known, _bools(sim.retained), ""),
            "p_retained": sim.p_retained,
            **{name: sim.drivers[name] for name in SIMULATED_DRIVERS},
            "baseline": sim.baseline,
            **sim.confounders,
        }
    )
    details = true_effects(sim.drivers, sim.baseline, known, sim.coefficients)
    effects = {name: round(details[name]["effect_points"], 3) for name in SIMULATED_DRIVERS}
    lin_clipped = (sim.p_retained[known] <= P_MIN) | (sim.p_retained[known] >= P_MAX)
    model: dict[str, object] = {
        "formula": "p = clip(base + baseline + sum_d coefficient_d * (x_d - centre_d) "
        f"+ nonlinear, {P_MIN}, {P_MAX}); a missing x_d contributes 0",
        "nonlinear": {
            "silent_missed_first_deadline": {
                "points": SILENT_MISSED_DEADLINE_POINTS,
                "when": "first_assessment_on_time == 0 and days_active_before_first_deadline < "
                f"{SILENT_BEFORE_DEADLINE_DAYS}",
            },
            "low_activity": {
                "points": LOW_ACTIVITY_POINTS,
                "when": f"days_active_first_term < {LOW_ACTIVITY_DAYS}",
            },
            "heavy_load_days_active": {
                "points_per_day": HEAVY_LOAD_DAY_POINTS,
                "times": "(days_active_first_term - its centre), when courses_enrolled >= "
                f"{HEAVY_LOAD_COURSES}",
            },
        },
        "base": BASE_RETENTION,
        "students_with_known_label": int(known.sum()),
        "mean_p_known": float(np.mean(sim.p_retained[known])) if known.any() else None,
        "retention_rate_known": float(np.mean(sim.retained[known])) if known.any() else None,
        "share_clipped_known": float(np.mean(lin_clipped)) if known.any() else None,
        "program_effects": dict(zip(cat.program_id, map(float, cat.program_effect), strict=True)),
        "drivers": details,
    }
    return students, effects, model


TRUTH_README = """# The truth behind this synthetic institution

Not a contract table: `earlywarn` never reads this folder when it loads the data.

- `students.csv`: one row per student. `p_retained` is the true first-year retention probability
  the generator drew the outcome from; `label_known` says whether the contract's label is known at
  the generation's --today (`retained` is the drawn outcome, empty where the label is unknown).
  The 22 driver columns are the values the outcome model used, computed by
  docs/driver-definitions.md as of the end of the student's first term. For students whose first
  term has not ended at --today, they come from the whole simulated term, of which the data holds
  only the part before --today. `baseline` is the program effect plus the confounder terms;
  `long_time_learner`, `late_admission` and `open_unfinished_free` are the derived confounders.
- `drivers.json`: each driver's true effect in percentage points: the change of the mean true
  probability when that driver alone moves from its 25th to its 75th percentile (0 to 1 for a
  yes/no driver), every other input at its actual value, over the students with a known label.
- `outcome_model.json`: the model's parameters (coefficients, centres, percentiles, targets) and
  its nonlinear terms (`nonlinear`): two thresholds (a missed first deadline with almost no
  activity before it; very few days active) and one interaction (days active count more under a
  heavy course load), in probability points. A logistic model on the features cannot represent
  them; a working tree booster can.

See docs/synthetic.md for the whole generative model.
"""


def check_output_folder(out: Path, *, force: bool = False) -> None:
    """Refuse an ``out`` the generator may not write: a file, or an existing folder unless
    ``force`` and it is empty or holds a ``_truth`` folder (a generated institution). Cheap, so
    callers check before simulating, which takes seconds; :func:`write_folder` checks again."""
    out = Path(out)
    if not out.exists():
        return
    if not out.is_dir():
        raise UsageError(f"{out} exists and is not a folder; choose another --out")
    looks_generated = (out / TRUTH_DIR).is_dir() or not any(out.iterdir())
    if not (force and looks_generated):
        raise UsageError(
            f"{out} already exists; pass --force to replace a generated institution "
            "(only folders that hold a _truth folder, or empty ones, are replaced)"
        )


def write_folder(sim: Simulation, out: Path, *, force: bool = False) -> dict[str, int]:
    """Write the contract folder and ``_truth`` to ``out``; return the rows of each table."""
    out = Path(out)
    check_output_folder(out, force=force)
    staging = out.parent / f".{out.name}.partial"
    if staging.exists():
        shutil.rmtree(staging)
    (staging / TRUTH_DIR).mkdir(parents=True)
    counts: dict[str, int] = {}
    try:
        for name, table in build_tables(sim).items():
            if isinstance(table, ParquetRows):
                write_parquet(staging / f"{name}.parquet", table)
                counts[name] = table.source.num_rows
            else:
                table.to_csv(staging / f"{name}.csv", index=False, lineterminator="\n")
                counts[name] = len(table)
        students, effects, model = truth_frames(sim)
        students.to_csv(staging / TRUTH_DIR / "students.csv", index=False, lineterminator="\n")
        (staging / TRUTH_DIR / "drivers.json").write_text(
            json.dumps(effects, indent=2) + "\n", encoding="utf-8"
        )
        (staging / TRUTH_DIR / "outcome_model.json").write_text(
            json.dumps(model, indent=2) + "\n", encoding="utf-8"
        )
        (staging / TRUTH_DIR / "README.md").write_text(TRUTH_README, encoding="utf-8")
        if out.exists():
            shutil.rmtree(out)
        staging.rename(out)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return counts
