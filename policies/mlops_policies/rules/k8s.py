"""Kubernetes workload rules (pulumi-kubernetes 4.x: core/apps/batch workloads, Helm v3 Release values)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from ..model import Ctx, Res
from ..values import UNKNOWN, as_list, get, truthy
from ._registry import resource_rule

POD = "kubernetes:core/v1:Pod"
TEMPLATED = (
    "kubernetes:apps/v1:Deployment",
    "kubernetes:apps/v1:StatefulSet",
    "kubernetes:apps/v1:DaemonSet",
    "kubernetes:apps/v1:ReplicaSet",
    "kubernetes:batch/v1:Job",
)
CRONJOB = "kubernetes:batch/v1:CronJob"
HELM_RELEASE = "kubernetes:helm.sh/v3:Release"
WORKLOADS = (POD, *TEMPLATED, CRONJOB)


def pod_spec(r: Res) -> Any:
    if r.type == POD:
        return r.get("spec")
    if r.type in TEMPLATED:
        return r.get("spec", "template", "spec")
    if r.type == CRONJOB:
        return r.get("spec", "jobTemplate", "spec", "template", "spec")
    return None


def containers(r: Res) -> Any:
    """(kind, container) pairs; UNKNOWN if the pod spec or a container list is unknown."""
    spec = pod_spec(r)
    if spec is UNKNOWN:
        return UNKNOWN
    out = []
    for kind in ("initContainers", "containers", "ephemeralContainers"):
        lst = as_list(get(spec, kind))
        if lst is UNKNOWN:
            return UNKNOWN
        out.extend((kind, c) for c in lst)
    return out


def _cname(c: Any) -> str:
    n = get(c, "name")
    return n if isinstance(n, str) else "?"


def _walk(value: Any, path: str = "") -> Iterable[tuple[str, str, Any]]:
    if isinstance(value, dict):
        for k, v in value.items():
            yield path, k, v
            yield from _walk(v, f"{path}.{k}" if path else k)
    elif isinstance(value, list):
        for i, v in enumerate(value):
            yield from _walk(v, f"{path}[{i}]")


#: Charts allowed ``securityContext.privileged`` in their values: the DCGM exporter on GKE's
#: COS nodes, which have no NVIDIA container runtime to hand it the GPU devices (Google's
#: own DCGM-on-GKE example runs it privileged). Only that top-level key, only those charts.
PRIVILEGED_GPU_AGENTS = frozenset({"dcgm-exporter"})


@resource_rule(
    "k8s-no-privileged-containers",
    description="Kubernetes workloads (and Helm values) do not run privileged containers (except the DCGM "
    "exporter chart's own securityContext, which needs device access on GKE's COS nodes).",
    severity="critical",
    enforcement="mandatory",
    remediation="Remove securityContext.privileged=true; grant the specific capability instead (e.g. SYS_ADMIN "
    "for DCGM profiling) and run the NVIDIA device plugin with its default, non-privileged security context.",
    clouds=("kubernetes",),
    types=(*WORKLOADS, HELM_RELEASE),
    benchmarks=("checkov:CKV_K8S_16", "cis-kubernetes-1.8:5.2.2"),
)
def k8s_privileged(r: Res, ctx: Ctx) -> Iterable[str]:
    if r.type == HELM_RELEASE:
        agent = r.get("chart") in PRIVILEGED_GPU_AGENTS
        for path, key, value in _walk(r.get("values") or {}):
            if agent and path == "securityContext":
                continue
            if key == "privileged" and value is True:
                yield f"Helm values set {path + '.' if path else ''}privileged=true."
        return
    cs = containers(r)
    if cs is UNKNOWN:
        return
    for kind, c in cs:
        if truthy(get(c, "securityContext", "privileged")) is True:
            yield f"{kind[:-1]} {_cname(c)} is privileged."


@resource_rule(
    "k8s-resources-requests-limits",
    description="Every container sets CPU and memory requests and a memory limit (a CPU limit is optional: it "
    "throttles without protecting neighbours).",
    severity="medium",
    enforcement="mandatory",
    remediation="Set resources={'requests': {'cpu': '250m', 'memory': '256Mi'}, 'limits': {'memory': '256Mi'}} "
    "(GPU containers also set limits {'nvidia.com/gpu': N}).",
    clouds=("kubernetes",),
    types=WORKLOADS,
    benchmarks=("checkov:CKV_K8S_10", "checkov:CKV_K8S_12", "checkov:CKV_K8S_13"),
)
def k8s_resources(r: Res, ctx: Ctx) -> Iterable[str]:
    cs = containers(r)
    if cs is UNKNOWN:
        return
    for kind, c in cs:
        if kind == "ephemeralContainers":
            continue
        res = get(c, "resources")
        if res is UNKNOWN:
            continue
        missing = []
        for section, key in (("requests", "cpu"), ("requests", "memory"), ("limits", "memory")):
            v = get(res, section, key)
            if v is None:
                missing.append(f"{section}.{key}")
        if missing:
            yield f"{kind[:-1]} {_cname(c)} lacks resources {', '.join(missing)}."


def image_problem(image: Any) -> str | None:
    if not isinstance(image, str) or image is UNKNOWN:
        return None
    if "@sha256:" in image:
        return None
    last = image.rsplit("/", 1)[-1]
    if ":" not in last:
        return f"image {image} has no tag (means :latest)."
    if last.rsplit(":", 1)[1] == "latest":
        return f"image {image} uses the mutable tag :latest."
    return None


@resource_rule(
    "k8s-no-latest-image-tag",
    description="Container images are pinned to a version tag or digest, never ':latest' or untagged "
    "(workloads and Helm values image.tag).",
    severity="high",
    enforcement="mandatory",
    remediation="Pin images to an immutable version tag (ideally a digest): 'nvcr.io/nvidia/k8s-device-plugin:v0.17.0'.",
    clouds=("kubernetes",),
    types=(*WORKLOADS, HELM_RELEASE),
    benchmarks=("checkov:CKV_K8S_14", "checkov:CKV_K8S_43"),
)
def k8s_latest(r: Res, ctx: Ctx) -> Iterable[str]:
    if r.type == HELM_RELEASE:
        for path, key, value in _walk(r.get("values") or {}):
            where = f"{path}.{key}" if path else key
            if key == "tag" and isinstance(value, str) and value == "latest":
                yield f"Helm values {where} is 'latest'."
            elif key == "image" and isinstance(value, str):
                p = image_problem(value)
                if p and "no tag" not in p:
                    yield f"Helm values {where}: {p}"
        return
    cs = containers(r)
    if cs is UNKNOWN:
        return
    for kind, c in cs:
        p = image_problem(get(c, "image"))
        if p:
            yield f"{kind[:-1]} {_cname(c)}: {p}"
