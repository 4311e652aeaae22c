"""Exposure probes of real PostgreSQL and MariaDB servers, one secure and several insecure configurations
each: exact facts, exact findings, a secure server yields nothing at high or above, and nothing is written."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import psycopg
import pytest

from dataward.exposure.base import Contents, evaluate
from dataward.findings import Severity
from dataward.stores.base import Budget, ExposureFacts, store_for
from dataward.targets import parse_target
from dataward.testing.peers import banner, closed_port, tcp_peer

CANARY = "canary-pg-5d1e@example.com"
IDENTITY = Contents(categories=frozenset({"email"}))
BUDGET = Budget(timeout_s=3)


def probe(url: str, budget: Budget = BUDGET) -> ExposureFacts:
    target = parse_target(url)
    return store_for(target).probe(target, budget)


def rules(facts: ExposureFacts, contents: Contents | None = None) -> dict[str, Severity]:
    return {f.rule: f.severity for f in evaluate(facts, contents)}


def no_raw_secrets(facts: ExposureFacts, *secrets: str) -> None:
    text = repr(facts) + "".join(repr(f.to_json()) for f in evaluate(facts, IDENTITY))
    for secret in secrets:
        assert secret not in text


@pytest.fixture(scope="module")
def silent_port() -> Iterator[int]:
    """A TCP port that answers every connection with an HTTP line: some other service, not a database."""
    with tcp_peer(banner(b"HTTP/1.0 400 Bad Request\r\n\r\n")) as port:
        yield port


# ---- PostgreSQL ---------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def pg_secure(postgres_factory: Any) -> Any:
    """scram for everyone, TLS required (hostssl only), loopback listener."""
    return postgres_factory(auth="scram", ssl=True, users={"app": "app-pw-canary"},
                            hba=["hostssl all all 0.0.0.0/0 scram-sha-256", "hostssl all all ::/0 scram-sha-256"])


def test_pg_secure(pg_secure: Any) -> None:
    facts = probe(pg_secure.url(user="app"))
    assert facts.reachable and facts.version and facts.version.startswith("15")
    assert (facts.auth_required, facts.anonymous_access, facts.default_credentials, facts.authenticated) == (
        True, False, None, True)
    assert (facts.tls_offered, facts.tls_required) == (True, True)
    assert facts.bind == "127.0.0.1" and facts.scope == "loopback"
    assert facts.details["trust_users"] == [] and facts.details["password_users"] == ["postgres", "app"]
    assert facts.details["ssl"] == "on" and "app" in facts.details["databases"]
    assert rules(facts) == {}
    assert all(sev < Severity.HIGH for sev in rules(facts, IDENTITY).values())
    no_raw_secrets(facts, "app-pw-canary")


def test_pg_trust_exposes_a_superuser(pg_trust: Any) -> None:
    facts = probe(pg_trust.url(user="app", password=""))
    assert facts.anonymous_access is True and facts.auth_required is False
    assert facts.details["trust_users"] == ["postgres", "app"]
    assert facts.details["superuser_without_password"] is True and facts.details["connected_as"] == "postgres"
    assert (facts.tls_offered, facts.tls_required) == (False, False)
    assert "host all all 0.0.0.0/0" in facts.details["hba_trust_rules"]
    assert rules(facts) == {
        "postgresql.no-auth": Severity.HIGH,
        "postgresql.superuser-no-password": Severity.CRITICAL,
        "postgresql.hba-trust": Severity.LOW,
    }
    assert rules(facts, IDENTITY) == {
        "postgresql.no-auth": Severity.CRITICAL,
        "postgresql.superuser-no-password": Severity.CRITICAL,
        "postgresql.hba-trust": Severity.MEDIUM,
        "postgresql.no-tls": Severity.MEDIUM,
    }


def test_pg_trust_for_one_user_only(postgres_factory: Any) -> None:
    pg = postgres_factory(auth="scram", users={"app": "app-pw", "reporting": ""},
                          hba=["host all reporting 0.0.0.0/0 trust", "host all all 0.0.0.0/0 scram-sha-256"])
    facts = probe(pg.url(user="reporting", password=""))
    assert facts.details["trust_users"] == ["reporting"]
    assert facts.details["password_users"] == ["postgres"]
    assert facts.details["superuser_without_password"] is False
    assert "hba_trust_rules" not in facts.details  # an ordinary role cannot read pg_hba_file_rules
    assert rules(facts) == {"postgresql.no-auth": Severity.HIGH}
    assert "'reporting'" in evaluate(facts)[0].evidence


def test_pg_listens_everywhere_without_tls(postgres_factory: Any) -> None:
    pg = postgres_factory(auth="scram", listen="0.0.0.0", users={"app": "app-pw"})
    facts = probe(pg.url(user="app"))
    assert facts.bind == "0.0.0.0" and facts.authenticated is True and facts.anonymous_access is False
    assert rules(facts) == {"postgresql.public-bind": Severity.LOW, "postgresql.no-tls": Severity.LOW}
    assert rules(facts, IDENTITY) == {"postgresql.public-bind": Severity.MEDIUM, "postgresql.no-tls": Severity.MEDIUM}


def test_pg_default_password(postgres_factory: Any) -> None:
    pg = postgres_factory.new(auth="scram", users={"app": "app-pw"})
    pg.execute_admin("ALTER ROLE postgres PASSWORD 'postgres'")
    facts = probe(pg.url(user="app", password=""))
    assert facts.default_credentials == "user 'postgres' with a well-known default password"
    assert facts.anonymous_access is False and facts.authenticated is None
    assert rules(facts) == {"postgresql.default-credentials": Severity.HIGH}
    no_raw_secrets(facts, "'postgres'@", "password 'postgres'")
    facts = probe(pg.url(user="app", password=""), Budget(timeout_s=3, default_credentials=()))
    assert facts.default_credentials is None and rules(facts) == {}


def test_pg_wrong_password_and_tls_offered_not_required(pg_ssl: Any) -> None:
    facts = probe(pg_ssl.url(user="app", password="wrong-canary"))
    assert facts.authenticated is False and "password authentication failed" in facts.details["auth_error"]
    assert facts.tls_offered is True and facts.tls_required is None  # no login got in to test plain text
    assert rules(facts) == {"postgresql.auth-failed": Severity.INFO}
    no_raw_secrets(facts, "wrong-canary")
    facts = probe(pg_ssl.url(user="app"))
    assert (facts.tls_offered, facts.tls_required) == (True, False)
    assert rules(facts, IDENTITY) == {"postgresql.tls-not-required": Severity.MEDIUM}


def test_pg_unreachable_and_wrong_protocol(silent_port: int) -> None:
    facts = probe(f"postgresql://app@127.0.0.1:{closed_port()}/app")
    assert (facts.reachable, facts.error) == (False, "connection refused")
    assert rules(facts) == {"postgresql.unreachable": Severity.INFO}
    facts = probe(f"postgresql://app@127.0.0.1:{silent_port}/app")
    assert facts.reachable is False and "protocol_mismatch" in facts.details
    assert rules(facts) == {"postgresql.unknown-protocol": Severity.INFO}


def _pg_counts(pg: Any) -> tuple[Any, ...]:
    with pg.admin_connect("app") as conn:
        rows = conn.execute("SELECT count(*) FROM users").fetchone()
        stats = conn.execute(
            "SELECT sum(n_tup_ins + n_tup_upd + n_tup_del) FROM pg_stat_all_tables"
        ).fetchone()
        roles = conn.execute("SELECT count(*) FROM pg_roles").fetchone()
    return rows, stats, roles


def test_pg_probe_and_sample_write_nothing(postgres_factory: Any) -> None:
    pg = postgres_factory(auth="trust", users={"app": "app-pw"}, databases=["app"])
    if not _has_users(pg):
        pg.create_table("app", "users", [{"id": i, "email": CANARY} for i in range(25)])
    before = _pg_counts(pg)
    target = parse_target(pg.url(user="app", password=""))
    store = store_for(target)
    facts = store.probe(target, BUDGET)
    objects = list(store.sample(target, BUDGET))
    assert _pg_counts(pg) == before
    assert facts.readable is True
    users = next(o for o in objects if o.object.endswith("users"))
    email = next(c for c in users.columns if c.name == "email")
    assert CANARY in email.values.to_pylist()
    no_raw_secrets(facts, CANARY)


def _has_users(pg: Any) -> bool:
    with pg.admin_connect("app") as conn:
        return bool(conn.execute("SELECT to_regclass('public.users') IS NOT NULL").fetchone()[0])


def test_pg_driver_errors_never_escape() -> None:
    with pytest.raises(psycopg.Error):  # the driver does raise for this URL...
        psycopg.connect("host=127.0.0.1 port=1 connect_timeout=2")
    facts = probe("postgresql://127.0.0.1:1/x")  # ...the probe turns it into a fact
    assert facts.reachable is False


# ---- MySQL / MariaDB ----------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def mariadb() -> Iterator[Any]:
    """A factory of MariaDB servers (dataward.testing), cached per configuration, stopped after the module."""
    from dataward.localservers.base import BinaryMissing
    from dataward.testing.servers.mariadb import MariaDBServer

    started: dict[str, Any] = {}

    def get(**config: Any) -> Any:
        key = repr(sorted(config.items()))
        if key not in started:
            try:
                started[key] = MariaDBServer(**config).start()
            except BinaryMissing as exc:
                pytest.skip(f"MariaDB cannot start: {exc}")
        return started[key]

    yield get
    for server in started.values():
        server.stop()


def test_mysql_secure(mariadb: Any) -> None:
    my = mariadb(root_password="root-pw-canary", users={"app": "app-pw-canary"}, require_secure_transport=True)
    facts = probe(my.url(user="app"))
    assert facts.reachable and facts.version and "MariaDB" in facts.version
    assert (facts.auth_required, facts.anonymous_access, facts.default_credentials, facts.authenticated) == (
        True, False, None, True)
    assert (facts.tls_offered, facts.tls_required) == (True, True)
    assert facts.bind == "127.0.0.1" and facts.details["require_secure_transport"] == "ON"
    assert "anonymous_users" not in facts.details  # app may not read mysql.global_priv
    assert rules(facts) == {}
    assert all(sev < Severity.HIGH for sev in rules(facts, IDENTITY).values())
    no_raw_secrets(facts, "root-pw-canary", "app-pw-canary")


def test_mysql_empty_root_password_on_all_interfaces(mariadb: Any) -> None:
    my = mariadb(root_password=None, bind="0.0.0.0")
    facts = probe(my.url(user="app"))
    assert facts.default_credentials == "root with an empty password" and facts.anonymous_access is False
    assert facts.details["passwordless_users"] == ["'root'@'%'", "'root'@'localhost'"]
    assert facts.details["anonymous_users"] == [] and facts.bind == "0.0.0.0"
    assert (facts.tls_offered, facts.tls_required) == (False, False)
    assert rules(facts) == {
        "mysql.default-credentials": Severity.HIGH,
        "mysql.passwordless-remote-user": Severity.HIGH,
        "mysql.public-bind": Severity.LOW,
        "mysql.no-tls": Severity.LOW,
    }
    assert rules(facts, IDENTITY)["mysql.default-credentials"] == Severity.CRITICAL


def test_mysql_anonymous_accounts(mariadb: Any) -> None:
    my = mariadb(root_password="root-pw", anonymous_users=True)
    facts = probe(my.url(user="nobody", password=""))
    assert facts.anonymous_access is True and facts.auth_required is False
    assert facts.details["current_user"] == "''@'%'"
    assert rules(facts) == {"mysql.no-auth": Severity.HIGH}
    assert "anonymous account" in evaluate(facts)[0].evidence
    admin = probe(my.admin_url)
    assert admin.details["anonymous_users"] == ["''@'%'", "''@'localhost'"]
    assert rules(admin)["mysql.anonymous-user"] == Severity.HIGH


def test_mysql_tls_offered_not_required_and_wrong_password(mariadb: Any) -> None:
    my = mariadb(root_password="root-pw", tls=True)
    facts = probe(my.url(user="app"))
    assert (facts.tls_offered, facts.tls_required) == (True, False)
    assert rules(facts, IDENTITY) == {"mysql.tls-not-required": Severity.MEDIUM}
    facts = probe(my.url(user="app", password="wrong-canary"))
    assert facts.authenticated is False and facts.details["auth_error"].startswith("Access denied")
    assert rules(facts) == {"mysql.auth-failed": Severity.INFO}
    no_raw_secrets(facts, "wrong-canary")


def test_mysql_unreachable_and_wrong_protocol(silent_port: int, pg_scram: Any) -> None:
    facts = probe(f"mysql://app@127.0.0.1:{closed_port()}/app")
    assert (facts.reachable, facts.error) == (False, "connection refused")
    facts = probe(f"mysql://app@127.0.0.1:{pg_scram.port}/app", Budget(timeout_s=1))
    assert rules(facts) == {"mysql.unknown-protocol": Severity.INFO}


def _my_counts(my: Any) -> list[tuple[Any, ...]]:
    return my.execute_admin("SELECT (SELECT count(*) FROM app.users), (SELECT count(*) FROM mysql.global_priv)")


def test_mysql_probe_and_sample_write_nothing(mariadb: Any) -> None:
    my = mariadb(root_password=None, bind="0.0.0.0")
    if not my.execute_admin("SHOW TABLES FROM app LIKE 'users'"):
        my.create_table("app", "users", [{"id": i, "email": CANARY} for i in range(20)])
    before = _my_counts(my)
    target = parse_target(my.url(user="app"))
    store = store_for(target)
    facts = store.probe(target, BUDGET)
    objects = list(store.sample(target, BUDGET))
    assert _my_counts(my) == before
    assert facts.readable is True and "app" in facts.listable
    users = next(o for o in objects if o.object.endswith("users"))
    email = next(c for c in users.columns if c.name == "email")
    assert CANARY in email.values.to_pylist()
    no_raw_secrets(facts, CANARY, "app-pw")


def test_sampling_uses_the_login_the_probe_found_open(postgres_factory: Any, mariadb: Any) -> None:
    """A URL without a password is sampled the way an outsider reads it: trust, empty root, defaults."""
    pg = postgres_factory(auth="trust", users={"app": "app-pw"}, databases=["app"])
    if not _has_users(pg):
        pg.create_table("app", "users", [{"id": i, "email": CANARY} for i in range(25)])
    target = parse_target(f"postgresql://{pg.host}:{pg.port}/app")
    objects = list(store_for(target).sample(target, BUDGET))
    assert any(o.object.endswith("users") for o in objects)
    assert {o.target for o in objects} == {target.display}
    my = mariadb(root_password=None, bind="0.0.0.0")
    if not my.execute_admin("SHOW TABLES FROM app LIKE 'users'"):
        my.create_table("app", "users", [{"id": i, "email": CANARY} for i in range(20)])
    target = parse_target(f"mysql://{my.host}:{my.port}/")
    objects = list(store_for(target).sample(target, BUDGET))
    assert "app.users" in {o.object for o in objects}
    assert {o.target for o in objects} == {target.display}
