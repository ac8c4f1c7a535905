"""The slot table that composes a stack (the composition layer, beside ``MlopsStack``;
neutral: names no cloud, imports no provider SDK).

``SLOTS`` drives ``MlopsStack``: one :class:`Slot` per thing a stack may hold, in
dependency order. A slot says which kind it needs (or none: the neutral Kubernetes
layer), when the spec wants it, how each instance's args are built from the spec and the
siblings already built (:class:`Build`), and which stack outputs it adds. When the spec
*asks* for a kind the target lacks, the spec has already said so (``contracts.NEEDS``).

Layers: this module imports the contracts, the spec, the args and the Kubernetes layer;
only ``stack.py`` (and tests) import it.

Patterns a slot can follow (``Build`` is what its callables get):

- *One instance*: ``args`` returns the args; the stack attribute holds the component
  (None when not wanted or not offered).
- *One per spec list entry*: ``each`` returns ``(index, entry)`` pairs (filter here, keep
  the spec's index for error paths such as ``endpoints[2]``); ``args`` gets the entry and
  its index and ``role`` names the child; the attribute holds a list.
- *The neutral Kubernetes layer* (kind None): ``create`` builds it on
  ``b.k8s_opts(depends_on=...)`` (the cluster's Kubernetes provider, parented to the
  stack). The ``k8s`` slot is the example.
- *A cloud component and a Kubernetes piece together* (self-hosted tracking, cluster
  endpoints): give the slot the cloud kind it needs (``kind="WorkloadIdentity"``, so a
  target without it is skipped or rejected like any kind) and a ``create`` that first
  makes the per-consumer cloud component with ``b.component(kind, role, args)``, then
  the Kubernetes resources on ``b.k8s_opts(...)`` using it, and returns what the stack
  attribute should hold. ``b.component`` records every cloud component by kind
  (``MlopsStack.components``), so the contract test sees it.
- *Several slots, one output*: when two slots add the same output key with mapping
  values, the stack merges them in slot order (managed endpoints and cluster endpoints
  both add to ``endpoints``; give the cluster slot an ``each`` that keeps only its own
  entries, and the managed ``endpoints`` slot's ``each`` the others).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

import pulumi

from mlops_stack.args import (
    ArtifactStoreArgs,
    BucketGrant,
    ContainerRegistryArgs,
    Env,
    GpuNodePoolArgs,
    KeysArgs,
    KubernetesClusterArgs,
    ModelEndpointArgs,
    ModelRegistryArgs,
    MonitoringArgs,
    NetworkArgs,
    PostgresDatabaseArgs,
    TrackingServerArgs,
    WorkloadIdentityArgs,
)
from mlops_stack.catalog import mig
from mlops_stack.constants import TRACKING_NAMESPACE
from mlops_stack.spec import TRACKING_PREFIX, MlopsSpec
from mlops_stack.targets import Target


@dataclass(frozen=True)
class Made:
    """One instance a slot built: its child role, the spec entry it came from (None for a
    one-instance slot), the args it got, and what was built."""

    role: str
    entry: Any
    args: Any
    value: Any


@dataclass(kw_only=True)
class Build:
    """What a slot's callables read while ``MlopsStack`` is built: the spec, the target,
    and the siblings built so far (``get``)."""

    name: str  #: the stack's name; children are ``f"{name}-{role}"``
    spec: MlopsSpec
    env: Env
    target: Target
    stack: pulumi.ComponentResource  #: the parent of everything a slot builds
    opts: pulumi.ResourceOptions  #: for the target's components: parent = the stack, the target's provider
    built: dict[str, Any] = field(default_factory=dict)  #: slot key -> its value (component, list, or None)
    made: dict[str, list[Made]] = field(default_factory=dict)  #: slot key -> each instance
    components: dict[str, list[Any]] = field(default_factory=dict)  #: kind -> every target component made

    def get(self, key: str) -> Any:
        """The value of an earlier slot (None / ``[]`` when it was not built)."""
        return self.built.get(key)

    def component(self, kind: str, role: str, args: Any) -> Any:
        """The target's ``kind`` component named ``f"{name}-{role}"``, on the target's provider."""
        comp = self.target.component(kind)(f"{self.name}-{role}", args, self.opts)
        self.components.setdefault(kind, []).append(comp)
        return comp

    def k8s_opts(self, depends_on: Any = None) -> pulumi.ResourceOptions:
        """Options for the neutral Kubernetes layer: parented to the stack, on the built
        cluster's own Kubernetes provider."""
        cluster = self.get("cluster")
        if cluster is None:
            raise RuntimeError("the Kubernetes layer needs the cluster slot built first")
        return pulumi.ResourceOptions(parent=self.stack, providers={"kubernetes": cluster.k8s_provider}, depends_on=depends_on)


