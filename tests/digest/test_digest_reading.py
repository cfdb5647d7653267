"""A digest an advisor reads in a minute: heading, subject, CSV for Excel, size, dark mode, and
how it looks in a real browser (Debian's headless Chromium)."""

from __future__ import annotations

import csv
import io
import os
import shutil
import subprocess
from datetime import UTC, datetime
from email.headerregistry import Address
from pathlib import Path

import pandas as pd
import pytest

from earlywarn.core.settings import load_settings
from earlywarn.core.templating import template_environment
from earlywarn.digest.heading import (
    ProgramWeek,
    heading_for,
    model_text,
    programs_heading,
    student_program_weeks,
)
from earlywarn.digest.render import DigestContext, RenderedDigest, render_digest
from earlywarn.digest.selection import (
    AdvisorContact,
    AdvisorDigest,
    Roster,
    StudentContact,
    Thresholds,
    select_digests,
)
from earlywarn.mail.message import Attachment, build_message, message_bytes
from earlywarn.state import ScoreRow, tier_for

AS_OF = datetime(2026, 10, 5, 7, 0, tzinfo=UTC)
TRAINED = datetime(2026, 9, 14, 18, 30, tzinfo=UTC)
CTX = DigestContext(
    week="2026-10-05",
    previous_week="2026-09-28",
    as_of=AS_OF,
    model_version="7",
    medium=0.3,
    operator_contact="ops@uni.example",
    model_trained_at=TRAINED,
)
HEADING = "Data Science BSc, week 4 of term"
CHROMIUM = Path("/usr/bin/chromium")
BROWSER_ENV = "EW_TEST_BROWSER"  # "required" in .ci/run: fail instead of skipping
SCREENSHOTS_ENV = "EW_TEST_SCREENSHOTS"  # a folder to keep the screenshot in


def reasons(i: int) -> list[dict[str, str]]:
    return [
        {
            "driver": "first_deadline_missed",
            "text": f"Missed the first graded deadline in Statistics I (quiz {i % 4 + 1}).",
            "action": "Call before Friday's quiz and agree on a catch-up date.",
        },
        {
            "driver": "days_active",
            "text": "Active on 2 of the last 14 days, fewer than most students in the course.",
            "action": "Share the study-plan template and book a 15-minute check-in.",
        },
        {
            "driver": "forum",
            "text": "No posts or replies in the course forums since the term began.",
            "action": "Introduce the peer study group for the course.",
        },
    ]


def advisor_digest(n: int, *, max_students: int, new_from: int = 0) -> AdvisorDigest:
    """``n`` at-risk students of one advisor; those from ``new_from`` on were not at risk last
    week."""
    ids = [f"S{i:04d}" for i in range(n)]
    students = {
        s: StudentContact(
            s,
            f"Maximiliane Östergaard-Nakamura {i}",
            "A1",
            ("Statistics I: Foundations of Data Analysis", "Academic Writing for the Sciences"),
        )
        for i, s in enumerate(ids)
    }
    roster = Roster(students, {"A1": AdvisorContact("A1", "Ana Advisor", "ana@uni.example")})
    t = Thresholds(high=0.5, medium=0.3, max_students=max_students, worse_margin=0.05)
    scores = [
        ScoreRow(
            student_id=s,
            risk=round(0.95 - 0.6 * i / max(n, 1), 3),
            tier=tier_for(round(0.95 - 0.6 * i / max(n, 1), 3), high=0.5, medium=0.3),
            program_id="DS",
            advisor_id="A1",
            reasons=reasons(i),
        )
        for i, s in enumerate(ids)
    ]
    previous = dict.fromkeys(ids[:new_from], 0.4)
    [d] = select_digests(scores, previous, roster, t).digests
    return d


def test_heading_and_subject_name_the_program_week_and_counts() -> None:
    d = advisor_digest(7, max_students=10, new_from=5)
    rendered = render_digest(template_environment(), d, CTX, heading=HEADING)
    assert rendered.subject == (
        "7 students to contact, 2 new this week (Data Science BSc, week 4 of term; 2026-10-05)"
    )
    assert rendered.text.startswith(
        "Data Science BSc, week 4 of term\n7 students to contact, 2 new this week\n"
    )
    assert f'<p class="kicker" style="{_style(rendered.html, "kicker")}">{HEADING}</p>' in (
        rendered.html
    )
    assert "7 students to contact, 2 new this week</h1>" in rendered.html
    # The model by its training date, never by its registry number alone.
    assert "scores from the model trained on 14 Sep 2026" in rendered.text
    assert "scores from the model trained on 14 Sep 2026" in rendered.html
    assert "model 7" not in rendered.text
    assert "model 7" not in rendered.html


