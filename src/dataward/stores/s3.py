"""S3 and S3-compatible buckets: what an anonymous client can list and read, the bucket's own public
settings (ACL, policy, Block Public Access, default encryption), and sampling of CSV/JSON/Parquet objects.

``s3://bucket/prefix?endpoint_url=http://127.0.0.1:9000&region=us-east-1``. Credentials for the settings
checks come from the URL's user/password (access key id / secret, via config values ``{env=..}``) or boto3's
default chain; without any, only the anonymous checks run. Every call is a read (List/Get/GetBucket*), with
one attempt and ``Budget.timeout_s`` per call.

``details`` keys: ``bucket``, ``endpoint``, ``anonymous_list`` (unsigned ListObjectsV2 succeeded),
``anonymous_read`` (unsigned GetObject of one key succeeded), ``anonymous_buckets`` (unsigned ListBuckets),
``public_acl`` (grants to AllUsers/AuthenticatedUsers, e.g. ``AllUsers:READ``), ``policy_public`` (an Allow
statement for principal ``*`` without conditions), ``block_public_access`` (True only when all four settings
are on; False when off or missing), ``default_encryption`` (the algorithm, or None when not configured),
``objects`` (keys listed, bounded by ``Budget.max_objects`` * 10), ``objects_truncated``, ``anonymous_how``,
``auth_error``.
"""

from __future__ import annotations

import io
import json
import os
from collections import defaultdict
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, replace
from typing import Any, ClassVar
from urllib.parse import urlsplit

import boto3
import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq
from botocore import UNSIGNED
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError, EndpointConnectionError

from dataward.errors import TargetError
from dataward.stores._docs import columns_from_records, key_pattern, parse_value
from dataward.stores._tables import column
from dataward.stores.base import Budget, ExposureFacts, SampledColumn, SampledObject, register_store
from dataward.targets import Target, network_scope

PUBLIC_GROUPS = {
    "http://acs.amazonaws.com/groups/global/AllUsers": "AllUsers",
    "http://acs.amazonaws.com/groups/global/AuthenticatedUsers": "AuthenticatedUsers",
}
PAB_KEYS = ("BlockPublicAcls", "IgnorePublicAcls", "BlockPublicPolicy", "RestrictPublicBuckets")
SAMPLE_SUFFIXES = (".csv", ".json", ".jsonl", ".ndjson", ".parquet")
HEAD_BYTES = 1024 * 1024  # first bytes of a CSV/JSON object read for sampling


@dataclass(frozen=True)
class _Where:
    bucket: str | None
    prefix: str
    endpoint: str | None
    region: str


def _where(target: Target) -> _Where:
    return _Where(
        bucket=target.host,
        prefix=target.path.lstrip("/"),
        endpoint=target.params.get("endpoint_url") or target.params.get("endpoint"),
        region=target.params.get("region", "us-east-1"),
    )


def _client(where: _Where, budget: Budget, target: Target | None) -> Any:
    """An S3 client: unsigned when ``target`` is None, else with the URL's keys or boto3's chain."""
    cfg = Config(connect_timeout=budget.timeout_s, read_timeout=budget.timeout_s,
                 retries={"max_attempts": 1, "mode": "standard"}, s3={"addressing_style": "path"},
                 signature_version=UNSIGNED if target is None else None)
    kw: dict[str, Any] = {"endpoint_url": where.endpoint, "region_name": where.region, "config": cfg}
    if target is not None and target.username:
        kw.update(aws_access_key_id=target.username, aws_secret_access_key=target.password or "")
    return boto3.session.Session().client("s3", **kw)


def _has_credentials(target: Target) -> bool:
    """Keys in the URL, or in the environment / a named profile; the instance-metadata lookup of boto3's
    full chain is not tried, since it waits on a network call a probe cannot afford."""
    return bool(target.username) or any(os.environ.get(v) for v in ("AWS_ACCESS_KEY_ID", "AWS_PROFILE"))


