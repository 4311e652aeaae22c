"""``dataward serve``: the control plane's JSON API over the state database (the web UI comes next)."""

from __future__ import annotations

import click

from dataward.cli._common import COMMANDS
from dataward.cli.users import db_options, state_location
from dataward.errors import DatawardError
from dataward.serve.listen import check_listen, parse_listen
from dataward.watch.state import open_state


@click.command("serve")
@db_options
@click.option("--listen", "listen", default="127.0.0.1:8080", show_default=True, metavar="HOST:PORT",
              help="Address to serve on; a non-loopback one needs --tls-cert and --tls-key.")
@click.option("--tls-cert", type=click.Path(dir_okay=False, exists=True), default=None, help="TLS certificate (PEM).")
@click.option("--tls-key", type=click.Path(dir_okay=False, exists=True), default=None, help="TLS private key (PEM).")
def serve_command(config: str | None, db: str | None, listen: str, tls_cert: str | None, tls_key: str | None) -> None:
    """Serve the API (bearer tokens from `dataward users token create`) over the watcher's state database.

    \b
    Examples:
      dataward serve --config dataward.toml
      dataward serve --db watch.db --listen 0.0.0.0:8443 --tls-cert cert.pem --tls-key key.pem
    """
    import uvicorn

    from dataward.serve.app import create_app

    if (tls_cert is None) != (tls_key is None):
        raise DatawardError("--tls-cert and --tls-key go together")
    address = parse_listen(listen)
    check_listen(address, tls=tls_cert is not None)
    db_state = open_state(state_location(config, db))
    try:
        scheme = "https" if tls_cert else "http"
        host = f"[{address.host}]" if ":" in address.host else address.host
        click.echo(f"serving on {scheme}://{host}:{address.port}/ (API under /api/v1/)", err=True)
        uvicorn.run(create_app(db_state), host=address.host, port=address.port, ssl_certfile=tls_cert,
                    ssl_keyfile=tls_key, log_level="warning", server_header=False)
    finally:
        db_state.close()


COMMANDS.register(serve_command)
