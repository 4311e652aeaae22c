"""Shared helpers for the scan/policy/report tests: a fake store kind and hand-made classification results.

``scan_with`` passes the fake store and classifier to ``dataward.scan.scan`` as arguments (``stores=``,
``classifier=``), so no registry is touched and nothing is monkeypatched; real-server tests live in
test_scan_e2e.py.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

import pyarrow as pa

from dataward.classify.base import CategoryMatch, ColumnResult, ObjectResult
from dataward.policy import Policy
from dataward.report.model import Report
from dataward.scan import scan
from dataward.stores.base import Budget, ExposureFacts, SampledColumn, SampledObject
from dataward.targets import Target

CANARY_EMAIL = "canary.zq81x@leak-canary.example"
CANARY_TOKEN = "Atza|CANARYzq81xCANARYzq81xCANARYzq81xCANARYzq81x"


@dataclass
class FakeStore:
    """A store whose probe returns the facts given and whose sample yields the objects given."""

    facts: dict[str, ExposureFacts] = field(default_factory=dict)
    objects: dict[str, list[SampledObject]] = field(default_factory=dict)
    scheme = "postgresql"

    def probe(self, target: Target, budget: Budget) -> ExposureFacts:
        f = self.facts.get(target.host or target.path)
        if f is None:
            raise ConnectionRefusedError(f"connection refused to {target.url}")
        return f

    def sample(self, target: Target, budget: Budget) -> Iterator[SampledObject]:
        yield from self.objects.get(target.host or target.path, [])

    def lookup(self, target: Target) -> FakeStore:
        """What ``scan(..., stores=...)`` asks for: this store, whatever the target's scheme."""
        return self


def facts(host: str, **kw: object) -> ExposureFacts:
    base: dict[str, object] = {
        "target": f"postgresql://{host}:5432/app",
        "store": "postgresql",
        "reachable": True,
        "scope": "loopback",
        "records": 1000,
    }
    base.update(kw)
    return ExposureFacts(**base)  # type: ignore[arg-type]


def sampled(host: str, table: str, columns: dict[str, list[str]], records: int = 500) -> SampledObject:
    return SampledObject(
        target=f"postgresql://{host}:5432/app",
        store="postgresql",
        object=table,
        columns=tuple(SampledColumn(name, pa.array(values)) for name, values in columns.items()),
        records=records,
    )


# What a classifier would say about the fake tables (the real classifier is exercised in the e2e tests).
CATS = {
    "email": ("email", "e***@***.example"),
    "access_token": ("alexa_token", "Atza|…[redacted]"),
    "wifi_ssid": ("wifi_ssid", "N***9"),
    "weight_kg": ("health_metric", ""),
    "nickname": ("device_nickname", "E***14"),
    "model": ("device_model", "W***6"),
}


def fake_classify(obj: SampledObject) -> ObjectResult:
    cols = []
    for col in obj.columns:
        hit = CATS.get(col.name)
        cats = (CategoryMatch(hit[0], 0.95, 1.0),) if hit else ()
        cols.append(ColumnResult(col.name, cats, hit[1] if hit else ""))
    return ObjectResult(obj.target, obj.store, obj.object, tuple(cols), obj.records)


def scan_with(store: FakeStore, targets: Sequence[Target], policy: Policy | None = None, **kw: Any) -> Report:
    """``dataward.scan.scan`` talking to the fake store and classifying with ``fake_classify`` (unless given)."""
    kw.setdefault("classifier", fake_classify)
    return scan(targets, policy, stores=store.lookup, **kw)
