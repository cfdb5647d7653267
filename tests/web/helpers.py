"""A scored institution, a digest run and `earlywarn serve` on loopback, for the feedback tests."""

from __future__ import annotations

import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from earlywarn.core.settings import Settings, load_settings
from earlywarn.state import ScoreRow, ScoringRun, open_state, save_scores, tier_for
from tests.factories import minimal_institution, write_institution
from tests.fixtures.smtp import free_port

SECRET = "test-secret-key-0123456789abcdef"
BASE = "http://127.0.0.1:1"  # replaced by the live server's address where it runs
AS_OF = datetime(2023, 10, 9, 7, 0, tzinfo=UTC)  # Monday: week 2023-10-09
WEEK = "2023-10-09"
ADVISOR_OF = {"S001": "A1", "S002": "A1", "S004": "A2", "S005": "A2"}
RISKS = {"S001": 0.62, "S002": 0.45, "S004": 0.55, "S005": 0.35}
STUDENT_EMAIL = "jo.student@mail.example"


def institution(folder: Path) -> Path:
    frames = minimal_institution()
    students = frames["students"]
    students["email"] = ""
    students["phone"] = ""
    students.loc[students["student_id"] == "S001", "email"] = STUDENT_EMAIL
    students.loc[students["student_id"] == "S001", "phone"] = "+1 555 0100"
    return write_institution(folder, frames)


def settings_for(home: Path, base_url: str = BASE, **extra: Any) -> Settings:
    (home / "earlywarn.toml").write_text("tier_medium = 0.3\n")
    overrides: dict[str, Any] = {
        "mail_from": "earlywarn@uni.example",
        "secret_key": SECRET,
        "base_url": base_url,
    }
    overrides.update(extra)
    return load_settings(home, **overrides)


def record_week(settings: Settings, as_of: datetime, risks: dict[str, float] = RISKS) -> None:
    engine = open_state(settings.state_url)
    run = ScoringRun(
        as_of=as_of,
        model_name="retention",
        model_version="7",
        started_at=as_of,
        finished_at=as_of + timedelta(seconds=3),
        n_students=len(risks),
    )
    rows = [
        ScoreRow(
            student_id=s,
            risk=r,
            tier=tier_for(r, high=settings.tier_high, medium=settings.tier_medium),
            program_id="NY" if s < "S004" else "IN",
            advisor_id=ADVISOR_OF.get(s),
            courses="Foundations of Data",
            reasons=[{"driver": "first_deadline_missed", "text": f"Missed a deadline ({s}).",
                      "action": "Call this week."}],
        )
        for s, r in risks.items()
    ]  # fmt: skip
    save_scores(engine, run, rows)
    engine.dispose()


class LiveServer:
    """uvicorn serving an app on a free loopback port, in a thread."""

    def __init__(self, app: Any, port: int | None = None) -> None:
        import uvicorn

        self.port = port or free_port()
        config = uvicorn.Config(
            app, host="127.0.0.1", port=self.port, log_level="warning", access_log=False,
            lifespan="off",
        )  # fmt: skip
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def __enter__(self) -> LiveServer:
        self.thread.start()
        deadline = time.monotonic() + 10
        while not self.server.started:
            if time.monotonic() > deadline:
                raise RuntimeError("uvicorn did not start")
            time.sleep(0.02)
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=10)


def fetch(url: str, form: dict[str, str] | None = None) -> tuple[int, str]:
    data = urllib.parse.urlencode(form).encode() if form is not None else None
    try:
        with urllib.request.urlopen(urllib.request.Request(url, data=data), timeout=10) as r:
            return r.status, r.read().decode()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read().decode()
