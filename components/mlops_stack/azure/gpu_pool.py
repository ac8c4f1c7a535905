"""Azure GPU node pools: AKS agent pools (mode User) with the catalog's GPU VM size,
tainted ``nvidia.com/gpu=true:NoSchedule`` (AKS adds no GPU taint of its own), labelled
with the cloud-neutral GPU name, autoscaling between the spec's min and max, on spot
capacity when asked (eviction policy Delete, pay up to the on-demand price), and with
the driver choice of ``gpu.driver``: ``cloud`` lets AKS install the NVIDIA driver,
``operator`` sets the pool's GPU driver to ``None`` so the NVIDIA GPU Operator owns it.
MIG (``gpu.sharing.mode: mig``): a pool of a MIG-capable GPU gets the ``gpuInstanceProfile``
of ``gpu.sharing.migProfile`` (``all-1g.10gb`` -> ``MIG1g``), so AKS partitions its GPUs.

Spot pools: AKS taints every spot node ``kubernetes.azure.com/scalesetpriority=spot:NoSchedule``;
the cluster exposes that taint as ``gpu_node_tolerations`` so the k8s layer's GPU
daemonsets (device plugin, DCGM exporter, GPU Operator operands, NFD worker) run there too.
"""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
from pulumi_azure_native import containerservice

from mlops_stack.args import GPU_TAINT_EFFECT, GPU_TAINT_KEY, GPU_TAINT_VALUE, Env, GpuNodePoolArgs, child_opts, gpu_pool_labels, resource_tags, pool_offer
from mlops_stack.azure._naming import agent_pool_name
from mlops_stack.azure._shared import gpu_driver_choice, component_opts
from mlops_stack.spec import GpuPoolSpec

GPU_TAINT = f"{GPU_TAINT_KEY}={GPU_TAINT_VALUE}:{GPU_TAINT_EFFECT}"
#: AKS puts this taint on every spot node; declaring it keeps the pool's desired state
#: equal to what AKS reports (and spot nodes stay free of pods that did not opt in).
SPOT_TAINT = "kubernetes.azure.com/scalesetpriority=spot:NoSchedule"
#: What a pod needs to run on a spot node (the k8s layer's GPU daemonsets get it).
SPOT_TOLERATION = {"key": "kubernetes.azure.com/scalesetpriority", "operator": "Equal", "value": "spot", "effect": "NoSchedule"}
#: The VM OS of GPU pools: Ubuntu is the image both the AKS GPU driver and the GPU
#: Operator support on every GPU size.
GPU_OS_SKU = "Ubuntu"


@dataclass(frozen=True)
class ExistingCluster:
    """An AKS cluster this stack does not manage.

    ``node_subnet_id`` defaults to the cluster's default (no subnet given: AKS picks the
    cluster's node subnet); ``zones`` pins the pool to availability zones; ``gpu_driver``
    as ``gpu.driver`` (default ``cloud``).
    """

    name: pulumi.Input[str]
    resource_group_name: pulumi.Input[str]
    node_subnet_id: pulumi.Input[str] | None = None
    zones: list[str] | None = None
    #: ``cloud`` (AKS installs the NVIDIA driver) or ``operator`` (the GPU Operator does).
    gpu_driver: str | None = None


def gpu_driver(driver: str) -> containerservice.GPUProfileArgs:
    return containerservice.GPUProfileArgs(driver="Install" if driver == "cloud" else "None")


def pool_taints(pool: GpuPoolSpec) -> list[str]:
    return [GPU_TAINT, SPOT_TAINT] if pool.spot else [GPU_TAINT]


def spot_settings(pool: GpuPoolSpec) -> dict[str, object]:
    """Spot: evicted VMs are deleted (not deallocated, which would keep billing disks and
    count against quota) and the price cap is -1 (never evicted for price)."""
    if not pool.spot:
        return {"scale_set_priority": "Regular"}
    return {"scale_set_priority": "Spot", "scale_set_eviction_policy": "Delete", "spot_max_price": -1}


class GpuNodePool(pulumi.ComponentResource):
    """``mlops:azure:GpuNodePool``. Outputs: ``pool_name``, ``instance_type``, ``gpu``,
    ``gpus_per_node``, ``min_nodes``, ``max_nodes``, ``driver``.

    ``args.cluster`` is the Azure ``KubernetesCluster`` (reads ``cluster_name``,
    ``resource_group_name``, ``node_subnet_id``, ``zones``) or an ``ExistingCluster``.
    """

    pool_name: pulumi.Output[str]
    instance_type: str
    gpu: str
    gpus_per_node: int
    min_nodes: int
    max_nodes: int
    driver: str
    #: Key child resources, exposed for wiring what the stack does not (docs/components.md).
    CHILDREN = ('agent_pool',)
    agent_pool: containerservice.AgentPool

    def __init__(self, name: str, args: GpuNodePoolArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("mlops:azure:GpuNodePool", name, None, component_opts(opts))
        env: Env = args.env
        pool = args.pool
        offer, cluster_name = pool_offer("azure", args)
        cluster = args.cluster
        driver = gpu_driver_choice(args, opts, cluster)

        agent_pool = containerservice.AgentPool(
            f"{name}-pool",
            resource_group_name=cluster.resource_group_name,
            resource_name_=cluster_name,
            agent_pool_name=agent_pool_name(pool.name),
            mode="User",
            type="VirtualMachineScaleSets",
            vm_size=offer.instance_type,
            os_type="Linux",
            os_sku=GPU_OS_SKU,
            os_disk_size_gb=pool.disk_gb,
            os_disk_type="Managed",
            count=pool.min_nodes,
            enable_auto_scaling=True,
            min_count=pool.min_nodes,
            max_count=pool.max_nodes,
            vnet_subnet_id=getattr(cluster, "node_subnet_id", None),
            availability_zones=getattr(cluster, "zones", None),
            node_taints=pool_taints(pool),
            node_labels=gpu_pool_labels(pool.name, pool.gpu, pool.gpus_per_node, dict(pool.labels)),
            gpu_profile=gpu_driver(driver),
            gpu_instance_profile=f"MIG{args.mig_profile.split('.')[0]}" if args.mig_profile else None,
            enable_node_public_ip=False,
            # Temp disks (GPU scratch data) and caches encrypted on the host (docs/azure.md).
            enable_encryption_at_host=True,
            tags=resource_tags(env, **{"mlops-stack-pool": pool.name, "mlops-stack-gpu": pool.gpu}),
            **spot_settings(pool),  # type: ignore[arg-type]
            # The cluster autoscaler owns the node count after creation.
            opts=child_opts(self, ignore_changes=["count"]),
        )
        self.pool_name = agent_pool.name
        self.agent_pool = agent_pool
        self.instance_type = offer.instance_type
        self.gpu = pool.gpu
        self.gpus_per_node = pool.gpus_per_node
        self.min_nodes = pool.min_nodes
        self.max_nodes = pool.max_nodes
        self.driver = driver
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

