"""The one Jinja2 environment: institution templates first, the shipped defaults behind them.

Autoescaping is on for every template except plain-text ones (``*.txt``), where escaping would
show ``&amp;`` to the reader; ``StrictUndefined`` turns a missing variable into an error instead
of a blank in someone's inbox.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import jinja2

DEFAULT_TEMPLATES = Path(__file__).parent.parent / "default_templates"


def _autoescape(name: str | None) -> bool:
    return not (name or "").endswith(".txt")


def percent(value: float) -> str:
    """A probability as a whole percentage: 0.625 -> '63%' (never '0%' for a nonzero risk)."""
    shown = round(float(value) * 100)
    if shown == 0 and value > 0:
        return "<1%"
    return f"{shown}%"


def plural(count: int, singular: str, many: str | None = None) -> str:
    """'1 student', '3 students'."""
    return f"{count} {singular if count == 1 else (many or singular + 's')}"


def template_environment(templates_dir: Path | None = None) -> jinja2.Environment:
    """The environment every template is rendered with (``templates_dir`` overrides defaults)."""
    loaders: list[jinja2.BaseLoader] = []
    if templates_dir is not None:
        loaders.append(jinja2.FileSystemLoader(str(templates_dir)))
    loaders.append(jinja2.FileSystemLoader(str(DEFAULT_TEMPLATES)))
    env = jinja2.Environment(
        loader=jinja2.ChoiceLoader(loaders),
        autoescape=_autoescape,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    env.filters["percent"] = percent
    env.filters["plural"] = plural
    return env


def render(env: jinja2.Environment, name: str, **context: Any) -> str:
    """Render template ``name`` with ``context``."""
    return env.get_template(name).render(**context)
