"""Bad input at the command line: one clear line on stderr, exit code 2, nothing half-written.

The commands run through :func:`earlywarn.cli.main` (the console script's entry point, which
turns errors into exit codes), in-process where that is enough and as ``python -m earlywarn``
subprocesses where a traceback could only show there. Exit code 1 stays for failures that are not
the user's input (an SMTP server down: tests/test_digest_run.py).
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from earlywarn.cli import main
from earlywarn.core.settings import Settings
from tests.factories import minimal_institution, write_institution

Outcome = tuple[int, str, str]


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> Outcome:
    """Exit code, stdout and stderr of ``earlywarn ARGV`` as the console script runs it."""
    with pytest.raises(SystemExit) as exited:
        main(list(argv))
    out, err = capsys.readouterr()
    code = exited.value.code
    return (code if isinstance(code, int) else 0), out, err


def one_error_line(err: str) -> str:
    """The single ``error: ...`` line a user sees (progress lines may come before it)."""
    assert "Traceback" not in err
    errors = [line for line in err.splitlines() if line.startswith("error: ")]
    assert len(errors) == 1, err
    return errors[0]


@pytest.fixture(autouse=True)
def at_a_terminal(monkeypatch: pytest.MonkeyPatch) -> None:
    """Progress lines on, as for a person at a terminal: an error must still stand out, and a
    refusal before any work shows no progress at all."""
    from earlywarn.commands import progress

    monkeypatch.setattr(progress, "interactive", lambda: True)


@pytest.fixture(scope="module")
def tiny(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A five-student contract folder (first terms from 2023-07-03 to 2023-12-15)."""
    return write_institution(tmp_path_factory.mktemp("tiny"), minimal_institution())


@pytest.fixture
def home(tmp_path: Path) -> Path:
    folder = tmp_path / "home"
    folder.mkdir()
    return folder


@pytest.fixture
def a_file(tmp_path: Path) -> Path:
    path = tmp_path / "notes.txt"
    path.write_text("not a folder\n")
    return path


# --- data folders ---------------------------------------------------------------------------


@pytest.mark.parametrize("verb", ["score", "digest", "drivers"])
def test_a_missing_data_folder_is_named(
    capsys: pytest.CaptureFixture[str], home: Path, tmp_path: Path, verb: str
) -> None:
    code, out, err = run(capsys, "--home", str(home), verb, str(tmp_path / "nope"))
    assert code == 2
    assert one_error_line(err) == (
        f"error: {tmp_path / 'nope'}: no such folder; pass the data folder that holds the tables"
    )
    assert out == ""


@pytest.mark.parametrize("verb", ["score", "validate", "features"])
def test_a_file_instead_of_a_folder_says_so(
    capsys: pytest.CaptureFixture[str], home: Path, a_file: Path, tmp_path: Path, verb: str
) -> None:
    extra = (
        ["--as-of", "2023-10-02", "--out", str(tmp_path / "f.csv")] if verb == "features" else []
    )
    code, _, err = run(capsys, "--home", str(home), verb, str(a_file), *extra)
    assert code == 2
    assert f"{a_file}: not a folder" in one_error_line(err)


# --- instants ---------------------------------------------------------------------------------


@pytest.mark.parametrize("text", ["yesterday", "2026-13-01", "2026-10-05T25:00"])
@pytest.mark.parametrize("verb", ["score", "digest", "train"])
def test_a_bad_as_of_is_refused_before_any_work(
    capsys: pytest.CaptureFixture[str], home: Path, tiny: Path, verb: str, text: str
) -> None:
    code, out, err = run(capsys, "--home", str(home), verb, str(tiny), "--as-of", text)
    assert code == 2
    line = one_error_line(err)
    assert line.startswith(f"error: --as-of: {text!r} is not an ISO 8601 date or instant")
    assert "2026-10-05" in line  # an example of what works
    assert out == ""
    assert not (home / "earlywarn.db").exists()


def test_features_as_of_outside_every_first_term_writes_nothing(
    capsys: pytest.CaptureFixture[str], home: Path, tiny: Path, tmp_path: Path
) -> None:
    out_file = tmp_path / "features.parquet"
    for when, word in (("1990-01-01", "before"), ("2031-06-01T12:00Z", "after")):
        code, _, err = run(
            capsys, "--home", str(home), "features", str(tiny), "--as-of", when,
            "--out", str(out_file),
        )  # fmt: skip
        assert code == 2
        line = one_error_line(err)
        assert f"is {word} every first term in {tiny}" in line
        assert "first terms run from 2023-07-03 to 2023-12-15" in line
    assert list(tmp_path.glob("*features*")) == []


