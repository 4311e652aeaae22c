"""Send a command (reboot, re-key ...) to each affected device over MQTT, QoS 1, and track acknowledgements.

Per device the ledger goes ``sending`` (written before publishing) -> ``published`` (the broker's PUBACK)
-> ``acked`` (the device answered on the ack topic with the command id). The responder uses a persistent
MQTT session (fixed client id, clean session off) subscribed to the ack topic before its first publish, so
acknowledgements sent while it was down are queued by the broker and arrive when it reconnects.

After a crash, devices left in ``sending`` may or may not have received the command: the job first waits
for their queued acknowledgements and republishes only to those that stay silent, with the same command id
(a device ignores a command id it has already executed).
Payload: ``{"command": ..., "command_id": ..., "incident": ...}``; ack payload: ``{"command_id": ...}``.

Pacing (issue 13: 34 of 4,350 acknowledgements were lost when everything was published at once and
Mosquitto's per-client queues, ``max_queued_messages`` 1000 by default, overflowed): at most ``window``
commands are outstanding (published, not yet acknowledged) at a time; one still silent after
``window_wait`` stops counting against the window. At the end, devices that have not acknowledged within
``ack_timeout`` get the same command again (same command id), up to ``resends`` times; those that never
acknowledged are reported by id (``unconfirmed`` in the step's JSON) and stay ``published`` in the ledger,
so a later run waits for them and re-sends again.
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


def _positive_int(value: Any, key: str, allow_zero: bool = False, where: str = "device_command") -> int:
    """A playbook count (``window = 200``): an integer of at least 1 (or 0 where allowed), else one sentence."""
    low = 0 if allow_zero else 1
    if isinstance(value, bool) or not isinstance(value, int) or value < low:
        raise ConfigError(f"{where}: {key} must be a whole number of at least {low}, not {str(value)[:40]!r}")
    return value


@register_action
class DeviceCommand(Action):
    name = "device_command"
    notice_text = "We restarted your devices remotely to apply new security keys."
    notice_order = 5
    exclusive = True  # one MQTT session per step (a fixed client id, so acknowledgements outlive a crash)
    doc_config = {
        "broker": "mqtt://host:port of the device broker (user/password in the URL or {env = ...})",
        "topic": 'per-device command topic, e.g. "devices/{device_id}/commands"',
        "ack_topic": 'subscription for acknowledgements, e.g. "devices/+/ack"',
        "command": 'the command, e.g. "reboot"',
        "ack_timeout": "how long to wait for acknowledgements (default 30s)",
        "reconcile_wait": "after a crash, how long to wait for late acknowledgements of the batch in flight (default 2s)",
        "window": "commands published and not yet acknowledged at most at a time (default 200)",
        "window_wait": "how long a silent device counts against the window (default 5s)",
        "resends": "how many times a device that did not acknowledge within ack_timeout gets the command again (default 2)",
    }

    @classmethod
    def check_config(cls, config: dict[str, Any], where: str) -> None:
        super().check_config(config, where)
        _positive_int(config.get("window", 200), "window", where=where)
        _positive_int(config.get("resends", 2), "resends", allow_zero=True, where=where)
        for key in ("window_wait", "ack_timeout"):
            parse_duration(config.get(key), f"{where}: {key}", default=1.0)

    def __init__(self, ctx: Any) -> None:
        super().__init__(ctx)
        cfg = ctx.config
        if "topic" not in cfg or "broker" not in cfg:
            raise ConfigError('device_command needs broker = "mqtt://…" and topic = "devices/{device_id}/…"')
        self.command = str(cfg.get("command", "reboot"))
        self.window = _positive_int(cfg.get("window", 200), "window")
        self.resends = _positive_int(cfg.get("resends", 2), "resends", allow_zero=True)
        self.window_wait = parse_duration(cfg.get("window_wait"), "window_wait", default=5.0)
        self.acks: set[str] = set()
        self.unconfirmed: list[tuple[int, int]] = []  # (mid, qos) of ack messages not yet PUBACKed
        self.lock = threading.Lock()
        self.arrived = threading.Event()  # an acknowledgement came in (wakes the pacing loop)
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
        self.arrived.set()

    def _publish(self, devices: Sequence[int]) -> None:
        """Publish the command to each device, paced: at most ``window`` unacknowledged at a time."""
        client = self._connect()
        infos = []
        topic = str(self.ctx.config["topic"])
        outstanding: dict[str, float] = {}  # command id -> when it was published
        for device in devices:
            self._pace(outstanding)
            command_id = self.command_id(device)
            payload = json.dumps({"command": self.command, "command_id": command_id, "incident": self.ctx.incident.name})
            infos.append(client.publish(topic.format(device_id=device), payload, qos=1))
            outstanding[command_id] = time.monotonic()
            self.ctx.crash_point("mid_publish")
        for info in infos:
            info.wait_for_publish(timeout=30)
            if not info.is_published():
                raise DatawardError("the device broker did not acknowledge a QoS 1 publish within 30 s")

    def _pace(self, outstanding: dict[str, float]) -> None:
        """Wait until fewer than ``window`` commands are outstanding (acknowledged ones and those silent for
        longer than ``window_wait`` leave the window); acknowledgements are recorded and confirmed meanwhile."""
        while len(outstanding) >= self.window:
            self.arrived.clear()
            with self.lock:
                pending = bool(self.unconfirmed)
                acks = self.acks
                for command_id in [c for c in outstanding if c in acks]:
                    del outstanding[command_id]
            stale = time.monotonic() - self.window_wait
            for command_id in [c for c, at in outstanding.items() if at < stale]:
                del outstanding[command_id]
            if len(outstanding) < self.window:
                break
            if pending:  # the broker holds back acknowledgements until these are confirmed (one ledger write)
                self._mark_acked()
            else:
                self.arrived.wait(0.05)  # set by the next acknowledgement

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
        published = [u for u in units if self.states.get(u) != ACKED]  # pacing may have recorded acks already
        self.ctx.incidents.set_ledger(self.ctx.incident.name, self._devices_step, published, PUBLISHED)
        self.states.update(dict.fromkeys(published, PUBLISHED))
        self._mark_acked()
        return BatchOutcome({"devices": len(fresh), "resent": len(set(uncertain) & set(units))})

    def finish(self) -> BatchOutcome:
        """Wait for acknowledgements; re-send to the silent devices (same command id) up to ``resends``
        times; report the devices that never acknowledged."""
        timeout = parse_duration(self.ctx.config.get("ack_timeout"), "ack_timeout", default=30.0)
        resent = 0
        for round_ in range(self.resends + 1):
            waiting = [u for u, s in self.states.items() if s != ACKED]
            if not waiting:
                break
            self._connect()
            if round_:
                self._publish([int(u[1:]) for u in waiting])
                resent += len(waiting)
            self._wait_acks(waiting, timeout)
            self._mark_acked()
        self._mark_acked()
        silent = sorted(int(u[1:]) for u, s in self.states.items() if s != ACKED)
        acked = len(self.states) - len(silent)
        if silent:
            self.ctx.log("respond.device_command.unacknowledged", devices=silent)
        return BatchOutcome(
            {"acked": acked, "unacked": len(silent), "resent_after_timeout": resent}, unconfirmed=[str(d) for d in silent]
        )

    def close(self) -> None:
        if self.client is not None:
            self.client.disconnect()  # a clean DISCONNECT keeps the persistent session (clean_session off)
            self.client.loop_stop()
            self.client = None
