"""The cloud-neutral spec: what a platform team writes, once, for any cloud.

It is Pulumi structured config under the ``mlops-stack`` namespace
(``mlops-stack:cloud``, ``mlops-stack:cluster``, ...), camelCase keys, parsed once into
the frozen pydantic models below. ``load_spec`` checks the shape (types, ranges,
unknown keys) and then every cross-field rule (``validate``), so a bad spec raises a
single ``ConfigError`` naming the key path before any resource is registered.

No provider SDK is imported here.
"""

from __future__ import annotations

import ipaddress
import json
import re
from collections import Counter
from collections.abc import Iterable, Mapping
from datetime import UTC, date, datetime
from typing import TYPE_CHECKING, Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, ValidationError
from pydantic.alias_generators import to_camel

from mlops_stack import catalog
from mlops_stack.errors import ConfigError, did_you_mean, one_of

Cloud = Literal["aws", "gcp", "azure"]
Environment = Literal["dev", "staging", "prod"]
Size = Literal["small", "medium", "large"]

#: A short DNS-label-like name: lower case letters, digits and dashes.
Name = Annotated[str, StringConstraints(pattern=r"^[a-z](?:[a-z0-9-]{0,30}[a-z0-9])?$")]
#: Tag/label keys and values are held to the strictest cloud's rules (GCP labels), so a
#: spec written for one cloud ports to the others unchanged.
TagKey = Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9_-]{0,62}$")]
TagValue = Annotated[str, StringConstraints(pattern=r"^[a-z0-9_-]{0,63}$")]

#: Namespaces the platform itself uses; a team namespace cannot take these names.
RESERVED_NAMESPACES = frozenset(
    {"monitoring", "nvidia-device-plugin", "gpu-operator", "default", "kube-system", "kube-public", "kube-node-lease"}
)

#: GPUs that support Multi-Instance GPU partitioning.
MIG_CAPABLE = frozenset({"nvidia-a100-40gb", "nvidia-a100-80gb", "nvidia-h100", "nvidia-h100-nvl", "nvidia-h200", "nvidia-b200"})


class _Model(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        frozen=True,
        alias_generator=to_camel,
        populate_by_name=True,
        validate_default=True,
    )


# ---------------------------------------------------------------------------------
# Cloud-only knobs: explicit optional sub-specs, ignored on the other clouds.


class AwsSpec(_Model):
    """AWS-only settings (``mlops-stack:aws``)."""

    cluster_admin_arns: list[Annotated[str, StringConstraints(pattern=r"^arn:aws[a-z-]*:iam::\d{12}:(role|user)/.+$")]] = Field(
        default_factory=list,
        description="IAM role/user ARNs given cluster-admin through EKS access entries.",
    )
    runner_security_group_ids: list[Annotated[str, StringConstraints(pattern=r"^sg-[0-9a-f]{8,17}$")]] = Field(
        default_factory=list,
        description="Security groups of the deploy runner (in this VPC or a peered one): admitted on 443 to the EKS cluster security group. See docs/first-apply.md.",
    )


class GcpSpec(_Model):
    """GCP-only settings (``mlops-stack:gcp``)."""

    project: Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9-]{4,28}[a-z0-9]$")] | None = Field(
        default=None, description="The GCP project ID (required when cloud is gcp)."
    )
    zone: str | None = Field(default=None, description="Zone of the zonal (non-prod) cluster; default: the region's first zone.")
    rbac_security_group: Annotated[str, StringConstraints(pattern=r"^gke-security-groups@[a-z0-9][a-z0-9.-]*\.[a-z]{2,}$")] | None = Field(
        default=None,
        description="Google Groups for RBAC: the organisation's gke-security-groups@<domain> group; RBAC bindings may then name its member groups. Unset: off.",
    )


class AzureSpec(_Model):
    """Azure-only settings (``mlops-stack:azure``)."""

    subscription_id: str | None = Field(default=None, description="Subscription ID; default: the provider's.")
    tenant_id: str | None = Field(default=None, description="Entra tenant ID; default: the provider's.")
    resource_group_name: str | None = Field(default=None, description="Existing resource group to use instead of creating one.")
    admin_group_object_ids: list[str] = Field(default_factory=list, description="Entra group object IDs that administer the AKS cluster.")
    defender_for_containers: bool = Field(
        default=False,
        description="Turn on Microsoft Defender for Containers for the whole subscription (ACR image scanning, AKS runtime "
        "protection; billed per vCore). Off: leave it to the subscription's security baseline.",
    )


