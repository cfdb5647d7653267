"""Where the repository's files are, for tests that read docs, benchmarks or test data."""

from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
DOCS = REPO / "docs"
TEST_DATA = REPO / "tests" / "data"
