"""The one Jinja2 environment: institution templates first, the shipped defaults behind them.

Autoescaping is on for every template except plain-text ones (``*.txt``), where escaping would
show ``&amp;`` to the reader; ``StrictUndefined`` turns a missing variable into an error instead
of a blank in someone's inbox.
"""

from __future__ import annotations

import math
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


def bound_percent(bound: float) -> int:
    """A tier's lower bound as the smallest whole percentage in the tier: 0.4 -> 40, 0.405 -> 41."""
    return math.ceil(round(float(bound) * 100, 9))


def tier_percent(risk: float, *, high: float, medium: float) -> str:
    """A risk as a whole percentage that never contradicts its tier (:func:`tier_for` with the
    same bounds): rounded, then kept within the tier's shown bounds, so 0.499 with high at 0.5
    reads "49%" in medium, not "50%", and 0.995 reads "99%", never "100%"."""
    shown = round(float(risk) * 100)
    top, middle = bound_percent(high), bound_percent(medium)
    if risk >= high:
        low_end, high_end = top, 99
    elif risk >= medium:
        low_end, high_end = middle, top - 1
    else:
        low_end, high_end = 0, middle - 1
    shown = min(max(shown, low_end), high_end)
    if shown == 0 and risk > 0:
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
    env.filters["tier_percent"] = lambda risk, high, medium: tier_percent(
        risk, high=high, medium=medium
    )
    env.filters["plural"] = plural
    return env


def render(env: jinja2.Environment, name: str, **context: Any) -> str:
    """Render template ``name`` with ``context``."""
    return env.get_template(name).render(**context)
