"""Local receivers for what dataward sends out: a webhook (HTTP POST of JSON) and an SMTP server (aiosmtpd).

Both listen on free loopback ports, keep what they received in memory, and can be told to fail the next N
requests (to test retries). ``wait_for(predicate, timeout)`` polls until enough has arrived.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from email import message_from_bytes
from email.message import Message
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any, Self

from dataward.localservers.ports import free_port


class WebhookReceiver:
    """``url`` accepts JSON POSTs; ``received`` is the list of decoded bodies (in arrival order)."""

    def __init__(self) -> None:
        self.received: list[dict[str, Any]] = []
        self.arrived: list[float] = []  # time.time() of each entry of ``received``
        self.requests = 0
        self.fail_next = 0  # answer this many requests with HTTP 500 first
        self._lock = threading.Lock()
        self._server: ThreadingHTTPServer | None = None
        self.port = 0

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/hook"

    def start(self) -> Self:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                with receiver._lock:
                    receiver.requests += 1
                    failing = receiver.fail_next > 0
                    if failing:
                        receiver.fail_next -= 1
                    else:
                        receiver.received.append(json.loads(body or b"{}"))
                        receiver.arrived.append(time.time())
                self.send_response(500 if failing else 200)
                self.end_headers()

            def log_message(self, format: str, *args: Any) -> None:  # quiet
                return

        self.port = free_port()
        self._server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        threading.Thread(target=self._server.serve_forever, name="webhook-receiver", daemon=True).start()
        return self

    def events(self, store: str | None = None) -> list[str]:
        with self._lock:
            return [r.get("event", "") for r in self.received if store is None or r.get("store") == store]

    def wait_for(self, predicate: Callable[[WebhookReceiver], bool], timeout: float = 30.0) -> bool:
        return _wait(lambda: predicate(self), timeout)

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, t: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None) -> None:
        self.stop()


class SmtpReceiver:
    """An aiosmtpd server on a free port; ``messages`` holds every received e-mail."""

    def __init__(self) -> None:
        self.messages: list[Message] = []
        self.raw: list[bytes] = []
        self.port = 0
        self._controller: Any = None

    @property
    def url(self) -> str:
        """An smtp:// alert URL that delivers here."""
        return f"smtp://127.0.0.1:{self.port}?to=security@example.com&from=dataward@example.com"

    def start(self) -> Self:
        from aiosmtpd.controller import Controller

        receiver = self

        class Handler:
            async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
                data = envelope.content if isinstance(envelope.content, bytes) else envelope.content.encode()
                receiver.raw.append(data)
                receiver.messages.append(message_from_bytes(data))
                return "250 OK"

        self.port = free_port()
        self._controller = Controller(Handler(), hostname="127.0.0.1", port=self.port)
        self._controller.start()
        return self

    def subjects(self) -> list[str]:
        return [str(m["Subject"]) for m in self.messages]

    def wait_for(self, predicate: Callable[[SmtpReceiver], bool], timeout: float = 30.0) -> bool:
        return _wait(lambda: predicate(self), timeout)

    def stop(self) -> None:
        if self._controller is not None:
            self._controller.stop()
            self._controller = None

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, t: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None) -> None:
        self.stop()


def _wait(check: Callable[[], bool], timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return True
        time.sleep(0.1)
    return check()
