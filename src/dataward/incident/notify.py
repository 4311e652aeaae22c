"""Customer notices: one message per affected customer, exactly once across crashes.

Each message lists exactly the fields exposed for that customer (the body-metrics paragraph only for the
cohort whose health data was exposed), the response steps that were taken, what they should do, and a
verification code they can confirm on the lookup site. Plain text and HTML come from jinja2 templates
(``subject.txt.j2``, ``body.txt.j2``, ``body.html.j2``) in a template folder; a default ships with dataward.
Templates may not contain links (an ``href`` or a sign-in URL): a notice that teaches people to click is
what phishing copies.

Exactly once: before a message is handed to SMTP its ledger row becomes ``sending`` with its Message-ID
(write-ahead, committed); after the server's 250 it becomes ``sent``. On restart, ``sending`` rows are
reconciled against a source of truth about what the mail system accepted (its log, an archive mailbox, or a
callable in the library API): found -> ``sent``; not found -> sent again with the same Message-ID. Without
a reconciliation source they stay ``uncertain`` and are reported, unless ``resend_uncertain`` is set.

With ``connections`` > 1, messages go out in batches over that many SMTP connections at once: the whole batch
becomes ``sending`` (one commit) before any of it is handed over, and each message becomes ``sent`` or ``failed``
once the batch is done; the rules above hold per message, so a crash leaves at most one batch to reconcile.
"""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import re
import smtplib
import ssl
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from email.message import EmailMessage
from email.utils import formatdate
from importlib import resources
from pathlib import Path
from typing import Any

import jinja2

from dataward.errors import DatawardError
from dataward.incident.actions.base import ACTIONS, Fault
from dataward.incident.audit import AuditLog
from dataward.incident.codes import verification_code
from dataward.incident.lookup import label
from dataward.incident.obligations import CREDENTIALS, HEALTH
from dataward.incident.ops import affected_fields, affected_table, customer_contacts, source_for
from dataward.incident.store import Incident, IncidentDB
from dataward.schemamap import SchemaMap
from dataward.targets import Target, parse_target

SENDING, SENT, FAILED = "sending", "sent", "failed"
TEMPLATES = ("subject.txt.j2", "body.txt.j2", "body.html.j2")
_LOGIN_URL = re.compile(r"https?://\S*(log-?in|sign-?in|signon|account|password|auth)", re.IGNORECASE)
_HREF = re.compile(r"<a\b[^>]*\bhref\s*=", re.IGNORECASE)
PROVIDER_NAMES = {"alexa": "Amazon Alexa", "google_assistant": "Google Assistant", "ifttt": "IFTTT"}

Reconcile = Callable[[str], bool]  # Message-ID -> did the mail system accept it?


@dataclass
class NotifyReport:
    sent: int = 0
    already_sent: int = 0
    reconciled: int = 0
    resent: int = 0
    uncertain: int = 0
    no_email: int = 0
    messages_per_s: float = 0.0
    notes: list[str] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return {"schema": "dataward.notify/v1", **self.__dict__}


def default_template_dir() -> Path:
    return Path(str(resources.files("dataward.incident").joinpath("templates/notice")))


def load_templates(folder: str | Path | None) -> jinja2.Environment:
    """The template folder (or the shipped default), checked for the three templates and for links."""
    path = Path(folder) if folder else default_template_dir()
    missing = [t for t in TEMPLATES if not (path / t).is_file()]
    if missing:
        raise DatawardError(
            f"the template folder {path} lacks {', '.join(missing)}", tip=f"it needs {', '.join(TEMPLATES)}"
        )
    for name in TEMPLATES:
        text = (path / name).read_text()
        if _HREF.search(text) or _LOGIN_URL.search(text):
            raise DatawardError(
                f"the template {path / name} contains a link",
                tip="notices must not link to a login page (phishing hygiene)",
            )
    return jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(path)),
        autoescape=jinja2.select_autoescape(enabled_extensions=("html.j2",), default_for_string=False),
        undefined=jinja2.StrictUndefined,
        keep_trailing_newline=True,
    )


