"""benchmarks/oulad_levels.py splits a week's ROC-AUC into the modules' levels and the order
within each module: what it reports has to mean what it says."""

from __future__ import annotations

from types import ModuleType

import numpy as np
import pytest
from sklearn.metrics import roc_auc_score

from earlywarn.model.metrics import expected_calibration_error
from tests.paths import benchmark_module


@pytest.fixture(scope="module")
def levels() -> ModuleType:
    oulad_levels = benchmark_module("oulad_levels")
    return oulad_levels


def _two_modules() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Module A: rate 0.5, module B: rate 0.1; each perfectly ordered inside, but A's risks sit
    below B's, so the pooled order is wrong between modules."""
    rng = np.random.default_rng(3)
    y_a = (np.arange(200) >= 100).astype(int)  # 100 of 200 at risk
    y_b = (np.arange(200) >= 180).astype(int)  # 20 of 200 at risk
    risk_a = np.sort(rng.uniform(0.01, 0.05, 200))
    risk_b = np.sort(rng.uniform(0.20, 0.60, 200))
    y = np.concatenate([y_a, y_b])
    risk = np.concatenate([risk_a, risk_b])
    groups = np.array(["A"] * 200 + ["B"] * 200)
    return y, risk, groups


def test_relevel_sets_each_module_to_its_rate_and_keeps_the_order_inside(levels) -> None:
    y, risk, groups = _two_modules()
    moved = levels.relevel(y, risk, groups)
    for module, rate in (("A", 0.5), ("B", 0.1)):
        inside = groups == module
        assert moved[inside].mean() == pytest.approx(rate, abs=1e-6)
        assert (np.argsort(moved[inside], kind="stable")
                == np.argsort(risk[inside], kind="stable")).all()  # fmt: skip
    # The wrong levels cost the pooled ranking; right levels give it back.
    assert roc_auc_score(y, moved) > roc_auc_score(y, risk) + 0.2


def test_within_module_auc_ignores_levels_and_modules_with_one_class(levels) -> None:
    y, risk, groups = _two_modules()
    assert levels.within_group_auc(y, risk, groups) == pytest.approx(1.0)
    shifted = np.where(groups == "A", risk + 0.5, risk)
    assert levels.within_group_auc(y, shifted, groups) == pytest.approx(1.0)
    # A third module with no student at risk has no ROC-AUC and is left out of the mean.
    y3 = np.concatenate([y, np.zeros(50, dtype=int)])
    risk3 = np.concatenate([risk, np.linspace(0.9, 0.1, 50)])
    groups3 = np.concatenate([groups, np.array(["C"] * 50)])
    assert levels.within_group_auc(y3, risk3, groups3) == pytest.approx(1.0)
    reversed_b = np.where(groups == "B", 1 - risk, risk)
    assert levels.within_group_auc(y, reversed_b, groups) == pytest.approx(0.5)


def test_a_week_reports_the_ece_without_new_modules(levels) -> None:
    y, risk, groups = _two_modules()
    week = levels.week_levels(y, risk, groups, {"A"})
    assert week["modules"]["A"]["new"]
    assert not week["modules"]["B"]["new"]
    old_modules = expected_calibration_error(y[200:], risk[200:])
    assert week["ece_without_new"] == pytest.approx(float(old_modules))
    assert week["ece_without_new"] < week["ece"]
    assert week["levels_known"] > week["roc_auc"]
