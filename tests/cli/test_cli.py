"""The command line as a newcomer meets it."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from click.testing import CliRunner

from earlywarn.cli import COMMANDS, cli

HEAVY_MODULES = ("mlflow", "lightgbm", "sklearn", "pandas", "apscheduler", "sqlalchemy")


def test_help_lists_every_verb() -> None:
    result = CliRunner().invoke(cli, ["--help"])
    assert result.exit_code == 0
    for verb in COMMANDS:
        assert verb in result.output


def test_help_imports_nothing_heavy() -> None:
    """`earlywarn --help` must stay instant: no heavy library is imported to print it."""
    code = (
        "import sys; from earlywarn.cli import main\n"
        "try:\n    main(['--help'])\nexcept SystemExit:\n    pass\n"
        f"print('HEAVY:' + ','.join(m for m in {HEAVY_MODULES!r} if m in sys.modules))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout
    assert out.strip().splitlines()[-1] == "HEAVY:"


def test_every_verb_has_help_with_an_example() -> None:
    runner = CliRunner()
    for verb in COMMANDS:
        result = runner.invoke(cli, [verb, "--help"])
        assert result.exit_code == 0, (verb, result.output)
        assert "earlywarn " in result.output, f"{verb} --help shows no example"


def test_unknown_verb_is_usage_error(tmp_path: Path) -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "earlywarn", "frobnicate"],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        env={**os.environ, "EARLYWARN_HOME": str(tmp_path)},
    )
    assert proc.returncode == 2
    assert "frobnicate" in proc.stderr
    assert "Traceback" not in proc.stderr