def message_id(incident: Incident, user_id: int, domain: str) -> str:
    """Deterministic per (incident, customer): a resend carries the same id, so receivers can dedupe."""
    token = hmac.new(bytes.fromhex(incident.secret), f"msgid:{user_id}".encode(), hashlib.sha256).hexdigest()[
        :24
    ]
    return f"<{token}.{incident.name}@{domain}>"


class Pacer:
    """Rate limit with warm-up: the rate ramps linearly from a tenth to full over ``warmup_s`` seconds."""

    def __init__(self, rate: float | None, warmup_s: float = 0.0) -> None:
        self.rate, self.warmup_s = rate, warmup_s
        self.start = time.monotonic()
        self.next_at = self.start

    def current_rate(self) -> float | None:
        if not self.rate:
            return None
        if self.warmup_s <= 0:
            return self.rate
        frac = min(1.0, (time.monotonic() - self.start) / self.warmup_s)
        return self.rate * (0.1 + 0.9 * frac)

    def wait(self) -> None:
        rate = self.current_rate()
        if rate is None:
            return
        now = time.monotonic()
        if self.next_at > now:
            time.sleep(self.next_at - now)
        self.next_at = max(self.next_at, now) + 1.0 / rate


class NotSent(DatawardError):
    """The mail server certainly did not accept the message (no connection, or it answered with an error):
    the customer's ledger row becomes ``failed`` and the next run sends it, unlike a crash mid-DATA."""


class SmtpSender:
    """One SMTP connection, reopened when the server drops it; smtp://, smtps://, ?starttls=1."""

    def __init__(self, url: str, timeout: float = 30.0) -> None:
        self.target: Target = parse_target(url)
        if self.target.scheme not in ("smtp", "smtps"):
            raise DatawardError(f"'{self.target.display}' is not an smtp:// or smtps:// URL")
        self.timeout = timeout
        self.conn: smtplib.SMTP | None = None

    def _open(self) -> smtplib.SMTP:
        t = self.target
        host, port = t.host or "127.0.0.1", t.port or (465 if t.scheme == "smtps" else 25)
        try:
            if t.scheme == "smtps":
                conn: smtplib.SMTP = smtplib.SMTP_SSL(
                    host, port, timeout=self.timeout, context=ssl.create_default_context()
                )
            else:
                conn = smtplib.SMTP(host, port, timeout=self.timeout)
                if t.params.get("starttls") in ("1", "true", "yes"):
                    conn.starttls(context=ssl.create_default_context())
            if t.username:
                conn.login(t.username, t.password or "")
        except (OSError, smtplib.SMTPException) as exc:
            raise NotSent(
                f"cannot connect to the mail server {t.display}: {exc}",
                tip="nothing was sent to the remaining customers; run the same command again once it answers",
            ) from None
        return conn

    def send(self, msg: EmailMessage) -> None:
        for attempt in (1, 2):
            if self.conn is None:
                self.conn = self._open()
            try:
                self.conn.send_message(msg)
                return
            except smtplib.SMTPServerDisconnected:
                self.conn = None
                if attempt == 2:
                    raise DatawardError(
                        f"the mail server {self.target.display} keeps closing the connection"
                    ) from None
            except smtplib.SMTPRecipientsRefused:
                raise
            except smtplib.SMTPResponseException as exc:  # an error reply: the message was not accepted
                raise NotSent(
                    f"the mail server {self.target.display} refused a message: {exc.smtp_code}",
                    tip="the refused customer is retried on the next run",
                ) from None
            except smtplib.SMTPException as exc:
                raise DatawardError(
                    f"the mail server {self.target.display} refused a message: {exc}"
                ) from None

    def close(self) -> None:
        if self.conn is not None:
            with contextlib.suppress(OSError, smtplib.SMTPException):
                self.conn.quit()
            self.conn = None


def reconcile_from_log(path: str | Path) -> Reconcile:
    """Message-IDs the mail system logged as accepted (e.g. grep of postfix's ``message-id=<…>`` lines)."""
    return reconcile_from_text(Path(path).read_text(errors="replace"))


