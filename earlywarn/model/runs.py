"""The MLflow adapter's run side: one tracked run and what goes into it, and reading a run back.

Training and the driver analysis log through :func:`tracked_run` and the :class:`RunLog` it
yields; promotion reads a run's files back with :func:`run_file` and :func:`run_json`. With
:mod:`earlywarn.model.store` (the store, the registry and loading models) this is the only code
that imports mlflow, always inside functions, so importing it stays cheap.
"""

from __future__ import annotations

import contextlib
import warnings
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from earlywarn.core.errors import RegistryError
from earlywarn.model.store import EXPERIMENT_NAME, configure_mlflow

if TYPE_CHECKING:
    import pandas as pd

    from earlywarn.core.settings import Settings


class RunLog:
    """What can be logged to the active run (MLflow's fluent API behind it)."""

    def __init__(self, run_id: str) -> None:
        self.run_id = run_id

    def params(self, values: Mapping[str, Any]) -> None:
        import mlflow

        mlflow.log_params(dict(values))

    def metrics(self, values: Mapping[str, float]) -> None:
        import mlflow

        mlflow.log_metrics(dict(values))

    def series(self, points: Sequence[tuple[str, float, int]]) -> None:
        """Metric points ``(key, value, step)`` in batches (one call per point is slow)."""
        import time

        from mlflow import MlflowClient
        from mlflow.entities import Metric

        now = int(time.time() * 1000)
        metrics = [Metric(key, value, now, step) for key, value, step in points]
        client = MlflowClient()
        for start in range(0, len(metrics), 1000):  # MLflow's limit per batch
            client.log_batch(self.run_id, metrics=metrics[start : start + 1000])

    def json(self, value: Any, path: str) -> None:
        import mlflow

        mlflow.log_dict(value, path)

    def figure(self, figure: Any, path: str) -> None:
        import mlflow

        mlflow.log_figure(figure, path)

    def file(self, local_path: Path, folder: str) -> None:
        import mlflow

        mlflow.log_artifact(str(local_path), folder)

    def frame(
        self, frame: pd.DataFrame, *, name: str, source: str, target: str, context: str
    ) -> None:
        """``frame`` as an input dataset of the run (``mlflow.log_input``): schema, size, digest.

        The digest is ours (:func:`frame_digest`): MLflow's own looks at every cell of the frame
        in Python to find its text columns (2.5 s for the demo institution's two frames) and then
        hashes only the first 10,000 rows; ours hashes every row, vectorised (0.1 s for the demo
        institution's 123,780 training rows).
        """
        import mlflow
        from mlflow.data.pandas_dataset import from_pandas

        with warnings.catch_warnings():
            # MLflow registers its local-file source under two URI schemes and then warns that
            # a plain path matches both; either reading is the same folder.
            warnings.filterwarnings("ignore", "The specified dataset source", UserWarning)
            where = {"source": source} if source else {}  # else MLflow names the code
            dataset = from_pandas(
                frame, name=name, targets=target, digest=frame_digest(frame), **where
            )
        mlflow.log_input(dataset, context=context)


def frame_digest(frame: pd.DataFrame) -> str:
    """An 8-character digest of a frame's column names and every row's values (pandas' row
    hashes, index left out), the length of MLflow's dataset digests."""
    import hashlib

    import pandas as pd

    rows = pd.util.hash_pandas_object(frame, index=False).to_numpy()
    digest = hashlib.md5(usedforsecurity=False)
    digest.update("\x1f".join(str(c) for c in frame.columns).encode())
    digest.update(rows.tobytes())
    return digest.hexdigest()[:8]


def prepare_tracking(settings: Settings) -> None:
    """Import what logging a run needs (MLflow, its SQL store, matplotlib's figures) and open the
    home's store (creating it, with its schema migrations, in a new home): together 4-5 s on the
    2-core machine, which ``earlywarn train`` spends in a thread while the booster trains
    (training/pipeline.py) rather than after it. Nothing is logged here."""
    import matplotlib.figure  # noqa: F401
    import mlflow.pyfunc  # noqa: F401

    configure_mlflow(settings)


