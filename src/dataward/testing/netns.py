"""Network namespaces for tests that need a 'remote' host: a veth pair with addresses from 10.203.0.0/16.

A server started with ``netns=ns.name, connect_host=ns.ns_address`` runs inside the namespace; the host
reaches it at ``ns.ns_address`` only if it is bound to 0.0.0.0 (or that address) there, which is exactly the
difference between an exposed and a loopback-only store. Only addresses this module creates are used (a
/30 per namespace, chosen among the ones no interface on this machine has yet).

``netns_unavailable()`` says why namespaces cannot be made here (not root, ``ip netns add`` forbidden); the
pytest fixtures turn that into ``pytest.skip`` with the reason.
"""

from __future__ import annotations

import atexit
import contextlib
import ipaddress
import os
import secrets
import shutil
import subprocess
from collections.abc import Sequence
from dataclasses import dataclass, field
from types import TracebackType
from typing import Self

TEST_RANGE = ipaddress.IPv4Network("10.203.0.0/16")


class NetnsError(RuntimeError):
    """A namespace or veth pair could not be set up."""


def _ip(*args: str, netns: str | None = None, check: bool = True) -> subprocess.CompletedProcess[str]:
    argv = ["ip", *(("netns", "exec", netns, "ip") if netns else ()), *args]
    proc = subprocess.run(argv, capture_output=True, text=True, timeout=15, check=False)
    if check and proc.returncode != 0:
        raise NetnsError(f"{' '.join(argv)}: {proc.stderr.strip() or proc.stdout.strip()}")
    return proc


def netns_unavailable() -> str | None:
    """None when namespaces can be created here, else the reason why not."""
    if shutil.which("ip") is None:
        return "the ip command (iproute2) is not installed"
    if os.geteuid() != 0:
        return "creating network namespaces needs root"
    name = "dw-check-" + secrets.token_hex(3)
    proc = _ip("netns", "add", name, check=False)
    if proc.returncode != 0:
        return f"ip netns add is not permitted here: {proc.stderr.strip()}"
    _ip("netns", "del", name, check=False)
    return None


def _used_addresses() -> set[ipaddress.IPv4Address]:
    out = _ip("-4", "-o", "addr", "show", check=False).stdout
    used: set[ipaddress.IPv4Address] = set()
    for line in out.splitlines():
        parts = line.split()
        if "inet" in parts:
            used.add(ipaddress.IPv4Interface(parts[parts.index("inet") + 1]).ip)
    return used


def _free_subnet() -> ipaddress.IPv4Network:
    used = _used_addresses()
    subnets = list(TEST_RANGE.subnets(new_prefix=30))
    for _ in range(200):
        net = subnets[secrets.randbelow(len(subnets))]
        if not any(a in net for a in used):
            return net
    raise NetnsError("no free /30 left in 10.203.0.0/16")


@dataclass
class NetNamespace:
    """A namespace joined to the host by a veth pair; ``ns_address`` is the namespace's side."""

    name: str
    host_if: str
    ns_if: str
    host_address: str
    ns_address: str
    _open: bool = field(default=True, repr=False)

    def exec(self, argv: Sequence[str], timeout: float = 30) -> subprocess.CompletedProcess[str]:
        """Run a command inside the namespace."""
        return subprocess.run(
            ["ip", "netns", "exec", self.name, *argv], capture_output=True, text=True, timeout=timeout, check=False
        )

    def close(self) -> None:
        """Delete the namespace (its veth end goes with it, and so does the host end)."""
        if not self._open:
            return
        _ip("netns", "del", self.name, check=False)
        _ip("link", "del", self.host_if, check=False)
        self._open = False
        atexit.unregister(self.close)

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()


def create_netns() -> NetNamespace:
    """A fresh namespace with a veth pair and a /30 from 10.203.0.0/16 (host .1, namespace .2)."""
    tag = secrets.token_hex(3)
    net = _free_subnet()
    host_ip, ns_ip = (str(a) for a in list(net.hosts())[:2])
    ns = NetNamespace(f"dw-{tag}", f"dwh-{tag}", f"dwn-{tag}", host_ip, ns_ip)
    try:
        _ip("netns", "add", ns.name)
        atexit.register(ns.close)
        _ip("link", "add", ns.host_if, "type", "veth", "peer", "name", ns.ns_if)
        _ip("link", "set", ns.ns_if, "netns", ns.name)
        _ip("addr", "add", f"{host_ip}/{net.prefixlen}", "dev", ns.host_if)
        _ip("link", "set", ns.host_if, "up")
        _ip("addr", "add", f"{ns_ip}/{net.prefixlen}", "dev", ns.ns_if, netns=ns.name)
        _ip("link", "set", ns.ns_if, "up", netns=ns.name)
        _ip("link", "set", "lo", "up", netns=ns.name)
    except NetnsError:
        with contextlib.suppress(NetnsError):
            ns.close()
        raise
    return ns