def _style(html: str, cls: str) -> str:
    start = html.index(f'class="{cls}" style="') + len(f'class="{cls}" style="')
    return html[start : html.index('"', start)]


def test_without_a_known_training_date_the_model_is_named_by_version() -> None:
    assert model_text(None, "7") == "model version 7"
    assert model_text(TRAINED, "7") == "the model trained on 14 Sep 2026"


def test_a_digest_spanning_programs_names_the_most_common_first() -> None:
    ds, nu, law = (
        ProgramWeek("Data Science BSc", 4),
        ProgramWeek("Nursing", 3),
        ProgramWeek("Law", None),
    )
    weeks = {"a": ds, "b": nu, "c": nu, "d": law}
    assert heading_for(["a", "b", "c"], weeks) == (
        "Nursing, week 3 of term and Data Science BSc, week 4 of term"
    )
    assert (
        programs_heading([ds, nu, law]) == "Data Science BSc, week 4 of term and 2 other programs"
    )
    assert heading_for(["d"], weeks) == "Law"  # its term has not started or is over
    assert heading_for([], weeks) == ""


def test_the_week_of_term_is_counted_on_the_programs_local_calendar(tmp_path: Path) -> None:
    from earlywarn.contract.tables import Tables

    programs = pd.DataFrame(
        {
            "program_id": ["DS", "TK"],
            "name": ["Data Science BSc", "Tokyo Online MBA"],
            "timezone": ["America/New_York", "Asia/Tokyo"],
        }
    )
    terms = pd.DataFrame(
        {
            "term_id": ["DS-F26", "TK-F26"],
            "program_id": ["DS", "TK"],
            "start_date": pd.to_datetime(["2026-09-07", "2026-09-08"]),
            "end_date": pd.to_datetime(["2026-12-18", "2026-12-18"]),
        }
    )
    students = pd.DataFrame(
        {
            "student_id": ["s1", "s2"],
            "program_id": ["DS", "TK"],
            "first_term_id": ["DS-F26", "TK-F26"],
        }
    )
    empty = pd.DataFrame()
    tables = Tables(programs, terms, students, empty, empty, empty, empty)
    # Monday 5 Oct 2026, 02:00 UTC: still Sunday 4 Oct in New York (day 27 of term: week 4),
    # already Monday 5 Oct in Tokyo (day 27 after 8 Sep: week 4).
    weeks = student_program_weeks(tables, datetime(2026, 10, 5, 2, 0, tzinfo=UTC))
    assert weeks == {
        "s1": ProgramWeek("Data Science BSc", 4),
        "s2": ProgramWeek("Tokyo Online MBA", 4),
    }
    # A day later New York reaches day 28 after 7 Sep: week 5.
    later = student_program_weeks(tables, datetime(2026, 10, 5, 12, 0, tzinfo=UTC))
    assert later["s1"].week == 5
    assert student_program_weeks(tables, datetime(2027, 1, 4, tzinfo=UTC))["s1"].week is None


def test_the_csv_opens_in_excel_with_one_action_per_column() -> None:
    rendered = render_digest(template_environment(), advisor_digest(3, max_students=2), CTX)
    raw = rendered.csv_text.encode("utf-8")
    assert raw.startswith(b"\xef\xbb\xbf")  # the byte order mark Excel needs for UTF-8
    rows = list(csv.DictReader(io.StringIO(raw.decode("utf-8-sig"))))
    assert [r["student_id"] for r in rows] == ["S0000", "S0001", "S0002"]  # the whole list
    assert rows[0]["name"] == "Maximiliane Östergaard-Nakamura 0"
    assert rows[0]["action_1"] == "Call before Friday's quiz and agree on a catch-up date."
    assert rows[0]["action_2"] == "Share the study-plan template and book a 15-minute check-in."
    assert "suggested_actions" not in rows[0]


def _email(rendered: RenderedDigest) -> bytes:
    msg = build_message(
        to=Address("Ana Advisor", "ana", "uni.example"),
        mail_from=Address("earlywarn", "earlywarn", "uni.example"),
        subject=rendered.subject,
        text=rendered.text,
        html=rendered.html,
        date=AS_OF,
        attachments=(Attachment(rendered.csv_name, rendered.csv_text),),
    )
    return message_bytes(msg)


def test_the_email_for_fifty_students_stays_under_100_kb(tmp_path: Path) -> None:
    settings = load_settings(tmp_path)
    d = advisor_digest(50, max_students=settings.digest_max_students, new_from=40)
    data = _email(render_digest(template_environment(), d, CTX, heading=HEADING))
    assert len(data) < 100_000, f"{len(data)} bytes"