@contextlib.contextmanager
def tracked_run(
    settings: Settings,
    *,
    run_name: str,
    tags: Mapping[str, str],
    experiment: str = EXPERIMENT_NAME,
) -> Iterator[RunLog]:
    """A new run in ``experiment`` of the home's store, active while the block runs."""
    import mlflow

    configure_mlflow(settings, experiment)
    with mlflow.start_run(run_name=run_name, tags=dict(tags)) as run:
        yield RunLog(run.info.run_id)


def run_file(settings: Settings, run_id: str, path: str) -> Path:
    """A local copy of the file ``path`` logged with run ``run_id``.

    Raises :class:`~earlywarn.core.errors.RegistryError` when the run has no such file.
    """
    import mlflow

    configure_mlflow(settings)
    try:
        return Path(mlflow.artifacts.download_artifacts(run_id=run_id, artifact_path=path))
    except Exception as exc:  # MLflow raises several types for a missing artifact
        raise RegistryError(f"run {run_id} has no {path}; retrain with earlywarn train") from exc


def run_json(settings: Settings, run_id: str, path: str) -> dict[str, Any] | None:
    """The JSON object logged as ``path`` with run ``run_id`` (``None`` when there is none)."""
    import mlflow

    configure_mlflow(settings)
    try:
        loaded: dict[str, Any] = mlflow.artifacts.load_dict(f"runs:/{run_id}/{path}")
    except Exception:  # MLflow raises several types for a missing artifact
        return None
    return loaded


GIT_COMMIT_TAG = "mlflow.source.git.commit"


DATA_DIR_TAG = "earlywarn.data_dir"


def source_commit() -> str | None:
    """The git commit of the code that runs, when it runs from a git checkout (else ``None``)."""
    import subprocess

    folder = Path(__file__).resolve().parent
    try:
        done = subprocess.run(
            ["git", "-C", str(folder), "rev-parse", "HEAD"],
            capture_output=True,
            text=True,
            timeout=5,
            check=False,
        )
    except (OSError, subprocess.SubprocessError):
        return None
    commit = done.stdout.strip()
    return commit if done.returncode == 0 and len(commit) == 40 else None


def code_tags() -> dict[str, str]:
    """Tags naming the code of a run: its git commit (MLflow's own tag, which the UI shows)
    and the installed earlywarn version."""
    from importlib.metadata import PackageNotFoundError, version

    tags: dict[str, str] = {}
    commit = source_commit()
    if commit:
        tags[GIT_COMMIT_TAG] = commit
    with contextlib.suppress(PackageNotFoundError):
        tags["earlywarn.version"] = version("earlywarn")
    return tags


def recent_runs(
    settings: Settings, *, limit: int = 5, keys: Sequence[str] = ("roc_auc",)
) -> list[dict[str, Any]]:
    """The latest ``limit`` training runs, newest first: id, start, test cohort, the window's
    mean ROC-AUC, and each of ``keys`` as ``{week: value}`` (the metric's steps)."""
    from earlywarn.model.store import EXPERIMENT_NAME, client

    registry = client(settings)
    experiment = registry.get_experiment_by_name(EXPERIMENT_NAME)
    if experiment is None:
        return []
    runs = registry.search_runs(
        [experiment.experiment_id], order_by=["attributes.start_time DESC"], max_results=limit
    )
    found = []
    for run in runs:
        series = {
            key: {m.step: m.value for m in registry.get_metric_history(run.info.run_id, key)}
            for key in keys
        }
        found.append(
            {
                "run_id": run.info.run_id,
                "started": run.info.start_time,
                "test_cohort": run.data.tags.get("earlywarn.test_cohort", ""),
                "window_mean_roc_auc": run.data.metrics.get("window_mean_roc_auc"),
                "trees": run.data.metrics.get("trees"),
                **series,
            }
        )
    return found
