"""Cross-region replication of the S3 data buckets: which region holds the copy and what
the replication role may do. Pure functions (no provider SDK), tested directly.

Prod replicates by default to a paired region in the same country (or, in Europe, the
same legal area), so the copy does not leave the jurisdiction the data lives in; a prod
region without a pair here needs an explicit ``storage.replicaRegion`` (or ``none``).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from mlops_stack.errors import ConfigError

VERSION = "2012-10-17"

#: Default replica region of a prod region: same country, or within the EU, and never an
#: opt-in region (those must be enabled on the account first: ca-west-1, ap-south-2,
#: ap-southeast-4, ... are left to an explicit choice). AWS has no official region
#: pairing, so this table is our choice (docs/security.md); regions not listed (e.g.
#: eu-west-2, ca-central-1, ap-south-1) need ``storage.replicaRegion`` in prod.
DEFAULT_REPLICA_REGIONS: dict[str, str] = {
    "us-east-1": "us-west-2",
    "us-east-2": "us-west-2",
    "us-west-1": "us-west-2",
    "us-west-2": "us-east-1",
    "eu-west-1": "eu-central-1",
    "eu-central-1": "eu-west-1",
    "eu-west-3": "eu-central-1",
    "eu-north-1": "eu-central-1",
    "ap-northeast-1": "ap-northeast-3",
    "ap-northeast-3": "ap-northeast-1",
}
#: What ``storage.replicaRegion`` says to keep one region.
NONE = "none"


def replica_region(region: str, requested: str | None, is_prod: bool) -> str | None:
    """The region the data buckets are replicated to, or ``None`` (single region)."""
    if requested == NONE:
        return None
    if requested:
        return requested
    if not is_prod:
        return None
    if region not in DEFAULT_REPLICA_REGIONS:
        raise ConfigError(
            "storage.replicaRegion",
            f"has no default for prod in {region}",
            "set a replica region in the same jurisdiction, or 'none' to keep one region (docs/security.md)",
        )
    return DEFAULT_REPLICA_REGIONS[region]


def _key_use(action: list[str], key_arn: str, region: str, bucket_arns: Sequence[str]) -> dict[str, Any]:
    # With S3 Bucket Keys the encryption context is the bucket ARN, without them the
    # object ARN: allow both, and only through S3 in that region.
    return {
        "Effect": "Allow",
        "Action": action,
        "Resource": key_arn,
        "Condition": {
            "StringEquals": {"kms:ViaService": f"s3.{region}.amazonaws.com"},
            "StringLike": {"kms:EncryptionContext:aws:s3:arn": [a for b in bucket_arns for a in (b, f"{b}/*")]},
        },
    }


def replication_role_policy(
    *,
    source_arns: Sequence[str],
    replica_arns: Sequence[str],
    source_key_arn: str,
    replica_key_arn: str,
    region: str,
    replica_region: str,
) -> str:
    """Least privilege for S3 replication (S3 user guide, "Setting up permissions for live
    replication" and "Replicating objects created with SSE-KMS"): read versions of the
    source buckets, write replicas (objects, delete markers, tags) into the replica
    buckets, decrypt with the source key and encrypt with the replica key, each only
    through S3 for those buckets."""
    statements: list[dict[str, Any]] = [
        {"Sid": "ReadReplicationConfig", "Effect": "Allow", "Action": ["s3:GetReplicationConfiguration", "s3:ListBucket"], "Resource": list(source_arns)},
        {
            "Sid": "ReadSourceVersions",
            "Effect": "Allow",
            "Action": ["s3:GetObjectVersionForReplication", "s3:GetObjectVersionAcl", "s3:GetObjectVersionTagging"],
            "Resource": [f"{a}/*" for a in source_arns],
        },
        {
            "Sid": "WriteReplicas",
            "Effect": "Allow",
            "Action": ["s3:ReplicateObject", "s3:ReplicateDelete", "s3:ReplicateTags"],
            "Resource": [f"{a}/*" for a in replica_arns],
        },
        {"Sid": "DecryptSource", **_key_use(["kms:Decrypt"], source_key_arn, region, source_arns)},
        {"Sid": "EncryptReplica", **_key_use(["kms:Encrypt", "kms:GenerateDataKey"], replica_key_arn, replica_region, replica_arns)},
    ]
    return json.dumps({"Version": VERSION, "Statement": statements}, sort_keys=True, separators=(",", ":"))


def replica_key_policy(account_id: str, partition: str) -> str:
    """The account administers the replica key; S3 uses it through the replication role's
    IAM policy (the account statement delegates to IAM)."""
    return json.dumps(
        {
            "Version": VERSION,
            "Statement": [
                {
                    "Sid": "AccountAdministers",
                    "Effect": "Allow",
                    "Principal": {"AWS": f"arn:{partition}:iam::{account_id}:root"},
                    "Action": "kms:*",
                    "Resource": "*",
                }
            ],
        },
        sort_keys=True,
        separators=(",", ":"),
    )