def test_an_as_of_long_after_the_last_time_stamp_is_stale_data(
    capsys: pytest.CaptureFixture[str], home: Path, tiny: Path, tmp_path: Path
) -> None:
    # Inside the first terms, but 25 days after the last submission or activity in the folder:
    # every student would look inactive, and every advisor would hear that all are at risk.
    code, _, err = run(
        capsys, "--home", str(home), "features", str(tiny), "--as-of", "2023-12-01",
        "--out", str(tmp_path / "features.csv"),
    )  # fmt: skip
    assert code == 2
    line = one_error_line(err)
    assert "is 24 days after the last time stamp in" in line
    assert "(2023-11-06 13:30 UTC)" in line
    assert "refresh the data folder" in line
    assert not (tmp_path / "features.csv").exists()
    # Within two weeks of it the features are written.
    code, _, _ = run(
        capsys, "--home", str(home), "features", str(tiny), "--as-of", "2023-11-13",
        "--out", str(tmp_path / "features.csv"),
    )  # fmt: skip
    assert code == 0
    assert (tmp_path / "features.csv").is_file()


def test_scoring_before_any_data_stores_no_week(
    capsys: pytest.CaptureFixture[str],
    champion_home: Path,
    scoring_settings: Settings,
    small_institution: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from earlywarn.state import latest_run, open_state

    monkeypatch.setenv("EARLYWARN_DATABASE_URL", scoring_settings.state_url)
    code, out, err = run(
        capsys, "--home", str(champion_home), "score", str(small_institution),
        "--as-of", "1990-01-01", "--json",
    )  # fmt: skip
    assert code == 2
    assert "is before every first term" in one_error_line(err)
    assert out == ""  # --json prints nothing rather than an empty list
    engine = open_state(scoring_settings.state_url)
    try:
        assert latest_run(engine) is None
    finally:
        engine.dispose()


# --- steps not run yet --------------------------------------------------------------------------


def test_score_without_a_champion_says_what_to_run_and_creates_nothing(
    capsys: pytest.CaptureFixture[str], home: Path, tiny: Path
) -> None:
    code, _, err = run(capsys, "--home", str(home), "score", str(tiny), "--as-of", "2023-10-02")
    assert code == 2
    assert one_error_line(err).startswith(
        "error: no champion model: run earlywarn train DIR then earlywarn promote"
    )
    assert list(home.iterdir()) == []


def test_promote_without_a_challenger_says_what_to_run(
    capsys: pytest.CaptureFixture[str], home: Path
) -> None:
    code, _, err = run(capsys, "--home", str(home), "promote")
    assert code == 2
    assert "no challenger model" in one_error_line(err)
    assert "run earlywarn train DIR first" in err


def test_digest_for_an_unscored_week_says_what_to_run(
    capsys: pytest.CaptureFixture[str], home: Path, tiny: Path
) -> None:
    code, out, err = run(capsys, "--home", str(home), "digest", str(tiny), "--as-of", "2023-10-04")
    assert code == 2
    assert one_error_line(err) == (
        f"error: the week of 2023-10-02 has not been scored; run earlywarn score {tiny} "
        "--as-of 2023-10-04 first"
    )
    assert not (home / "outbox").exists()
    assert out == ""


def test_status_of_a_missing_home_is_refused_and_an_empty_home_stays_empty(
    capsys: pytest.CaptureFixture[str], home: Path, tmp_path: Path
) -> None:
    code, _, err = run(capsys, "--home", str(tmp_path / "typo"), "status")
    assert code == 2
    assert "no such home folder" in one_error_line(err)
    assert not (tmp_path / "typo").exists()

    code, out, _ = run(capsys, "--home", str(home), "status")
    assert code == 0
    assert "champion model: none" in out
    assert list(home.iterdir()) == []  # status only reads: no state database appears


# --- output paths ---------------------------------------------------------------------------


def test_features_out_must_be_a_csv_or_parquet_file_in_an_existing_folder(
    capsys: pytest.CaptureFixture[str], home: Path, tiny: Path, tmp_path: Path, a_file: Path
) -> None:
    cases = {
        tmp_path / "features.txt": "must end in .parquet or .csv",
        tmp_path / "missing" / "features.csv": f"the folder {tmp_path / 'missing'} does not exist",
        a_file / "features.csv": f"{a_file} is not a folder",
    }
    for out_path, expected in cases.items():
        code, _, err = run(
            capsys, "--home", str(home), "features", str(tiny), "--as-of", "2023-10-02",
            "--out", str(out_path),
        )  # fmt: skip
        assert code == 2, out_path
        assert expected in one_error_line(err), out_path
    assert not (tmp_path / "missing").exists()
    assert not (tmp_path / "features.txt").exists()


def test_drivers_checks_its_out_before_the_analysis(
    capsys: pytest.CaptureFixture[str], home: Path, tiny: Path, tmp_path: Path
) -> None:
    code, _, err = run(
        capsys, "--home", str(home), "drivers", str(tiny), "--no-mlflow",
        "--out", str(tmp_path / "report.txt"),
    )  # fmt: skip
    assert code == 2
    assert (
        one_error_line(err) == f"error: --out: {tmp_path / 'report.txt'} must end in .html or .htm"
    )
    assert "loading" not in err  # refused before any work


def test_generate_into_a_path_under_a_file_is_refused(
    capsys: pytest.CaptureFixture[str], home: Path, a_file: Path
) -> None:
    code, _, err = run(
        capsys, "--home", str(home), "generate", "--out", str(a_file / "inst"), "--students",
        "300", "--programs", "1",
    )  # fmt: skip
    assert code == 2
    assert f"{a_file} is a file, not a folder" in one_error_line(err)
    assert "simulating" not in err


def test_generate_into_an_existing_folder_is_refused_before_simulating(
    capsys: pytest.CaptureFixture[str], home: Path, tmp_path: Path
) -> None:
    taken = tmp_path / "taken"
    taken.mkdir()
    (taken / "notes.txt").write_text("mine\n")
    for force in ([], ["--force"]):  # --force replaces only generated (or empty) folders
        code, out, err = run(
            capsys, "--home", str(home), "generate", "--out", str(taken), "--students", "300",
            "--programs", "1", *force,
        )  # fmt: skip
        assert code == 2
        assert one_error_line(err).startswith(f"error: {taken} already exists; pass --force")
        assert "simulating" not in err  # refused before the (long) simulation
        assert out == ""
    assert [p.name for p in taken.iterdir()] == ["notes.txt"]


@pytest.mark.parametrize(
    ("option", "expected"),
    [
        (["--seed", "-1"], "Invalid value for '--seed': -1 is not in the range x>=0."),
        (["--today", "9999-12-01"], "error: --today 9999-12-01 is out of range; pick a day"),
        (["--today", "0001-06-01"], "error: --today 0001-06-01 is out of range; pick a day"),
    ],
)
def test_generate_refuses_a_seed_or_today_it_cannot_use(
    capsys: pytest.CaptureFixture[str], home: Path, tmp_path: Path, option: list[str], expected: str
) -> None:
    code, _, err = run(
        capsys, "--home", str(home), "generate", "--out", str(tmp_path / "inst"), "--students",
        "300", "--programs", "1", *option,
    )  # fmt: skip
    assert code == 2
    assert "Traceback" not in err
    assert expected in err.splitlines()[-1]
    assert not (tmp_path / "inst").exists()


def test_promote_list_with_force_is_a_usage_error(
    capsys: pytest.CaptureFixture[str], home: Path
) -> None:
    code, out, err = run(capsys, "--home", str(home), "promote", "--list", "--force")
    assert code == 2
    assert err.splitlines()[-1] == "Error: --force does not go with --list (--list only reads)"
    assert out == ""


def test_drivers_on_a_folder_without_known_outcomes_says_what_is_missing(
    capsys: pytest.CaptureFixture[str], home: Path, tmp_path: Path
) -> None:
    frames = minimal_institution()
    later = {"T-NY-2024W", "T-NY-2024F", "T-IN-2024J"}  # every term after the first terms
    for name, frame in list(frames.items()):
        if "term_id" in frame.columns:
            frames[name] = frame[~frame["term_id"].isin(later)]
    del frames["outcomes"]
    folder = write_institution(tmp_path / "no-outcomes", frames)
    code, out, err = run(capsys, "--home", str(home), "drivers", str(folder), "--no-mlflow")
    assert code == 2
    line = one_error_line(err)
    assert "no first-term student has a known first-year label yet" in line
    assert "add later terms or an outcomes table" in line
    assert out == ""
    assert not (home / "reports").exists()


def test_import_oulad_on_a_folder_that_is_not_oulad(
    capsys: pytest.CaptureFixture[str], home: Path, tiny: Path, tmp_path: Path
) -> None:
    code, _, err = run(
        capsys, "--home", str(home), "import", "oulad", str(tiny), "--out", str(tmp_path / "o")
    )
    assert code == 2
    assert "OULAD" in one_error_line(err)
    assert not (tmp_path / "o").exists()


def test_import_oulad_from_a_file_says_it_is_not_a_folder(
    capsys: pytest.CaptureFixture[str], home: Path, a_file: Path, tmp_path: Path
) -> None:
    code, _, err = run(
        capsys, "--home", str(home), "import", "oulad", str(a_file), "--out", str(tmp_path / "o")
    )
    assert code == 2
    assert one_error_line(err) == (
        f"error: {a_file}: not a folder; pass the folder that holds the OULAD CSVs"
    )
    assert not (tmp_path / "o").exists()


# --- settings ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("variable", "value", "expected"),
    [
        ("EARLYWARN_SMTP_PORT", "abc", "EARLYWARN_SMTP_PORT: smtp_port: Input should be a valid"),
        ("EARLYWARN_SMTP_SECURITY", "tls", "EARLYWARN_SMTP_SECURITY: smtp_security:"),
        ("EARLYWARN_SMTP_HOTS", "mail.uni.example", "EARLYWARN_SMTP_HOTS: no such setting"),
        ("EARLYWARN_TIER_HIGH", "0.2", "tier_medium (0.4) must be below tier_high (0.2)"),
        ("EARLYWARN_SCHEDULE_TIMEZONE", "Mars/Base", "'Mars/Base' is not an IANA time zone"),
        ("EARLYWARN_RETRAIN_SCHEDULE", "someday", "'someday' is not 'DAY HH:MM'"),
        ("EARLYWARN_TEMPLATES_DIR", "no-such-templates", "no-such-templates is not a folder"),
        ("EARLYWARN_DATABASE_URL", "nonsense://x", "cannot use this database URL"),
    ],
)
def test_a_bad_setting_names_its_variable(
    capsys: pytest.CaptureFixture[str],
    home: Path,
    monkeypatch: pytest.MonkeyPatch,
    variable: str,
    value: str,
    expected: str,
) -> None:
    monkeypatch.setenv(variable, value)
    monkeypatch.setenv("EARLYWARN_SMTP_PASSWORD", "hunter2-secret")
    code, out, err = run(capsys, "--home", str(home), "status")
    assert code == 2
    line = one_error_line(err)
    assert expected in line
    assert "hunter2-secret" not in err + out
    assert "fix or unset it; fix or unset it" not in line


