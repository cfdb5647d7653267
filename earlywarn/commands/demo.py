"""``earlywarn demo``: run the whole system on a generated demo institution, step by step.

The demo is a list of timed steps; each takes the shared :class:`DemoContext` and returns one line
saying what it did: generate, validate, train, promote, score as of the institution's "today"
(a few weeks into every program's newest first term) and write each advisor's digest to the outbox.
Each step calls the same library functions as its own command, so the demo shows exactly what an
operator would run by hand.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
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

    @property
    def as_of(self) -> datetime:
        """The generator's "today" (midnight UTC): every program's newest cohort is a few weeks
        into its first term then, and the data holds nothing later."""
        today: date = self.results["today"]
        return datetime(today.year, today.month, today.day, tzinfo=UTC)


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
    ctx.results["today"] = config.today
    return (
        f"generated {counts['students']:,} students in {counts['programs']} programs "
        f"({counts['activity']:,} activity rows) into {ctx.institution}"
    )


def validate_step(ctx: DemoContext) -> str:
    from earlywarn.contract import load_tables

    tables = load_tables(ctx.institution)
    ctx.results["tables"] = tables
    return f"validated {len(tables.present())} tables against the data contract"


def train_step(ctx: DemoContext) -> str:
    from earlywarn.training.pipeline import train_from_folder

    result = train_from_folder(ctx.settings, ctx.institution)
    summary = result.summary()
    ctx.results["training"] = summary
    window = summary["window"]

    def auc(key: str) -> str:
        value = window.get(key)
        return "n/a" if value is None else f"{value:.3f}"

    oracle = window.get("mean_oracle_roc_auc")
    versus = f", the true probabilities {oracle:.3f}" if oracle is not None else ""
    return (
        f"trained model version {summary['model_version']} (run {summary['run_id']}, "
        f"{summary['trees']} trees); on the {summary['test_cohort']} test cohort, "
        f"{window['name']}: model {auc('mean_roc_auc')}, logistic baseline "
        f"{auc('mean_baseline_roc_auc')}, prior baseline {auc('mean_prior_roc_auc')}{versus}; "
        f"mean weekly calibration error {auc('mean_ece')}"
    )


def promote_step(ctx: DemoContext) -> str:
    from earlywarn.training.promote import promote_challenger

    decision = promote_challenger(ctx.settings, actor="earlywarn demo")
    if not decision.promoted:
        # The demo needs a champion to go on; the refusal is shown, then overridden on record.
        forced = promote_challenger(ctx.settings, actor="earlywarn demo", force=True)
        return f"guard refused ({decision.reason}); forced for the demo: {forced.reason}"
    return f"version {decision.challenger_version} is the champion: {decision.reason}"


def score_step(ctx: DemoContext) -> str:
    from earlywarn.scoring.score import score_institution

    as_of = ctx.as_of
    result = score_institution(ctx.settings, ctx.institution, as_of, tables=ctx.results["tables"])
    ctx.results["scoring"] = result
    tiers = result.tier_counts
    drift = result.drift_warnings
    return (
        f"scored {len(result.scores):,} first-term students as of {as_of:%Y-%m-%d %H:%M} UTC "
        f"(week {result.week}): {tiers['high']} high, {tiers['medium']} medium, "
        f"{tiers['low']} low risk; {len(drift)} features drifted"
    )


def digest_step(ctx: DemoContext) -> str:
    from earlywarn.digest.run import run_digests

    result = run_digests(ctx.settings, ctx.results["tables"], ctx.as_of, send=False)
    ctx.results["digests"] = result
    return (
        f"wrote {len(result.digests)} advisor digests and the operator summary to "
        f"{ctx.settings.outbox_dir / result.week} (a dry run: nothing was sent)"
    )


Step = tuple[str, Callable[[DemoContext], str]]
STEPS: list[Step] = [
    ("generate", generate_step),
    ("validate", validate_step),
    ("train", train_step),
    ("promote", promote_step),
    ("score", score_step),
    ("digest", digest_step),
]


def _plain_text(eml: Path) -> str:
    """The plain-text part of a rendered digest, as the advisor's mail client would show it."""
    from email import policy
    from email.parser import BytesParser

    message = BytesParser(policy=policy.default).parsebytes(eml.read_bytes())
    body = message.get_body(preferencelist=("plain",))
    return "" if body is None else str(body.get_content())


def _program() -> str:
    """How to call earlywarn again from here: plain ``earlywarn`` when that name on the PATH is
    this installation, else the path of this installation's script (``make demo`` runs it from
    .venv/bin without putting it on the PATH)."""
    import os
    import shutil

    script = Path(sys.executable).parent / "earlywarn"
    found = shutil.which("earlywarn")
    if not script.exists() or (found and Path(found).resolve() == script.resolve()):
        return "earlywarn"
    try:
        relative = os.path.relpath(script)
    except ValueError:  # another drive on Windows
        return str(script)
    return str(script) if relative.startswith("..") else relative


def _epilogue(ctx: DemoContext) -> None:
    settings = ctx.settings
    digests = ctx.results.get("digests")
    if digests is not None:
        advisor_files = [f for f in digests.files if not f.name.startswith("__")]
        if advisor_files:
            click.echo(f"\nOne advisor's digest ({advisor_files[0]}), as plain text:\n")
            click.echo(_plain_text(advisor_files[0]))
    click.echo("Where to look next:")
    mlflow = Path(sys.executable).parent / "mlflow"
    store = settings.mlruns_dir / "mlflow.db"
    click.echo(f"  MLflow runs:   {mlflow} ui --backend-store-uri sqlite:///{store}")
    click.echo(
        f"                 (from the repository: make mlflow-ui EARLYWARN_HOME={settings.home})"
    )
    click.echo(f"  Digests:       {settings.outbox_dir}  (.eml files: open them in a mail client)")
    click.echo(f"  Institution:   {ctx.institution}  (truth in _truth/)")
    click.echo("What to try:")
    home = f"{_program()} --home {settings.home}"
    click.echo(f"  {home} status")
    click.echo(f"  {home} drivers {ctx.institution}")
    click.echo(f"  {home} score {ctx.institution} --as-of {ctx.as_of:%Y-%m-%d} --json")
    click.echo(
        f"  {home} digest {ctx.institution} --as-of {ctx.as_of:%Y-%m-%d} --send"
        "   (needs a mail server: [smtp] in earlywarn.toml)"
    )


@click.command("demo")
@click.option(
    "--students",
    default=17960,
    show_default=True,
    type=click.IntRange(1),
    help="Students in the generated institution (the report's study had 17,960; "
    "--students 1500 --programs 3 runs in about 15 s).",
)
@click.option(
    "--programs",
    default=19,
    show_default=True,
    type=click.IntRange(1),
    help="Degree programs in the generated institution.",
)
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
    from earlywarn.commands.progress import bar

    with bar(len(STEPS), "demo") as advance:
        for number, (name, step) in enumerate(STEPS, start=1):
            advance(f"demo: {name}")
            began = time.perf_counter()
            said = step(ctx)
            seconds = time.perf_counter() - began
            click.echo(f"[{number}/{len(STEPS)}] {name}: {said} ({seconds:.1f} s)")
    _epilogue(ctx)
    click.echo(f"demo finished in {time.perf_counter() - total:.1f} s")
