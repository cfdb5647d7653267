"""Where models live: the MLflow store under the home folder, and loading a model by alias.

The store is ``<home>/mlruns/``: a SQLite tracking and registry database ``mlflow.db`` plus an
``artifacts/`` folder. Two experiments, both tagged as classic machine-learning experiments
(``mlflow.experimentKind``): ``earlywarn-retention`` holds the training runs and
``earlywarn-drivers`` the driver analyses. One registered model, ``earlywarn-retention``.
Registry *aliases* (never the deprecated stages) mark the models: ``challenger`` is the latest
trained, ``champion`` the one weekly scoring uses.

A logged model is a custom pyfunc flavour: the :class:`~earlywarn.model.artifact.RetentionModel`
pickled, loaded back by :func:`_load_pyfunc` (this module is the flavour's ``loader_module``).
Nothing happens at import time; mlflow is imported inside the functions that need it.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from earlywarn.core.errors import MissingModelError, RegistryError

if TYPE_CHECKING:
    import pandas as pd
    from mlflow import MlflowClient
    from mlflow.models import ModelSignature
    from mlflow.models.model import ModelInfo

    from earlywarn.core.settings import Settings
    from earlywarn.model.artifact import RetentionModel

MODEL_NAME = "earlywarn-retention"
EXPERIMENT_NAME = "earlywarn-retention"
DRIVERS_EXPERIMENT_NAME = "earlywarn-drivers"
# MLflow 3's UI sorts experiments into machine learning and GenAI by this tag; without it the UI
# guesses, and asks. "custom_model_development" is its value for classic model training.
EXPERIMENT_KIND_TAG = "mlflow.experimentKind"
CLASSIC_ML_KIND = "custom_model_development"
CHAMPION = "champion"
CHALLENGER = "challenger"
MODEL_FILE = "retention_model.pkl"
# Models logged before 2026-12 were written by joblib under this name; they still load.
JOBLIB_MODEL_FILE = "retention_model.joblib"
LOGGED_MODEL_NAME = "model"


def store_paths(settings: Settings) -> tuple[Path, Path]:
    """The SQLite database and the artifacts folder of the home's MLflow store."""
    root = settings.mlruns_dir
    return root / "mlflow.db", root / "artifacts"


def tracking_uri(settings: Settings) -> str:
    """``sqlite:///<abs home>/mlruns/mlflow.db``: the tracking and registry URI."""
    database, _ = store_paths(settings)
    return f"sqlite:///{database}"


def configure_mlflow(settings: Settings, experiment: str = EXPERIMENT_NAME) -> str:
    """Point MLflow at the home's store, make ``experiment`` the active one (created, and tagged a
    classic machine-learning experiment, when needed); return the tracking URI.

    Both URIs are set explicitly: MLflow would otherwise fall back to a deprecated file store when
    a ``mlruns/<digit>/meta.yaml`` exists in the working directory.
    """
    import logging

    import mlflow

    if not logging.getLogger().isEnabledFor(logging.INFO):
        # MLflow logs its own INFO lines to stderr; keep them for `earlywarn --verbose`.
        logging.getLogger("mlflow").setLevel(logging.WARNING)
    database, artifacts = store_paths(settings)
    artifacts.mkdir(parents=True, exist_ok=True)
    uri = tracking_uri(settings)
    mlflow.set_tracking_uri(uri)
    mlflow.set_registry_uri(uri)
    found = mlflow.get_experiment_by_name(experiment)
    if found is None:
        mlflow.create_experiment(
            experiment,
            artifact_location=artifacts.as_uri(),
            tags={EXPERIMENT_KIND_TAG: CLASSIC_ML_KIND},
        )
    elif found.lifecycle_stage == "deleted":
        raise RegistryError(
            f"{database}: experiment {experiment!r} is deleted; restore it with "
            f"`mlflow experiments restore` or remove {settings.mlruns_dir}"
        )
    elif EXPERIMENT_KIND_TAG not in found.tags:  # made before the tag was set
        mlflow.MlflowClient().set_experiment_tag(
            found.experiment_id, EXPERIMENT_KIND_TAG, CLASSIC_ML_KIND
        )
    mlflow.set_experiment(experiment)
    return uri


