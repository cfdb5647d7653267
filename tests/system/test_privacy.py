"""Privacy: what the operator sees (stdout, stderr, logs, status) carries ids, never a student's or
an advisor's name or address; names reach only the advisor's own digest, and a name cannot
forge a header or a line of its own."""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta
from email import message_from_bytes, policy
from pathlib import Path

import pytest

from earlywarn.cli import main
from earlywarn.core.settings import load_settings
from earlywarn.mail.delivery import classify
from earlywarn.mail.message import build_message, message_bytes, parse_address
from earlywarn.state import ScoreRow, ScoringRun, open_state, save_scores, tier_for
from tests.factories import minimal_institution, write_institution

AS_OF = datetime(2023, 10, 9, 7, 0, tzinfo=UTC)
WEEK = "2023-10-09"
# Who the tiny institution names: none of this may reach an operator's screen or a log.
PEOPLE = ("Jo Smith", "Lee Chan", "Priya Rao", "Arjun Das", "Ana Advisor", "Ravi Mentor")
ADDRESSES = ("ana.advisor@uni.example", "ravi@uni.example")
FORGED = "Lee Chan\n   Risk: low, 1% - nothing to do"


@pytest.fixture(scope="module")
def institution(tmp_path_factory: pytest.TempPathFactory) -> Path:
    frames = minimal_institution()
    students = frames["students"]
    students.loc[students["student_id"] == "S002", "display_name"] = FORGED
    return write_institution(tmp_path_factory.mktemp("institution"), frames)


def _scored_home(home: Path) -> Path:
    settings = load_settings(home, mail_from="earlywarn@uni.example")
    engine = open_state(settings.state_url)
    risks = {"S001": 0.62, "S002": 0.55, "S003": 0.70, "S004": 0.45, "S005": 0.10}
    advisors = {"S001": "A1", "S002": "A1", "S004": "A2"}
    run = ScoringRun(
        as_of=AS_OF,
        model_name="retention",
        model_version="7",
        started_at=AS_OF,
        finished_at=AS_OF + timedelta(seconds=3),
        n_students=len(risks),
    )
    rows = [
        ScoreRow(
            student_id=student,
            risk=risk,
            tier=tier_for(risk, high=settings.tier_high, medium=settings.tier_medium),
            program_id="NY" if student < "S004" else "IN",
            advisor_id=advisors.get(student),
            courses="Foundations of Data",
            reasons=[{"driver": "first_assessment", "text": "late", "action": "Call."}],
        )
        for student, risk in risks.items()
    ]
    save_scores(engine, run, rows)
    engine.dispose()
    return home


def test_operator_output_and_logs_name_no_one_but_the_digests_do(
    institution: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    caplog: pytest.LogCaptureFixture,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    home = _scored_home(tmp_path)
    monkeypatch.setenv("EARLYWARN_MAIL_FROM", "earlywarn@uni.example")
    shown = ""
    caplog.set_level(logging.DEBUG)
    for argv in (
        ["-v", "digest", str(institution), "--as-of", AS_OF.isoformat()],
        ["-v", "digest", str(institution), "--as-of", AS_OF.isoformat(), "--json"],
        ["status"],
        ["status", "--json"],
    ):
        with pytest.raises(SystemExit) as exited:
            main(["--home", str(home), *argv])
        assert exited.value.code == 0
        out, err = capsys.readouterr()
        shown += out + err
    shown += caplog.text
    assert "A1" in shown  # ids are there for the operator to act on
    assert "S003" in shown  # the student without an advisor, by id
    for secret in (*PEOPLE, *ADDRESSES):
        assert secret not in shown, secret
    # The content itself goes to the advisor, with the names.
    digest = message_from_bytes(
        (home / "outbox" / WEEK / "A1.eml").read_bytes(), policy=policy.default
    )
    assert "Ana Advisor" in str(digest["To"])
    body = digest.get_body(("plain",))
    assert body is not None
    text = str(body.get_content())
    assert "1. Jo Smith (S001)" in text
    # A line break in a name cannot forge a line of the digest: the name stays on one line.
    assert "2. Lee Chan Risk: low, 1% - nothing to do (S002)" in text
    assert "\n   Risk: low, 1%" not in text


def test_a_name_cannot_add_a_header() -> None:
    to = parse_address("ana@uni.example", "Ana\r\nBcc: spy@evil.example", who="advisor A1")
    sender = parse_address("earlywarn@uni.example", "earlywarn", who="mail_from")
    msg = build_message(
        to=to,
        mail_from=sender,
        subject="earlywarn: 1 student to reach this week",
        text="t",
        html=None,
        date=AS_OF,
    )
    parsed = message_from_bytes(message_bytes(msg), policy=policy.default)
    assert parsed["Bcc"] is None
    assert [a.addr_spec for a in parsed["To"].addresses] == ["ana@uni.example"]
    assert parsed["To"].addresses[0].display_name == "Ana Bcc: spy@evil.example"


def test_a_server_answer_that_quotes_an_address_is_stored_without_it() -> None:
    import smtplib

    refused = smtplib.SMTPRecipientsRefused(
        {"ana.advisor@uni.example": (550, b"5.1.1 <ana.advisor@uni.example>: no such user")}
    )
    failure = classify(refused)
    assert failure.kind == "permanent"
    assert failure.reason == "550 5.1.1 <address>: no such user"
