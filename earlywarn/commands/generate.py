"""``earlywarn generate --out DIR``: write a synthetic institution that knows its own truth."""

from __future__ import annotations

import time
from datetime import date, datetime
from pathlib import Path

import click

from earlywarn.commands.arguments import output_folder
from earlywarn.commands.progress import step
from earlywarn.core.errors import UsageError

# Keep in step with earlywarn.synthetic.config (not imported here: --help stays instant).
DEFAULT_STUDENTS = 17960
DEFAULT_PROGRAMS = 19
DEFAULT_TODAY = "2026-10-19"
# The days --today may name: the generator writes years of history before it, and the tables
# hold time stamps that pandas keeps in nanoseconds (years 1677 to 2262).
EARLIEST_TODAY, LATEST_TODAY = date(1900, 1, 1), date(2200, 12, 31)


def _parse_day(text: str) -> date:
    try:
        day = datetime.strptime(text, "%Y-%m-%d").date()
    except ValueError as exc:
        raise UsageError(f"--today {text!r} is not a date; write it as YYYY-MM-DD") from exc
    if not EARLIEST_TODAY <= day <= LATEST_TODAY:
        raise UsageError(
            f"--today {text} is out of range; pick a day from {EARLIEST_TODAY} to {LATEST_TODAY}"
        )
    return day


@click.command("generate")
@click.option(
    "--out",
    "out",
    required=True,
    type=click.Path(file_okay=False, path_type=Path),
    help="Folder to create, with any missing parents (it must not exist, unless --force).",
)
@click.option(
    "--students",
    default=DEFAULT_STUDENTS,
    show_default=True,
    type=click.IntRange(1),
    help="Students to generate, over every program's terms (the report's study had 17,960).",
)
@click.option(
    "--programs",
    default=DEFAULT_PROGRAMS,
    show_default=True,
    type=click.IntRange(1),
    help="Degree programs to generate (each needs a cohort of students every term).",
)
@click.option(
    "--seed",
    default=None,
    type=click.IntRange(0),
    help="Random seed, 0 or more (default: the `seed` setting, 42).",
)
@click.option(
    "--today",
    default=DEFAULT_TODAY,
    metavar="YYYY-MM-DD",
    show_default=True,
    help="The generation's as-of day, from 1900-01-01 to 2200-12-31: nothing on or after it "
    "is written.",
)
@click.option("--force", is_flag=True, help="Replace an existing generated institution at --out.")
@click.pass_obj
def command(
    obj: object,
    out: Path,
    students: int,
    programs: int,
    seed: int | None,
    today: str,
    force: bool,
) -> None:
    """Write a synthetic institution to OUT: every contract table plus _truth/ (true retention
    probabilities and the true effect of each of the 22 drivers). The same seed gives
    byte-identical files.

    \b
    Examples:
      earlywarn generate --out data/synthetic
      earlywarn generate --out /tmp/small --students 1200 --programs 4 --seed 7
    """
    from earlywarn.synthetic.config import GeneratorConfig
    from earlywarn.synthetic.simulate import simulate
    from earlywarn.synthetic.write import check_output_folder, write_folder

    if seed is None:
        seed = int(obj.settings.seed)  # type: ignore[attr-defined]
    config = GeneratorConfig(
        students=students, programs=programs, seed=seed, today=_parse_day(today)
    )
    output_folder(out)
    check_output_folder(out, force=force)
    began = time.perf_counter()
    step(f"simulating {students:,} students in {programs} programs")
    simulation = simulate(config)
    simulated = time.perf_counter()
    step(f"writing {out}")
    counts = write_folder(simulation, out, force=force)
    done = time.perf_counter()
    click.echo(
        f"{out}: {students:,} students in {programs} programs, seed {seed}, as of {config.today}"
    )
    width = max(len(name) for name in counts)
    for name, rows in counts.items():
        click.echo(f"  {name:<{width}}  {rows:>12,} rows")
    click.echo(
        f"  simulated in {simulated - began:.1f} s, written in {done - simulated:.1f} s "
        f"(total {done - began:.1f} s); truth in {out / '_truth'}"
    )
