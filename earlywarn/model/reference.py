"""Feature statistics for the drift check, for many groups of rows in one pass per column.

A model keeps these statistics of its training rows (overall, by checkpoint week and by program and
week) and computes the same for the rows it scores (:meth:`RetentionModel.profile`). Shapes, per
column: ``{"kind", "proportions", "missing_share", "rows"}``, plus ``"edges"`` for a numeric column
(its proportions are those of the bins that the edges cut, below the first edge first) and
proportions by category name for a categorical one.

Each column is coded once (a bin or category number, missing in a slot of its own) and every group
is counted with one ``bincount``: training has hundreds of program-weeks, and counting them one
frame at a time took most of the model's fitting time.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import numpy as np
    import pandas as pd

    from earlywarn.model.columns import FeatureColumn

Stats = dict[str, dict[str, Any]]
#: A group's key: the values its rows share (empty for all rows).
Key = tuple[Any, ...]


def _codes(
    values: pd.Series, column: FeatureColumn, categories: Sequence[str], cuts: Sequence[float]
) -> tuple[np.ndarray, int]:
    """Each row's bin (or category) number, with missing values coded as the number of bins;
    and that number."""
    import numpy as np
    import pandas as pd

    if column.kind == "categorical":
        # The model's typed frame (RetentionModel._frame) has its categories, unseen ones missing.
        codes = pd.Categorical(values, categories=list(categories)).codes.astype(np.int64)
        bins = len(categories)
    else:
        numbers = values.to_numpy(dtype=float, na_value=np.nan)
        edges = np.asarray(cuts, dtype=float)
        codes = np.searchsorted(edges, numbers, side="right").astype(np.int64)
        codes[np.isnan(numbers)] = -1
        bins = len(edges) + 1
    codes = np.where(codes == -1, bins, codes)
    return codes, bins


def grouped_stats(
    frame: pd.DataFrame,
    columns: Sequence[FeatureColumn],
    categories: Mapping[str, Sequence[str]],
    edges: Mapping[str, Mapping[str, Any]],
    groups: np.ndarray,
    keys: Sequence[Key],
) -> dict[Key, Stats]:
    """The statistics of each group of rows: ``groups`` numbers each row's group (an index into
    ``keys``, or -1 for a row in none); the result maps each key to its group's statistics."""
    import numpy as np

    n = len(keys)
    inside = groups >= 0
    rows = np.bincount(groups[inside], minlength=n)
    result: dict[Key, Stats] = {key: {} for key in keys}
    for column in columns:
        cuts = [] if column.kind == "categorical" else list(edges[column.name]["edges"])
        codes, bins = _codes(frame[column.name], column, categories.get(column.name, ()), cuts)
        slots = bins + 1
        kept = inside & (codes >= 0)
        counts = np.bincount(groups[kept] * slots + codes[kept], minlength=n * slots).reshape(
            n, slots
        )
        for index, key in enumerate(keys):
            present = counts[index, :bins]
            total = max(int(present.sum()), 1)
            size = int(rows[index])
            missing_share = int(counts[index, bins]) / size if size else 0.0
            if column.kind == "categorical":
                proportions: Any = {
                    str(name): int(c) / total
                    for name, c in zip(categories[column.name], present, strict=True)
                }
                stats: dict[str, Any] = {"kind": column.kind, "proportions": proportions}
            else:
                stats = {
                    "kind": column.kind,
                    "edges": cuts,
                    "proportions": [int(c) / total for c in present],
                }
            stats["missing_share"] = missing_share
            stats["rows"] = size
            result[key][column.name] = stats
    return result


def frame_stats(
    frame: pd.DataFrame,
    columns: Sequence[FeatureColumn],
    categories: Mapping[str, Sequence[str]],
    edges: Mapping[str, Mapping[str, Any]],
) -> Stats:
    """The statistics of all of ``frame``'s rows."""
    import numpy as np

    groups = np.zeros(len(frame), dtype=np.int64)
    return grouped_stats(frame, columns, categories, edges, groups, [()])[()]


def stats_by(
    frame: pd.DataFrame,
    columns: Sequence[FeatureColumn],
    categories: Mapping[str, Sequence[str]],
    edges: Mapping[str, Mapping[str, Any]],
    by: Sequence[np.ndarray],
) -> dict[Key, Stats]:
    """The statistics of each group of rows that share the values of the ``by`` arrays, keyed by
    the tuple of those values, in sorted order; a row with a missing value in any of them is in no
    group."""
    import numpy as np
    import pandas as pd

    keyframe = pd.DataFrame({str(i): np.asarray(values) for i, values in enumerate(by)})
    grouped = keyframe.groupby(list(keyframe.columns), sort=True, dropna=True)
    groups = grouped.ngroup().fillna(-1).to_numpy(dtype=np.int64)
    keys = [k if isinstance(k, tuple) else (k,) for k in grouped.size().index]
    return grouped_stats(frame, columns, categories, edges, groups, keys)


#: The numeric columns' bin edges: the distinct deciles of their training values.
REFERENCE_QUANTILES = tuple(q / 10 for q in range(1, 10))
#: The column that names a row's program (the drift check compares a program's week with its own).
PROGRAM_ID = "program_id"


def training_reference(
    frame: pd.DataFrame,
    source: pd.DataFrame,
    columns: Sequence[FeatureColumn],
    categories: Mapping[str, Sequence[str]],
) -> tuple[Stats, dict[int, Stats] | None, dict[tuple[str, int], Stats] | None]:
    """A model's drift reference from its typed training ``frame`` (``source``: the rows it was
    typed from, for their checkpoint week and program): the statistics of all rows, with the
    deciles as edges; by checkpoint week when ``source`` has weeks; by program and week when it
    also has programs (what earlywarn.scoring.drift.reference_by_week would compute, from the
    frame typed once)."""
    import numpy as np
    import pandas as pd

    from earlywarn.model.columns import CHECKPOINT_WEEK

    edges: dict[str, dict[str, Any]] = {}
    for column in columns:
        if column.kind != "categorical":
            values = frame[column.name].dropna().to_numpy(dtype=float)
            quantiles = np.quantile(values, REFERENCE_QUANTILES) if len(values) else []
            edges[column.name] = {"edges": [float(e) for e in np.unique(quantiles)]}
    pooled = frame_stats(frame, columns, categories, edges)
    if CHECKPOINT_WEEK not in source.columns:
        return pooled, None, None
    weeks = pd.to_numeric(source[CHECKPOINT_WEEK], errors="coerce").round().to_numpy()
    by_week = {
        int(w): s for (w,), s in stats_by(frame, columns, categories, pooled, [weeks]).items()
    }
    if PROGRAM_ID not in source.columns:
        return pooled, by_week, None
    programs = source[PROGRAM_ID].astype(str).to_numpy()
    by_program_week = {
        (str(p), int(w)): s
        for (p, w), s in stats_by(frame, columns, categories, pooled, [programs, weeks]).items()
    }
    return pooled, by_week, by_program_week
