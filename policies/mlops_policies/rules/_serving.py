"""Cluster endpoints (KServe InferenceServices, ``endpoints[].runsOn: cluster``): on a tainted
GPU pool, with resource limits, and not reachable from outside the cluster without an allowlist."""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable
from typing import Any

from ..generated import GPU_TAINT_KEY, POOL_LABEL
from ..model import Ctx, Res
from ..values import UNKNOWN, as_list, get
from ._registry import resource_rule, stack_rule
from .common import GPU_POOL_TYPES, _tainted, gpu_pools

#: Position in the pack order (rules/__init__.py): cluster endpoints, after the per-cloud rules.
PACK_ORDER = 1

ISVC = "kubernetes:serving.kserve.io/v1beta1:InferenceService"
SERVICE = "kubernetes:core/v1:Service"
HELM_RELEASE = "kubernetes:helm.sh/v3:Release"
GPU = "nvidia.com/gpu"
#: The pod label KServe puts on every predictor pod (a Service selecting it exposes a model).
ISVC_POD_LABEL = "serving.kserve.io/inferenceservice"


def predictor_containers(r: Res) -> Any:
    """``(name, container)`` of the predictor: ``model`` and ``containers[]``; UNKNOWN if unknown."""
    pred = r.get("spec", "predictor")
    if pred is UNKNOWN or not isinstance(pred, dict):
        return UNKNOWN if pred is UNKNOWN else []
    out: list[tuple[str, Any]] = []
    model = get(pred, "model")
    if model is UNKNOWN:
        return UNKNOWN
    if isinstance(model, dict):
        out.append(("model", model))
    containers = as_list(get(pred, "containers"))
    if containers is UNKNOWN:
        return UNKNOWN
    for c in containers:
        name = get(c, "name")
        out.append((name if isinstance(name, str) else "?", c))
    return out


def gpus(container: Any) -> Any:
    for section in ("limits", "requests"):
        v = get(container, "resources", section, GPU)
        if v is not None:
            return v
    return None


def _tolerates_gpu_taint(pred: Any) -> Any:
    tolerations = as_list(get(pred, "tolerations"))
    if tolerations is UNKNOWN:
        return UNKNOWN
    unknown = False
    for t in tolerations:
        if t is UNKNOWN or UNKNOWN in (get(t, "key"), get(t, "effect"), get(t, "operator")):
            unknown = True
            continue
        if get(t, "key") == GPU_TAINT_KEY and get(t, "effect") in (None, "", "NoSchedule") and get(t, "operator") in ("Exists", "Equal", None):
            return True
    return UNKNOWN if unknown else False


@stack_rule(
    "kserve-gpu-on-tainted-pool",
    description="A KServe InferenceService that requests GPUs tolerates the nvidia.com/gpu taint and selects one of "
    "the stack's GPU pools (node selector mlops-stack/pool), and that pool is tainted: model servers run only on "
    "GPU nodes kept for GPU work.",
    severity="high",
    enforcement="mandatory",
    remediation="Serve it with endpoints[].runsOn: cluster (the stack sets the toleration and spec.predictor.nodeSelector "
    "{'mlops-stack/pool': <pool>}), or add both by hand; the pool itself must carry the taint (gpu-pool-tainted).",
    clouds=("aws", "gcp", "azure"),
    benchmarks=("mlops:gpu-taint",),
)
def kserve_gpu_pool(resources: list[Res], ctx: Ctx) -> Iterable[tuple[str, str]]:
    pools: dict[str, Any] = {}
    for r in resources:
        if r.type in GPU_POOL_TYPES:
            for p in gpu_pools(r):
                label = p.labels.get(POOL_LABEL) if isinstance(p.labels, dict) else None
                if isinstance(label, str):
                    pools[label] = p
    for r in resources:
        if r.type != ISVC:
            continue
        cs = predictor_containers(r)
        if cs is UNKNOWN:
            continue
        asked = [gpus(c) for _, c in cs]
        if UNKNOWN in asked or not any(g not in (None, 0, "0") for g in asked):
            continue
        pred = r.get("spec", "predictor")
        tolerates = _tolerates_gpu_taint(pred)
        if tolerates is False:
            yield r.urn, f"InferenceService {r.name} requests GPUs but does not tolerate the {GPU_TAINT_KEY} taint."
        selector = get(pred, "nodeSelector", POOL_LABEL)
        if selector is UNKNOWN:
            continue
        if not isinstance(selector, str):
            yield r.urn, f"InferenceService {r.name} requests GPUs but selects no GPU pool (nodeSelector {POOL_LABEL})."
        elif pools and selector not in pools:
            yield r.urn, f"InferenceService {r.name} selects pool {selector}, which is not one of this stack's GPU pools."
        elif selector in pools and _tainted(pools[selector]) is False:
            yield r.urn, f"InferenceService {r.name} runs on pool {selector}, which is not tainted {GPU_TAINT_KEY}:NoSchedule."


