"""Weekly scoring: the champion model's calibrated risk and top reasons for each first-term student.

``score_institution`` loads the model the registry calls ``champion`` (nothing is read or stored
when there is none), builds the point-in-time features as of the given instant, and stores one
risk of NOT being retained per student for that week in the state database, with the model
version, the as-of instant, each student's reasons (:mod:`earlywarn.scoring.reasons`) and the run's
feature drift (:mod:`earlywarn.scoring.drift`). Rescoring a week replaces that week's scores; other
weeks
stay as history.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from earlywarn.core.time import as_of as to_as_of
from earlywarn.state.records import DriftRow, ScoreRow, ScoringRun, tier_for

if TYPE_CHECKING:
    import pandas as pd
    from sqlalchemy import Engine

    from earlywarn.contract import Tables
    from earlywarn.core.settings import Settings
    from earlywarn.features.prepared import Prepared
    from earlywarn.model.artifact import RetentionModel

log = logging.getLogger(__name__)

TOP_REASONS = 3


@dataclass(frozen=True)
class ScoringResult:
    """What one scoring run stored: the run (with its drift) and the scores, highest risk first."""

    run: ScoringRun
    scores: tuple[ScoreRow, ...]

    @property
    def week(self) -> str:
        return self.run.week

    @property
    def tier_counts(self) -> dict[str, int]:
        counts = {"high": 0, "medium": 0, "low": 0}
        for row in self.scores:
            counts[row.tier] += 1
        return counts

    @property
    def drift_warnings(self) -> list[str]:
        return [d.feature for d in self.run.drift if d.level == "warning"]

    def summary(self) -> dict[str, Any]:
        """A JSON-able account of the run for job logs and operator summaries."""
        return {
            "run_id": self.run.run_id,
            "week": self.week,
            "as_of": self.run.as_of.isoformat(),
            "model_version": self.run.model_version,
            "students": len(self.scores),
            "tiers": self.tier_counts,
            "drift_warnings": self.drift_warnings,
        }

    def to_json(self) -> list[dict[str, Any]]:
        """One object per student: id, advisor, risk, tier and reasons (``--json``)."""
        return [
            {
                "student_id": row.student_id,
                "advisor_id": row.advisor_id,
                "program_id": row.program_id,
                "risk": round(row.risk, 6),
                "tier": row.tier,
                "week": self.week,
                "as_of": self.run.as_of.isoformat(),
                "model_version": self.run.model_version,
                "reasons": [reason.to_json() for reason in row.reasons],
            }
            for row in self.scores
        ]


def student_context(tables: Tables, students: pd.Series, as_of: pd.Timestamp) -> pd.DataFrame:
    """Per student: advisor id (or missing) and the titles of the first-term courses they are in
    as of ``as_of`` (:mod:`earlywarn.features.population`), joined with "; ", by student id."""
    import pandas as pd

    from earlywarn.features.population import first_term_enrollments

    info = tables.students.set_index("student_id")
    advisor = info["advisor_id"].astype("string")
    current = first_term_enrollments(tables, as_of)
    titles = tables.courses.set_index("course_id")["title"].astype("string")
    titles.index = titles.index.astype("string")
    course_titles = (
        current.assign(title=current["course_id"].map(titles))
        .groupby("student_id", sort=False)["title"]
        .agg(lambda t: "; ".join(sorted(str(x) for x in t.dropna())))
    )
    ids = pd.Index(students.astype("string"), name="student_id")
    advisor.index = advisor.index.astype("string")
    return pd.DataFrame(
        {
            "advisor_id": advisor.reindex(ids).to_numpy(dtype=object),
            "courses": course_titles.reindex(ids).fillna("").to_numpy(dtype=object),
        },
        index=ids,
    )


def score_frame(
    model: RetentionModel,
    features: pd.DataFrame,
    context: pd.DataFrame,
    settings: Settings,
    *,
    top: int = TOP_REASONS,
) -> list[ScoreRow]:
    """Risk, tier and top reasons for each row of ``features``, highest risk first."""
    from earlywarn.scoring.reasons import explain

    if len(features) == 0:
        return []
    risks = model.predict_risk(features)
    reasons = explain(model.contributions(features), model.with_derived(features), top=top)
    rows = []
    for position, (student_id, program_id) in enumerate(
        zip(features["student_id"], features["program_id"], strict=True)
    ):
        risk = min(max(float(risks[position]), 0.0), 1.0)
        advisor = context.at[str(student_id), "advisor_id"]
        rows.append(
            ScoreRow(
                student_id=str(student_id),
                risk=risk,
                tier=tier_for(risk, high=settings.tier_high, medium=settings.tier_medium),
                program_id=str(program_id),
                advisor_id=None if advisor is None or advisor != advisor else str(advisor),
                courses=str(context.at[str(student_id), "courses"]),
                reasons=tuple(reasons[position]),
            )
        )
    return sorted(rows, key=lambda r: (-r.risk, r.student_id))


def feature_drift(
    model: RetentionModel,
    prepared: Prepared,
    as_of: pd.Timestamp,
    features: pd.DataFrame,
    settings: Settings,
) -> list[DriftRow]:
    """This run's drift: the scored students as of their term's latest checkpoint against the
    training rows of the same week of term (nothing when no one was scored)."""
    from earlywarn.scoring.drift import weekly_drift

    return weekly_drift(
        model,
        prepared,
        as_of,
        features["student_id"].astype(str).tolist(),
        pass_score=settings.pass_score,
        warning_threshold=settings.drift_psi_warning,
        false_alarm_rate=settings.drift_false_alarm_rate,
    )


def score_institution(
    settings: Settings,
    data_dir: Path,
    as_of: datetime,
    *,
    clock: Callable[[], datetime] | None = None,
    engine: Engine | None = None,
    tables: Tables | None = None,
) -> ScoringResult:
    """Score every first-term student of ``data_dir`` as of ``as_of`` and store the week.

    Raises :class:`~earlywarn.core.errors.RegistryError` when there is no champion model and
    :class:`~earlywarn.core.errors.EarlyWarnError` subclasses for unreadable data; nothing is stored
    then. ``tables`` are the loaded tables of ``data_dir`` when the caller has them already.
    """

    from earlywarn.contract import load_tables
    from earlywarn.core.time import as_of_us
    from earlywarn.features.assemble import cohorts_in_progress, compute
    from earlywarn.features.prepared import prepare
    from earlywarn.model.store import MODEL_NAME, load_model_by_alias, version_trained_at
    from earlywarn.state import open_state, save_scores

    now = clock or (lambda: datetime.now(UTC))
    started = now()
    instant = to_as_of(as_of)
    version, model = load_model_by_alias(settings)
    if tables is None:
        tables = load_tables(Path(data_dir))
    prepared = prepare(tables)
    t = as_of_us(instant)
    # What features_as_of computes, from tables prepared once for this and the drift snapshot.
    features = compute(
        prepared, cohorts_in_progress(prepared, t), t, settings.pass_score, enrolled_only=True
    )
    context = student_context(tables, features["student_id"], instant)
    rows = score_frame(model, features, context, settings)
    drift = feature_drift(model, prepared, instant, features, settings)
    warnings = [d.feature for d in drift if d.level == "warning"]
    if warnings:
        log.warning("drift alarm in %d feature(s): %s", len(warnings), ", ".join(warnings))
    details: dict[str, str] = {"data_dir": str(Path(data_dir).resolve())}
    trained_at = version_trained_at(settings, version)
    if trained_at is not None:  # digests name the model by it
        details["model_trained_at"] = trained_at.isoformat()
    run = ScoringRun(
        as_of=instant.to_pydatetime(),
        model_name=MODEL_NAME,
        model_version=version,
        started_at=started,
        finished_at=now(),
        n_students=len(features),
        drift=tuple(drift),
        details=details,
        week_timezone=settings.schedule_timezone,
    )
    state = engine if engine is not None else open_state(settings.state_url)
    try:
        save_scores(state, run, rows)
    finally:
        if engine is None:
            state.dispose()
    log.info("scored %d students for week %s with model version %s", len(rows), run.week, version)
    return ScoringResult(run=run, scores=tuple(rows))
