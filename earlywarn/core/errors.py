"""The exceptions earlywarn raises.

Every error a user can meet is an :class:`EarlyWarnError`. Its message says what was wrong, where
(file, table, column, row) and what to do. Library code raises; only the CLI prints and exits, with
``exit_code`` (2 for bad input or usage, 1 for everything else).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal


class EarlyWarnError(Exception):
    """Base class of every error earlywarn reports to a user."""

    exit_code = 1


class SettingsError(EarlyWarnError):
    """A setting in ``earlywarn.toml`` or an ``EARLYWARN_*`` variable is invalid."""

    exit_code = 2


class UsageError(EarlyWarnError):
    """A command was called with arguments that cannot work (a missing folder, a bad date)."""

    exit_code = 2


@dataclass(frozen=True)
class Problem:
    """One broken rule of the data contract, located as precisely as the source allows.

    ``row`` is the 1-based line number in a CSV file (the header is line 1) or the 0-based row
    index in a Parquet file; ``None`` when the problem concerns a whole file or column.
    """

    file: str
    rule: str
    row: int | None = None
    column: str | None = None
    value: str | None = None

    def __str__(self) -> str:
        where = self.file
        if self.row is not None:
            where += f", {'line' if self.file.endswith('.csv') else 'row'} {self.row}"
        if self.column is not None:
            where += f", column {self.column}"
        shown = ""
        if self.value is not None:
            value = self.value if len(self.value) <= 60 else self.value[:57] + "..."
            shown = f" (value {value!r})"
        return f"{where}: {self.rule}{shown}"


class ContractError(EarlyWarnError):
    """The data folder breaks the data contract (CONTRACT.md)."""

    exit_code = 2

    def __init__(self, problems: list[Problem], *, cap: int = 50) -> None:
        self.problems = problems
        shown = [str(p) for p in problems[:cap]]
        if len(problems) > cap:
            shown.append(f"... and {len(problems) - cap} more problems")
        super().__init__("\n".join(shown))


class DataFolderError(EarlyWarnError):
    """The data folder cannot be read at all (missing, unreadable, not UTF-8, empty file)."""

    exit_code = 2


class RegistryError(EarlyWarnError):
    """The model registry cannot give what was asked (no champion, a model that fails to load)."""


class MissingModelError(RegistryError):
    """The registry has no model under the alias a command needs (no champion, no challenger).

    A step the user runs first (``earlywarn train``, ``earlywarn promote``), so exit code 2.
    """

    exit_code = 2


class DeliveryError(EarlyWarnError):
    """Email could not be built or handed to the mail server."""


class SchedulerError(EarlyWarnError):
    """The scheduler cannot start or run (another scheduler holds the lock)."""


class TemplateError(EarlyWarnError):
    """A template (shipped or an institution's override) failed to render."""


class StateError(EarlyWarnError):
    """The state database cannot give or take what was asked (an unscored week, bad rows)."""


class UnscoredWeekError(StateError):
    """A digest was asked for a week that has not been scored: run ``earlywarn score`` first."""

    exit_code = 2


class NoAnalysisRows(EarlyWarnError):
    """No first-term student has a known first-year label yet."""

    exit_code = 2


class DriverNotMeasurable(EarlyWarnError):
    """The data cannot estimate this driver (no variation left, too few rows or programs)."""


class LinkRefused(EarlyWarnError):
    """A link that is tampered with, expired or of the wrong kind (``reason`` says which)."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


#: How far a failed send got (:class:`SendError`).
Stage = Literal["connect", "envelope", "content"]


class SendError(Exception):
    """Not a user-facing error: the mail transport's signal to the delivery queue, which
    turns it into a deferral, a failure or a :class:`DeliveryError`. A send that failed at
    ``stage``: ``connect`` (no session: connection, greeting, TLS, login), ``envelope`` (MAIL,
    RCPT, DATA before the content went out) or ``content`` (the message was handed over and the
    server's answer did not arrive or was a refusal)."""

    def __init__(self, stage: Stage, cause: BaseException) -> None:
        super().__init__(f"{stage}: {cause!r}")
        self.stage: Stage = stage
        self.cause = cause
