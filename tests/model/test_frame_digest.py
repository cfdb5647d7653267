"""The digest a run's input datasets carry: every row and column name counts, not the first
10,000 rows only."""

from __future__ import annotations

import numpy as np
import pandas as pd

from earlywarn.model.runs import frame_digest


def _frame(rows: int) -> pd.DataFrame:
    rng = np.random.default_rng(1)
    return pd.DataFrame(
        {
            "student_id": [f"S{i:06d}" for i in range(rows)],
            "program": pd.Categorical(rng.choice(["P1", "P2"], rows)).astype(object),
            "days_active": rng.integers(0, 30, rows).astype("float32"),
        }
    )


def test_the_digest_sees_every_row_and_every_column_name() -> None:
    frame = _frame(12_000)
    digest = frame_digest(frame)
    assert len(digest) == 8
    assert frame_digest(frame.copy()) == digest
    assert frame_digest(frame.set_axis(np.arange(len(frame)) + 7)) == digest  # index left out
    changed = frame.copy()
    changed.loc[11_500, "days_active"] += 1  # beyond the 10,000 rows MLflow's own digest reads
    assert frame_digest(changed) != digest
    assert frame_digest(frame.rename(columns={"days_active": "active_days"})) != digest
    assert frame_digest(frame.head(11_999)) != digest
