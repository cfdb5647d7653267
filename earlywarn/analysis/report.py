"""Rendering the driver analysis: the terminal table and the HTML report.

Drivers appear under their plain names (:mod:`earlywarn.analysis.glossary`) and numbers in the
formats of :mod:`earlywarn.analysis.summary`. The HTML report is one self-contained file: the
three-sentence summary, an inline SVG chart in the style of the report's
figures (one horizontal bar per driver with its 95% interval and a mark for the naive comparison,
grouped into open content, course structure and student behaviour), the table of numbers, the
per-program table, and one sentence per driver on what it means for a program. Everything the
data supplies goes through the shared Jinja2 environment (:mod:`earlywarn.core.templating`),
autoescape on.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

from earlywarn.analysis.analysis import DriverEffect
from earlywarn.analysis.design import DRIVER_GROUPS
from earlywarn.analysis.glossary import GLOSSARY, plain_name
from earlywarn.analysis.summary import count, format_value, interval, points, probability

TEMPLATE = "drivers_report.html"


def movement(result: DriverEffect) -> str:
    if result.yes_no:
        return "0 -> 1"
    return f"{format_value(result.driver, result.p25)} -> {format_value(result.driver, result.p75)}"


def sentence(result: DriverEffect) -> str:
    """One sentence, in plain words, on what the estimate says and what a program can do."""
    entry = GLOSSARY.get(result.driver)
    subject, advice = (entry.subject, entry.advice) if entry else (result.driver, "")
    if not result.measurable:
        return f"{subject}: not measurable in this data ({result.reason})."
    assert result.effect_pp is not None
    assert result.ci_low_pp is not None
    assert result.ci_high_pp is not None
    if not result.yes_no and result.p25 == result.p75:
        return (
            f"{subject}: the middle half of students share one value "
            f"({format_value(result.driver, result.p25)}), so moving from the 25th to the 75th "
            f"percentile changes nothing; look at the naive comparison and the raw data instead."
        )
    span = "from no to yes" if result.yes_no else f"from {movement(result).replace('->', 'to')}"
    covers_zero = result.ci_low_pp <= 0 <= result.ci_high_pp
    direction = "higher" if result.effect_pp >= 0 else "lower"
    finding = (
        f"went with {abs(result.effect_pp):.1f} points {direction} first-year retention"
        f" (95% interval {interval(result.ci_low_pp, result.ci_high_pp)})"
    )
    if covers_zero:
        finding += ", an effect this data cannot tell apart from none"
    if result.hint:
        finding += (
            f"; it rests on only {count(result.courses)} courses, so read it as a hint, "
            "not a finding"
        )
    return f"{subject} ({span}) {finding}. {advice}"


def rests_on(result: DriverEffect) -> str:
    """What the estimate rests on: students, and courses for a course-design driver."""
    if result.courses is None:
        return f"{count(result.n)} students"
    return f"{count(result.n)} students, {count(result.courses)} courses"


def status(result: DriverEffect) -> str:
    """finding (q < 0.05), hint (too few courses), or nothing."""
    if result.hint:
        return "hint"
    return "finding" if result.finding else ""


def terminal_table(results: list[DriverEffect]) -> str:
    """The ranked table the command prints, one driver per line under its plain name."""
    header = (
        f"{'driver':<46} {'effect':>6} {'95% interval':>15} {'naive':>6} {'q':>6}  "
        f"{'rests on':<26} {'':<7} {'p25 -> p75'}"
    )
    lines = [header, "-" * len(header)]
    for r in results:
        if not r.measurable:
            lines.append(f"{r.name or plain_name(r.driver):<46} not measurable: {r.reason}")
            continue
        lines.append(
            f"{r.name or plain_name(r.driver):<46} {points(r.effect_pp):>6} "
            f"{interval(r.ci_low_pp, r.ci_high_pp):>15} {points(r.naive_pp):>6} "
            f"{probability(r.q_value):>6}  {rests_on(r):<26} {status(r):<7} {movement(r)}"
        )
    lines.append("")
    lines.append(
        "effect: controlled change in first-year retention (percentage points) from p25 to p75 "
        "(no to yes for yes/no); naive: the same change without controls; q: Benjamini-Hochberg "
        "q-value across the drivers tested; hint: a course-design estimate on too few courses."
    )
    return "\n".join(lines)


@dataclass(frozen=True)
class ChartRow:
    """One line of the SVG chart: a group heading or a driver's bar, interval and naive mark."""

    y: float
    label: str
    heading: bool = False
    bar_x: float = 0.0
    bar_width: float = 0.0
    ci_x1: float = 0.0
    ci_x2: float = 0.0
    naive_x: float | None = None
    positive: bool = True
    value_text: str = ""
    measurable: bool = True


