"""`earlywarn demo`: the whole story on a small generated institution, as a newcomer runs it."""

from __future__ import annotations

import os
import subprocess
import sys
from email import policy
from email.parser import BytesParser
from pathlib import Path

import pytest


@pytest.mark.slow
def test_demo_runs_every_step_and_leaves_digests_and_a_champion(tmp_path: Path) -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "earlywarn", "demo", "--students", "900", "--programs", "3"],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        env={**os.environ, "EARLYWARN_HOME": str(tmp_path)},
        timeout=600,
    )
    assert proc.returncode == 0, proc.stderr
    out = proc.stdout
    for number, step in enumerate(
        ("generate", "validate", "train", "promote", "score", "digest"), start=1
    ):
        assert f"[{number}/6] {step}:" in out
    assert "Traceback" not in proc.stderr

    # The institution, the MLflow store and the state database all live under the home.
    assert (tmp_path / "demo" / "institution" / "_truth" / "drivers.json").is_file()
    assert (tmp_path / "mlruns" / "mlflow.db").is_file()
    assert (tmp_path / "earlywarn.db").is_file()

    # Each advisor digest is a real multipart message addressed to one advisor.
    digests = sorted((tmp_path / "outbox").glob("*/*.eml"))
    advisors = [p for p in digests if not p.name.startswith("__")]
    assert advisors, "the demo wrote no advisor digest"
    message = BytesParser(policy=policy.default).parsebytes(advisors[0].read_bytes())
    assert message["To"]
    assert "@example.edu" in message["To"]
    plain = message.get_body(preferencelist=("plain",))
    html = message.get_body(preferencelist=("html",))
    assert plain is not None
    assert html is not None
    text = str(plain.get_content())
    # The digest shown on screen is the plain text of a real advisor's message.
    assert text.strip().splitlines()[0] in out
    assert "Suggested:" in text
    assert "%" in text
    assert "earlywarn --home" in out
    assert "status" in out
