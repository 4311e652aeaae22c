"""The demo's local mail catcher: an aiosmtpd server in its own process that writes each message it accepts to
a folder (``<n>.eml``), so the notices the demo sends can be counted and read afterwards.

It runs as a process of its own (``python -m dataward.demo.mailcatcher PORT FOLDER``) so that parsing the
messages it receives does not compete with the sender for the interpreter. A message is written (under a
temporary name, then renamed) before the 250 reply, so once ``send_notices`` returns every accepted notice is
a complete file.
"""

from __future__ import annotations

import shutil
import socket
import sys
from email.message import EmailMessage
from email.parser import BytesHeaderParser, BytesParser
from email.policy import default
from pathlib import Path
from typing import Any

from dataward.localservers.base import LocalServer


class MailCatcher(LocalServer):
    """The catcher as a local server (free loopback port, own process group, stopped with the demo)."""

    kind = "mailcatcher"

    def __init__(self, folder: Path) -> None:
        super().__init__(start_timeout=30.0)
        self.folder = folder

    def _prepare(self) -> None:
        shutil.rmtree(self.folder, ignore_errors=True)  # the notices of an earlier run
        self.folder.mkdir(parents=True)

    def _command(self) -> list[str]:
        return [sys.executable, "-m", "dataward.demo.mailcatcher", str(self.port), str(self.folder)]

    def _ping(self) -> bool:
        with socket.create_connection(("127.0.0.1", self.port), timeout=1) as sock:
            return sock.recv(3) == b"220"

    @property
    def url(self) -> str:
        return f"smtp://127.0.0.1:{self.port}"

    def files(self) -> list[Path]:
        return sorted(self.folder.glob("*.eml"), key=lambda p: int(p.stem))

    def recipients(self) -> list[str]:
        """The To address of every message caught (headers only)."""
        parser = BytesHeaderParser()
        out = []
        for path in self.files():
            with path.open("rb") as fh:
                out.append(str(parser.parse(fh)["To"]))
        return out


def read_message(path: Path) -> EmailMessage:
    """One caught message, parsed (for a reader or a test)."""
    with path.open("rb") as fh:
        msg = BytesParser(policy=default).parse(fh)
    assert isinstance(msg, EmailMessage)  # the default policy's message class
    return msg


def serve(port: int, folder: Path) -> None:
    import asyncio

    from aiosmtpd.smtp import SMTP

    class Handler:
        count = 0

        async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
            Handler.count += 1
            data = envelope.original_content or envelope.content
            tmp = folder / f".{Handler.count}.tmp"
            tmp.write_bytes(data if isinstance(data, bytes) else data.encode())
            tmp.rename(folder / f"{Handler.count}.eml")
            return "250 OK"

    async def main() -> None:
        loop = asyncio.get_running_loop()
        handler = Handler()
        server = await loop.create_server(lambda: SMTP(handler, hostname="dataward-demo"), "127.0.0.1", port)
        async with server:
            await server.serve_forever()

    asyncio.run(main())


if __name__ == "__main__":
    serve(int(sys.argv[1]), Path(sys.argv[2]))