# ---------------------------------------------------------------------------------
# The capabilities.


class NetworkSpec(_Model):
    """The VPC / VNet the environment lives in."""

    cidr: ipaddress.IPv4Network = Field(default=ipaddress.IPv4Network("10.0.0.0/16"), description="VPC/VNet address range (/16 to /20).")
    zones: int | None = Field(default=None, ge=2, le=6, description="Availability zones to span; default 2, 3 in prod.")
    nat: Literal["single", "per-zone"] | None = Field(default=None, description="NAT gateways: one, or one per zone; default single, per-zone in prod.")


class KeysSpec(_Model):
    """The customer-managed encryption key."""

    rotation_days: int = Field(default=365, ge=90, le=2560, description="Automatic key rotation period in days (GCP caps it at 90).")
    deletion_window_days: int = Field(default=30, ge=7, le=30, description="Days a scheduled key deletion can still be cancelled.")


class BucketSpec(_Model):
    """One bucket (S3 bucket, GCS bucket or Blob container)."""

    name: Name = Field(description="Logical bucket name, e.g. artifacts, models, datasets.")
    versioning: bool = Field(default=True, description="Keep object versions (always on in prod).")
    noncurrent_version_expiration_days: int | None = Field(default=90, ge=1, description="Delete non-current versions after N days; null keeps them.")
    expiration_days: int | None = Field(default=None, ge=1, description="Delete current objects after N days; null keeps them.")
    size_gb: float = Field(default=0, ge=0, description="Expected stored size, used only by the cost estimate.")


def _default_buckets() -> list[BucketSpec]:
    return [BucketSpec(name="artifacts"), BucketSpec(name="models")]


class StorageSpec(_Model):
    """Object storage."""

    buckets: list[BucketSpec] = Field(default_factory=_default_buckets, min_length=1, description="Buckets/containers to create.")
    access_logs: bool = Field(default=True, description="Log bucket access to a separate log bucket.")
    log_retention_days: int = Field(default=365, ge=1, description="Days access logs are kept.")
    soft_delete_days: int = Field(default=7, ge=1, le=90, description="GCS soft-delete / Azure blob soft-delete retention.")


class ContainerRegistrySpec(_Model):
    """Container image repositories (ECR, Artifact Registry, ACR)."""

    repositories: list[Name] = Field(default_factory=lambda: ["training", "serving"], description="Repositories to create.")
    untagged_expiry_days: int = Field(default=14, ge=1, description="Expire untagged images after N days.")
    immutable_tags: bool = Field(default=True, description="Forbid overwriting an existing tag.")


class ModelRegistrySpec(_Model):
    """Where model versions are registered."""

    enabled: bool = Field(default=True, description="Create the model registry.")
    name: Name = Field(default="models", description="Model package group / registry name.")
    description: str = Field(default="Models registered by mlops-stack", max_length=1000, description="Registry description.")


class SystemPoolSpec(_Model):
    """The on-demand system node pool."""

    size: Size = Field(default="medium", description="Node size: small, medium or large (see the catalog per cloud).")
    min_nodes: int = Field(default=2, ge=1, le=100, description="Minimum nodes.")
    max_nodes: int = Field(default=4, ge=1, le=100, description="Maximum nodes.")
    disk_gb: int = Field(default=50, ge=20, le=2048, description="Root volume size, GiB.")


