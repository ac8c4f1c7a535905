"""Cloud-neutral component arguments and the small helpers every component uses.

Each capability's constructor is ``(name, args, opts=None)`` with one of the frozen,
keyword-only dataclasses below. A value that may come from another resource is an
``Input``; a sibling component (the network a cluster lives in, the key that encrypts
a bucket) is passed as the component itself, and the cloud implementation reads the
attributes it documents from it. Cloud-only knobs come in ``cloud_options``: the target's
own spec section model (``mlops_stack.<target>.options``), with the args class
parametrised by it (``KubernetesClusterArgs[AwsSpec]``), never as loose keyword arguments.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

import pulumi

# The taint and node labels every GPU pool carries, re-exported from mlops_stack.constants.
from mlops_stack.constants import GPU_LABEL, GPU_TAINT_EFFECT, GPU_TAINT_KEY, GPU_TAINT_VALUE, POOL_LABEL  # noqa: F401
from mlops_stack.spec import (
    ClusterSpec,
    ContainerRegistrySpec,
    EndpointSpec,
    EnvironmentDefaults,
    GpuPlatformSpec,
    GpuPoolSpec,
    MlopsSpec,
    ModelRegistrySpec,
    MonitoringSpec,
    NamespaceSpec,
    StorageSpec,
    TrackingSpec,
    bucket_for_env,
    check_prefix,  # the spec checks a cluster endpoint's model folder with it too
    endpoint_for_env,
)

from pydantic import BaseModel

from mlops_stack import catalog
from mlops_stack.contracts import (
    ArtifactStore,
    ClusterRef,
    ContainerRegistry,
    Keys,
    KubernetesCluster,
    ModelRegistry,
    Network,
    PostgresDatabase,
)
from mlops_stack.errors import ConfigError, did_you_mean, one_of



def gpu_pool_labels(pool_name: str, gpu: str, gpus_per_node: int, extra: Mapping[str, str] | None = None) -> dict[str, str]:
    return {
        **(extra or {}),
        POOL_LABEL: pool_name,
        GPU_LABEL: gpu,
        "mlops-stack/gpu-count": str(gpus_per_node),
        "mlops-stack/accelerator": "nvidia",
    }


#: Tag keys every resource carries (values per environment), before the user's tags.
MANAGED_BY = "mlops-stack"


@dataclass(frozen=True, kw_only=True)
class Env(EnvironmentDefaults):
    """Where and how a component is deployed: shared by every component of a stack."""

    name: str = "mlops"
    environment: str = "dev"
    region: str
    tags: Mapping[str, str] = field(default_factory=dict)
    #: Protect stateful resources and retain them on delete (default: prod).
    protect: bool | None = None
    #: Reject a GPU the catalog does not list for the region (spec ``regionCheck``).
    region_check: bool = True

    def __post_init__(self) -> None:
        # The same one-line errors as a stack file's, for a platform repo building args in Python.
        choices = ("dev", "staging", "prod")
        if self.environment not in choices:
            raise ConfigError(
                "Env.environment", f"must be one of {', '.join(choices)}", did_you_mean(self.environment, choices), value=self.environment
            )
        if not isinstance(self.region, str) or not self.region.strip():
            raise ConfigError("Env.region", "must be a region name", value=self.region)

    @classmethod
    def from_spec(cls, spec: MlopsSpec) -> Env:
        return cls(name=spec.name, environment=spec.environment, region=spec.region, tags=dict(spec.tags), protect=spec.protect,
            region_check=spec.region_check == "strict",
        )


#: The most tags/labels of our own any one resource carries: the three of ``resource_tags``
#: plus at most three extras (a data bucket's ``mlops-stack-bucket`` + ``mlops-stack-role``
#: + ``mlops-stack-replication``; a pool's ``mlops-stack-pool`` + ``mlops-stack-gpu``, ...). The clouds'
#: per-resource limits minus this is what a spec's ``tags`` may hold
#: (tests/test_bad_stacks.py checks it against every example plan).
MAX_OWN_TAGS = 6


def check_tag_count(tags: Mapping[str, str], limit: int, what: str) -> None:
    """``ConfigError`` on ``tags`` when, with ours added, a resource would carry more than ``limit``."""
    room = limit - MAX_OWN_TAGS
    if len(tags) > room:
        raise ConfigError(
            "tags",
            f"has {len(tags)} entries; {what} allow {limit} per resource and the stack adds up to {MAX_OWN_TAGS} of its own",
            f"keep at most {room}",
        )


def resource_tags(env: Env, **extra: str) -> dict[str, str]:
    """The tag/label map put on every taggable resource: ours, then the user's, then extras."""
    tags = {"environment": env.environment, "managed-by": MANAGED_BY, "mlops-stack-name": env.name}
    tags.update(env.tags)
    tags.update(extra)
    return tags


