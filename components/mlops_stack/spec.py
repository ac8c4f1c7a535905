"""The cloud-neutral spec: what a platform team writes, once, for any cloud.

It is Pulumi structured config under the ``mlops-stack`` namespace
(``mlops-stack:cloud``, ``mlops-stack:cluster``, ...), camelCase keys, parsed once into
the frozen pydantic models below. ``load_spec`` checks the shape (types, ranges,
unknown keys) and then every cross-field rule (``validate``), so a bad spec raises a
single ``ConfigError`` naming the key path before any resource is registered.

No provider SDK is imported here.
"""

from __future__ import annotations

import functools
import ipaddress
import json
import math
import re
import unicodedata
from collections import Counter
from collections.abc import Iterable, Mapping
from datetime import UTC, date, datetime
from typing import TYPE_CHECKING, Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StringConstraints,
    ValidationError,
    ValidationInfo,
    create_model,
    field_validator,
    model_validator,
)
from pydantic_core import PydanticCustomError
from pydantic.alias_generators import to_camel

from mlops_stack import catalog, constants, contracts, targets
from mlops_stack.constants import RESERVED_NAMESPACES  # noqa: F401 - namespaces a team namespace cannot take
from mlops_stack.errors import ConfigError, did_you_mean, one_of
from mlops_stack.serving_runtimes import NOT_OFFERED, RUNTIMES



def _known_target(value: Any) -> Any:
    """``cloud`` names an installed target (``mlops_stack.targets``): aws, gcp, azure or a plugin."""
    known = targets.names()
    if isinstance(value, str) and value in known:
        return value
    # Reported like any other closed choice: "must be one of ...", with a did-you-mean.
    raise PydanticCustomError("literal_error", "Input should be {expected}", {"expected": ", ".join(repr(n) for n in known)})


#: The target a spec deploys to: one of the installed targets (``mlops_stack.targets``).
Cloud = Annotated[str, BeforeValidator(_known_target)]
Environment = Literal["dev", "staging", "prod"]
Size = Literal["small", "medium", "large"]

#: Plain reasons for the string patterns below, keyed by the pattern: a user reads the
#: reason, never the regular expression.
PATTERN_REASONS: dict[str, str] = {}


def _pattern(regex: str, reason: str) -> StringConstraints:
    PATTERN_REASONS[regex] = reason
    return StringConstraints(pattern=regex)


_NO_VALUE = object()


def _rule(
    reason: str, hint: str | None = None, *, at: tuple[str | int, ...] = (), value: Any = _NO_VALUE, show_value: bool = True
) -> PydanticCustomError:
    """A field rule's failure: shown as ``<key>: <value> <reason> (<hint>)``.

    A model's own rule (a ``model_validator``) names the field it is about with ``at``
    (appended to the model's key path) and the value to show with ``value``; without
    ``value`` the line shows none (``endpoints[0]: needs exactly one of gpu or cpuSize``)."""
    ctx: dict[str, Any] = {}
    if hint:
        ctx["hint"] = hint
    if at:
        ctx["at"] = at
    if value is not _NO_VALUE:
        ctx["value"] = value
    elif at or not show_value:
        ctx["no_value"] = True
    return PydanticCustomError("spec_rule", reason.replace("{", "{{").replace("}", "}}"), ctx or None)


#: A short DNS-label-like name: lower case letters, digits and dashes.
Name = Annotated[
    str,
    _pattern(
        r"^[a-z](?:[a-z0-9-]{0,30}[a-z0-9])?$",
        "must be 1-32 lower-case letters, digits and dashes, starting with a letter and not ending with a dash",
    ),
]
#: Tag/label keys and values are held to the strictest cloud's rules (GCP labels), so a
#: spec written for one cloud ports to the others unchanged.
TagKey = Annotated[
    str,
    _pattern(
        r"^[a-z][a-z0-9_-]{0,62}$",
        "is not an allowed key: lower-case letters, digits, '_' and '-', starting with a letter, up to 63 characters (GCP label rules, used on every cloud)",
    ),
]
TagValue = Annotated[
    str,
    _pattern(
        r"^[a-z0-9_-]{0,63}$",
        "is not an allowed value: lower-case letters, digits, '_' and '-', up to 63 characters (GCP label rules, used on every cloud)",
    ),
]

#: Largest day count any lifecycle or retention API we call accepts without complaint
#: (S3 lifecycle and GCS age conditions take 32-bit integers; Azure management policies
#: go to 99999 days): one cap of 100 years for every "... days" key without a tighter one.
MAX_DAYS = 36500


def _plain_text(reason_if_bad: str) -> Any:
    """An after-validator: no control, format (zero-width, bidi) or unassigned characters."""

    def check(value: str) -> str:
        for ch in value:
            if unicodedata.category(ch) in ("Cc", "Cf", "Co", "Cs", "Cn"):
                raise _rule(f"contains the invisible or control character U+{ord(ch):04X}; {reason_if_bad}")
        return value

    return AfterValidator(check)


#: A container image reference: SageMaker takes at most 255 characters and no
#: whitespace (``[\S]+``); the same limit is applied on every cloud.
MAX_IMAGE = 255


def _image(value: str) -> str:
    if not value:
        raise _rule("must not be empty", "set it to a serving container image URI, or set framework instead")
    if len(value) > MAX_IMAGE:
        raise _rule(f"is {len(value)} characters long; image references are at most {MAX_IMAGE}")
    for ch in value:
        if ch.isspace() or unicodedata.category(ch) in ("Cc", "Cf", "Co", "Cs", "Cn", "Zs"):
            raise _rule(f"contains the whitespace, control or invisible character U+{ord(ch):04X}; an image reference has none")
    return value


#: Object keys: S3 and GCS allow 1024 bytes of UTF-8, Azure blob names 1024 characters.
MAX_OBJECT_KEY_BYTES = 1024


def _object_key(value: str) -> str:
    if not value:
        raise _rule("must not be empty")
    if value.startswith("/") or value.endswith("/"):
        raise _rule("must not start or end with '/'")
    size = len(value.encode("utf-8"))
    if size > MAX_OBJECT_KEY_BYTES:
        raise _rule(f"is {size} bytes long in UTF-8; object keys are at most {MAX_OBJECT_KEY_BYTES}")
    for ch in value:
        if unicodedata.category(ch) in ("Cc", "Cf", "Co", "Cs", "Cn"):
            raise _rule(f"contains the control or invisible character U+{ord(ch):04X}")
    return value


_NOT_GLOBAL = (
    (ipaddress.IPv4Network("0.0.0.0/8"), "is in 0.0.0.0/8 ('this network')"),
    (ipaddress.IPv4Network("127.0.0.0/8"), "is a loopback range"),
    (ipaddress.IPv4Network("169.254.0.0/16"), "is a link-local range"),
    (ipaddress.IPv4Network("224.0.0.0/4"), "is a multicast range"),
    (ipaddress.IPv4Network("240.0.0.0/4"), "is a reserved range"),
)
#: Private address space (RFC 1918). ``IPv4Network.is_private`` also admits loopback,
#: link-local, 0.0.0.0/8, documentation and benchmark ranges, which no network here uses.
RFC1918 = (ipaddress.IPv4Network("10.0.0.0/8"), ipaddress.IPv4Network("172.16.0.0/12"), ipaddress.IPv4Network("192.168.0.0/16"))
#: The widest public access the API server's allow-list may add up to: one /8.
MAX_PUBLIC_ACCESS_ADDRESSES = 2**24


