"""Small AWS lookups shared by the components (account, partition), as Outputs."""

from __future__ import annotations

import pulumi
import pulumi_aws as aws


def identity(parent: pulumi.Resource) -> tuple[pulumi.Output[str], pulumi.Output[str]]:
    """``(account_id, partition)`` of the provider ``parent`` resolves to."""
    opts = pulumi.InvokeOutputOptions(parent=parent)
    account = aws.get_caller_identity_output(opts=opts).account_id
    partition = aws.get_partition_output(opts=opts).partition
    return account, partition


def key_arn(keys: object | None) -> pulumi.Input[str] | None:
    """The KMS key ARN of a Keys component, a raw ARN, or None."""
    if keys is None:
        return None
    return getattr(keys, "key_arn", keys)  # type: ignore[return-value]
