"""Training snapshots: labelled students at each checkpoint week of their first term."""

from __future__ import annotations

import pandas as pd
import pytest

from earlywarn.contract import Tables, load_tables
from earlywarn.core.errors import UsageError
from earlywarn.features import FEATURES, first_term_features
from earlywarn.training.dataset import LEAD_COLUMNS, build_training_dataset
from tests.factories import minimal_institution, write_institution
from tests.timeline import checkpoint_instant


@pytest.fixture(scope="module")
def tables(tmp_path_factory: pytest.TempPathFactory) -> Tables:
    folder = write_institution(tmp_path_factory.mktemp("inst"), minimal_institution(), "csv")
    return load_tables(folder)


def test_every_labelled_student_at_every_week_of_their_first_term(tables: Tables) -> None:
    data = build_training_dataset(tables, pd.Timestamp("2025-01-01", tz="UTC"))
    assert list(data.columns) == [*LEAD_COLUMNS, *(f for f in FEATURES if f != "checkpoint_week")]
    assert data["retained"].notna().all()
    assert data.groupby("student_id", observed=True)["cohort"].nunique().max() == 1
    weeks = data.groupby("cohort", observed=True)["checkpoint_week"].agg(["min", "max", "nunique"])
    # New York fall 2023: 2023-09-04 to 2023-12-15, the last checkpoint before the end is week 14.
    # Kolkata: 2023-07-03 to 2023-11-24 -> week 20.
    assert weeks.loc["T-NY-2023F"].tolist() == [1, 14, 14]
    assert weeks.loc["T-IN-2023J"].tolist() == [1, 20, 20]
    # S002 dropped their only course on 2023-10-02 (seen from 2023-10-03): weeks 1-4 only.
    assert len(data) == 2 * 14 + 4 + 2 * 20
    assert data.loc[data["student_id"] == "S002", "checkpoint_week"].tolist() == [1, 2, 3, 4]
    assert data["checkpoint_week"].dtype == "int64"
    assert str(data["as_of"].dtype) == "datetime64[us, UTC]"
    ny = data[data["cohort"] == "T-NY-2023F"]
    expected = checkpoint_instant(pd.Timestamp("2023-09-04"), 9, "America/New_York")
    assert (ny.loc[ny["checkpoint_week"] == 9, "as_of"] == expected).all()
    assert expected == pd.Timestamp("2023-11-06T05:00Z")  # after the DST change
    labels = data.drop_duplicates("student_id").set_index("student_id")["retained"]
    assert labels.to_dict() == {"S001": 1.0, "S002": 0.0, "S003": 0.0, "S004": 1.0, "S005": 0.0}


def test_snapshots_are_the_features_as_of_the_checkpoint(tables: Tables) -> None:
    data = build_training_dataset(tables, pd.Timestamp("2025-01-01", tz="UTC"), weeks=[3])
    snapshot = data[data["student_id"] == "S001"].iloc[0]
    direct = first_term_features(tables, snapshot["as_of"], ["S001"]).iloc[0]
    for name in FEATURES:
        if name == "checkpoint_week":
            assert direct[name] == pytest.approx(3.0)
        elif FEATURES[name].kind == "categorical":
            assert snapshot[name] == direct[name] or (
                pd.isna(snapshot[name]) and pd.isna(direct[name])
            )
        else:
            # The dataset keeps numbers as float32, the precision the model trains at.
            assert snapshot[name] == pytest.approx(direct[name], rel=1e-6, nan_ok=True), name


def test_weeks_as_asked_and_only_inside_the_term(tables: Tables) -> None:
    data = build_training_dataset(
        tables, pd.Timestamp("2025-01-01", tz="UTC"), weeks=[0, 2, 5, 15, 99]
    )
    weeks = data.groupby("cohort", observed=True)["checkpoint_week"].unique()
    assert sorted(weeks["T-NY-2023F"]) == [0, 2, 5]
    assert sorted(weeks["T-IN-2023J"]) == [0, 2, 5, 15]
    with pytest.raises(UsageError, match="weeks"):
        build_training_dataset(tables, pd.Timestamp("2025-01-01", tz="UTC"), weeks=[-1])


def test_unknown_labels_are_left_out(tables: Tables) -> None:
    # As of 2024-01-01 New York's labels are unknown; Kolkata's come from outcomes.
    data = build_training_dataset(tables, pd.Timestamp("2024-01-01", tz="UTC"))
    assert sorted(data["student_id"].unique()) == ["S004", "S005"]
    # Before any checkpoint is reached nothing is built, yet the columns are all there.
    empty = build_training_dataset(tables, pd.Timestamp("2023-07-05", tz="UTC"))
    assert empty.empty
    assert list(empty.columns) == list(data.columns)
