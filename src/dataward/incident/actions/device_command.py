"""Send a command (reboot, re-key ...) to each affected device over MQTT, QoS 1, and track acknowledgements.

Per device the ledger goes ``sending`` (written before publishing) -> ``published`` (the broker's PUBACK)
-> ``acked`` (the device answered on the ack topic with the command id). The responder uses a persistent
MQTT session (fixed client id, clean session off) subscribed to the ack topic before its first publish, so
acknowledgements sent while it was down are queued by the broker and arrive when it reconnects.

After a crash, devices left in ``sending`` may or may not have received the command: the job first waits
for their queued acknowledgements and republishes only to those that stay silent, with the same command id
(a device ignores a command id it has already executed). ``published`` devices are never sent again.
Payload: ``{"command": ..., "command_id": ..., "incident": ...}``; ack payload: ``{"command_id": ...}``.
"""

from __future__ import annotations

import hashlib
import json
import threading
import time
from collections.abc import Sequence
from functools import cached_property
from typing import Any

import paho.mqtt.client as mqtt

from dataward.durations import parse_duration
from dataward.errors import ConfigError, DatawardError
from dataward.incident.actions.base import Action, BatchOutcome, register_action
from dataward.incident.db import in_ids
from dataward.redact import hash_prefix
from dataward.tables.base import quote_ident
from dataward.targets import parse_target

SENDING, PUBLISHED, ACKED = "sending", "published", "acked"