def client(settings: Settings) -> MlflowClient:
    """An MLflow client on the home's store (configuring MLflow first)."""
    from mlflow import MlflowClient

    uri = configure_mlflow(settings)
    return MlflowClient(tracking_uri=uri, registry_uri=uri)


def model_signature(model: RetentionModel) -> ModelSignature:
    """The logged model's explicit signature: its feature columns in, the risk out.

    Numeric and binary inputs are doubles, categorical ones strings; all may be missing.
    """
    from mlflow.models import ModelSignature
    from mlflow.types import ColSpec, Schema, TensorSpec

    inputs: list[ColSpec | TensorSpec] = [
        ColSpec("string" if kind == "categorical" else "double", name, required=False)
        for name, kind in model.input_kinds.items()
    ]
    return ModelSignature(inputs=Schema(inputs), outputs=Schema([ColSpec("double", "risk")]))


def log_retention_model(
    model: RetentionModel, input_example: pd.DataFrame, *, register: bool = True
) -> tuple[ModelInfo, str | None]:
    """Log ``model`` to the active run and, when asked, register it as :data:`MODEL_NAME`.

    Returns the logged model's info and the new registered version (``None`` unregistered).
    ``input_example`` is a few rows of features; only the model's columns are kept, categories as
    plain strings (the signature's type). Registration goes through the client rather than
    MLflow's fluent API, which prints to stderr behind our progress lines.
    """
    import pickle
    import tempfile

    import joblib
    import lightgbm
    import mlflow
    import pandas
    import sklearn

    with tempfile.TemporaryDirectory() as scratch:
        path = Path(scratch) / MODEL_FILE
        # Plain pickle: joblib pickles in Python, object by object; for the 2 MB model of the
        # default synthetic institution it took 0.5 s to write (pickle: 0.02 s) and, under a
        # profiler, 1.0 s to read when MLflow reloads the model to check the input example.
        with path.open("wb") as file:
            pickle.dump(model, file, protocol=pickle.HIGHEST_PROTOCOL)
        info: ModelInfo = mlflow.pyfunc.log_model(
            name=LOGGED_MODEL_NAME,
            loader_module="earlywarn.model.store",
            data_path=str(path),
            signature=model_signature(model),
            input_example=_example_rows(model, input_example),
            pip_requirements=[
                f"lightgbm=={lightgbm.__version__}",
                f"scikit-learn=={sklearn.__version__}",
                f"pandas=={pandas.__version__}",
                f"joblib=={joblib.__version__}",
                "earlywarn",
            ],
        )
    if not register:
        return info, None
    from mlflow import MlflowClient
    from mlflow.exceptions import MlflowException

    registry = MlflowClient()
    try:
        registry.get_registered_model(MODEL_NAME)
    except MlflowException:
        registry.create_registered_model(MODEL_NAME)
    version = registry.create_model_version(
        MODEL_NAME, source=info.model_uri, run_id=info.run_id, model_id=info.model_id
    )
    return info, str(version.version)


def _example_rows(model: RetentionModel, features: pd.DataFrame) -> pd.DataFrame:
    import pandas as pd

    rows = features.head(5)
    data: dict[str, Any] = {}
    for name, kind in model.input_kinds.items():
        values = rows[name]
        if kind == "categorical":
            data[name] = values.astype(object).where(values.notna(), None).astype(object)
        else:
            data[name] = pd.to_numeric(values, errors="coerce").astype("float64")
    return pd.DataFrame(data).reset_index(drop=True)


class _RetentionPyfunc:
    """What ``mlflow.pyfunc.load_model`` returns for our flavour: risk out, as a frame."""

    def __init__(self, model: RetentionModel) -> None:
        self.model = model

    def predict(self, model_input: pd.DataFrame, params: dict[str, Any] | None = None) -> Any:
        import pandas as pd

        return pd.DataFrame({"risk": self.model.predict_risk(model_input)})

    def get_raw_model(self) -> RetentionModel:
        """The model itself (MLflow's public ``PyFuncModel.get_raw_model()`` calls this)."""
        return self.model


def _load_pyfunc(data_path: str) -> _RetentionPyfunc:
    """MLflow's entry point for the pyfunc flavour (``loader_module``)."""
    return _RetentionPyfunc(_read_model_file(Path(data_path)))