def _cidr(value: Any) -> ipaddress.IPv4Network:
    """An IPv4 CIDR written as text (a number or ``true`` is not a CIDR)."""
    if isinstance(value, ipaddress.IPv4Network):
        return value
    if not isinstance(value, str):
        raise _rule("is not an IPv4 CIDR; write it as text such as 10.0.0.0/16")
    text = value.strip()
    if "/" not in text:
        raise _rule("is not an IPv4 CIDR: it needs a prefix length, such as 10.0.0.0/16")
    try:
        return ipaddress.IPv4Network(text)
    except ValueError:
        pass
    try:
        net = ipaddress.IPv4Network(text, strict=False)
    except ValueError:
        raise _rule("is not an IPv4 CIDR such as 10.0.0.0/16") from None
    raise _rule(f"has host bits set; the network is {net}")


def _network_cidr(net: ipaddress.IPv4Network) -> ipaddress.IPv4Network:
    if net.prefixlen < 16 or net.prefixlen > 20:
        raise _rule("must be a /16 to /20 range")
    if not any(net.subnet_of(r) for r in RFC1918):
        raise _rule("must be a private (RFC 1918) range", "10.0.0.0/8, 172.16.0.0/12 or 192.168.0.0/16")
    return net


def _public_cidr(net: ipaddress.IPv4Network) -> ipaddress.IPv4Network:
    hint = "list your VPN or office CIDRs, or leave the list empty for a private endpoint"
    if net.prefixlen == 0:
        raise _rule("opens the API server to the whole internet", hint)
    if net.prefixlen < 8:
        raise _rule(f"opens the API server to {net.num_addresses} addresses; at most a /8 may be allowed", hint)
    for bad, reason in _NOT_GLOBAL:
        if net.overlaps(bad):
            raise _rule(f"{reason}, which never reaches a public API endpoint", hint)
    if any(net.overlaps(r) for r in RFC1918) or net.overlaps(ipaddress.IPv4Network("100.64.0.0/10")):
        raise _rule(
            "is a private range; a public API endpoint only sees public source addresses",
            "a runner on a private network goes in cluster.runnerCidrs",
        )
    return net


def _public_cidrs(nets: list[ipaddress.IPv4Network]) -> list[ipaddress.IPv4Network]:
    covered = sum(n.num_addresses for n in ipaddress.collapse_addresses(nets))
    if covered > MAX_PUBLIC_ACCESS_ADDRESSES:
        raise _rule(
            f"together allow {covered} addresses, more than a /8 ({MAX_PUBLIC_ACCESS_ADDRESSES}): the API server would be open to a large part of the internet",
            "list your VPN or office CIDRs, or leave the list empty for a private endpoint",
        )
    return nets


Cidr = Annotated[ipaddress.IPv4Network, BeforeValidator(_cidr)]


def _quoted_version(value: Any) -> Any:
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        raise _rule(
            "is a number, but the version must be text: quote it",
            'write version: "1.30" - unquoted, YAML reads 1.30 as the number 1.3',
        )
    return value


def _region_check(value: Any) -> Any:
    # YAML 1.1 readers turn an unquoted off/on into a boolean: take it as meant.
    if value is False:
        return "off"
    if value is True:
        return "strict"
    return value


GUID = r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$"
Guid = Annotated[str, _pattern(GUID, "is not a GUID (xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx)")]
#: Azure resource group names: 1-90 letters, digits, '_', '-', '.', '(' and ')', not ending in '.'.
RESOURCE_GROUP = r"^[-\w._()]{0,89}[-\w_()]$"


#: GPUs that support Multi-Instance GPU partitioning.
MIG_CAPABLE = frozenset({"nvidia-a100-40gb", "nvidia-a100-80gb", "nvidia-h100", "nvidia-h100-nvl", "nvidia-h200", "nvidia-b200"})


def _numeric(annotation: Any) -> bool:
    if annotation in (int, float):
        return True
    args = getattr(annotation, "__args__", None)
    return bool(args) and all(a in (int, float, type(None)) for a in args) and any(a in (int, float) for a in args)


def _min_max_rule(low: int, high: int, low_key: str, high_key: str) -> None:
    if low > high:
        raise _rule(f"is greater than {high_key} ({high})", at=(low_key,), value=low)


def _unique_rule(names: list[str], key: str) -> None:
    dupes = [n for n, c in Counter(names).items() if c > 1]
    if dupes:
        i = names.index(dupes[0], names.index(dupes[0]) + 1)
        raise _rule("is used twice; names must be unique", at=(key, i, "name"), value=dupes[0])


class _Model(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        frozen=True,
        alias_generator=to_camel,
        populate_by_name=True,
        validate_default=True,
    )

    def __init__(self, /, **data: Any) -> None:
        # A platform repo building a spec model in Python (component args) gets the same
        # one-line ConfigError as a stack file, with the model's name in front of the key.
        try:
            super().__init__(**data)
        except ValidationError as err:
            error = _from_pydantic(err, root=type(self))
            #: Which model was built (the CLI adds the user's file and line for ``--program``).
            error.model = type(self).__name__  # type: ignore[attr-defined]
            raise error from None

    # Tell pydantic this is its own __init__ (only wrapped): nested models are then still
    # validated by pydantic-core directly, so a stack file's errors keep their full key path.
    __init__.__pydantic_base_init__ = True  # type: ignore[attr-defined]

    @field_validator("*", mode="before")
    @classmethod
    def _no_bool_for_a_number(cls, value: Any, info: ValidationInfo) -> Any:
        # pydantic takes true as 1 for a number; in a stack file that is always a slip.
        if isinstance(value, bool) and info.field_name and _numeric(cls.model_fields[info.field_name].annotation):
            raise _rule("must be a number, not true or false")
        return value


# ---------------------------------------------------------------------------------
# The capabilities. (Each target's own settings live in its folder: ``<target>/options.py``,
# a spec section named after the target, added by ``spec_model()``.)


class NetworkSpec(_Model):
    """The VPC / VNet the environment lives in."""

    cidr: Annotated[Cidr, AfterValidator(_network_cidr)] = Field(
        default=ipaddress.IPv4Network("10.0.0.0/16"), description="VPC/VNet address range: a /16 to /20 inside 10.0.0.0/8, 172.16.0.0/12 or 192.168.0.0/16 (RFC 1918)."
    )
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
    noncurrent_version_expiration_days: int | None = Field(default=90, ge=1, le=MAX_DAYS, description="Delete non-current versions after N days; null keeps them.")
    expiration_days: int | None = Field(default=None, ge=1, le=MAX_DAYS, description="Delete current objects after N days; null keeps them.")
    size_gb: float = Field(default=0, ge=0, le=1e9, allow_inf_nan=False, description="Expected stored size, used only by the cost estimate.")


def _default_buckets() -> list[BucketSpec]:
    return [BucketSpec(name="artifacts"), BucketSpec(name="models")]


