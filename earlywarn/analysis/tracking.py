"""Log a driver analysis to the home's MLflow store, in its own experiment (``earlywarn-drivers``,
apart from the training runs) and tagged run_type=drivers."""

from __future__ import annotations

import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from earlywarn.analysis.analysis import DriverEffect
    from earlywarn.core.settings import Settings

RUN_TYPE = "drivers"


def log_drivers_run(
    settings: Settings,
    results: list[DriverEffect],
    *,
    html_path: Path,
    json_text: str,
    params: Mapping[str, Any],
) -> str:
    """One MLflow run: parameters, one metric per measurable driver, the HTML and JSON reports."""
    from earlywarn.model.runs import DATA_DIR_TAG, code_tags, tracked_run
    from earlywarn.model.store import DRIVERS_EXPERIMENT_NAME

    tags = {"run_type": RUN_TYPE, DATA_DIR_TAG: str(params.get("data_dir", "")), **code_tags()}
    with tracked_run(
        settings, run_name="drivers", tags=tags, experiment=DRIVERS_EXPERIMENT_NAME
    ) as run:
        run.params(params)
        metrics: dict[str, float] = {}
        for r in results:
            if r.measurable and r.effect_pp is not None:
                metrics[f"effect_pp.{r.driver}"] = r.effect_pp
                metrics[f"ci_low_pp.{r.driver}"] = float(r.ci_low_pp or 0.0)
                metrics[f"ci_high_pp.{r.driver}"] = float(r.ci_high_pp or 0.0)
                if r.q_value is not None:
                    metrics[f"q_value.{r.driver}"] = r.q_value
        run.metrics(metrics)
        run.file(html_path, "drivers")
        with tempfile.TemporaryDirectory() as folder:
            path = Path(folder) / "drivers.json"
            path.write_text(json_text, encoding="utf-8")
            run.file(path, "drivers")
        run_id: str = run.run_id
    return run_id