class GpuPoolSpec(_Model):
    """A GPU node pool."""

    name: Name = Field(description="Pool name (also the mlops-stack/pool node label).")
    gpu: str = Field(description="Cloud-neutral GPU name, e.g. nvidia-l4, nvidia-a10g, nvidia-h100.")
    gpus_per_node: int = Field(default=1, ge=1, le=16, description="GPUs per node; the catalog maps GPU x count to an instance type.")
    min_nodes: int = Field(default=0, ge=0, le=1000, description="Nodes kept running (0 scales to zero).")
    max_nodes: int = Field(ge=1, le=1000, description="Upper bound the autoscaler may reach.")
    spot: bool = Field(default=False, description="Spot/preemptible capacity.")
    disk_gb: int = Field(default=200, ge=20, le=16384, description="Root volume size, GiB (encrypted with the stack key).")
    labels: dict[TagKey, TagValue] = Field(default_factory=dict, description="Extra Kubernetes node labels.")


class ClusterSpec(_Model):
    """The managed Kubernetes cluster (EKS, GKE, AKS)."""

    enabled: bool = Field(default=True, description="Create the cluster (and everything in it).")
    version: Annotated[str, StringConstraints(pattern=r"^1\.\d{2}$")] = Field(
        default=catalog.DEFAULT_KUBERNETES_VERSION,
        description="Kubernetes minor version; must be in standard support on the chosen cloud on the day of the plan (catalog/data/kubernetes_versions.csv).",
    )
    public_access_cidrs: list[ipaddress.IPv4Network] = Field(
        default_factory=list, description="CIDRs allowed to reach the API server; empty = private endpoint only."
    )
    system_pool: SystemPoolSpec = Field(default_factory=SystemPoolSpec, description="The on-demand pool for system workloads.")
    gpu_pools: list[GpuPoolSpec] = Field(default_factory=list, description="GPU node pools (tainted nvidia.com/gpu=true:NoSchedule).")
    runner_cidrs: list[ipaddress.IPv4Network] = Field(
        default_factory=list,
        description="Private CIDRs of the runner that applies the stack (self-hosted, in a network peered or connected to the VPC): admitted to the private API endpoint (EKS cluster security group on 443, GKE authorized networks). See docs/first-apply.md.",
    )
    in_cluster: bool = Field(
        default=True,
        description="Deploy the in-cluster layer (autoscaler, GPU plugin, monitoring, namespaces). false: the cloud layer only, the first phase of a two-phase first apply of a private cluster (docs/first-apply.md).",
    )


class ArtifactRef(_Model):
    """A model artifact in one of the stack's buckets."""

    bucket: Name = Field(description="A bucket name from storage.buckets.")
    key: Annotated[str, StringConstraints(pattern=r"^[^/].*[^/]$|^[^/]$")] = Field(description="Object key (or prefix) of the model artifact.")


class FrameworkSpec(_Model):
    """A serving framework whose image is resolved for the region (AWS)."""

    name: str = Field(description="Framework, e.g. pytorch, huggingface-llm, djl-lmi, xgboost, sklearn.")
    version: str = Field(description="Framework version, e.g. 2.3.")
    py_version: str | None = Field(default=None, description="Python version tag where the framework needs one, e.g. py311.")


class ModelSpec(_Model):
    """What an endpoint serves."""

    artifact: ArtifactRef = Field(description="Where the model artifact is stored.")
    image: str | None = Field(default=None, description="Serving container image URI (or set framework).")
    framework: FrameworkSpec | None = Field(default=None, description="Framework image to resolve instead of image (AWS).")
    environment: dict[Annotated[str, StringConstraints(pattern=r"^[A-Za-z_][A-Za-z0-9_]*$")], str] = Field(
        default_factory=dict, description="Environment variables of the serving container."
    )


class DataCaptureSpec(_Model):
    """Capturing endpoint requests and responses for monitoring and retraining."""

    enabled: bool = Field(default=False, description="Capture requests and responses.")
    sampling_percent: int = Field(default=100, ge=1, le=100, description="Share of requests captured.")
    bucket: Name = Field(default="artifacts", description="Bucket (from storage.buckets) that receives captured requests.")


class AutoscalingSpec(_Model):
    """Endpoint autoscaling targets."""

    invocations_per_instance: int = Field(default=100, ge=1, description="Target invocations per instance per minute (SageMaker).")
    utilization_percent: int = Field(default=70, ge=10, le=100, description="Target accelerator/CPU utilisation (Vertex AI, Azure ML).")


