"""earlywarn: an early-warning system for first-year retention in online degree programs."""

__version__ = "0.1.0"
