"""``dataward serve``: the control plane: the watch engine of --config and the JSON API over one state database."""

from __future__ import annotations

import contextlib
import signal
import socket
import threading
from pathlib import Path
from types import FrameType
from typing import TYPE_CHECKING, Any

import click

from dataward.cli._common import COMMANDS
from dataward.cli.users import db_options
from dataward.errors import DatawardError
from dataward.policy import load_policy
from dataward.serve.listen import Listen, check_listen, parse_listen
from dataward.watch import config_from_policy

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator

    import uvicorn
    from fastapi import FastAPI

    from dataward.serve.views import StepSettings


@click.command("serve")
@db_options
@click.option("--listen", "listen", default="127.0.0.1:8080", show_default=True, metavar="HOST:PORT",
              help="Address to serve on; a non-loopback one needs --tls-cert and --tls-key.")
@click.option("--tls-cert", type=click.Path(dir_okay=False, exists=True), default=None, help="TLS certificate (PEM).")
@click.option("--tls-key", type=click.Path(dir_okay=False, exists=True), default=None, help="TLS private key (PEM).")
@click.option("--baseline", "baseline", type=click.Path(dir_okay=False), default=None,
              help="Baseline file that suppressions are written to. Default: [scan] baseline of --config, "
                   "else baseline.json beside the state database.")
@click.option("--audit-log", envvar="DATAWARD_AUDIT_LOG", default="dataward-audit.jsonl", show_default=True,
              help="The incident audit log whose verification the incidents show (env DATAWARD_AUDIT_LOG).")
@click.option("--audit-public-key", envvar="DATAWARD_AUDIT_PUBLIC_KEY", type=click.Path(dir_okay=False), default=None,
              help="The audit signer's public key, kept away from the log (env DATAWARD_AUDIT_PUBLIC_KEY); default: "
                   "the public half of this machine's signing key.")
@click.option("--audit-key-fingerprint", envvar="DATAWARD_AUDIT_KEY_FINGERPRINT", default=None,
              help="Or its pinned sha256:HEX fingerprint (env DATAWARD_AUDIT_KEY_FINGERPRINT).")
@click.option("--lookup-dir", type=click.Path(file_okay=False), default=None,
              help="Folder that incidents' lookup sites are built in, one folder each (the incident page's "
                   "\"Build lookup site\"). Default: lookup/ beside the state database.")
@click.option("--source", envvar="DATAWARD_SOURCE", default=None, metavar="URL",
              help="Production source URL that the incident page's \"Compute blast radius\" (and POST "
                   "/api/v1/incidents/NAME/blast-radius) reads, with the [schema] map of --config "
                   "(env DATAWARD_SOURCE; never shown unredacted).")
@click.option("--playbook", envvar="DATAWARD_PLAYBOOK", type=click.Path(dir_okay=False), default=None,
              help="Response playbook (TOML) that the incident page's \"Run response playbook\" (and POST "
                   "/api/v1/incidents/NAME/respond) runs, as `incident respond --playbook` (env DATAWARD_PLAYBOOK).")
@click.option("--smtp", "smtp", envvar="DATAWARD_SMTP", default=None, metavar="URL",
              help="Mail server that \"Send notices\" (POST /api/v1/incidents/NAME/notify) sends through, as "
                   "`incident notify --smtp` (env DATAWARD_SMTP; never shown unredacted).")
@click.option("--notify-template", envvar="DATAWARD_NOTIFY_TEMPLATE", type=click.Path(file_okay=False), default=None,
              metavar="DIR",
              help="Notice template folder (env DATAWARD_NOTIFY_TEMPLATE). Default: the shipped one.")
@click.option("--notify-sender", default="security@example.com", show_default=True, metavar="ADDRESS",
              help="The notices' From address.")
@click.option("--notify-company", default="our", show_default=True, help="Company name used in the notices.")
@click.option("--lookup-address", default=None,
              help="Address of the lookup site, printed in the notices as text (never a link).")
