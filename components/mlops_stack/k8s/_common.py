"""Shared constants and pure helpers of the Kubernetes layer (no resources here)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pulumi
import pulumi_kubernetes as k8s

from mlops_stack.args import GPU_LABEL, GPU_TAINT_EFFECT, GPU_TAINT_KEY, POOL_LABEL, Env, child_opts
from mlops_stack.constants import DEVICE_PLUGIN_NAMESPACE, GPU_OPERATOR_NAMESPACE, MONITORING_NAMESPACE, RESERVED_NAMESPACES  # noqa: F401
from mlops_stack.k8s.charts import Chart

#: Node label every GPU pool carries (see ``args.gpu_pool_labels``): the GPU daemonsets
#: select on it, so they run on our GPU pools and nowhere else.
ACCELERATOR_LABEL = "mlops-stack/accelerator"
ACCELERATOR_VALUE = "nvidia"

#: The node labels kube-state-metrics exports on ``kube_node_labels`` (as
#: ``label_mlops_stack_pool`` ...): dashboards and alerts group GPU nodes by pool with them.
NODE_LABELS_EXPORTED = (POOL_LABEL, GPU_LABEL, ACCELERATOR_LABEL)
def ksm_label(label: str) -> str:
    """A node label as kube-state-metrics exports it on ``kube_node_labels``."""
    return "label_" + label.replace("-", "_").replace("/", "_").replace(".", "_")


#: ``mlops-stack/pool`` and ``mlops-stack/accelerator`` as kube-state-metrics sanitises them.
KSM_POOL_LABEL = ksm_label(POOL_LABEL)
KSM_ACCELERATOR_LABEL = ksm_label(ACCELERATOR_LABEL)

#: What the GPU taint looks like to a pod that must run on GPU nodes.
GPU_TOLERATION = {"key": GPU_TAINT_KEY, "operator": "Exists", "effect": GPU_TAINT_EFFECT}

#: Required node affinity to our GPU pools (replaces a chart's NFD-based default).
GPU_NODE_SELECTOR = {ACCELERATOR_LABEL: ACCELERATOR_VALUE}
GPU_NODE_AFFINITY = {
    "nodeAffinity": {
        "requiredDuringSchedulingIgnoredDuringExecution": {
            "nodeSelectorTerms": [{"matchExpressions": [{"key": ACCELERATOR_LABEL, "operator": "In", "values": [ACCELERATOR_VALUE]}]}]
        }
    }
}

#: The Kubernetes resource name of an NVIDIA GPU, and how kube-state-metrics spells it.
GPU_RESOURCE = "nvidia.com/gpu"
KSM_GPU_RESOURCE = "nvidia_com_gpu"


def k8s_labels(env: Env, component: str, **extra: str) -> dict[str, str]:
    """Kubernetes object labels: who manages it and which part of the layer it is."""
    return {
        "app.kubernetes.io/managed-by": "mlops-stack",
        "app.kubernetes.io/part-of": env.prefix,
        "app.kubernetes.io/component": component,
        **extra,
    }


def deep_merge(base: Mapping[str, Any], override: Mapping[str, Any] | None, *, extend_lists: bool = False) -> dict[str, Any]:
    """``override`` merged into a copy of ``base``: mappings recursively, anything else
    replaced - or, with ``extend_lists``, lists extended by the items they lack (a cloud's
    extra volume mount or toleration adds to the layer's, never drops one). Leaves (which
    may be Pulumi Outputs) are shared, never copied."""
    out = {key: _copy(value) for key, value in base.items()}
    for key, value in (override or {}).items():
        if isinstance(value, Mapping) and isinstance(out.get(key), Mapping):
            out[key] = deep_merge(out[key], value, extend_lists=extend_lists)
        elif extend_lists and isinstance(value, list) and isinstance(out.get(key), list):
            out[key] = out[key] + [_copy(v) for v in value if v not in out[key]]
        else:
            out[key] = _copy(value)
    return out


def _copy(value: Any) -> Any:
    if isinstance(value, Mapping):
        return {k: _copy(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_copy(v) for v in value]
    return value


def chart_overrides(cluster: Any, chart: Chart) -> dict[str, Any]:
    """Cloud-specific values a cluster component asks for, by chart name.

    A cluster may expose ``k8s_chart_overrides = {"dcgm-exporter": {...}, ...}`` for what
    only that cloud's node image needs (e.g. a driver root that is not ``/``); they are
    merged over the layer's values with ``with_overrides``. Absent means none.
    """
    overrides = getattr(cluster, "k8s_chart_overrides", None) or {}
    return dict(overrides.get(chart.name, {}))


def with_overrides(values: Mapping[str, Any], cluster: Any, chart: Chart) -> dict[str, Any]:
    """The layer's ``values`` for ``chart`` with the cluster's overrides merged in: maps
    recursively, lists extended (an override adds volume mounts, tolerations or env
    entries; it never silently drops the layer's or the chart's defaults)."""
    return deep_merge(values, chart_overrides(cluster, chart), extend_lists=True)


def gpu_tolerations(cluster: Any) -> list[dict[str, Any]]:
    """What every GPU daemonset tolerates: the layer's GPU taint plus the taints the cloud
    itself puts on GPU pool nodes (``cluster.gpu_node_tolerations``, e.g. AKS's spot taint)."""
    extra = list(getattr(cluster, "gpu_node_tolerations", None) or [])
    return [dict(GPU_TOLERATION), *(dict(t) for t in extra if t != GPU_TOLERATION)]


def gpu_node_count(pools: Any) -> int:
    """The most GPU nodes the pools can reach together (the sum of their maxima)."""
    return sum(int(p.max_nodes) for p in pools)


#: Priority classes node daemonsets use; GKE admits their pods outside kube-system only in
#: a namespace with a ResourceQuota scoped to them (harmless on the other clouds).
CRITICAL_PRIORITY_CLASSES = ("system-node-critical", "system-cluster-critical")
#: Pods of a rolling update or of non-GPU nodes (operator, NFD master) on top of the daemonset pods.
CRITICAL_POD_HEADROOM = 20


def critical_pods_quota(parent: pulumi.Resource, name: str, namespace_name: pulumi.Input[str], labels: Mapping[str, str], pods: int) -> k8s.core.v1.ResourceQuota:
    """A ResourceQuota scoped to the critical priority classes, so GKE admits the namespace's
    node daemonsets; ``pods`` is sized for every GPU node the pools can reach."""
    return k8s.core.v1.ResourceQuota(
        name,
        metadata=k8s.meta.v1.ObjectMetaArgs(name="critical-pods", namespace=namespace_name, labels=dict(labels)),
        spec=k8s.core.v1.ResourceQuotaSpecArgs(
            hard={"pods": str(pods)},
            scope_selector=k8s.core.v1.ScopeSelectorArgs(
                match_expressions=[
                    k8s.core.v1.ScopedResourceSelectorRequirementArgs(scope_name="PriorityClass", operator="In", values=list(CRITICAL_PRIORITY_CLASSES))
                ]
            ),
        ),
        opts=child_opts(parent),
    )


def needs_device_plugin(cluster: Any) -> bool:
    """Whether the cluster's GPU nodes lack an NVIDIA device plugin (default: they do).

    EKS AL2023 NVIDIA nodes ship the driver but no plugin (True); GKE with driver
    installation configured runs its own plugin (False).
    """
    value = getattr(cluster, "needs_device_plugin", True)
    return True if value is None else bool(value)


def helm_release(
    parent: pulumi.Resource,
    name: str,
    chart: Chart,
    namespace: pulumi.Input[str],
    values: pulumi.Input[dict[str, Any]],
    *,
    release_name: str,
    depends_on: list[pulumi.Resource] | None = None,
) -> k8s.helm.v3.Release:
    """A Helm release of a pinned chart: fixed release name (service names derive from
    it), atomic (a failed install rolls back), never creating its namespace (we own it)."""
    # An OCI chart is named by its full reference, without repository options.
    oci = chart.repo.startswith("oci://")
    return k8s.helm.v3.Release(
        name,
        name=release_name,
        chart=f"{chart.repo}/{chart.name}" if oci else chart.name,
        version=chart.version,
        repository_opts=None if oci else k8s.helm.v3.RepositoryOptsArgs(repo=chart.repo),
        namespace=namespace,
        create_namespace=False,
        atomic=True,
        cleanup_on_fail=True,
        timeout=900,
        values=values,
        opts=child_opts(parent, depends_on=depends_on or []),
    )


def namespace(parent: pulumi.Resource, name: str, ns_name: str, labels: Mapping[str, str]) -> k8s.core.v1.Namespace:
    return k8s.core.v1.Namespace(
        name,
        metadata=k8s.meta.v1.ObjectMetaArgs(name=ns_name, labels=dict(labels)),
        opts=child_opts(parent),
    )
