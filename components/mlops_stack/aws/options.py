"""The AWS target's own spec section (``mlops-stack:aws``), ignored on other targets.

Registered as ``Target.options_model``; ``spec.spec_model()`` adds it to the spec.
"""

from __future__ import annotations

from typing import Annotated

from pydantic import Field

from mlops_stack.spec import _Model, _pattern


class AwsSpec(_Model):
    """AWS-only settings (``mlops-stack:aws``)."""

    cluster_admin_arns: list[
        Annotated[str, _pattern(r"^arn:aws[a-z-]*:iam::\d{12}:(role|user)/.+$", "is not an IAM role or user ARN (arn:aws:iam::<12-digit account>:role/<name>)")]
    ] = Field(
        default_factory=list,
        description="IAM role/user ARNs given cluster-admin through EKS access entries.",
    )
    runner_security_group_ids: list[Annotated[str, _pattern(r"^sg-[0-9a-f]{8,17}$", "is not a security group ID (sg- and 8-17 hex digits)")]] = Field(
        default_factory=list,
        description="Security groups of the deploy runner (in this VPC or a peered one): admitted on 443 to the EKS cluster security group. See docs/first-apply.md.",
    )
