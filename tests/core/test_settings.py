"""Settings: the TOML file, the environment, secrets, and documentation of every setting."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from earlywarn.core.errors import SettingsError
from earlywarn.core.settings import Settings, load_settings
from tests.paths import REPO

README = REPO / "README.md"


def test_defaults_put_state_under_home(tmp_path: Path) -> None:
    settings = load_settings(tmp_path)
    assert settings.home == tmp_path.resolve()
    assert settings.state_url == f"sqlite:///{tmp_path.resolve() / 'earlywarn.db'}"
    assert settings.mlruns_dir == tmp_path.resolve() / "mlruns"
    assert settings.outbox_dir == tmp_path.resolve() / "outbox"


def test_toml_tables_flatten_and_environment_wins(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "earlywarn.toml").write_text(
        'digest_max_students = 7\n[smtp]\nhost = "mail.example.edu"\nport = 2525\n'
    )
    monkeypatch.setenv("EARLYWARN_SMTP_PORT", "465")
    settings = load_settings(tmp_path)
    assert settings.digest_max_students == 7
    assert settings.smtp_host == "mail.example.edu"
    assert settings.smtp_port == 465


def test_home_from_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("EARLYWARN_HOME", str(tmp_path))
    assert load_settings().home == tmp_path.resolve()


def test_password_in_file_is_refused(tmp_path: Path) -> None:
    (tmp_path / "earlywarn.toml").write_text('[smtp]\npassword = "hunter2"\n')
    with pytest.raises(SettingsError, match="EARLYWARN_SMTP_PASSWORD") as info:
        load_settings(tmp_path)
    assert "hunter2" not in str(info.value)


def test_password_from_file_variable_is_secret(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    secret = tmp_path / "pw"
    secret.write_text("s3cret\n")
    monkeypatch.delenv("EARLYWARN_SMTP_PASSWORD", raising=False)
    monkeypatch.setenv("EARLYWARN_SMTP_PASSWORD_FILE", str(secret))
    settings = load_settings(tmp_path)
    assert settings.smtp_password is not None
    assert settings.smtp_password.get_secret_value() == "s3cret"
    assert "s3cret" not in repr(settings)


def test_bad_value_names_its_source(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("EARLYWARN_SMTP_SECURITY", "tls")
    with pytest.raises(SettingsError, match="EARLYWARN_SMTP_SECURITY"):
        load_settings(tmp_path)


def test_unknown_setting_in_file_is_refused(tmp_path: Path) -> None:
    (tmp_path / "earlywarn.toml").write_text("digest_max_studnets = 3\n")
    with pytest.raises(SettingsError, match="digest_max_studnets"):
        load_settings(tmp_path)


def test_bad_toml_is_one_clear_error(tmp_path: Path) -> None:
    (tmp_path / "earlywarn.toml").write_text("digest_max_students = = 3\n")
    with pytest.raises(SettingsError, match=r"earlywarn\.toml: not valid TOML"):
        load_settings(tmp_path)


def test_settings_are_frozen(tmp_path: Path) -> None:
    settings = load_settings(tmp_path)
    with pytest.raises(ValueError, match="frozen"):
        settings.seed = 1  # type: ignore[misc]


def test_every_setting_is_documented_in_the_readme() -> None:
    text = README.read_text(encoding="utf-8")
    documented = set(re.findall(r"`EARLYWARN_([A-Z_]+)`", text))
    missing = sorted(n for n in Settings.model_fields if n.upper() not in documented)
    assert not missing, f"settings missing from the README's settings table: {missing}"


def _documented_value(text: str) -> object:
    """A default as the docs write it: unset -> None, true/false, numbers, else the text."""
    text = text.strip().strip("`")
    if text == "unset":
        return None
    if text in ("true", "false"):
        return text == "true"
    try:
        return float(text)
    except ValueError:
        return text


def _setting_default(name: str) -> object:
    value = Settings.model_fields[name].default
    if isinstance(value, bool) or value is None:
        return value
    if isinstance(value, int | float):
        return float(value)
    return str(value)


def test_the_readme_and_the_operations_guide_state_the_settings_own_defaults() -> None:
    """An operator who sets nothing gets what the docs say (tier_medium once read 0.3 there)."""
    rows = re.findall(
        r"^\| `(\w+)` \| `EARLYWARN_\w+` \| ([^|]+) \|", README.read_text("utf-8"), re.M
    )
    computed = {"home", "database_url"}  # defaults that depend on where earlywarn runs
    checked = {name: value for name, value in rows if name not in computed}
    assert {"tier_high", "tier_medium", "drift_psi_warning"} <= set(checked)
    for name, value in checked.items():
        assert _documented_value(value) == _setting_default(name), f"README: {name}"
    operations = (README.parent / "docs" / "operations.md").read_text("utf-8")
    mentions = re.findall(r"`(\w+)`[^`(]{0,20}\(default ([^)]+)\)", operations)
    assert {"tier_high", "tier_medium", "digest_max_students"} <= {n for n, _ in mentions}
    for name, value in mentions:
        assert _documented_value(value) == _setting_default(name), f"docs/operations.md: {name}"
