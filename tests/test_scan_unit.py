"""scan() with a fake store: joins exposure, contents and policy, never crashes on a broken target."""

from __future__ import annotations

import pytest
from _scan_helpers import FakeStore, facts, sampled, scan_with

from dataward.classify.base import ObjectResult
from dataward.findings import Severity
from dataward.policy import parse_policy
from dataward.scan import scan_exposure_only
from dataward.scan.baseline import Baseline, Suppression
from dataward.stores.base import SampledObject
from dataward.targets import parse_target

SEED_TABLES = {
    "users": {"id": ["1", "2"], "email": ["a@x.example", "b@y.example"]},
    "integrations": {"id": ["1"], "access_token": ["Atza|x"]},
    "devices": {"id": ["1"], "nickname": ["Emma's Nursery"], "wifi_ssid": ["NETGEAR47"], "model": ["WYZEC3"]},
    "body_metrics": {"id": ["1"], "weight_kg": ["71.5"]},
    "connection_events": {"id": ["1"], "model": ["WYZEC3"]},
}


@pytest.fixture
def fake() -> FakeStore:
    return FakeStore()


def _open_copy(fake: FakeStore, host: str = "10.9.0.5") -> None:
    fake.facts[host] = facts(host, anonymous_access=True, auth_required=False, readable=True, scope="private")
    fake.objects[host] = [sampled(host, t, cols) for t, cols in SEED_TABLES.items()]


def test_open_copy_gives_one_critical_finding_per_sensitive_table(fake: FakeStore) -> None:
    _open_copy(fake)
    report = scan_with(fake, [parse_target("postgresql://10.9.0.5:5432/app")])
    per_object = {f.object: f for f in report.findings if f.rule == "postgresql.exposed-data"}
    assert set(per_object) == {"users", "integrations", "devices", "body_metrics"}
    assert per_object["users"].categories == ["email"]
    assert per_object["integrations"].categories == ["alexa_token"]
    assert per_object["body_metrics"].categories == ["health_metric"]
    assert per_object["devices"].categories == ["device_nickname", "wifi_ssid"]
    assert per_object["devices"].severity == Severity.CRITICAL  # device data next to emails: linkable
    assert all(per_object[t].severity == Severity.CRITICAL for t in ("users", "integrations", "body_metrics"))
    assert per_object["users"].records == 500
    assert report.findings[0].severity == Severity.CRITICAL  # worst first


def test_device_data_alone_is_high(fake: FakeStore) -> None:
    host = "10.9.0.8"
    fake.facts[host] = facts(host, anonymous_access=True, auth_required=False, readable=True)
    fake.objects[host] = [sampled(host, "devices", SEED_TABLES["devices"])]
    report = scan_with(fake, [parse_target(f"postgresql://{host}:5432/app")])
    (f,) = [f for f in report.findings if f.rule == "postgresql.exposed-data"]
    assert f.severity == Severity.HIGH


def test_protected_store_lists_sensitive_tables_as_info(fake: FakeStore) -> None:
    host = "10.9.0.6"
    fake.facts[host] = facts(host, anonymous_access=False, auth_required=True, authenticated=True, readable=True)
    fake.objects[host] = [sampled(host, "users", SEED_TABLES["users"])]
    report = scan_with(fake, [parse_target(f"postgresql://app:pw@{host}:5432/app")])
    inv = [f for f in report.findings if f.rule == "postgresql.sensitive-data"]
    assert [f.severity for f in inv] == [Severity.INFO]
    assert report.worst() is not None and report.worst() < Severity.HIGH


def test_unreachable_target_is_a_finding_not_a_crash(fake: FakeStore) -> None:
    report = scan_with(fake, [parse_target("postgresql://app:s3cretpw@10.9.9.9:5432/app")])
    assert report.targets[0].reachable is False
    assert "s3cretpw" not in report.model_dump_json()
    assert "s3cretpw" not in (report.targets[0].error or "")


