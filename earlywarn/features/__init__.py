"""Point-in-time first-term features: pure functions of the tables and an as-of instant.

Training and weekly scoring both call these, so what is scored is exactly what was trained.
"""

from earlywarn.features.assemble import ID_COLUMNS, features_as_of, first_term_features
from earlywarn.features.catalogue import DRIVERS, FEATURES, FeatureSpec, feature_names

__all__ = [
    "DRIVERS",
    "FEATURES",
    "ID_COLUMNS",
    "FeatureSpec",
    "feature_names",
    "features_as_of",
    "first_term_features",
]
