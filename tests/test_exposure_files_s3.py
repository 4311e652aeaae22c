"""Exposure of data files (SQLite, DuckDB, Parquet/CSV exports) and S3 buckets: exact facts and findings
from real files and a real (moto) S3 server, and proof that a probe writes nothing."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import sqlite3
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from dataward.exposure.base import Contents, evaluate
from dataward.findings import Severity
from dataward.stores.base import Budget, ExposureFacts, store_for
from dataward.targets import parse_target

CANARY = "canary-7f3a@example.com"
IDENTITY = Contents(categories=frozenset({"email"}))
BUDGET = Budget(timeout_s=3)


@pytest.fixture()
def open_dir() -> Iterator[Path]:
    """A folder others can traverse (pytest's tmp_path sits in a 0700 folder, which hides everything)."""
    path = Path(tempfile.mkdtemp(prefix="dataward-files-", dir="/tmp"))
    path.chmod(0o755)
    yield path
    shutil.rmtree(path, ignore_errors=True)


def make_sqlite(path: Path, mode: int) -> str:
    with sqlite3.connect(path) as conn:
        conn.execute("CREATE TABLE users (id INTEGER, email TEXT)")
        conn.executemany("INSERT INTO users VALUES (?, ?)", [(i, CANARY) for i in range(50)])
    conn.close()
    path.chmod(mode)
    return f"sqlite://{path}"


def make_duckdb(path: Path, mode: int) -> str:
    conn = duckdb.connect(str(path))
    conn.execute("CREATE TABLE users AS SELECT range AS id, ? AS email FROM range(40)", [CANARY])
    conn.close()
    path.chmod(mode)
    return f"duckdb://{path}"


def make_parquet(folder: Path, mode: int) -> str:
    folder.mkdir(parents=True, exist_ok=True)
    folder.chmod(0o755)
    for name in ("users", "devices"):
        pq.write_table(pa.table({"email": [CANARY] * 30}), folder / f"{name}.parquet")
        (folder / f"{name}.parquet").chmod(mode)
    return f"file://{folder}/*.parquet"


def probe(url: str) -> ExposureFacts:
    target = parse_target(url)
    return store_for(target).probe(target, BUDGET)


def rules(facts: ExposureFacts, contents: Contents | None = None) -> dict[str, Severity]:
    return {f.rule: f.severity for f in evaluate(facts, contents)}


def digest(path: Path) -> tuple[str, float]:
    return hashlib.sha256(path.read_bytes()).hexdigest(), path.stat().st_mtime


def test_private_sqlite_has_no_finding(open_dir: Path) -> None:
    facts = probe(make_sqlite(open_dir / "app.db", 0o600))
    assert facts.reachable and facts.scope == "local-file" and facts.records == 50
    assert facts.details["mode"] == "0600" and facts.details["world_readable"] == []
    assert rules(facts) == {} and rules(facts, IDENTITY) == {}


@pytest.mark.parametrize(
    "maker, store",
    [(make_sqlite, "sqlite"), (make_duckdb, "duckdb")],
)
def test_world_readable_database(open_dir: Path, maker, store: str) -> None:  # type: ignore[no-untyped-def]
    path = open_dir / f"app.{store}"
    facts = probe(maker(path, 0o644))
    assert facts.details["world_readable"] == [str(path)]
    assert rules(facts) == {f"{store}.world-readable": Severity.LOW}
    assert rules(facts, IDENTITY) == {f"{store}.world-readable": Severity.HIGH}


def test_folder_closed_to_others_hides_a_0644_file(open_dir: Path) -> None:
    closed = open_dir / "closed"
    closed.mkdir(mode=0o700)
    facts = probe(make_sqlite(closed / "app.db", 0o644))
    assert facts.details["world_readable"] == []
    assert rules(facts, IDENTITY) == {}


def test_world_writable_export(open_dir: Path) -> None:
    facts = probe(make_parquet(open_dir / "exports", 0o666))
    assert facts.details["files"] == 2 and facts.records == 60
    assert rules(facts) == {"file.world-readable": Severity.LOW, "file.world-writable": Severity.MEDIUM}


def test_export_in_web_root(open_dir: Path) -> None:
    facts = probe(make_parquet(open_dir / "site" / "htdocs" / "dl", 0o644))
    assert list(facts.details["web_root"].values()) == [str(open_dir / "site" / "htdocs")] * 2
    assert rules(facts)["file.web-root"] == Severity.HIGH
    assert rules(facts, IDENTITY)["file.web-root"] == Severity.CRITICAL


def test_web_root_file_not_readable_by_others(open_dir: Path) -> None:
    facts = probe(make_parquet(open_dir / "www" / "private", 0o600))
    assert rules(facts) == {"file.web-root": Severity.MEDIUM}


def test_missing_file_is_an_info_finding(open_dir: Path) -> None:
    facts = probe(f"sqlite://{open_dir}/nope.db")
    assert not facts.reachable and facts.error == "no such file"
    assert rules(facts) == {"sqlite.unreachable": Severity.INFO}


def test_corrupt_database_is_a_fact_not_a_traceback(open_dir: Path) -> None:
    bad = open_dir / "bad.db"
    bad.write_bytes(b"this is not a database" * 100)
    facts = probe(f"sqlite://{bad}")
    assert facts.reachable and facts.readable is False and facts.details["read_error"]


@pytest.mark.parametrize("maker, name", [(make_sqlite, "a.db"), (make_duckdb, "a.duckdb"), (make_parquet, "ex")])
def test_probe_and_sample_write_nothing(open_dir: Path, maker, name: str) -> None:  # type: ignore[no-untyped-def]
    url = maker(open_dir / name, 0o600)
    files = sorted(p for p in open_dir.rglob("*") if p.is_file())
    before = {p: digest(p) for p in files}
    target = parse_target(url)
    store = store_for(target)
    store.probe(target, BUDGET)
    objects = list(store.sample(target, BUDGET))
    assert objects and all(o.columns for o in objects)
    assert CANARY in objects[0].columns[-1].values.to_pylist()
    after = {p: digest(p) for p in sorted(p for p in open_dir.rglob("*") if p.is_file())}
    assert after == before
    assert not any(CANARY in repr(f.to_json()) for f in evaluate(store.probe(target, BUDGET), IDENTITY))


def test_files_details_are_documented() -> None:
    doc = (Path(__file__).parents[1] / "docs" / "exposure.md").read_text()
    for key in ("world_readable", "world_writable", "group_readable", "web_root", "mode", "owner", "size_bytes"):
        assert f"`{key}`" in doc, key



# ---- S3 (moto's server) -------------------------------------------------------------------------------

PAB_ON = {k: True for k in ("BlockPublicAcls", "IgnorePublicAcls", "BlockPublicPolicy", "RestrictPublicBuckets")}
ADMIN_POLICY = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}