@dataclass(frozen=True)
class Chart:
    width: int
    height: int
    label_width: int
    plot_left: float
    plot_right: float
    zero_x: float
    rows: list[ChartRow]
    ticks: list[tuple[float, str]]


def _nice_step(span: float) -> float:
    raw = span / 6
    magnitude = 10 ** math.floor(math.log10(raw))
    return next(m * magnitude for m in (1, 2, 2.5, 5, 10) if m * magnitude >= raw)


def build_chart(results: list[DriverEffect]) -> Chart:
    """Geometry of the bar chart; the template only draws it."""
    by_name = {r.driver: r for r in results}
    values = [0.0]
    for r in results:
        if r.measurable:
            values += [v for v in (r.ci_low_pp, r.ci_high_pp, r.naive_pp) if v is not None]
    low, high = min(values), max(values)
    step = _nice_step(max(high - low, 1.0))
    low, high = math.floor(low / step) * step, math.ceil(high / step) * step
    label_width, plot_width, row_height = 300, 420, 22
    plot_left, plot_right = label_width + 10, label_width + 10 + plot_width

    def x_of(value: float) -> float:
        return plot_left + (value - low) / (high - low) * plot_width

    rows: list[ChartRow] = []
    y = 30.0
    for group, members in DRIVER_GROUPS.items():
        rows.append(ChartRow(y=y, label=group, heading=True))
        y += row_height
        for name in members:
            if name not in by_name:
                continue
            r = by_name[name]
            if not r.measurable or r.effect_pp is None:
                rows.append(
                    ChartRow(
                        y=y, label=plain_name(name), measurable=False, value_text="not measurable"
                    )
                )
            else:
                assert r.ci_low_pp is not None
                assert r.ci_high_pp is not None
                left, right = sorted((x_of(0.0), x_of(r.effect_pp)))
                rows.append(
                    ChartRow(
                        y=y,
                        label=plain_name(name),
                        bar_x=left,
                        bar_width=max(right - left, 1.0),
                        ci_x1=x_of(r.ci_low_pp),
                        ci_x2=x_of(r.ci_high_pp),
                        naive_x=x_of(r.naive_pp) if r.naive_pp is not None else None,
                        positive=r.effect_pp >= 0,
                        value_text=points(r.effect_pp),
                    )
                )
            y += row_height
        y += 6
    ticks = []
    value = low
    while value <= high + step / 2:
        ticks.append((x_of(value), f"{value:+g}" if value else "0"))
        value += step
    return Chart(
        width=plot_right + 60,
        height=int(y + 30),
        label_width=label_width,
        plot_left=plot_left,
        plot_right=plot_right,
        zero_x=x_of(0.0),
        rows=rows,
        ticks=ticks,
    )


def render_html(
    results: list[DriverEffect],
    *,
    institution: str,
    generated_on: date,
    students: int,
    programs: int,
    method: str,
    program_rows: list[dict[str, Any]] | None = None,
    min_courses: int = 30,
    templates_dir: Path | None = None,
) -> str:
    """The self-contained HTML report."""
    from earlywarn.analysis.summary import program_table, summary_sentences
    from earlywarn.core.templating import render, template_environment

    rows = [
        {
            "result": r,
            "name": r.name or plain_name(r.driver),
            "effect": points(r.effect_pp),
            "interval": interval(r.ci_low_pp, r.ci_high_pp),
            "naive": points(r.naive_pp),
            "p_value": probability(r.p_value),
            "q_value": probability(r.q_value),
            "rests_on": rests_on(r),
            "status": status(r),
            "movement": movement(r) if r.measurable else "-",
            "sentence": sentence(r),
        }
        for r in results
    ]
    return render(
        template_environment(templates_dir),
        TEMPLATE,
        institution=institution,
        generated_on=generated_on.isoformat(),
        students=count(students),
        programs=programs,
        summary=summary_sentences(
            results, students=students, programs=programs, min_courses=min_courses
        ),
        program_table=program_table(program_rows or [], results),
        min_courses=min_courses,
        method=method,
        rows=rows,
        chart=build_chart(results),
        groups=DRIVER_GROUPS,
    )
