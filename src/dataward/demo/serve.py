"""The demo in the browser (``make demo SERVE=1``): ``dataward serve`` on the demo's state database.

The watcher's history and the incident (window, blast radius, response ledger, notices) are in one state
database, ``watch.db``; the demo adds an ``admin`` account with a random one-time password (the first login asks
for a new one), printed once and stored only as its Argon2id hash (``dataward.serve.accounts``), starts ``dataward serve`` on a free loopback port and keeps
it running in the foreground until Ctrl-C. Without ``--serve`` nothing is started and nothing is left behind.
"""

from __future__ import annotations

import secrets
import sys
import urllib.request
from collections.abc import Sequence
from importlib.resources import files
from pathlib import Path

from dataward.demo.context import DemoContext, interruptible
from dataward.localservers.base import LocalServer
from dataward.serve import accounts
from dataward.state import open_state_db

ADMIN = "admin"
LIVE_INTERVAL = "5s"


class ControlPlane(LocalServer):
    """``dataward serve --db <state> --listen 127.0.0.1:<free port>`` as a process of its own."""

    kind = "dataward-serve"

    def __init__(self, db: Path, audit_log: Path | None = None, audit_public_key: Path | None = None,
                 extra: Sequence[str] = ()) -> None:
        super().__init__(start_timeout=60.0)
        self.db = db
        self.options = [] if audit_log is None else ["--audit-log", str(audit_log)]
        self.options += [] if audit_public_key is None else ["--audit-public-key", str(audit_public_key)]
        self.options += list(extra)

    def _command(self) -> list[str]:
        return [sys.executable, "-m", "dataward", "serve", "--db", str(self.db), "--listen", f"127.0.0.1:{self.port}",
                *self.options]

    def _ping(self) -> bool:
        with urllib.request.urlopen(f"{self.url}healthz", timeout=2) as answer:
            return bool(answer.status == 200)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/"

    def wait(self) -> None:
        """Until the server ends; Ctrl-C interrupts this process (the server has a session of its own), and the
        demo's resources then stop the server."""
        if self._proc is not None:
            self._proc.wait()


def add_admin(db: Path) -> str:
    """An admin account on the state database with a new random one-time password, returned once (only its
    Argon2id hash is stored; the first login asks for a new one)."""
    password = secrets.token_urlsafe(18)
    engine = open_state_db(str(db))
    try:
        accounts.add_user(engine, ADMIN, "admin", password, one_time=True)  # changed at the first login
    finally:
        engine.dispose()
    return password


def start_control_plane(db: Path, audit_log: Path | None = None, audit_public_key: Path | None = None,
                        extra: Sequence[str] = ()) -> tuple[ControlPlane, str]:
    """An admin account and ``dataward serve`` on the state database ``db`` (and the incident audit log with the
    public key pinned for it, so the incident page says whether it verifies; ``extra``: more serve options);
    the caller stops the server."""
    password = add_admin(db)
    server = ControlPlane(db, audit_log, audit_public_key, extra)
    try:
        server.start()
    except BaseException:
        server.stop()
        raise
    return server, password


def serve_the_state(ctx: DemoContext) -> None:
    """Last step with ``--serve``: the URL and the admin password, then the server in the foreground."""
    ctx.console.print("[bold]serve[/bold]: the same story in the browser, from the demo's state database")
    if "state_db" not in ctx.state:
        ctx.console.print("   skipped: the watch step did not run, so there is no state to serve")
        return
    audit = ctx.state.get("audit")
    server, password = start_control_plane(Path(ctx.state["state_db"]), audit.path if audit else None,
                                           ctx.state.get("audit_pinned"), live_options(ctx))  # fmt: skip
    ctx.resources.callback(server.stop)
    ctx.console.print(f"   dataward serve is running at [bold]{server.url}[/bold] on {ctx.state['state_db']}",
                      highlight=False, soft_wrap=True)  # fmt: skip
    ctx.console.print(f"   user [bold]{ADMIN}[/bold], one-time password [bold]{password}[/bold] (shown only now; "
                      "the first login asks for a new one)", highlight=False, soft_wrap=True)  # fmt: skip
    if "incident" in ctx.state:
        ctx.console.print(f"   the incident: {server.url}incidents/{ctx.state['incident']}", highlight=False,
                          soft_wrap=True)  # fmt: skip
    if "exposed_url" in ctx.state:
        ctx.console.print(f"   it watches '{ctx.state['watch_store']}' live every {LIVE_INTERVAL} (the demo's servers "
                          "keep running): if the copy opened again, the overview's banner would say so without a "
                          "reload", highlight=False, soft_wrap=True)  # fmt: skip
    ctx.console.print("   press Ctrl-C to stop it", highlight=False)
    try:
        with interruptible():
            server.wait()
    except KeyboardInterrupt:
        ctx.console.print("   stopped")


def live_options(ctx: DemoContext) -> list[str]:
    """serve's options for the demo's stores, still running: ``--config`` watching the analytics copy live, with
    the reference schema map; ``--source`` (production) for blast radii; ``--playbook`` for the response."""
    if "exposed_url" not in ctx.state:
        return []
    config = ctx.out / "serve.toml"
    store = f'[[store]]\nname = "{ctx.state["watch_store"]}"\nurl = "{ctx.state["exposed_url"]}"\n\n'
    watch = f'[watch]\ninterval = "{LIVE_INTERVAL}"\n\n'
    config.write_text(store + watch + files("dataward.data").joinpath("reference-schema.toml").read_text())
    ctx.files["serve's configuration (live watch)"] = config
    options = ["--config", str(config), "--source", ctx.production_url]
    playbook = ctx.out / "playbook.toml"
    return options + (["--playbook", str(playbook)] if playbook.exists() else [])
