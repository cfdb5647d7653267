"""What every stage shares: the error tree, the as-of instant and local days, settings, the
single-scheduler lock and the Jinja2 environment. Imports nothing else of earlywarn."""
