"""Check the SMTP settings against the server without sending anything.

:func:`probe_smtp` does what a delivery does up to the first message: connect, EHLO, STARTTLS or
implicit TLS as ``smtp_security`` says, AUTH when ``smtp_user`` is set; then it says QUIT. The
answer names the setting to change (exit 2 in the CLI) or says the server is down (exit 1).
``earlywarn check``, the scheduler's weekly run and ``digest --send`` all run it before scoring,
so a wrong setting is found in seconds, not after a week has been scored.
"""

from __future__ import annotations

import smtplib
import ssl
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

from earlywarn.core.errors import DeliveryError, SettingsError

if TYPE_CHECKING:
    from earlywarn.core.settings import Settings

# A probe waits at most this long for the server, whatever smtp_timeout says (a check is quick).
PROBE_TIMEOUT = 8.0

# "refused": the server answered and refused our login; like a server that is down it exits 1
# (issue 16: a refused login is one line, exit 1), but the line names the settings to check.
ProbeStatus = Literal["ok", "setting", "refused", "down"]


@dataclass(frozen=True)
class SMTPProbe:
    """What the server said: ``ok``, a ``setting`` to change, our login ``refused``, or the
    server is ``down``."""

    status: ProbeStatus
    message: str

    @property
    def ok(self) -> bool:
        return self.status == "ok"


def probe_smtp(settings: Settings, *, ssl_context: ssl.SSLContext | None = None) -> SMTPProbe:
    """Connect, greet, secure and log in as the ``smtp_*`` settings say; send nothing."""
    from earlywarn.mail.senders import SMTPSender

    sender = SMTPSender.from_settings(settings, ssl_context=ssl_context)
    sender.timeout = min(settings.smtp_timeout, PROBE_TIMEOUT)
    where = f"{settings.smtp_host}:{settings.smtp_port}"
    security = settings.smtp_security
    try:
        conn = sender.connect()
    except BaseException as exc:
        if not isinstance(exc, smtplib.SMTPException | OSError):
            raise
        return _explain(exc, settings, where)
    try:
        conn.quit()
    except (smtplib.SMTPException, OSError):
        conn.close()
    login = f", logged in as {settings.smtp_user}" if settings.smtp_user else ""
    return SMTPProbe("ok", f"{where} answered ({security}{login}); nothing was sent")


def _explain(exc: BaseException, settings: Settings, where: str) -> SMTPProbe:
    security = settings.smtp_security
    if isinstance(exc, smtplib.SMTPNotSupportedError):
        if security == "starttls" and "STARTTLS" in str(exc).upper():
            return SMTPProbe(
                "setting",
                f"smtp_security = starttls, but {where} does not offer STARTTLS; set "
                "smtp_security = ssl (and the server's TLS port, usually 465), or none on a "
                "trusted local network only",
            )
        return SMTPProbe(
            "setting",
            f"smtp_user is set, but {where} offers no login (AUTH); unset smtp_user, or use the "
            "server's submission port",
        )
    if isinstance(exc, smtplib.SMTPAuthenticationError):
        return SMTPProbe(
            "refused",
            f"login refused: {exc.smtp_code} from {where} for smtp_user {settings.smtp_user!r}; "
            "check smtp_user (EARLYWARN_SMTP_USER) and EARLYWARN_SMTP_PASSWORD(_FILE)",
        )
    if isinstance(exc, ssl.SSLCertVerificationError):
        return SMTPProbe(
            "setting",
            f"the TLS certificate of {where} is not trusted ({exc.verify_message}); check "
            "smtp_host (it must match the certificate) or install the server's CA",
        )
    if isinstance(exc, ssl.SSLError) or (
        security == "ssl" and isinstance(exc, smtplib.SMTPServerDisconnected | TimeoutError)
    ):
        return SMTPProbe(
            "setting",
            f"smtp_security = {security}, but {where} does not speak TLS there ({exc}); set "
            "smtp_security = starttls (port 587) or the server's TLS port (465)",
        )
    if isinstance(exc, smtplib.SMTPResponseException) and 500 <= exc.smtp_code < 600:
        return SMTPProbe(
            "setting",
            f"{where} refused the session ({exc.smtp_code}); check smtp_host and smtp_port",
        )
    detail = getattr(exc, "strerror", None) or str(exc) or type(exc).__name__
    return SMTPProbe(
        "down",
        f"cannot reach the SMTP server at {where} ({detail}); is it up, and are smtp_host and "
        "smtp_port right?",
    )


def require_smtp_settings(settings: Settings) -> SMTPProbe:
    """Probe the server; raise :class:`SettingsError` (exit 2) when a setting is wrong and
    :class:`DeliveryError` (exit 1) when the server refuses our login.

    A server that is down is not an error here: deliveries stay pending for the next run.
    """
    result = probe_smtp(settings)
    if result.status == "setting":
        raise SettingsError(f"SMTP: {result.message}")
    if result.status == "refused":
        raise DeliveryError(f"SMTP: {result.message}")
    return result