class StorageSpec(_Model):
    """Object storage."""

    buckets: list[BucketSpec] = Field(default_factory=_default_buckets, min_length=1, description="Buckets/containers to create.")
    access_logs: bool = Field(default=True, description="Log bucket access to a separate log bucket.")
    log_retention_days: int = Field(default=365, ge=1, le=MAX_DAYS, description="Days access logs are kept.")
    soft_delete_days: int = Field(default=7, ge=1, le=90, description="GCS soft-delete / Azure blob soft-delete retention.")
    replica_region: str | None = Field(
        default=None,
        description="Second region that keeps a copy of every data bucket (AWS: cross-region replication to a replica "
        "bucket with its own key; GCP: a dual-region bucket; Azure: not settable, prod storage is geo-redundant to the "
        "paired region). 'none' keeps one region. Default: the cloud's paired region in prod, none elsewhere "
        "(docs/security.md).",
    )

    @model_validator(mode="after")
    def _unique_buckets(self) -> StorageSpec:
        _unique_rule([b.name for b in self.buckets], "buckets")
        return self


class ContainerRegistrySpec(_Model):
    """Container image repositories (ECR, Artifact Registry, ACR)."""

    repositories: list[Name] = Field(default_factory=lambda: ["training", "serving"], description="Repositories to create.")
    untagged_expiry_days: int = Field(default=14, ge=1, le=MAX_DAYS, description="Expire untagged images after N days (at most 365 on Azure, ACR's retention limit).")
    immutable_tags: bool = Field(default=True, description="Forbid overwriting an existing tag.")

    @model_validator(mode="after")
    def _listed_once(self) -> ContainerRegistrySpec:
        if len(set(self.repositories)) != len(self.repositories):
            dup = next(r for r, c in Counter(self.repositories).items() if c > 1)
            raise _rule("lists a repository twice", at=("repositories",), value=dup)
        return self


class ModelRegistrySpec(_Model):
    """Where model versions are registered."""

    enabled: bool = Field(default=True, description="Create the model registry.")
    name: Name = Field(default="models", description="Model package group / registry name.")
    description: Annotated[str, _plain_text("write the description on one line, in plain text")] = Field(
        default="Models registered by mlops-stack", max_length=1000, description="Registry description (one line of plain text; set at creation: on AWS later changes are ignored, SageMaker would replace the group)."
    )


class SystemPoolSpec(_Model):
    """The on-demand system node pool."""

    size: Size = Field(default="medium", description="Node size: small, medium or large (see the catalog per cloud).")
    min_nodes: int = Field(default=2, ge=1, le=100, description="Minimum nodes.")
    max_nodes: int = Field(default=4, ge=1, le=100, description="Maximum nodes.")
    disk_gb: int = Field(default=50, ge=20, le=2048, description="Root volume size, GiB.")

    @model_validator(mode="after")
    def _min_max(self) -> SystemPoolSpec:
        _min_max_rule(self.min_nodes, self.max_nodes, "minNodes", "maxNodes")
        return self


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

    @model_validator(mode="after")
    def _min_max(self) -> GpuPoolSpec:
        _min_max_rule(self.min_nodes, self.max_nodes, "minNodes", "maxNodes")
        return self


class ClusterSpec(_Model):
    """The managed Kubernetes cluster (EKS, GKE, AKS)."""

    enabled: bool = Field(default=True, description="Create the cluster (and everything in it).")
    version: Annotated[
        str, BeforeValidator(_quoted_version), _pattern(r"^1\.\d{2}$", 'is not a Kubernetes minor version such as "1.33" (quoted)')
    ] = Field(
        default=catalog.DEFAULT_KUBERNETES_VERSION,
        description="Kubernetes minor version, quoted (\"1.35\"); must be in standard support on the chosen cloud on the day of the plan (the target's catalog/kubernetes_versions.csv).",
    )
    public_access_cidrs: Annotated[list[Annotated[Cidr, AfterValidator(_public_cidr)]], AfterValidator(_public_cidrs)] = Field(
        default_factory=list,
        description="Public CIDRs allowed to reach the API server (together at most a /8; no private, loopback, link-local, multicast or reserved ranges); empty = private endpoint only.",
    )
    system_pool: SystemPoolSpec = Field(default_factory=SystemPoolSpec, description="The on-demand pool for system workloads.")
    gpu_pools: list[GpuPoolSpec] = Field(default_factory=list, description="GPU node pools (tainted nvidia.com/gpu=true:NoSchedule).")
    runner_cidrs: list[Cidr] = Field(
        default_factory=list,
        description="Private CIDRs of the runner that applies the stack (self-hosted, in a network peered or connected to the VPC): admitted to the private API endpoint (EKS cluster security group on 443, GKE authorized networks) and, on Azure, to the private endpoints (their NSG, 443). See docs/first-apply.md.",
    )
    in_cluster: bool = Field(
        default=True,
        description="Deploy the in-cluster layer (autoscaler, GPU plugin, monitoring, namespaces). false: the cloud layer only, the first phase of a two-phase first apply of a private cluster (docs/first-apply.md).",
    )

    @model_validator(mode="after")
    def _pools(self) -> ClusterSpec:
        _unique_rule([p.name for p in self.gpu_pools], "gpuPools")
        if self.gpu_pools and not self.enabled:
            raise _rule("needs a cluster, but cluster.enabled is false", at=("gpuPools",))
        return self


class ArtifactRef(_Model):
    """A model artifact in one of the stack's buckets."""

    bucket: Name = Field(description="A bucket name from storage.buckets.")
    key: Annotated[str, AfterValidator(_object_key)] = Field(description="Object key (or prefix) of the model artifact (at most 1024 bytes).")


#: A framework version as the serving images number them (2.3, 2.1.0, 0.29.0, 1.7-1,
#: 1.4-2-py312, or the SDK's ``latest``): digits and dots with up to two short suffixes, so
#: at most 37 characters (a 100-character version was accepted and ignored on the cluster path).
FrameworkVersion = Annotated[
    str,
    _pattern(
        r"^(?:latest|[0-9]{1,4}(?:\.[0-9]{1,4}){0,3}(?:-[0-9A-Za-z]{1,8}){0,2})$",
        "is not a framework version: numbers separated by dots, with an optional -suffix, e.g. 2.3, 2.1.0 or 1.7-1",
    ),
]
#: A Python version tag of the serving images: py3, py39, py310, py311, ...
PyVersion = Annotated[str, _pattern(r"^py[23][0-9]{0,2}$", "is not a Python version tag, e.g. py310 or py311")]


class FrameworkSpec(_Model):
    """A serving framework whose image is resolved for the region (AWS)."""

    name: str = Field(description="Framework, e.g. pytorch, huggingface-llm, djl-lmi, xgboost, sklearn.")
    version: FrameworkVersion = Field(description="Framework version, e.g. 2.3.")
    py_version: PyVersion | None = Field(default=None, description="Python version tag where the framework needs one, e.g. py311.")


class ModelSpec(_Model):
    """What an endpoint serves."""

    artifact: ArtifactRef = Field(description="Where the model artifact is stored.")
    image: Annotated[str, AfterValidator(_image)] | None = Field(default=None, description="Serving container image URI, at most 255 characters (or set framework).")
    framework: FrameworkSpec | None = Field(default=None, description="Framework image to resolve instead of image (AWS).")
    environment: dict[
        Annotated[str, _pattern(r"^[A-Za-z_][A-Za-z0-9_]*$", "is not an allowed environment variable name: letters, digits and '_', not starting with a digit")],
        str,
    ] = Field(
        default_factory=dict, description="Environment variables of the serving container."
    )

    @model_validator(mode="after")
    def _one_source(self) -> ModelSpec:
        if self.image is None and self.framework is None and "image" in self.model_fields_set:
            # ``image: null`` written out: name the key the user wrote.
            raise _rule("is null: give an image reference, or a framework instead", at=("image",))
        if (self.image is None) == (self.framework is None):
            raise _rule("needs exactly one of image or framework", show_value=False)
        return self