def test_dark_mode_is_declared_and_survives_inlining() -> None:
    html = render_digest(template_environment(), advisor_digest(2, max_students=5), CTX).html
    assert '<meta name="color-scheme" content="light dark">' in html
    # Mail clients that honour prefers-color-scheme need the rules in a <style> block; the
    # light colours are inlined on each element.
    style = html[html.index("<style>") : html.index("</style>")]
    assert "@media (prefers-color-scheme: dark)" in style
    assert "background: #161b22 !important" in style
    assert 'style="' in html


# ---------------------------------------------------------------- a real browser


def _chromium() -> Path:
    if not CHROMIUM.exists():
        if os.environ.get(BROWSER_ENV, "").lower() == "required":
            pytest.fail(
                f"{BROWSER_ENV}=required but {CHROMIUM} is missing (apt-get install chromium)"
            )
        pytest.skip(f"no {CHROMIUM} (Debian's chromium package)")
    return CHROMIUM


_PROBE = """<script>
(function () {
  var right = 0;
  document.querySelectorAll("body *").forEach(function (el) {
    right = Math.max(right, el.getBoundingClientRect().right);
  });
  var body = getComputedStyle(document.body);
  var page = document.querySelector(".page");
  var b = document.body;
  b.setAttribute("data-scroll-width", document.documentElement.scrollWidth);
  b.setAttribute("data-right", Math.ceil(right));
  b.setAttribute("data-page-background", getComputedStyle(page).backgroundColor);
  b.setAttribute("data-text-color", body.color);
})();
</script></body>"""


def _browser(page: Path, *args: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [
            str(_chromium()),
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-background-networking",
            "--disable-component-update",
            "--no-first-run",
            "--hide-scrollbars",
            f"--user-data-dir={page.parent / ('profile-' + page.stem + str(len(args)))}",
            "--window-size=600,1600",
            *args,
            page.as_uri(),
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )


def _probed(dom: str) -> dict[str, str]:
    start = dom.index("<body ")
    tag = dom[start : dom.index(">", start)]
    found: dict[str, str] = {}
    for part in tag.split("data-")[1:]:
        key, _, rest = part.partition('="')
        found[key] = rest[: rest.index('"')]
    return found


def _rgb(css: str) -> tuple[int, ...]:
    return tuple(int(v) for v in css[css.index("(") + 1 : css.index(")")].split(",")[:3])


def test_the_digest_renders_in_headless_chromium_within_600_px_light_and_dark(
    tmp_path: Path,
) -> None:
    from PIL import Image

    _chromium()
    d = advisor_digest(12, max_students=10, new_from=8)
    html = render_digest(template_environment(), d, CTX, heading=HEADING).html
    page = tmp_path / "digest.html"
    page.write_text(html, encoding="utf-8")
    probe = tmp_path / "probe.html"
    probe.write_text(html.replace("</body>", _PROBE), encoding="utf-8")
    shot = tmp_path / "digest.png"
    runs = [
        _browser(page, f"--screenshot={shot}"),
        _browser(probe, "--dump-dom"),
        _browser(probe, "--dump-dom", "--force-dark-mode"),
    ]
    out = []
    for run in runs:
        stdout, _ = run.communicate(timeout=120)
        assert run.returncode == 0
        out.append(stdout)
    light, dark = _probed(out[1]), _probed(out[2])

    # Nothing is wider than a 600 px phone or mail pane: no sideways scrolling.
    assert int(light["scroll-width"]) <= 600, light
    assert int(light["right"]) <= 600, light
    # Light: dark text on a white page. Dark mode: light text on a dark page.
    assert _rgb(light["page-background"]) == (255, 255, 255)
    assert max(_rgb(light["text-color"])) < 80
    assert max(_rgb(dark["page-background"])) < 60, dark
    assert min(_rgb(dark["text-color"])) > 180, dark

    # The screenshot is a page, not a blank: many pixels differ from the background.
    with Image.open(shot) as image:
        rgb = image.convert("RGB")
    width, height = rgb.size
    assert width == 600
    colors = rgb.getcolors(maxcolors=width * height)
    assert colors is not None
    _, background = max(colors)
    inked = sum(
        n for n, c in colors if sum(abs(a - b) for a, b in zip(c, background, strict=True)) > 60
    )
    assert inked / (width * height) > 0.01
    assert len(colors) > 50  # text, badges and rules, not one flat colour
    keep = os.environ.get(SCREENSHOTS_ENV)
    if keep:
        Path(keep).mkdir(parents=True, exist_ok=True)
        shutil.copyfile(shot, Path(keep) / "digest.png")
