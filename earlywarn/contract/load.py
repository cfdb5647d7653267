"""The one entry point the rest of the project uses to read a data folder: read, validate, build."""

from __future__ import annotations

from pathlib import Path

from earlywarn.contract.tables import Tables
from earlywarn.contract.validate import validate_folder
from earlywarn.core.errors import ContractError, DataFolderError


def load_tables(folder: Path | str) -> Tables:
    """Load and validate a data folder: the typed tables, or an error listing every problem.

    Raises :class:`~earlywarn.core.errors.DataFolderError` when the folder cannot be read at all
    and :class:`~earlywarn.core.errors.ContractError` when the data breaks the contract.
    """
    report = validate_folder(Path(folder))
    if report.tables is None:
        if report.unreadable:
            raise DataFolderError("\n".join(str(p) for p in report.problems))
        raise ContractError(report.problems)
    return report.tables
