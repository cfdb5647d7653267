"""``earlywarn serve``: the web app behind the digest's feedback and advisor-page links."""

from __future__ import annotations

from typing import Any

import click


@click.command("serve")
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option(
    "--port",
    default=8750,
    show_default=True,
    type=click.IntRange(1, 65535),
    help="Port to listen on.",
)
@click.pass_obj
def command(obj: Any, host: str, port: int) -> None:
    """Serve the pages advisors open from their digest (feedback and their students' page).

    Needs EARLYWARN_SECRET_KEY (the key the digest signed its links with). Put it behind your
    HTTPS reverse proxy and set base_url (EARLYWARN_BASE_URL) to the address advisors reach it
    at. With data_dir set, pages show names and contact from the data folder.

    \b
    Examples:
      EARLYWARN_SECRET_KEY=... earlywarn serve
      earlywarn serve --host 0.0.0.0 --port 8750
    """
    import uvicorn

    from earlywarn.state import open_state
    from earlywarn.web.app import create_app
    from earlywarn.web.roster import current_roster

    settings = obj.settings
    engine = open_state(settings.state_url)
    app = create_app(settings, engine, current_roster(settings))
    click.echo(f"earlywarn serve: listening on http://{host}:{port} (Ctrl-C stops)", err=True)
    # No access log: request paths carry signed tokens, which should not sit in log files.
    uvicorn.run(app, host=host, port=port, access_log=False, log_level="warning")