def reconcile_from_text(text: str) -> Reconcile:
    """As :func:`reconcile_from_log`, from the log's text (``dataward serve``'s API takes it in its body)."""
    seen = set(log_message_ids(text))
    return lambda mid: mid in seen


def log_message_ids(text: str) -> list[str]:
    """Every ``<…@…>`` of a mail log (Message-IDs; a recipient's address too, only ever compared, never kept)."""
    return re.findall(r"<[^<>\s]+@[^<>\s]+>", text)


def _steps_taken(incidents: IncidentDB, name: str) -> list[str]:
    """Actions of the response with at least one batch done, in the order notices describe them."""
    actions = []
    for step in sorted(incidents.steps_done(name)):
        parts = str(step).split("-")
        action = "-".join(parts[1:-1]) if len(parts) >= 3 else ""
        if action in ACTIONS and action not in actions:
            actions.append(action)
    return sorted(actions, key=lambda a: ACTIONS.get(a).notice_order)


def _account_flags(source: str, users: list[int]) -> dict[int, tuple[list[str], bool]]:
    """relink providers and password-reset flag per customer, when the source is a SQL token store."""
    from dataward.incident.db import connect, in_ids

    target = parse_target(source)
    if target.scheme not in ("sqlite", "duckdb", "postgresql", "postgres"):
        return {}
    db = connect(target, create=False)
    try:
        if not db.table_exists("dataward_account_flags"):
            return {}
        out: dict[int, tuple[list[str], bool]] = {}
        for i in range(0, len(users), 50000):
            clause, params = in_ids(db, "user_id", users[i : i + 50000])
            sql = f"SELECT user_id, relink_providers, password_reset_required FROM dataward_account_flags WHERE {clause}"  # noqa: S608
            for uid, relink, reset in db.query(sql, params):
                out[int(uid)] = ([p for p in str(relink or "").split(",") if p], bool(reset))
        return out
    finally:
        db.close()


def _applied(action: str, relink: list[str], reset: bool) -> bool:
    """Whether a response action changed this customer's account, so their notice may say so. Unlinking and
    password resets leave a per-customer flag; the other actions apply to every affected account."""
    if action == "unlink_integrations":
        return bool(relink)
    if action == "password_reset":
        return reset
    return True


def render_notice(
    env: jinja2.Environment, incident: Incident, user_id: int, fields: list[str], context: dict[str, Any]
) -> tuple[str, str, str]:
    """(subject, text, html) for one customer."""
    relink, reset = context["flags"].get(user_id, ([], False))
    data = {
        "company": context["company"],
        "lookup_address": context["lookup_address"],
        "window_from": incident.window_from[:10],
        "window_to": incident.window_to[:10],
        "fields": [{"id": f, "label": label(f)} for f in fields],
        "health": any(f in HEALTH for f in fields),
        "has_credentials": any(f in CREDENTIALS for f in fields),
        "steps": [text for action, text in context["steps"] if _applied(action, relink, reset)],
        "relink": sorted({PROVIDER_NAMES.get(p, p) for p in relink}),
        "reset": reset or "password_reset" in context["actions"],
        "code": verification_code(incident.secret, user_id),
    }
    subject = env.get_template("subject.txt.j2").render(data).strip()
    text = env.get_template("body.txt.j2").render(data)
    html = env.get_template("body.html.j2").render(data)
    if _HREF.search(html) or _LOGIN_URL.search(text) or _LOGIN_URL.search(html):
        raise DatawardError("a rendered notice contains a link", tip="notices must not link to a login page")
    return subject, text, html


