"""What ML engineers run: labels, training datasets, fitting, evaluation, driver analysis, promotion."""
