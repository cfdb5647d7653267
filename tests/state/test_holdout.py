"""The holdout draw: about the share withheld within each tier, stored once, same on a rerun."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from earlywarn.state import open_state
from earlywarn.state.holdout import Flagged, assign_arms

NOW = datetime(2026, 10, 5, 7, tzinfo=UTC)


def flagged(n: int, tier: str) -> list[Flagged]:
    return [
        Flagged(f"{tier}-{i:04d}", "T1", tier, 0.6 if tier == "high" else 0.45) for i in range(n)
    ]


def test_draw_share_per_tier_stable_across_weeks_reruns_and_settings(tmp_path: Path) -> None:
    students = flagged(1000, "high") + flagged(1000, "medium")
    engine = open_state(f"sqlite:///{tmp_path / 'a.db'}")
    first = assign_arms(engine, students, share=0.3, seed=42, week="2026-10-05", now=NOW)
    for tier in ("high", "medium"):
        withheld = sum(1 for a in first.values() if a.tier == tier and a.arm == "withhold")
        assert 240 <= withheld <= 360  # 30% of 1000, well within sampling noise
    # next week, with another share, seed and tier: nothing already drawn changes
    moved = [Flagged(f.student_id, f.term_id, "high", 0.9) for f in students]
    later = assign_arms(engine, moved, share=0.9, seed=1, week="2026-10-12", now=NOW)
    assert {k: v.arm for k, v in later.items()} == {k: v.arm for k, v in first.items()}
    # a rerun on a fresh database draws the same arms
    other = open_state(f"sqlite:///{tmp_path / 'b.db'}")
    again = assign_arms(other, students, share=0.3, seed=42, week="2026-10-05", now=NOW)
    assert {k: v.arm for k, v in again.items()} == {k: v.arm for k, v in first.items()}
    engine.dispose()
    other.dispose()
