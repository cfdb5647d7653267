"""The drift reference counted for many groups at once equals each group counted on its own."""

from __future__ import annotations

import numpy as np
import pandas as pd

from earlywarn.model.columns import FeatureColumn
from earlywarn.model.reference import frame_stats, stats_by

COLUMNS = [FeatureColumn("days", "numeric", -1), FeatureColumn("level", "categorical", 0)]
CATEGORIES = {"level": ["a", "b", "c"]}
EDGES = {"days": {"edges": [1.0, 3.0, 5.0]}}


def _frame(rng: np.random.Generator, n: int) -> pd.DataFrame:
    days = rng.integers(0, 8, n).astype("float32")
    days[rng.random(n) < 0.2] = np.nan
    level = pd.Categorical(rng.choice(["a", "b", "c", None], n), categories=CATEGORIES["level"])
    return pd.DataFrame({"days": days, "level": level})


def test_each_group_matches_its_rows_counted_alone() -> None:
    rng = np.random.default_rng(3)
    frame = _frame(rng, 500)
    programs = rng.choice(["P1", "P2"], len(frame))
    weeks = rng.integers(1, 4, len(frame)).astype(float)
    weeks[:7] = np.nan  # rows without a week belong to no group

    grouped = stats_by(frame, COLUMNS, CATEGORIES, EDGES, [programs, weeks])

    expected_keys = sorted({(p, w) for p, w in zip(programs, weeks, strict=True) if w == w})
    assert list(grouped) == expected_keys
    for program, week in expected_keys:
        alone = frame[(programs == program) & (weeks == week)]
        assert grouped[(program, week)] == frame_stats(alone, COLUMNS, CATEGORIES, EDGES)
    assert sum(s["days"]["rows"] for s in grouped.values()) == len(frame) - 7


def test_counts_bins_categories_and_missing_values() -> None:
    frame = pd.DataFrame(
        {
            "days": np.array([0, 1, 2, 5, 9, np.nan], dtype="float32"),
            "level": pd.Categorical(["a", "a", "c", None, "c", "c"], categories=["a", "b", "c"]),
        }
    )

    stats = frame_stats(frame, COLUMNS, CATEGORIES, EDGES)

    # Bins: below 1, [1, 3), [3, 5), 5 and above; the missing value is not in any bin.
    assert stats["days"]["proportions"] == [0.2, 0.4, 0.0, 0.4]
    assert stats["days"]["missing_share"] == 1 / 6
    assert stats["level"]["proportions"] == {"a": 0.4, "b": 0.0, "c": 0.6}
    assert stats["level"]["missing_share"] == 1 / 6
    assert stats["level"]["rows"] == 6
