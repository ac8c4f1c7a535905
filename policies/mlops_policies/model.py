"""The small data model the rules are written against (no pulumi-policy import here)."""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from .values import UNKNOWN, get, unwrap

PROD_NAMES = frozenset({"prod", "production", "prd", "live"})


@dataclass
class Res:
    """One resource as a rule sees it: plain inputs (``UNKNOWN`` for unknowns) and options."""

    type: str
    name: str
    urn: str = ""
    props: dict[str, Any] = field(default_factory=dict)
    protect: bool = False
    parent: str | None = None
    provider_type: str = ""
    provider_props: dict[str, Any] = field(default_factory=dict)
    dependencies: list[str] = field(default_factory=list)
    property_dependencies: dict[str, list[str]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not self.urn:
            self.urn = f"urn:pulumi:test::mlops-stack::{self.type}::{self.name}"

    def get(self, *path: str | int, default: Any = None) -> Any:
        return get(self.props, *path, default=default)

    @property
    def package(self) -> str:
        return self.type.split(":", 1)[0]


@dataclass
class Ctx:
    """What a rule may know about the stack: its name, config, tags and the rule's config."""

    stack: str = ""
    project: str = ""
    stack_config: dict[str, str] = field(default_factory=dict)
    stack_tags: dict[str, str] = field(default_factory=dict)
    config: dict[str, Any] = field(default_factory=dict)

    # -- environment ---------------------------------------------------------------
    def environment(self, res: Res | None = None) -> str:
        """The deployment environment, lowercase. See docs/policies.md, "Environment"."""
        explicit = self.config.get("environment")
        if isinstance(explicit, str) and explicit:
            return explicit.lower()
        for key in ("mlops-stack:environment", f"{self.project}:environment"):
            val = self.stack_config.get(key)
            if isinstance(val, str) and val:
                return val.lower()
        tag = self.stack_tags.get("environment")
        if tag:
            return tag.lower()
        for token in re.split(r"[-_./]", self.stack.lower()):
            if token in PROD_NAMES:
                return "prod"
            if token in ("dev", "development", "test", "staging", "stage", "qa", "sandbox", "ci"):
                return token
        if res is not None:
            tags = resource_tags(res)
            env = tags.get("environment") if isinstance(tags, dict) else None
            if isinstance(env, str) and env:
                return env.lower()
        return "dev"

    def is_prod(self, res: Res | None = None) -> bool:
        return self.environment(res) in PROD_NAMES


Check = Callable[[Res, Ctx], Iterable[str]]
StackCheck = Callable[[list[Res], Ctx], Iterable[tuple[str, str]]]
Remediate = Callable[[Res, Ctx], "dict[str, Any] | None"]


@dataclass(frozen=True)
class Rule:
    """One policy: metadata for the pack and the docs, plus a pure check function."""

    name: str
    description: str
    severity: str  # low | medium | high | critical
    enforcement: str  # advisory | mandatory | remediate | disabled
    remediation: str
    clouds: tuple[str, ...]  # aws | gcp | azure | kubernetes | any
    benchmarks: tuple[str, ...] = ()  # "checkov:CKV_AWS_51", "aws-fsbp:ECR.2", "cis-gke-1.5:5.3.1"
    types: frozenset[str] | None = None  # resource types the rule looks at (None = all)
    check: Check | None = None
    stack_check: StackCheck | None = None
    remediate: Remediate | None = None
    config: tuple[str, ...] = ()  # shared config properties the rule reads
    prod_only: bool = False

    @property
    def kind(self) -> str:
        return "stack" if self.stack_check is not None else "resource"

    def applies_to(self, type_: str) -> bool:
        return self.types is None or type_ in self.types


def res_from_plan(entry: Mapping[str, Any]) -> Res:
    """A plan-contract resource dict (the offline engine's format) as a ``Res``."""
    return Res(
        type=entry["type"],
        name=entry.get("name", ""),
        urn=entry.get("urn", ""),
        props=unwrap(entry.get("inputs") or {}),
        protect=bool(entry.get("protect", False)),
        parent=entry.get("parent"),
        dependencies=list(entry.get("dependencies") or []),
        property_dependencies={k: list(v) for k, v in (entry.get("propertyDependencies") or {}).items()},
    )


# ---------------------------------------------------------------------------------
# Tags and labels (shared by several rules).

#: Where each cloud keeps its key/value metadata on a resource.
_LABEL_FIELDS = {
    "gcp:container/cluster:Cluster": ("resourceLabels",),
    "gcp:container/nodePool:NodePool": ("nodeConfig", "resourceLabels"),
}


def tag_path(res: Res) -> tuple[str, ...]:
    if res.type in _LABEL_FIELDS:
        return _LABEL_FIELDS[res.type]
    if res.package == "gcp":
        return ("labels",)
    return ("tags",)


def resource_tags(res: Res) -> Any:
    """Tags (AWS, Azure) or labels (GCP) merged over the provider's defaults; may be UNKNOWN."""
    own = res.get(*tag_path(res))
    if own is UNKNOWN:
        return UNKNOWN
    merged: dict[str, Any] = {}
    if res.package == "aws":
        defaults = get(_provider_value(res, "defaultTags"), "tags")
    elif res.package == "gcp":
        defaults = _provider_value(res, "defaultLabels")
    else:
        defaults = None
    if defaults is UNKNOWN:
        return UNKNOWN
    if isinstance(defaults, dict):
        merged.update(defaults)
    if isinstance(own, dict):
        merged.update(own)
    return merged


def _provider_value(res: Res, key: str) -> Any:
    """A provider input; the wire format JSON-encodes non-string provider config values."""
    val = res.provider_props.get(key)
    if isinstance(val, str) and val[:1] in "{[":
        try:
            return unwrap(json.loads(val))
        except ValueError:
            return UNKNOWN
    return val


def provider_value(res: Res, key: str) -> Any:
    return _provider_value(res, key)