@resource_rule(
    "kserve-resource-limits",
    description="Every KServe predictor container states CPU and memory requests and limits, and a GPU limit equal "
    "to its GPU request: a model server cannot starve its node's neighbours.",
    severity="medium",
    enforcement="mandatory",
    remediation="Set spec.predictor.model.resources (or containers[].resources) requests and limits for cpu and "
    "memory, and nvidia.com/gpu in both when the model uses GPUs (runsOn: cluster endpoints get them from the spec).",
    clouds=("kubernetes",),
    types=(ISVC,),
    benchmarks=("checkov:CKV_K8S_10", "checkov:CKV_K8S_11", "checkov:CKV_K8S_12", "checkov:CKV_K8S_13"),
)
def kserve_limits(r: Res, ctx: Ctx) -> Iterable[str]:
    cs = predictor_containers(r)
    if cs is UNKNOWN:
        return
    for name, c in cs:
        res = get(c, "resources")
        if res is UNKNOWN:
            continue
        missing = [f"{s}.{k}" for s in ("requests", "limits") for k in ("cpu", "memory") if get(res, s, k) is None]
        if missing:
            yield f"predictor container {name} lacks resources {', '.join(missing)}."
        req, lim = get(res, "requests", GPU), get(res, "limits", GPU)
        if UNKNOWN not in (req, lim) and req is not None and str(req) != str(lim):
            yield f"predictor container {name} requests {req} GPU(s) but limits {lim}."


def _open_ranges(ranges: Any) -> Any:
    if ranges is UNKNOWN:
        return UNKNOWN
    out = []
    for cidr in ranges or []:
        try:
            if ipaddress.ip_network(str(cidr), strict=False).prefixlen == 0:
                out.append(str(cidr))
        except ValueError:
            continue
    return out


@resource_rule(
    "kserve-internal-only",
    description="Cluster endpoints are reachable only inside the cluster unless an allowlist is set: KServe creates "
    "no Ingress (kserve-resources gateway.disableIngressCreation), and a Service exposing InferenceService pods "
    "outside the cluster (LoadBalancer, NodePort) lists loadBalancerSourceRanges, none of them 0.0.0.0/0.",
    severity="high",
    enforcement="mandatory",
    remediation="Keep kserve.controller.gateway.disableIngressCreation: true; to expose a model, put a LoadBalancer "
    "Service with loadBalancerSourceRanges (your callers' CIDRs) in front of it, or call it from inside the cluster.",
    clouds=("kubernetes",),
    types=(HELM_RELEASE, SERVICE),
    benchmarks=("mlops:private-endpoint",),
)
def kserve_internal(r: Res, ctx: Ctx) -> Iterable[str]:
    if r.type == HELM_RELEASE:
        chart = r.get("chart")
        if isinstance(chart, str) and chart.rsplit("/", 1)[-1] == "kserve-resources":
            disabled = get(r.get("values") or {}, "kserve", "controller", "gateway", "disableIngressCreation")
            if disabled is not UNKNOWN and disabled is not True:
                yield "KServe creates an Ingress for every InferenceService (gateway.disableIngressCreation is not true)."
        return
    selector = r.get("spec", "selector")
    if not isinstance(selector, dict) or ISVC_POD_LABEL not in selector:
        return
    kind = r.get("spec", "type")
    if kind not in ("LoadBalancer", "NodePort"):
        return
    ranges = r.get("spec", "loadBalancerSourceRanges")
    if kind == "NodePort":
        yield f"Service {r.name} exposes an InferenceService on every node's port (NodePort) without an allowlist."
        return
    opened = _open_ranges(ranges)
    if opened is UNKNOWN:
        return
    if not ranges:
        yield f"Service {r.name} exposes an InferenceService through a load balancer without loadBalancerSourceRanges."
    elif opened:
        yield f"Service {r.name} exposes an InferenceService to {', '.join(opened)}."
