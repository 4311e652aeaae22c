"""Issue 13: ~4,400 device commands (respond's device_command over MQTT) through a Mosquitto with its default
queues, every command published at once vs. paced by the default window (200), one simulated-device client.

    flock /tmp/dataward-bench.lock .venv/bin/python bench/respond_mqtt.py

Prints per run the step's counts (acked, unacked), how many devices received a command, the time, and how
many "Outgoing messages are being dropped" warnings Mosquitto logged.
"""

from __future__ import annotations

import json
import random
import shutil
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path
from typing import Any

import paho.mqtt.client as mqtt
import pyarrow.compute as pc

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))
from incident_helpers import cloud_tables, exposed_copy, write_store

from dataward.incident import ops
from dataward.incident.respond import load_playbook, run_playbook
from dataward.incident.store import open_incident_db
from dataward.testing.servers.mosquitto import MosquittoServer
from dataward.testing.waiting import connect_and_wait, subscribe_and_wait

USERS = 3600  # half of them in the exposed copy: about 4,400 devices


def _devices(broker: MosquittoServer, prefix: str, got: dict[str, int]) -> mqtt.Client:
    """One client playing every device: counts commands and acknowledges each (QoS 1)."""
    client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=f"sim-{prefix}")

    def on_message(c: mqtt.Client, _u: Any, m: mqtt.MQTTMessage) -> None:
        device = m.topic.split("/")[-2]
        got[device] += 1
        ack = json.dumps({"command_id": json.loads(m.payload)["command_id"]})
        c.publish(f"{prefix}/devices/{device}/ack", ack, qos=1)

    client.on_message = on_message
    connect_and_wait(client, broker.host, broker.port)
    subscribe_and_wait(client, f"{prefix}/devices/+/cmd", qos=1)
    return client


def main() -> None:
    root = Path(tempfile.mkdtemp(prefix="dw-bench-mqtt-"))
    prod = cloud_tables(USERS, 11)
    write_store(f"sqlite:///{root}/prod.db", prod)
    half = exposed_copy(
        prod,
        {"users": ["id", "email"], "devices": ["id", "user_id", "nickname"]},
        lambda name, t: pc.less_equal(t["id" if name == "users" else "user_id"], USERS // 2),
    )
    copy = write_store(f"duckdb:///{root}/copy.duckdb", half)
    broker = MosquittoServer(allow_anonymous=True)
    broker.start()
    try:
        for label, window, resends in (("unpaced", 10**6, 0), ("paced", 200, 2)):
            shutil.copy(root / "prod.db", root / f"prod-{label}.db")
            prod_url = f"sqlite:///{root}/prod-{label}.db"
            got: dict[str, int] = defaultdict(int)
            prefix = f"b{random.randrange(10**9)}"
            devices = _devices(broker, prefix, got)
            db_path = str(root / f"inc-{label}.db")
            with open_incident_db(db_path) as db:
                ops.open_incident(db, "leak", copy, "2019-12-04", "2019-12-26")
                ops.run_blast_radius(db, "leak", prod_url)
            book = root / f"p-{label}.toml"
            book.write_text(
                f'[response]\nscope = "affected"\ndatabase = "{prod_url}"\nbatch = 100000\n'
                f'[[step]]\naction = "device_command"\nbroker = "{broker.url()}"\n'
                f'topic = "{prefix}/devices/{{device_id}}/cmd"\nack_topic = "{prefix}/devices/+/ack"\n'
                f'window = {window}\nack_timeout = "5s"\nresends = {resends}\n'
            )
            before = broker.log_path.read_text()
            start = time.perf_counter()
            with open_incident_db(db_path) as db:
                (report,) = run_playbook(db, "leak", load_playbook(book))
            took = time.perf_counter() - start
            dropped = broker.log_path.read_text()[len(before):].count("are being dropped")
            print(f"{label}: {report.outcome.counts}, {len(got)} devices received a command, {took:.1f} s, "
                  f"{dropped} drop warnings", flush=True)
            devices.disconnect()
            devices.loop_stop()
    finally:
        broker.stop()
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
