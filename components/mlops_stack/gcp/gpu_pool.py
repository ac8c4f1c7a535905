"""GCP GPU node pools: GKE node pools with the catalog's machine type and
``guest_accelerator`` (type + count), GKE-managed NVIDIA driver installation, the
``nvidia.com/gpu=true:NoSchedule`` taint and the cloud-neutral labels, the GKE metadata
server (Workload Identity), shielded nodes, auto repair and upgrade, spot from the spec,
and total min/max autoscaling (the same totals as on the other clouds, not per zone).
A regional cluster's pool is pinned (``node_locations``) to the zones of the region that
offer its GPU (``gcp/gpu_zones.py``); GKE would otherwise pick zones, some without it.

On the taint: GKE taints GPU nodes itself (``nvidia.com/gpu=present:NoSchedule``) when
the cluster also has non-GPU pools - ours always has its system pool. A second taint with
the same key and effect is refused ("Found more than one taint with key nvidia.com/gpu
and effect NO_SCHEDULE", hashicorp/terraform-provider-google issue 7928), so no taint is
declared here: GPU pools carry GKE's, with the value ``present`` instead of ``true`` on
the other clouds. Tolerate it by key (``operator: Exists``), as the k8s layer does; GKE's
ExtendedResourceToleration admission adds that toleration to pods requesting
``nvidia.com/gpu``. An existing cluster made only of GPU pools has no such taint.

MIG: with ``gpu.sharing.mode: mig`` a pool whose GPU supports MIG gets GKE's
``gpuPartitionSize`` (the profile without ``all-``), and GKE's device plugin advertises
each partition as one ``nvidia.com/gpu``.
"""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_gcp as gcp

from mlops_stack import catalog
from mlops_stack.args import Env, GpuNodePoolArgs, child_opts, gpu_pool_labels, merge_opts, pool_offer
from mlops_stack.errors import ConfigError
from mlops_stack.gcp._nodes import initial_nodes, management, node_config, node_service_account
from mlops_stack.gcp._shared import project_info
from mlops_stack.gcp.gpu_zones import pool_zones, unpinned_warning
from mlops_stack.gcp.checks import MAX_NODE_POOL_NAME, node_pool_name_length

#: GKE installs the driver version it qualifies for the node's GKE version.
GPU_DRIVER_VERSION = "DEFAULT"
#: The taint GKE itself puts on GPU nodes (GKE docs "Run GPUs in Standard node pools").
GKE_GPU_TAINT = ("nvidia.com/gpu", "present", "NoSchedule")


@dataclass(frozen=True)
class ExistingCluster:
    """A GKE cluster this stack does not manage, given by name and location.

    ``node_service_account`` defaults to a least-privilege account the pool creates;
    ``disk_key`` (a Cloud KMS key) encrypts node boot disks when given; ``zones`` is how
    many zones the cluster's node pools span (1 for a zonal cluster).
    """

    name: pulumi.Input[str]
    location: pulumi.Input[str]
    node_service_account: pulumi.Input[str] | None = None
    disk_key: pulumi.Input[str] | None = None
    zones: int = 1


def accelerators(offer: catalog.GpuOffer, mig_profile: str | None = None) -> list[gcp.container.NodePoolNodeConfigGuestAcceleratorArgs]:
    """The pool's GPUs, with GKE's driver installation and, for MIG, the partition size."""
    return [
        gcp.container.NodePoolNodeConfigGuestAcceleratorArgs(
            type=offer.accelerator,
            count=offer.gpus,
            gpu_driver_installation_config=gcp.container.NodePoolNodeConfigGuestAcceleratorGpuDriverInstallationConfigArgs(
                gpu_driver_version=GPU_DRIVER_VERSION
            ),
            gpu_partition_size=mig_profile,
        )
    ]


