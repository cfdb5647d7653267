"""Rendering the driver analysis: the terminal table, the JSON list and the HTML report.

The HTML report is one self-contained file: an inline SVG chart in the style of the report's
figures (one horizontal bar per driver with its 95% interval and a mark for the naive comparison,
grouped into open content, course structure and student behaviour), the table of numbers, and one
sentence per driver on what it means for a program. Everything the data supplies goes through
the shared Jinja2 environment (:mod:`earlywarn.core.templating`), autoescape on.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import date
from pathlib import Path

from earlywarn.analysis.analysis import DriverEffect
from earlywarn.analysis.design import DRIVER_GROUPS

TEMPLATE = "drivers_report.html"

# What each driver is, as the subject of a sentence, and what a program can do about it.
MEANING: dict[str, tuple[str, str]] = {
    "completed_open_course": (
        "Having finished an open course before the degree began",
        "Pointing applicants to a relevant open course before they start is a cheap way to build "
        "the habit early.",
    ),
    "stackable_open_course": (
        "Having enrolled in an open course that shares material with the degree",
        "Stackable open courses let future students try the program before they commit.",
    ),
    "first_assessment_on_time": (
        "Passing the first graded assessment by its deadline",
        "Reminders, office hours and quick answers before the first deadline target this moment.",
    ),
    "days_active_first_term": (
        "Studying on more separate days in the first term",
        "Short, frequent tasks bring students back more often than a few long sessions.",
    ),
    "learning_hours_first_term": (
        "Spending more hours learning in the first term",
        "Read it beside days active: a steady rhythm can matter more than total time.",
    ),
    "days_active_before_first_deadline": (
        "Studying on more separate days before the first deadline",
        "Small tasks in the first week help new students settle into a routine.",
    ),
    "learning_hours_before_first_deadline": (
        "Spending more hours learning before the first deadline",
        "An early workload that is clear and steady helps students plan their first weeks.",
    ),
    "grade_first_term": (
        "A higher mean final grade in the first term",
        "Students slipping in their first term are the ones to reach early; clearer grading "
        "criteria help more than easier tests.",
    ),
    "courses_enrolled": (
        "Taking more courses in the first term",
        "Advice on course load at enrolment should weigh momentum against the risk of overload.",
    ),
    "courses_dropped": (
        "Dropping more first-term courses",
        "A dropped course is a signal worth a conversation with an advisor.",
    ),
    "dropped_after_deadline": (
        "Dropping a course after the drop deadline",
        "Late drops often follow a crisis; an advisor's call soon after one can help.",
    ),
    "has_staff_graded": (
        "First-term courses with at least one staff-graded assessment",
        "Expert feedback on at least one assignment per course may repay the staff time.",
    ),
    "has_hands_on": (
        "First-term courses with a hands-on graded assignment",
        "Applied work (code, writing, peer review, team projects) keeps students invested.",
    ),
    "practice_share": (
        "A larger share of practice items among a course's ungraded items",
        "Swapping some readings or videos for low-stakes practice is a design lever to test.",
    ),
    "video_share": (
        "A larger share of videos among a course's ungraded items",
        "Videos are a means, not an end; their mix with practice is what to review.",
    ),
    "reading_share": (
        "A larger share of readings among a course's ungraded items",
        "Long reading lists can be broken up with practice and short videos.",
    ),
    "staff_grade_share": (
        "More of the course grade coming from staff-graded work",
        "How much of the grade rests on expert grading is a course design choice to revisit.",
    ),
    "peer_grade_share": (
        "More of the course grade coming from peer-graded work",
        "Peer review works best as part of the grade, not most of it.",
    ),
    "quiz_grade_share": (
        "More of the course grade coming from quizzes",
        "Quizzes check understanding quickly but should not carry the whole grade.",
    ),
    "graded_weight_centroid": (
        "Grade weight placed later in the course, as with a final project",
        "A final project works best with milestones that spread the work across the term.",
    ),
    "max_item_weight": (
        "A heavier single largest assessment",
        "Very heavy single assessments raise the stakes; scaffolding them can help.",
    ),
    "course_median_days_active": (
        "Courses whose past students studied on more separate days",
        "Courses built for regular short visits tend to keep students coming back.",
    ),
}

PERCENT_DRIVERS = frozenset(
    {
        "practice_share",
        "video_share",
        "reading_share",
        "staff_grade_share",
        "peer_grade_share",
        "quiz_grade_share",
        "has_staff_graded",
        "has_hands_on",
    }
)


def format_value(driver: str, value: float | None) -> str:
    """A driver value as a reader expects it (shares in percent, counts without decimals)."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "-"
    if driver in PERCENT_DRIVERS:
        return f"{value * 100:.1f}%"
    if float(value).is_integer():
        return f"{int(value)}"
    return f"{value:.2f}"