def _ok(call: Any) -> tuple[bool, Any]:
    """(True, result) or (False, error code) for one S3 call; transport errors propagate."""
    try:
        return True, call()
    except ClientError as exc:
        return False, str(exc.response.get("Error", {}).get("Code") or exc.response.get("ResponseMetadata", {})
                          .get("HTTPStatusCode", "error"))


@register_store
class S3Store:
    """``s3://bucket[/prefix]?endpoint_url=...`` (AWS when no endpoint is given)."""

    scheme: ClassVar[str] = "s3"
    schemes: ClassVar[tuple[str, ...]] = ()
    # S3-compatible servers found by discovery (MinIO's default port; any port given with --ports): an HTTP
    # ``GET /`` answered in the S3 API's own words (issue 13).
    default_ports: ClassVar[tuple[int, ...]] = (9000,)
    discovery_hello: ClassVar[bytes] = b"GET / HTTP/1.0\r\nHost: localhost\r\n\r\n"
    local: ClassVar[bool] = False
    listens: ClassVar[bool] = False  # served by the provider's shared endpoint: no listen address of its own
    display_name: ClassVar[str] = "S3 bucket"
    remediation: ClassVar[Mapping[str, str]] = {
        "no-auth": "Enable Block Public Access and remove public ACL grants and '*' "
        "principals from the bucket policy.",
    }

    @classmethod
    def identify(cls, answer: bytes) -> bool:
        """An HTTP answer in the S3 API's words: a ListAllMyBuckets result, or an S3 error document with an
        S3 request id or an S3 server's name (MinIO, Ceph RGW, SeaweedFS, moto, AWS)."""
        if not answer.startswith(b"HTTP/"):
            return False
        head, _, body = answer.partition(b"\r\n\r\n")
        head = head.lower()
        if b"<ListAllMyBucketsResult" in body or b"http://s3.amazonaws.com/doc/2006-03-01/" in body:
            return True
        s3_headers = (b"\r\nx-amz-request-id:", b"\r\nx-amz-id-2:", b"\r\nserver: minio", b"\r\nserver: amazons3",
                      b"\r\nserver: ceph", b"\r\nx-minio-")
        return b"<Error>" in body and b"<Code>" in body and any(h in head for h in s3_headers)

    @classmethod
    def discovery_url(cls, host: str, port: int) -> str:
        """The endpoint as a bucket-less target: the probe lists its buckets without credentials."""
        shown = f"[{host}]" if ":" in host else host
        return f"s3://?endpoint_url=http://{shown}:{port}"

    def probe(self, target: Target, budget: Budget) -> ExposureFacts:
        where = _where(target)
        try:
            return self._probe(target, where, budget)
        except EndpointConnectionError:
            return self._facts(target, where, reachable=False, error=f"cannot connect to {where.endpoint or 'AWS'}")
        except (BotoCoreError, ClientError, OSError) as exc:
            return self._facts(target, where, reachable=False, error=_short(exc, budget))

    def _probe(self, target: Target, where: _Where, budget: Budget) -> ExposureFacts:
        anon = _client(where, budget, None)
        details: dict[str, Any] = {"bucket": where.bucket, "endpoint": where.endpoint}
        listed, buckets = _ok(lambda: anon.list_buckets())
        details["anonymous_buckets"] = [b["Name"] for b in buckets.get("Buckets", [])] if listed else []
        anon_list = anon_read = False
        if where.bucket:
            anon_list, page = _ok(lambda: anon.list_objects_v2(Bucket=where.bucket, Prefix=where.prefix, MaxKeys=10))
            key = _first_key(page) if anon_list else None
            if key is None and _has_credentials(target):
                key = _first_key(_ok(lambda: _client(where, budget, target).list_objects_v2(
                    Bucket=where.bucket, Prefix=where.prefix, MaxKeys=10))[1])
            if key is not None:
                anon_read, _ = _ok(lambda: anon.get_object(Bucket=where.bucket, Key=key, Range="bytes=0-0"))
        details.update(anonymous_list=anon_list, anonymous_read=anon_read)
        authenticated = None
        if where.bucket and _has_credentials(target):
            authenticated = _settings(_client(where, budget, target), where, budget, details)
        anonymous = bool(anon_list or anon_read or (listed and not where.bucket))
        if anonymous:
            how = [w for w, ok in (("listed the bucket", anon_list), ("read an object", anon_read),
                                   ("listed buckets", listed and not where.bucket)) if ok]
            details["anonymous_how"] = "an unsigned request " + " and ".join(how)
        listable = tuple(details["anonymous_buckets"]) or ((where.bucket,) if anon_list and where.bucket else ())
        return self._facts(
            target, where, reachable=True,
            auth_required=not anonymous, anonymous_access=anonymous,
            authenticated=authenticated if target.username else None,
            tls_offered=(where.endpoint or "https://").startswith("https"),
            tls_required=None, listable=listable, readable=anon_read or None,
            records=details.get("objects"), details=details,
        )

    def _facts(self, target: Target, where: _Where, **kw: Any) -> ExposureFacts:
        host = urlsplit(where.endpoint).hostname if where.endpoint else None
        scope = network_scope(host) if host else "public"
        return ExposureFacts(target=target.display, store=self.scheme, scope=scope, name=target.name, **kw)

    def sample(self, target: Target, budget: Budget) -> Iterator[SampledObject]:
        """The first bytes of one object per key pattern (``exports/*/users.csv``), as columns."""
        where = _where(target)
        client = _client(where, budget, target if _has_credentials(target) else None)
        try:
            if where.bucket:
                yield from self._sample_bucket(client, target, where, budget, "")
                return
            # an endpoint without a bucket (found by discovery): every bucket it lists, 'bucket/pattern'
            listed, answer = _ok(lambda: client.list_buckets())
            if not listed:
                raise TargetError(f"{target.display} names no bucket and does not list its buckets",
                                  tip="write s3://bucket?endpoint_url=...")
            for bucket in [str(b["Name"]) for b in answer.get("Buckets", [])][: budget.max_objects]:
                yield from self._sample_bucket(client, target, replace(where, bucket=bucket), budget, bucket + "/")
        except (BotoCoreError, ClientError, OSError) as exc:
            raise TargetError(f"cannot read {target.display}: {_short(exc, budget)}") from None

    def _sample_bucket(
        self, client: Any, target: Target, where: _Where, budget: Budget, label: str
    ) -> Iterator[SampledObject]:
        groups = _key_groups(client, where, budget)
        for pattern, keys in list(groups.items())[: budget.max_objects]:
            columns = _read_columns(client, str(where.bucket), keys[0], budget)
            if columns:
                yield SampledObject(target.display, self.scheme, label + pattern, columns, records=None)


