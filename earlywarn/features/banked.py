"""Banked results: first-term graded items whose result was carried over from an earlier attempt.

They come from the optional ``submissions.is_banked`` column (docs/contract.md, earlywarn
extensions). Where the file lacks the column, these features are missing; where it has the
column they are counts, 0 until a banked result is seen (whatever rows come later).
"""

from __future__ import annotations

import numpy as np

from earlywarn.features.timing import first_term_submissions
from earlywarn.features.view import View

BANKED_FEATURES = ("banked_items", "banked_grade_share")


def banked_features(view: View) -> dict[str, np.ndarray]:
    """Distinct items banked so far, and the share of the first-term grade weight they carry."""
    prep, n = view.prep, view.n
    if not prep.tables.has_column("submissions", "is_banked"):
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
