"""The watcher's state machine as a table: a sequence of probes -> the alerts and windows it must produce."""

from __future__ import annotations

import pytest

from dataward.durations import parse_duration
from dataward.errors import ConfigError
from dataward.findings import Finding, Severity
from dataward.watch.engine import Observation, step
from dataward.watch.history import duration_text, history_document, history_lines, merge
from dataward.watch.model import StoreState, Window

NOAUTH = Finding(rule="redis.no-auth", severity=Severity.HIGH, target="redis://h:1/0", store="redis",
                 title="Redis answers without credentials")
DANGER = Finding(rule="redis.dangerous-commands", severity=Severity.HIGH, target="redis://h:1/0", store="redis",
                 title="Redis lets anyone run CONFIG")
LOW = Finding(rule="redis.no-tls", severity=Severity.LOW, target="redis://h:1/0", store="redis", title="no TLS")
DOWN = Finding(rule="redis.unreachable", severity=Severity.HIGH, target="redis://h:1/0", store="redis",
               title="unreachable")

# one letter per probe: s = secure (only a low finding), e = exposed (no-auth), E = exposed with a second
# finding, u = unreachable, d = a finding of the unreachable rule (must not count)
PROBES = {
    "s": (True, (LOW,)),
    "e": (True, (NOAUTH, LOW)),
    "E": (True, (NOAUTH, DANGER)),
    "u": (False, ()),
    "d": (True, (DOWN,)),
}


def run(sequence: str, unreachable_after: int = 2) -> tuple[list[str], StoreState]:
    state = StoreState(store="cache")
    alerts: list[str] = []
    for i, letter in enumerate(sequence):
        reachable, findings = PROBES[letter]
        obs = Observation("cache", "redis://h:1/0", "redis", f"2026-11-23T10:{i:02d}:00Z", reachable, findings,
                          None if reachable else "connection refused", ("email",))
        tr = step(state, obs, Severity.HIGH, unreachable_after)
        alerts += [a.event for a in tr.alerts]
        state = tr.state
    return alerts, state


@pytest.mark.parametrize(
    "sequence, alerts",
    [
        ("sss", []),
        ("sse", ["exposed"]),
        ("ssee", ["exposed"]),  # staying exposed is not a new alert
        ("sseEE", ["exposed", "new_finding"]),
        ("sEe", ["exposed"]),  # one finding of two going away: no alert
        ("sees", ["exposed", "fixed"]),
        ("seesse", ["exposed", "fixed", "exposed"]),
        ("e", ["exposed"]),  # a store exposed on the first probe alerts
        ("suu", ["unreachable"]),
        ("suuuu", ["unreachable"]),  # one alert per outage
        ("sus", []),  # a single failed probe is not an outage
        ("suusuu", ["unreachable", "unreachable"]),
        ("seuus", ["exposed", "unreachable", "fixed"]),  # windows are kept while unreachable
        ("sdd", []),  # reachability notes never count as exposure
    ],
)
def test_alerts_on_transitions_only(sequence: str, alerts: list[str]) -> None:
    assert run(sequence)[0] == alerts


def test_unreachable_after_one() -> None:
    assert run("su", unreachable_after=1)[0] == ["unreachable"]


def test_window_times_and_last_secure() -> None:
    _, state = run("sse")
    (w,) = state.open.values()
    assert (w.opened, w.last_secure, w.categories) == ("2026-11-23T10:02:00Z", "2026-11-23T10:01:00Z", ("email",))
    _, state = run("sseees")
    assert not state.open and state.last_secure == "2026-11-23T10:05:00Z"


def test_exposed_alert_leads_with_the_access_finding() -> None:
    state = StoreState(store="cache")
    tr = step(state, Observation("cache", "redis://h:1/0", "redis", "2026-11-23T10:00:00Z", True, (DANGER, NOAUTH)),
              Severity.HIGH)
    (alert,) = tr.alerts
    assert alert.payload["finding"]["rule"] == "redis.no-auth"
    assert {f["rule"] for f in alert.payload["findings"]} == {"redis.no-auth", "redis.dangerous-commands"}
    assert alert.payload["event"] == "exposed" and alert.payload["store"] == "cache"