def child_opts(parent: pulumi.Resource, **kwargs: Any) -> pulumi.ResourceOptions:
    """Options for a component's child: parented to the component, plus any extras."""
    return pulumi.ResourceOptions(parent=parent, **kwargs)


def stateful_opts(parent: pulumi.Resource, env: Env, **kwargs: Any) -> pulumi.ResourceOptions:
    """Options for a resource whose deletion loses data: protected and retained in prod."""
    keep = env.protect_stateful
    return pulumi.ResourceOptions(parent=parent, protect=keep, retain_on_delete=keep, **kwargs)


def merge_opts(opts: pulumi.ResourceOptions | None, **defaults: Any) -> pulumi.ResourceOptions:
    """The caller's options merged over ours (never replaced)."""
    return pulumi.ResourceOptions.merge(pulumi.ResourceOptions(**defaults), opts)


# ---------------------------------------------------------------------------------


@dataclass(frozen=True, kw_only=True)
class NetworkArgs:
    env: Env
    cidr: str = "10.0.0.0/16"
    zones: int = 2
    nat_per_zone: bool = False


@dataclass(frozen=True, kw_only=True)
class KeysArgs:
    env: Env
    rotation_days: int = 365
    deletion_window_days: int = 30
    #: The Network component (Azure puts the key vault's private endpoint in it).
    network: Network | None = None


@dataclass(frozen=True, kw_only=True)
class ArtifactStoreArgs:
    env: Env
    storage: StorageSpec = field(default_factory=StorageSpec)
    #: The Keys component of the same cloud (``None``: AWS and GCP create one for the store).
    keys: Keys | None = None
    network: Network | None = None

    def __post_init__(self) -> None:
        for i, bucket in enumerate(self.storage.buckets):
            bucket_for_env(self.env.is_prod, bucket, f"ArtifactStoreArgs.storage.buckets[{i}]")


@dataclass(frozen=True, kw_only=True)
class ContainerRegistryArgs:
    env: Env
    registry: ContainerRegistrySpec = field(default_factory=ContainerRegistrySpec)
    keys: Keys | None = None
    network: Network | None = None


@dataclass(frozen=True, kw_only=True)
class ModelRegistryArgs:
    env: Env
    registry: ModelRegistrySpec = field(default_factory=ModelRegistrySpec)
    keys: Keys | None = None
    network: Network | None = None
    #: Azure ML's workspace is wired to the store and the container registry.
    store: ArtifactStore | None = None
    container_registry: ContainerRegistry | None = None


#: A target's own options model (its spec section, ``mlops_stack.<target>.options``).
TargetOptions = TypeVar("TargetOptions", bound=BaseModel)


def target_options(value: BaseModel | None, model: type[TargetOptions], key: str) -> TargetOptions:
    """``value`` as ``model`` (its defaults when None); another target's options (or anything
    else) is a ``ConfigError`` on ``key``, never silently ignored."""
    if value is None:
        return model()
    if not isinstance(value, model):
        raise ConfigError(key, f"must be {model.__module__}.{model.__name__} (this target's own options)", value=type(value).__name__)
    return value


@dataclass(frozen=True, kw_only=True)
class KubernetesClusterArgs(Generic[TargetOptions]):
    env: Env
    cluster: ClusterSpec = field(default_factory=ClusterSpec)
    network: Network
    keys: Keys | None = None
    #: The container registry the nodes pull from (AKS grants AcrPull on it).
    registry: ContainerRegistry | None = None
    #: The target's own spec section (``spec.<target>``): each target's cluster takes
    #: ``KubernetesClusterArgs[<its options>]`` (``AwsSpec``, ``GcpSpec``, ``AzureSpec``) and
    #: rejects another target's options with a ``ConfigError``.
    cloud_options: TargetOptions | None = None
    #: ``gpu.driver``: "cloud" (the node image's driver) or "operator" (the GPU Operator's).
    gpu_driver: str = "cloud"
    #: The ModelRegistry component of the same cloud, if the stack has one (Azure sends
    #: Container Insights to its Log Analytics workspace; other clouds ignore it).
    model_registry: ModelRegistry | None = None