def movement(result: DriverEffect) -> str:
    if result.yes_no:
        return "0 -> 1"
    return f"{format_value(result.driver, result.p25)} -> {format_value(result.driver, result.p75)}"


def sentence(result: DriverEffect) -> str:
    """One sentence, in plain words, on what the estimate says and what a program can do."""
    subject, advice = MEANING.get(result.driver, (result.driver, ""))
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
        f" (95% interval {result.ci_low_pp:+.1f} to {result.ci_high_pp:+.1f})"
    )
    if covers_zero:
        finding += ", an effect this data cannot tell apart from none"
    return f"{subject} ({span}) {finding}. {advice}"


def terminal_table(results: list[DriverEffect]) -> str:
    """The ranked table the command prints."""
    header = (
        f"{'driver':<38} {'effect':>7} {'95% interval':>17} {'naive':>7}  "
        f"{'p25 -> p75':<20} {'n':>6}"
    )
    lines = [header, "-" * len(header)]
    for r in results:
        if not r.measurable:
            lines.append(f"{r.driver:<38} not measurable: {r.reason}")
            continue
        interval = f"[{r.ci_low_pp:+.1f}, {r.ci_high_pp:+.1f}]"
        lines.append(
            f"{r.driver:<38} {r.effect_pp:>+7.1f} {interval:>17} {r.naive_pp:>+7.1f}  "
            f"{movement(r):<20} {r.n:>6}"
        )
    lines.append("")
    lines.append(
        "effect: controlled change in first-year retention (percentage points) from p25 to p75 "
        "(0 to 1 for yes/no); naive: the same change without controls."
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
                    ChartRow(y=y, label=name, measurable=False, value_text="not measurable")
                )
            else:
                assert r.ci_low_pp is not None
                assert r.ci_high_pp is not None
                left, right = sorted((x_of(0.0), x_of(r.effect_pp)))
                rows.append(
                    ChartRow(
                        y=y,
                        label=name,
                        bar_x=left,
                        bar_width=max(right - left, 1.0),
                        ci_x1=x_of(r.ci_low_pp),
                        ci_x2=x_of(r.ci_high_pp),
                        naive_x=x_of(r.naive_pp) if r.naive_pp is not None else None,
                        positive=r.effect_pp >= 0,
                        value_text=f"{r.effect_pp:+.1f}",
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
    templates_dir: Path | None = None,
) -> str:
    """The self-contained HTML report."""
    rows = [
        {
            "result": r,
            "movement": movement(r) if r.measurable else "-",
            "sentence": sentence(r),
        }
        for r in results
    ]
    from earlywarn.core.templating import render, template_environment

    html = render(
        template_environment(templates_dir),
        TEMPLATE,
        institution=institution,
        generated_on=generated_on.isoformat(),
        students=students,
        programs=programs,
        method=method,
        rows=rows,
        chart=build_chart(results),
        groups=DRIVER_GROUPS,
    )
    return html
