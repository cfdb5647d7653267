"""The naive comparison: a driver's raw association with retention, with no controls at all.

Shown beside each controlled estimate so a reader sees what the controls change. It is the slope of
an ordinary least squares fit of retention on the driver alone, scaled like the controlled effect
(p25 to p75, or 0 to 1 for a yes/no driver, in percentage points). For a yes/no driver it is simply
the difference in retention rates between students with and without it.
"""

from __future__ import annotations

from typing import Any


def naive_effect_pp(driver: Any, retained: Any, *, p25: float, p75: float) -> float:
    """Unadjusted slope of ``retained`` on ``driver``, times ``(p75 - p25)``, in points."""
    import numpy as np

    x = np.asarray(driver, dtype=float)
    y = np.asarray(retained, dtype=float)
    centred = x - x.mean()
    spread = float(centred @ centred)
    if spread == 0:
        return 0.0
    slope = float(centred @ (y - y.mean())) / spread
    return slope * (p75 - p25) * 100
