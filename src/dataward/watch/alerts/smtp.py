"""E-mail sink: ``smtp://[user:pass@]host:port?to=a@x,b@y&from=dataward@x[&starttls=1]`` or
``mailto:a@x?smtp=host:port`` (``smtps://`` for implicit TLS). One plain-text message per alert."""

from __future__ import annotations

import smtplib
from email.message import EmailMessage
from email.utils import make_msgid
from typing import Any, ClassVar
from urllib.parse import parse_qs, unquote, urlsplit

from dataward.errors import ConfigError
from dataward.watch.alerts.base import DeliveryError, register_sink, subject, text_body


@register_sink
class SmtpSink:
    schemes: ClassVar[tuple[str, ...]] = ("smtp", "smtps", "mailto")
    timeout_s: ClassVar[float] = 10.0

    def __init__(self, url: str) -> None:
        parts = urlsplit(url)
        query = {k: v[-1] for k, v in parse_qs(parts.query).items()}
        self.implicit_tls = parts.scheme == "smtps"
        if parts.scheme == "mailto":
            self.to = [unquote(a) for a in parts.path.split(",") if a]
            host, _, port = query.get("smtp", "localhost:25").partition(":")
            self.host, self.port, self.user, self.password = host, int(port or 25), None, None
        else:
            self.to = [a for a in query.get("to", "").split(",") if a]
            self.host = parts.hostname or "localhost"
            self.port = parts.port or (465 if self.implicit_tls else 25)
            self.user = unquote(parts.username) if parts.username else None
            self.password = unquote(parts.password) if parts.password else None
        self.sender = query.get("from", "dataward@localhost")
        self.starttls = query.get("starttls", "0") in ("1", "true", "yes")
        if not self.to:
            raise ConfigError("an smtp alert URL needs recipients", tip="add ?to=security@example.com")

    def send(self, payload: dict[str, Any]) -> None:
        msg = EmailMessage()
        msg["Subject"] = subject(payload)
        msg["From"] = self.sender
        msg["To"] = ", ".join(self.to)
        msg["Message-ID"] = make_msgid(domain="dataward")
        msg.set_content(text_body(payload))
        try:
            cls = smtplib.SMTP_SSL if self.implicit_tls else smtplib.SMTP
            with cls(self.host, self.port, timeout=self.timeout_s) as smtp:
                if self.starttls:
                    smtp.starttls()
                if self.user:
                    smtp.login(self.user, self.password or "")
                smtp.send_message(msg)
        except (OSError, smtplib.SMTPException) as exc:
            raise DeliveryError(f"mail not sent via {self.host}:{self.port}: {type(exc).__name__}") from None
