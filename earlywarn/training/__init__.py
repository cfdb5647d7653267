"""What ML engineers run: datasets, fitting, calibration, evaluation, tracking and promotion."""