@dataclass(frozen=True, kw_only=True)
class GpuNodePoolArgs:
    env: Env
    pool: GpuPoolSpec
    #: The cluster component of the same cloud, or that cloud's ``ExistingCluster`` handle.
    cluster: KubernetesCluster | ClusterRef
    gpu_driver: str = "cloud"
    #: The MIG partition every GPU of the pool is cut into (``1g.10gb``: ``gpu.sharing.migProfile``
    #: without ``all-``), or None. Set only for MIG-capable GPUs (``catalog.mig``).
    mig_profile: str | None = None


def pool_offer(cloud: str, args: GpuNodePoolArgs) -> tuple[Any, Any]:
    """``(catalog offer, cluster name)`` for a GPU pool on ``cloud``: the pool's GPU x count
    resolved in the catalog, and the name of the cluster it joins (a cluster component's
    ``cluster_name`` or an ``ExistingCluster``'s ``name``)."""
    pool, env = args.pool, args.env
    offer = catalog.resolve_gpu(cloud, pool.gpu, pool.gpus_per_node, "nodepool", env.region, "pool.gpu", check_region=env.region_check)
    cluster = args.cluster
    return offer, getattr(cluster, "cluster_name", None) or cluster.name


@dataclass(frozen=True, kw_only=True)
class ModelEndpointArgs:
    env: Env
    endpoint: EndpointSpec
    #: The ArtifactStore holding ``endpoint.model.artifact``.
    store: ArtifactStore
    keys: Keys | None = None
    network: Network | None = None
    model_registry: ModelRegistry | None = None
    #: The stack's ContainerRegistry: an endpoint image in it is ordered after its
    #: repository (and checked to exist before the model upload, where the cloud can).
    container_registry: ContainerRegistry | None = None
    #: The key path of this endpoint in error messages (``endpoints[0]`` inside MlopsStack).
    path: str = "endpoint"

    def __post_init__(self) -> None:
        endpoint_for_env(self.env.is_prod, self.endpoint, "ModelEndpointArgs.endpoint")


@dataclass(frozen=True, kw_only=True)
class MonitoringArgs:
    env: Env
    monitoring: MonitoringSpec = field(default_factory=MonitoringSpec)
    gpu: GpuPlatformSpec = field(default_factory=GpuPlatformSpec)
    namespaces: Sequence[NamespaceSpec] = ()
    gpu_pools: Sequence[GpuPoolSpec] = ()
    cluster: KubernetesCluster | None = None


#: A Kubernetes namespace or ServiceAccount name this stack binds an identity to: a
#: DNS-1123 label (lower-case alphanumerics and '-', alphanumeric at both ends, <= 63).
_DNS_LABEL = re.compile(r"[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?")


def check_dns_label(value: object, path: str) -> None:
    """``ConfigError`` at ``path`` unless ``value`` is a DNS-1123 label."""
    if not isinstance(value, str) or not _DNS_LABEL.fullmatch(value):
        raise ConfigError(
            path, "is not a DNS-1123 label", "lower-case letters, digits and '-', starting and ending with a letter or digit, at most 63", value=value
        )


@dataclass(frozen=True, kw_only=True)
class BucketGrant:
    """One bucket prefix a workload identity may use: read (get + list) or read-write."""

    #: The spec's logical bucket name (a key of the store's ``bucket_names``).
    bucket: str
    #: An object-name prefix: no leading '/', ends with '/' (``runs/``, ``models/scorer/``).
    prefix: str
    write: bool = False
    #: The workload checks that the bucket exists before it lists the prefix (KServe's
    #: storage initializer does). Where the cloud authorises that check as a listing that
    #: names no prefix (S3 HeadBucket is ``s3:ListBucket`` without ``s3:prefix``), the
    #: identity may then also list the bucket's object names outside the prefix (names,
    #: never content); GCS and Blob need nothing more. Off: the check is refused.
    bucket_check: bool = False

    def __post_init__(self) -> None:
        check_prefix(self.prefix, "BucketGrant.prefix")
        if not isinstance(self.bucket_check, bool):
            raise ConfigError("BucketGrant.bucket_check", "must be a boolean", value=self.bucket_check)


