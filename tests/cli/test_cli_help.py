"""What a first-time operator reads: every verb's --help (a summary that is not cut off, every
option explained, examples kept on lines of their own, --json where a machine reads the output)
and the progress of long commands (on stderr, for a person at a terminal, never in --json)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import click
import pytest
from click.testing import CliRunner

from earlywarn.cli import COMMANDS, cli, main
from earlywarn.core.settings import Settings

# Verbs whose output a script reads: they must offer --json.
MACHINE_READ = {
    "validate",
    "import oulad",
    "train",
    "promote",
    "drivers",
    "score",
    "digest",
    "status",
    "scheduler run",
}


def all_commands() -> Iterator[tuple[str, click.Command]]:
    """Every verb and sub-verb, by its full name ('import oulad')."""
    ctx = click.Context(cli)
    for verb in COMMANDS:
        command = cli.get_command(ctx, verb)
        assert command is not None
        yield verb, command
        if isinstance(command, click.Group):
            for name, sub in command.commands.items():
                yield f"{verb} {name}", sub


COMMAND_NAMES = [name for name, _ in all_commands()]


def help_of(name: str) -> str:
    result = CliRunner().invoke(cli, [*name.split(), "--help"], terminal_width=100)
    assert result.exit_code == 0, result.output
    return result.output


@pytest.mark.parametrize("name", COMMAND_NAMES)
def test_every_option_is_explained(name: str) -> None:
    command = dict(all_commands())[name]
    unexplained = [
        param.name
        for param in command.params
        if isinstance(param, click.Option) and not param.help and param.name != "help"
    ]
    assert unexplained == [], f"earlywarn {name}: options without help: {unexplained}"


@pytest.mark.parametrize("name", COMMAND_NAMES)
def test_examples_stay_on_lines_of_their_own(name: str) -> None:
    examples = [line for line in help_of(name).splitlines() if line.startswith("    earlywarn ")]
    assert examples, f"earlywarn {name} --help has no example line of its own (missing \\b?)"


def test_no_summary_is_cut_off_in_a_listing() -> None:
    listings = [help_of("")] + [help_of(name) for name in ("import", "scheduler")]
    for listing in listings:
        commands = listing.split("Commands:", 1)[1]
        assert "..." not in commands, commands


@pytest.mark.parametrize("name", sorted(MACHINE_READ))
def test_machine_read_output_has_json(name: str) -> None:
    assert "--json" in help_of(name)


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        (
            "score",
            "Score as of this instant (ISO 8601; without an offset it is UTC). Default: now.",
        ),
        (
            "digest",
            "The week to send: any instant in it (ISO 8601; without an offset it is UTC). "
            "Default: now.",
        ),
        (
            "features",
            "Compute the features as of this instant (ISO 8601; without an offset it is UTC).",
        ),
    ],
)
def test_as_of_says_how_the_instant_is_read_and_its_default(name: str, expected: str) -> None:
    command = dict(all_commands())[name]
    (as_of,) = [p for p in command.params if isinstance(p, click.Option) and p.name == "as_of"]
    assert as_of.help == expected
    assert as_of.metavar == "T"
    assert as_of.required == (name == "features")


def test_promote_says_what_it_checks_at_a_terminal_and_json_stays_clean(
    champion_home: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from earlywarn.commands import progress

    monkeypatch.setattr(progress, "interactive", lambda: True)
    with pytest.raises(SystemExit) as exited:
        main(["--home", str(champion_home), "promote", "--json"])
    assert exited.value.code == 0
    out, err = capsys.readouterr()
    assert json.loads(out)["status"] == "unchanged"  # the challenger is already the champion
    assert err.splitlines() == [
        "checking the challenger against the champion on the challenger's test cohort"
    ]


@pytest.mark.parametrize("at_a_terminal", [True, False])
def test_progress_goes_to_stderr_at_a_terminal_and_json_stays_clean(
    at_a_terminal: bool,
    champion_home: Path,
    scoring_settings: Settings,
    small_institution: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from earlywarn.commands import progress

    monkeypatch.setattr(progress, "interactive", lambda: at_a_terminal)
    monkeypatch.setenv("EARLYWARN_DATABASE_URL", scoring_settings.state_url)
    argv = ["--home", str(champion_home), "score", str(small_institution)]
    with pytest.raises(SystemExit) as exited:
        main([*argv, "--as-of", "2026-10-05T07:00Z", "--json"])
    assert exited.value.code == 0
    out, err = capsys.readouterr()
    rows = json.loads(out)  # stdout is exactly one JSON document
    assert rows
    assert {"student_id", "risk", "tier", "reasons"} <= set(rows[0])
    steps = [line for line in err.splitlines() if not line.startswith("20")]  # not log lines
    if at_a_terminal:
        assert steps == [
            f"loading and validating {small_institution}",
            "scoring every first-term student with the champion model",
        ]
    else:
        assert steps == []