@click.option("--signing-key", envvar="DATAWARD_AUDIT_KEY", type=click.Path(dir_okay=False), default=None,
              help="Ed25519 private key (PEM) that signs the incident audit log's checkpoints of the jobs run from "
                   "here (env DATAWARD_AUDIT_KEY); default ~/.config/dataward/audit-ed25519.")
def serve_command(config: str | None, db: str | None, listen: str, tls_cert: str | None, tls_key: str | None,
                  baseline: str | None, audit_log: str, audit_public_key: str | None,
                  audit_key_fingerprint: str | None, lookup_dir: str | None, source: str | None,
                  **step_options: Any) -> None:
    """Watch the stores of --config (as `dataward watch` does) and serve the API over the same state database.

    Bearer tokens come from `dataward users token create`. A responder runs an incident's response playbook
    (--playbook) and sends its notices (--smtp) from the incident page or the API, as background jobs.
    SIGTERM or Ctrl-C stops the watch between probes, the jobs at their next safe point, and the server; a
    restart repeats no alert and sends no notice twice.

    \b
    Examples:
      dataward serve --config dataward.toml
      dataward serve --db watch.db --listen 0.0.0.0:8443 --tls-cert cert.pem --tls-key key.pem
      dataward serve --config dataward.toml --source postgresql://ro@db/app --playbook playbook.toml \\
                     --smtp smtp://mail.internal:587?starttls=1
    """
    from dataward.scan.baseline import load_baseline
    from dataward.schemamap import load_schema_map
    from dataward.serve.app import create_app
    from dataward.serve.events import EventBus
    from dataward.serve.runner import HistoryPoller, WatchRunner
    from dataward.serve.views import default_baseline
    from dataward.watch.state import open_state

    if (tls_cert is None) != (tls_key is None):
        raise DatawardError("--tls-cert and --tls-key go together")
    address = parse_listen(listen)
    check_listen(address, tls=tls_cert is not None)
    policy = load_policy(config) if config else None
    watch_config = config_from_policy(policy)
    location = db or watch_config.state
    watch_config = watch_config.with_overrides(state=location)
    if baseline is None and policy is not None and policy.scan.baseline and config:
        baseline = str(Path(config).parent / policy.scan.baseline)  # relative to the policy file, as in scan
    baseline = baseline or default_baseline(location)
    load_baseline(baseline, missing_ok=True)  # an unreadable baseline is refused now, not at each request
    targets = policy.targets() if policy else []
    settings = _step_settings(**step_options)
    needs_schema = source or settings.playbook or settings.smtp
    schema = load_schema_map(config) if config and needs_schema else None  # refused now, not at each computation
    sock = _bind(address)
    try:
        db_state = open_state(location)  # created and migrated to the current schema
    except BaseException:
        sock.close()
        raise
    bus = EventBus()
    app = create_app(db_state, baseline=baseline, bus=bus, audit_log=audit_log, audit_public_key=audit_public_key,
                     audit_key_fingerprint=audit_key_fingerprint, lookup_dir=lookup_dir,
                     source=source, schema=schema, step_settings=settings)
    app.state.policy = policy  # the settings and copies pages show it (dataward.serve.web)
    _log_job_ends(app)
    runner: WatchRunner | HistoryPoller
    if targets:
        runner = WatchRunner(targets, policy, watch_config, bus)
        app.state.plane.watch, app.state.plane.watch_alive = "running", lambda: runner.running
    else:  # a `dataward watch` elsewhere may write this database: its transitions still reach the events
        runner = HistoryPoller(db_state, bus)
        app.state.plane.watch = "external"
    try:
        scheme = "https" if tls_cert else "http"
        host = f"[{address.host}]" if ":" in address.host else address.host
        click.echo(f"serving on {scheme}://{host}:{address.port}/ (API under /api/v1/)", err=True)
        if isinstance(runner, WatchRunner):
            click.echo(f"watching {runner.stores} stores every {watch_config.interval:g} s", err=True)
        runner.start()
        jobs = app.state.plane.jobs
        server = _server(app, address, tls_cert, tls_key, [runner.request_stop, jobs.request_stop, bus.close])
        server.run(sockets=[sock])
    finally:
        _stop_jobs(app)
        runner.stop()
        bus.close()
        sock.close()
        app.state.plane.close()
        db_state.close()