def test_sampling_failure_keeps_the_scan_going(fake: FakeStore) -> None:
    _open_copy(fake)

    def boom(obj: SampledObject) -> ObjectResult:
        raise RuntimeError("classifier exploded")

    report = scan_with(fake, [parse_target("postgresql://10.9.0.5:5432/app")], classifier=boom)
    assert any(f.rule == "postgresql.sample-failed" for f in report.findings)


def test_policy_forbid_and_required_controls(fake: FakeStore) -> None:
    _open_copy(fake)
    policy = parse_policy(
        """
[[store]]
name = "analytics-copy"
url = "postgresql://10.9.0.5:5432/app"
role = "analytics"
expires = 2020-01-31
region = "eu"

[role.analytics]
forbid = ["credential", "health"]
require = ["auth", "owner", "expiry"]

[residency]
allowed_regions = ["us"]
""",
        source="dataward.toml",
    )
    report = scan_with(fake, policy.targets(), policy)
    rules = {f.rule for f in report.findings}
    assert {"policy.forbidden-data", "policy.auth-required", "policy.owner-missing", "policy.expired",
            "policy.region-not-allowed"} <= rules
    forbidden = {f.object: f for f in report.findings if f.rule == "policy.forbidden-data"}
    assert set(forbidden) == {"integrations", "body_metrics"}
    assert forbidden["integrations"].policy == "role.analytics.forbid (dataward.toml:10)"
    assert all(f.store_name == "analytics-copy" for f in report.findings)
    expired = next(f for f in report.findings if f.rule == "policy.expired")
    assert expired.policy == "store.analytics-copy.expires (dataward.toml:6)"


def test_baseline_suppresses_until_expiry(fake: FakeStore) -> None:
    from datetime import date

    _open_copy(fake)
    target = parse_target("postgresql://10.9.0.5:5432/app")
    first = scan_with(fake, [target])
    fid = first.findings[0].id
    live = Baseline((Suppression(fid, "known lab copy", date(2999, 1, 1)),))
    again = scan_with(fake, [target], baseline=live)
    assert next(f for f in again.findings if f.id == fid).suppressed
    assert again.summary()["suppressed"] == 1
    expired = Baseline((Suppression(fid, "known lab copy", date(2000, 1, 1)),))
    back = scan_with(fake, [target], baseline=expired)
    f = next(f for f in back.findings if f.id == fid)
    assert not f.suppressed and "expired on 2000-01-01" in f.evidence


def test_ids_are_stable_across_scans(fake: FakeStore) -> None:
    _open_copy(fake)
    target = parse_target("postgresql://10.9.0.5:5432/app")
    a = {f.id for f in scan_with(fake, [target]).findings}
    b = {f.id for f in scan_with(fake, [target]).findings}
    assert a == b


def test_unlisted_store_when_policy_given(fake: FakeStore) -> None:
    _open_copy(fake)
    policy = parse_policy('[[store]]\nname = "prod"\nurl = "postgresql://10.9.0.7:5432/app"\nrole = "production"\n')
    fake.facts["10.9.0.7"] = facts("10.9.0.7", auth_required=True, authenticated=True)
    report = scan_with(fake, [*policy.targets(), parse_target("postgresql://10.9.0.5:5432/app")], policy)
    assert any(f.rule == "policy.unlisted-store" and f.target.startswith("postgresql://10.9.0.5") for f in report.findings)


def test_exposure_only_uses_known_contents(fake: FakeStore) -> None:
    from dataward.exposure.base import Contents

    _open_copy(fake)
    target = parse_target("postgresql://10.9.0.5:5432/app")
    bare = scan_exposure_only([target], stores=fake.lookup)
    assert bare.targets[0].objects == [] and bare.targets[0].sampled_rows == 0
    no_auth = next(f for f in bare.findings if f.rule == "postgresql.no-auth")
    assert no_auth.severity == Severity.HIGH  # contents unknown
    known = {target.display: Contents(categories=frozenset({"email", "alexa_token"}))}
    ranked = scan_exposure_only([target], stores=fake.lookup, known_contents=known)
    assert next(f for f in ranked.findings if f.rule == "postgresql.no-auth").severity == Severity.CRITICAL
