"""Names and contact for the pages, from ``Settings.data_dir`` when it is set."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from earlywarn.core.settings import Settings
    from earlywarn.digest.selection import Roster


def current_roster(settings: Settings) -> Roster | None:
    """Who advises whom now (``None`` without a data folder: pages show ids only)."""
    if settings.data_dir is None:
        return None
    from earlywarn.contract import load_tables
    from earlywarn.core.time import now
    from earlywarn.digest.selection import roster_from_tables

    return roster_from_tables(load_tables(settings.data_dir), now())
