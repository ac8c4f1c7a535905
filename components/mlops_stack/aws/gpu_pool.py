"""AWS GPU node pools: EKS managed node groups on the NVIDIA AL2023 AMI, tainted
``nvidia.com/gpu=true:NoSchedule`` so only GPU workloads land there, labelled with the
cloud-neutral GPU name, sized from the spec (the autoscaler owns the desired size).

Scaling from zero: the Cluster Autoscaler builds a template node for an empty group from
``eks:DescribeNodegroup`` (labels, taints) only while the group has never had a node, and
otherwise from the Auto Scaling group's ``k8s.io/cluster-autoscaler/node-template/*`` tags
(kubernetes/autoscaler cluster-autoscaler/cloudprovider/aws/README.md). EKS does not copy
node group labels to its ASG, so every label and the GPU taint are written there as tags.
The ``k8s.amazonaws.com/accelerator`` label (the autoscaler's AWS ``GPULabel``) tells it a
new node is a GPU node whose GPUs the device plugin has not advertised yet, so it waits
instead of scaling up again.
"""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from mlops_stack.args import GPU_TAINT_EFFECT, GPU_TAINT_KEY, GPU_TAINT_VALUE, Env, GpuNodePoolArgs, child_opts, gpu_pool_labels, merge_opts, resource_tags, pool_offer
from mlops_stack.aws._nodes import launch_template, node_role, template_ref
from mlops_stack.aws._shared import identity

GPU_AMI_TYPE = "AL2023_x86_64_NVIDIA"
#: The Cluster Autoscaler's GPU node label on AWS (cloudprovider/aws/aws_cloud_provider.go ``GPULabel``).
AUTOSCALER_GPU_LABEL = "k8s.amazonaws.com/accelerator"
AUTOSCALER_TEMPLATE_TAG = "k8s.io/cluster-autoscaler/node-template"


def node_labels(pool_name: str, gpu: str, gpus_per_node: int, extra: dict[str, str] | None = None) -> dict[str, str]:
    """The node group's Kubernetes labels: the cloud-neutral ones plus the autoscaler's GPU label."""
    return {**gpu_pool_labels(pool_name, gpu, gpus_per_node, extra), AUTOSCALER_GPU_LABEL: gpu}


def autoscaler_template_tags(labels: dict[str, str], taints: list[tuple[str, str, str]]) -> dict[str, str]:
    """ASG tags describing a node of the group (labels, and taints as ``value:Effect``)."""
    tags = {f"{AUTOSCALER_TEMPLATE_TAG}/label/{k}": v for k, v in labels.items()}
    tags.update({f"{AUTOSCALER_TEMPLATE_TAG}/taint/{key}": f"{value}:{effect}" for key, value, effect in taints})
    return tags


def _slug(text: str) -> str:
    return "".join(c if c.isalnum() else "-" for c in text.lower()).strip("-")


@dataclass(frozen=True)
class ExistingCluster:
    """An EKS cluster this stack does not manage, given by name.

    ``subnet_ids`` default to the cluster's own subnets (looked up); ``node_role_arn``
    defaults to a role the pool creates; ``key_arn`` encrypts node volumes when given.
    """

    name: pulumi.Input[str]
    subnet_ids: pulumi.Input[list[str]] | None = None
    node_role_arn: pulumi.Input[str] | None = None
    key_arn: pulumi.Input[str] | None = None


class GpuNodePool(pulumi.ComponentResource):
    """``mlops:aws:GpuNodePool``. Outputs: ``pool_name``, ``instance_type``, ``gpu``,
    ``gpus_per_node``, ``min_nodes``, ``max_nodes``."""

    pool_name: pulumi.Output[str]
    instance_type: str
    gpu: str
    gpus_per_node: int
    min_nodes: int
    max_nodes: int
    #: Key child resources, exposed for wiring what the stack does not (docs/components.md).
    CHILDREN = ('node_group',)
    node_group: aws.eks.NodeGroup

    def __init__(self, name: str, args: GpuNodePoolArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("mlops:aws:GpuNodePool", name, None, merge_opts(opts))
        env: Env = args.env
        pool = args.pool
        offer, cluster_name = pool_offer("aws", args)
        cluster = args.cluster
        subnets = getattr(cluster, "node_subnet_ids", None) or getattr(cluster, "subnet_ids", None)
        if subnets is None:
            looked_up = aws.eks.get_cluster_output(name=cluster_name, opts=pulumi.InvokeOutputOptions(parent=self))
            subnets = looked_up.vpc_config.subnet_ids
        role_arn = getattr(cluster, "node_role_arn", None)
        if role_arn is None:
            _account, partition = identity(self)
            role_arn = node_role(self, f"{name}-node-role", env, partition).arn
        kms = getattr(cluster, "key_arn", None)

        labels = node_labels(pool.name, pool.gpu, pool.gpus_per_node, dict(pool.labels))
        lt = launch_template(self, f"{name}-lt", env, pool.disk_gb, kms, **{"mlops-stack-pool": pool.name})
        group = aws.eks.NodeGroup(
            f"{name}-nodes",
            cluster_name=cluster_name,
            node_role_arn=role_arn,
            subnet_ids=subnets,
            ami_type=GPU_AMI_TYPE,
            capacity_type="SPOT" if pool.spot else "ON_DEMAND",
            instance_types=[offer.instance_type],
            scaling_config=aws.eks.NodeGroupScalingConfigArgs(min_size=pool.min_nodes, max_size=pool.max_nodes, desired_size=pool.min_nodes),
            update_config=aws.eks.NodeGroupUpdateConfigArgs(max_unavailable=1),
            launch_template=template_ref(lt),
            labels=labels,
            taints=[aws.eks.NodeGroupTaintArgs(key=GPU_TAINT_KEY, value=GPU_TAINT_VALUE, effect="NO_SCHEDULE")],
            tags=resource_tags(env, **{"mlops-stack-pool": pool.name, "mlops-stack-gpu": pool.gpu}),
            opts=child_opts(self, ignore_changes=["scalingConfig.desiredSize"]),
        )
        asg_name = group.resources.apply(lambda r: r[0].autoscaling_groups[0].name)
        for key, value in autoscaler_template_tags(labels, [(GPU_TAINT_KEY, GPU_TAINT_VALUE, GPU_TAINT_EFFECT)]).items():
            aws.autoscaling.Tag(
                f"{name}-asg-{_slug(key.removeprefix(AUTOSCALER_TEMPLATE_TAG + '/'))}",
                autoscaling_group_name=asg_name,
                tag=aws.autoscaling.TagTagArgs(key=key, value=value, propagate_at_launch=False),
                opts=child_opts(self),
            )
        self.pool_name = group.node_group_name
        self.node_group = group
        self.instance_type = offer.instance_type
        self.gpu = pool.gpu
        self.gpus_per_node = pool.gpus_per_node
        self.min_nodes = pool.min_nodes
        self.max_nodes = pool.max_nodes
        self.register_outputs(
            {
                "pool_name": self.pool_name,
                "instance_type": self.instance_type,
                "gpu": self.gpu,
                "gpus_per_node": self.gpus_per_node,
                "min_nodes": self.min_nodes,
                "max_nodes": self.max_nodes,
            }
        )
