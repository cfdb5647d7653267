"""The driver report as a reader sees it: the table, the sentences, the chart, escaping."""

from __future__ import annotations

import re
from datetime import date

import pytest

from earlywarn.analysis.analysis import DriverEffect, group_of, rank
from earlywarn.analysis.design import DRIVERS_IN_REPORT_ORDER
from earlywarn.analysis.glossary import plain_name
from earlywarn.analysis.report import build_chart, render_html, sentence, terminal_table
from earlywarn.analysis.summary import program_summaries, summary_sentences
from earlywarn.features.catalogue import YES_NO_DRIVERS


def effect(driver: str, value: float, low: float, high: float, **extra: object) -> DriverEffect:
    fields: dict[str, object] = {
        "driver": driver,
        "group": group_of(driver),
        "yes_no": driver in YES_NO_DRIVERS,
        "measurable": True,
        "effect_pp": value,
        "ci_low_pp": low,
        "ci_high_pp": high,
        "p25": 0.0 if driver in YES_NO_DRIVERS else 8.0,
        "p75": 1.0 if driver in YES_NO_DRIVERS else 18.0,
        "n": 1200,
        "naive_pp": value * 2,
        "programs": 4,
        "controls": ["age"],
        "name": plain_name(driver),
        "p_value": 0.001 if abs(value) > 3 else 0.4,
        "q_value": 0.004 if abs(value) > 3 else 0.6,
    }
    fields.update(extra)
    return DriverEffect(**fields)  # type: ignore[arg-type]


@pytest.fixture
def results() -> list[DriverEffect]:
    out = []
    for i, driver in enumerate(DRIVERS_IN_REPORT_ORDER):
        if driver == "course_median_days_active":
            out.append(
                DriverEffect(
                    driver=driver,
                    group=group_of(driver),
                    yes_no=False,
                    measurable=False,
                    reason="the data has no activity table",
                )
            )
        else:
            value = (i - 10) / 2
            out.append(effect(driver, value, value - 1.5, value + 1.5))
    return rank(out)


def test_ranked_largest_effect_first_unmeasurable_last(results: list[DriverEffect]) -> None:
    sizes = [abs(r.effect_pp or 0) for r in results if r.measurable]
    assert sizes == sorted(sizes, reverse=True)
    assert results[-1].driver == "course_median_days_active"


def test_terminal_table_has_every_driver_with_effect_naive_and_interval(
    results: list[DriverEffect],
) -> None:
    table = terminal_table(results)
    for r in results:
        line = next(line for line in table.splitlines() if line.startswith(plain_name(r.driver)))
        if r.measurable:
            assert f"{r.effect_pp:+.1f}" in line
            assert f"{r.ci_low_pp:+.1f} to {r.ci_high_pp:+.1f}" in line
            assert f"{r.naive_pp:+.1f}" in line
            assert "1,200 students" in line
            assert ("0.004" if abs(r.effect_pp or 0) > 3 else "0.600") in line
        else:
            assert "not measurable: the data has no activity table" in line


def test_html_shows_every_driver_in_the_chart_table_and_sentences(
    results: list[DriverEffect],
) -> None:
    html = render_html(
        results,
        institution="Demo U",
        generated_on=date(2026, 10, 19),
        students=1200,
        programs=4,
        method="Double lasso.",
    )
    svg = html[html.index("<svg") : html.index("</svg>")]
    for driver in DRIVERS_IN_REPORT_ORDER:
        assert f">{plain_name(driver)}</text>" in svg
        assert f"<strong>{plain_name(driver)}</strong>" in html
    for group in ("Open content", "Course structure", "Student behaviour"):
        assert f">{group}</text>" in svg
    # one bar and one naive diamond per measurable driver
    assert svg.count("<rect ") == len(DRIVERS_IN_REPORT_ORDER) - 1
    assert svg.count("<path ") == len(DRIVERS_IN_REPORT_ORDER) - 1
    assert "not measurable: the data has no activity table" in html
    assert "2026-10-19" in html
    assert "http" not in html.replace("http://www.w3.org/2000/svg", "")  # no external assets


