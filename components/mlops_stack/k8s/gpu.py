"""GPU enablement on any cluster: the NVIDIA device plugin or the NVIDIA GPU Operator.

``GpuEnablement`` (``mlops:k8s:GpuEnablement``) follows ``spec.gpu.driver``:

- ``cloud``: the node image (or the cloud) provides the driver. When the cluster says
  its GPU nodes lack a device plugin (``cluster.needs_device_plugin``, default True:
  EKS AL2023 NVIDIA nodes, AKS without the managed plugin) the NVIDIA device plugin chart
  is installed; when the cloud runs its own (GKE with driver installation) nothing is.
- ``operator``: the NVIDIA GPU Operator with ``driver.enabled=false`` (the node images
  already carry a driver) and ``toolkit.enabled=false`` (and the container toolkit),
  running its own device plugin, DCGM exporter (with a ServiceMonitor when monitoring is
  on) and, for MIG, its MIG manager.

Every daemonset tolerates the GPU taint and is pinned to GPU pool nodes
(``mlops-stack/accelerator=nvidia``). GPU sharing (``spec.gpu.sharing``): time-slicing or
a MIG strategy is written to a ConfigMap the device plugin reads; ``none`` adds nothing.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import pulumi
import pulumi_kubernetes as k8s
import yaml

from mlops_stack.args import Env, child_opts, merge_opts
from mlops_stack.contracts import KubernetesCluster, Monitoring
from mlops_stack.k8s import charts
from mlops_stack.k8s._common import (
    CRITICAL_POD_HEADROOM,
    DEVICE_PLUGIN_NAMESPACE,
    GPU_NODE_AFFINITY,
    GPU_NODE_SELECTOR,
    GPU_OPERATOR_NAMESPACE,
    GPU_RESOURCE,
    critical_pods_quota,
    gpu_node_count,
    gpu_tolerations,
    helm_release,
    k8s_labels,
    namespace,
    needs_device_plugin,
    with_overrides,
)
from mlops_stack.k8s.monitoring import DCGM_SERVICE_MONITOR
from mlops_stack.spec import GpuPlatformSpec, GpuPoolSpec, GpuSharingSpec, MonitoringSpec

DEVICE_PLUGIN_RELEASE = "nvidia-device-plugin"
GPU_OPERATOR_RELEASE = "gpu-operator"
#: The ConfigMap holding the device plugin configuration, and its default entry.
SHARING_CONFIGMAP = "nvidia-device-plugin-config"
SHARING_CONFIG_KEY = "default"
#: Critical-priority pods per GPU node: the device plugin alone, or the GPU Operator's
#: operands (device plugin, GFD, DCGM, DCGM exporter, MIG manager, validator, node status
#: exporter, NFD worker, and driver/toolkit where it installs them).
PODS_PER_GPU_NODE = {"device-plugin": 1, "operator": 10}


def cloud_partitions_mig(cluster: Any) -> bool:
    """Whether the cloud partitions MIG GPUs itself (GKE ``gpuPartitionSize``, AKS
    ``gpuInstanceProfile``): then nothing in the cluster may re-partition them."""
    return bool(getattr(cluster, "partitions_mig", False))


@dataclass(frozen=True, kw_only=True)
class GpuEnablementArgs:
    env: Env
    gpu: GpuPlatformSpec = field(default_factory=GpuPlatformSpec)
    #: The spec's GPU pools (only their presence matters here).
    gpu_pools: Sequence[GpuPoolSpec] = ()
    #: Whether GPU metrics are scraped (the operator's DCGM exporter + ServiceMonitor).
    monitoring: MonitoringSpec = field(default_factory=MonitoringSpec)
    #: The cluster component: ``needs_device_plugin`` and ``k8s_chart_overrides`` are read.
    cluster: KubernetesCluster | None = None
    #: The Monitoring component, when installed (its CRDs come first).
    monitoring_component: Monitoring | None = None


def sharing_config(sharing: GpuSharingSpec) -> dict[str, Any] | None:
    """The device plugin configuration file for ``sharing``, or None for ``none``.

    Format: NVIDIA k8s-device-plugin config v1 (``flags.migStrategy``,
    ``sharing.timeSlicing.resources[].replicas``).
    """
    if sharing.mode == "none":
        return None
    if sharing.mode == "time-slicing":
        return {
            "version": "v1",
            "flags": {"migStrategy": "none"},
            "sharing": {
                "timeSlicing": {
                    # Keep the resource name nvidia.com/gpu so quotas and requests are unchanged.
                    "renameByDefault": False,
                    # Multi-GPU pods (training on 8-GPU nodes) must keep working.
                    "failRequestsGreaterThanOne": False,
                    "resources": [{"name": GPU_RESOURCE, "replicas": sharing.replicas}],
                }
            },
        }
    # MIG, "single" strategy: every GPU of a node is partitioned alike and each MIG device
    # is still advertised as nvidia.com/gpu.
    return {"version": "v1", "flags": {"migStrategy": "single"}}


def device_plugin_values(sharing: GpuSharingSpec, tolerations: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    """NVIDIA device plugin chart values: GPU pool nodes only, tolerating the GPU taint, the
    cloud's own GPU node taints (``tolerations``) and the chart's default CriticalAddonsOnly."""
    values: dict[str, Any] = {
        "tolerations": [*(tolerations if tolerations is not None else gpu_tolerations(None)), {"key": "CriticalAddonsOnly", "operator": "Exists"}],
        "nodeSelector": dict(GPU_NODE_SELECTOR),
        "affinity": GPU_NODE_AFFINITY,
        "priorityClassName": "system-node-critical",
        "gfd": {"enabled": False},
        "nfd": {"enabled": False},
    }
    if sharing.mode != "none":
        values["config"] = {"name": SHARING_CONFIGMAP, "default": SHARING_CONFIG_KEY}
    return values


def gpu_operator_values(
    sharing: GpuSharingSpec,
    *,
    dcgm: bool,
    device_plugin: bool,
    tolerations: list[dict[str, Any]] | None = None,
    cloud_partitions_mig: bool = False,
) -> dict[str, Any]:
    """GPU Operator chart values. MIG: where the cloud partitions the GPUs (GKE, AKS) the
    MIG manager stays off (it would undo the cloud's layout); elsewhere it applies
    ``gpu.sharing.migProfile`` to every MIG-capable GPU node."""
    tolerations = tolerations if tolerations is not None else gpu_tolerations(None)
    mig = sharing.mode == "mig" and not cloud_partitions_mig
    dcgm_exporter: dict[str, Any] = {"enabled": dcgm}
    if dcgm:
        dcgm_exporter["serviceMonitor"] = dict(DCGM_SERVICE_MONITOR)
    device: dict[str, Any] = {"enabled": device_plugin}
    if device_plugin and sharing.mode == "time-slicing":
        device["config"] = {"name": SHARING_CONFIGMAP, "default": SHARING_CONFIG_KEY}
    return {
        # The node images of all three clouds already carry a driver and the toolkit.
        "driver": {"enabled": False},
        "toolkit": {"enabled": False},
        "devicePlugin": device,
        "dcgmExporter": dcgm_exporter,
        "mig": {"strategy": "single"},
        "migManager": {"enabled": mig, **({"config": {"default": sharing.mig_profile or "all-disabled"}} if mig else {})},
        "daemonsets": {"tolerations": list(tolerations), "priorityClassName": "system-node-critical"},
        # Node Feature Discovery labels only GPU pool nodes, so the operands land there only.
        "node-feature-discovery": {"worker": {"nodeSelector": dict(GPU_NODE_SELECTOR), "tolerations": list(tolerations)}},
    }


@dataclass(frozen=True)
class GpuPlan:
    """What GPU enablement installs (pure, decided from the spec and the cluster's facts)."""

    mode: str  # "device-plugin" | "operator" | "cloud-managed"
    sharing_configmap: bool
    operator_device_plugin: bool = True
    operator_dcgm: bool = False
    warnings: tuple[str, ...] = ()


def gpu_plan(args: GpuEnablementArgs) -> GpuPlan:
    sharing = args.gpu.sharing
    plugin_needed = needs_device_plugin(args.cluster)
    dcgm = args.monitoring.enabled and args.monitoring.gpu_metrics
    if args.gpu.driver == "operator":
        warnings: tuple[str, ...] = ()
        if not plugin_needed:
            warnings = ("the cluster's GPU nodes already run a device plugin: the GPU Operator runs without its own",)
        return GpuPlan(
            mode="operator",
            sharing_configmap=plugin_needed and sharing.mode == "time-slicing",
            operator_device_plugin=plugin_needed,
            operator_dcgm=dcgm,
            warnings=warnings,
        )
    if not plugin_needed:
        configured_by_cloud = sharing.mode == "mig" and cloud_partitions_mig(args.cluster)
        warnings = (
            (f"gpu.sharing.mode {sharing.mode!r} must be configured on the cloud's node pools: the cloud runs the device plugin",)
            if sharing.mode != "none" and not configured_by_cloud
            else ()
        )
        return GpuPlan(mode="cloud-managed", sharing_configmap=False, warnings=warnings)
    return GpuPlan(mode="device-plugin", sharing_configmap=sharing.mode != "none")


class GpuEnablement(pulumi.ComponentResource):
    """``mlops:k8s:GpuEnablement``. Outputs: ``mode`` (device-plugin, operator or
    cloud-managed), ``namespace`` (None when nothing is installed), ``sharing``."""

    mode: str
    namespace: pulumi.Output[str] | None
    sharing: str

    def __init__(self, name: str, args: GpuEnablementArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("mlops:k8s:GpuEnablement", name, None, merge_opts(opts))
        env, sharing = args.env, args.gpu.sharing
        plan = gpu_plan(args)
        for message in plan.warnings:
            pulumi.log.warn(message, resource=self)

        self.mode = plan.mode
        self.sharing = sharing.mode
        self.namespace = None
        if plan.mode != "cloud-managed":
            ns_name = GPU_OPERATOR_NAMESPACE if plan.mode == "operator" else DEVICE_PLUGIN_NAMESPACE
            ns = namespace(
                self, f"{name}-namespace", ns_name, k8s_labels(env, "gpu", **{"pod-security.kubernetes.io/enforce": "privileged"})
            )
            self.namespace = ns.metadata.name
            quota = critical_pods_quota(
                self,
                f"{name}-critical-pods",
                ns.metadata.name,
                k8s_labels(env, "gpu"),
                PODS_PER_GPU_NODE[plan.mode] * gpu_node_count(args.gpu_pools) + CRITICAL_POD_HEADROOM,
            )
            config = sharing_config(sharing)
            depends: list[pulumi.Resource] = [quota]
            if plan.sharing_configmap and config is not None:
                depends.append(
                    k8s.core.v1.ConfigMap(
                        f"{name}-sharing-config",
                        metadata=k8s.meta.v1.ObjectMetaArgs(name=SHARING_CONFIGMAP, namespace=ns.metadata.name, labels=k8s_labels(env, "gpu")),
                        data={SHARING_CONFIG_KEY: yaml.safe_dump(config, sort_keys=False)},
                        opts=child_opts(self),
                    )
                )
            if plan.mode == "operator":
                values = gpu_operator_values(
                    sharing,
                    dcgm=plan.operator_dcgm,
                    device_plugin=plan.operator_device_plugin,
                    tolerations=gpu_tolerations(args.cluster),
                    cloud_partitions_mig=cloud_partitions_mig(args.cluster),
                )
                chart, release = charts.GPU_OPERATOR, GPU_OPERATOR_RELEASE
                monitoring_release = getattr(args.monitoring_component, "release", None)
                if plan.operator_dcgm and monitoring_release is not None:
                    depends.append(monitoring_release)
            else:
                values = device_plugin_values(sharing, gpu_tolerations(args.cluster))
                chart, release = charts.NVIDIA_DEVICE_PLUGIN, DEVICE_PLUGIN_RELEASE
            helm_release(
                self,
                f"{name}-{release}",
                chart,
                ns.metadata.name,
                with_overrides(values, args.cluster, chart),
                release_name=release,
                depends_on=depends,
            )
        self.register_outputs({"mode": self.mode, "namespace": self.namespace, "sharing": self.sharing})
