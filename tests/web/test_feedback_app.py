"""earlywarn serve's links: only a POST from the page records; bad links record nothing."""

from __future__ import annotations

import logging
import re
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import Engine

from earlywarn.core.links import Kind, make_url
from earlywarn.core.time import now
from earlywarn.state import open_state
from earlywarn.state.feedback import list_feedback
from earlywarn.web.app import create_app
from earlywarn.web.roster import current_roster
from tests.fixtures.smtp import free_port
from tests.web.helpers import (
    AS_OF,
    SECRET,
    STUDENT_EMAIL,
    WEEK,
    LiveServer,
    fetch,
    institution,
    record_week,
    settings_for,
)

# Links are signed at the real time; the app's clock is the real time plus a shift.
Served = tuple[LiveServer, Engine, dict[str, timedelta]]


@pytest.fixture
def served(tmp_path: Path) -> Iterator[Served]:
    data = institution(tmp_path / "data")
    home = tmp_path / "home"
    home.mkdir()
    port = free_port()
    settings = settings_for(home, base_url=f"http://127.0.0.1:{port}", data_dir=str(data))
    record_week(settings, AS_OF)
    engine = open_state(settings.state_url)
    clock = {"shift": timedelta(0)}
    app = create_app(
        settings, engine, current_roster(settings), clock=lambda: now() + clock["shift"]
    )
    with LiveServer(app, port) as server:
        yield server, engine, clock
    engine.dispose()


def link(server: LiveServer, advisor: str, student: str | None = None, secret: str = SECRET) -> str:
    kind: Kind = "student" if student else "advisor"
    return make_url(server.url, secret, kind, advisor, WEEK, student)


def form_key(page: str) -> str:
    found = re.search(r'name="form_key" value="([^"]+)"', page)
    assert found, page
    return found.group(1)


def test_get_shows_the_row_and_records_nothing_post_records_and_replaces(served: Served) -> None:
    server, engine, _ = served
    url = link(server, "A1", "S001")
    status, page = fetch(url)
    assert status == 200
    assert "Jo Smith" in page
    assert "62%" in page
    assert "Could not reach" in page
    assert STUDENT_EMAIL in page  # the student's own address, to their advisor
    assert list_feedback(engine) == []
    key = form_key(page)
    status, done = fetch(url, {"form_key": key, "choice": "could_not_reach"})
    assert status == 200
    assert "Recorded: could not reach" in done
    assert "replaces" not in done
    status, again = fetch(url, {"form_key": key, "choice": "flagged_wrongly", "note": "moved"})
    assert status == 200
    assert "Recorded: flagged wrongly" in again
    assert "replaces what you recorded before" in again
    assert "could not reach" in again
    rows = list_feedback(engine)
    assert [(r.advisor_id, r.student_id, r.week, r.choice, r.note) for r in rows] == [
        ("A1", "S001", WEEK, "flagged_wrongly", "moved")
    ]


def test_bad_links_get_403_and_record_nothing(
    served: Served, caplog: pytest.LogCaptureFixture
) -> None:
    server, engine, clock = served
    caplog.set_level(logging.DEBUG)
    good = link(server, "A1", "S001")
    _, page = fetch(good)
    key = form_key(page)
    token = good.rsplit("/", 1)[1]
    tampered = good[: -len(token)] + token[:-2] + ("AA" if not token.endswith("AA") else "BB")
    other_advisor = link(server, "A2", "S001")  # A2 does not advise S001
    forged = link(server, "A1", "S001", secret="not-the-key")
    for url in (tampered, other_advisor, forged):
        assert fetch(url)[0] == 403
        status, body = fetch(url, {"form_key": key, "choice": "reached_out"})
        assert status == 403
        assert "cannot be used" in body
    # a POST that did not come from the page (no form key) is refused too
    assert fetch(good, {"choice": "reached_out"})[0] == 403
    clock["shift"] = timedelta(days=22)  # past link_max_age_days (21)
    assert fetch(good)[0] == 403
    assert fetch(good, {"form_key": key, "choice": "reached_out"})[0] == 403
    assert list_feedback(engine) == []
    logged = "\n".join(r.getMessage() for r in caplog.records)
    assert "link refused" in logged
    for private in (SECRET, token, "Jo Smith", STUDENT_EMAIL):
        assert private not in logged


def test_advisor_page_shows_only_that_advisors_students(served: Served) -> None:
    server, _engine, _ = served
    status, a1 = fetch(link(server, "A1"))
    assert status == 200
    assert "S001" in a1
    assert "S002" in a1
    assert "Jo Smith" in a1
    assert "S004" not in a1
    assert "S005" not in a1
    assert "Priya Rao" not in a1
    status, a2 = fetch(link(server, "A2"))
    assert status == 200
    assert "S004" in a2
    assert "S001" not in a2
    assert "S002" not in a2
    assert "Jo Smith" not in a2
    assert STUDENT_EMAIL not in a2
    # the page's own links work, and lead only to that advisor's students
    first = re.search(r'href="(http://127\.0\.0\.1:\d+/f/[^"]+)"', a2)
    assert first is not None
    status, page = fetch(first.group(1))
    assert status == 200
    assert "Priya Rao" in page
