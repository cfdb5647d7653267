"""The double-lasso driver estimator on simulated data whose true effects we know."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.base import clone

from earlywarn.analysis.estimator import DoubleLassoEffect, plugin_lasso_support
from earlywarn.analysis.inference import CR1, HC1
from earlywarn.analysis.naive import naive_effect_pp
from earlywarn.core.errors import DriverNotMeasurable


def simulate(
    *,
    seed: int,
    n: int = 3000,
    slope: float = 0.05,
    confounding: float = 0.8,
    programs: int = 8,
    program_spread: float = 0.1,
    binary: bool = False,
    noise_columns: int = 25,
) -> tuple[pd.DataFrame, np.ndarray, np.ndarray, float]:
    """Rows of (driver, a confounder, noise controls), 0/1 retention, program, true effect (pp).

    Retention probability is linear: 0.6 + slope * driver + 0.08 * confounder + program effect,
    and the driver itself rises with the confounder and with the program effect.
    """
    rng = np.random.default_rng(seed)
    program = rng.integers(0, programs, n)
    program_effect = rng.normal(0, program_spread, programs)
    confounder = rng.normal(size=n)
    latent = confounding * confounder + 3 * program_effect[program] + rng.normal(size=n)
    driver = (latent > 0).astype(float) if binary else latent
    probability = 0.6 + slope * driver + 0.08 * confounder + program_effect[program]
    retained = (rng.random(n) < np.clip(probability, 0, 1)).astype(float)
    frame = pd.DataFrame(
        rng.normal(size=(n, noise_columns)), columns=[f"noise_{j}" for j in range(noise_columns)]
    )
    frame.insert(0, "driver", driver)
    frame["confounder"] = confounder
    p25, p75 = (0.0, 1.0) if binary else np.percentile(driver, [25, 75])
    return frame, retained, program.astype(str), slope * (p75 - p25) * 100


def test_controls_remove_the_confounders_bias() -> None:
    frame, retained, program, truth = simulate(seed=1)
    est = DoubleLassoEffect("driver").fit(frame, retained, program)
    naive = naive_effect_pp(frame["driver"], retained, p25=est.p25_, p75=est.p75_)
    assert est.ci_low_pp_ <= truth <= est.ci_high_pp_
    assert "confounder" in est.controls_
    assert naive > est.ci_high_pp_  # the raw comparison overstates the effect
    assert abs(naive - truth) > 3 * abs(est.effect_pp_ - truth)
    assert est.n_ == len(frame)
    assert est.n_programs_ == 8
    assert est.interval_method_ == "hc1"


def test_interval_covers_the_truth_in_most_replications_with_four_programs() -> None:
    covered = 0
    for seed in range(20):
        frame, retained, program, truth = simulate(seed=100 + seed, n=1500, programs=4)
        est = DoubleLassoEffect("driver").fit(frame, retained, program)
        covered += est.ci_low_pp_ <= truth <= est.ci_high_pp_
    assert covered >= 17


def test_null_driver_interval_covers_zero() -> None:
    frame, retained, program, truth = simulate(seed=2, slope=0.0)
    est = DoubleLassoEffect("driver").fit(frame, retained, program)
    assert truth == 0
    assert est.ci_low_pp_ <= 0 <= est.ci_high_pp_
    naive = naive_effect_pp(frame["driver"], retained, p25=est.p25_, p75=est.p75_)
    assert naive > est.ci_high_pp_  # without controls a useless driver looks helpful


def test_yes_no_driver_moves_from_zero_to_one() -> None:
    frame, retained, program, truth = simulate(seed=3, slope=0.06, binary=True)
    est = DoubleLassoEffect("driver", binary=True).fit(frame, retained, program)
    assert (est.p25_, est.p75_) == (0.0, 1.0)
    assert truth == pytest.approx(6.0)
    assert est.ci_low_pp_ <= truth <= est.ci_high_pp_
    retained_rate = pd.Series(retained).groupby(frame["driver"].to_numpy()).mean()
    raw_gap = (retained_rate[1.0] - retained_rate[0.0]) * 100
    assert naive_effect_pp(frame["driver"], retained, p25=0, p75=1) == pytest.approx(raw_gap)


def test_program_fixed_effects_kept_when_the_lasso_would_drop_them() -> None:
    # Program effects only (no confounder): small per-program shifts that a lasso on the program
    # dummies drops, yet they confound the driver through its program means.
    frame, retained, program, truth = simulate(
        seed=6, confounding=0.0, program_spread=0.02, programs=12, n=4000
    )
    dummies = pd.get_dummies(program, dtype=float).to_numpy()
    dummies = dummies - dummies.mean(axis=0)
    outcome = retained - retained.mean()
    assert not plugin_lasso_support(dummies / dummies.std(axis=0), outcome).any()

    est = DoubleLassoEffect("driver").fit(frame, retained, program)
    assert sorted(est.program_effects_) == sorted(set(program))
    assert est.ci_low_pp_ <= truth <= est.ci_high_pp_
    assert est.model_.model.exog.shape[1] == 1 + len(est.controls_) + 12


def test_effect_is_the_mean_prediction_gap_between_the_quartiles() -> None:
    frame, retained, program, _ = simulate(seed=5)
    est = DoubleLassoEffect("driver").fit(frame, retained, program)
    high = est.predict(frame.assign(driver=est.p75_), program).mean()
    low = est.predict(frame.assign(driver=est.p25_), program).mean()
    assert (high - low) * 100 == pytest.approx(est.effect_pp_)
    assert est.ci_low_pp_ < est.effect_pp_ < est.ci_high_pp_


def test_an_exact_alias_of_the_driver_is_never_a_control() -> None:
    frame, retained, program, truth = simulate(seed=6)
    frame["driver_in_minutes"] = frame["driver"] * 60 + 5
    est = DoubleLassoEffect("driver").fit(frame, retained, program)
    assert est.aliases_ == ["driver_in_minutes"]
    assert "driver_in_minutes" not in est.controls_
    assert est.ci_low_pp_ <= truth <= est.ci_high_pp_


def test_a_driver_fixed_by_zero_sum_controls_is_not_measurable() -> None:
    rng = np.random.default_rng(7)
    shares = rng.dirichlet([2, 3, 4], size=500)
    frame = pd.DataFrame(shares, columns=["practice_share", "video_share", "reading_share"])
    retained = (rng.random(500) < 0.6).astype(float)
    program = rng.integers(0, 3, 500)
    with pytest.raises(DriverNotMeasurable, match="practice_share"):
        DoubleLassoEffect("practice_share", penalty="cv").fit(frame, retained, program)


def test_a_constant_driver_is_not_measurable() -> None:
    frame, retained, program, _ = simulate(seed=8, n=200)
    with pytest.raises(DriverNotMeasurable, match="no variation"):
        DoubleLassoEffect("driver").fit(frame.assign(driver=1.0), retained, program)


def test_cross_validated_penalty_also_recovers_the_effect() -> None:
    frame, retained, program, truth = simulate(seed=9)
    est = DoubleLassoEffect("driver", penalty="cv", random_state=0).fit(frame, retained, program)
    assert "confounder" in est.controls_
    assert est.ci_low_pp_ <= truth <= est.ci_high_pp_


def test_follows_the_scikit_learn_parameter_contract() -> None:
    est = DoubleLassoEffect("driver", binary=True, penalty="cv")
    copy = clone(est)
    assert copy.get_params() == est.get_params()
    assert not hasattr(copy, "effect_pp_")
    frame, retained, program, _ = simulate(seed=10, n=200)
    with pytest.raises(ValueError, match="penalty"):
        DoubleLassoEffect("driver", penalty="ridge").fit(frame, retained, program)


def simulate_course_design(
    *, seed: int, courses: int, n: int = 3000, shock: float = 0.2
) -> tuple[pd.DataFrame, np.ndarray, np.ndarray, np.ndarray, float]:
    """A driver set by each student's course, retention with a shared shock per course.

    Returns controls with the driver, retention, program, course, and the true effect (pp).
    """
    rng = np.random.default_rng(seed)
    course = rng.integers(0, courses, n)
    program = course % 4
    design = rng.normal(size=courses)
    course_shock = rng.normal(0, shock, courses)
    confounder = rng.normal(size=n)
    driver = design[course]
    probability = 0.6 + 0.03 * driver + 0.05 * confounder + course_shock[course]
    retained = (rng.random(n) < np.clip(probability, 0, 1)).astype(float)
    frame = pd.DataFrame({"driver": driver, "confounder": confounder})
    for j in range(5):
        frame[f"noise_{j}"] = rng.normal(size=n)
    p25, p75 = np.percentile(driver, [25, 75])
    return frame, retained, program.astype(str), course.astype(str), 3.0 * (p75 - p25)


def test_a_course_design_driver_is_clustered_by_course() -> None:
    # A shared shock per course makes students of one course alike: errors that treat them as
    # independent (HC1) are too small, clustering by course holds its nominal level.
    clustered = independent = 0
    for seed in range(20):
        frame, retained, program, course, truth = simulate_course_design(
            seed=300 + seed, courses=40, n=1500
        )
        est = DoubleLassoEffect("driver").fit(frame, retained, program, course)
        assert est.interval_method_ == CR1
        assert est.n_clusters_ == 40
        clustered += est.ci_low_pp_ <= truth <= est.ci_high_pp_
        naive = DoubleLassoEffect("driver").fit(frame, retained, program)
        assert naive.interval_method_ == HC1
        independent += naive.ci_low_pp_ <= truth <= naive.ci_high_pp_
    assert clustered >= 17
    assert independent <= 13
