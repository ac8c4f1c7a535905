"""Pieces shared by the system node group and the GPU node pools."""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from mlops_stack.args import Env, child_opts, resource_tags
from mlops_stack.aws.policies import EKS_NODE_POLICIES, assume_role_policy, managed_policy_arn

#: IMDSv2 only, and one hop: pods (which get cloud access through IRSA) cannot reach
#: the node's instance-profile credentials (EKS best-practices guide; checkov CKV_AWS_341).
IMDS_HOP_LIMIT = 1


@dataclass(frozen=True)
class NodeRole:
    """The node IAM role and its managed-policy attachments. ``arn`` resolves only after
    the attachments exist, so a node group given it depends on them: Pulumi then deletes
    or replaces the node group before it detaches a policy (EKS still needs them while it
    drains the nodes)."""

    role: aws.iam.Role
    attachments: tuple[aws.iam.RolePolicyAttachment, ...]
    arn: pulumi.Output[str]


def node_role(parent: pulumi.Resource, name: str, env: Env, partition: pulumi.Input[str]) -> NodeRole:
    role = aws.iam.Role(
        name,
        assume_role_policy=assume_role_policy("ec2.amazonaws.com"),
        description=f"mlops-stack {env.prefix}: EKS worker nodes",
        tags=resource_tags(env),
        opts=child_opts(parent),
    )
    attachments = tuple(
        aws.iam.RolePolicyAttachment(
            f"{name}-{policy.lower().replace('_', '-')}",
            role=role.name,
            policy_arn=pulumi.Output.from_input(partition).apply(lambda p, policy=policy: managed_policy_arn(p, policy)),
            opts=child_opts(parent),
        )
        for policy in EKS_NODE_POLICIES
    )
    return NodeRole(role, attachments, after(role.arn, attachments))


def after(value: pulumi.Output[str], resources: tuple[pulumi.CustomResource, ...]) -> pulumi.Output[str]:
    """``value``, carrying ``resources`` as dependencies of whatever consumes it."""
    return pulumi.Output.all(value, *[r.urn for r in resources]).apply(lambda v: v[0])


def launch_template(
    parent: pulumi.Resource, name: str, env: Env, disk_gb: int, kms_key_arn: pulumi.Input[str] | None, **extra_tags: str
) -> aws.ec2.LaunchTemplate:
    """Encrypted gp3 root volume (with the stack key when there is one) and IMDSv2 only."""
    tags = resource_tags(env, **extra_tags)
    return aws.ec2.LaunchTemplate(
        name,
        block_device_mappings=[
            aws.ec2.LaunchTemplateBlockDeviceMappingArgs(
                device_name="/dev/xvda",
                ebs=aws.ec2.LaunchTemplateBlockDeviceMappingEbsArgs(
                    volume_size=disk_gb,
                    volume_type="gp3",
                    encrypted="true",
                    kms_key_id=kms_key_arn,
                    delete_on_termination="true",
                ),
            )
        ],
        metadata_options=aws.ec2.LaunchTemplateMetadataOptionsArgs(
            http_endpoint="enabled", http_tokens="required", http_put_response_hop_limit=IMDS_HOP_LIMIT
        ),
        tag_specifications=[
            aws.ec2.LaunchTemplateTagSpecificationArgs(resource_type="instance", tags=tags),
            aws.ec2.LaunchTemplateTagSpecificationArgs(resource_type="volume", tags=tags),
        ],
        update_default_version=True,
        tags=tags,
        opts=child_opts(parent),
    )


def template_ref(lt: aws.ec2.LaunchTemplate) -> aws.eks.NodeGroupLaunchTemplateArgs:
    return aws.eks.NodeGroupLaunchTemplateArgs(id=lt.id, version=lt.latest_version.apply(str))
