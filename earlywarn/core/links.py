"""Signed links from a digest into ``earlywarn serve``.

A link carries who it was made for (the advisor), what it is about (a student, or the advisor's
page) and the digest week, signed with ``Settings.secret_key`` by itsdangerous (HMAC-SHA1 over
the payload and the time it was made). Anyone can read a link's ids; nobody without the key can
change them or make a new one. A link older than ``Settings.link_max_age_days`` is refused.
The key itself never leaves this module's callers' memory: it is not logged and not shown.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Literal

from earlywarn.core.errors import LinkRefused

Kind = Literal["student", "advisor"]
_SALTS: dict[Kind, str] = {"student": "earlywarn.feedback", "advisor": "earlywarn.advisor-page"}
_PATHS: dict[Kind, str] = {"student": "/f/", "advisor": "/a/"}


@dataclass(frozen=True)
class LinkClaim:
    """What a valid link says: made for ``advisor_id``, about ``student_id`` (None: the page)."""

    kind: Kind
    advisor_id: str
    week: str
    student_id: str | None
    issued_at: datetime


def _serializer(secret: str, kind: Kind):  # type: ignore[no-untyped-def]
    from itsdangerous import URLSafeTimedSerializer

    return URLSafeTimedSerializer(secret, salt=_SALTS[kind])


def make_token(
    secret: str, kind: Kind, advisor_id: str, week: str, student_id: str | None = None
) -> str:
    """A signed, URL-safe token for one advisor (and one student when ``kind`` is student)."""
    payload = {"a": advisor_id, "w": week}
    if kind == "student":
        if student_id is None:
            raise ValueError("a student link needs a student_id")
        payload["s"] = student_id
    token: str = _serializer(secret, kind).dumps(payload)
    return token


def make_url(
    base_url: str,
    secret: str,
    kind: Kind,
    advisor_id: str,
    week: str,
    student_id: str | None = None,
) -> str:
    """The full link: ``base_url`` + ``/f/<token>`` (student) or ``/a/<token>`` (advisor page)."""
    return (
        base_url.rstrip("/") + _PATHS[kind] + make_token(secret, kind, advisor_id, week, student_id)
    )


def read_token(
    secret: str, kind: Kind, token: str, *, max_age_days: int, now: datetime
) -> LinkClaim:
    """The claim of a valid ``token``; :class:`LinkRefused` when it is tampered with or expired."""
    from itsdangerous import BadSignature

    try:
        payload, signed_at = _serializer(secret, kind).loads(token, return_timestamp=True)
    except BadSignature as exc:
        raise LinkRefused("tampered") from exc
    issued = signed_at if signed_at.tzinfo else signed_at.replace(tzinfo=UTC)
    age = now - issued
    if age.total_seconds() > max_age_days * 86400 or age.total_seconds() < -300:
        raise LinkRefused("expired")
    if not isinstance(payload, dict) or not isinstance(payload.get("a"), str):
        raise LinkRefused("tampered")
    student = payload.get("s")
    if kind == "student" and not isinstance(student, str):
        raise LinkRefused("tampered")
    return LinkClaim(
        kind=kind,
        advisor_id=payload["a"],
        week=str(payload.get("w", "")),
        student_id=student if kind == "student" else None,
        issued_at=issued,
    )
