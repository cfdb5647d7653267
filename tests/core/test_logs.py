"""Quiet by default, -v and -vv for more, JSON lines for a service manager."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from pathlib import Path

import pytest

from earlywarn.cli import main
from earlywarn.core.logs import configure_logging, summary_logger


@pytest.fixture(autouse=True)
def _restore_logging() -> Iterator[None]:
    root = logging.getLogger()
    level, handlers = root.level, list(root.handlers)
    yield
    for handler in list(root.handlers):
        if handler not in handlers:
            root.removeHandler(handler)
    root.setLevel(level)


def _emit() -> None:
    logging.getLogger("earlywarn.scoring.score").debug("detail for -vv")
    logging.getLogger("earlywarn.scoring.score").info("scored 12 students for week 2026-10-05")
    summary_logger().info("weekly run ok: score: week 2026-10-05")
    logging.getLogger("earlywarn.mail").warning("temporary failure sending to A1")


@pytest.mark.parametrize(
    ("verbosity", "expected"),
    [
        (0, ["weekly run ok", "temporary failure"]),
        (1, ["scored 12 students", "weekly run ok", "temporary failure"]),
        (2, ["detail for -vv", "scored 12 students", "weekly run ok", "temporary failure"]),
    ],
)
def test_default_shows_warnings_and_job_summaries_and_each_v_adds_a_level(
    verbosity: int, expected: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    configure_logging(verbosity)
    _emit()
    lines = capsys.readouterr().err.splitlines()
    assert len(lines) == len(expected)
    for line, text in zip(lines, expected, strict=True):
        assert text in line


def test_json_lines_for_a_service_manager(capsys: pytest.CaptureFixture[str]) -> None:
    configure_logging(0, "json")
    _emit()
    records = [json.loads(line) for line in capsys.readouterr().err.splitlines()]
    assert [r["level"] for r in records] == ["INFO", "WARNING"]
    assert records[0]["logger"] == "earlywarn.summary"
    assert records[0]["message"] == "weekly run ok: score: week 2026-10-05"
    assert records[1]["time"].endswith("+00:00")


def test_the_cli_takes_vv_and_log_format(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    with pytest.raises(SystemExit) as exited:
        main(["-vv", "--log-format", "json", "validate", str(tmp_path / "missing")])
    assert exited.value.code == 2  # the usual one-line error; the logging was set up first
    assert logging.getLogger().level == logging.DEBUG
    capsys.readouterr()
    with pytest.raises(SystemExit) as exited:
        main(["--log-format", "xml", "validate", str(tmp_path)])
    assert exited.value.code == 2
    assert "'xml' is not one of 'text', 'json'" in capsys.readouterr().err
