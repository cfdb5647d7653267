"""The retention model: columns, calibration, the monotone linear base and the saved artifact.

:mod:`earlywarn.model.store` is the one adapter to MLflow. Models saved by release 0.1 were pickled
when this package was a single module, ``earlywarn.model``; their pickles name classes such as
``earlywarn.model.RetentionModel``, so those names resolve here, loaded on first use so that
importing the package stays cheap.
"""

from __future__ import annotations

from typing import Any

# Pickled name -> module that defines it now.
_PICKLED_NAMES = {
    "FeatureColumn": "earlywarn.model.columns",
    "RetentionModel": "earlywarn.model.artifact",
    "MonotoneLinear": "earlywarn.model.linear",
    "_SigmoidCalibrator": "earlywarn.model.calibration",
    "_SigmoidByWeekCalibrator": "earlywarn.model.calibration",
    "_IsotonicCalibrator": "earlywarn.model.calibration",
    "_IsotonicByWeekCalibrator": "earlywarn.model.calibration",
}


def __getattr__(name: str) -> Any:
    module = _PICKLED_NAMES.get(name)
    if module is None:
        raise AttributeError(f"module 'earlywarn.model' has no attribute {name!r}")
    from importlib import import_module

    return getattr(import_module(module), name)