def _first_key(page: Any) -> str | None:
    contents = page.get("Contents") if isinstance(page, dict) else None
    return str(contents[0]["Key"]) if contents else None


def _settings(client: Any, where: _Where, budget: Budget, details: dict[str, Any]) -> bool:
    """Read the bucket's public settings into ``details``; False when the credentials were refused."""
    bucket = where.bucket
    ok, acl = _ok(lambda: client.get_bucket_acl(Bucket=bucket))
    if not ok and acl in ("InvalidAccessKeyId", "SignatureDoesNotMatch", "AccessDenied", "403"):
        details["auth_error"] = str(acl)
        return False
    details["public_acl"] = [f"{PUBLIC_GROUPS[g['Grantee']['URI']]}:{g.get('Permission')}"
                             for g in (acl.get("Grants", []) if ok else [])
                             if g.get("Grantee", {}).get("URI") in PUBLIC_GROUPS]
    ok, policy = _ok(lambda: client.get_bucket_policy(Bucket=bucket))
    details["policy_public"] = policy_is_public(policy.get("Policy", "")) if ok else False
    ok, pab = _ok(lambda: client.get_public_access_block(Bucket=bucket))
    conf = pab.get("PublicAccessBlockConfiguration", {}) if ok else {}
    details["block_public_access"] = all(conf.get(k) for k in PAB_KEYS)
    ok, enc = _ok(lambda: client.get_bucket_encryption(Bucket=bucket))
    rules = enc.get("ServerSideEncryptionConfiguration", {}).get("Rules", []) if ok else []
    algos = [r.get("ApplyServerSideEncryptionByDefault", {}).get("SSEAlgorithm") for r in rules]
    details["default_encryption"] = next((a for a in algos if a), None)
    ok, page = _ok(lambda: client.list_objects_v2(Bucket=bucket, Prefix=where.prefix,
                                                   MaxKeys=min(1000, budget.max_objects * 10)))
    if ok:
        details["objects"], details["objects_truncated"] = int(page.get("KeyCount", 0)), bool(page.get("IsTruncated"))
    return True