class SampleRequestSpec(_Model):
    """One request the post-apply smoke test (`mlops-stack smoke`) sends; it expects a 2xx."""

    content_type: str = Field(default="application/json", description="Content-Type of the request, e.g. application/json or text/csv.")
    body: str | dict[str, Any] | list[Any] = Field(description="Request body: text is sent as is, a mapping or list as JSON.")
    accept: str | None = Field(default=None, description="Accept header; default: the container's own.")


class EndpointSpec(_Model):
    """A managed model endpoint."""

    name: Name = Field(description="Endpoint name (the physical name is <name>-<environment>-<endpoint>).")
    model: ModelSpec = Field(description="The model to serve.")
    gpu: str | None = Field(default=None, description="Cloud-neutral GPU name; or set cpuSize.")
    gpus_per_instance: int = Field(default=1, ge=1, le=16, description="GPUs per instance (with gpu).")
    cpu_size: Size | None = Field(default=None, description="CPU instance size when no GPU is used.")
    min_instances: int = Field(default=1, ge=1, le=100, description="Instances kept running (at least 2 in prod).")
    max_instances: int = Field(default=1, ge=1, le=100, description="Upper bound for autoscaling.")
    autoscaling: AutoscalingSpec = Field(default_factory=AutoscalingSpec, description="Autoscaling targets.")
    data_capture: DataCaptureSpec = Field(default_factory=DataCaptureSpec, description="Request/response capture.")
    private: bool = Field(default=True, description="Reachable only from the private network where the cloud supports it.")
    auth: Literal["key", "token"] = Field(default="token", description="Azure ML endpoint auth mode.")
    sample_request: SampleRequestSpec | None = Field(
        default=None, description="Request sent by `mlops-stack smoke` after apply; default: one per framework where one makes sense."
    )


class MonitoringSpec(_Model):
    """kube-prometheus-stack, the DCGM exporter, dashboards and alerts."""

    enabled: bool = Field(default=True, description="Install monitoring in the cluster.")
    retention_days: int = Field(default=15, ge=1, le=3650, description="Prometheus retention in days.")
    storage_gb: int = Field(default=50, ge=1, le=16384, description="Prometheus persistent volume size, GiB.")
    gpu_metrics: bool = Field(default=True, description="DCGM exporter, GPU dashboards and alerts.")
    grafana_public: bool = Field(default=False, description="Expose Grafana through a public load balancer.")


class GpuSharingSpec(_Model):
    """Sharing one physical GPU between pods."""

    mode: Literal["none", "time-slicing", "mig"] = Field(default="none", description="none, time-slicing or mig.")
    replicas: int = Field(default=4, ge=2, le=48, description="Time-slicing replicas per GPU.")
    mig_profile: str | None = Field(default=None, description="MIG strategy profile, e.g. all-1g.10gb.")


class GpuPlatformSpec(_Model):
    """GPU enablement in the cluster."""

    driver: Literal["cloud", "operator"] = Field(
        default="cloud", description="cloud: the node image's driver + the device plugin; operator: the NVIDIA GPU Operator."
    )
    sharing: GpuSharingSpec = Field(default_factory=GpuSharingSpec, description="GPU sharing (time-slicing or MIG).")


class NamespaceSpec(_Model):
    """A namespace for an ML team."""

    name: Name = Field(description="Namespace name.")
    gpu_quota: int = Field(default=0, ge=0, le=10000, description="Max GPUs requested in the namespace.")
    cpu_quota: int = Field(default=64, ge=1, description="Max CPU cores requested.")
    memory_quota_gb: int = Field(default=256, ge=1, description="Max memory requested, GiB.")


class EnvironmentDefaults:
    """The defaults that depend on the environment, in one place (the spec and the
    components' ``Env`` both derive them from ``name``, ``environment`` and ``protect``)."""

    if TYPE_CHECKING:  # provided by the class that mixes this in (not pydantic fields here)
        name: str
        environment: str
        protect: bool | None

    @property
    def is_prod(self) -> bool:
        return self.environment == "prod"

    @property
    def protect_stateful(self) -> bool:
        """Protect and retain stateful resources: the spec's ``protect``, else prod only."""
        return self.is_prod if self.protect is None else self.protect

    @property
    def prefix(self) -> str:
        """``<name>-<environment>``: the start of every physical name."""
        return f"{self.name}-{self.environment}"


