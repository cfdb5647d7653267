"""The ``earlywarn`` command line: one group, verb subcommands loaded on demand.

Each verb lives in ``earlywarn/commands/<verb>.py`` as a click command named ``command``. Nothing
heavy is imported until a verb runs, so ``earlywarn --help`` stays instant. Errors that users can
cause arrive as :class:`~earlywarn.core.errors.EarlyWarnError` and leave as one line and an exit
code.
"""

from __future__ import annotations

import importlib
import sys
from typing import Any

import click

from earlywarn.core.errors import EarlyWarnError

# verb -> (module under earlywarn.commands, one-line help shown by `earlywarn --help`)
COMMANDS: dict[str, tuple[str, str]] = {
    "demo": ("demo", "Run the whole system on a generated demo institution."),
    "generate": ("generate", "Write a synthetic institution that knows its own truth."),
    "validate": ("validate", "Check a data folder against the data contract."),
    "import": ("importers", "Convert a public data set (OULAD) into a contract folder."),
    "features": ("features", "Write the point-in-time first-term features as of an instant."),
    "train": ("train", "Fit, evaluate and register a retention model."),
    "promote": ("promote", "Make the challenger model the champion if it is at least as good."),
    "drivers": ("drivers", "Measure what drives retention in an institution's own data."),
    "score": ("score", "Score every first-term student with the champion model."),
    "digest": ("digest", "Build (and send) each advisor's weekly digest of at-risk students."),
    "scheduler": ("scheduler", "Run the weekly scoring, digest and retraining schedule."),
    "status": ("status", "Show the champion model, last runs, deliveries and drift."),
    "check": ("check", "Check settings, mail server, data, model, database and schedule."),
    "serve": ("serve", "Serve the pages advisors open from their digest's links."),
    "feedback": ("feedback", "List what advisors recorded from their digest, newest first."),
    "impact": ("impact", "Estimate the digests' effect on retention from the holdout."),
}


class LazyGroup(click.Group):
    """A click group whose subcommands are imported only when used."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return list(COMMANDS)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name not in COMMANDS:
            return None
        module = importlib.import_module(f"earlywarn.commands.{COMMANDS[cmd_name][0]}")
        command: click.Command = module.command
        return command

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        rows = [(name, help_text) for name, (_, help_text) in COMMANDS.items()]
        with formatter.section("Commands"):
            formatter.write_dl(rows)


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.option(
    "--home",
    type=click.Path(file_okay=False, path_type=str),
    envvar="EARLYWARN_HOME",
    default=None,
    help="Folder that holds all state (default: the current directory, or $EARLYWARN_HOME).",
)
@click.option(
    "-v",
    "--verbose",
    count=True,
    help="Log what happens step by step (-v), or everything (-vv). Default: warnings and a "
    "one-line summary per job.",
)
@click.option(
    "--log-format",
    type=click.Choice(["text", "json"]),
    default="text",
    show_default=True,
    help="json: one JSON object per log line, for a service manager or log collector.",
)
@click.version_option(package_name="earlywarn")
@click.pass_context
def cli(ctx: click.Context, home: str | None, verbose: int, log_format: str) -> None:
    """earlywarn: weekly early warnings of first-year attrition for online degree programs.

    \b
    Try it:
      earlywarn demo                      # the whole system on a generated institution
      earlywarn validate path/to/data     # check an institution's data folder
      earlywarn check                     # is everything the weekly run needs in place?
    """
    from earlywarn.core.logs import configure_logging

    configure_logging(verbose, "json" if log_format == "json" else "text")
    ctx.obj = AppContext(home)


class AppContext:
    """What every command receives: the home folder and, loaded once on first use, the settings."""

    def __init__(self, home: str | None) -> None:
        self._home = home
        self._settings: Any = None

    @property
    def settings(self) -> Any:
        if self._settings is None:
            from earlywarn.core.settings import load_settings

            self._settings = load_settings(self._home)
        return self._settings


def _os_error_text(exc: OSError) -> str:
    where = f"{exc.filename}: " if exc.filename else ""
    return f"{where}{exc.strerror or exc}"


def main(argv: list[str] | None = None) -> None:
    """Console-script entry point: known errors become one line on stderr and an exit code."""
    try:
        # With standalone_mode=False click returns a command's ctx.exit(code) instead of exiting.
        code = cli.main(args=argv, prog_name="earlywarn", standalone_mode=False)
    except EarlyWarnError as exc:
        click.echo(f"error: {exc}", err=True)
        sys.exit(exc.exit_code)
    except click.exceptions.Abort:
        click.echo("aborted", err=True)
        sys.exit(130)
    except click.ClickException as exc:
        exc.show()
        sys.exit(exc.exit_code)
    except click.exceptions.Exit as exc:
        sys.exit(exc.exit_code)
    except (FileNotFoundError, NotADirectoryError, IsADirectoryError, PermissionError) as exc:
        # A path the user gave (--home, an output) cannot be used: their input, so exit 2.
        click.echo(f"error: {_os_error_text(exc)}; check the path and its permissions", err=True)
        sys.exit(2)
    except OSError as exc:  # a full disk, a dropped network mount: not the user's input
        click.echo(f"error: {_os_error_text(exc)}", err=True)
        sys.exit(1)
    sys.exit(code if isinstance(code, int) else 0)


if __name__ == "__main__":  # pragma: no cover
    main()