def _read_model_file(path: Path) -> RetentionModel:
    import pickle

    from earlywarn.model.artifact import RetentionModel

    if path.is_dir():
        path = path / MODEL_FILE if (path / MODEL_FILE).exists() else path / JOBLIB_MODEL_FILE
    if path.name == JOBLIB_MODEL_FILE:
        import joblib

        model = joblib.load(path)
    else:
        with path.open("rb") as file:
            model = pickle.load(file)
    if not isinstance(model, RetentionModel):
        raise RegistryError(
            f"{path}: not an earlywarn RetentionModel; retrain with earlywarn train"
        )
    return model


def version_run_id(settings: Settings, version: str) -> str | None:
    """The MLflow run id that trained registered ``version``, or ``None`` when the store or the
    version is missing (what an operator pastes into the MLflow UI to find the run)."""
    database, _ = store_paths(settings)
    if not database.is_file():
        return None
    from mlflow.exceptions import MlflowException

    try:
        found = client(settings).get_model_version(MODEL_NAME, str(version))
    except MlflowException:
        return None
    return found.run_id or found.tags.get("run_id") or None


def load_model_uri(settings: Settings, uri: str) -> RetentionModel:
    """The :class:`RetentionModel` behind an MLflow model URI (``models:/...``, ``runs:/...``)."""
    import mlflow

    configure_mlflow(settings)
    try:
        loaded = mlflow.pyfunc.load_model(uri)
    except Exception as exc:  # MLflow raises many types; all mean "cannot load this model"
        raise RegistryError(f"cannot load model {uri} from {settings.mlruns_dir}: {exc}") from exc
    from earlywarn.model.artifact import RetentionModel

    try:
        model = loaded.get_raw_model()
    except NotImplementedError:
        model = None
    if not isinstance(model, RetentionModel):
        raise RegistryError(
            f"{uri} is not an earlywarn retention model; retrain with earlywarn train"
        )
    return model


def alias_version(settings: Settings, alias: str) -> str | None:
    """The registered version that ``alias`` points to, or ``None`` when there is none."""
    database, _ = store_paths(settings)
    if not database.is_file():
        return None  # before importing MLflow, which takes seconds
    from mlflow.exceptions import MlflowException

    try:
        version = client(settings).get_model_version_by_alias(MODEL_NAME, alias)
    except MlflowException:
        return None
    return str(version.version)


def require_alias(settings: Settings, alias: str = CHAMPION) -> str:
    """The registered version that ``alias`` points to.

    Raises :class:`~earlywarn.core.errors.MissingModelError` when the store has no such alias.
    """
    version = alias_version(settings, alias)
    if version is None:
        if alias == CHAMPION:
            hint = "no champion model: run earlywarn train DIR then earlywarn promote"
        else:
            hint = f"no {alias} model: run earlywarn train DIR"
        raise MissingModelError(f"{hint} (store {settings.mlruns_dir})")
    return version


def load_model_by_alias(settings: Settings, alias: str = CHAMPION) -> tuple[str, RetentionModel]:
    """The registered version that ``alias`` points to and its model.

    Raises :class:`~earlywarn.core.errors.MissingModelError` when the store has no such alias.
    """
    version = require_alias(settings, alias)
    return version, load_model_uri(settings, f"models:/{MODEL_NAME}/{version}")


def version_trained_at(settings: Settings, version: str) -> datetime | None:
    """When registered version ``version`` was created (just after its training run), in UTC;
    ``None`` when the registry does not know it. Digests name a model by this date."""
    from mlflow.exceptions import MlflowException

    try:
        found = client(settings).get_model_version(MODEL_NAME, version)
    except MlflowException:
        return None
    stamp = found.creation_timestamp
    return None if stamp is None else datetime.fromtimestamp(stamp / 1000, tz=UTC)


def mark_challenger(settings: Settings, version: str, *, run_id: str, test_period: str) -> None:
    """Tag registered ``version`` with its training run and test cohort, and point the
    ``challenger`` alias at it."""
    registry = client(settings)
    registry.set_model_version_tag(MODEL_NAME, version, "run_id", run_id)
    registry.set_model_version_tag(MODEL_NAME, version, "test_period", test_period)
    registry.set_registered_model_alias(MODEL_NAME, CHALLENGER, version)
