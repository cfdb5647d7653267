"""What the state database holds, as plain Python values (no SQLAlchemy here).

A *week* is the key of one weekly scoring: the ISO date (``YYYY-MM-DD``) of the Monday that starts
the UTC calendar week containing the run's ``as_of`` instant. Scoring and digests both derive it
with :func:`week_key`, so ``earlywarn score --as-of T`` and ``earlywarn digest --as-of T`` meet on
the same week for any ``T`` in that week.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any, Literal

from earlywarn.core.errors import StateError
from earlywarn.core.time import aware_utc, local_day

Tier = Literal["high", "medium", "low"]
TIERS: tuple[Tier, ...] = ("high", "medium", "low")
DriftLevel = Literal["ok", "warning"]


def week_key(as_of: datetime, timezone: str = "UTC") -> str:
    """The scoring week of an instant: ISO date of the Monday starting its week in ``timezone``.

    The scheduler's time zone (``Settings.schedule_timezone``) is the one to pass, so that a
    Monday-morning run east of UTC (still Sunday in UTC) keys the week it runs in.

    >>> week_key(datetime(2026, 10, 7, 15, 0, tzinfo=UTC))
    '2026-10-05'
    >>> week_key(datetime(2026, 10, 11, 22, 0, tzinfo=UTC), "Asia/Tokyo")
    '2026-10-12'
    """
    day = local_day(as_of, timezone)
    return (day - timedelta(days=day.weekday())).isoformat()


def week_start(week: str) -> date:
    """The Monday a week key names (the inverse of :func:`week_key`)."""
    return date.fromisoformat(week)


def tier_for(risk: float, *, high: float, medium: float) -> Tier:
    """The tier of a calibrated risk: high at or above ``high``, medium at or above ``medium``."""
    if risk >= high:
        return "high"
    if risk >= medium:
        return "medium"
    return "low"


@dataclass(frozen=True)
class Reason:
    """One explanation of a score: its driver, a sentence for the advisor, what to do about it."""

    driver: str
    text: str
    action: str

    def to_json(self) -> dict[str, str]:
        return {"driver": self.driver, "text": self.text, "action": self.action}


def _reason(value: Reason | Mapping[str, Any]) -> Reason:
    if isinstance(value, Reason):
        return value
    try:
        return Reason(
            driver=str(value["driver"]), text=str(value["text"]), action=str(value["action"])
        )
    except KeyError as exc:
        raise StateError(
            f"a reason needs driver, text and action; {exc.args[0]!r} is missing"
        ) from exc


@dataclass(frozen=True, kw_only=True)
class ScoreRow:
    """One student's score for one week, as scoring hands it over.

    ``risk`` is the calibrated probability of NOT being retained (0 to 1); ``tier`` is
    :func:`tier_for` of it; ``courses`` is the first-term course titles as one text ("A; B");
    ``reasons`` is best first, as :class:`Reason` values or mappings with driver, text and action.
    """

    student_id: str
    risk: float
    tier: Tier
    program_id: str
    advisor_id: str | None = None
    courses: str = ""
    reasons: tuple[Reason, ...] = ()

    def __post_init__(self) -> None:
        if not 0.0 <= float(self.risk) <= 1.0:
            raise StateError(
                f"student {self.student_id}: risk {self.risk!r} is not between 0 and 1"
            )
        if self.tier not in TIERS:
            raise StateError(f"student {self.student_id}: tier {self.tier!r} is not one of {TIERS}")
        object.__setattr__(self, "risk", float(self.risk))
        object.__setattr__(self, "reasons", tuple(_reason(r) for r in self.reasons))


@dataclass(frozen=True, kw_only=True)
class StoredScore(ScoreRow):
    """A :class:`ScoreRow` read back from the database, with the week and run it belongs to."""

    week: str
    as_of: datetime
    model_version: str
    run_id: str


@dataclass(frozen=True)
class DriftRow:
    """Drift of one feature in one run: population stability index against training data, and
    the index above which it alarms (``level`` "warning"); see :mod:`earlywarn.scoring.drift`."""

    feature: str
    psi: float
    level: DriftLevel
    threshold: float | None = None
    scope: str = ""  # "" for all scored students, else the group ("program P01")

    def to_json(self) -> dict[str, Any]:
        """``{feature, statistic, threshold, alarm, scope}`` as ``earlywarn status --json``
        shows it."""
        return {
            "feature": self.feature,
            "statistic": round(self.psi, 4),
            "threshold": None if self.threshold is None else round(self.threshold, 4),
            "alarm": self.level == "warning",
            "scope": self.scope or "all students",
        }


def _new_run_id() -> str:
    return uuid.uuid4().hex


@dataclass(frozen=True, kw_only=True)
class ScoringRun:
    """One execution of ``earlywarn score``.

    ``n_students`` is how many first-term students were considered; the stored counts of scored
    students per tier are computed by :func:`earlywarn.state.save_scores` from the rows.
    ``details`` is free JSON-able context (data folder fingerprint, timings) kept with the run.
    """

    as_of: datetime
    model_name: str
    model_version: str
    started_at: datetime
    finished_at: datetime | None = None
    n_students: int = 0
    drift: tuple[DriftRow, ...] = ()
    details: Mapping[str, Any] = field(default_factory=dict)
    run_id: str = field(default_factory=_new_run_id)
    week_timezone: str = "UTC"

    def __post_init__(self) -> None:
        object.__setattr__(self, "as_of", aware_utc(self.as_of))
        object.__setattr__(self, "started_at", aware_utc(self.started_at))
        if self.finished_at is not None:
            object.__setattr__(self, "finished_at", aware_utc(self.finished_at))
        object.__setattr__(self, "drift", tuple(self.drift))

    @property
    def week(self) -> str:
        """The week this run scores (:func:`week_key` of ``as_of`` in ``week_timezone``)."""
        return week_key(self.as_of, self.week_timezone)


@dataclass(frozen=True, kw_only=True)
class StoredRun(ScoringRun):
    """A :class:`ScoringRun` read back, with the counts :func:`save_scores` stored."""

    n_scored: int = 0
    n_high: int = 0
    n_medium: int = 0
    n_low: int = 0
    stored_week: str | None = None

    @property
    def week(self) -> str:
        """The week key the run was stored under (whatever time zone keyed it then)."""
        return self.stored_week or week_key(self.as_of, self.week_timezone)

    @property
    def drift_warnings(self) -> tuple[DriftRow, ...]:
        return tuple(d for d in self.drift if d.level == "warning")