@register_action
class DeviceCommand(Action):
    name = "device_command"
    notice_text = "We restarted your devices remotely to apply new security keys."
    notice_order = 5
    doc_config = {
        "broker": "mqtt://host:port of the device broker (user/password in the URL or {env = ...})",
        "topic": 'per-device command topic, e.g. "devices/{device_id}/commands"',
        "ack_topic": 'subscription for acknowledgements, e.g. "devices/+/ack"',
        "command": 'the command, e.g. "reboot"',
        "ack_timeout": "how long to wait for acknowledgements (default 30s)",
        "reconcile_wait": "after a crash, how long to wait for late acknowledgements of the batch in flight (default 2s)",
    }

    def __init__(self, ctx: Any) -> None:
        super().__init__(ctx)
        cfg = ctx.config
        if "topic" not in cfg or "broker" not in cfg:
            raise ConfigError('device_command needs broker = "mqtt://…" and topic = "devices/{device_id}/…"')
        self.command = str(cfg.get("command", "reboot"))
        self.acks: set[str] = set()
        self.unconfirmed: list[tuple[int, int]] = []  # (mid, qos) of ack messages not yet PUBACKed
        self.lock = threading.Lock()
        self.client: mqtt.Client | None = None
        self.states = dict(ctx.incidents.ledger_states(ctx.incident.name, self._devices_step))

    @property
    def _devices_step(self) -> str:
        return self.ctx.step_key + ":devices"

    def command_id(self, device_id: int) -> str:
        raw = f"{self.ctx.incident.name}|{self.ctx.step_key}|{device_id}"
        return hashlib.sha256(raw.encode()).hexdigest()[:20]

    @cached_property
    def _device_role(self) -> tuple[str, dict[str, str]]:
        return self.ctx.columns("device", "id", "customer")

    def check(self) -> None:
        self._device_role  # noqa: B018 - resolves (and so checks) the device role's table and columns

    def _devices(self, users: Sequence[int]) -> list[int]:
        """The ids of these customers' devices (the schema map's ``device`` role)."""
        table, cols = self._device_role
        clause, params = in_ids(self.ctx.prod, cols["customer"], users)
        device_id = quote_ident(cols["id"])
        sql = f"SELECT {device_id} FROM {quote_ident(table)} WHERE {clause} ORDER BY {device_id}"  # noqa: S608
        return [int(r[0]) for r in self.ctx.prod.query(sql, params)]

    def preview(self, users: Sequence[int]) -> BatchOutcome:
        devices = [d for d in self._devices(users) if f"d{d}" not in self.states]
        return BatchOutcome({"devices": len(devices)}, [hash_prefix(d) for d in devices[:5]])

    # MQTT ---------------------------------------------------------------------------------------------
    def _connect(self) -> mqtt.Client:
        if self.client is not None:
            return self.client
        from dataward.config_values import resolve_value

        url = resolve_value(self.ctx.config["broker"], "device_command broker", self.ctx.base_dir)
        target = parse_target(url)
        client_id = (
            "dw-" + hashlib.sha256(f"{self.ctx.incident.name}|{self.ctx.step_key}".encode()).hexdigest()[:16]
        )
        client = mqtt.Client(
            mqtt.CallbackAPIVersion.VERSION2,
            client_id=client_id,
            clean_session=False,
            protocol=mqtt.MQTTv311,
            manual_ack=True,  # PUBACK an acknowledgement only once the ledger holds it: none is lost in a crash
        )
        if target.username:
            client.username_pw_set(target.username, target.password)
        client.max_inflight_messages_set(200)
        client.max_queued_messages_set(0)
        client.on_message = self._on_message
        connected = threading.Event()
        client.on_connect = lambda c, u, f, rc, p=None: connected.set()
        try:
            client.connect(target.host or "127.0.0.1", target.port or 1883, keepalive=30)
        except OSError as exc:
            raise DatawardError(f"cannot connect to the device broker {target.display}: {exc}") from None
        client.loop_start()
        if not connected.wait(10):
            client.loop_stop()
            raise DatawardError(f"the device broker {target.display} did not accept the connection")
        ack_topic = str(self.ctx.config.get("ack_topic", "devices/+/ack"))
        result, mid = client.subscribe(ack_topic, qos=1)
        if result != mqtt.MQTT_ERR_SUCCESS:
            raise DatawardError(f"cannot subscribe to {ack_topic} on {target.display}")
        self.client = client
        return client

    def _on_message(self, client: mqtt.Client, userdata: Any, message: mqtt.MQTTMessage) -> None:
        try:
            command_id = str(json.loads(message.payload)["command_id"])
        except (ValueError, KeyError, TypeError):
            client.ack(message.mid, message.qos)  # not ours to keep
            return
        with self.lock:
            self.acks.add(command_id)
            self.unconfirmed.append((message.mid, message.qos))

    def _publish(self, devices: Sequence[int]) -> None:
        client = self._connect()
        infos = []
        topic = str(self.ctx.config["topic"])
        for device in devices:
            payload = json.dumps(
                {
                    "command": self.command,
                    "command_id": self.command_id(device),
                    "incident": self.ctx.incident.name,
                }
            )
            infos.append(client.publish(topic.format(device_id=device), payload, qos=1))
            self.ctx.crash_point("mid_publish")
        for info in infos:
            info.wait_for_publish(timeout=30)
            if not info.is_published():
                raise DatawardError("the device broker did not acknowledge a QoS 1 publish within 30 s")

    def _mark_acked(self) -> int:
        """Record acknowledgements received so far, then confirm them to the broker; returns how many."""
        with self.lock:
            acks = set(self.acks)
            confirm, self.unconfirmed = self.unconfirmed, []
        done = [u for u, s in self.states.items() if s != ACKED and self.command_id(int(u[1:])) in acks]
        if done:
            self.ctx.incidents.set_ledger(self.ctx.incident.name, self._devices_step, done, ACKED)
            self.states.update(dict.fromkeys(done, ACKED))
        if self.client is not None:
            for mid, qos in confirm:
                self.client.ack(mid, qos)
        return len(done)

    def _wait_acks(self, units: Sequence[str], timeout: float) -> None:
        deadline = time.monotonic() + timeout
        wanted = {self.command_id(int(u[1:])) for u in units}
        while time.monotonic() < deadline:
            with self.lock:
                if wanted <= self.acks:
                    return
                pending = bool(self.unconfirmed)
            if pending:  # the broker sends only a few unconfirmed messages at a time (its inflight window)
                self._mark_acked()
            time.sleep(0.05)

    # the step ---------------------------------------------------------------------------------------
    def apply(self, unit: str, users: Sequence[int]) -> BatchOutcome:
        devices = self._devices(users)
        uncertain = [f"d{d}" for d in devices if self.states.get(f"d{d}") == SENDING]
        if uncertain:  # a previous run crashed between write-ahead and PUBACK: listen before resending
            self._connect()
            self._wait_acks(uncertain, parse_duration(self.ctx.config.get("reconcile_wait"), "reconcile_wait", default=2.0, allow_zero=True))
            self._mark_acked()
        fresh = [d for d in devices if f"d{d}" not in self.states or self.states[f"d{d}"] == SENDING]
        if not fresh:
            return BatchOutcome({"devices": 0})
        units = [f"d{d}" for d in fresh]
        self.ctx.incidents.set_ledger(self.ctx.incident.name, self._devices_step, units, SENDING)
        self.states.update(dict.fromkeys(units, SENDING))
        self.ctx.crash_point("after_write_ahead")
        self._publish(fresh)
        self.ctx.crash_point("after_publish")
        self.ctx.incidents.set_ledger(self.ctx.incident.name, self._devices_step, units, PUBLISHED)
        self.states.update(dict.fromkeys(units, PUBLISHED))
        self._mark_acked()
        return BatchOutcome({"devices": len(fresh), "resent": len(set(uncertain) & set(units))})

    def finish(self) -> BatchOutcome:
        waiting = [u for u, s in self.states.items() if s != ACKED]
        if waiting:
            self._connect()
            self._wait_acks(waiting, parse_duration(self.ctx.config.get("ack_timeout"), "ack_timeout", default=30.0))
        self._mark_acked()
        acked = sum(1 for s in self.states.values() if s == ACKED)
        return BatchOutcome({"acked": acked, "unacked": len(self.states) - acked})

    def close(self) -> None:
        if self.client is not None:
            self.client.disconnect()  # a clean DISCONNECT keeps the persistent session (clean_session off)
            self.client.loop_stop()
            self.client = None