class DataCaptureSpec(_Model):
    """Capturing endpoint requests and responses for monitoring and retraining."""

    enabled: bool = Field(default=False, description="Capture requests and responses.")
    sampling_percent: int = Field(default=100, ge=1, le=100, description="Share of requests captured.")
    bucket: Name = Field(default="artifacts", description="Bucket (from storage.buckets) that receives captured requests.")


class AutoscalingSpec(_Model):
    """Endpoint autoscaling targets."""

    invocations_per_instance: int = Field(default=100, ge=1, le=1_000_000, description="Target invocations per instance per minute (SageMaker).")
    utilization_percent: int = Field(default=70, ge=10, le=100, description="Target accelerator/CPU utilisation (Vertex AI, Azure ML).")


def _body(value: Any) -> Any:
    if not isinstance(value, (str, dict, list)):
        raise _rule("must be text, a mapping or a list")
    return value


class SampleRequestSpec(_Model):
    """One request the post-apply smoke test (`mlops-stack smoke`) sends; it expects a 2xx."""

    content_type: str = Field(default="application/json", description="Content-Type of the request, e.g. application/json or text/csv.")
    body: Annotated[str | dict[str, Any] | list[Any], BeforeValidator(_body)] = Field(description="Request body: text is sent as is, a mapping or list as JSON.")
    accept: str | None = Field(default=None, description="Accept header; default: the container's own.")


class EndpointSpec(_Model):
    """A model endpoint: a managed one (SageMaker, Vertex AI, Azure ML) or, with
    ``runsOn: cluster``, a KServe InferenceService on the stack's GPU pools (docs/serving.md)."""

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
    runs_on: Literal["managed", "cluster"] = Field(
        default="managed",
        description="Where it runs: managed (the cloud's endpoint service) or cluster (a KServe InferenceService on the "
        "stack's cluster, in-cluster address only; minInstances/maxInstances are its replicas; docs/serving.md).",
    )
    gpu_pool: Name | None = Field(
        default=None,
        description="runsOn cluster with gpu: the cluster.gpuPools entry to run on; default: the first pool with this gpu.",
    )

    @property
    def on_cluster(self) -> bool:
        return self.runs_on == "cluster"

    @model_validator(mode="after")
    def _shape(self) -> EndpointSpec:
        if (self.gpu is None) == (self.cpu_size is None):
            raise _rule("needs exactly one of gpu or cpuSize", show_value=False)
        _min_max_rule(self.min_instances, self.max_instances, "minInstances", "maxInstances")
        if not self.on_cluster:
            if self.gpu_pool is not None:
                raise _rule("is only for runsOn: cluster", "remove gpuPool, or set runsOn: cluster", at=("gpuPool",), value=self.gpu_pool)
            return self
        if self.gpu_pool is not None and self.gpu is None:
            raise _rule("needs gpu: a CPU endpoint runs on the cluster's general nodes", "remove gpuPool or set gpu", at=("gpuPool",), value=self.gpu_pool)
        if self.data_capture.enabled:
            raise _rule(
                "is not available for runsOn: cluster",
                "the cluster endpoint captures nothing to a bucket; set dataCapture.enabled: false, or runsOn: managed",
                at=("dataCapture", "enabled"),
                value=True,
            )
        if not self.private:
            raise _rule(
                "is not allowed for runsOn: cluster: a cluster endpoint has an in-cluster address only",
                "set private: true, or runsOn: managed",
                at=("private",),
                value=False,
            )
        fw = self.model.framework
        if fw is not None:
            runtime = RUNTIMES.get(fw.name)
            if runtime is None:
                raise _rule(
                    "is not a serving runtime for runsOn: cluster",
                    NOT_OFFERED.get(fw.name) or did_you_mean(fw.name, list(RUNTIMES)) or f"cluster runtimes: {', '.join(RUNTIMES)}; or set model.image",
                    at=("model", "framework", "name"),
                    value=fw.name,
                )
        return self


class MonitoringSpec(_Model):
    """kube-prometheus-stack, the DCGM exporter, dashboards and alerts."""

    enabled: bool = Field(default=True, description="Install monitoring in the cluster.")
    retention_days: int = Field(default=15, ge=1, le=3650, description="Prometheus retention in days.")
    storage_gb: int = Field(default=50, ge=1, le=16384, description="Prometheus persistent volume size, GiB.")
    gpu_metrics: bool = Field(default=True, description="DCGM exporter, GPU dashboards and alerts.")
    grafana_public: bool = Field(default=False, description="Expose Grafana through a public load balancer.")


#: The prefix of the tracking bucket every MLflow artifact goes under (the only part of the
#: bucket the tracking server's role or identity may use).
TRACKING_PREFIX = "mlflow/"
#: SageMaker's pattern for a weekly maintenance window start (botocore sagemaker
#: 2017-07-24 service-2.json, shape WeeklyMaintenanceWindowStart), applied on every cloud.
MAINTENANCE_WINDOW = r"^(Mon|Tue|Wed|Thu|Fri|Sat|Sun):([01]\d|2[0-3]):([0-5]\d)$"


class TrackingDatabaseSpec(_Model):
    """The managed PostgreSQL backend store of a self-hosted tracking server."""

    backup_retention_days: int = Field(
        default=7, ge=7, le=35, description="Days automated backups (and point-in-time recovery) are kept; 7-35, the range every cloud accepts. GCP keeps that many daily backups but at most 7 days of point-in-time recovery (Cloud SQL Enterprise)."
    )
    high_availability: bool | None = Field(default=None, description="A standby in a second zone; default: true in prod.")