def _always(spec: MlopsSpec) -> bool:
    return True


@dataclass(frozen=True, kw_only=True)
class Slot:
    """One thing a stack may hold. See the module docstring for the patterns."""

    #: ``MlopsStack`` attribute and key in ``Build.built`` / ``Build.get``.
    key: str
    #: The target capability it needs (built only where the target offers it); None: neutral.
    kind: str | None
    #: How the args are built: ``(b) -> args``, or ``(b, entry, index) -> args`` with ``each``.
    args: Callable[..., Any]
    #: When the spec wants it (also: only when the target offers ``kind``).
    wanted: Callable[[MlopsSpec], bool] = _always
    #: One instance per ``(index, entry)`` it returns; None: one instance.
    each: Callable[[MlopsSpec], Iterable[tuple[int, Any]]] | None = None
    #: The child role (``f"{stack name}-{role}"``): a string, or ``entry -> str`` with ``each``.
    role: str | Callable[[Any], str] = ""
    #: How one instance is made: ``(b, role, args) -> value``; None: ``b.component(kind, role, args)``.
    create: Callable[[Build, str, Any], Any] | None = None
    #: The stack outputs it adds: ``(b, made) -> {output: value}``; mappings under one key merge.
    outputs: Callable[[Build, list[Made]], Mapping[str, Any]] | None = None

    def role_for(self, entry: Any) -> str:
        if callable(self.role):
            return self.role(entry)
        return self.role or self.key


# -- the built-in slots -------------------------------------------------------------------
# The Kubernetes layer (and pulumi_kubernetes with it) is imported inside the callables that
# build it, lazily: a stack without a cluster never loads it. Nothing below imports this module.


def _network(b: Build) -> Any:

    s = b.spec
    return NetworkArgs(env=b.env, cidr=str(s.network.cidr), zones=s.zone_count, nat_per_zone=s.nat_per_zone)


def _keys(b: Build) -> Any:

    k = b.spec.keys
    return KeysArgs(env=b.env, rotation_days=k.rotation_days, deletion_window_days=k.deletion_window_days, network=b.get("network"))


def _store(b: Build) -> Any:

    return ArtifactStoreArgs(env=b.env, storage=b.spec.storage, keys=b.get("keys"), network=b.get("network"))


def _registry(b: Build) -> Any:

    return ContainerRegistryArgs(env=b.env, registry=b.spec.container_registry, keys=b.get("keys"), network=b.get("network"))


def _model_registry(b: Build) -> Any:

    return ModelRegistryArgs(
        env=b.env,
        registry=b.spec.model_registry,
        keys=b.get("keys"),
        network=b.get("network"),
        store=b.get("store"),
        container_registry=b.get("registry"),
    )


def _cluster(b: Build) -> Any:

    s = b.spec
    return KubernetesClusterArgs(
        env=b.env,
        cluster=s.cluster,
        network=b.get("network"),
        keys=b.get("keys"),
        registry=b.get("registry"),
        cloud_options=getattr(s, s.cloud),
        gpu_driver=s.gpu.driver,
        model_registry=b.get("model_registry"),
    )


def _gpu_pool(b: Build, pool: Any, i: int) -> Any:

    s = b.spec
    return GpuNodePoolArgs(
        env=b.env, pool=pool, cluster=b.get("cluster"), gpu_driver=s.gpu.driver, mig_profile=mig.pool_partition(s.gpu.sharing, pool.gpu)
    )


def _k8s(b: Build) -> Any:

    s = b.spec
    return MonitoringArgs(
        env=b.env,
        monitoring=s.monitoring,
        gpu=s.gpu,
        namespaces=tuple(s.namespaces),
        gpu_pools=tuple(s.cluster.gpu_pools),
        cluster=b.get("cluster"),
    )


def _k8s_create(b: Build, role: str, args: Any) -> Any:
    # The cloud-independent layer on the cluster's own provider, after the GPU pools.
    from mlops_stack.k8s import k8s_layer  # lazy: the Kubernetes layer and its SDK, only for a stack with a cluster

    return k8s_layer(f"{b.name}-{role}", args, b.k8s_opts(depends_on=b.get("gpu_pools")))


