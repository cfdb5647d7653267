"""earlywarn: an early-warning system for first-year retention in online degree programs."""

import os

# OpenMP threads (LightGBM's) that wait for work sleep rather than spin, so that training on two
# threads is not slowed to a crawl when another process holds a core (training/params.py,
# LIGHTGBM_THREADS). The OpenMP runtime reads this once, when it is loaded, so it is set before
# anything imports LightGBM; an operator's own setting is kept.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

__version__ = "0.1.0"
