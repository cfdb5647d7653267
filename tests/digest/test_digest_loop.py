"""Feedback changes the next digest; the holdout leaves withheld students out; links or not."""

from __future__ import annotations

import logging
from datetime import timedelta
from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path

import pytest

from earlywarn.contract import load_tables
from earlywarn.core.settings import Settings
from earlywarn.digest.run import run_digests
from earlywarn.state import open_state
from earlywarn.state.feedback import record_feedback
from earlywarn.state.holdout import assignments
from tests.web.helpers import (
    AS_OF,
    SECRET,
    STUDENT_EMAIL,
    WEEK,
    institution,
    record_week,
    settings_for,
)

WEEK1 = {"S001": 0.62, "S002": 0.45, "S004": 0.45, "S005": 0.35}
WEEK2 = {"S001": 0.62, "S002": 0.44, "S004": 0.46, "S005": 0.55}


def digests(settings: Settings, folder: Path, week_offset: int = 0) -> dict[str, str]:
    """Advisor id -> the plain text of their digest (dry run, written to the outbox folder)."""
    tables = load_tables(folder)
    as_of = AS_OF + timedelta(days=7 * week_offset)
    result = run_digests(settings, tables, as_of, send=False, clock=lambda: as_of)
    texts: dict[str, str] = {}
    for path in result.files:
        msg = message_from_bytes(path.read_bytes(), policy=policy.default)
        assert isinstance(msg, EmailMessage)
        if "operator" in str(msg["Subject"]):
            continue
        part = msg.get_body(("plain",))
        assert part is not None
        texts[str(msg["To"])] = part.get_content()
    return {("A1" if "ana" in k else "A2"): v for k, v in texts.items()}


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    return institution(tmp_path / "data")


def test_feedback_changes_the_next_digest(
    tmp_path: Path, folder: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    settings = settings_for(tmp_path, base_url="https://ew.uni.example")
    record_week(settings, AS_OF, WEEK1)
    first = digests(settings, folder)
    assert "Record what you did: https://ew.uni.example/f/" in first["A1"]
    assert "Your students' page: https://ew.uni.example/a/" in first["A1"]
    assert f"Email: {STUDENT_EMAIL}" in first["A1"]  # S001's own address, to their advisor only
    assert STUDENT_EMAIL not in first["A2"]
    assert first["A1"].index("(S001)") < first["A1"].index("(S002)")  # riskiest first

    engine = open_state(settings.state_url)
    when = AS_OF + timedelta(days=1)
    for advisor, student, choice, tier in (
        ("A1", "S002", "could_not_reach", "medium"),
        ("A2", "S004", "not_at_risk", "medium"),
        ("A2", "S005", "not_at_risk", "medium"),
    ):
        record_feedback(engine, advisor_id=advisor, student_id=student, week=WEEK, choice=choice,
                        note=None, tier=tier, now=when)  # fmt: skip
    record_week(settings, AS_OF + timedelta(days=7), WEEK2)
    second = digests(settings, folder, 1)
    a1, a2 = second["A1"], second["A2"]
    # could not reach: moved above the riskier S001, with what was recorded
    assert a1.index("(S002)") < a1.index("(S001)")
    assert "You recorded: could not reach" in a1
    assert "What you recorded last week:" in a1
    # not at risk: S004 (still medium) is left out; S005 rose to high and is listed again
    listed = [line for line in a2.splitlines() if line[:3] in ("1. ", "2. ")]
    assert len(listed) == 1
    assert "(S005)" in listed[0]
    assert "1 student you marked not at risk is not listed" in a2
    logged = "\n".join(r.getMessage() for r in caplog.records)
    for private in (SECRET, STUDENT_EMAIL, "Jo Smith", "Lee Chan"):
        assert private not in logged
    engine.dispose()


def test_without_a_key_the_digest_has_no_links(tmp_path: Path, folder: Path) -> None:
    settings = settings_for(tmp_path, secret_key=None)
    record_week(settings, AS_OF, WEEK1)
    text = digests(settings, folder)["A1"]
    assert "/f/" not in text
    assert "/a/" not in text
    assert "(S001)" in text


def test_holdout_withholds_and_never_changes(tmp_path: Path, folder: Path) -> None:
    settings = settings_for(tmp_path, holdout_share=0.5)
    record_week(settings, AS_OF, WEEK1)
    first = digests(settings, folder)
    engine = open_state(settings.state_url)
    arms = {a.student_id: a.arm for a in assignments(engine)}
    assert set(arms) == {"S001", "S002", "S004", "S005"}
    withheld = {s for s, arm in arms.items() if arm == "withhold"}
    text = "\n".join(first.values())
    for student, arm in arms.items():
        assert (f"({student})" in text) == (arm == "notify")
    # another week, a rerun and a different share: same arms, withheld students stay out
    record_week(settings, AS_OF + timedelta(days=7), WEEK2)
    again = settings_for(tmp_path, holdout_share=0.1, seed=7)
    later = "\n".join(digests(again, folder, 1).values()) + "\n".join(
        digests(again, folder, 1).values()
    )
    assert {a.student_id: a.arm for a in assignments(engine)} == arms
    for student in withheld:
        assert f"({student})" not in later
    # a fresh database with the same seed draws the same arms
    other = tmp_path / "other"
    other.mkdir()
    fresh = settings_for(other, holdout_share=0.5)
    record_week(fresh, AS_OF, WEEK1)
    digests(fresh, folder)
    fresh_engine = open_state(fresh.state_url)
    assert {a.student_id: a.arm for a in assignments(fresh_engine)} == arms
    engine.dispose()
    fresh_engine.dispose()
