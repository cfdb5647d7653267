"""Shared pytest configuration. Area fixtures live in tests/fixtures/<area>.py, listed here."""

pytest_plugins: list[str] = []
