"""A model saved by release 0.1, before the package layout changed, still loads and scores the same.

``tests/data/model_v0_1`` is the MLflow model folder that release 0.1 wrote (trained on a
generated institution of 600 students); its ``MLmodel`` names the loader ``earlywarn.registry``
and its pickle names classes under ``earlywarn.model``. ``expected_risk.json`` holds what 0.1
predicted for the saved input example (features are float32 since, so agreement is to 1e-6).
"""

from __future__ import annotations

import json

import numpy as np
import pandas as pd

from tests.paths import TEST_DATA

SAVED = TEST_DATA / "model_v0_1"


def test_a_model_saved_by_release_0_1_loads_through_mlflow_and_scores_as_it_did() -> None:
    import mlflow

    from earlywarn.model.artifact import RetentionModel

    loaded = mlflow.pyfunc.load_model(str(SAVED))
    model = loaded.get_raw_model()
    assert isinstance(model, RetentionModel)

    example = json.loads((SAVED / "input_example.json").read_text())
    rows = pd.DataFrame(example["data"], columns=example["columns"])
    expected = np.array(json.loads((SAVED / "expected_risk.json").read_text()))
    np.testing.assert_allclose(model.predict_risk(rows), expected, rtol=0, atol=1e-6)
    served = loaded.predict(rows)
    np.testing.assert_allclose(served["risk"].to_numpy(), expected, rtol=0, atol=1e-6)
