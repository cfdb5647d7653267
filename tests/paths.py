"""Where the repository's files are, for tests that read docs, benchmarks or test data."""

import importlib
import sys
from pathlib import Path
from types import ModuleType

REPO = Path(__file__).resolve().parents[1]
DOCS = REPO / "docs"
TEST_DATA = REPO / "tests" / "data"


def benchmark_module(name: str) -> ModuleType:
    """``benchmarks/<name>.py`` imported as a module. The scripts import each other by bare name
    (they run from that folder), so the folder is on ``sys.path`` while it loads."""
    folder = str(REPO / "benchmarks")
    sys.path.insert(0, folder)
    try:
        return importlib.import_module(name)
    finally:
        sys.path.remove(folder)
