"""``earlywarn check`` against a real SMTP server on loopback, a real MLflow store with a champion,
a real state database and the small generated institution; and the same SMTP check in front of
``digest --send``."""

from __future__ import annotations

import re
import time
import tomllib
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from earlywarn.cli import cli, main
from tests.fixtures.smtp import SMTPServer
from tests.paths import REPO

AS_OF = "2026-10-05T07:00Z"
README = REPO / "README.md"


def _check(home: Path, data: Path, env: dict[str, str], *extra: str) -> Any:
    return CliRunner().invoke(
        cli, ["--home", str(home), "check", str(data), "--as-of", AS_OF, *extra], env=env
    )


def _env(server: SMTPServer, state_url: str, security: str) -> dict[str, str]:
    return {
        "EARLYWARN_SMTP_HOST": server.host,
        "EARLYWARN_SMTP_PORT": str(server.port),
        "EARLYWARN_SMTP_SECURITY": security,
        "EARLYWARN_DATABASE_URL": state_url,
    }


def test_starttls_against_a_plain_server_is_a_wrong_setting_and_none_passes(
    champion_home: Path, small_institution: Path, smtp_server: SMTPServer, tmp_path: Path
) -> None:
    state = f"sqlite:///{tmp_path / 'state.db'}"
    began = time.monotonic()
    wrong = _check(champion_home, small_institution, _env(smtp_server, state, "starttls"))
    assert time.monotonic() - began < 10
    assert wrong.exit_code == 2, wrong.output
    [smtp_line] = [line for line in wrong.output.splitlines() if "smtp:" in line]
    assert smtp_line.startswith("WRONG")
    assert "smtp_security" in smtp_line
    assert "does not offer STARTTLS" in smtp_line

    right = _check(champion_home, small_institution, _env(smtp_server, state, "none"))
    assert right.exit_code == 0, right.output
    lines = right.output.splitlines()
    for part in ("settings", "smtp", "data", "model", "state", "schedule"):
        assert any(re.match(rf"ok\s+{part}: ", line) for line in lines), (part, right.output)
    assert smtp_server.received == []  # a check never sends


def test_a_server_that_is_down_exits_1_and_stale_data_exits_2(
    champion_home: Path, small_institution: Path, smtp_server: SMTPServer, tmp_path: Path
) -> None:
    state = f"sqlite:///{tmp_path / 'state.db'}"
    env = _env(smtp_server, state, "none")
    smtp_server.stop()
    down = _check(champion_home, small_institution, env, "--json")
    assert down.exit_code == 1, down.output
    import json

    findings = {f["check"]: f for f in json.loads(down.output)}
    assert findings["smtp"]["status"] == "down"
    assert "cannot reach the SMTP server" in findings["smtp"]["message"]
    smtp_server.start()
    stale = CliRunner().invoke(
        cli,
        ["--home", str(champion_home), "check", str(small_institution), "--as-of", "2027-06-01"],
        env=env,
    )
    assert stale.exit_code == 2
    [data_line] = [line for line in stale.output.splitlines() if "data:" in line]
    assert "refresh the export" in data_line


def test_the_readme_local_server_example_works_as_written(
    smtp_server: SMTPServer, tmp_path: Path
) -> None:
    blocks = re.findall(r"```toml\n(.*?)```", README.read_text(encoding="utf-8"), re.S)
    [local] = [b for b in blocks if 'security = "none"' in b]
    settings = tomllib.loads(local)
    assert settings["smtp"]["host"] == smtp_server.host
    # The README's port, moved to the free port this test's server listens on.
    home = tmp_path / "home"
    home.mkdir()
    (home / "earlywarn.toml").write_text(
        local.replace(f"port = {settings['smtp']['port']}", f"port = {smtp_server.port}"),
        encoding="utf-8",
    )
    result = CliRunner().invoke(cli, ["--home", str(home), "check", "--as-of", AS_OF])
    [smtp_line] = [line for line in result.output.splitlines() if "smtp:" in line]
    assert smtp_line.startswith("ok"), result.output
    assert result.exit_code == 2  # this empty home has no data folder and no model yet
    assert any(
        line.startswith("WRONG data: data_dir is not set") for line in result.output.splitlines()
    )


def test_digest_send_with_a_wrong_security_stops_before_building(
    tmp_path: Path,
    small_institution: Path,
    smtp_server: SMTPServer,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    home = tmp_path / "home"  # nothing scored: the SMTP check must come first
    home.mkdir()
    monkeypatch.setenv("EARLYWARN_SMTP_HOST", smtp_server.host)
    monkeypatch.setenv("EARLYWARN_SMTP_PORT", str(smtp_server.port))
    monkeypatch.setenv("EARLYWARN_SMTP_SECURITY", "starttls")
    argv = ["--home", str(home), "digest", str(small_institution), "--as-of", AS_OF, "--send"]
    with pytest.raises(SystemExit) as exited:
        main(argv)
    assert exited.value.code == 2
    [line] = capsys.readouterr().err.splitlines()
    assert line.startswith("error: SMTP: smtp_security = starttls")
    assert smtp_server.received == []
    assert not (home / "outbox").exists()


def test_the_readme_institution_commands_and_settings_are_real(tmp_path: Path) -> None:
    """Every `earlywarn ...` line in the README names a real verb whose --help works, and every
    earlywarn.toml example loads as settings."""
    from earlywarn.cli import COMMANDS
    from earlywarn.core.settings import load_settings

    text = README.read_text(encoding="utf-8")
    commands = [
        line.split("#")[0].split()
        for block in re.findall(r"```sh\n(.*?)```", text, re.S)
        for line in block.splitlines()
        if line.startswith("earlywarn ")
    ]
    assert len(commands) >= 8
    for argv in commands:
        words = [w for w in argv[1:] if not w.startswith("-")]
        if not words:
            continue
        assert words[0] in COMMANDS, argv
        shown = CliRunner().invoke(cli, [words[0], "--help"])
        assert shown.exit_code == 0, argv
    for number, block in enumerate(re.findall(r"```toml\n(.*?)```", text, re.S)):
        home = tmp_path / f"home{number}"
        home.mkdir()
        (home / "earlywarn.toml").write_text(block, encoding="utf-8")
        load_settings(home)  # raises SettingsError naming the line's setting when it is wrong
