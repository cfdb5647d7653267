"""What ML engineers run: labels, datasets, fitting, evaluation, drivers and promotion."""
