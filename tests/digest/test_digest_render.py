"""What an advisor reads: the plain text, the HTML (escaped, inlined, phone-sized) and the CSV."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime
from pathlib import Path

import pytest

from earlywarn.core.errors import TemplateError
from earlywarn.core.templating import percent, template_environment, tier_percent
from earlywarn.digest.render import DigestContext, render_digest
from earlywarn.digest.selection import (
    AdvisorContact,
    AdvisorDigest,
    Roster,
    StudentContact,
    Thresholds,
    select_digests,
)
from earlywarn.state import ScoreRow, tier_for

CTX = DigestContext(
    week="2026-10-05",
    previous_week="2026-09-28",
    as_of=datetime(2026, 10, 5, 7, 0, tzinfo=UTC),
    model_version="7",
    medium=0.3,
    operator_contact="ops@uni.example",
)
EVIL = "<script>alert(1)</script> & Co"


def score(student_id: str, risk: float) -> ScoreRow:
    return ScoreRow(
        student_id=student_id,
        risk=risk,
        tier=tier_for(risk, high=0.5, medium=0.3),
        program_id="p1",
        reasons=[
            {
                "driver": "first_deadline_missed",
                "text": f"Missed the first graded deadline ({student_id}).",
                "action": "Call before Friday's quiz.",
            },
            {
                "driver": "days_active",
                "text": "Active on 2 of the last 14 days.",
                "action": "Share the study-plan template.",
            },
            {
                "driver": "forum",
                "text": "No forum posts yet.",
                "action": "Call before Friday's quiz.",
            },
            {"driver": "fourth", "text": "A fourth reason nobody reads.", "action": "Nothing."},
        ],
    )


def digest(max_students: int = 2) -> AdvisorDigest:
    students = {
        "s1": StudentContact("s1", "Jo Smith", "a1", ("Statistics I", "Academic Writing")),
        "s2": StudentContact("s2", EVIL, "a1", ("Statistics I",)),
        "s3": StudentContact("s3", "s3", "a1", ()),
    }
    roster = Roster(students, {"a1": AdvisorContact("a1", "Ana Advisor", "ana@uni.example")})
    thresholds = Thresholds(high=0.5, medium=0.3, max_students=max_students, worse_margin=0.05)
    scores = [score("s1", 0.62), score("s2", 0.455), score("s3", 0.31)]
    [result] = select_digests(scores, {"s1": 0.41, "s2": 0.44}, roster, thresholds).digests
    return result


def test_the_plain_text_shows_what_an_advisor_needs() -> None:
    text = render_digest(template_environment(), digest(), CTX).text
    assert text.startswith("3 students to contact, 1 new this week\n\nHello Ana Advisor,")
    assert "week of 2026-10-05" in text
    assert "3 students to reach this week: 1 new, 1 worse, 1 still at risk." in text
    assert "1. Jo Smith (s1)" in text
    assert "Risk: high, 62% - worse (41% -> 62% since 2026-09-28)" in text
    assert "Courses: Statistics I; Academic Writing" in text
    assert "- Missed the first graded deadline (s1)." in text
    assert "- Active on 2 of the last 14 days." in text
    assert "- No forum posts yet." in text
    assert "fourth reason" not in text
    # Each suggested action on a line of its own, each once (two reasons share the first).
    assert (
        "   Suggested:\n   - Call before Friday's quiz.\n   - Share the study-plan template.\n"
        in text
    )
    # Plain text is not HTML: the name arrives exactly as written.
    assert f"2. {EVIL} (s2)" in text
    assert "Risk: medium, 46% - still at risk (44% -> 46% since 2026-09-28)" in text
    # Only two fit; the third is counted, and the whole list is attached.
    assert "s3" not in text.replace("earlywarn-", "")
    assert (
        "...and 1 more. Your full list of 3 is in the attached file earlywarn-2026-10-05.csv"
        in text
    )
    assert "ops@uni.example" in text
    assert "confidential" in text


def test_a_new_student_shows_no_trend() -> None:
    text = render_digest(template_environment(), digest(max_students=3), CTX).text
    assert "3. s3 (s3)\n   Risk: medium, 31% - new this week\n" in text
    assert "Courses: none on record" in text
    assert "...and" not in text
    assert "Your full list is also in the attached file earlywarn-2026-10-05.csv" in text


def test_html_escapes_names_and_inlines_its_css() -> None:
    html = render_digest(template_environment(), digest(), CTX).html
    assert "<script>" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt; &amp; Co" in html
    # Inlined for mail clients that drop style blocks; only the dark-mode rules stay in one.
    [style] = html.split("<style>")[1:]
    assert style.split("</style>")[0].strip().startswith("@media (prefers-color-scheme: dark)")
    assert "max-width: 600px" in html
    assert "font-size: 16px" in html
    assert 'name="viewport"' in html
    assert "62%" in html
    assert "41% &rarr; 62%" in html or "41% → 62%" in html


def test_the_csv_lists_every_student_and_defuses_formulas() -> None:
    d = digest(max_students=1)
    csv_text = render_digest(template_environment(), d, CTX).csv_text.removeprefix("\ufeff")
    rows = list(csv.DictReader(io.StringIO(csv_text)))
    assert [r["student_id"] for r in rows] == ["s1", "s2", "s3"]
    assert rows[0]["tier"] == "high"
    assert rows[0]["risk_percent"] == "62"
    assert rows[0]["previous_risk_percent"] == "41.0"
    assert rows[1]["name"] == EVIL
    assert rows[2]["status"] == "new this week"

    students = {"s1": StudentContact("s1", "=HYPERLINK(1)", "a1", ())}
    roster = Roster(students, {"a1": AdvisorContact("a1", "A", "a@uni.example")})
    t = Thresholds(high=0.5, medium=0.3, max_students=5, worse_margin=0.05)
    [one] = select_digests([score("s1", 0.9)], {}, roster, t).digests
    csv_text = render_digest(template_environment(), one, CTX).csv_text
    assert "'=HYPERLINK(1)" in csv_text


def test_an_institution_can_override_a_template(tmp_path: Path) -> None:
    (tmp_path / "digest.txt").write_text("Dear {{ advisor_name }}: {{ total }} to call.\n")
    rendered = render_digest(template_environment(tmp_path), digest(), CTX)
    assert rendered.text == "Dear Ana Advisor: 3 to call.\n"
    assert "&lt;script&gt;" in rendered.html  # the shipped HTML still stands behind it


def test_a_template_with_an_unknown_variable_fails_instead_of_sending_a_blank(
    tmp_path: Path,
) -> None:
    (tmp_path / "digest.txt").write_text("Dear {{ advisor_nmae }}\n")
    with pytest.raises(TemplateError, match=r"digest\.txt.*advisor_nmae"):
        render_digest(template_environment(tmp_path), digest(), CTX)


def test_percentages_are_whole_and_never_round_a_risk_to_zero() -> None:
    assert percent(0.625) == "62%"  # round half to even, as Python does
    assert percent(0.626) == "63%"
    assert percent(0.001) == "<1%"
    assert percent(0.0) == "0%"


def test_html_lists_each_suggested_action_on_its_own() -> None:
    html = render_digest(template_environment(), digest(), CTX).html
    first = html.index("Jo Smith")
    second = html.index("&lt;script&gt;")
    block = html[first:second]
    assert block.count("<li") == 3 + 2  # three reasons, then two distinct actions
    assert ">Call before Friday's quiz.</li>" in block
    assert ">Share the study-plan template.</li>" in block
    assert "Suggested" in block


def test_long_plain_text_lines_wrap_under_the_bullet_without_splitting_words() -> None:
    long_action = (
        "Reach out before the next deadline and offer office hours or a one-on-one session, "
        "so the first graded assignment gets submitted and passed."
    )
    students = {"s1": StudentContact("s1", "Jo Smith", "a1", ("Statistics I",))}
    roster = Roster(students, {"a1": AdvisorContact("a1", "Ana Advisor", "ana@uni.example")})
    row = ScoreRow(
        student_id="s1",
        risk=0.6,
        tier="high",
        program_id="p1",
        reasons=[{"driver": "first_assessment", "text": "late", "action": long_action}],
    )
    thresholds = Thresholds(high=0.5, medium=0.3, max_students=5, worse_margin=0.05)
    [one] = select_digests([row], {}, roster, thresholds).digests
    text = render_digest(template_environment(), one, CTX).text
    assert (
        "   Suggested:\n"
        "   - Reach out before the next deadline and offer office hours or a\n"
        "     one-on-one session, so the first graded assignment gets submitted and\n"
        "     passed.\n"
    ) in text
    assert max(len(line) for line in text.splitlines() if line.startswith("   ")) <= 76


@pytest.mark.parametrize(
    ("risk", "shown"),
    [(0.499, "49%"), (0.4996, "49%"), (0.5, "50%"), (0.3996, "39%"), (0.4, "40%"), (0.9996, "99%")],
)
def test_a_risk_never_reads_as_the_next_tier(risk: float, shown: str) -> None:
    assert tier_percent(risk, high=0.5, medium=0.4) == shown


def _one_student(risk: float, reasons: list[dict[str, str]]) -> AdvisorDigest:
    roster = Roster(
        {"s1": StudentContact("s1", "Jo Smith", "a1", ())},
        {"a1": AdvisorContact("a1", "Ana Advisor", "ana@uni.example")},
    )
    row = ScoreRow(
        student_id="s1",
        risk=risk,
        tier=tier_for(risk, high=0.5, medium=0.4),
        program_id="p1",
        reasons=reasons,
    )
    t = Thresholds(high=0.5, medium=0.4, max_students=5, worse_margin=0.05)
    [one] = select_digests([row], {}, roster, t).digests
    return one


def test_the_digest_shows_tiers_with_bounds_risks_in_tier_and_local_times() -> None:
    ctx = DigestContext(
        week="2026-10-05",
        previous_week=None,
        as_of=datetime(2026, 10, 5, 7, 0, tzinfo=UTC),
        model_version="7",
        medium=0.4,
        high=0.5,
        operator_contact="ops@uni.example",
    )
    reason = {"driver": "deadlines", "text": "has 2 items past due", "action": "Plan the work."}
    rendered = render_digest(
        template_environment(), _one_student(0.499, [reason]), ctx, "America/New_York"
    )
    text = " ".join(rendered.text.split())
    assert "Risk tiers: high = 50% or more; medium = 40% to 49%." in text
    assert "Risk: medium, 49%" in text
    assert "50%" not in text.replace("50% or more", "")
    assert "up to 2026-10-05 03:00 EDT" in text  # 07:00 UTC in the program's time zone
    html = " ".join(rendered.html.split())
    assert "medium 49%" in html
    assert "50% or more" in html
    assert "03:00 EDT" in html


def test_course_design_is_shown_apart_as_context_for_the_advisor() -> None:
    reasons = [
        {"driver": "study_rhythm", "text": "active on 2 of the last 14 days", "action": "Call."},
        {
            "driver": "course_design",
            "text": "none of the first-term courses has a staff-graded assessment",
            "action": "",
        },
    ]
    rendered = render_digest(template_environment(), _one_student(0.7, reasons), CTX)
    why, context = rendered.text.split("Course context")
    assert "active on 2 of the last 14 days" in why
    assert "staff-graded" not in why
    assert "staff-graded" in context
    assert "not the student's doing" in context
