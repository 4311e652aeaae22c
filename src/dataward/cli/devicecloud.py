"""``dataward devicecloud serve``: the reference device-cloud API (tests, demo)."""

from __future__ import annotations

import socket

import click

from dataward.cli._common import COMMANDS
from dataward.config_values import resolve_value
from dataward.errors import DatawardError


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
    required=True,
    help="ID:SECRET of a client allowed to call /oauth/revoke (HTTP Basic); repeatable, at least one: the "
    "endpoint is never open (RFC 7009 §2.1). ID:@FILE reads the secret from a file.",
)
def serve(db_url: str, host: str, port: int, clients: tuple[str, ...]) -> None:
    """Serve login, /v1/me, /oauth/revoke (RFC 7009) and /v1/integrations over the database.

    \b
    Example:
      dataward generate --users 2000 --seed 1 --out sqlite:///srv/devicecloud/cloud.db
      dataward devicecloud serve --db sqlite:///srv/devicecloud/cloud.db --port 8080 --client responder:@secret.txt
    """
    import uvicorn

    from dataward.devicecloud.api import create_app

    app = create_app(db_url, dict(parse_client(c) for c in clients))
    check_port_free(host, port)
    uvicorn.run(app, host=host, port=port, log_level="warning")


def parse_client(text: str) -> tuple[str, str]:
    """``ID:SECRET`` or ``ID:@FILE``; a missing colon, id or secret is refused (never silently ignored)."""
    client_id, colon, secret = text.partition(":")
    if secret.startswith("@"):
        secret = resolve_value({"file": secret[1:]}, f"--client {client_id}")
    if not colon or not client_id or not secret:
        raise DatawardError(
            f"--client {client_id if colon and client_id else '…'} must be ID:SECRET or ID:@FILE with a non-empty id and secret",
            tip="e.g. --client responder:@/run/secrets/revoke-client",
        )
    return client_id, secret


def check_port_free(host: str, port: int) -> None:
    """Refuse a busy address before serving, with one sentence (uvicorn would log and exit 3)."""
    try:
        with socket.create_server((host, port)):
            pass
    except OSError as exc:
        raise DatawardError(f"cannot listen on {host}:{port} ({exc.strerror})", tip="pick another --port") from None


COMMANDS.register(devicecloud)