@dataclass(frozen=True, kw_only=True)
class WorkloadIdentityArgs:
    """A cloud identity for one Kubernetes ServiceAccount (``namespace``/``service_account``,
    created by the caller), allowed exactly ``grants`` and no static key."""

    env: Env
    #: The component's name, for the cloud names derived from it.
    name: str
    #: The cluster whose OIDC issuer (AWS, Azure) or workload pool (GCP) is trusted.
    cluster: KubernetesCluster
    namespace: str
    service_account: str
    #: The store holding the granted buckets.
    store: ArtifactStore
    grants: tuple[BucketGrant, ...]
    #: The stack's Keys component (AWS needs it: the buckets are SSE-KMS encrypted).
    keys: Keys | None = None

    def __post_init__(self) -> None:
        check_dns_label(self.namespace, "WorkloadIdentityArgs.namespace")
        check_dns_label(self.service_account, "WorkloadIdentityArgs.service_account")
        if not self.grants:
            raise ConfigError("WorkloadIdentityArgs.grants", "is empty", "an identity with no bucket prefix has nothing to do")
        known = list(self.store.bucket_names)
        for i, grant in enumerate(self.grants):
            if not isinstance(grant, BucketGrant):
                raise ConfigError(f"WorkloadIdentityArgs.grants[{i}]", "must be a BucketGrant", value=grant)
            if grant.bucket not in known:
                raise ConfigError(
                    f"WorkloadIdentityArgs.grants[{i}].bucket",
                    f"is not a bucket of the store ({', '.join(known) or 'none'})",
                    did_you_mean(grant.bucket, known),
                    value=grant.bucket,
                )
            check_prefix(grant.prefix, f"WorkloadIdentityArgs.grants[{i}].prefix")
        seen = {(g.bucket, g.prefix) for g in self.grants}
        if len(seen) != len(self.grants):
            raise ConfigError("WorkloadIdentityArgs.grants", "lists the same bucket and prefix twice", "merge them into one grant, write=True if either writes")


@dataclass(frozen=True, kw_only=True)
class TrackingServerArgs:
    """A managed MLflow tracking server (``tracking.mode: managed``)."""

    env: Env
    tracking: TrackingSpec
    #: The ArtifactStore holding ``tracking.bucket``; artifacts go under ``spec.TRACKING_PREFIX``.
    store: ArtifactStore
    keys: Keys | None = None
    network: Network | None = None
    #: The ModelRegistry component of the same cloud (Azure: its workspace is the tracking server).
    model_registry: ModelRegistry | None = None
    #: The target's own spec section (``spec.<cloud>``), read by that target only (Azure:
    #: ``trackingGroupObjectIds``).
    cloud_options: BaseModel | None = None

    def __post_init__(self) -> None:
        tracking_bucket_in_store(self.tracking, self.store, "TrackingServerArgs.tracking.bucket")


def tracking_bucket_in_store(tracking: TrackingSpec, store: Any, path: str) -> None:
    """``ConfigError`` on ``path`` when the store has no bucket ``tracking.bucket``."""
    names = list(getattr(store, "bucket_names", None) or {})
    if names and tracking.bucket not in names:
        raise ConfigError(path, "is not a bucket of the store", did_you_mean(tracking.bucket, names) or f"buckets: {one_of(names)}", value=tracking.bucket)


#: Database tiers per tracking size: CPU, memory GiB and storage GiB the targets map to
#: their own instance classes (``<target>/database.py``).
DATABASE_STORAGE_GB = {"small": 32, "medium": 64, "large": 128}


@dataclass(frozen=True, kw_only=True)
class PostgresDatabaseArgs:
    """A managed PostgreSQL server on the stack's private network (the self-hosted tracking
    server's backend store): private only, encrypted with the stack key, automated backups,
    deletion protection in prod, a generated password that stays secret."""

    env: Env
    network: Network
    keys: Keys | None = None
    #: small, medium or large (``tracking.size``).
    size: str = "small"
    #: Databases to create on the server; the first is the main one.
    databases: tuple[str, ...] = ("mlflow",)
    username: str = "mlflow"
    backup_retention_days: int = 7
    #: A standby in a second zone (None: prod only).
    high_availability: bool | None = None
    #: Weekly maintenance window start, ``Sun:03:00`` (UTC).
    maintenance_window: str = "Sun:03:00"
    #: The cluster whose nodes connect (AWS admits the VPC range; the others are private by network).
    cluster: KubernetesCluster | None = None

    def __post_init__(self) -> None:
        if self.size not in DATABASE_STORAGE_GB:
            raise ConfigError("PostgresDatabaseArgs.size", f"must be one of {', '.join(DATABASE_STORAGE_GB)}", value=self.size)
        if not self.databases:
            raise ConfigError("PostgresDatabaseArgs.databases", "needs at least one database")

    @property
    def ha(self) -> bool:
        return self.env.is_prod if self.high_availability is None else self.high_availability

    @property
    def storage_gb(self) -> int:
        return DATABASE_STORAGE_GB[self.size]