def _endpoint(b: Build, ep: Any, i: int) -> Any:

    return ModelEndpointArgs(
        env=b.env,
        endpoint=ep,
        store=b.get("store"),
        keys=b.get("keys"),
        network=b.get("network"),
        model_registry=b.get("model_registry"),
        path=f"endpoints[{i}]",
        container_registry=b.get("registry"),
    )


def _one(*members: str) -> Callable[[Build, list[Made]], Mapping[str, Any]]:
    """Outputs: the named members of a one-instance slot's component."""
    return lambda b, made: {m: getattr(made[0].value, m) for m in members}


def _pool_outputs(b: Build, made: list[Made]) -> Mapping[str, Any]:
    members = ("pool_name", "instance_type", "gpu", "gpus_per_node", "min_nodes", "max_nodes")
    return {"gpu_pools": {m.entry.name: {k: getattr(m.value, k) for k in members} for m in made}}


def _k8s_outputs(b: Build, made: list[Made]) -> Mapping[str, Any]:
    monitoring = made[0].value.monitoring
    return {} if monitoring is None else {"grafana_url": monitoring.grafana_url, "prometheus_url": monitoring.prometheus_url}


def _endpoint_outputs(b: Build, made: list[Made]) -> Mapping[str, Any]:
    return {"endpoints": {m.entry.name: {"endpoint_name": m.value.endpoint_name, "invoke_url": m.value.invoke_url} for m in made}}


def _serving(b: Build) -> Any:
    # The args of the cluster-endpoints slot: the endpoints themselves (the identities and
    # ServingArgs are built in create, which needs the stack's builder).
    return tuple(b.spec.cluster_endpoints)


def _serving_create(b: Build, role: str, endpoints: Any) -> Any:
    from mlops_stack.k8s.serving import build_for_stack  # lazy: the Kubernetes layer and its SDK

    return build_for_stack(b, role, endpoints)


def _serving_outputs(b: Build, made: list[Made]) -> Mapping[str, Any]:
    return {"endpoints": made[0].value.endpoints}


def _tracking_wanted(mode: str) -> Callable[[MlopsSpec], bool]:
    return lambda s: s.tracking.enabled and s.tracking.mode == mode


def _tracking_server(b: Build) -> Any:

    s = b.spec
    return TrackingServerArgs(
        env=b.env,
        tracking=s.tracking,
        store=b.get("store"),
        keys=b.get("keys"),
        network=b.get("network"),
        model_registry=b.get("model_registry"),
        cloud_options=s.options,
    )


def _tracking_server_outputs(b: Build, made: list[Made]) -> Mapping[str, Any]:
    # ``mlflow_user_policy``: what a target offers to attach to MLflow users (if anything).
    server = made[0].value
    policy = getattr(server, "mlflow_user_policy", None)
    return {"mlflow_tracking_uri": server.mlflow_tracking_uri, **({"mlflow_user_policy": policy} if policy is not None else {})}


def _tracking_database(b: Build) -> Any:

    t = b.spec.tracking
    return PostgresDatabaseArgs(
        env=b.env,
        network=b.get("network"),
        keys=b.get("keys"),
        size=t.size,
        backup_retention_days=t.database.backup_retention_days,
        high_availability=t.database.high_availability,
        maintenance_window=t.maintenance_window,
        cluster=b.get("cluster"),
    )


def _tracking_identity(b: Build) -> Any:
    # The self-hosted server's cloud identity: read-write on mlflow/ of the tracking bucket.
    from mlops_stack.k8s.tracking import SERVICE_ACCOUNT  # lazy: the Kubernetes layer and its SDK

    return WorkloadIdentityArgs(
        env=b.env,
        name="mlflow",
        cluster=b.get("cluster"),
        namespace=TRACKING_NAMESPACE,
        service_account=SERVICE_ACCOUNT,
        store=b.get("store"),
        grants=(BucketGrant(bucket=b.spec.tracking.bucket, prefix=TRACKING_PREFIX, write=True),),
        keys=b.get("keys"),
    )


def _tracking_create(b: Build, role: str, args: Any) -> Any:
    # The workload identity (cloud), then the MLflow server on the cluster using it and the
    # database; after the monitoring layer (its ServiceMonitor needs the operator's CRDs).
    from mlops_stack.k8s.tracking import Tracking, TrackingArgs, artifacts_destination  # lazy: the Kubernetes layer and its SDK

    identity = b.component("WorkloadIdentity", f"{role}-identity", args)
    spec = b.spec
    k8s = b.get("k8s")
    monitoring = getattr(k8s, "monitoring", None)
    tracking_args = TrackingArgs(
        env=b.env,
        tracking=spec.tracking,
        database=b.get("tracking_database"),
        artifacts_destination=artifacts_destination(b.get("store"), spec.tracking.bucket, TRACKING_PREFIX),
        service_account_annotations=identity.service_account_annotations,
        pod_labels=identity.pod_labels,
        service_monitor=monitoring is not None,
        storage_class=getattr(b.get("cluster"), "storage_class", None),
    )
    return Tracking(f"{b.name}-{role}", tracking_args, b.k8s_opts(depends_on=[identity, *([monitoring] if monitoring is not None else [])]))