class MlopsSpec(_Model, EnvironmentDefaults):
    """The whole environment. Every key is documented in docs/spec.md."""

    cloud: Cloud = Field(description="Which cloud: aws, gcp or azure.")
    region: str = Field(description="AWS region, GCP region or Azure location.")
    environment: Environment = Field(default="dev", description="dev, staging or prod: prod turns on the safer defaults (3 zones, NAT per zone, protection).")
    name: Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9-]{0,14}[a-z0-9]$")] = Field(
        default="mlops", description="Short prefix of every physical name."
    )
    tags: dict[TagKey, TagValue] = Field(default_factory=dict, description="Tags (AWS, Azure) / labels (GCP) on everything.")
    protect: bool | None = Field(default=None, description="Protect + retain stateful resources; default: true in prod.")
    region_check: Literal["strict", "off"] = Field(
        default="strict", description="Reject a GPU the catalog does not list for the region; 'off' when the catalog lags the cloud."
    )
    aws: AwsSpec = Field(default_factory=AwsSpec, description="AWS-only settings; ignored on other clouds.")
    gcp: GcpSpec = Field(default_factory=GcpSpec, description="GCP-only settings; ignored on other clouds.")
    azure: AzureSpec = Field(default_factory=AzureSpec, description="Azure-only settings; ignored on other clouds.")
    network: NetworkSpec = Field(default_factory=NetworkSpec, description="The VPC / VNet.")
    keys: KeysSpec = Field(default_factory=KeysSpec, description="The customer-managed key that encrypts everything that can be encrypted.")
    storage: StorageSpec = Field(default_factory=StorageSpec, description="Object storage buckets (S3, GCS, Blob containers).")
    container_registry: ContainerRegistrySpec = Field(default_factory=ContainerRegistrySpec, description="Container image repositories.")
    model_registry: ModelRegistrySpec = Field(default_factory=ModelRegistrySpec, description="SageMaker model package group / Vertex AI Model Registry / Azure ML registry.")
    cluster: ClusterSpec = Field(default_factory=ClusterSpec, description="The Kubernetes cluster and its node pools.")
    endpoints: list[EndpointSpec] = Field(default_factory=list, description="Managed model endpoints (SageMaker, Vertex AI, Azure ML).")
    monitoring: MonitoringSpec = Field(default_factory=MonitoringSpec, description="Prometheus, Grafana and GPU metrics in the cluster.")
    gpu: GpuPlatformSpec = Field(default_factory=GpuPlatformSpec, description="How GPUs are enabled and shared in the cluster.")
    namespaces: list[NamespaceSpec] = Field(default_factory=list, description="Namespaces for ML teams, with GPU quotas and default-deny networking.")

    @property
    def zone_count(self) -> int:
        return self.network.zones or (3 if self.is_prod else 2)

    @property
    def nat_per_zone(self) -> bool:
        return (self.network.nat or ("per-zone" if self.is_prod else "single")) == "per-zone"

    def bucket(self, name: str) -> BucketSpec:
        return next(b for b in self.storage.buckets if b.name == name)


#: The config keys under the ``mlops-stack`` namespace.
TOP_LEVEL_KEYS = tuple(f.alias or n for n, f in MlopsSpec.model_fields.items())


# ---------------------------------------------------------------------------------
# Parsing: pydantic errors -> one ConfigError with a key path.


def _format_path(loc: Iterable[Any]) -> str:
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += ("." if out else "") + str(part)
    return out or "(spec)"


def _model_at(loc: tuple[Any, ...]) -> type[BaseModel] | None:
    """The model class that holds the last element of ``loc`` (for key suggestions)."""
    model: Any = MlopsSpec
    for part in loc[:-1]:
        if isinstance(part, int):
            continue
        fields = {f.alias or n: f for n, f in model.model_fields.items()}
        field = fields.get(str(part))
        if field is None:
            return None
        model = _inner_model(field.annotation)
        if model is None:
            return None
    return model


