"""The model's inputs: each feature column with its kind and monotone direction."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from earlywarn.features.catalogue import FeatureKind

if TYPE_CHECKING:
    pass


CHECKPOINT_WEEK = "checkpoint_week"


@dataclass(frozen=True)
class FeatureColumn:
    """One model input: its name, kind and monotone direction on the *risk* of not being retained.

    ``monotone_risk`` is +1 when a higher value may only raise risk, -1 when it may only lower it,
    0 when unconstrained (always 0 for categorical features).
    """

    name: str
    kind: FeatureKind
    monotone_risk: int = 0
