"""The Starlette app behind ``earlywarn serve``.

Routes (every one behind a signed link from a digest, :mod:`earlywarn.core.links`):

- ``GET /f/<token>``: the student's row and the choices. Never records anything: mail scanners
  and link previews open links.
- ``POST /f/<token>``: records the choice, only with the form key the GET page carries (so a
  POST made without that page is refused); recording again keeps the latest and says so.
- ``GET /a/<token>``: the advisor's current students, with what was recorded and when.
- ``GET /healthz``: ``ok``.

A tampered, expired or other advisor's link gets a plain 403 page and records nothing. Logs
carry the refusal's reason and ids only: never the key, a token, a name, an address or a note.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Callable
from datetime import datetime
from typing import TYPE_CHECKING, Any

from earlywarn.core.errors import LinkRefused
from earlywarn.core.links import Kind, LinkClaim, make_url, read_token
from earlywarn.core.time import now as utc_now
from earlywarn.state.feedback import CHOICES, record_feedback
from earlywarn.web.views import advisor_view, student_view

if TYPE_CHECKING:
    import jinja2
    from sqlalchemy import Engine
    from starlette.applications import Starlette
    from starlette.requests import Request
    from starlette.responses import Response

    from earlywarn.core.settings import Settings
    from earlywarn.digest.selection import Roster

log = logging.getLogger(__name__)
_FORM_SALT = "earlywarn.feedback-form"


def _form_key(secret: str, token: str) -> str:
    """The key the GET page puts in its form: an HMAC of the link, checked by the POST."""
    from itsdangerous import Signer

    digest = hashlib.sha256(token.encode()).hexdigest()[:32]
    return Signer(secret, salt=_FORM_SALT).sign(digest).decode()


def _form_key_ok(secret: str, token: str, key: str) -> bool:
    import hmac

    return hmac.compare_digest(_form_key(secret, token), key)


def create_app(
    settings: Settings,
    engine: Engine,
    roster: Roster | None = None,
    *,
    clock: Callable[[], datetime] = utc_now,
) -> Starlette:
    """The app on ``engine``; ``roster`` (from the data folder) adds names and contact."""
    from starlette.applications import Starlette
    from starlette.responses import HTMLResponse, PlainTextResponse
    from starlette.routing import Route

    from earlywarn.core.errors import SettingsError
    from earlywarn.core.templating import template_environment

    if settings.secret_key is None or not settings.secret_key.get_secret_value():
        raise SettingsError(
            "EARLYWARN_SECRET_KEY is not set: earlywarn serve needs the key that signed the "
            "digest's links; set it in the environment (the same value the digest run uses)"
        )
    secret = settings.secret_key.get_secret_value()
    env: jinja2.Environment = template_environment(settings.templates_dir)
    base = settings.base_url or ""

    def page(name: str, status: int = 200, **context: Any) -> HTMLResponse:
        html = env.get_template(name).render(**context)
        return HTMLResponse(html, status_code=status, headers=_HEADERS)

    def refused(why: str) -> HTMLResponse:
        log.warning("link refused: %s", why)
        return page("web_refused.html", status=403)

    def claim(token: str, kind: Kind) -> LinkClaim:
        return read_token(secret, kind, token, max_age_days=settings.link_max_age_days, now=clock())

    def advisor_url(advisor_id: str, week: str) -> str:
        return make_url(base, secret, "advisor", advisor_id, week)

    async def feedback(request: Request) -> Response:
        token = str(request.path_params["token"])
        try:
            c = claim(token, "student")
        except LinkRefused as exc:
            return refused(exc.reason)
        assert c.student_id is not None
        view = student_view(
            settings, engine, roster, advisor_id=c.advisor_id, student_id=c.student_id, week=c.week
        )
        if view is None:
            return refused(f"advisor {c.advisor_id} does not advise student {c.student_id}")
        context: dict[str, Any] = {
            "s": view,
            "choices": CHOICES,
            "form_key": _form_key(secret, token),
            "advisor_url": advisor_url(c.advisor_id, c.week),
            "done": None,
        }
        if request.method == "GET":
            return page("web_feedback.html", **context)
        form = await request.form()
        key = str(form.get("form_key", ""))
        choice = str(form.get("choice", ""))
        if not _form_key_ok(secret, token, key):
            return refused("a POST without the page's form key")
        if choice not in CHOICES:
            return page(
                "web_feedback.html", status=400, error="Pick one of the choices.", **context
            )
        note = str(form.get("note", "") or "")
        done = record_feedback(
            engine,
            advisor_id=c.advisor_id,
            student_id=c.student_id,
            week=c.week,
            choice=choice,
            note=note,
            tier=view.tier,
            now=clock(),
        )
        log.info(
            "feedback: advisor %s, student %s, week %s: %s%s",
            c.advisor_id,
            c.student_id,
            c.week,
            choice,
            " (replaced an earlier record)" if done.replaced else "",
        )
        context["done"] = {
            "label": CHOICES[choice],
            "replaced": CHOICES.get(done.replaced or "", done.replaced),
            "at": done.feedback.recorded_at.strftime("%Y-%m-%d %H:%M UTC"),
        }
        return page("web_recorded.html", **context)

    async def advisor_page(request: Request) -> Response:
        token = str(request.path_params["token"])
        try:
            c = claim(token, "advisor")
        except LinkRefused as exc:
            return refused(exc.reason)
        week, views = advisor_view(settings, engine, roster, advisor_id=c.advisor_id)
        rows = [
            {
                "s": v,
                "url": make_url(base, secret, "student", c.advisor_id, v.week, v.student_id),
            }
            for v in views
        ]
        name = (
            roster.advisors[c.advisor_id].name
            if roster and c.advisor_id in roster.advisors
            else None
        )
        return page("web_advisor.html", week=week, rows=rows, advisor_name=name or c.advisor_id)

    async def health(request: Request) -> Response:
        return PlainTextResponse("ok")

    return Starlette(
        routes=[
            Route("/f/{token}", feedback, methods=["GET", "POST"]),
            Route("/a/{token}", advisor_page, methods=["GET"]),
            Route("/healthz", health, methods=["GET"]),
        ]
    )


# Student data: never cached, never sent to another site with the Referer header.
_HEADERS = {
    "Cache-Control": "no-store",
    "Referrer-Policy": "no-referrer",
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
}
