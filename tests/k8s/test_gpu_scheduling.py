"""Per cloud: every GPU daemonset the plan installs tolerates every taint a GPU pool's nodes
carry, and selects those nodes by labels they have. Otherwise ``nvidia.com/gpu`` is never
advertised there (issue 11.4: AKS spot pools) or the exporter never runs there.

A pool's taints are the ones the plan declares plus the ones the cloud adds itself:
- GKE: ``nvidia.com/gpu=present:NoSchedule`` on GPU nodes of a cluster that has non-GPU
  pools (GKE docs, "Run GPUs in Standard node pools"; ours always has its system pool);
- AKS: ``kubernetes.azure.com/scalesetpriority=spot:NoSchedule`` on spot pools (AKS docs,
  "Add a spot node pool");
- EKS: none (spot capacity is not tainted).
Where a release does not set a list, the chart's default applies (tests/fixtures/charts).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from k8s_helpers import RELEASE, plan_variant, spec_value
from planning import example_stacks, plan_example
from test_chart_keys import chart_facts
from mlops_stack.offline.engine import Plan

STACKS = example_stacks()
CLOUD_TAINTS = {
    "gcp": lambda pool: [("nvidia.com/gpu", "present", "NoSchedule")],
    "azure": lambda pool: [("kubernetes.azure.com/scalesetpriority", "spot", "NoSchedule")] if pool.get("scaleSetPriority") == "Spot" else [],
    "aws": lambda pool: [],
}
EFFECTS = {"NO_SCHEDULE": "NoSchedule", "NO_EXECUTE": "NoExecute", "PREFER_NO_SCHEDULE": "PreferNoSchedule"}
POOL_TYPES = {
    "aws": "aws:eks/nodeGroup:NodeGroup",
    "gcp": "gcp:container/nodePool:NodePool",
    "azure": "azure-native:containerservice:AgentPool",
}


def gpu_pools(plan: Plan, cloud: str) -> Iterator[tuple[str, list[tuple[str, str, str]], dict[str, str]]]:
    """``(name, taints, labels)`` of every GPU pool of the plan, as its nodes will have them."""
    urns = plan.by_urn()
    for r in plan.of_type(POOL_TYPES[cloud]):
        if urns[r.parent].type != f"mlops:{cloud}:GpuNodePool":
            continue
        if cloud == "aws":
            taints = [(t["key"], t.get("value", ""), EFFECTS[t["effect"]]) for t in r.inputs.get("taints") or []]
            labels = dict(r.inputs.get("labels") or {})
        elif cloud == "gcp":
            cfg = r.inputs["nodeConfig"]
            taints = [(t["key"], t.get("value", ""), EFFECTS[t["effect"]]) for t in cfg.get("taints") or []]
            labels = dict(cfg.get("labels") or {})
        else:
            taints = []
            for text in r.inputs.get("nodeTaints") or []:
                key_value, effect = text.rsplit(":", 1)
                key, _, value = key_value.partition("=")
                taints.append((key, value, effect))
            labels = dict(r.inputs.get("nodeLabels") or {})
        implicit = [t for t in CLOUD_TAINTS[cloud](r.inputs) if t not in taints]
        yield r.name, taints + implicit, labels


def tolerates(tolerations: list[dict[str, Any]], taint: tuple[str, str, str]) -> bool:
    key, value, effect = taint
    for t in tolerations:
        if t.get("effect") not in (None, "", effect):
            continue
        if t.get("operator", "Equal") == "Exists":
            if t.get("key") in (None, "", key):
                return True
        elif t.get("key") == key and t.get("value", "") == value:
            return True
    return False


def selects(node_selector: dict[str, str] | None, affinity: dict[str, Any] | None, labels: dict[str, str]) -> bool:
    if any(labels.get(k) != v for k, v in (node_selector or {}).items()):
        return False
    required = ((affinity or {}).get("nodeAffinity") or {}).get("requiredDuringSchedulingIgnoredDuringExecution")
    if not required:
        return True

    def matches(expr: dict[str, Any]) -> bool:
        op, key = expr["operator"], expr["key"]
        if op == "In":
            return labels.get(key) in expr["values"]
        if op == "Exists":
            return key in labels
        if op == "NotIn":
            return labels.get(key) not in expr["values"]
        if op == "DoesNotExist":
            return key not in labels
        raise AssertionError(f"operator {op} not modelled")

    return any(all(matches(e) for e in term.get("matchExpressions", [])) for term in required["nodeSelectorTerms"])


def _default(chart: str, version: str, path: str) -> Any:
    return chart_facts(chart, version)["keys"].get(path, {}).get("default")


def gpu_daemonsets(plan: Plan) -> Iterator[tuple[str, list[dict[str, Any]], dict[str, str] | None, dict[str, Any] | None]]:
    """``(daemonset, tolerations, nodeSelector, affinity)`` of every GPU daemonset the plan
    installs (None selector/affinity: placed by the chart's own node labels, not ours)."""
    for r in plan.of_type(RELEASE):
        chart, version, v = r.inputs["chart"], r.inputs["version"], r.inputs.get("values") or {}

        def get(path: str, values: dict[str, Any] = v) -> Any:
            node: Any = values
            for part in path.split("."):
                if not isinstance(node, dict) or part not in node:
                    return _default(chart, version, path)
                node = node[part]
            return node

        if chart in ("nvidia-device-plugin", "dcgm-exporter"):
            yield chart, get("tolerations") or [], get("nodeSelector"), get("affinity")
        elif chart == "gpu-operator":
            # The operands are placed by the operator's nvidia.com/gpu.* node labels (from NFD).
            yield "gpu-operator operands", get("daemonsets.tolerations") or [], None, None
            yield (
                "node-feature-discovery worker",
                get("node-feature-discovery.worker.tolerations") or [],
                get("node-feature-discovery.worker.nodeSelector"),
                get("node-feature-discovery.worker.affinity"),
            )


def _spot_everywhere(stack: str) -> dict[str, Any]:
    cluster = spec_value(stack, "cluster")
    return {"cluster": {**cluster, "gpuPools": [{**p, "spot": True} for p in cluster["gpuPools"]]}}


def cases() -> list[tuple[str, str, dict[str, Any]]]:
    out = [(s.rsplit("-", 1)[-1], s, {}) for s in STACKS]
    for stack in STACKS:
        cloud = stack.rsplit("-", 1)[-1]
        if not stack.startswith("dev-"):
            continue
        out.append((cloud, stack, _spot_everywhere(stack)))
        if cloud != "gcp":  # GKE refuses the GPU Operator
            out.append((cloud, stack, {**_spot_everywhere(stack), "gpu": {"driver": "operator"}}))
    return out


@pytest.mark.parametrize(("cloud", "stack", "changes"), cases(), ids=lambda x: x if isinstance(x, str) else ("+".join(x) or "example"))
def test_gpu_daemonsets_run_on_every_gpu_pool(cloud: str, stack: str, changes: dict[str, Any]) -> None:
    plan = plan_variant(stack, **changes) if changes else plan_example(stack)
    pools = list(gpu_pools(plan, cloud))
    daemonsets = list(gpu_daemonsets(plan))
    assert pools and daemonsets
    problems = []
    for pool, taints, labels in pools:
        for ds, tolerations, node_selector, affinity in daemonsets:
            problems += [f"{ds} does not tolerate {k}={v}:{e} of {pool}" for k, v, e in taints if not tolerates(tolerations, (k, v, e))]
            if (node_selector is not None or affinity is not None) and not selects(node_selector, affinity, labels):
                problems.append(f"{ds} does not select {pool} (labels {labels})")
    assert not problems, "\n".join(problems)


def test_the_check_sees_an_untolerated_spot_taint() -> None:
    """Negative control: the pre-fix device plugin tolerations on an AKS spot pool."""
    spot = ("kubernetes.azure.com/scalesetpriority", "spot", "NoSchedule")
    old = [{"key": "nvidia.com/gpu", "operator": "Exists", "effect": "NoSchedule"}, {"key": "CriticalAddonsOnly", "operator": "Exists"}]
    assert not tolerates(old, spot)
    assert tolerates([*old, {"key": "kubernetes.azure.com/scalesetpriority", "operator": "Equal", "value": "spot", "effect": "NoSchedule"}], spot)
    assert tolerates(old, ("nvidia.com/gpu", "present", "NoSchedule"))
    assert not selects({"mlops-stack/accelerator": "nvidia"}, None, {"mlops-stack/pool": "system"})
