"""moto's S3 server as a subprocess on a free loopback port, with helpers for public and private buckets.

Credentials are dummies (moto accepts any). Note for probe tests: moto records bucket ACLs, bucket policies
and public-access blocks and returns them from the API; an anonymous GET of an object in a private bucket
gets 403, but moto (5.x) still answers an anonymous ListObjects of a private bucket, so listing alone does not
prove a real bucket public.
"""

from __future__ import annotations

import json
import signal
import sys
from collections.abc import Mapping
from typing import Any

import boto3
import httpx

from dataward.localservers.base import LocalServer

ACCESS_KEY = "testing"
SECRET_KEY = "testing"
REGION = "us-east-1"


class S3Server(LocalServer):
    """moto_server on a free port; ``.endpoint_url``, ``.client()``, ``.create_bucket(name, public=...)``."""

    kind = "s3"
    stop_signal = signal.SIGKILL  # moto keeps everything in memory; nothing to flush

    def __init__(self, bind: str = "127.0.0.1", **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.bind = bind

    @property
    def host(self) -> str:
        return self._host_for(self.bind)

    @property
    def endpoint_url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def url(self, bucket: str = "", credentials: bool = False) -> str:
        """An s3:// target URL for this endpoint (``endpoint_url`` query parameter, DESIGN.md).

        ``credentials=True`` puts moto's dummy access key and secret in the URL's user and password.
        """
        auth = f"{ACCESS_KEY}:{SECRET_KEY}@" if credentials else ""
        return f"s3://{auth}{bucket}?endpoint_url={self.endpoint_url}&region={REGION}"

    def client(self) -> Any:
        """A boto3 S3 client for this server with moto's dummy credentials."""
        return boto3.client(
            "s3",
            endpoint_url=self.endpoint_url,
            aws_access_key_id=ACCESS_KEY,
            aws_secret_access_key=SECRET_KEY,
            region_name=REGION,
        )

    def create_bucket(self, name: str, public: bool = False, objects: Mapping[str, bytes | str] | None = None) -> None:
        """A bucket with objects; ``public=True`` adds a public-read ACL and an allow-everyone GetObject policy."""
        s3 = self.client()
        s3.create_bucket(Bucket=name)
        for key, body in (objects or {}).items():
            s3.put_object(Bucket=name, Key=key, Body=body.encode() if isinstance(body, str) else body)
        if public:
            self.make_public(name)
        else:
            self.make_private(name)

    def make_public(self, name: str) -> None:
        """Open a bucket to the world (ACL public-read + policy Principal "*")."""
        s3 = self.client()
        s3.delete_public_access_block(Bucket=name)
        s3.put_bucket_acl(Bucket=name, ACL="public-read")
        policy = {
            "Version": "2012-10-17",
            "Statement": [{"Effect": "Allow", "Principal": "*", "Action": "s3:GetObject",
                           "Resource": f"arn:aws:s3:::{name}/*"}],
        }
        s3.put_bucket_policy(Bucket=name, Policy=json.dumps(policy))

    def make_private(self, name: str) -> None:
        """Close a bucket (ACL private, no policy, all public-access blocks on)."""
        s3 = self.client()
        s3.put_bucket_acl(Bucket=name, ACL="private")
        s3.delete_bucket_policy(Bucket=name)
        s3.put_public_access_block(
            Bucket=name,
            PublicAccessBlockConfiguration={"BlockPublicAcls": True, "IgnorePublicAcls": True,
                                            "BlockPublicPolicy": True, "RestrictPublicBuckets": True},
        )

    def _command(self) -> list[str]:
        return [sys.executable, "-m", "moto.server", "-H", self.bind, "-p", str(self.port)]

    def _ping(self) -> bool:
        return httpx.get(f"{self.endpoint_url}/moto-api/data.json", timeout=1).status_code == 200
