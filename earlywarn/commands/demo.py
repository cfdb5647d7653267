"""``earlywarn demo``: run the whole system on a generated demo institution, step by step.

The demo is a list of timed steps; each takes the shared :class:`DemoContext` and returns one line
saying what it did. Later stages (training, scoring, digests) add their steps to ``STEPS``.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import click


@dataclass
class DemoContext:
    """What the steps share: the settings, the demo folder, and what earlier steps produced."""

    settings: Any
    root: Path
    students: int
    programs: int
    results: dict[str, Any] = field(default_factory=dict)

    @property
    def institution(self) -> Path:
        return self.root / "institution"


def generate_step(ctx: DemoContext) -> str:
    from earlywarn.synthetic.config import GeneratorConfig
    from earlywarn.synthetic.simulate import simulate
    from earlywarn.synthetic.write import write_folder

    config = GeneratorConfig(
        students=ctx.students, programs=ctx.programs, seed=int(ctx.settings.seed)
    )
    ctx.root.mkdir(parents=True, exist_ok=True)
    counts = write_folder(simulate(config), ctx.institution, force=True)
    ctx.results["row_counts"] = counts
    return (
        f"generated {counts['students']:,} students in {counts['programs']} programs "
        f"({counts['activity']:,} activity rows) into {ctx.institution}"
    )


def validate_step(ctx: DemoContext) -> str:
    from earlywarn.contract import load_tables

    tables = load_tables(ctx.institution)
    ctx.results["tables"] = tables
    return f"validated {len(tables.present())} tables against the data contract"


Step = tuple[str, Callable[[DemoContext], str]]
STEPS: list[Step] = [
    ("generate", generate_step),
    ("validate", validate_step),
]


@click.command("demo")
@click.option("--students", default=17960, show_default=True, type=click.IntRange(1))
@click.option("--programs", default=19, show_default=True, type=click.IntRange(1))
@click.pass_obj
def command(obj: Any, students: int, programs: int) -> None:
    """Run the whole system on a generated institution in <home>/demo, printing each step
    and how long it took.

    \b
    Examples:
      earlywarn demo
      earlywarn --home /tmp/ew demo --students 2000 --programs 4
    """
    settings = obj.settings
    ctx = DemoContext(
        settings=settings,
        root=Path(settings.home) / "demo",
        students=students,
        programs=programs,
    )
    total = time.perf_counter()
    for number, (name, step) in enumerate(STEPS, start=1):
        began = time.perf_counter()
        said = step(ctx)
        click.echo(f"[{number}/{len(STEPS)}] {name}: {said} ({time.perf_counter() - began:.1f} s)")
    click.echo(f"demo finished in {time.perf_counter() - total:.1f} s; everything is in {ctx.root}")
