"""S3-specific rules: public ACL grants, a public bucket policy, Block Public Access off, no default
encryption. Anonymous listing/reading itself is the generic ``s3.no-auth`` (exposure/auth.py).

The settings rules need credentials that may read the bucket's configuration; without them the
``details`` keys are absent and these rules stay silent (the anonymous checks still run).
"""

from __future__ import annotations

from collections.abc import Iterator

from dataward.exposure._generic import contents_note, exposure_severity, weak_config_severity
from dataward.exposure.base import Contents, Hit, exposure_rule
from dataward.stores.base import ExposureFacts

_ACL_FIX = "Remove the AllUsers/AuthenticatedUsers grants (put-bucket-acl --acl private) and enable Block Public Access."
_POLICY_FIX = "Remove Allow statements for Principal '*' from the bucket policy, or add conditions (VPC, account)."
_PAB_FIX = "Turn on all four Block Public Access settings for the bucket (and the account)."
_ENC_FIX = "Configure default encryption (SSE-S3 or SSE-KMS) on the bucket."


def _bucket(facts: ExposureFacts) -> str:
    return str(facts.details.get("bucket") or "bucket")


@exposure_rule("s3.public-acl", stores=("s3",), summary="The bucket ACL grants access to AllUsers or AuthenticatedUsers.",
               remediation=_ACL_FIX)
def public_acl(facts: ExposureFacts, contents: Contents) -> Iterator[Hit]:
    grants = list(facts.details.get("public_acl") or ())
    if grants:
        yield Hit(severity=exposure_severity(contents),
                           title=f"S3 bucket '{_bucket(facts)}' has a public ACL{contents_note(contents)}",
                           evidence="ACL grants: " + ", ".join(grants))


@exposure_rule("s3.public-policy", stores=("s3",), summary="The bucket policy allows everyone ('*') without conditions.",
               remediation=_POLICY_FIX)
def public_policy(facts: ExposureFacts, contents: Contents) -> Iterator[Hit]:
    if facts.details.get("policy_public"):
        yield Hit(severity=exposure_severity(contents),
                           title=f"S3 bucket '{_bucket(facts)}' has a public bucket policy{contents_note(contents)}",
                           evidence="an Allow statement names Principal '*' with no Condition")


@exposure_rule("s3.block-public-access-off", stores=("s3",),
               summary="Block Public Access is not fully on for the bucket.", remediation=_PAB_FIX)
def block_public_access_off(facts: ExposureFacts, contents: Contents) -> Iterator[Hit]:
    if facts.details.get("block_public_access") is False:
        yield Hit(severity=weak_config_severity(contents),
                           title=f"S3 bucket '{_bucket(facts)}' does not block public access{contents_note(contents)}",
                           evidence="PublicAccessBlock is missing or not all four settings are on")


@exposure_rule("s3.default-encryption-off", stores=("s3",),
               summary="The bucket has no default encryption.", remediation=_ENC_FIX)
def default_encryption_off(facts: ExposureFacts, contents: Contents) -> Iterator[Hit]:
    if "default_encryption" in facts.details and facts.details["default_encryption"] is None:
        yield Hit(severity=weak_config_severity(contents),
                           title=f"S3 bucket '{_bucket(facts)}' has no default encryption{contents_note(contents)}",
                           evidence="GetBucketEncryption: no server-side encryption configuration")
