"""Feature drift: has this week's data moved away from the data the model was trained on?

What is compared. The weekly run scores students part-way through a week of their term, at
whatever hour it runs; training snapshots sit on whole weeks of term (local midnight of
``start + 7w`` days). Features such as days active grow with the day and the hour, so comparing
the scored values with training would report the calendar as drift. Instead each scored student
is re-featured as of the latest checkpoint of their own term, exactly the snapshot training took
(:func:`earlywarn.scoring.drift_snapshot.checkpoint_snapshot`), and compared with the training rows
of the
same program and week (``reference_stats_by_program_week_``; the same week over all programs for
a program training never saw), mixed in the scored proportions. The hour and weekday of the run
change nothing; a week-0 student has no snapshot yet and is left out.

The statistic is the population stability index, ``PSI = sum((a - e) * ln(a / e))`` over the
training deciles (categories for categorical features, missing values one more bin), with half a
row added to each bin on each side. For two samples of ``n`` and ``N`` rows from the same
distribution, ``PSI * n * N / (n + N)`` is about chi-square with ``bins - 1`` degrees of freedom
(PSI is the symmetric Kullback-Leibler divergence, whose second-order term is Pearson's
statistic). A feature alarms when its PSI exceeds both

* the chi-square quantile at ``1 - rate / m`` (Bonferroni over the ``m`` tests of the run: every
  checked feature, on all students and on each program of at least :data:`MIN_PROGRAM_ROWS`)
  times ``1/n + 1/N`` and Williams' small-sample factor ``1 + (bins + 1) / (6n)``, where ``rate``
  is half of ``Settings.drift_false_alarm_rate`` (the other half goes to the per-course
  submissions check of :mod:`earlywarn.scoring.drift_snapshot`). So a run in which nothing changed
  raises
  an alarm by sampling noise with probability at most about ``drift_false_alarm_rate`` (1% by
  default; tests/test_drift.py measures it on simulated runs); and
* ``drift_psi_warning`` (0.25, the usual "real shift" reading of PSI): intakes differ by more than
  sampling noise, and a large run would otherwise alarm on differences too small to be a broken
  export.

``N`` is the reference's effective size: for cells with scored counts ``n_c`` and reference rows
``N_c``, ``n**2 / sum(n_c**2 / N_c)``.

Features set by the calendar or by course design are not checked (:data:`CALENDAR_FAMILIES`,
:data:`CALENDAR_FEATURES`).
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from earlywarn.scoring.drift_snapshot import (
    bin_shares,
    checkpoint_snapshot,
    course_submission_drift,
    mixed_reference,
    reference_by_week,
    reference_cells,
)
from earlywarn.state.records import DriftRow

if TYPE_CHECKING:
    import pandas as pd

    from earlywarn.features.prepared import Prepared
    from earlywarn.model.artifact import RetentionModel

Stats = Mapping[str, Mapping[str, Any]]

__all__ = [
    "compute_drift",
    "drift_report",
    "drift_summary_line",
    "reference_by_week",
    "scoring_drift",
]

EPSILON = 1e-4

#: Feature families the check leaves out: the checkpoint and the program constants are the
#: calendar; course design (and the first deadline's date) is one value per course, so a run holds
#: a handful of independent values, not one per student, and the per-student test does not apply
#: (``earlywarn drivers`` reports on course design); ranks within the intake are uniform by
#: construction, so a shift that hits everyone leaves them unchanged, while their ties move with
#: the intake's size.
CALENDAR_FAMILIES = frozenset({"checkpoint", "program", "design", "cohort"})
CALENDAR_FEATURES = frozenset({"days_until_first_deadline", "first_deadline_passed"})


def psi(expected: Sequence[float], actual: Sequence[float], *, epsilon: float = EPSILON) -> float:
    """Population stability index between two distributions over the same bins."""
    if len(expected) != len(actual):
        raise ValueError(f"psi: {len(expected)} expected bins but {len(actual)} actual bins")
    total = 0.0
    for e, a in zip(expected, actual, strict=True):
        e_share = max(float(e), epsilon)
        a_share = max(float(a), epsilon)
        total += (a_share - e_share) * math.log(a_share / e_share)
    return total


def _aligned(reference: Mapping[str, Any], current: Mapping[str, Any]) -> tuple[list, list]:
    if reference.get("kind") == "categorical":
        categories = sorted(set(reference["proportions"]) | set(current.get("proportions", {})))
        return bin_shares(reference, categories), bin_shares(current, categories)
    if list(reference.get("edges", [])) != list(current.get("edges", [])):
        raise ValueError("drift: current statistics were not binned with the reference edges")
    return bin_shares(reference, None), bin_shares(current, None)


def feature_psi(reference: Mapping[str, Any], current: Mapping[str, Any]) -> float:
    """PSI of one feature: its current statistics against its reference statistics."""
    expected, actual = _aligned(reference, current)
    return psi(expected, actual)


def smoothed_psi(
    reference: Mapping[str, Any], current: Mapping[str, Any], reference_rows: float
) -> float:
    """PSI with half a row added to every bin on each side (the Jeffreys prior) instead of a
    fixed floor, so that a bin a small sample happens to miss, or a rare reference bin a few
    students fall in, costs what its counts support rather than ``ln(1 / EPSILON)``. Bins empty
    on both sides are left out (they say nothing, and smoothing them would)."""
    pairs = [(e, a) for e, a in zip(*_aligned(reference, current), strict=True) if e > 0 or a > 0]
    expected, actual = [e for e, _ in pairs], [a for _, a in pairs]
    bins = len(pairs)

    def smooth(shares: list[float], rows: float) -> list[float]:
        if not math.isfinite(rows) or rows <= 0:
            return shares
        return [(share * rows + 0.5) / (rows + 0.5 * bins) for share in shares]

    return psi(smooth(expected, reference_rows), smooth(actual, float(current.get("rows", 0))))


def occupied_bins(reference: Mapping[str, Any], current: Mapping[str, Any]) -> int:
    """Bins with any rows on either side (the chi-square's degrees of freedom plus one)."""
    expected, actual = _aligned(reference, current)
    return sum(1 for e, a in zip(expected, actual, strict=True) if e > 0 or a > 0)


def alarm_threshold(
    bins: int,
    rows: float,
    reference_rows: float,
    *,
    tests: int,
    false_alarm_rate: float,
    floor: float,
) -> float:
    """The PSI above which one of ``tests`` features alarms (see the module docstring)."""
    from scipy.stats import chi2

    if rows <= 0:
        return math.inf
    critical = float(chi2.ppf(1.0 - false_alarm_rate / max(tests, 1), max(bins - 1, 1)))
    noise = 1.0 / rows + (1.0 / reference_rows if reference_rows > 0 else 0.0)
    # Williams' correction: small samples spread the statistic more than chi-square says.
    williams = 1.0 + (bins + 1) / (6.0 * rows)
    return max(floor, critical * noise * williams)


def compute_drift(
    reference_stats: Stats,
    current_stats: Stats,
    *,
    warning_threshold: float,
    false_alarm_rate: float | None = None,
    reference_rows: float = math.inf,
    tests: int | None = None,
) -> list[DriftRow]:
    """PSI of every feature present on both sides, largest first, each with its threshold.

    Without ``false_alarm_rate`` the threshold is ``warning_threshold`` alone; with it, the
    larger of that and the sampling-noise threshold of :func:`alarm_threshold` for the current
    row count (``current_stats[f]["rows"]``) and ``reference_rows``.
    """
    names = [name for name in reference_stats if name in current_stats]
    rows = []
    for name in names:
        reference, current = reference_stats[name], current_stats[name]
        threshold = warning_threshold
        if false_alarm_rate is None:
            value = feature_psi(reference, current)
        else:
            value = smoothed_psi(reference, current, reference_rows)
            threshold = alarm_threshold(
                occupied_bins(reference, current),
                float(current.get("rows", 0)),
                reference_rows,
                tests=tests or len(names),
                false_alarm_rate=false_alarm_rate,
                floor=warning_threshold,
            )
        rows.append(
            DriftRow(
                feature=name,
                psi=value,
                level="warning" if value > threshold else "ok",
                threshold=threshold,
            )
        )
    return sorted(rows, key=lambda row: (-row.psi, row.feature))


def drift_warnings(rows: Sequence[DriftRow]) -> list[str]:
    """Names of the features whose drift is a warning, worst first (names only: no values)."""
    return [row.feature for row in rows if row.level == "warning"]


def checked_features(model: RetentionModel) -> list[str]:
    """The model's features the drift check compares (:data:`CALENDAR_FAMILIES` and
    :data:`CALENDAR_FEATURES` left out, and what the model derives from the program itself,
    its history rate)."""
    from earlywarn.features.catalogue import FEATURES

    given = model.input_kinds
    return [
        name
        for name in model.feature_names
        if name in given
        and name not in CALENDAR_FEATURES
        and (FEATURES.get(name) is None or FEATURES[name].family not in CALENDAR_FAMILIES)
    ]


def scoring_drift(
    model: RetentionModel,
    snapshot: pd.DataFrame,
    *,
    warning_threshold: float,
    false_alarm_rate: float = 0.01,
) -> list[DriftRow]:
    """Drift of a checkpoint snapshot (:func:`checkpoint_snapshot`) against the training rows
    of the same program and week of term (see the module docstring).

    The check runs on all scored students and on each program's (of at least
    :data:`MIN_PROGRAM_ROWS`), so a break confined to one program (a course whose submissions
    went missing) is not diluted by the others; the false-alarm rate is shared over every
    feature of every group. Each feature is reported once, from the group where it is furthest
    above (or closest to) its threshold.
    """
    if len(snapshot) == 0:
        return []
    programs = (
        snapshot["program_id"].astype(str).tolist()
        if "program_id" in snapshot.columns
        else [""] * len(snapshot)
    )
    weeks = snapshot["checkpoint_week"].astype(float).tolist()
    cells, keys = reference_cells(model, programs, weeks)
    if not cells:
        return _group_drift(
            model,
            model.reference_stats,
            math.inf,
            snapshot,
            "",
            warning_threshold,
            false_alarm_rate,
            tests=len(checked_features(model)),
        )
    has_reference = [key is not None for key in keys]
    snapshot = snapshot[has_reference]
    keys = [key for key in keys if key is not None]
    programs = [p for p, known in zip(programs, has_reference, strict=True) if known]
    groups: list[tuple[str, list[bool]]] = [("", [True] * len(keys))]
    for program in sorted(set(programs)):
        members = [p == program for p in programs]
        if MIN_PROGRAM_ROWS <= sum(members) < len(members):
            groups.append((f"program {program}", members))
    tests = len(checked_features(model)) * len(groups)
    best: dict[str, DriftRow] = {}
    for scope, members in groups:
        mixed = mixed_reference(cells, [k for k, m in zip(keys, members, strict=True) if m])
        rows = _group_drift(
            model,
            mixed.stats,
            mixed.rows,
            snapshot[members],
            scope,
            warning_threshold,
            false_alarm_rate,
            tests=tests,
        )
        for row in rows:
            kept = best.get(row.feature)
            if kept is None or _excess(row) > _excess(kept):
                best[row.feature] = row
    return sorted(best.values(), key=lambda row: (-row.psi, row.feature))


#: The fewest scored students of a program for the program to be checked on its own.
MIN_PROGRAM_ROWS = 30


def _excess(row: DriftRow) -> float:
    return row.psi / row.threshold if row.threshold else row.psi


def _group_drift(
    model: RetentionModel,
    reference: Stats,
    reference_rows: float,
    rows: pd.DataFrame,
    scope: str,
    warning_threshold: float,
    false_alarm_rate: float,
    *,
    tests: int,
) -> list[DriftRow]:
    if len(rows) == 0 or not reference:
        return []
    checked = [name for name in checked_features(model) if name in reference]
    found = compute_drift(
        {name: reference[name] for name in checked},
        model.profile(rows),
        warning_threshold=warning_threshold,
        false_alarm_rate=false_alarm_rate,
        reference_rows=reference_rows,
        tests=tests,
    )
    return [dataclasses.replace(row, scope=scope) for row in found]


#: Where to look when a feature of a family moves: the contract tables it is computed from.
FAMILY_TABLES: dict[str, str] = {
    "first_deadline": "submissions and items",
    "activity": "activity",
    "submissions": "submissions",
    "timing": "submissions",
    "cohort": "submissions and activity",
    "banked": "submissions",
    "load": "enrollments",
    "background": "students and enrollments",
    "forum": "forum_activity",
    "support": "support_tickets",
    "prior": "open_content",
    "design": "courses and items",
    "student": "students",
}


def drift_summary_line(rows: Sequence[DriftRow]) -> str:
    """One line for the operator: which features moved and which tables to check, or that
    nothing did."""
    from earlywarn.features.catalogue import FEATURES

    alarms = [row for row in rows if row.level == "warning"]
    if not rows:
        return "Drift: not checked (no student past the first week of term was scored)."
    if not alarms:
        return f"Drift: none; {len(rows)} features match the training data for their weeks."
    moved = ", ".join(
        f"{row.feature} (PSI {row.psi:.2f} > {row.threshold or 0:.2f})" for row in alarms[:3]
    )
    more = f" and {len(alarms) - 3} more" if len(alarms) > 3 else ""
    tables: list[str] = []
    for row in alarms:
        spec = FEATURES.get(row.feature)
        table = FAMILY_TABLES.get(spec.family, "") if spec is not None else ""
        if table and table not in tables:
            tables.append(table)
    check = "; ".join(tables) or "the data folder"
    return (
        f"Drift ALARM: {moved}{more} moved away from the training data; check this week's "
        f"export of {check} (rows missing, a column in other units, a course without rows)."
    )


def drift_report(as_of: Any, rows: Sequence[DriftRow]) -> dict[str, Any]:
    """``{as_of, alarm, features: [{feature, statistic, threshold, alarm}]}`` of one run."""
    return {
        "as_of": None if as_of is None else as_of.isoformat(),
        "alarm": any(row.level == "warning" for row in rows),
        "features": [row.to_json() for row in rows],
    }


def weekly_drift(
    model: RetentionModel,
    prepared: Prepared,
    as_of: pd.Timestamp,
    student_ids: Sequence[str],
    *,
    pass_score: float,
    warning_threshold: float,
    false_alarm_rate: float,
) -> list[DriftRow]:
    """A scoring run's drift: the features of ``student_ids`` at their term's latest checkpoint
    against training (:func:`earlywarn.scoring.drift.scoring_drift`), and the courses' submissions
    against each other (:func:`course_submission_drift`), each sharing half the false-alarm
    rate. One row per feature, the most alarming kept, largest statistic first."""
    snapshot = checkpoint_snapshot(prepared, as_of, student_ids, pass_score=pass_score)
    rows = scoring_drift(
        model,
        snapshot,
        warning_threshold=warning_threshold,
        false_alarm_rate=false_alarm_rate / 2,
    )
    courses = course_submission_drift(
        prepared.tables, as_of, student_ids, false_alarm_rate=false_alarm_rate / 2
    )
    best = {row.feature: row for row in rows}
    for row in courses:
        kept = best.get(row.feature)
        if kept is None or (row.level == "warning" and kept.level != "warning"):
            best[row.feature] = row
    return sorted(best.values(), key=lambda row: (row.level != "warning", -row.psi, row.feature))
