"""Shared pytest configuration. Area fixtures live in tests/fixtures/<area>.py, listed here."""

pytest_plugins: list[str] = [
    "tests.fixtures.mlflow_store",
    "tests.fixtures.training_data",
    "tests.fixtures.smtp",
    "tests.fixtures.institution",
    "tests.fixtures.champion",
    "tests.fixtures.postgres",
]
