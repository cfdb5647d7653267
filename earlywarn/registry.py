"""MLflow's loader for models saved by release 0.1, whose ``MLmodel`` names this module.

New models name :mod:`earlywarn.model.store`; this module stays so that a champion saved before
the move keeps loading (tests/model/test_saved_artifact.py).
"""

from earlywarn.model.store import _load_pyfunc

__all__ = ["_load_pyfunc"]