def _inner_model(annotation: Any) -> type[BaseModel] | None:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    for arg in getattr(annotation, "__args__", ()) or ():
        found = _inner_model(arg)
        if found is not None:
            return found
    return None


def _from_pydantic(err: ValidationError) -> ConfigError:
    found = _first_error(err)
    found.more = err.error_count() - 1
    return found


def _first_error(err: ValidationError) -> ConfigError:
    errors = err.errors(include_url=False)
    # A misspelt key also makes the real key "missing": report the misspelling first.
    first = next((e for e in errors if e["type"] == "extra_forbidden"), errors[0])
    loc = tuple(first["loc"])
    kind = first["type"]
    # Dict-key errors come with a trailing "[key]" marker in the loc.
    if loc and loc[-1] == "[key]":
        # Dict-key errors: the loc ends with the key itself and a "[key]" marker.
        path = _format_path(loc[:-1])
        pattern = str(first.get("ctx", {}).get("pattern", ""))
        if "a-z0-9_-" in pattern:
            reason = "is not an allowed key: lower-case letters, digits, '_' and '-', up to 63 characters (GCP label rules, used on every cloud)"
        else:
            reason = f"is not an allowed key: {first['msg'][0].lower()}{first['msg'][1:]}"
        return ConfigError(path, reason)
    path = _format_path(loc)
    if kind == "extra_forbidden":
        model = _model_at(loc)
        known = [f.alias or n for n, f in model.model_fields.items()] if model else []
        hint = did_you_mean(str(loc[-1]), known) or (f"known keys: {one_of(known)}" if known else None)
        return ConfigError(path, "is not a known key", hint)
    if kind == "missing":
        return ConfigError(path, "is required")
    if kind in ("literal_error", "enum"):
        expected = first.get("ctx", {}).get("expected", "")
        choices = re.findall(r"'([^']*)'", expected)
        return ConfigError(
            path, f"must be one of {', '.join(choices)}", did_you_mean(first["input"], choices), value=first["input"]
        )
    if kind == "string_pattern_mismatch":
        pattern = str(first.get("ctx", {}).get("pattern", ""))
        if "a-z0-9-" in pattern:
            # The longest name the pattern admits: the {0,N} run plus its first and last character.
            run = re.search(r"\{0,(\d+)\}", pattern)
            longest = f"1-{int(run.group(1)) + 2} " if run else ""
            reason = f"must be {longest}lower-case letters, digits and dashes, starting with a letter and not ending with a dash"
            return ConfigError(path, reason, value=first["input"])
        return ConfigError(path, f"does not match the pattern {pattern}", value=first["input"])
    msg = first["msg"]
    msg = "s" + msg[len("Input s") :] if msg.startswith("Input should") else msg[0].lower() + msg[1:]
    return ConfigError(path, msg, value=first["input"])


def parse_spec(raw: Mapping[str, Any]) -> MlopsSpec:
    """Shape check only: types, ranges and unknown keys."""
    if not isinstance(raw, Mapping):
        raise ConfigError("(spec)", "must be a mapping of mlops-stack:* config keys", value=raw)
    try:
        return MlopsSpec.model_validate(dict(raw))
    except ValidationError as err:
        raise _from_pydantic(err) from None


def load_spec(raw: Mapping[str, Any], *, today: date | None = None) -> MlopsSpec:
    """Parse and fully validate a spec; raises ``ConfigError`` on the first problem.

    ``today`` (default: the current UTC date) decides which Kubernetes versions are in
    standard support."""
    spec = parse_spec(raw)
    validate(spec, today=today)
    return spec


# ---------------------------------------------------------------------------------
# Cross-field rules.


def _unique(names: list[str], path: str) -> None:
    dupes = [n for n, c in Counter(names).items() if c > 1]
    if dupes:
        i = names.index(dupes[0], names.index(dupes[0]) + 1)
        raise ConfigError(f"{path}[{i}].name", "is used twice; names must be unique", value=dupes[0])


#: Keys of a cloud's sub-spec that must be set when that cloud is selected.
REQUIRED_WHEN_SELECTED: dict[str, tuple[str, ...]] = {"gcp": ("project",)}

