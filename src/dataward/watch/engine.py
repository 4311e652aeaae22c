"""The watcher's state machine: (what we knew, what this probe saw) -> new state, history events, alerts.

A pure function, so every transition is testable without a server:

- a finding at or above the threshold that was not open opens a window (``opened``); one that is gone
  closes it (``closed``) at the time of the probe that no longer saw it;
- the store going from no open window to some is ``exposed`` (one alert, carrying the worst finding and the
  list of all of them); from some to none is ``fixed``; a further finding while already exposed is
  ``new_finding``;
- ``unreachable_after`` failed probes in a row give one ``unreachable`` alert; while a store cannot be
  reached its windows stay as they were (we cannot tell), and reaching it again is recorded, not alerted.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from dataward.findings import Finding, Severity
from dataward.watch.model import Alert, Event, StoreState, Window

IGNORED_RULE_SUFFIXES = (".unreachable", ".sample-failed")


@dataclass(frozen=True)
class Observation:
    """One probe of one store, already judged (findings are redacted)."""

    store: str
    target: str
    kind: str
    at: str
    reachable: bool
    findings: tuple[Finding, ...] = ()  # every finding of the probe, any severity
    error: str | None = None
    categories: tuple[str, ...] = ()  # what the store is known to hold (latest full scan)


@dataclass(frozen=True)
class Transition:
    state: StoreState
    events: tuple[Event, ...]
    alerts: tuple[Alert, ...]


def counted(findings: tuple[Finding, ...], threshold: Severity) -> dict[str, Finding]:
    """The findings that make a store 'exposed': at or above the threshold, not reachability notes."""
    out: dict[str, Finding] = {}
    for f in findings:
        if f.severity < threshold or f.suppressed or f.rule.endswith(IGNORED_RULE_SUFFIXES):
            continue
        if f.id not in out or f.severity > out[f.id].severity:
            out[f.id] = f
    return out


def step(prev: StoreState, obs: Observation, threshold: Severity, unreachable_after: int = 2) -> Transition:
    """Apply one observation to a store's state."""
    state = replace(prev, open=dict(prev.open), target=obs.target, kind=obs.kind, last_probe=obs.at)
    if not obs.reachable:
        return _unreachable(state, obs, unreachable_after)
    events: list[Event] = []
    if prev.reachable is False and prev.failures > 0:
        events.append(Event(obs.at, obs.store, "reachable", detail=f"after {prev.failures} failed probes"))
    state.reachable, state.failures, state.unreachable_alerted, state.last_ok = True, 0, False, obs.at
    now = counted(obs.findings, threshold)
    was_exposed = bool(prev.open)
    gone = [state.open.pop(fid) for fid in list(state.open) if fid not in now]
    new: list[Finding] = []
    for fid, f in now.items():
        w = state.open.get(fid)
        if w is None:
            state.open[fid] = _window(obs, f, prev.last_secure)
            new.append(f)
        else:
            w.last_seen, w.severity, w.title = obs.at, int(f.severity), f.title
            w.categories = tuple(sorted(set(w.categories) | set(obs.categories) | set(f.categories)))
    events += [Event(obs.at, obs.store, "closed", w.finding, w.severity, w.title) for w in gone]
    events += [Event(obs.at, obs.store, "opened", f.id, int(f.severity), f.title) for f in new]
    if not now:
        state.last_secure = obs.at
    alerts = _alerts(prev, state, obs, was_exposed, gone, new)
    events += [Event(obs.at, obs.store, a.event, _finding_id(a), None, "alert") for a in alerts]
    return Transition(state, tuple(events), tuple(alerts))


def _unreachable(state: StoreState, obs: Observation, unreachable_after: int) -> Transition:
    state.failures = state.failures + 1
    events: list[Event] = []
    alerts: list[Alert] = []
    if state.reachable is not False:
        events.append(Event(obs.at, obs.store, "unreachable", detail=obs.error or ""))
    state.reachable = False
    if state.failures >= unreachable_after and not state.unreachable_alerted:
        state.unreachable_alerted = True
        since = state.last_ok or obs.at
        payload = _payload("unreachable", obs, None, [], state)
        payload["error"] = obs.error
        alerts.append(Alert(f"unreachable:{obs.store}:{since}", "unreachable", obs.store, payload))
        events.append(Event(obs.at, obs.store, "unreachable", None, None, "alert"))
    return Transition(state, tuple(events), tuple(alerts))


def _alerts(
    prev: StoreState, state: StoreState, obs: Observation, was_exposed: bool, gone: list[Window], new: list[Finding]
) -> list[Alert]:
    if not was_exposed and state.open:
        worst = min(new, key=_headline)
        w = state.open[worst.id]
        return [Alert(f"exposed:{obs.store}:{w.opened}", "exposed", obs.store,
                      _payload("exposed", obs, worst, list(state.open.values()), state))]
    if was_exposed and not state.open:
        worst_w = max(gone, key=lambda w: (w.severity, w.finding))
        opened = min(w.opened for w in gone)
        payload = _payload("fixed", obs, None, gone, state)
        payload["finding"] = _window_finding(worst_w)
        payload["window"] = {"opened": opened, "closed": obs.at}
        return [Alert(f"fixed:{obs.store}:{opened}", "fixed", obs.store, payload)]
    return [
        Alert(f"new_finding:{obs.store}:{f.id}:{state.open[f.id].opened}", "new_finding", obs.store,
              _payload("new_finding", obs, f, [state.open[f.id]], state))
        for f in sorted(new, key=lambda f: -f.severity)
    ]


def _headline(f: Finding) -> tuple[int, int, int, str]:
    """Worst first; among equals, the 'who can get in' finding (no-auth, default credentials) leads."""
    access = 0 if f.rule.endswith(("no-auth", "default-credentials", "anonymous", "public", "trust")) else 1
    return (-int(f.severity), access, -(f.records or 0), f.id)


def _window(obs: Observation, f: Finding, last_secure: str | None) -> Window:
    return Window(
        store=obs.store, finding=f.id, rule=f.rule, severity=int(f.severity), title=f.title, target=obs.target,
        opened=obs.at, last_seen=obs.at, categories=tuple(sorted(set(obs.categories) | set(f.categories))),
        last_secure=last_secure,
    )


def _payload(event: str, obs: Observation, finding: Finding | None, windows: list[Window], state: StoreState) -> dict:
    """The alert body of DESIGN.md: event, store, finding (redacted), plus context a responder needs."""
    return {
        "schema": "dataward.alert/v1",
        "event": event,
        "store": obs.store,
        "target": obs.target,
        "kind": obs.kind,
        "at": obs.at,
        "finding": finding.to_json() if finding is not None else None,
        "findings": [{"id": w.finding, "rule": w.rule, "severity": Severity(w.severity).label, "title": w.title}
                     for w in windows],
        "categories": sorted(set(obs.categories) | {c for w in windows for c in w.categories}),
        "window": {"opened": min((w.opened for w in windows), default=None), "closed": None,
                   "last_secure": state.last_secure if event != "fixed" else None},
    }


def _window_finding(w: Window) -> dict:
    return {"id": w.finding, "rule": w.rule, "severity": Severity(w.severity).label, "title": w.title,
            "target": w.target, "categories": list(w.categories)}


def _finding_id(alert: Alert) -> str | None:
    finding = alert.payload.get("finding")
    return finding.get("id") if isinstance(finding, dict) else None
