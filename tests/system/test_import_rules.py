"""The import-linter contract that keeps mlflow in its adapter lists every other part of earlywarn,
so a package or module added later is covered rather than silently exempt."""

from __future__ import annotations

import tomllib

from tests.paths import REPO

ADAPTER = {"earlywarn.model.store", "earlywarn.model.runs"}


def _modules(folder: str) -> set[str]:
    root = REPO / "earlywarn" / folder if folder else REPO / "earlywarn"
    prefix = f"earlywarn.{folder}." if folder else "earlywarn."
    names = {p.stem for p in root.glob("*.py") if p.stem not in {"__init__", "__main__"}}
    names |= {p.name for p in root.iterdir() if (p / "__init__.py").is_file()}
    return {prefix + name for name in names}


def test_the_mlflow_contract_covers_everything_but_the_adapter() -> None:
    config = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))
    contracts = config["tool"]["importlinter"]["contracts"]
    mlflow = next(c for c in contracts if c.get("forbidden_modules") == ["mlflow"])
    expected = (_modules("") - {"earlywarn.model"}) | (_modules("model") - ADAPTER)
    assert set(mlflow["source_modules"]) == expected