#: Private address space (RFC 1918). ``IPv4Network.is_private`` also admits documentation
#: and benchmark ranges (RFC 5737, RFC 2544), which no runner uses.
RFC1918 = tuple(ipaddress.IPv4Network(n) for n in ("10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16"))

#: S3 bucket names are <= 63 characters and Pulumi auto-naming appends 8.
MAX_BUCKET_BASE = 55


def validate(spec: MlopsSpec, *, today: date | None = None) -> None:
    """Every rule that spans more than one field. Raises ``ConfigError``."""
    cloud = spec.cloud
    strict = spec.region_check == "strict"
    regions = catalog.known_regions(cloud)
    if regions and spec.region not in regions:
        raise ConfigError(
            "region", f"is not a region of {cloud}", did_you_mean(spec.region, regions) or f"known: {one_of(regions)}", value=spec.region
        )
    for key in REQUIRED_WHEN_SELECTED.get(cloud, ()):
        if not getattr(getattr(spec, cloud), key):
            raise ConfigError(f"{cloud}.{to_camel(key)}", f"is required when cloud is {cloud}")

    if spec.network.cidr.prefixlen < 16 or spec.network.cidr.prefixlen > 20:
        raise ConfigError("network.cidr", "must be a /16 to /20 range", value=str(spec.network.cidr))
    if not spec.network.cidr.is_private:
        raise ConfigError("network.cidr", "must be a private (RFC 1918) range", value=str(spec.network.cidr))

    bucket_names = [b.name for b in spec.storage.buckets]
    _unique(bucket_names, "storage.buckets")
    for i, b in enumerate(spec.storage.buckets):
        base = f"{spec.prefix}-{b.name}"
        if len(base) > MAX_BUCKET_BASE:
            raise ConfigError(
                f"storage.buckets[{i}].name",
                f"makes the physical name {base!r} longer than {MAX_BUCKET_BASE} characters",
                "use a shorter name or spec name",
                value=b.name,
            )
        if spec.is_prod and not b.versioning:
            raise ConfigError(f"storage.buckets[{i}].versioning", "must be true in prod (data is never lost by default)", value=False)
    if len(set(spec.container_registry.repositories)) != len(spec.container_registry.repositories):
        dup = next(r for r, c in Counter(spec.container_registry.repositories).items() if c > 1)
        raise ConfigError("containerRegistry.repositories", "lists a repository twice", value=dup)

    cluster = spec.cluster
    for i, cidr in enumerate(cluster.public_access_cidrs):
        if cidr.prefixlen == 0:
            raise ConfigError(
                f"cluster.publicAccessCidrs[{i}]",
                "opens the API server to the whole internet",
                "list your VPN or office CIDRs, or leave the list empty for a private endpoint",
                value=str(cidr),
            )
    if cluster.enabled:
        catalog.check_kubernetes_version(cloud, cluster.version, today or datetime.now(UTC).date(), "cluster.version")
    for i, cidr in enumerate(cluster.runner_cidrs):
        if not any(cidr.subnet_of(block) for block in RFC1918):
            raise ConfigError(
                f"cluster.runnerCidrs[{i}]",
                "must be a private (RFC 1918) range: the runner reaches the private API endpoint through peering, a transit gateway or a VPN",
                "for a runner on the internet use publicAccessCidrs, or the two-phase apply (cluster.inCluster: false)",
                value=str(cidr),
            )
    sp = cluster.system_pool
    if sp.min_nodes > sp.max_nodes:
        raise ConfigError("cluster.systemPool.minNodes", f"is greater than maxNodes ({sp.max_nodes})", value=sp.min_nodes)
    _unique([p.name for p in cluster.gpu_pools], "cluster.gpuPools")
    if cluster.gpu_pools and not cluster.enabled:
        raise ConfigError("cluster.gpuPools", "needs a cluster, but cluster.enabled is false")
    for i, pool in enumerate(cluster.gpu_pools):
        path = f"cluster.gpuPools[{i}]"
        if pool.min_nodes > pool.max_nodes:
            raise ConfigError(f"{path}.minNodes", f"is greater than maxNodes ({pool.max_nodes})", value=pool.min_nodes)
        catalog.resolve_gpu(cloud, pool.gpu, pool.gpus_per_node, "nodepool", spec.region, f"{path}.gpu", check_region=strict)

    _unique([e.name for e in spec.endpoints], "endpoints")
    for i, ep in enumerate(spec.endpoints):
        path = f"endpoints[{i}]"
        if (ep.gpu is None) == (ep.cpu_size is None):
            raise ConfigError(path, "needs exactly one of gpu or cpuSize")
        if (ep.model.image is None) == (ep.model.framework is None):
            raise ConfigError(f"{path}.model", "needs exactly one of image or framework")
        if ep.data_capture.enabled and ep.data_capture.bucket not in bucket_names:
            raise ConfigError(
                f"{path}.dataCapture.bucket",
                "is not one of storage.buckets",
                did_you_mean(ep.data_capture.bucket, bucket_names) or f"buckets: {one_of(bucket_names)}",
                value=ep.data_capture.bucket,
            )
        if ep.model.artifact.bucket not in bucket_names:
            raise ConfigError(
                f"{path}.model.artifact.bucket",
                "is not one of storage.buckets",
                did_you_mean(ep.model.artifact.bucket, bucket_names) or f"buckets: {one_of(bucket_names)}",
                value=ep.model.artifact.bucket,
            )
        if ep.min_instances > ep.max_instances:
            raise ConfigError(f"{path}.minInstances", f"is greater than maxInstances ({ep.max_instances})", value=ep.min_instances)
        if spec.is_prod and ep.min_instances < 2:
            raise ConfigError(
                f"{path}.minInstances", "must be at least 2 in prod (one instance is a single point of failure)", value=ep.min_instances
            )
        if ep.gpu is not None:
            catalog.resolve_gpu(cloud, ep.gpu, ep.gpus_per_instance, "endpoint", spec.region, f"{path}.gpu", check_region=strict)

    if spec.monitoring.enabled and not cluster.enabled:
        raise ConfigError("monitoring.enabled", "needs a cluster, but cluster.enabled is false", "set monitoring.enabled: false")
    if spec.gpu.sharing.mode == "mig":
        bad = [p.gpu for p in cluster.gpu_pools if p.gpu not in MIG_CAPABLE]
        if bad:
            raise ConfigError(
                "gpu.sharing.mode", f"mig needs MIG-capable GPUs, but pool GPU {bad[0]!r} is not", f"MIG GPUs: {one_of(MIG_CAPABLE)}", value="mig"
            )
    _unique([n.name for n in spec.namespaces], "namespaces")
    for i, ns in enumerate(spec.namespaces):
        if ns.name in RESERVED_NAMESPACES:
            raise ConfigError(
                f"namespaces[{i}].name", "is reserved for the platform", f"reserved: {', '.join(sorted(RESERVED_NAMESPACES))}", value=ns.name
            )


# ---------------------------------------------------------------------------------
# Reading Pulumi config.


#: Top-level keys whose values are text even when they look like JSON ("123").
_TEXT_KEYS = frozenset({"cloud", "region", "environment", "name"})


def raw_from_config_values(values: Mapping[str, Any], namespace: str = "mlops-stack") -> dict[str, Any]:
    """``{"mlops-stack:cluster": "<json>"}`` -> ``{"cluster": {...}}``.

    Pulumi hands structured config to the program as JSON text; plain values as text.
    Keys of other namespaces (``aws:region``) are ignored.
    """
    raw: dict[str, Any] = {}
    prefix = namespace + ":"
    for key, value in values.items():
        if not key.startswith(prefix):
            continue
        name = key[len(prefix) :]
        if isinstance(value, str) and name not in _TEXT_KEYS:
            try:
                value = json.loads(value)
            except ValueError:
                pass
        raw[name] = value
    return raw


def spec_from_pulumi_config(namespace: str = "mlops-stack") -> MlopsSpec:
    """Load the spec from the running Pulumi program's config."""
    from pulumi.runtime import config as runtime_config

    values = dict(runtime_config.CONFIG.get())
    return load_spec(raw_from_config_values(values, namespace))