def send_notices(
    incidents: IncidentDB,
    name: str,
    smtp_url: str,
    *,
    template_dir: str | Path | None = None,
    sender: str = "security@example.com",
    company: str = "our",
    lookup_address: str | None = None,
    source: str | None = None,
    rate: float | None = None,
    warmup_s: float = 0.0,
    audit: AuditLog | None = None,
    reconcile: Reconcile | None = None,
    resend_uncertain: bool = False,
    fault: Fault | None = None,
    smtp: SmtpSender | None = None,
    limit: int | None = None,
    schema: SchemaMap | None = None,
    connections: int = 1,
) -> NotifyReport:
    """Send every affected customer their notice once; safe to re-run after any crash.

    ``limit`` stops after that many messages this run (staged sending; the next run continues). Addresses
    come from the ``customer`` role's ``email`` column of ``schema`` (default: the reference device cloud's).
    ``connections`` > 1 delivers batches over that many SMTP connections at once (ignored when ``smtp`` is
    given: one sender is one connection).
    """
    if connections < 1:
        raise ValueError("connections must be at least 1")
    env = load_templates(template_dir)
    incident = incidents.get(name)
    affected = affected_table(incidents, name)
    fields = affected_fields(affected)
    src = source_for(incidents, name, source)
    contacts = customer_contacts(src, affected.column("user_id"), schema=schema, by="notify")
    contacts = contacts.rename_columns(["id", "_email"])
    joined = affected.join(contacts, keys="user_id", right_keys="id", join_type="left outer").sort_by(
        "user_id"
    )
    users = [int(u) for u in joined.column("user_id").to_pylist()]
    actions = _steps_taken(incidents, name)
    context = {
        "company": company,
        "lookup_address": lookup_address,
        "steps": [(a, ACTIONS.get(a).notice_text) for a in actions],
        "actions": set(actions),
        "flags": _account_flags(src, users),
    }
    domain = sender.rsplit("@", 1)[-1]
    report = NotifyReport()
    states = incidents.send_states(name)
    mailer = smtp or SmtpSender(smtp_url)
    parallel = _Parallel(smtp_url, connections) if smtp is None and connections > 1 else None
    batch: list[tuple[int, str, EmailMessage]] = []
    pacer = Pacer(rate, warmup_s)
    started = time.monotonic()
    flags = {f: joined.column(f).to_pylist() for f in fields}
    emails = joined.column("_email").to_pylist()
    try:
        for i, user_id in enumerate(users):
            if limit is not None and report.sent + len(batch) >= limit:
                break
            state = states.get(user_id)
            if state and state[0] == SENT:
                report.already_sent += 1
                continue
            email = emails[i]
            if not email:
                report.no_email += 1
                continue
            mid = message_id(incident, user_id, domain)
            if state and state[0] in (SENDING, "uncertain"):
                if reconcile is not None and reconcile(state[1]):
                    incidents.set_send(name, user_id, SENT, state[1])
                    _log(audit, "notify.reconciled", name, user_id, state[1])
                    report.reconciled += 1
                    continue
                if reconcile is None and not resend_uncertain:
                    if state[0] == SENDING:
                        incidents.set_send(name, user_id, "uncertain", state[1])
                    report.uncertain += 1
                    continue
                report.resent += 1
            subject, text, html = render_notice(
                env, incident, user_id, [f for f in fields if flags[f][i]], context
            )
            msg = _message(sender, str(email), subject, text, html, mid)
            pacer.wait()
            if parallel is not None:
                batch.append((user_id, mid, msg))
                if len(batch) >= parallel.batch_size:
                    _send_batch(incidents, name, parallel, batch, report, audit, fault, states)
                    batch = []
                continue
            _crash(fault, "before_write_ahead")
            if not incidents.claim_sends(name, SENDING, [(user_id, mid, state)]):
                report.already_sent += 1  # another run claimed it after this one read the ledger
                continue
            _crash(fault, "after_write_ahead")
            try:
                mailer.send(msg)
            except NotSent:
                incidents.set_send(name, user_id, FAILED, mid)  # certainly not sent: the next run retries it
                raise
            _crash(fault, "after_send")
            incidents.set_send(name, user_id, SENT, mid)
            _log(audit, "notify.sent", name, user_id, mid)
            report.sent += 1
        if parallel is not None and batch:
            _send_batch(incidents, name, parallel, batch, report, audit, fault, states)
    finally:
        if smtp is None:
            mailer.close()
        if parallel is not None:
            parallel.close()
        if audit is not None:
            audit.checkpoint()
    elapsed = time.monotonic() - started
    report.messages_per_s = round(report.sent / elapsed, 1) if elapsed > 0 and report.sent else 0.0
    if report.uncertain:
        report.notes.append(
            f"{report.uncertain} messages may or may not have been accepted before a crash; pass --reconcile-log "
            "(the mail system's log of Message-IDs) or --resend-uncertain"
        )
    return report