class TrackingSpec(_Model):
    """MLflow experiment tracking and model registry (docs/tracking.md)."""

    enabled: bool = Field(default=False, description="Create an MLflow tracking server; its URI is the stack output mlflow_tracking_uri.")
    mode: Literal["managed", "self-hosted"] = Field(
        default="managed",
        description="managed: the cloud's MLflow (SageMaker managed MLflow, the Azure ML workspace); self-hosted: the open-source server in the cluster with a managed PostgreSQL backend store (the only mode on GCP).",
    )
    size: Size = Field(
        default="small",
        description="small, medium or large: the SageMaker tracking server size (Small/Medium/Large), or the self-hosted server's replicas and database tier.",
    )
    bucket: Name = Field(default="artifacts", description="Bucket (from storage.buckets) holding the artifacts, under the prefix mlflow/.")
    automatic_model_registration: bool = Field(
        default=True, description="Managed on AWS: register every MLflow model version in the SageMaker Model Registry too."
    )
    maintenance_window: Annotated[
        str, _pattern(MAINTENANCE_WINDOW, "is not a weekly window start such as Sun:03:00 (day Mon-Sun, UTC hour and minute)")
    ] = Field(default="Sun:03:00", description="Weekly maintenance window start (UTC), e.g. Sun:03:00: the managed server's and the database's.")
    database: TrackingDatabaseSpec = Field(default_factory=TrackingDatabaseSpec, description="Self-hosted: the PostgreSQL backend store.")
    # A volume per replica on the cluster's encrypted storage class, not the node's disk.
    # Bounds: a volume size every target's storage class can create (the per-target limits
    # are test data in tests/test_tracking_components.py).
    transfer_space_gb: int = Field(
        default=20,
        ge=10,
        le=1024,
        description="Self-hosted: disk (GiB) per server replica for artifact uploads and downloads in flight, a volume of its own on the cluster's encrypted storage class (not the node's disk); MLflow 3.17.2 copies each whole artifact to disk on its way to or from the bucket, so this bounds the largest artifact (and the sum of concurrent transfers).",
    )


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
    cpu_quota: int = Field(default=64, ge=1, le=1_000_000, description="Max CPU cores requested.")
    memory_quota_gb: int = Field(default=256, ge=1, le=100_000_000, description="Max memory requested, GiB.")


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

    cloud: Cloud = Field(description="Which target: aws, gcp, azure, or an installed target plugin.")
    region: str = Field(description="AWS region, GCP region or Azure location.")
    environment: Environment = Field(default="dev", description="dev, staging or prod: prod turns on the safer defaults (3 zones, NAT per zone, protection).")
    name: Annotated[
        str,
        _pattern(
            r"^[a-z][a-z0-9-]{0,14}[a-z0-9]$",
            "must be 2-16 lower-case letters, digits and dashes, starting with a letter and not ending with a dash",
        ),
    ] = Field(default="mlops", description="Short prefix of every physical name.")
    tags: dict[TagKey, TagValue] = Field(default_factory=dict, description="Tags (AWS, Azure) / labels (GCP) on everything.")
    protect: bool | None = Field(default=None, description="Protect + retain stateful resources; default: true in prod.")
    region_check: Annotated[Literal["strict", "off"], BeforeValidator(_region_check)] = Field(
        default="strict",
        description="Reject a GPU, zone count or zone the catalog does not list for the region; 'off' when the catalog lags the cloud.",
    )
    network: NetworkSpec = Field(default_factory=NetworkSpec, description="The VPC / VNet.")
    keys: KeysSpec = Field(default_factory=KeysSpec, description="The customer-managed key that encrypts everything that can be encrypted.")
    storage: StorageSpec = Field(default_factory=StorageSpec, description="Object storage buckets (S3, GCS, Blob containers).")
    container_registry: ContainerRegistrySpec = Field(default_factory=ContainerRegistrySpec, description="Container image repositories.")
    model_registry: ModelRegistrySpec = Field(default_factory=ModelRegistrySpec, description="SageMaker model package group / Vertex AI Model Registry / Azure ML registry.")
    cluster: ClusterSpec = Field(default_factory=ClusterSpec, description="The Kubernetes cluster and its node pools.")
    endpoints: list[EndpointSpec] = Field(
        default_factory=list, description="Model endpoints: managed (SageMaker, Vertex AI, Azure ML) or on the cluster (KServe, runsOn: cluster)."
    )
    monitoring: MonitoringSpec = Field(default_factory=MonitoringSpec, description="Prometheus, Grafana and GPU metrics in the cluster.")
    gpu: GpuPlatformSpec = Field(default_factory=GpuPlatformSpec, description="How GPUs are enabled and shared in the cluster.")
    namespaces: list[NamespaceSpec] = Field(default_factory=list, description="Namespaces for ML teams, with GPU quotas and default-deny networking.")
    tracking: TrackingSpec = Field(default_factory=TrackingSpec, description="MLflow tracking server and model registry (managed or self-hosted).")
    deploy_endpoints: bool = Field(
        default=True,
        description=(
            "false: plan everything but the managed endpoints' serving chain (runsOn: managed), for the first apply: "
            "upload the model artifact and push the image, run preflight, then apply with true (docs/first-apply.md)."
        ),
    )

    @property
    def options(self) -> BaseModel | None:
        """The chosen target's own spec section (``spec.<cloud>``), or None if it has none."""
        found = getattr(self, self.cloud, None)
        return found if isinstance(found, BaseModel) else None

    @property
    def zone_count(self) -> int:
        return self.network.zones or (3 if self.is_prod else 2)

    @property
    def nat_per_zone(self) -> bool:
        return (self.network.nat or ("per-zone" if self.is_prod else "single")) == "per-zone"

    def bucket(self, name: str) -> BucketSpec:
        return next(b for b in self.storage.buckets if b.name == name)

    @property
    def managed_endpoints(self) -> list[EndpointSpec]:
        """The endpoints the target's ModelEndpoint builds (``runsOn: managed``)."""
        return [e for e in self.endpoints if not e.on_cluster]

    @property
    def cluster_endpoints(self) -> list[EndpointSpec]:
        """The endpoints KServe serves on the cluster (``runsOn: cluster``)."""
        return [e for e in self.endpoints if e.on_cluster]

    @model_validator(mode="after")
    def _cluster_endpoints(self) -> MlopsSpec:
        for i, ep in enumerate(self.endpoints):
            if ep.on_cluster:
                endpoint_pool(self.cluster, ep, i)
        return self


