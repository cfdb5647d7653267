"""Logging for the CLI and the scheduler: quiet by default, JSON for a service manager.

By default only warnings, errors and each job's one-line summary (logger
:data:`SUMMARY_LOGGER`) are written; ``-v`` adds what happens step by step (INFO), ``-vv``
everything (DEBUG). ``--log-format json`` writes one JSON object per line (time, level, logger,
message), which journald, Docker and most log collectors parse as is. Logs carry ids, never
names, addresses or secrets.
"""

from __future__ import annotations

import json
import logging
import sys
from datetime import UTC, datetime
from typing import Literal

LogFormat = Literal["text", "json"]
SUMMARY_LOGGER = "earlywarn.summary"
TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"
_HANDLER_NAME = "earlywarn-stderr"


class JsonFormatter(logging.Formatter):
    """One JSON object per record: ``time`` (UTC, ISO 8601), ``level``, ``logger``, ``message``
    and, for a failure, ``exception``."""

    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry, ensure_ascii=False)


def level_for(verbosity: int) -> int:
    """0: warnings; 1 (``-v``): info; 2 or more (``-vv``): debug."""
    return {0: logging.WARNING, 1: logging.INFO}.get(verbosity, logging.DEBUG)


def configure_logging(verbosity: int = 0, log_format: LogFormat = "text") -> None:
    """Send log records to stderr in ``log_format``; replaces a handler an earlier call installed
    and leaves other handlers (a test's capture, an embedding application's) alone."""
    handler = logging.StreamHandler(sys.stderr)
    handler.set_name(_HANDLER_NAME)
    formatter = JsonFormatter() if log_format == "json" else logging.Formatter(TEXT_FORMAT)
    handler.setFormatter(formatter)
    root = logging.getLogger()
    for old in [h for h in root.handlers if h.get_name() == _HANDLER_NAME]:
        root.removeHandler(old)
    root.addHandler(handler)
    level = level_for(verbosity)
    root.setLevel(level)
    # Each job's one-line summary is written at every verbosity.
    logging.getLogger(SUMMARY_LOGGER).setLevel(min(level, logging.INFO))
    if verbosity < 2:
        # Libraries' own INFO lines (MLflow's migrations, APScheduler's job adds) only with -vv.
        for noisy in ("mlflow", "apscheduler", "alembic", "urllib3"):
            logging.getLogger(noisy).setLevel(max(level, logging.WARNING))


def summary_logger() -> logging.Logger:
    """The logger of each job's one-line summary (shown at every verbosity)."""
    return logging.getLogger(SUMMARY_LOGGER)