def _step_settings(playbook: str | None, smtp: str | None, notify_template: str | None, notify_sender: str,
                   notify_company: str, lookup_address: str | None, signing_key: str | None) -> StepSettings:
    """The incident steps' settings, each checked now (a bad playbook, mail URL or template folder is one
    sentence at start, not a failed job later)."""
    from dataward.incident.notify import SmtpSender, load_templates
    from dataward.incident.respond import load_playbook
    from dataward.serve.views import StepSettings

    if playbook:
        load_playbook(playbook)
    if smtp:
        SmtpSender(smtp)  # checks the URL; connects only when it sends
    if notify_template or smtp:
        load_templates(notify_template)
    return StepSettings(playbook=playbook, smtp=smtp, template_dir=notify_template, sender=notify_sender,
                        company=notify_company, lookup_address=lookup_address, signing_key=signing_key)


def _log_job_ends(app: FastAPI) -> None:
    """Each incident job's end, one line on the server's log (its sentence: counts and the library's
    message, never a value); its start is in the control-plane audit."""
    from dataward.serve.jobs import RUNNING, Job

    jobs = app.state.plane.jobs
    publish = jobs.on_change

    def changed(job: Job) -> None:
        if publish is not None:
            publish(job)
        if job.state != RUNNING:
            click.echo(f"{job.step} job of incident {job.incident}: {job.sentence()}", err=True)

    jobs.on_change = changed


def _stop_jobs(app: FastAPI, timeout: float = 30.0) -> None:
    """Running jobs end at their next safe point; a job still busy after ``timeout`` ends with the process
    (its ledger makes the next run safe: a notice whose fate is unknown is never sent again)."""
    jobs = app.state.plane.jobs
    running = jobs.running()
    if running:
        click.echo(f"stopping: waiting for {len(running)} running job(s) to reach a safe point", err=True)
    jobs.stop(timeout)


def _bind(address: Listen) -> socket.socket:
    """The listening socket, bound before anything is written, so a busy port is one sentence."""
    family = socket.AF_INET6 if ":" in address.host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((address.host, address.port))
        sock.listen(128)
    except OSError as exc:
        sock.close()
        reason = exc.strerror or type(exc).__name__
        raise DatawardError(f"cannot listen on {address.host}:{address.port} ({reason.lower()})",
                            tip="choose another port with --listen HOST:PORT") from None
    sock.set_inheritable(True)
    return sock


def _server(app: FastAPI, address: Listen, tls_cert: str | None, tls_key: str | None,
            stops: list[Callable[[], None]]) -> uvicorn.Server:
    import uvicorn

    class Server(uvicorn.Server):
        """uvicorn's server; SIGTERM/SIGINT stop the watch, end the event streams, then the server, and the
        command returns (exit 0, as `dataward watch` does) instead of re-raising the signal."""

        def handle_exit(self, sig: int, frame: FrameType | None) -> None:
            for stop in stops:
                stop()
            super().handle_exit(sig, frame)

        @contextlib.contextmanager
        def capture_signals(self) -> Iterator[None]:
            if threading.current_thread() is not threading.main_thread():
                yield
                return
            original = {sig: signal.signal(sig, self.handle_exit) for sig in (signal.SIGINT, signal.SIGTERM)}
            try:
                yield
            finally:
                for sig, handler in original.items():
                    signal.signal(sig, handler)

    config = uvicorn.Config(app, host=address.host, port=address.port, ssl_certfile=tls_cert, ssl_keyfile=tls_key,
                            log_level="warning", server_header=False, timeout_graceful_shutdown=5)
    return Server(config)


COMMANDS.register(serve_command)
