"""The one small interface every message leaves through, and its two implementations.

:class:`SMTPSender` hands messages to a mail server; :class:`FolderSender` writes them as ``.eml``
files (``--dry-run``, and an operator summary with nowhere to go). :class:`SMTPSender` raises
:class:`SendError`, which says how far the message got (the session never opened, the envelope,
or the content was handed over) with what the transport raised; :mod:`earlywarn.mail.delivery`
decides from both whether the server is down, the message may be retried, or its fate is unknown.
"""

from __future__ import annotations

import logging
import os
import re
import smtplib
import ssl
from hashlib import sha1
from pathlib import Path
from typing import TYPE_CHECKING, Literal, Protocol

from earlywarn.core.errors import SendError, Stage

if TYPE_CHECKING:
    from earlywarn.core.settings import Settings
    from earlywarn.state.outbox import OutgoingMessage

log = logging.getLogger(__name__)

Security = Literal["none", "starttls", "ssl"]
_LEADING_DOT = re.compile(rb"(?m)^\.")


class Sender(Protocol):
    """Something that delivers one rendered message, or raises."""

    def send(self, message: OutgoingMessage) -> None: ...

    def close(self) -> None: ...


def eml_name(recipient_id: str) -> str:
    """A safe file name for a recipient id (ids are free text; a hash keeps altered ones unique)."""
    safe = re.sub(r"[^A-Za-z0-9._-]", "_", recipient_id).lstrip(".") or "_"
    if safe != recipient_id:
        safe = f"{safe}-{sha1(recipient_id.encode('utf-8')).hexdigest()[:8]}"
    return f"{safe}.eml"


class FolderSender:
    """Writes each message to ``<folder>/<week>/<recipient id>.eml`` (atomically, replacing)."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.written: list[Path] = []

    def path_for(self, message: OutgoingMessage) -> Path:
        return self.folder / message.week / eml_name(message.recipient_id)

    def send(self, message: OutgoingMessage) -> None:
        path = self.path_for(message)
        path.parent.mkdir(parents=True, exist_ok=True)
        partial = path.with_name(path.name + ".partial")
        partial.write_bytes(message.data)
        os.replace(partial, path)
        self.written.append(path)
        log.info("wrote %s message for week %s to the outbox folder", message.kind, message.week)

    def close(self) -> None:
        return None


class SMTPSender:
    """Delivers over one SMTP connection, opened on first use and reopened after any failure."""

    def __init__(
        self,
        *,
        host: str,
        port: int,
        security: Security = "starttls",
        user: str | None = None,
        password: str | None = None,
        timeout: float = 30.0,
        ssl_context: ssl.SSLContext | None = None,
    ) -> None:
        self.host = host
        self.port = port
        self.security = security
        self.user = user
        self._password = password
        self.timeout = timeout
        self.ssl_context = ssl_context
        self._conn: smtplib.SMTP | None = None

    @classmethod
    def from_settings(
        cls, settings: Settings, *, ssl_context: ssl.SSLContext | None = None
    ) -> SMTPSender:
        """An SMTP sender configured by ``smtp_*`` settings (the password is never logged)."""
        password = settings.smtp_password.get_secret_value() if settings.smtp_password else None
        return cls(
            host=settings.smtp_host,
            port=settings.smtp_port,
            security=settings.smtp_security,
            user=settings.smtp_user,
            password=password,
            timeout=settings.smtp_timeout,
            ssl_context=ssl_context,
        )

    def __repr__(self) -> str:
        return f"SMTPSender(host={self.host!r}, port={self.port}, security={self.security!r})"

    def _context(self) -> ssl.SSLContext:
        return self.ssl_context or ssl.create_default_context()

    def connect(self) -> smtplib.SMTP:
        """A new connection: greeted, secured and logged in as configured (nothing sent)."""
        conn: smtplib.SMTP
        if self.security == "ssl":
            conn = smtplib.SMTP_SSL(
                self.host, self.port, timeout=self.timeout, context=self._context()
            )
        else:
            conn = smtplib.SMTP(self.host, self.port, timeout=self.timeout)
        try:
            conn.ehlo()
            if self.security == "starttls":
                conn.starttls(context=self._context())
                conn.ehlo()
            if self.user:
                conn.login(self.user, self._password or "")
        except BaseException:
            _close_quietly(conn)
            raise
        log.info("connected to SMTP server %s:%s (%s)", self.host, self.port, self.security)
        return conn

    def send(self, message: OutgoingMessage) -> None:
        """One SMTP transaction, step by step, so a failure says whether the content went out."""
        if self._conn is None:
            try:
                self._conn = self.connect()
            except (smtplib.SMTPException, OSError) as exc:
                raise SendError("connect", exc) from exc
        conn = self._conn
        stage: Stage = "envelope"
        try:
            code, answer = conn.mail(message.from_addr)
            if code != 250:
                raise smtplib.SMTPSenderRefused(code, answer, message.from_addr)
            code, answer = conn.rcpt(message.to_addr)
            if code not in (250, 251):
                raise smtplib.SMTPRecipientsRefused({message.to_addr: (code, answer)})
            code, answer = conn.docmd("DATA")
            if code != 354:
                raise smtplib.SMTPDataError(code, answer)
            stage = "content"
            conn.send(_wire_content(message.data))
            code, answer = conn.getreply()
            if code != 250:
                raise smtplib.SMTPDataError(code, answer)
        except (smtplib.SMTPException, OSError) as exc:
            self.close()
            raise SendError(stage, exc) from exc
        except BaseException:
            self.close()
            raise

    def close(self) -> None:
        if self._conn is not None:
            conn, self._conn = self._conn, None
            _close_quietly(conn)


def _wire_content(data: bytes) -> bytes:
    """The message as sent after DATA: leading dots doubled, ended by a lone dot (RFC 5321)."""
    body = _LEADING_DOT.sub(b"..", data)
    if not body.endswith(b"\r\n"):
        body += b"\r\n"
    return body + b".\r\n"


def _close_quietly(conn: smtplib.SMTP) -> None:
    try:
        conn.quit()
    except (smtplib.SMTPException, OSError):
        conn.close()
