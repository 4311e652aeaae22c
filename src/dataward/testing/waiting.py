"""Waiting for the event a test needs (a SUBACK, a received message, a state row), never for a fixed time."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any

import paho.mqtt.client as mqtt


def wait_until(predicate: Callable[[], Any], timeout: float = 10.0, what: str = "the condition",
               poll: float = 0.02) -> None:
    """Return as soon as ``predicate()`` is true; AssertionError naming ``what`` after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() >= deadline:
            raise AssertionError(f"timed out after {timeout:g} s waiting for {what}")
        time.sleep(poll)


def subscribe_and_wait(client: mqtt.Client, topic: str, qos: int = 0, timeout: float = 10.0) -> None:
    """Subscribe and return once the broker's SUBACK arrived (the client's network loop must be running).

    Messages published after this returns reach the client; retained ones are on their way before any of them.
    """
    acked: set[int] = set()  # filled on the network thread, possibly before subscribe() returns
    previous = client.on_subscribe

    def on_subscribe(c: mqtt.Client, userdata: Any, mid: int, *rest: Any) -> None:
        acked.add(mid)
        if previous is not None:
            previous(c, userdata, mid, *rest)

    client.on_subscribe = on_subscribe
    try:
        result, mid = client.subscribe(topic, qos=qos)
        if result != mqtt.MQTT_ERR_SUCCESS:
            raise AssertionError(f"subscribing to {topic} failed: {mqtt.error_string(result)}")
        wait_until(lambda: mid in acked, timeout, f"the SUBACK for {topic}")
    finally:
        client.on_subscribe = previous


def connect_and_wait(client: mqtt.Client, host: str, port: int, timeout: float = 10.0) -> None:
    """Connect, start the network loop and return once the broker's CONNACK accepted the client."""
    connected = threading.Event()
    client.on_connect = lambda c, u, flags, reason, *rest: connected.set() if not reason.is_failure else None
    client.connect(host, port)
    client.loop_start()
    if not connected.wait(timeout):
        client.loop_stop()
        raise AssertionError(f"no CONNACK from {host}:{port} within {timeout:g} s")
