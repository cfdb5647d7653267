"""Numbers that stay true: every default the docs state is the setting's default in
earlywarn/settings.py, and the README's benchmark figures are the ones `make bench` recorded."""

from __future__ import annotations

import re
from typing import Any

from earlywarn.core.settings import Settings
from earlywarn.mail.delivery import RetryPolicy
from tests.paths import REPO, benchmark_module

ROOT = REPO
README = ROOT / "README.md"
OPERATIONS = ROOT / "docs" / "operations.md"
SCHEDULER = ROOT / "docs" / "scheduler.md"

# Defaults the code computes rather than stores, written in the docs as what they become.
DERIVED = {
    "home": "current directory",
    "database_url": "`sqlite:///<home>/earlywarn.db`",
}


def _cells(line: str) -> list[str]:
    return [cell.strip() for cell in line.strip().strip("|").split("|")]


def _as_documented(value: Any) -> str:
    """A default as the docs write it: unset, true/false, 42, 0.005, localhost."""
    if value is None:
        return "unset"
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def _default(name: str) -> Any:
    return Settings.model_fields[name].default


def _settings_table(text: str) -> dict[str, str]:
    """``setting -> default`` from the README's table (setting | variable | default | meaning)."""
    rows: dict[str, str] = {}
    for line in text.splitlines():
        cells = _cells(line) if line.startswith("| `") else []
        if len(cells) == 4 and cells[1].startswith("`EARLYWARN_"):
            rows[cells[0].strip("`")] = cells[2]
    return rows


def test_every_default_in_the_readme_is_the_settings_default() -> None:
    table = _settings_table(README.read_text(encoding="utf-8"))
    assert set(table) == set(Settings.model_fields), "the README table lists other settings"
    wrong = {
        name: (documented, _as_documented(_default(name)))
        for name, documented in table.items()
        if documented.strip("`") != DERIVED.get(name, _as_documented(_default(name))).strip("`")
    }
    assert not wrong, f"README default differs from settings.py (documented, actual): {wrong}"


def test_the_scheduler_doc_states_the_schedule_defaults() -> None:
    checked = 0
    for line in SCHEDULER.read_text(encoding="utf-8").splitlines():
        cells = _cells(line) if line.startswith("| `") else []
        if len(cells) != 3:
            continue
        names = [n.strip().strip("`") for n in cells[0].split(",")]
        defaults = [d.strip().strip("`") for d in cells[1].split(",")]
        if not all(n in Settings.model_fields for n in names):
            continue
        assert len(names) == len(defaults), line
        for name, documented in zip(names, defaults, strict=True):
            assert documented == _as_documented(_default(name)), (name, documented)
            checked += 1
    assert checked >= 5


def test_the_operations_doc_states_the_smtp_and_retry_defaults() -> None:
    text = OPERATIONS.read_text(encoding="utf-8")
    marked = re.findall(r"\| `(\w+)` \| `EARLYWARN_\w+`[^|]*\| `(\w+)` \(default\)", text)
    assert marked, "no '(default)' in the operations doc's SMTP table"
    for name, documented in marked:
        assert documented == _as_documented(_default(name)), (name, documented)
    port = re.search(r"`smtp_port` \| [^|]+\| (\d+) for STARTTLS", text)
    assert port
    assert int(port.group(1)) == _default("smtp_port")
    policy = RetryPolicy()
    waits = re.search(r"retries (?:it )?within the run after (\d+) s and (\d+) s", text)
    assert waits, "the retry waits are no longer stated in docs/operations.md"
    assert [float(waits.group(1)), float(waits.group(2))] == [policy.delay(1), policy.delay(2)]
    assert policy.attempts == 3  # the first try and the two retries the sentence names


def test_the_readme_benchmark_blocks_are_what_the_recorded_results_give() -> None:
    docs_figures = benchmark_module("docs_figures")
    text = README.read_text(encoding="utf-8")
    rewritten = docs_figures.rewrite(text, docs_figures.load_results())
    assert rewritten == text, "README figures differ from benchmarks/results: run make bench"
    for block in docs_figures.BLOCKS:
        assert f"<!-- bench:{block} -->" in text
