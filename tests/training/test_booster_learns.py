"""On the demo institution the booster learns what a linear model cannot, and a booster that stops
learning is caught.

The demo institution's truth has nonlinear effects and an interaction (a threshold on the first
deadline, days active mattering more under a heavy load; ``_truth/`` and docs/synthetic.md), so a
working booster ranks its students better than the logistic baseline on the same features. On a
truth a logistic model can fit exactly, no test could tell a working booster from a dead one.

This trains on the full default institution (the one ``earlywarn demo`` generates), without
MLflow: about a minute on 2 cores.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest

from earlywarn.training.result import TrainingResult

WINDOW_WEEKS = range(1, 9)
#: The booster must keep at least this many trees: one that keeps a handful has stopped learning.
MIN_TREES = 20
#: Its lead over the logistic baseline, mean ROC-AUC over weeks 1-8 (measured: 0.011).
MIN_LEAD = 0.005


@pytest.fixture(scope="module")
def demo_dataset(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    from earlywarn.contract import load_tables
    from earlywarn.core.settings import Settings
    from earlywarn.synthetic import generate
    from earlywarn.synthetic.config import GeneratorConfig
    from earlywarn.training.dataset import build_training_dataset
    from earlywarn.training.params import CHECKPOINT_WEEKS
    from earlywarn.training.pipeline import cohort_starts, default_as_of, digest_capacity

    folder: Path = tmp_path_factory.mktemp("demo") / "institution"
    generate(GeneratorConfig(), folder)  # the defaults: the demo institution
    tables = load_tables(folder)
    settings = Settings()
    dataset = build_training_dataset(
        tables, default_as_of(tables), weeks=CHECKPOINT_WEEKS, pass_score=settings.pass_score
    )
    return {
        "dataset": dataset,
        "starts": cohort_starts(tables),
        "top_n": digest_capacity(tables, settings),
        "settings": settings,
    }


def _train(demo: dict[str, Any]) -> TrainingResult:
    from earlywarn.features import FEATURES
    from earlywarn.training.pipeline import train_on_dataset

    return train_on_dataset(
        demo["dataset"], FEATURES, demo["starts"], demo["settings"], top_n=demo["top_n"]
    )


def booster_problems(result: TrainingResult) -> list[str]:
    """What says the booster has not learned: too few trees, or no lead over the baseline."""
    weeks = [row for row in result.evaluation["weeks"] if row["week"] in WINDOW_WEEKS]
    model = float(np.mean([row["roc_auc"] for row in weeks]))
    baseline = float(np.mean([row["baseline_roc_auc"] for row in weeks]))
    problems = []
    if result.model.best_iteration_ < MIN_TREES:
        problems.append(f"{result.model.best_iteration_} trees")
    if model - baseline < MIN_LEAD:
        problems.append(f"mean ROC-AUC {model:.4f} against the baseline's {baseline:.4f}")
    behind = [row["week"] for row in weeks if row["roc_auc"] < row["baseline_roc_auc"]]
    if behind:
        problems.append(f"behind the baseline in weeks {behind}")
    return problems


def test_the_booster_beats_its_logistic_baseline_every_week_on_the_demo_institution(
    demo_dataset: dict[str, Any],
) -> None:
    result = _train(demo_dataset)
    assert booster_problems(result) == []
    assert result.model.linear_base is False  # the plain booster, not rescued by a linear base


def test_a_booster_that_stops_learning_is_caught(
    demo_dataset: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    import earlywarn.training.fit

    # A booster whose trees cannot split keeps one tree; only the plain form, so no linear base
    # stands in for it.
    dead = earlywarn.training.fit.lightgbm_params(0) | {"min_child_samples": 10**7}
    monkeypatch.setattr(earlywarn.training.fit, "lightgbm_params", lambda seed: dead)
    monkeypatch.setattr(earlywarn.training.fit, "LINEAR_BASE_BELOW_TREES", 0)
    result = _train(demo_dataset)
    problems = booster_problems(result)
    assert any("trees" in p for p in problems)
    assert any("baseline" in p for p in problems)