#: What ``MlopsStack`` builds, in dependency order (also the order of the stack outputs).
#: Network and Keys are never asked for: a target without them simply has none (its other
#: components run without a private network or a customer key).
SLOTS: tuple[Slot, ...] = (
    Slot(key="network", kind="Network", args=_network),
    Slot(key="keys", kind="Keys", args=_keys),
    Slot(
        key="store",
        kind="ArtifactStore",
        args=_store,
        outputs=_one("bucket_uris"),
    ),
    Slot(
        key="registry",
        kind="ContainerRegistry",
        args=_registry,
        outputs=_one("registry_url", "repository_urls"),
    ),
    Slot(
        key="model_registry",
        kind="ModelRegistry",
        role="models",
        wanted=lambda s: s.model_registry.enabled,
        args=_model_registry,
        outputs=_one("model_registry_id"),
    ),
    Slot(
        key="cluster",
        kind="KubernetesCluster",
        wanted=lambda s: s.cluster.enabled,
        args=_cluster,
        outputs=_one("cluster_name", "endpoint", "kubeconfig", "oidc_issuer"),
    ),
    Slot(
        key="gpu_pools",
        kind="GpuNodePool",
        wanted=lambda s: s.cluster.enabled,
        each=lambda s: enumerate(s.cluster.gpu_pools),
        role=lambda pool: f"gpu-{pool.name}",
        args=_gpu_pool,
        outputs=_pool_outputs,
    ),
    # The cloud-independent Kubernetes layer; left out in the first phase of a two-phase
    # first apply (docs/first-apply.md).
    Slot(
        key="k8s",
        kind=None,
        wanted=lambda s: s.cluster.enabled and s.cluster.in_cluster,
        args=_k8s,
        create=_k8s_create,
        outputs=_k8s_outputs,
    ),
    # Managed endpoints: the target's endpoint service (runsOn: managed, the default). Left
    # out while ``deployEndpoints`` is false: the first apply creates the bucket and the
    # registry they read from, the user uploads the artifact and pushes the image, and a
    # later apply adds the endpoints and changes nothing else (docs/first-apply.md).
    Slot(
        key="endpoints",
        kind="ModelEndpoint",
        wanted=lambda s: s.deploy_endpoints,
        each=lambda s: [(i, e) for i, e in enumerate(s.endpoints) if not e.on_cluster],
        role=lambda ep: f"endpoint-{ep.name}",
        args=_endpoint,
        outputs=_endpoint_outputs,
    ),
    # Cluster endpoints (runsOn: cluster): KServe in the Kubernetes layer, one WorkloadIdentity
    # per endpoint; they add to the same ``endpoints`` output (docs/serving.md).
    Slot(
        key="serving",
        kind="WorkloadIdentity",
        wanted=lambda s: bool(s.cluster_endpoints) and s.cluster.enabled and s.cluster.in_cluster,
        args=_serving,
        create=_serving_create,
        outputs=_serving_outputs,
    ),
    # MLflow (docs/tracking.md): the cloud's managed server, or the open-source one on the
    # cluster with its database (cloud layer, also in the first phase of a two-phase apply)
    # and its workload identity (with the in-cluster layer).
    Slot(
        key="tracking_server",
        kind="TrackingServer",
        role="tracking",
        wanted=_tracking_wanted("managed"),
        args=_tracking_server,
        outputs=_tracking_server_outputs,
    ),
    Slot(
        key="tracking_database",
        kind="PostgresDatabase",
        role="tracking-db",
        wanted=_tracking_wanted("self-hosted"),
        args=_tracking_database,
    ),
    Slot(
        key="tracking",
        kind="WorkloadIdentity",
        role="tracking",
        wanted=lambda s: _tracking_wanted("self-hosted")(s) and s.cluster.enabled and s.cluster.in_cluster,
        args=_tracking_identity,
        create=_tracking_create,
        outputs=_one("mlflow_tracking_uri"),
    ),
)