def test_a_bad_value_in_earlywarn_toml_names_the_file(
    capsys: pytest.CaptureFixture[str], home: Path
) -> None:
    (home / "earlywarn.toml").write_text('[smtp]\nport = "abc"\n')
    code, _, err = run(capsys, "--home", str(home), "status")
    assert code == 2
    assert f"{home / 'earlywarn.toml'}: smtp_port:" in one_error_line(err)
    assert "(got 'abc')" in err


def test_a_database_url_with_a_password_is_never_shown(
    capsys: pytest.CaptureFixture[str], home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("EARLYWARN_DATABASE_URL", "postgresql://ew:pa55word@db:notaport/ew")
    code, _, err = run(capsys, "--home", str(home), "status")
    assert code == 2
    assert "pa55word" not in err


def test_relative_folders_in_settings_are_read_against_the_home(
    home: Path, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    from earlywarn.core.settings import load_settings

    (home / "my-templates").mkdir()
    monkeypatch.chdir(tmp_path)
    (home / "earlywarn.toml").write_text('templates_dir = "my-templates"\ndata_dir = "data"\n')
    settings = load_settings(home)
    assert settings.templates_dir == home / "my-templates"
    assert settings.data_dir == home / "data"


def test_a_data_dir_setting_that_is_not_a_folder_names_the_setting(
    capsys: pytest.CaptureFixture[str], home: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("EARLYWARN_DATA_DIR", str(tmp_path / "nope"))
    code, _, err = run(capsys, "--home", str(home), "scheduler", "run", "--once", "--no-send")
    assert code == 2
    assert one_error_line(err).startswith(
        f"error: data_dir (EARLYWARN_DATA_DIR or earlywarn.toml): {tmp_path / 'nope'} is not"
    )


# --- the real entry point -----------------------------------------------------------------------


def _earlywarn(*argv: str, cwd: Path, **env: str) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("EARLYWARN_")}
    return subprocess.run(
        [sys.executable, "-m", "earlywarn", *argv],
        capture_output=True,
        text=True,
        cwd=cwd,
        env={**clean, **env},
        timeout=120,
    )


def test_an_unusable_home_is_one_line_not_a_traceback(tmp_path: Path, a_file: Path) -> None:
    proc = _earlywarn("--home", str(a_file / "home"), "scheduler", "run", "--once", cwd=tmp_path)
    assert proc.returncode == 2
    assert "Traceback" not in proc.stderr
    assert proc.stderr.splitlines()[-1].startswith(f"error: {a_file / 'home'}")


def test_a_bad_environment_variable_through_the_console_entry_point(tmp_path: Path) -> None:
    proc = _earlywarn("status", cwd=tmp_path, EARLYWARN_SMTP_PORT="abc")
    assert proc.returncode == 2
    assert proc.stdout == ""
    assert proc.stderr.splitlines() == [
        "error: EARLYWARN_SMTP_PORT: smtp_port: Input should be a valid integer, unable to parse "
        "string as an integer (got 'abc'); fix or unset it"
    ]
