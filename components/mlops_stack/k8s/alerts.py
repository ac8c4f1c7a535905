"""Prometheus recording and alerting rules for GPU pools, as pure data.

Rule groups are plain dicts in the PrometheusRule ``spec.groups`` shape; the Monitoring
component hands them to kube-prometheus-stack (``additionalPrometheusRulesMap``), so they
are installed with the Prometheus Operator CRDs and never race them.

Metric names come from what the exporters actually export:
- DCGM exporter 4.8.x default counters (NVIDIA/dcgm-exporter ``etc/default-counters.csv``):
  ``DCGM_FI_DEV_XID_ERRORS``, ``DCGM_FI_DEV_GPU_TEMP``, ``DCGM_FI_DEV_FB_USED``,
  ``DCGM_FI_DEV_FB_FREE``, ``DCGM_FI_DEV_GPU_UTIL``; its ServiceMonitor keeps the workload's
  ``namespace``/``pod`` labels (honorLabels) and adds ``node`` (relabeling).
- kube-state-metrics (``docs/metrics/cluster/node-metrics.md``,
  ``docs/metrics/workload/pod-metrics.md``): ``kube_node_labels`` (with
  ``label_mlops_stack_pool`` because the layer allow-lists that node label),
  ``kube_pod_status_phase``, ``kube_pod_container_resource_requests`` (``nvidia.com/gpu``
  is exported as ``resource="nvidia_com_gpu"``), ``kube_node_status_allocatable``.

How Prometheus knows a pool's maximum: it cannot read the cloud's autoscaling settings,
so the layer writes them down as recording rules, one constant series per pool
(``vector(<maxNodes>)`` labelled ``pool=<name>``), regenerated from the spec on every
``pulumi up``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from mlops_stack.k8s._common import ACCELERATOR_VALUE, KSM_ACCELERATOR_LABEL, KSM_GPU_RESOURCE, KSM_POOL_LABEL

#: Recording rule names (our own series, derived from exporter metrics above).
NODE_POOL = "mlops:node_pool"
POOL_NODES = "mlops:gpu_pool_nodes"
POOL_MAX_NODES = "mlops:gpu_pool_max_nodes"
POOL_GPU_UTIL = "mlops:gpu_utilization:avg_by_pool"
POOL_GPU_MEM = "mlops:gpu_memory_used:ratio_by_pool"
PENDING_GPU_PODS = "mlops:gpu_pods_pending"

#: XID codes NVIDIA documents as needing a node drain / GPU reset (DBE, fallen off the bus,
#: uncontained ECC, GSP errors).
FATAL_XIDS = (48, 74, 79, 94, 95, 119, 120)


@dataclass(frozen=True)
class AlertThresholds:
    gpu_temp_celsius: int = 85
    gpu_memory_ratio: float = 0.95
    pending_for: str = "20m"
    pool_at_max_for: str = "30m"


@dataclass(frozen=True)
class PoolFacts:
    """What the rules need to know about a GPU pool (its node label value and size)."""

    name: str
    max_nodes: int


def pool_facts(pools: Sequence[Any]) -> list[PoolFacts]:
    """From the spec's ``GpuPoolSpec`` list (``name`` is the ``mlops-stack/pool`` node label)."""
    return [PoolFacts(name=str(p.name), max_nodes=int(p.max_nodes)) for p in pools]


_PENDING_GPU_POD_EXPR = (
    f'(sum by (namespace, pod) (kube_pod_container_resource_requests{{resource="{KSM_GPU_RESOURCE}"}}) > 0)'
    ' and on (namespace, pod) (kube_pod_status_phase{phase="Pending"} == 1)'
)


