"""Response actions: one module per action, registered by name; the playbook lists them as ordered steps.

An action works on batches of customer ids. ``preview`` counts what a batch would change (dry run, nothing
written); ``apply`` performs it. Every action is idempotent at the level of one batch: re-applying a batch
that already took effect changes nothing (SQL steps only touch rows still in the old state; RFC 7009
revocation of a revoked token is a no-op; device commands carry a command id and are tracked per device),
so the ledger can record a batch as done after it took effect and a crash in between costs nothing.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

from dataward.errors import ConfigError, DatawardError
from dataward.incident.audit import AuditLog
from dataward.incident.db import SqlDb
from dataward.incident.store import Incident, IncidentDB
from dataward.registry import Registry
from dataward.schemamap import SchemaMap
from dataward.suggest import did_you_mean

Fault = Callable[[str], None]  # tests inject crashes at named points; production passes None


@dataclass
class StepContext:
    incident: Incident
    incidents: IncidentDB
    prod: SqlDb
    audit: AuditLog | None
    step_key: str
    config: dict[str, Any]
    base_dir: Path = Path(".")
    fault: Fault | None = None
    schema: SchemaMap = field(default_factory=SchemaMap.reference)

    def columns(self, role: str, *names: str) -> tuple[str, dict[str, str]]:
        """The production table playing ``role`` and, per role column in ``names``, its column there.

        One sentence (exit 2) when the schema map lacks the role or a column, or the database lacks the
        table or a column it names: an action never runs against a table that is not there.
        """
        by = f"the respond step '{self.config.get('action')}'"
        table = self.schema.table(role, by=by)
        wanted = {n: self.schema.require(role, n, by=by)[1] for n in names}
        tip = "check the [schema] map given with --config against the production database"
        if not self.prod.table_exists(table):
            raise DatawardError(f"{self.prod.display} has no table '{table}' (the '{role}' role)", tip=tip)
        present = set(self.prod.columns(table))
        missing = [c for c in wanted.values() if c not in present]
        if missing:
            raise DatawardError(
                f"table '{table}' of {self.prod.display} has no column '{missing[0]}'", tip=tip
            )
        return table, wanted

    def crash_point(self, name: str) -> None:
        if self.fault is not None:
            self.fault(f"{self.config.get('action')}:{name}")

    def log(self, action: str, **data: Any) -> None:
        if self.audit is not None:
            self.audit.append(action, incident=self.incident.name, step=self.step_key, **data)


@dataclass
class BatchOutcome:
    counts: dict[str, int] = field(default_factory=dict)
    samples: list[str] = field(default_factory=list)
    unconfirmed: list[str] = field(default_factory=list)  # ids the action could not confirm (silent devices)

    def add(self, other: BatchOutcome, max_samples: int = 5) -> None:
        for k, v in other.counts.items():
            self.counts[k] = self.counts.get(k, 0) + v
        self.samples.extend(other.samples[: max(0, max_samples - len(self.samples))])
        self.unconfirmed.extend(other.unconfirmed)


class Action:
    """A response action. Subclasses set ``name``, ``notice_text`` and ``notice_order`` and implement
    ``preview`` and ``apply``.

    ``notice_text`` is the sentence a customer's breach notice says about the action once it has run
    (tests/test_registries.py fails for an action without one, so no action vanishes from notices);
    ``notice_order`` places it among the other sentences.
    """

    name: ClassVar[str]
    notice_text: ClassVar[str]
    notice_order: ClassVar[int]
    doc_config: ClassVar[dict[str, str]] = {}  # config key -> meaning, for the docs test
    exclusive: ClassVar[bool] = False  # one run at a time does the whole step (its batches are claimed anyway)

    def __init__(self, ctx: StepContext) -> None:
        self.ctx = ctx

    @classmethod
    def check_config(cls, config: dict[str, Any], where: str) -> None:
        """Refuse a key the action does not read (a misspelt key would otherwise be a silent no-op); actions
        extend this to check their values' types."""
        for key in config:
            if key != "action" and key not in cls.doc_config:
                raise ConfigError(
                    f"{where} ({cls.name}) has no setting '{key}'.{did_you_mean(key, cls.doc_config)}",
                    tip=f"{cls.name} reads: {', '.join(cls.doc_config) or 'no settings'}",
                )

    def check(self) -> None:
        """Raise a DatawardError when production lacks a table or column this action needs (every step is
        checked before the first one runs, so a playbook never stops half-way for a missing table)."""

    def preview(self, users: Sequence[int]) -> BatchOutcome:
        raise NotImplementedError

    def apply(self, unit: str, users: Sequence[int]) -> BatchOutcome:
        raise NotImplementedError

    def finish(self) -> BatchOutcome:
        """Called once after every batch is done (e.g. wait for device acknowledgements)."""
        return BatchOutcome()

    def close(self) -> None:
        """Release connections."""


ACTIONS: Registry[type[Action]] = Registry(
    "response action",
    package="dataward.incident.actions",
    key=lambda cls: cls.name,
    skip=("flags",),
    error=ConfigError,
    unknown="the playbook names an action '{name}' that does not exist.",
    tip="actions: {known}",
)
register_action = ACTIONS.register
action_for = ACTIONS.get


def step_key(index: int, config: dict[str, Any]) -> str:
    """Stable per step and configuration: an edited step is a new step, an unchanged one resumes."""
    digest = hashlib.sha256(json.dumps(config, sort_keys=True, default=str).encode()).hexdigest()[:8]
    return f"{index:02d}-{config.get('action')}-{digest}"


def ids_digest(users: Sequence[int]) -> str:
    """Commits an audit entry to exactly which customers a batch covered, without listing them."""
    return hashlib.sha256(",".join(str(u) for u in users).encode()).hexdigest()[:16]
