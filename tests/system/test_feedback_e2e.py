"""From the inbox to the next digest, with real parts: a digest sent to the loopback SMTP server,
its feedback link opened in headless Chromium (Playwright driving Debian's chromium) against
`earlywarn serve` (uvicorn on a free port), the choice confirmed and stored, and the next
week's digest showing it. Screenshots go to $FEEDBACK_SCREENSHOTS_DIR (default: tmp_path)."""

from __future__ import annotations

import logging
import os
import re
from datetime import timedelta
from pathlib import Path

import pytest

from earlywarn.contract import load_tables
from earlywarn.digest.run import run_digests
from earlywarn.mail.senders import SMTPSender
from earlywarn.state import open_state
from earlywarn.state.feedback import list_feedback
from earlywarn.web.app import create_app
from earlywarn.web.roster import current_roster
from tests.fixtures.smtp import SMTPServer, free_port
from tests.web.helpers import (
    AS_OF,
    SECRET,
    STUDENT_EMAIL,
    WEEK,
    LiveServer,
    institution,
    record_week,
    settings_for,
)

CHROMIUM = "/usr/bin/chromium"
ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
]

pytestmark = pytest.mark.skipif(
    not Path(CHROMIUM).exists(), reason="needs Debian's chromium (apt-get install -y chromium)"
)


def _a1_text(server: SMTPServer, start: int = 0) -> str:
    for received in server.received[start:]:
        if "ana.advisor@uni.example" in received.rcpt_tos:
            part = received.message.get_body(("plain",))
            assert part is not None
            return str(part.get_content())
    raise AssertionError("no digest reached advisor A1")


def test_feedback_from_the_email_to_the_next_digest(
    tmp_path: Path, smtp_server: SMTPServer, caplog: pytest.LogCaptureFixture
) -> None:
    from playwright.sync_api import sync_playwright

    caplog.set_level(logging.DEBUG)
    shots = Path(os.environ.get("FEEDBACK_SCREENSHOTS_DIR") or tmp_path)
    shots.mkdir(parents=True, exist_ok=True)
    folder = institution(tmp_path / "data")
    port = free_port()
    home = tmp_path / "home"
    home.mkdir()
    settings = settings_for(
        home,
        base_url=f"http://127.0.0.1:{port}",
        data_dir=str(folder),
        operator_email="ops@uni.example",
        **smtp_server.settings_overrides(),
    )
    tables = load_tables(folder)
    record_week(settings, AS_OF)
    sender = SMTPSender.from_settings(settings)
    run_digests(settings, tables, AS_OF, send=True, sender=sender, clock=lambda: AS_OF)
    text = _a1_text(smtp_server)
    found = re.search(r"Jo Smith \(S001\).*?Record what you did: (\S+)", text, re.S)
    assert found, text
    link = found.group(1)
    page_link = re.search(r"Your students' page: (\S+)", text)
    assert page_link is not None

    engine = open_state(settings.state_url)
    app = create_app(settings, engine, current_roster(settings))
    with LiveServer(app, port), sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        page = browser.new_page(viewport={"width": 390, "height": 844})  # a phone
        page.goto(link)
        assert "Jo Smith" in page.content()
        assert list_feedback(engine) == []  # opening the link records nothing
        page.get_by_label("Could not reach").check()
        page.get_by_role("button", name="Record").click()
        page.wait_for_selector("#confirmation")
        assert page.inner_text("#confirmation") == "Recorded: could not reach"
        page.screenshot(path=str(shots / "confirmation.png"), full_page=True)
        page.goto(page_link.group(1))
        body = page.inner_text("body")
        assert "Jo Smith" in body
        assert "Recorded: could not reach" in body
        assert "Priya Rao" not in body  # A2's student
        page.screenshot(path=str(shots / "advisor-page.png"), full_page=True)
        browser.close()

    rows = list_feedback(engine)
    assert [(r.advisor_id, r.student_id, r.week, r.choice) for r in rows] == [
        ("A1", "S001", WEEK, "could_not_reach")
    ]
    before = len(smtp_server.received)
    next_week = AS_OF + timedelta(days=7)
    record_week(settings, next_week)
    run_digests(settings, tables, next_week, send=True, sender=sender, clock=lambda: next_week)
    following = _a1_text(smtp_server, before)
    assert "What you recorded last week:" in following
    assert "Jo Smith (S001): could not reach" in following
    assert "You recorded: could not reach" in following
    # Every log line but the test SMTP server's own (aiosmtpd's "mail.log" echoes the messages).
    logged = "\n".join(r.getMessage() for r in caplog.records if r.name != "mail.log")
    assert "feedback: advisor A1, student S001" in logged
    for private in (SECRET, STUDENT_EMAIL, "Jo Smith", link.rsplit("/", 1)[1]):
        assert private not in logged
    engine.dispose()
