"""The cloud-independent Kubernetes layer: GPU enablement, monitoring, tenancy.

It runs on any cluster component that exposes ``k8s_provider`` (and optionally
``storage_class``, ``needs_device_plugin``, ``k8s_chart_overrides``); ``k8s_layer``
composes the three components for ``MlopsStack``. Each can also be used on its own.
"""

from __future__ import annotations

from dataclasses import dataclass

import pulumi

from mlops_stack.args import MonitoringArgs
from mlops_stack.k8s._common import MONITORING_NAMESPACE
from mlops_stack.k8s.gpu import GpuEnablement, GpuEnablementArgs
from mlops_stack.k8s.monitoring import Monitoring
from mlops_stack.k8s.tenancy import Tenancy, TenancyArgs, check_namespaces

__all__ = ["GpuEnablement", "GpuEnablementArgs", "K8sLayer", "Monitoring", "Tenancy", "TenancyArgs", "k8s_layer"]


@dataclass(frozen=True)
class K8sLayer:
    """What ``k8s_layer`` created (None where the spec asks for nothing)."""

    monitoring: Monitoring | None
    gpu: GpuEnablement | None
    tenancy: Tenancy | None


def k8s_layer(name: str, args: MonitoringArgs, opts: pulumi.ResourceOptions) -> K8sLayer:
    """Monitoring (if ``monitoring.enabled``), GPU enablement (if there are GPU pools) and
    tenancy (if there are namespaces) on ``args.cluster``.

    ``opts`` must carry the cluster's Kubernetes provider (``providers={"kubernetes": ...}``).
    ``args.gpu_pools`` are the spec's ``GpuPoolSpec`` entries (their names are the
    ``mlops-stack/pool`` node labels the dashboards and rules group by).
    """
    check_namespaces(args.namespaces)
    monitoring = Monitoring(f"{name}-monitoring", args, opts) if args.monitoring.enabled else None
    gpu = (
        GpuEnablement(
            f"{name}-gpu",
            GpuEnablementArgs(
                env=args.env,
                gpu=args.gpu,
                gpu_pools=tuple(args.gpu_pools),
                monitoring=args.monitoring,
                cluster=args.cluster,
                monitoring_component=monitoring,
            ),
            opts,
        )
        if args.gpu_pools
        else None
    )
    tenancy = (
        Tenancy(
            f"{name}-tenancy",
            TenancyArgs(env=args.env, namespaces=tuple(args.namespaces), monitoring_namespace=MONITORING_NAMESPACE if monitoring else None),
            opts,
        )
        if args.namespaces
        else None
    )
    return K8sLayer(monitoring=monitoring, gpu=gpu, tenancy=tenancy)