def policy_is_public(policy_text: str) -> bool:
    """An Allow statement for everyone (``*``) with no Condition: anyone may do what it lists."""
    try:
        doc = json.loads(policy_text) if policy_text else {}
    except ValueError:
        return False
    statements = doc.get("Statement", [])
    for st in statements if isinstance(statements, list) else [statements]:
        principal = st.get("Principal")
        everyone = principal == "*" or (isinstance(principal, dict) and principal.get("AWS") in ("*", ["*"]))
        if st.get("Effect") == "Allow" and everyone and not st.get("Condition"):
            return True
    return False


def _key_groups(client: Any, where: _Where, budget: Budget) -> dict[str, list[str]]:
    """Data-file keys grouped by pattern: id-like path segments become ``*``."""
    groups: dict[str, list[str]] = defaultdict(list)
    paginator = client.get_paginator("list_objects_v2")
    for page in paginator.paginate(Bucket=where.bucket, Prefix=where.prefix,
                                   PaginationConfig={"MaxItems": budget.max_objects * 10, "PageSize": 1000}):
        for obj in page.get("Contents", []):
            key = str(obj["Key"])
            suffix = next((s for s in SAMPLE_SUFFIXES if key.lower().endswith(s)), None)
            if suffix is None:
                continue
            groups[key_pattern(key[: -len(suffix)], "/") + suffix].append(key)
    return dict(groups)


def _read_columns(client: Any, bucket: str, key: str, budget: Budget) -> tuple[SampledColumn, ...]:
    """Columns from the head of a CSV/JSON object, or a whole Parquet object when it fits the budget."""
    if key.lower().endswith(".parquet"):
        head = client.head_object(Bucket=bucket, Key=key)
        if int(head.get("ContentLength", 0)) > budget.max_bytes:
            return ()
        body = client.get_object(Bucket=bucket, Key=key)["Body"].read()
        table = pq.read_table(io.BytesIO(body)).slice(0, budget.rows_per_object)
        return _table_columns(table)
    end = min(HEAD_BYTES, budget.max_bytes) - 1
    body = client.get_object(Bucket=bucket, Key=key, Range=f"bytes=0-{end}")["Body"].read()
    if key.lower().endswith(".csv"):
        complete = body if len(body) <= end else body[: body.rfind(b"\n") + 1]
        table = pacsv.read_csv(io.BytesIO(complete)).slice(0, budget.rows_per_object)
        return _table_columns(table)
    return _json_columns(body, budget)


def _json_columns(body: bytes, budget: Budget) -> tuple[SampledColumn, ...]:
    text = body.decode("utf-8", "replace").lstrip()
    if text.startswith("["):
        try:
            docs = json.loads(text)
        except ValueError:
            return ()  # a truncated JSON array: nothing reliable to sample
        records = [parse_value(json.dumps(d)) for d in docs[: budget.rows_per_object] if isinstance(d, dict)]
    else:
        lines = text.splitlines()[: budget.rows_per_object]
        records = [parse_value(line) for line in lines[:-1] or lines if line.strip()]
    return columns_from_records(records)


def _table_columns(table: pa.Table) -> tuple[SampledColumn, ...]:
    return tuple(column(f.name, table.column(f.name), f.type) for f in table.schema)


def _short(exc: BaseException, budget: Budget) -> str:
    text = str(exc)
    if "timed out" in text.lower():
        return f"timeout after {budget.timeout_s:g} s"
    return text.splitlines()[0][:200] if text else type(exc).__name__
