"""The report's driver analysis on an institution's own data: frame, estimator, report."""