class EnforcingMotoS3:
    """moto_server with IAM enforcement (INITIAL_NO_AUTH_ACTION_COUNT=3: the first three calls create the
    admin key), so unsigned requests are refused as a real private bucket refuses them.

    dataward.testing's S3Server runs moto without enforcement (it answers anonymous listings of every
    bucket), which is right for the public-bucket cases but cannot stand for a secure configuration.
    """

    def __init__(self) -> None:
        import subprocess
        import sys
        import time

        from dataward.localservers.ports import free_port, port_open

        self.port = free_port()
        self.endpoint = f"http://127.0.0.1:{self.port}"
        env = dict(os.environ, INITIAL_NO_AUTH_ACTION_COUNT="3")
        moto = Path(sys.executable).with_name("moto_server")
        self.proc = subprocess.Popen([str(moto), "-H", "127.0.0.1", "-p", str(self.port)], env=env,
                                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 30
        while not port_open("127.0.0.1", self.port):
            if time.monotonic() > deadline or self.proc.poll() is not None:
                self.stop()
                pytest.skip("moto_server did not start")
            time.sleep(0.1)
        self.key, self.secret = self._admin_key()

    def _admin_key(self) -> tuple[str, str]:
        iam = self.client("iam", "bootstrap", "bootstrap")
        iam.create_user(UserName="admin")
        key = iam.create_access_key(UserName="admin")["AccessKey"]
        iam.put_user_policy(UserName="admin", PolicyName="all", PolicyDocument=json.dumps(ADMIN_POLICY))
        return key["AccessKeyId"], key["SecretAccessKey"]

    def client(self, service: str = "s3", key: str | None = None, secret: str | None = None) -> Any:
        import boto3

        return boto3.client(service, endpoint_url=self.endpoint, region_name="us-east-1",
                            aws_access_key_id=key or self.key, aws_secret_access_key=secret or self.secret)

    def url(self, bucket: str, creds: bool = True) -> str:
        auth = f"{self.key}:{quote(self.secret, safe='')}@" if creds else ""
        return f"s3://{auth}{bucket}?endpoint_url={self.endpoint}"

    def stop(self) -> None:
        self.proc.terminate()
        self.proc.wait(10)


@pytest.fixture(scope="module")
def s3_enforcing() -> Iterator[EnforcingMotoS3]:
    server = EnforcingMotoS3()
    s3 = server.client()
    s3.create_bucket(Bucket="private-exports")
    s3.put_public_access_block(Bucket="private-exports", PublicAccessBlockConfiguration=PAB_ON)
    s3.put_bucket_encryption(Bucket="private-exports", ServerSideEncryptionConfiguration={
        "Rules": [{"ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "AES256"}}]})
    s3.put_object(Bucket="private-exports", Key="users/2026-11-01/part-0001.csv", Body=f"email\n{CANARY}\n".encode())
    yield server
    server.stop()


@pytest.fixture(scope="module")
def s3_open(s3_factory: Any) -> Any:
    """dataward.testing's S3Server (moto without IAM enforcement) holding a public and an unlocked bucket."""
    server = s3_factory.new()
    s3 = server.client()
    s3.create_bucket(Bucket="public-exports", ACL="public-read")
    s3.put_bucket_policy(Bucket="public-exports", Policy=json.dumps({"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Principal": "*", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::public-exports/*"}]}))
    for day in ("2026-11-01", "2026-11-02"):
        s3.put_object(Bucket="public-exports", Key=f"users/{day}/part-0001.csv", ACL="public-read",
                      Body=f"id,email\n1,{CANARY}\n2,{CANARY}\n".encode())
    s3.put_object(Bucket="public-exports", Key="devices/dump.jsonl", ACL="public-read",
                  Body=b'{"mac": "00:11:22:33:44:55", "owner": {"email": "x@example.com"}}\n')
    table = pa.table({"email": [CANARY] * 5})
    sink = pa.BufferOutputStream()
    pq.write_table(table, sink)
    s3.put_object(Bucket="public-exports", Key="snap/users.parquet", Body=sink.getvalue().to_pybytes())
    s3.create_bucket(Bucket="unlocked")  # private ACL, but no Block Public Access and no encryption
    return server


def test_s3_secure_bucket(s3_enforcing: EnforcingMotoS3) -> None:
    facts = probe(s3_enforcing.url("private-exports"))
    assert facts.reachable and facts.authenticated is True
    assert (facts.auth_required, facts.anonymous_access) == (True, False)
    d = facts.details
    assert (d["anonymous_list"], d["anonymous_read"], d["anonymous_buckets"]) == (False, False, [])
    assert (d["public_acl"], d["policy_public"], d["block_public_access"], d["default_encryption"]) == (
        [], False, True, "AES256")
    assert facts.records == 1
    assert rules(facts) == {}
    assert all(s < Severity.HIGH for s in rules(facts, IDENTITY).values())
    assert s3_enforcing.secret not in repr(facts) + repr([f.to_json() for f in evaluate(facts, IDENTITY)])


def test_s3_public_bucket(s3_open: Any) -> None:
    facts = probe(s3_open.url("public-exports", credentials=True))
    d = facts.details
    assert facts.anonymous_access is True and d["anonymous_list"] is True and d["anonymous_read"] is True
    assert d["public_acl"] == ["AllUsers:READ"] and d["policy_public"] is True
    assert d["block_public_access"] is False and d["default_encryption"] is None
    assert rules(facts) == {
        "s3.no-auth": Severity.HIGH,
        "s3.public-acl": Severity.HIGH,
        "s3.public-policy": Severity.HIGH,
        "s3.block-public-access-off": Severity.LOW,
        "s3.default-encryption-off": Severity.LOW,
    }
    got = rules(facts, IDENTITY)
    assert got["s3.no-auth"] == got["s3.public-acl"] == Severity.CRITICAL
    assert got["s3.default-encryption-off"] == Severity.MEDIUM


def test_s3_anonymous_only_probe(s3_open: Any) -> None:
    """Without credentials only the unsigned checks run, and the settings rules stay silent."""
    facts = probe(s3_open.url("public-exports"))
    assert facts.anonymous_access is True and facts.authenticated is None
    assert "public_acl" not in facts.details
    assert set(rules(facts)) == {"s3.no-auth"}


def test_s3_private_acl_without_guard_rails(s3_open: Any) -> None:
    facts = probe(s3_open.url("unlocked", credentials=True))
    assert facts.details["public_acl"] == [] and facts.details["policy_public"] is False
    got = rules(facts)
    assert got["s3.block-public-access-off"] == Severity.LOW and got["s3.default-encryption-off"] == Severity.LOW
    assert "s3.public-acl" not in got


def test_s3_wrong_keys_and_unreachable(s3_enforcing: EnforcingMotoS3) -> None:
    url = f"s3://AKIAWRONG:wrong-canary@private-exports?endpoint_url={s3_enforcing.endpoint}"
    facts = probe(url)
    assert facts.authenticated is False and facts.details["auth_error"] == "InvalidAccessKeyId"
    assert rules(facts) == {"s3.auth-failed": Severity.INFO}
    assert "wrong-canary" not in repr(facts)
    from dataward.localservers.ports import free_port

    facts = probe(f"s3://b?endpoint_url=http://127.0.0.1:{free_port()}")
    assert facts.reachable is False and rules(facts) == {"s3.unreachable": Severity.INFO}


def test_s3_sample_groups_keys_and_writes_nothing(s3_open: Any) -> None:
    s3 = s3_open.client()
    before = sorted((o["Key"], o["ETag"]) for o in s3.list_objects_v2(Bucket="public-exports")["Contents"])
    target = parse_target(s3_open.url("public-exports", credentials=True))
    store = store_for(target)
    store.probe(target, BUDGET)
    objects = {o.object: o for o in store.sample(target, BUDGET)}
    assert set(objects) == {"users/*/*.csv", "devices/dump.jsonl", "snap/users.parquet"}
    emails = {c.name: c.values.to_pylist() for c in objects["users/*/*.csv"].columns}["email"]
    assert emails == [CANARY, CANARY]
    assert [c.name for c in objects["devices/dump.jsonl"].columns] == ["mac", "owner.email"]
    assert CANARY in objects["snap/users.parquet"].columns[0].values.to_pylist()
    after = sorted((o["Key"], o["ETag"]) for o in s3.list_objects_v2(Bucket="public-exports")["Contents"])
    assert after == before
