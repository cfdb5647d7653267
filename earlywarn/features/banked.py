"""Banked results: first-term graded items whose result was carried over from an earlier attempt.

They come from the optional ``submissions.is_banked`` column (docs/contract.md, earlywarn
extensions). Where the column is absent (every value missing), these features are missing.
"""

from __future__ import annotations

import numpy as np

from earlywarn.features.timing import first_term_submissions
from earlywarn.features.view import View

BANKED_FEATURES = ("banked_items", "banked_grade_share")


def banked_features(view: View) -> dict[str, np.ndarray]:
    """Distinct items banked so far, and the share of the first-term grade weight they carry."""
    prep, n = view.prep, view.n
    key = "has_banked_column"
    if key not in prep.cache:
        prep.cache[key] = bool(prep.tables.submissions["is_banked"].notna().any())
    if not prep.cache[key]:
        return {name: np.full(n, np.nan) for name in BANKED_FEATURES}
    subs = first_term_submissions(view)
    banked = subs["banked"]
    pos, item = subs["pos"][banked], subs["item"][banked]
    n_items = len(prep.items["course"])
    cells = np.unique(pos * max(n_items, 1) + item)
    c_pos, c_item = cells // max(n_items, 1), cells % max(n_items, 1)
    weight = np.nan_to_num(prep.items["weight"][c_item])
    courses = np.bincount(view.enr["pos"], minlength=n).astype(np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        share = np.where(
            courses > 0, np.bincount(c_pos, weights=weight, minlength=n) / courses, np.nan
        )
    return {
        "banked_items": np.bincount(c_pos, minlength=n).astype(np.float64),
        "banked_grade_share": share,
    }
