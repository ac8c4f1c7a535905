"""Capability kinds and their contracts (neutral: names no cloud, imports no provider SDK,
and nothing of the package but, for type checking, the spec).

Each kind's contract is a ``Protocol`` of the outputs every target's class exposes (a
target's class may add more): ``isinstance(component, contracts.GpuNodePool)`` checks
them, and args type their sibling components with these Protocols.

``KIND_MODULES`` is the convention a built-in target follows: the class for kind ``K``
is ``<target package>.<KIND_MODULES[K]>.K``.

``NEEDS`` says when a spec *asks* for a kind, so the spec rejects with one
``ConfigError`` what the chosen target lacks (``spec.validate``).

How a stack is composed from these kinds (the slot table, ``SLOTS``) is the composition
layer's, beside ``MlopsStack``: ``mlops_stack.composition``. This module is below the
spec, the args, the targets and the Kubernetes layer, and imports none of them.

Adding a capability (existing files touched: this one, ``composition.py``, ``spec.py``,
``args.py``):

1. here: its kind in ``KIND_MODULES``, its ``Protocol`` in ``PROTOCOLS``, and its
   ``Need`` in ``NEEDS`` when a spec key asks for it;
2. ``composition.py``: a ``Slot`` in ``SLOTS`` after the siblings it reads;
3. ``spec.py``: its spec section; ``args.py``: its args dataclass;
4. new files: ``<target>/<module>.py`` per target, mocks, tests, docs.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

import pulumi

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
    # Built by the capabilities that run workloads on the cluster (tracking, cluster
    # serving), never asked for by a spec directly: not in NEEDS.
    "WorkloadIdentity": "workload_identity",
    "PostgresDatabase": "database",
    "TrackingServer": "tracking",
}


@runtime_checkable
class Network(Protocol):
    """A private network. Its outputs are the target's own (VPC, VNet, subnets)."""


@runtime_checkable
class Keys(Protocol):
    """Customer-managed keys. Its outputs are the target's own (key ARN, key IDs, vault)."""


@runtime_checkable
class ArtifactStore(Protocol):
    bucket_uris: Mapping[str, pulumi.Output[str]]
    bucket_names: Mapping[str, pulumi.Output[str]]


@runtime_checkable
class ContainerRegistry(Protocol):
    registry_url: pulumi.Output[str]
    repository_urls: Mapping[str, pulumi.Output[str]]


@runtime_checkable
class ModelRegistry(Protocol):
    model_registry_id: pulumi.Output[str]


@runtime_checkable
class KubernetesCluster(Protocol):
    cluster_name: pulumi.Output[str]
    endpoint: pulumi.Output[str]
    kubeconfig: pulumi.Output[str]
    oidc_issuer: pulumi.Output[str]
    k8s_provider: pulumi.ProviderResource


@runtime_checkable
class ClusterRef(Protocol):
    """What a GPU pool needs of its cluster: a cluster component or an ``ExistingCluster``."""

    @property
    def name(self) -> Any: ...


@runtime_checkable
class GpuNodePool(Protocol):
    pool_name: pulumi.Output[str]
    instance_type: str
    gpu: str
    gpus_per_node: int
    min_nodes: int
    max_nodes: int


@runtime_checkable
class ModelEndpoint(Protocol):
    endpoint_name: pulumi.Output[str]
    invoke_url: pulumi.Output[str]


@runtime_checkable
class WorkloadIdentity(Protocol):
    """A cloud identity bound to one Kubernetes service account, allowed exactly the
    granted bucket prefixes (and the stack key where the cloud needs it for them)."""

    #: Put on the Kubernetes ServiceAccount (the caller creates it).
    service_account_annotations: pulumi.Output[Mapping[str, str]]
    #: Put on every pod template that runs as that ServiceAccount.
    pod_labels: Mapping[str, str]
    #: Role ARN / service account email / managed identity client ID.
    identity: pulumi.Output[str]


@runtime_checkable
class PostgresDatabase(Protocol):
    """A managed PostgreSQL server on the private network. ``connection_uris``: database
    name -> ``postgresql://user:password@host:port/db?sslmode=require``, each secret."""

    host: pulumi.Output[str]
    port: int
    connection_uris: Mapping[str, pulumi.Output[str]]


@runtime_checkable
class TrackingServer(Protocol):
    """An MLflow tracking server: ``mlflow.set_tracking_uri(mlflow_tracking_uri)``."""

    mlflow_tracking_uri: pulumi.Output[str]


@runtime_checkable
class Monitoring(Protocol):
    grafana_url: pulumi.Output[str]
    prometheus_url: pulumi.Output[str]


#: kind -> its contract.
PROTOCOLS: dict[str, type] = {
    "Network": Network,
    "Keys": Keys,
    "ArtifactStore": ArtifactStore,
    "ContainerRegistry": ContainerRegistry,
    "ModelRegistry": ModelRegistry,
    "KubernetesCluster": KubernetesCluster,
    "GpuNodePool": GpuNodePool,
    "ModelEndpoint": ModelEndpoint,
    "WorkloadIdentity": WorkloadIdentity,
    "PostgresDatabase": PostgresDatabase,
    "TrackingServer": TrackingServer,
}

#: The outputs every target's class for a kind exposes (the common contract of
#: ARCHITECTURE.md), from the Protocols; a target's class may add more.
COMMON_OUTPUTS: dict[str, tuple[str, ...]] = {kind: tuple(p.__annotations__) for kind, p in PROTOCOLS.items()}


@dataclass(frozen=True)
class Need:
    """When a spec asks for ``kind``: the key that asks, and how to stop asking."""

    kind: str
    asks: Callable[[MlopsSpec], bool]
    path: str
    value: Callable[[MlopsSpec], Any]
    hint: str


#: Kinds a spec can ask for, in slot order (``composition.SLOTS``): the spec rejects what
#: the target lacks. Network and Keys are never asked for: a target without them simply
#: has none. ``WorkloadIdentity`` is asked for by cluster endpoints (runsOn: cluster).
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
    Need(
        "ModelEndpoint",
        lambda s: bool(s.managed_endpoints),
        "endpoints",
        lambda s: [e.name for e in s.managed_endpoints],
        "list no managed endpoints, or serve them on the cluster (runsOn: cluster)",
    ),
    Need(
        "WorkloadIdentity",
        lambda s: bool(s.cluster_endpoints),
        "endpoints",
        lambda s: [e.name for e in s.cluster_endpoints],
        "set runsOn: managed on them",
    ),
    Need(
        "TrackingServer",
        lambda s: s.tracking.enabled and s.tracking.mode == "managed",
        "tracking.mode",
        lambda s: s.tracking.mode,
        "set tracking.mode: self-hosted (the MLflow server in the cluster)",
    ),
    Need(
        "PostgresDatabase",
        lambda s: s.tracking.enabled and s.tracking.mode == "self-hosted",
        "tracking.mode",
        lambda s: s.tracking.mode,
        "set tracking.mode: managed where the target offers it, or tracking.enabled: false",
    ),
)
