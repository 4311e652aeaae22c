"""``dataward devicecloud serve``: the reference device-cloud API (tests, demo)."""

from __future__ import annotations

import click

from dataward.cli._common import COMMANDS


@click.group("devicecloud")
def devicecloud() -> None:
    """The reference device cloud: its small API over a generated database."""


@devicecloud.command("serve")
@click.option("--db", "db_url", required=True, help="Device-cloud database URL (sqlite:///, duckdb:///, postgresql://).")
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option("--port", default=8080, show_default=True, type=click.IntRange(0, 65535), help="Port to listen on.")
@click.option(
    "--client",
    "clients",
    multiple=True,
    help="ID:SECRET of a client allowed to call /oauth/revoke (HTTP Basic); repeatable. Without it, open.",
)
def serve(db_url: str, host: str, port: int, clients: tuple[str, ...]) -> None:
    """Serve login, /v1/me, /oauth/revoke (RFC 7009) and /v1/integrations over the database.

    \b
    Example:
      dataward generate --users 2000 --seed 1 --out sqlite:///srv/devicecloud/cloud.db
      dataward devicecloud serve --db sqlite:///srv/devicecloud/cloud.db --port 8080
    """
    import uvicorn

    from dataward.devicecloud.api import create_app

    pairs = dict(c.split(":", 1) for c in clients if ":" in c)
    uvicorn.run(create_app(db_url, pairs or None), host=host, port=port, log_level="warning")


COMMANDS.register(devicecloud)
