"""The MLflow store and registry: logging, aliases, loading by alias and the promotion guard,
on a real SQLite store in each test's home (migrated once per session)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner

from earlywarn.cli import cli
from earlywarn.core.errors import RegistryError
from earlywarn.core.settings import Settings, load_settings
from earlywarn.model.store import (
    CHALLENGER,
    CHAMPION,
    MODEL_NAME,
    alias_version,
    client,
    configure_mlflow,
    load_model_by_alias,
    load_model_uri,
)
from earlywarn.training.pipeline import train_on_dataset
from earlywarn.training.promote import list_promotions, promote_challenger
from earlywarn.training.result import TrainingResult
from earlywarn.training.tracking import log_training_run
from tests.fixtures.training_data import COHORT_STARTS, SIM_FEATURES

NOISE_ONLY = {"video_share": SIM_FEATURES["video_share"]}


def _train(
    settings: Settings,
    dataset: pd.DataFrame,
    specs: dict = SIM_FEATURES,  # type: ignore[type-arg]
) -> TrainingResult:
    result = train_on_dataset(dataset, specs, COHORT_STARTS, settings)
    result.run_id, result.model_version = log_training_run(settings, result, {"data_dir": "sim"})
    return result


def _lenient(settings: Settings, **overrides: object) -> Settings:
    """The same home with a calibration limit that the small simulated test cohort can meet."""
    values: dict[str, object] = {"promote_max_ece": 0.2, **overrides}
    return load_settings(settings.home, **values)


def test_store_lives_in_the_home(mlflow_settings: Settings) -> None:
    uri = configure_mlflow(mlflow_settings)
    assert uri == f"sqlite:///{mlflow_settings.home / 'mlruns' / 'mlflow.db'}"
    experiment = client(mlflow_settings).get_experiment_by_name(MODEL_NAME)
    assert experiment is not None
    assert experiment.artifact_location == (mlflow_settings.home / "mlruns" / "artifacts").as_uri()


def test_no_champion_says_what_to_do(mlflow_settings: Settings, tmp_path: Path) -> None:
    with pytest.raises(
        RegistryError, match="no champion model: run earlywarn train DIR then earlywarn promote"
    ):
        load_model_by_alias(mlflow_settings)
    empty_home = load_settings(tmp_path / "nothing-here")
    with pytest.raises(RegistryError, match="no champion model"):
        load_model_by_alias(empty_home)
    assert not (tmp_path / "nothing-here" / "mlruns").exists()


def test_round_trip_train_promote_load(
    mlflow_settings: Settings, simulated_dataset: tuple[pd.DataFrame, pd.Series]
) -> None:
    settings = _lenient(mlflow_settings)
    frame, _ = simulated_dataset
    result = _train(settings, frame)
    assert alias_version(settings, CHALLENGER) == result.model_version
    decision = promote_challenger(settings, actor="tester")
    assert decision.status == "promoted", decision.reason
    version, model = load_model_by_alias(settings)
    assert version == result.model_version
    test = result.split.test
    np.testing.assert_array_equal(model.predict_risk(test), result.model.predict_risk(test))
    assert model.reference_stats == result.model.reference_stats
    # The generic pyfunc view of the same version gives the same risk.
    import mlflow

    pyfunc = mlflow.pyfunc.load_model(f"models:/{MODEL_NAME}@{CHAMPION}")
    example = test[model.feature_names].head(10).astype("float64")
    np.testing.assert_allclose(
        pyfunc.predict(example)["risk"].to_numpy(), model.predict_risk(test.head(10))
    )
    # The run holds what a person looks at and what the guard needs.
    run = client(settings).get_run(result.run_id)
    assert run.data.metrics["window_mean_roc_auc"] == pytest.approx(
        result.evaluation["window"]["mean_roc_auc"]
    )
    artifacts = {a.path for a in client(settings).list_artifacts(result.run_id, "plots")}
    assert {
        "plots/roc_pr.png",
        "plots/calibration.png",
        "plots/auc_by_week.png",
        "plots/feature_importance.png",
        "plots/shap_summary.png",
    } <= artifacts
    _reads_back_as_mlflow_users_expect(settings, result)


def _reads_back_as_mlflow_users_expect(settings: Settings, result: TrainingResult) -> None:
    """What an ML engineer finds with MlflowClient: weekly series, experiment kind, tags,
    datasets, signature and input example."""
    from mlflow import MlflowClient

    from earlywarn.model.store import CLASSIC_ML_KIND, EXPERIMENT_KIND_TAG, EXPERIMENT_NAME

    store = configure_mlflow(settings)
    reader = MlflowClient(tracking_uri=store)
    weeks = [row["week"] for row in result.evaluation["weeks"]]
    assert len(weeks) >= 3
    # One key per measure, one step per checkpoint week: the UI charts it over the term.
    history = reader.get_metric_history(result.run_id, "roc_auc")
    assert sorted(m.step for m in history) == weeks
    by_week = {m.step: m.value for m in history}
    for row in result.evaluation["weeks"]:
        assert by_week[row["week"]] == pytest.approx(row["roc_auc"])
    for key in ("baseline_roc_auc", "ece", "brier", "n"):
        assert [m.step for m in reader.get_metric_history(result.run_id, key)] == weeks, key
    run = reader.get_run(result.run_id)
    assert not any("_w" in key and key.rsplit("_w", 1)[1].isdigit() for key in run.data.metrics)
    # A classic machine-learning experiment, holding training runs only.
    experiment = reader.get_experiment(run.info.experiment_id)
    assert experiment.name == EXPERIMENT_NAME
    assert experiment.tags[EXPERIMENT_KIND_TAG] == CLASSIC_ML_KIND
    tags = run.data.tags
    assert tags["earlywarn.test_cohort"] == result.split.test_period
    assert "not retained" in tags["earlywarn.label"]
    assert "earlywarn.data_sha256" in tags
    assert len(tags["mlflow.source.git.commit"]) == 40
    assert "plots/" in tags["mlflow.note.content"]
    # The rows it learned from and was tested on, as MLflow datasets.
    contexts = {
        tag.value
        for dataset in run.inputs.dataset_inputs
        for tag in dataset.tags
        if tag.key == "mlflow.data.context"
    }
    assert contexts == {"training", "test"}
    assert all(len(d.dataset.digest) == 8 for d in run.inputs.dataset_inputs)
    # The registered model carries a signature and an input example.
    import mlflow

    info = mlflow.models.get_model_info(f"models:/{MODEL_NAME}/{result.model_version}")
    assert info.signature is not None
    assert "risk" in info.signature.outputs.input_names()
    assert info.saved_input_example_info is not None


def test_guard_refuses_a_worse_model_and_accepts_a_better_one(
    mlflow_settings: Settings, simulated_dataset: tuple[pd.DataFrame, pd.Series]
) -> None:
    settings = _lenient(mlflow_settings)
    frame, _ = simulated_dataset
    good = _train(settings, frame)
    assert promote_challenger(settings, actor="tester").promoted

    weak = _train(settings, frame, NOISE_ONLY)
    decision = promote_challenger(settings, actor="tester")
    assert decision.status == "refused"
    assert decision.challenger_auc is not None
    assert decision.champion_auc is not None
    assert decision.challenger_auc < decision.champion_auc - settings.promote_auc_tolerance
    assert f"{decision.challenger_auc:.4f}" in decision.reason
    assert f"{decision.champion_auc:.4f}" in decision.reason
    assert alias_version(settings, CHAMPION) == good.model_version

    forced = promote_challenger(settings, actor="ops", force=True)
    assert forced.status == "forced"
    assert alias_version(settings, CHAMPION) == weak.model_version
    tags = client(settings).get_model_version(MODEL_NAME, weak.model_version).tags
    assert tags["promotion.forced"] == "true"
    assert tags["promotion.by"] == "ops"

    better = _train(settings, frame)
    accepted = promote_challenger(settings, actor="tester")
    assert accepted.status == "promoted", accepted.reason
    assert alias_version(settings, CHAMPION) == better.model_version
    assert accepted.previous_champion_version == weak.model_version

    statuses = [d["status"] for d in list_promotions(settings)]
    assert statuses == ["promoted", "refused", "forced", "promoted"]


def test_first_model_on_a_small_institution_is_judged_against_the_noise_floor(
    mlflow_settings: Settings, simulated_dataset: tuple[pd.DataFrame, pd.Series]
) -> None:
    """300 test students a week: a perfectly calibrated model's ECE is about 0.07 there, so a
    strict promote_max_ece gives way to the noise floor of the rows the guard has, and the
    calibration check fails only beyond it."""
    settings = _lenient(mlflow_settings, promote_max_ece=0.0001)
    frame, _ = simulated_dataset
    _train(settings, frame)
    decision = promote_challenger(settings, actor="tester")
    assert decision.challenger_ece is not None
    assert decision.ece_noise is not None
    assert decision.ece_noise > 0.05  # the floor of 300 rows, far above the 0.0001 setting
    beyond_noise = decision.challenger_ece > decision.ece_noise
    assert ("mean weekly ECE" in decision.reason.split(" (")[0]) == beyond_noise


def test_a_challenger_losing_to_its_logistic_baseline_beyond_noise_is_refused(
    mlflow_settings: Settings,
    simulated_dataset: tuple[pd.DataFrame, pd.Series],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A booster that cannot split (one leaf per tree) ranks nobody; the guard says by how much
    it trails the logistic baseline of its own run."""
    import earlywarn.training.fit

    settings = _lenient(mlflow_settings)
    frame, _ = simulated_dataset
    crippled = earlywarn.training.fit.lightgbm_params(0) | {"min_child_samples": 10**7}
    monkeypatch.setattr(earlywarn.training.fit, "lightgbm_params", lambda seed: crippled)
    # Only the plain form: on a linear base even a booster that cannot split ranks students.
    monkeypatch.setattr(earlywarn.training.fit, "LINEAR_BASE_BELOW_TREES", 0)
    _train(settings, frame)
    decision = promote_challenger(settings, actor="tester")
    assert decision.status == "refused"
    assert decision.baseline_auc is not None
    assert decision.challenger_auc is not None
    assert decision.auc_noise is not None
    gap = decision.baseline_auc - decision.challenger_auc
    assert gap > decision.auc_noise
    assert f"{gap:.4f} below the logistic baseline" in decision.reason
    assert alias_version(settings, CHAMPION) is None


