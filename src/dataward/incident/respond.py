"""Run a response playbook: ordered, idempotent steps over the affected customers, resumable after a crash.

Each step's customers (the affected ones, or everyone with ``scope = "all"``) are cut into batches of sorted
ids. A batch is recorded ``done`` in the incident database's ledger right after it took effect; a re-run
skips done batches and repeats at most the one batch that was in flight, which every action makes harmless
(see dataward.incident.actions.base). Before its side effects a batch is claimed in the ledger (a
compare-and-set, ``claimed`` with the run's id), so two runs at once never both apply it: the one that loses
skips it and counts it in ``other_run``. A run stopped by an error drops its claim; one of a process that is
gone from this host is taken over. Every batch and step is appended to the audit log.

Playbook (TOML)::

    [response]
    scope = "affected"                      # or "all"
    database = {env = "DEVICECLOUD_DB"}     # token store / production DB (default: the blast-radius source)
    batch = 50000

    [[step]]
    action = "revoke_tokens"
    via = "sql"
"""

from __future__ import annotations

import os
import socket
import tomllib
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from dataward.config_values import resolve_value
from dataward.errors import ConfigError
from dataward.incident.actions.base import (
    Action,
    BatchOutcome,
    Fault,
    StepContext,
    action_for,
    ids_digest,
    step_key,
)
from dataward.incident.audit import AuditLog
from dataward.incident.db import SqlDb, connect
from dataward.incident.ops import affected_table, source_for
from dataward.incident.store import CLAIMED, IncidentDB
from dataward.schemamap import SchemaMap
from dataward.tables.base import quote_ident

DONE = "done"
WHOLE_STEP = "step"  # the ledger unit an exclusive step is claimed by (batches are b000000, b000001, ...)


@dataclass(frozen=True)
class Playbook:
    scope: str
    database: str | None
    batch: int
    steps: tuple[dict[str, Any], ...]
    base_dir: Path


@dataclass
class StepReport:
    key: str
    action: str
    batches: int
    already_done: int
    done_now: int = 0
    other_run: int = 0  # batches another run at the same time claimed: done by it, or still in flight there
    outcome: BatchOutcome = field(default_factory=BatchOutcome)

    def to_json(self) -> dict[str, Any]:
        return {
            "step": self.key,
            "action": self.action,
            "batches": self.batches,
            "already_done": self.already_done,
            "done_now": self.done_now,
            "counts": self.outcome.counts,
            "samples": self.outcome.samples,
            **({"other_run": self.other_run} if self.other_run else {}),
            **({"unconfirmed": self.outcome.unconfirmed} if self.outcome.unconfirmed else {}),
        }


def load_playbook(path: str | Path) -> Playbook:
    file = Path(path)
    try:
        data = tomllib.loads(file.read_text())
    except OSError as exc:
        raise ConfigError(f"cannot read the playbook {file} ({exc.strerror})") from None
    except UnicodeDecodeError:
        raise ConfigError(f"the playbook {file} is not UTF-8 text") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"the playbook {file} is not valid TOML: {exc}") from None
    response = data.get("response", {})
    scope = str(response.get("scope", "affected"))
    if scope not in ("affected", "all"):
        raise ConfigError(f"playbook scope '{scope}' is not 'affected' or 'all'")
    steps = data.get("step", [])
    if not isinstance(steps, list) or not steps:
        raise ConfigError(
            f"the playbook {file} has no [[step]]", tip='add e.g. [[step]] action = "revoke_tokens"'
        )
    for i, step in enumerate(steps, start=1):
        if "action" not in step:
            raise ConfigError(f"step {i} of the playbook {file} has no action")
        action_for(str(step["action"])).check_config(step, f"step {i} of the playbook {file}")
    database = response.get("database")
    db_url = (
        resolve_value(database, "playbook [response] database", file.parent) if database is not None else None
    )
    return Playbook(scope, db_url, _batch_size(response.get("batch", 50000), file), tuple(steps), file.parent)


def _batch_size(value: object, file: Path) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ConfigError(f"the playbook {file} [response] batch must be a whole number of customers, at least 1")
    return value


def _customers(incidents: IncidentDB, name: str, scope: str, prod: SqlDb, schema: SchemaMap) -> list[int]:
    if scope == "all":
        table, id_col = schema.require("customer", "id", by='a playbook with scope = "all"')
        sql = f"SELECT {quote_ident(id_col)} FROM {quote_ident(table)}"  # noqa: S608
        return sorted(int(r[0]) for r in prod.query(sql))
    return sorted(int(u) for u in affected_table(incidents, name).column("user_id").to_pylist())


def _batches(users: Sequence[int], size: int) -> list[tuple[str, Sequence[int]]]:
    return [(f"b{i // size:06d}", users[i : i + size]) for i in range(0, len(users), size)]