class _Parallel:
    """Several SMTP connections, one per worker thread, each opened on first use and closed at the end."""

    def __init__(self, url: str, connections: int) -> None:
        self.url = url
        self.batch_size = connections * 20
        self.pool = ThreadPoolExecutor(max_workers=connections, thread_name_prefix="notify-smtp")
        self.local = threading.local()
        self.senders: list[SmtpSender] = []
        self.lock = threading.Lock()

    def deliver(self, msg: EmailMessage) -> Exception | None:
        sender = getattr(self.local, "sender", None)
        if sender is None:
            sender = self.local.sender = SmtpSender(self.url)
            with self.lock:
                self.senders.append(sender)
        try:
            sender.send(msg)
        except Exception as exc:  # handed back to the caller, which records the batch before raising it
            return exc
        return None

    def close(self) -> None:
        self.pool.shutdown(wait=True)
        for sender in self.senders:
            sender.close()


def _send_batch(
    incidents: IncidentDB,
    name: str,
    parallel: _Parallel,
    batch: list[tuple[int, str, EmailMessage]],
    report: NotifyReport,
    audit: AuditLog | None,
    fault: Fault | None,
    states: dict[int, tuple[str, str]],
) -> None:
    """Write-ahead for the whole batch (each message only if its ledger row is still as ``states`` read it), deliver it over the connections, then record each message's outcome.

    A message the server certainly refused (``NotSent``) becomes ``failed``; one whose fate is unknown (the
    connection dropped twice, an unexpected error) stays ``sending`` for reconciliation, as in a crash."""
    _crash(fault, "before_write_ahead")
    claimed = incidents.claim_sends(name, SENDING, [(user_id, mid, states.get(user_id)) for user_id, mid, _ in batch])
    report.already_sent += len(batch) - len(claimed)  # another run claimed those after this one read the ledger
    batch = [item for item in batch if item[0] in claimed]
    _crash(fault, "after_write_ahead")
    outcomes = list(parallel.pool.map(parallel.deliver, [msg for _, _, msg in batch]))
    accepted = [(user_id, mid) for (user_id, mid, _), error in zip(batch, outcomes, strict=True) if error is None]
    refused = [(user_id, FAILED, mid) for (user_id, mid, _), error in zip(batch, outcomes, strict=True)
               if isinstance(error, NotSent)]  # fmt: skip
    _crash(fault, "after_send")
    incidents.set_sends(name, [(user_id, SENT, mid) for user_id, mid in accepted] + refused)
    for user_id, mid in accepted:
        _log(audit, "notify.sent", name, user_id, mid)
    report.sent += len(accepted)
    error = next((e for e in outcomes if e is not None), None)
    if error is not None:
        raise error


def _crash(fault: Fault | None, point: str) -> None:
    if fault is not None:
        fault(f"notify:{point}")


def _log(audit: AuditLog | None, action: str, name: str, user_id: int, mid: str) -> None:
    if audit is not None:
        audit.append(action, incident=name, user_id=user_id, message_id=mid)


def _message(sender: str, to: str, subject: str, text: str, html: str, mid: str) -> EmailMessage:
    msg = EmailMessage()
    msg["From"] = sender
    msg["To"] = to
    msg["Subject"] = subject
    msg["Message-ID"] = mid
    msg["Date"] = formatdate(usegmt=True)
    msg["Auto-Submitted"] = "auto-generated"
    msg.set_content(text)
    msg.add_alternative(html, subtype="html")
    return msg