def endpoint_pool(cluster: ClusterSpec, ep: EndpointSpec, index: int = 0) -> GpuPoolSpec | None:
    """The GPU pool a cluster endpoint runs on (None: a CPU endpoint, on the general nodes).

    ``gpuPool`` when set, else the first ``cluster.gpuPools`` entry with the endpoint's GPU.
    Raises the one-line rule error (at ``endpoints[index]...``) when there is no cluster, the
    in-cluster layer is off, no pool fits, or the replicas cannot fit the pool."""
    at = ("endpoints", index)
    if not cluster.enabled:
        raise _rule("needs a cluster, but cluster.enabled is false", "set runsOn: managed, or enable the cluster", at=(*at, "runsOn"), value="cluster")
    if not cluster.in_cluster:
        raise _rule(
            "needs the in-cluster layer, but cluster.inCluster is false",
            "set runsOn: managed until the second phase of the first apply (docs/first-apply.md)",
            at=(*at, "runsOn"),
            value="cluster",
        )
    if ep.gpu is None:
        return None
    names = [p.name for p in cluster.gpu_pools]
    if ep.gpu_pool is not None:
        pool = next((p for p in cluster.gpu_pools if p.name == ep.gpu_pool), None)
        if pool is None:
            raise _rule(
                "is not one of cluster.gpuPools",
                did_you_mean(ep.gpu_pool, names) or (f"pools: {', '.join(names)}" if names else "add a GPU pool"),
                at=(*at, "gpuPool"),
                value=ep.gpu_pool,
            )
        if pool.gpu != ep.gpu:
            raise _rule(f"has {pool.gpu} GPUs, but the endpoint asks for {ep.gpu}", "name a pool with that gpu, or change gpu", at=(*at, "gpuPool"), value=ep.gpu_pool)
    else:
        pool = next((p for p in cluster.gpu_pools if p.gpu == ep.gpu), None)
        if pool is None:
            offered = sorted({p.gpu for p in cluster.gpu_pools})
            raise _rule(
                "is offered by no cluster.gpuPools entry",
                f"add a pool with gpu: {ep.gpu}, or set runsOn: managed" + (f"; pool GPUs: {', '.join(offered)}" if offered else ""),
                at=(*at, "gpu"),
                value=ep.gpu,
            )
    if ep.gpus_per_instance > pool.gpus_per_node:
        raise _rule(
            f"is more than pool {pool.name} has per node ({pool.gpus_per_node})",
            f"use at most {pool.gpus_per_node}, or a pool with more GPUs per node",
            at=(*at, "gpusPerInstance"),
            value=ep.gpus_per_instance,
        )
    room = pool.max_nodes * (pool.gpus_per_node // ep.gpus_per_instance)
    if ep.max_instances > room:
        raise _rule(
            f"replicas can never all be scheduled: pool {pool.name} holds at most {room} ({pool.max_nodes} nodes x {pool.gpus_per_node // ep.gpus_per_instance} per node)",
            f"use at most {room}, or raise the pool's maxNodes",
            at=(*at, "maxInstances"),
            value=ep.max_instances,
        )
    return pool


def nodes_kept(pool: GpuPoolSpec, endpoints: Iterable[EndpointSpec]) -> int:
    """How many of ``pool``'s nodes the ``minInstances`` replicas of ``endpoints`` (cluster
    endpoints on it) keep running: each replica's ``gpusPerInstance`` packed into nodes of
    ``gpusPerNode`` GPUs, largest first, onto the first node with room (one endpoint:
    minInstances over the replicas a node holds, rounded up). The one definition the
    estimate's pool and endpoint lines use."""
    free: list[int] = []
    for gpus in sorted((ep.gpus_per_instance for ep in endpoints for _ in range(ep.min_instances)), reverse=True):
        i = next((i for i, room in enumerate(free) if room >= gpus), None)
        if i is None:
            free.append(pool.gpus_per_node - gpus)
        else:
            free[i] -= gpus
    return len(free)


@functools.cache
def _spec_model(names: tuple[str, ...]) -> type[MlopsSpec]:
    sections: dict[str, Any] = {}
    for t in targets.all():
        model = t.options()
        if model is not None:
            sections[t.name] = (
                model,
                Field(default_factory=model, description=f"{t.display_name}-only settings; ignored on other targets."),
            )
    return create_model("MlopsSpec", __base__=MlopsSpec, __module__=__name__, **sections)


def spec_model() -> type[MlopsSpec]:
    """``MlopsSpec`` with one section per installed target that has its own settings
    (``aws:``, ``gcp:``, ``azure:``, a plugin's): what a stack file is parsed with."""
    return _spec_model(targets.names())


def top_level_keys() -> tuple[str, ...]:
    """The config keys under the ``mlops-stack`` namespace."""
    return tuple(f.alias or n for n, f in spec_model().model_fields.items())


def __getattr__(name: str) -> Any:
    # TOP_LEVEL_KEYS depends on the installed targets, so it is computed on first use.
    if name == "TOP_LEVEL_KEYS":
        return top_level_keys()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


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


def _model_at(loc: tuple[Any, ...], root: type[BaseModel] | None = None) -> type[BaseModel] | None:
    """The model class that holds the last element of ``loc`` (for key suggestions)."""
    model: Any = root or spec_model()
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


def _from_pydantic(err: ValidationError, root: type[BaseModel] | None = None) -> ConfigError:
    root = root or spec_model()
    found = _first_error(err, root)
    found.more = err.error_count() - 1
    if not issubclass(root, MlopsSpec):
        found.path = f"{root.__name__}.{found.path}" if found.path != "(spec)" else root.__name__
    return found


#: Plain reasons for pydantic's error kinds (its own wording never reaches a user).
_KIND_REASONS: dict[str, str] = {
    "missing": "is required",
    "string_type": "must be text",
    "int_type": "must be a whole number",
    "int_parsing": "must be a whole number",
    "int_from_float": "must be a whole number",
    "int_parsing_size": "is too large a number",
    "float_type": "must be a number",
    "float_parsing": "must be a number",
    "finite_number": "must be a finite number",
    "bool_type": "must be true or false",
    "bool_parsing": "must be true or false",
    "list_type": "must be a list",
    "dict_type": "must be a mapping of keys to values",
    "model_type": "must be a mapping of keys to values",
    "model_attributes_type": "must be a mapping of keys to values",
    "ip_v4_network": "is not an IPv4 CIDR such as 10.0.0.0/16",
    "string_unicode": "must be text",
    "none_required": "must be empty (null)",
}


def _upper_bound(loc: tuple[Any, ...], root: type[BaseModel]) -> Any:
    """The ``le`` of the field at ``loc``, if it has one."""
    model = _model_at(loc, root)
    if model is None or not loc:
        return None
    fields = {f.alias or n: f for n, f in model.model_fields.items()}
    field = fields.get(str(loc[-1]))
    for m in field.metadata if field is not None else ():
        if getattr(m, "le", None) is not None:
            return m.le
    return None


def _number_hint(value: Any) -> str | None:
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return "quote it: unquoted, YAML reads it as a number"
    if isinstance(value, bool):
        return "quote it: unquoted, YAML reads true/false as a boolean"
    return None


def _first_error(err: ValidationError, root: type[BaseModel]) -> ConfigError:
    errors = err.errors(include_url=False)
    # A misspelt key also makes the real key "missing": report the misspelling first.
    first = next((e for e in errors if e["type"] == "extra_forbidden"), errors[0])
    loc = tuple(first["loc"])
    kind = first["type"]
    ctx = first.get("ctx") or {}
    value = first.get("input")
    if loc and loc[-1] == "[key]":
        # Dict-key errors: the loc ends with the key itself and a "[key]" marker.
        path = _format_path(loc[:-1])
        reason = PATTERN_REASONS.get(str(ctx.get("pattern", "")), "is not an allowed key")
        if kind == "string_type":
            reason, value = "is a key that is not text; quote it", loc[-2]
            return ConfigError(_format_path(loc[:-2]), reason, value=value)
        return ConfigError(path, reason)
    path = _format_path(loc)
    if kind == "spec_rule":
        if ctx.get("at"):
            path = _format_path((*loc, *ctx["at"]))
        if "value" in ctx:
            return ConfigError(path, str(first["msg"]), ctx.get("hint"), value=ctx["value"])
        if ctx.get("no_value"):
            return ConfigError(path, str(first["msg"]), ctx.get("hint"))
        return ConfigError(path, str(first["msg"]), ctx.get("hint"), value=value)
    if kind == "extra_forbidden":
        model = _model_at(loc, root)
        known = [f.alias or n for n, f in model.model_fields.items()] if model else []
        hint = did_you_mean(str(loc[-1]), known) or (f"known keys: {one_of(known, limit=30)}" if known else None)
        return ConfigError(path, "is not a known key", hint)
    if kind == "missing":
        return ConfigError(path, "is required")
    if kind in ("literal_error", "enum"):
        expected = str(ctx.get("expected", ""))
        choices = re.findall(r"'([^']*)'", expected)
        return ConfigError(path, f"must be one of {', '.join(choices)}", did_you_mean(value, choices) or _number_hint(value), value=value)
    if kind == "string_pattern_mismatch":
        reason = PATTERN_REASONS.get(str(ctx.get("pattern", "")), "is not in the expected form")
        return ConfigError(path, reason, value=value)
    if kind == "string_type":
        return ConfigError(path, "must be text", _number_hint(value), value=value)
    bounds = {
        "greater_than_equal": ("must be at least", "ge"),
        "greater_than": ("must be greater than", "gt"),
        "less_than_equal": ("must be at most", "le"),
        "less_than": ("must be less than", "lt"),
    }
    if kind in bounds:
        words, key = bounds[kind]
        limit = ctx.get(key)
        if isinstance(limit, float) and limit.is_integer():
            limit = int(limit)
        return ConfigError(path, f"{words} {limit}", value=value)
    if kind in ("too_short", "too_long"):
        words = "at least" if kind == "too_short" else "at most"
        n = ctx.get("min_length" if kind == "too_short" else "max_length")
        return ConfigError(path, f"must have {words} {n} item{'s' if n != 1 else ''}", value=value)
    if kind in ("string_too_short", "string_too_long"):
        words = "at least" if kind == "string_too_short" else "at most"
        n = ctx.get("min_length" if kind == "string_too_short" else "max_length")
        return ConfigError(path, f"must be {words} {n} character{'s' if n != 1 else ''} long", value=value)
    if kind == "int_parsing_size":
        limit = _upper_bound(loc, root)
        return ConfigError(path, f"must be at most {limit}" if limit is not None else "is too large a number", value=value)
    if kind == "int_from_float" or (kind == "int_parsing" and isinstance(value, float)):
        return ConfigError(path, "must be a whole number", value=value)
    if kind == "finite_number" or (isinstance(value, float) and not math.isfinite(value)):
        return ConfigError(path, "must be a finite number", value=value)
    return ConfigError(path, _KIND_REASONS.get(kind, "has a value of the wrong type"), value=value)


def parse_spec(raw: Mapping[str, Any]) -> MlopsSpec:
    """Shape check only: types, ranges and unknown keys."""
    if not isinstance(raw, Mapping):
        raise ConfigError("(spec)", "must be a mapping of mlops-stack:* config keys", value=raw)
    try:
        return spec_model().model_validate(dict(raw))
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


#: ``<name>-<environment>-<bucket>`` at most this long (bucket name limit minus the auto-name suffix).
MAX_BUCKET_BASE = constants.MAX_BUCKET_BASE

#: Bucket names the stack uses itself (same on every cloud, so a spec ports unchanged).
RESERVED_BUCKETS: dict[str, str] = {"access-logs": "the stack's own access-log bucket has this name"}


def bucket_for_env(is_prod: bool, bucket: BucketSpec, path: str) -> None:
    """The bucket rule that needs the environment (the spec and ``ArtifactStoreArgs`` share it)."""
    if is_prod and not bucket.versioning:
        raise ConfigError(f"{path}.versioning", "must be true in prod (data is never lost by default)", value=False)


def endpoint_for_env(is_prod: bool, ep: EndpointSpec, path: str) -> None:
    """The endpoint rule that needs the environment (the spec and ``ModelEndpointArgs`` share it)."""
    if is_prod and ep.min_instances < 2:
        raise ConfigError(f"{path}.minInstances", "must be at least 2 in prod (one instance is a single point of failure)", value=ep.min_instances)


#: Characters a granted prefix may hold. Anything else is refused rather than escaped: a
#: '*' or '?' would widen an IAM resource pattern, a quote or backslash would end the
#: string in a GCP CEL or Azure condition, '$' starts an AWS policy variable.
_PREFIX = re.compile(r"[A-Za-z0-9._=+@,:!()-]+(/[A-Za-z0-9._=+@,:!()-]+)*/")


def check_prefix(prefix: object, path: str) -> None:
    """``ConfigError`` at ``path`` unless ``prefix`` is an object prefix a scoped grant can carry
    (``BucketGrant`` and a cluster endpoint's model folder share it)."""
    if not isinstance(prefix, str) or not prefix:
        raise ConfigError(path, "must be a non-empty object prefix ending in '/'", "a grant never covers a whole bucket", value=prefix)
    if prefix.startswith("/"):
        raise ConfigError(path, "must not start with '/'", f"use {prefix.lstrip('/')!r}", value=prefix)
    if not prefix.endswith("/"):
        raise ConfigError(path, "must end with '/'", f"use {prefix + '/'!r}; without it the grant also covers every name that starts the same way", value=prefix)
    parts = prefix[:-1].split("/")
    if "" in parts or any(p in (".", "..") for p in parts):
        raise ConfigError(path, "has an empty, '.' or '..' segment", value=prefix)
    if not _PREFIX.fullmatch(prefix):
        raise ConfigError(path, "holds a character a scoped grant cannot carry", "letters, digits, '/' and . _ = + @ , : ! ( ) - only", value=prefix)


def validate(spec: MlopsSpec, *, today: date | None = None) -> None:
    """Every rule that spans more than one field. Raises ``ConfigError``."""
    cloud = spec.cloud
    strict = spec.region_check == "strict"
    regions = catalog.known_regions(cloud)
    if regions and spec.region not in regions:
        raise ConfigError(
            "region", f"is not a region of {cloud}", did_you_mean(spec.region, regions) or f"known: {one_of(regions)}", value=spec.region
        )
    target = targets.get(cloud)
    for key in target.required_options:
        if not getattr(getattr(spec, cloud), key):
            raise ConfigError(f"{cloud}.{to_camel(key)}", f"is required when cloud is {cloud}")
    for need in contracts.NEEDS:
        if need.asks(spec) and not target.offers(need.kind):
            raise ConfigError(
                need.path,
                f"needs a {need.kind}, which the {target.display_name} target does not offer",
                f"{need.hint}; {target.display_name} offers: {', '.join(sorted(target.kinds()))}",
                value=need.value(spec),
            )

    zone_info = catalog.zones(cloud, spec.region)
    if zone_info is not None and spec.zone_count > zone_info.count and (strict or not zone_info.listed):
        where = f"region {spec.region} has {zone_info.count}" if zone_info.listed else f"{cloud} regions have at most {zone_info.count}"
        default = "" if spec.network.zones else f" (the {spec.environment} default)"
        hint = f"set network.zones: {zone_info.count}" if zone_info.count >= 2 else "choose a region with at least 2 zones"
        if zone_info.listed:
            hint += "; if your account has more zones there, set regionCheck: off"
        raise ConfigError("network.zones", f"asks for {spec.zone_count} zones{default}, but {where}", hint, value=spec.zone_count)

    replica = spec.storage.replica_region
    if replica is not None and replica != "none":
        if regions and replica not in regions:
            raise ConfigError(
                "storage.replicaRegion",
                f"is not a region of {cloud}",
                did_you_mean(replica, regions) or "a region name, or 'none' for a single region",
                value=replica,
            )
        if replica == spec.region:
            raise ConfigError("storage.replicaRegion", "must differ from region (the copy must survive a regional outage)", value=replica)

    bucket_names = [b.name for b in spec.storage.buckets]
    for i, b in enumerate(spec.storage.buckets):
        if b.name in RESERVED_BUCKETS:
            raise ConfigError(
                f"storage.buckets[{i}].name", f"is reserved: {RESERVED_BUCKETS[b.name]}", "choose another bucket name", value=b.name
            )
        base = f"{spec.prefix}-{b.name}"
        if len(base) > MAX_BUCKET_BASE:
            raise ConfigError(
                f"storage.buckets[{i}].name",
                f"makes the physical name {base!r} longer than {MAX_BUCKET_BASE} characters",
                "use a shorter name or spec name",
                value=b.name,
            )
        bucket_for_env(spec.is_prod, b, f"storage.buckets[{i}]")

    cluster = spec.cluster
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
    for i, pool in enumerate(cluster.gpu_pools):
        path = f"cluster.gpuPools[{i}]"
        catalog.resolve_gpu(cloud, pool.gpu, pool.gpus_per_node, "nodepool", spec.region, f"{path}.gpu", check_region=strict)

    _unique([e.name for e in spec.endpoints], "endpoints")
    for i, ep in enumerate(spec.endpoints):
        path = f"endpoints[{i}]"
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
        endpoint_for_env(spec.is_prod, ep, path)
        if ep.on_cluster:
            # The key is the model's folder: its identity may read exactly that prefix (BucketGrant).
            try:
                check_prefix(ep.model.artifact.key.strip("/") + "/", f"{path}.model.artifact.key")
            except ConfigError as err:
                raise ConfigError(
                    err.path,
                    "cannot be a cluster endpoint's model folder: its read access is granted on exactly this prefix",
                    err.hint or "letters, digits, '/' and . _ = + @ , : ! ( ) - only, no empty, '.' or '..' segment",
                    value=ep.model.artifact.key,
                ) from None
        if ep.gpu is not None and not ep.on_cluster:
            catalog.resolve_gpu(cloud, ep.gpu, ep.gpus_per_instance, "endpoint", spec.region, f"{path}.gpu", check_region=strict)

    if spec.monitoring.enabled and not cluster.enabled:
        raise ConfigError("monitoring.enabled", "needs a cluster, but cluster.enabled is false", "set monitoring.enabled: false")
    if spec.gpu.sharing.mode == "mig":
        bad = [p.gpu for p in cluster.gpu_pools if p.gpu not in MIG_CAPABLE]
        if bad:
            raise ConfigError(
                "gpu.sharing.mode", f"needs MIG-capable GPUs, but pool GPU {bad[0]!r} is not one", f"MIG GPUs: {one_of(MIG_CAPABLE)}", value="mig"
            )
    if spec.namespaces and not cluster.enabled:
        raise ConfigError("namespaces", "needs a cluster, but cluster.enabled is false", "remove namespaces or enable the cluster")
    _unique([n.name for n in spec.namespaces], "namespaces")
    for i, ns in enumerate(spec.namespaces):
        if ns.name in RESERVED_NAMESPACES:
            raise ConfigError(
                f"namespaces[{i}].name", "is reserved for the platform", f"reserved: {', '.join(sorted(RESERVED_NAMESPACES))}", value=ns.name
            )
    _validate_tracking(spec, bucket_names)  # last: a bad bucket, cluster or namespace is reported first

def _model_folders_apart(spec: MlopsSpec) -> None:
    """No cluster endpoint's model folder is a string prefix of another artifact key in its
    bucket (``v1`` and ``v10``, or ``v1`` and ``v1/extra``). KServe v0.20.0 lists an Azure Blob
    folder without its trailing '/' and downloads every blob the listing returns: with the
    folder's exact grant the other model's blobs are refused and the download fails; without it
    they would land in this model's directory. S3 and GCS list with the '/', but the spec
    stays valid on every cloud or on none."""
    keys = [(f"endpoints[{j}].model.artifact.key", e.model.artifact.bucket, e.model.artifact.key.strip("/")) for j, e in enumerate(spec.endpoints)]
    if spec.tracking.enabled:
        keys.append(("tracking (MLflow artifacts)", spec.tracking.bucket, TRACKING_PREFIX.strip("/")))
    for i, ep in enumerate(spec.endpoints):
        folder = ep.model.artifact.key.strip("/")
        if not ep.on_cluster:
            continue
        for where, bucket, key in keys:
            if bucket == ep.model.artifact.bucket and key != folder and key.startswith(folder):
                raise ConfigError(
                    f"endpoints[{i}].model.artifact.key",
                    f"is a string prefix of {where} {key!r} in bucket {bucket!r}: KServe lists a model folder on Azure Blob without its "
                    "trailing '/' and would download the other folder's files too",
                    "rename one folder so that neither name starts with the other: v01 and v10, not v1 and v10",
                    value=ep.model.artifact.key,
                )


def _validate_tracking(spec: MlopsSpec, bucket_names: list[str]) -> None:
    """The tracking rules that span sections (``validate``'s last step), and the model folders
    of cluster endpoints against each other and the tracking artifacts."""
    tracking = spec.tracking
    if tracking.enabled:
        if tracking.bucket not in bucket_names:
            raise ConfigError(
                "tracking.bucket",
                "is not one of storage.buckets",
                did_you_mean(tracking.bucket, bucket_names) or f"buckets: {one_of(bucket_names)}",
                value=tracking.bucket,
            )
        if tracking.mode == "self-hosted" and not spec.cluster.enabled:
            # cluster.inCluster: false is fine: the first phase of a two-phase first apply
            # creates the database, the second the server (docs/first-apply.md).
            raise ConfigError(
                "tracking.mode",
                "runs in the cluster, but cluster.enabled is false",
                "enable the cluster, or use mode: managed where the target offers it",
                value=tracking.mode,
            )
    _model_folders_apart(spec)


# ---------------------------------------------------------------------------------
# Reading Pulumi config.


#: Top-level keys whose values are text even when they look like JSON ("123").
_TEXT_KEYS = frozenset({"cloud", "region", "environment", "name"})


def _no_constant(name: str) -> Any:
    raise ValueError(name)


def _namespace_like(namespace: str) -> str:
    return re.sub(r"[^a-z0-9]", "", namespace.lower())


def raw_from_config_values(values: Mapping[str, Any], namespace: str = "mlops-stack") -> dict[str, Any]:
    """``{"mlops-stack:cluster": "<json>"}`` -> ``{"cluster": {...}}``.

    Pulumi hands structured config to the program as JSON text; plain values as text.
    Keys of other namespaces (``aws:region``) are ignored, but a namespace that looks
    like ours (``mlops-stak``, ``MLOPS-STACK``, ``mlops_stack``) is an error: its keys
    would otherwise be dropped silently and defaults deployed.
    """
    raw: dict[str, Any] = {}
    prefix = namespace + ":"
    ours = _namespace_like(namespace)
    for key in sorted(values):
        value = values[key]
        if not key.startswith(prefix):
            space, colon, name = key.partition(":")
            if colon and space != namespace and (_namespace_like(space) == ours or did_you_mean(space, [namespace])):
                raise ConfigError(key, f"is not in the {namespace} namespace", f"did you mean '{namespace}:{name}'?")
            continue
        name = key[len(prefix) :]
        if not name:
            raise ConfigError("config", f"key {key!r} has no name after the namespace", f"write {namespace}:<key>, e.g. {namespace}:cloud")
        if isinstance(value, str) and name not in _TEXT_KEYS:
            try:
                value = json.loads(value, parse_constant=_no_constant)
            except ValueError:
                pass
        raw[name] = value
    return raw


def spec_from_pulumi_config(namespace: str = "mlops-stack") -> MlopsSpec:
    """Load the spec from the running Pulumi program's config."""
    from pulumi.runtime import config as runtime_config

    values = dict(runtime_config.CONFIG.get())
    return load_spec(raw_from_config_values(values, namespace))