def run_playbook(
    incidents: IncidentDB,
    name: str,
    playbook: Playbook,
    *,
    dry_run: bool = False,
    source: str | None = None,
    audit: AuditLog | None = None,
    fault: Fault | None = None,
    schema: SchemaMap | None = None,
) -> list[StepReport]:
    """Run (or, with ``dry_run``, preview) every step; returns what each step did or would do.

    Steps find tokens, integrations and devices through ``schema`` (default: the reference device cloud's map).
    """
    schema = schema or SchemaMap.reference()
    incident = incidents.get(name)
    prod = connect(playbook.database or source_for(incidents, name, source), create=False)
    reports = []
    try:
        users = _customers(incidents, name, playbook.scope, prod, schema)
        batches = _batches(users, playbook.batch)
        contexts = [
            StepContext(
                incident,
                incidents,
                prod,
                None if dry_run else audit,
                step_key(index, config),
                dict(config),
                playbook.base_dir,
                fault,
                schema,
            )
            for index, config in enumerate(playbook.steps, start=1)
        ]
        for ctx in contexts:  # a table or column a later step lacks stops the run before anything changes
            _check_step(ctx)
        if audit and not dry_run:
            audit.append("respond.start", incident=name, customers=len(users), scope=playbook.scope)
        owner = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:12]}"
        for ctx in contexts:
            reports.append(_run_step(ctx, batches, dry_run, owner))
        if audit and not dry_run:
            audit.append("respond.end", incident=name, steps=[r.to_json() for r in reports])
    finally:
        prod.close()
        if audit and not dry_run:
            audit.checkpoint()
    return reports


def _check_step(ctx: StepContext) -> None:
    action = action_for(str(ctx.config["action"]))(ctx)
    try:
        action.check()
    finally:
        action.close()


def _run_step(ctx: StepContext, batches: list[tuple[str, Sequence[int]]], dry_run: bool, owner: str) -> StepReport:
    """Run one step; an exclusive one (``Action.exclusive``) is first claimed whole, or left to the run holding it."""
    kind = action_for(str(ctx.config["action"]))
    if dry_run or not kind.exclusive:
        return _run_batches(ctx, batches, dry_run, owner)
    rows = ctx.incidents.ledger_rows(ctx.incident.name, ctx.step_key)
    if not _claim(ctx, WHOLE_STEP, rows.get(WHOLE_STEP), owner):
        done = sum(rows.get(u, ("", None))[0] == DONE for u, _ in batches)
        return StepReport(ctx.step_key, kind.name, len(batches), done, other_run=len(batches) - done)
    try:
        return _run_batches(ctx, batches, dry_run, owner)
    finally:
        ctx.incidents.release_unit(ctx.incident.name, ctx.step_key, WHOLE_STEP, owner)


def _run_batches(ctx: StepContext, batches: list[tuple[str, Sequence[int]]], dry_run: bool, owner: str) -> StepReport:
    action = action_for(str(ctx.config["action"]))(ctx)
    rows = ctx.incidents.ledger_rows(ctx.incident.name, ctx.step_key)
    pending = [(u, ids) for u, ids in batches if rows.get(u, ("", None))[0] != DONE]
    report = StepReport(ctx.step_key, action.name, len(batches), len(batches) - len(pending))
    try:
        for unit, ids in pending:
            if dry_run:
                report.outcome.add(action.preview(ids))
                continue
            ctx.crash_point("before_batch")
            if not _claim(ctx, unit, rows.get(unit), owner):
                report.other_run += 1
                continue
            report.outcome.add(_apply_batch(ctx, action, unit, ids, owner))
            report.done_now += 1
        if not dry_run:
            final = action.finish()
            if final.counts:
                ctx.log(f"respond.{action.name}.finish", **final.counts)
            report.outcome.add(final)
    finally:
        action.close()
    return report


def _claim(ctx: StepContext, unit: str, seen: tuple[str, str | None] | None, owner: str) -> bool:
    """Claim a batch as this run read it; False when another run holds it (or claimed it since the read)."""
    if seen is not None and seen[0] == CLAIMED and not _abandoned(seen[1]):
        return False
    return ctx.incidents.claim_unit(ctx.incident.name, ctx.step_key, unit, owner, seen)


def _abandoned(owner: str | None) -> bool:
    """A claim whose run was a process on this host that no longer exists (killed, the machine restarted)."""
    host, _, rest = (owner or "").partition(":")
    pid = rest.partition(":")[0]
    if host != socket.gethostname() or not pid.isdigit():
        return False
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        return False
    return False


def _apply_batch(ctx: StepContext, action: Action, unit: str, ids: Sequence[int], owner: str) -> BatchOutcome:
    """Apply a claimed batch and record it done; a run stopped by an error first drops its claim."""
    try:
        outcome = action.apply(unit, ids)
        ctx.crash_point("after_apply")
    except BaseException:
        ctx.incidents.release_unit(ctx.incident.name, ctx.step_key, unit, owner)
        raise
    ctx.incidents.set_ledger(ctx.incident.name, ctx.step_key, [unit], DONE)
    ctx.log(f"respond.{action.name}", batch=unit, customers=len(ids), ids=ids_digest(ids), **outcome.counts)
    return outcome
