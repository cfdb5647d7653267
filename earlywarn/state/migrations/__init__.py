"""Alembic migrations of the state database (applied by :mod:`earlywarn.state.migrate`).

Revisions live in ``versions/``, written by hand, one per schema change, each with the frozen
table definitions of its time (never importing :mod:`earlywarn.state.schema`, which moves on).
"""