def test_sentences_say_direction_and_uncertainty() -> None:
    up = sentence(effect("completed_open_course", 11.0, 8.0, 14.0))
    assert "from no to yes" in up
    assert "11.0 points higher" in up
    assert "cannot tell" not in up
    down = sentence(effect("reading_share", -1.2, -3.0, 0.5, p25=0.193, p75=0.326))
    assert "1.2 points lower" in down
    assert "from 19.3% to 32.6%" in down
    assert "cannot tell apart from none" in down
    flat = sentence(effect("courses_dropped", 0.0, 0.0, 0.0, p25=0.0, p75=0.0))
    assert "share one value" in flat


def test_chart_bars_start_at_zero_and_intervals_stay_on_the_plot(
    results: list[DriverEffect],
) -> None:
    chart = build_chart(results)
    bars = [row for row in chart.rows if not row.heading and row.measurable]
    assert len(bars) == len(DRIVERS_IN_REPORT_ORDER) - 1
    for row in bars:
        edge = row.bar_x if row.positive else row.bar_x + row.bar_width
        assert edge == pytest.approx(chart.zero_x, abs=1.01)
        assert chart.plot_left <= row.ci_x1 <= row.ci_x2 <= chart.plot_right


def test_names_from_the_data_are_escaped() -> None:
    odd = DriverEffect(
        driver='<script>alert("x")</script>',
        group="Student behaviour",
        yes_no=False,
        measurable=False,
        reason="a reason with <b>tags</b> & ampersands",
    )
    html = render_html(
        [effect("grade_first_term", 3.0, 1.0, 5.0), odd],
        institution="Smith & <Jones> College",
        generated_on=date(2026, 1, 2),
        students=10,
        programs=1,
        method="m",
    )
    assert "<script>" not in html
    assert "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;" in html
    assert "Smith &amp; &lt;Jones&gt; College" in html
    assert "&lt;b&gt;tags&lt;/b&gt; &amp; ampersands" in html
    assert not re.search(r"<b>tags", html)


def test_summary_names_only_findings_and_says_how_many_were_tested(
    results: list[DriverEffect],
) -> None:
    hinted = [
        r if r.driver != "has_staff_graded" else DriverEffect(**{**r.__dict__, "hint": True})
        for r in results
    ]
    first, second, third = summary_sentences(hinted, students=1200, programs=4, min_courses=30)
    assert first.startswith("Of 21 drivers tested on 1,200 students in 4 programs, ")
    named = [r for r in hinted if r.finding]
    assert named
    assert all(abs(r.effect_pp or 0) > 3 for r in named)
    top = sorted(named, key=lambda r: -abs(r.effect_pp or 0))[:3]
    for r in top:
        assert f"({r.effect_pp:+.1f} points)" in first
    for r in hinted:
        if not r.finding:
            assert plain_name(r.driver).lower() not in first.lower()
    assert "1 course-design estimate rests on fewer than 30 courses and is a hint" in second
    assert "1 driver could not be measured" in second
    assert "not experiments" in third


def test_per_program_table_shows_each_program_and_the_top_findings(
    results: list[DriverEffect],
) -> None:
    import pandas as pd

    students = pd.DataFrame(
        {"program_id": ["P1", "P1", "P2"], "retained": [1.0, 0.0, 1.0]}, index=["a", "b", "c"]
    )
    drivers = pd.DataFrame({"has_staff_graded": [1.0, 0.5, 0.0]}, index=["a", "b", "c"])
    rows = program_summaries(students, drivers, {"P1": "Master of <Arts>"})
    assert rows[0] == {
        "program_id": "P1",
        "name": "Master of <Arts>",
        "students": 2,
        "retained_pct": 50.0,
        "driver_means": {"has_staff_graded": 0.75},
    }
    html = render_html(
        results,
        institution="Demo U",
        generated_on=date(2026, 10, 19),
        students=3,
        programs=2,
        method="m",
        program_rows=rows,
    )
    table = html[html.index('id="programs"') : html.index("</table>", html.index('id="programs"'))]
    assert "Master of &lt;Arts&gt;" in table
    assert '<td class="num">50.0%</td>' in table
    assert table.count("<tr>") == 3  # the header and two programs