def test_alert_keys_are_stable_for_one_transition() -> None:
    """The dedupe key of a transition does not depend on when it is re-derived (restart safety)."""
    state = StoreState(store="cache")
    obs = Observation("cache", "redis://h:1/0", "redis", "2026-11-23T10:00:00Z", True, (NOAUTH,))
    assert step(state, obs, Severity.HIGH).alerts[0].key == step(state, obs, Severity.HIGH).alerts[0].key


def _w(store: str, finding: str, opened: str, closed: str | None, cats: tuple[str, ...] = ()) -> Window:
    return Window(store, finding, "r", 3, "Readable without auth", "x://", opened, opened, cats, None, closed)


def test_merge_overlapping_windows_per_store() -> None:
    merged = merge([
        _w("a", "1", "2026-11-23T10:04:12Z", "2026-11-23T10:31:40Z", ("email",)),
        _w("a", "2", "2026-11-23T10:10:00Z", "2026-11-23T10:20:00Z", ("api_token",)),
        _w("a", "3", "2026-11-24T00:00:00Z", None),
        _w("b", "4", "2026-11-23T10:00:00Z", "2026-11-23T10:01:00Z"),
    ])
    assert [(m.store, m.opened, m.closed, sorted(m.categories)) for m in merged] == [
        ("a", "2026-11-23T10:04:12Z", "2026-11-23T10:31:40Z", ["api_token", "email"]),
        ("a", "2026-11-24T00:00:00Z", None, []),
        ("b", "2026-11-23T10:00:00Z", "2026-11-23T10:01:00Z", []),
    ]


def test_history_sentence() -> None:
    doc = history_document([_w("analytics-copy", "1", "2026-11-23T10:04:12Z", "2026-11-23T10:31:40Z",
                               ("api_token", "email", "health_metric"))])
    assert doc["schema"] == "dataward.history/v1"
    assert doc["windows"][0]["closed"] == "2026-11-23T10:31:40Z"
    assert history_lines(doc) == [
        "analytics-copy: readable without auth from 2026-11-23T10:04:12Z to 2026-11-23T10:31:40Z, 27 min,"
        " held api_token, email, health_metric (high, 1 finding)"
    ]


@pytest.mark.parametrize("opened, closed, text", [
    ("2026-11-23T10:00:00Z", "2026-11-23T10:00:40Z", "40 s"),
    ("2026-11-23T10:00:00Z", "2026-11-23T13:05:00Z", "3 h 5 min"),
    ("2019-12-04T00:00:00Z", "2019-12-26T04:00:00Z", "22 days 4 h"),
])
def test_duration_text(opened: str, closed: str, text: str) -> None:
    assert duration_text(opened, closed) == text


@pytest.mark.parametrize("text, seconds", [("15s", 15), ("2m", 120), ("1h", 3600), ("500ms", 0.5), (7, 7)])
def test_parse_duration(text: str | int, seconds: float) -> None:
    assert parse_duration(text) == seconds


@pytest.mark.parametrize("text", ["", "fast", "-1s", "0", "15 parsecs"])
def test_parse_duration_rejects(text: str) -> None:
    with pytest.raises(ConfigError):
        parse_duration(text)


@pytest.mark.parametrize(
    "url, sink",
    [("https://hooks.example/x", "WebhookSink"), ("mailto:sec@example.com", "SmtpSink"), ("-", "StdoutSink"),
     ("ntfy://alerts", "AppriseSink")],
)
def test_sink_for_picks_by_scheme_and_hands_the_rest_to_apprise(url: str, sink: str) -> None:
    from dataward.watch.alerts import sink_for

    assert type(sink_for(url)).__name__ == sink