class GpuNodePool(pulumi.ComponentResource):
    """``mlops:gcp:GpuNodePool``. Outputs: ``pool_name``, ``instance_type`` (the
    machine type), ``gpu``, ``gpus_per_node``, ``min_nodes``, ``max_nodes``, and
    ``accelerator`` (the GKE accelerator type)."""

    pool_name: pulumi.Output[str]
    instance_type: str
    accelerator: str
    gpu: str
    gpus_per_node: int
    min_nodes: int
    max_nodes: int
    #: Key child resources, exposed for wiring what the stack does not (docs/components.md).
    CHILDREN = ('node_pool',)
    node_pool: gcp.container.NodePool

    def __init__(self, name: str, args: GpuNodePoolArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        if node_pool_name_length(f"{name}-nodes") > MAX_NODE_POOL_NAME:
            # pulumi-gcp auto-names the node pool "<name>-nodes-<7 hex>"; GKE rejects > 40.
            raise ConfigError(
                "GpuNodePool(name)",
                f"would make the GKE node pool name {node_pool_name_length(f'{name}-nodes')} characters long; GKE allows {MAX_NODE_POOL_NAME}",
                f"use a component name of at most {MAX_NODE_POOL_NAME - 14} characters",
                value=name,
            )
        super().__init__("mlops:gcp:GpuNodePool", name, None, merge_opts(opts))
        env: Env = args.env
        pool = args.pool
        offer, cluster_name = pool_offer("gcp", args)
        cluster = args.cluster
        location = cluster.location
        sa_email = getattr(cluster, "node_service_account_email", None) or getattr(cluster, "node_service_account", None)
        if sa_email is None:
            project, _number = project_info(self)
            sa_email = node_service_account(self, f"{name}-nodes-sa", env, project).email
        disk_key = getattr(cluster, "disk_key", None)
        zones = getattr(cluster, "zones", 1) or 1
        # A regional cluster's pool goes to the zones of the region that offer its GPU
        # (gcp/gpu_zones.py); a zonal cluster's pool is in the cluster's zone (gcp/checks.py).
        node_locations = None
        if zones > 1:
            node_locations = pool_zones(pool.gpu, offer.instance_type, env.region, "pool.gpu", strict=env.region_check)
            if node_locations is not None:
                zones = len(node_locations)
            elif not env.region_check:
                pulumi.log.warn(unpinned_warning(pool.name, pool.gpu, env.region), resource=self)

        labels = gpu_pool_labels(pool.name, pool.gpu, pool.gpus_per_node, dict(pool.labels))
        nodes = gcp.container.NodePool(
            f"{name}-nodes",
            cluster=cluster_name,
            location=location,
            node_locations=list(node_locations) if node_locations is not None else None,
            initial_node_count=initial_nodes(pool.min_nodes, zones),
            autoscaling=gcp.container.NodePoolAutoscalingArgs(
                total_min_node_count=pool.min_nodes,
                total_max_node_count=pool.max_nodes,
                # GPUs are scarce: take capacity in whichever zone has it.
                location_policy="ANY",
            ),
            management=management(),
            upgrade_settings=gcp.container.NodePoolUpgradeSettingsArgs(max_surge=1, max_unavailable=0),
            node_config=node_config(
                env=env,
                machine_type=offer.instance_type,
                disk_gb=pool.disk_gb,
                service_account=sa_email,
                boot_disk_kms_key=disk_key,
                k8s_labels=labels,
                extra_labels={"mlops-stack-pool": pool.name, "mlops-stack-gpu": pool.gpu},
                spot=pool.spot,
                guest_accelerators=accelerators(offer, args.mig_profile),
            ),
            opts=child_opts(self, ignore_changes=["initialNodeCount", "nodeCount"]),
        )
        self.pool_name = nodes.name
        self.node_pool = nodes
        self.instance_type = offer.instance_type
        self.accelerator = offer.accelerator or ""
        self.gpu = pool.gpu
        self.gpus_per_node = pool.gpus_per_node
        self.min_nodes = pool.min_nodes
        self.max_nodes = pool.max_nodes
        self.register_outputs(
            {
                "pool_name": self.pool_name,
                "instance_type": self.instance_type,
                "accelerator": self.accelerator,
                "gpu": self.gpu,
                "gpus_per_node": self.gpus_per_node,
                "min_nodes": self.min_nodes,
                "max_nodes": self.max_nodes,
            }
        )