def capacity_group(pools: Sequence[PoolFacts], t: AlertThresholds = AlertThresholds()) -> dict[str, Any]:
    """Pool size and GPU scheduling rules: kube-state-metrics only (no DCGM needed)."""
    rules: list[dict[str, Any]] = [
        {
            "record": NODE_POOL,
            "expr": (
                # GPU pool nodes only: the system pool carries a pool label too.
                f'max by (node, pool) (label_replace(kube_node_labels{{{KSM_POOL_LABEL}!="", {KSM_ACCELERATOR_LABEL}="{ACCELERATOR_VALUE}"}},'
                f' "pool", "$1", "{KSM_POOL_LABEL}", "(.+)"))'
            ),
        },
        {"record": POOL_NODES, "expr": f"count by (pool) ({NODE_POOL})"},
        *({"record": POOL_MAX_NODES, "expr": f"vector({p.max_nodes})", "labels": {"pool": p.name}} for p in pools),
        {"record": PENDING_GPU_PODS, "expr": f"count by (namespace) ({_PENDING_GPU_POD_EXPR})"},
        {
            "alert": "GpuPodPendingTooLong",
            "expr": _PENDING_GPU_POD_EXPR,
            "for": t.pending_for,
            "labels": {"severity": "warning"},
            "annotations": {
                "summary": "GPU pod {{ $labels.namespace }}/{{ $labels.pod }} has been Pending for " + t.pending_for,
                "description": "The pod requests nvidia.com/gpu and is not scheduled: the pool may be at its maximum, "
                "the GPU type may be out of capacity in the zone, or the namespace GPU quota is used up.",
            },
        },
        {
            "alert": "GpuPoolAtMaximum",
            "expr": f"{POOL_NODES} >= on (pool) {POOL_MAX_NODES}",
            "for": t.pool_at_max_for,
            "labels": {"severity": "warning"},
            "annotations": {
                "summary": "GPU pool {{ $labels.pool }} is at its maximum node count ({{ $value }})",
                "description": "The autoscaler cannot add nodes to this pool; raise cluster.gpuPools[].maxNodes or expect pending GPU pods.",
            },
        },
    ]
    return {"name": "mlops-gpu-capacity", "rules": rules}


def dcgm_group(t: AlertThresholds = AlertThresholds()) -> dict[str, Any]:
    """GPU health and saturation rules on DCGM exporter metrics."""
    fatal = " or ".join(f"(DCGM_FI_DEV_XID_ERRORS == {x})" for x in FATAL_XIDS)
    mem_ratio = "DCGM_FI_DEV_FB_USED / (DCGM_FI_DEV_FB_USED + DCGM_FI_DEV_FB_FREE)"
    rules: list[dict[str, Any]] = [
        {
            "record": POOL_GPU_UTIL,
            "expr": f"avg by (pool) (DCGM_FI_DEV_GPU_UTIL * on (node) group_left (pool) {NODE_POOL})",
        },
        {
            "record": POOL_GPU_MEM,
            "expr": (
                f"sum by (pool) (DCGM_FI_DEV_FB_USED * on (node) group_left (pool) {NODE_POOL})"
                f" / sum by (pool) ((DCGM_FI_DEV_FB_USED + DCGM_FI_DEV_FB_FREE) * on (node) group_left (pool) {NODE_POOL})"
            ),
        },
        {
            "alert": "GpuXidError",
            "expr": "DCGM_FI_DEV_XID_ERRORS > 0",
            "labels": {"severity": "warning"},
            "annotations": {
                "summary": "GPU {{ $labels.gpu }} on {{ $labels.node }} reported XID {{ $value }}",
                "description": "DCGM reports the last XID error of the GPU; it stays set until the exporter or node restarts. "
                "Check the XID catalogue and drain the node if the GPU is unhealthy.",
            },
        },
        {
            "alert": "GpuXidFatal",
            "expr": fatal,
            "labels": {"severity": "critical"},
            "annotations": {
                "summary": "GPU {{ $labels.gpu }} on {{ $labels.node }} reported fatal XID {{ $value }}",
                "description": "This XID needs a GPU reset or node replacement: cordon and drain {{ $labels.node }}.",
            },
        },
        {
            "alert": "GpuTemperatureHigh",
            "expr": f"DCGM_FI_DEV_GPU_TEMP > {t.gpu_temp_celsius}",
            "for": "10m",
            "labels": {"severity": "warning"},
            "annotations": {
                "summary": "GPU {{ $labels.gpu }} on {{ $labels.node }} is at {{ $value }} C",
                "description": f"Above {t.gpu_temp_celsius} C for 10 minutes; the GPU will throttle.",
            },
        },
        {
            "alert": "GpuMemoryPressure",
            "expr": f"{mem_ratio} > {t.gpu_memory_ratio}",
            "for": "15m",
            "labels": {"severity": "warning"},
            "annotations": {
                "summary": "GPU {{ $labels.gpu }} on {{ $labels.node }} memory is {{ $value | humanizePercentage }} used",
                "description": "Framebuffer memory has been nearly full for 15 minutes; the next allocation may fail with CUDA OOM.",
            },
        },
    ]
    return {"name": "mlops-gpu-health", "rules": rules}


def rule_groups(pools: Sequence[PoolFacts], *, gpu_metrics: bool, thresholds: AlertThresholds = AlertThresholds()) -> list[dict[str, Any]]:
    """All rule groups of the layer: capacity when there are GPU pools, health when DCGM runs."""
    if not pools:
        return []
    groups = [capacity_group(pools, thresholds)]
    if gpu_metrics:
        groups.append(dcgm_group(thresholds))
    return groups


def alerts(groups: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    return [r for g in groups for r in g["rules"] if "alert" in r]


def records(groups: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    return [r for g in groups for r in g["rules"] if "record" in r]
