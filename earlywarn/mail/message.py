"""Building one email: plain text and HTML as alternatives, attachments, and honest headers."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from email import policy
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid

from earlywarn.core.errors import DeliveryError


@dataclass(frozen=True)
class Attachment:
    """A file attached to a message."""

    filename: str
    content: str
    subtype: str = "csv"


def parse_address(addr: str, display_name: str = "", *, who: str) -> Address:
    """``addr`` as a header address, or a :class:`DeliveryError` naming ``who`` it belongs to."""
    if "@" not in addr or any(c in addr for c in "\r\n<>, "):
        raise DeliveryError(
            f"{who}: {addr!r} is not an email address; fix it in the data or settings"
        )
    local, _, domain = addr.strip().rpartition("@")
    # A name from the data is one line in a header: line breaks become spaces, never new headers.
    display_name = " ".join(display_name.split())
    try:
        return Address(display_name=display_name, username=local, domain=domain)
    except (ValueError, IndexError) as exc:
        raise DeliveryError(f"{who}: not a usable email address ({exc}); fix it") from exc


def build_message(
    *,
    to: Address,
    mail_from: Address,
    subject: str,
    text: str,
    html: str | None,
    date: datetime,
    attachments: Sequence[Attachment] = (),
    list_unsubscribe: str | None = None,
) -> EmailMessage:
    """A message with ``text`` and ``html`` as multipart/alternative, attachments making it mixed.

    Date and Message-ID are set here (the id's domain is the sender's, so no host name leaks);
    ``Auto-Submitted`` keeps vacation responders from answering an automated digest.
    """
    msg = EmailMessage(policy=policy.SMTP)
    msg["Subject"] = subject
    msg["From"] = mail_from
    msg["To"] = to
    msg["Date"] = format_datetime(date)
    msg["Message-ID"] = make_msgid(domain=mail_from.domain or None)
    msg["Auto-Submitted"] = "auto-generated"
    if list_unsubscribe:
        msg["List-Unsubscribe"] = list_unsubscribe
    msg.set_content(text, cte="quoted-printable")
    if html is not None:
        msg.add_alternative(html, subtype="html", cte="quoted-printable")
    for item in attachments:
        msg.add_attachment(item.content, subtype=item.subtype, filename=item.filename)
    return msg


def message_bytes(msg: EmailMessage) -> bytes:
    """The message as sent on the wire (CRLF line ends), and as stored in the outbox."""
    return msg.as_bytes(policy=policy.SMTP)