def test_calibration_is_judged_against_the_noise_floor_of_its_rows() -> None:
    from earlywarn.training.promote import weekly_calibration

    rng = np.random.default_rng(3)
    risk = rng.uniform(0.1, 0.6, 4000)
    week = np.repeat([1.0, 2.0], 2000)
    y = (rng.random(4000) < risk).astype(int)
    ece, floor = weekly_calibration(y, risk, week, seed=0)
    assert ece < floor  # calibrated: within noise
    shifted, floor_shifted = weekly_calibration(y, np.clip(risk + 0.15, 0, 1), week, seed=0)
    assert shifted > 0.1 > floor_shifted


def test_promote_command_refuses_with_numbers_and_forces(
    mlflow_settings: Settings,
    simulated_dataset: tuple[pd.DataFrame, pd.Series],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import earlywarn.training.fit

    settings = load_settings(mlflow_settings.home)
    frame, _ = simulated_dataset
    crippled = earlywarn.training.fit.lightgbm_params(0) | {"min_child_samples": 10**7}
    monkeypatch.setattr(earlywarn.training.fit, "lightgbm_params", lambda seed: crippled)
    # Only the plain form: on a linear base even a booster that cannot split ranks students.
    monkeypatch.setattr(earlywarn.training.fit, "LINEAR_BASE_BELOW_TREES", 0)
    result = _train(settings, frame)
    runner = CliRunner()
    home = ["--home", str(settings.home)]
    refused = runner.invoke(cli, [*home, "promote"], env={"EARLYWARN_ACTOR": "ada"})
    assert refused.exit_code == 1
    assert "refused" in refused.output
    assert "below the logistic baseline" in refused.output
    forced = runner.invoke(
        cli, [*home, "promote", "--force", "--json"], env={"EARLYWARN_ACTOR": "ada"}
    )
    assert forced.exit_code == 0, forced.output
    decision = json.loads(forced.stdout)
    assert decision["status"] == "forced"
    assert decision["actor"] == "ada"
    assert alias_version(settings, CHAMPION) == result.model_version
    listed = runner.invoke(cli, [*home, "promote", "--list"])
    assert "refused" in listed.output
    assert "forced" in listed.output
    assert "ada" in listed.output


def test_load_model_uri_rejects_a_missing_model(mlflow_settings: Settings) -> None:
    with pytest.raises(RegistryError, match="cannot load model"):
        load_model_uri(mlflow_settings, f"models:/{MODEL_NAME}/99")
