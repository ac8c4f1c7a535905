"""Capability kinds and what a spec asks of them (neutral: names no cloud, imports no SDK).

``KIND_MODULES`` is the convention a built-in target follows: the class for kind ``K``
is ``<target package>.<KIND_MODULES[K]>.K``. ``NEEDS`` says when a spec asks for a
kind, so the spec can reject, with one ``ConfigError``, what the chosen target lacks,
and the stack composes only what the target offers.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from mlops_stack.spec import MlopsSpec

#: capability kind -> module name inside a target's package, in the order a stack builds them.
KIND_MODULES: dict[str, str] = {
    "Network": "network",
    "Keys": "keys",
    "ArtifactStore": "storage",
    "ContainerRegistry": "registry",
    "ModelRegistry": "model_registry",
    "KubernetesCluster": "cluster",
    "GpuNodePool": "gpu_pool",
    "ModelEndpoint": "endpoint",
}


#: The outputs every target's class for a kind exposes (the common contract of
#: ARCHITECTURE.md); a target's class may add more. Network and Keys have none in common.
COMMON_OUTPUTS: dict[str, tuple[str, ...]] = {
    "Network": (),
    "Keys": (),
    "ArtifactStore": ("bucket_uris",),
    "ContainerRegistry": ("registry_url", "repository_urls"),
    "ModelRegistry": ("model_registry_id",),
    "KubernetesCluster": ("cluster_name", "endpoint", "kubeconfig", "oidc_issuer", "k8s_provider"),
    "GpuNodePool": ("pool_name", "instance_type", "gpu", "gpus_per_node", "min_nodes", "max_nodes"),
    "ModelEndpoint": ("endpoint_name", "invoke_url"),
}


@dataclass(frozen=True)
class Need:
    """When a spec asks for ``kind``: the key that asks, and how to stop asking."""

    kind: str
    asks: Callable[[MlopsSpec], bool]
    path: str
    value: Callable[[MlopsSpec], Any]
    hint: str


#: Kinds a spec can ask for. Network and Keys are never asked for: a target without them
#: simply has none (its other components run without a private network or a customer key).
NEEDS: tuple[Need, ...] = (
    Need("ArtifactStore", lambda s: bool(s.storage.buckets), "storage.buckets", lambda s: [b.name for b in s.storage.buckets], "list no buckets"),
    Need(
        "ContainerRegistry",
        lambda s: bool(s.container_registry.repositories),
        "containerRegistry.repositories",
        lambda s: list(s.container_registry.repositories),
        "set containerRegistry.repositories: []",
    ),
    Need("ModelRegistry", lambda s: s.model_registry.enabled, "modelRegistry.enabled", lambda s: True, "set modelRegistry.enabled: false"),
    Need("KubernetesCluster", lambda s: s.cluster.enabled, "cluster.enabled", lambda s: True, "set cluster.enabled: false"),
    Need("GpuNodePool", lambda s: bool(s.cluster.gpu_pools), "cluster.gpuPools", lambda s: [p.name for p in s.cluster.gpu_pools], "list no gpuPools"),
    Need("ModelEndpoint", lambda s: bool(s.endpoints), "endpoints", lambda s: [e.name for e in s.endpoints], "list no endpoints"),
)
