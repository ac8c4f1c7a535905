"""The offline engine: run a Pulumi program under Pulumi's own mock runtime and record it.

``run_program`` configures ``pulumi.runtime.set_mocks`` with a ``RecordingMonitor``
(a ``MockMonitor`` subclass that keeps every registration's type, name, URN, parent,
custom flag, wire-level inputs and the resource options that matter) and
``RealisticMocks`` (outputs in each provider's real shape: ARNs, ``gs://`` URIs, cluster
endpoints, kubeconfigs). Tests and ``mlops-stack plan`` use this one engine.

Each run happens in a fresh ``contextvars`` context, so many plans can run one after
another in one process (tests) without leaking the root stack, config or settings.
"""

from __future__ import annotations

import asyncio
import contextvars
import functools
import gc
import hashlib
import importlib
import json
import re
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from google.protobuf import json_format

import pulumi
from pulumi.runtime import mocks as pulumi_mocks
from pulumi.runtime import rpc
from pulumi.runtime import settings as pulumi_settings
from pulumi.runtime.config import set_all_config
from pulumi.runtime.settings import get_root_resource, set_root_resource
from pulumi.runtime.stack import run_pulumi_func
from pulumi.runtime.sync_await import _sync_await

# Pulumi's autonaming, ``<logical name>-<7 hex>``, refusing what does not fit.
from mlops_stack import targets
from mlops_stack.naming import AUTONAME_RANDLEN, AUTONAME_SEPARATOR, too_long

#: Generation-0 collection threshold while a plan runs (Python's default is 700).
GC_THRESHOLD = 100_000

#: How secrets and unknowns appear in recorded inputs and outputs.
SECRET = "[secret]"
UNKNOWN = "[unknown]"



@dataclass
class Registration:
    """One resource registration as the engine saw it."""

    urn: str
    type: str
    name: str
    parent: str | None
    custom: bool
    inputs: dict[str, Any]
    protect: bool
    retain_on_delete: bool
    dependencies: list[str]
    provider: str
    delete_before_replace: bool = False
    ignore_changes: list[str] = field(default_factory=list)
    replace_on_changes: list[str] = field(default_factory=list)
    additional_secret_outputs: list[str] = field(default_factory=list)
    property_dependencies: dict[str, list[str]] = field(default_factory=dict)
    id: str = ""
    outputs: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """The plan contract (``mlops-stack plan --format json``), plus option extras."""
        return {
            "urn": self.urn,
            "type": self.type,
            "name": self.name,
            "parent": self.parent,
            "custom": self.custom,
            "inputs": self.inputs,
            "protect": self.protect,
            "retainOnDelete": self.retain_on_delete,
            "dependencies": self.dependencies,
            "provider": self.provider,
            "deleteBeforeReplace": self.delete_before_replace,
            "ignoreChanges": self.ignore_changes,
            "propertyDependencies": self.property_dependencies,
        }


@dataclass
class Plan:
    project: str
    stack: str
    resources: list[Registration]
    outputs: dict[str, Any]
    config: dict[str, str] = field(default_factory=dict)

    def of_type(self, type_: str) -> list[Registration]:
        return [r for r in self.resources if r.type == type_]

    def one(self, type_: str, name: str | None = None) -> Registration:
        found = [r for r in self.of_type(type_) if name is None or r.name == name]
        if len(found) != 1:
            raise AssertionError(f"expected one {type_} named {name!r}, found {[r.name for r in found]}")
        return found[0]

    def by_urn(self) -> dict[str, Registration]:
        return {r.urn: r for r in self.resources}

    def children(self, urn: str) -> list[Registration]:
        return [r for r in self.resources if r.parent == urn]

    def type_counts(self) -> dict[str, int]:
        counts: dict[str, int] = {}
        for r in self.resources:
            counts[r.type] = counts.get(r.type, 0) + 1
        return counts


# ---------------------------------------------------------------------------------
# Turning wire values into plain JSON-able data.

_SIG = rpc._special_sig_key
_SECRET_SIG = rpc._special_secret_sig
_RESOURCE_SIG = rpc._special_resource_sig
_OUTPUT_SIG = rpc._special_output_value_sig
_UNKNOWN_VALUE = rpc.UNKNOWN


def plain(value: Any) -> Any:
    """A wire value (from ``MessageToDict`` of a Struct) as plain data, secrets masked."""
    if isinstance(value, dict):
        sig = value.get(_SIG)
        if sig == _SECRET_SIG:
            return SECRET
        if sig == _RESOURCE_SIG:
            return value.get("urn", "")
        if sig == _OUTPUT_SIG:
            if value.get("secret"):
                return SECRET
            return plain(value["value"]) if "value" in value else UNKNOWN
        return {k: plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [plain(v) for v in value]
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if value == _UNKNOWN_VALUE:
        return UNKNOWN
    return value


def _struct_to_plain(struct: Any) -> dict[str, Any]:
    return plain(json_format.MessageToDict(struct, preserving_proto_field_name=True))


# ---------------------------------------------------------------------------------
# Realistic outputs, one module per provider package (loaded on first use): each
# target's (``Target.mock_outputs``) plus the cloud-independent Kubernetes layer's.

_OUTPUT_MODULES = {
    "kubernetes": "mlops_stack.k8s.mocks",
    "random": "mlops_stack.k8s.mocks",
}


def _output_module(package: str) -> str | None:
    return _OUTPUT_MODULES.get(package) or targets.mock_modules().get(package)


def short_hash(*parts: str, length: int = 7) -> str:
    return hashlib.sha1("/".join(parts).encode()).hexdigest()[:length]


class NameTooLong(ValueError):
    """A name the provider would refuse: an autoname over the property's maximum length, or
    an explicit name over the API's. The engine turns it into a ``ConfigError`` naming the
    spec keys the name was built from."""

    def __init__(self, name: str, max_length: int, *, auto: bool, what: str = "", source: str = "", randlen: int = AUTONAME_RANDLEN) -> None:
        self.name, self.max_length, self.auto, self.what, self.source, self.randlen = name, max_length, auto, what, source, randlen
        if auto:
            text = f"name '{name}' plus {randlen} random chars is longer than maximum length {max_length}"
        else:
            text = f"name '{name}' ({len(name)} characters) is longer than maximum length {max_length}"
        super().__init__(text)


@dataclass(frozen=True)
class AutoNameRule:
    """How the provider fills a resource's name property when the program leaves it out, and
    the longest name the API takes there. One row per type in a target's ``AUTONAMES``,
    each with its ``source`` (provider ``resources.go`` autoname field, API limit)."""

    property: str
    max_length: int
    lower: bool = False
    separator: str = AUTONAME_SEPARATOR
    randlen: int = AUTONAME_RANDLEN
    #: Extra characters the provider adds around the autoname (``alias/`` of a KMS alias).
    prefix: str = ""
    #: Inputs that make the provider name the resource another way (``namePrefix``).
    conflicts: tuple[str, ...] = ()
    source: str = ""

    def name(self, logical: str) -> str:
        base = logical.lower() if self.lower else logical
        prefix = self.prefix + base + self.separator
        if len(prefix) + self.randlen > self.max_length:
            raise NameTooLong(prefix, self.max_length, auto=True, what=self.property, source=self.source, randlen=self.randlen)
        return prefix + short_hash(logical, length=self.randlen)

    def check(self, value: str) -> None:
        if len(value) > self.max_length:
            raise NameTooLong(value, self.max_length, auto=False, what=self.property, source=self.source)


def auto_name(name: str, *, max_length: int = 255, lower: bool = False) -> str:
    """What Pulumi auto-naming produces: the logical name, ``-`` and 7 hex characters
    (deterministic here); a name too long for ``max_length`` raises ``NameTooLong`` as
    Pulumi refuses it (the default 255 is the bridge's ``SetAutonaming`` default)."""
    return AutoNameRule("name", max_length, lower=lower).name(name)


def _config_leaves(value: Any, path: str) -> list[tuple[str, str]]:
    if isinstance(value, dict):
        return [leaf for k, v in value.items() for leaf in _config_leaves(v, f"{path}.{k}" if path else str(k))]
    if isinstance(value, list):
        return [leaf for i, v in enumerate(value) for leaf in _config_leaves(v, f"{path}[{i}]")]
    return [(path, value)] if isinstance(value, str) else []


def spec_keys_in(logical: str, config: Mapping[str, str], project: str) -> list[tuple[str, str]]:
    """The spec keys (``name``, ``endpoints[0].name``) whose values make up ``logical``, a
    resource's logical name: each value found as whole dash-separated words, longest first."""
    found: list[tuple[str, str]] = []
    for key, raw in config.items():
        # The project's keys as the spec names them (``endpoints[0].name``), others whole.
        top = key[len(project) + 1 :] if key.startswith(project + ":") else key
        value: Any = raw
        if raw[:1] in "[{":
            try:
                value = json.loads(raw)
            except ValueError:
                value = raw
        for path, text in _config_leaves(value, top):
            if len(text) >= 2 and re.search(rf"(?:^|-){re.escape(text)}(?:-|$)", logical):
                found.append((path, text))
    return sorted(found, key=lambda kv: (-len(kv[1]), kv[0]))


def name_error(err: NameTooLong, type_: str, logical: str, ctx: "MockContext") -> Exception:
    """The one-line ``ConfigError`` for a name the provider would refuse (``naming.too_long``)."""
    keys = spec_keys_in(logical, ctx.config, ctx.project) or [(f"resource {logical!r}", logical)]
    return too_long(keys, type_, err.name, err.max_length, auto=err.auto, what=err.what or "name", source=err.source, randlen=err.randlen)


@dataclass
class MockContext:
    """What an output rule may read: the run's region/project and its providers."""

    project: str
    stack: str
    config: Mapping[str, str]
    providers: dict[str, dict[str, Any]] = field(default_factory=dict)

    def provider_inputs(self, provider_ref: str | None) -> dict[str, Any]:
        if not provider_ref:
            return {}
        urn = provider_ref.split("::")
        key = "::".join(urn[:-1]) if len(urn) > 1 else provider_ref
        return self.providers.get(key, {})

    def __getattr__(self, name: str) -> Any:
        """Deprecated: the per-target helpers (a region or project from the provider, the
        config or a default) are functions ``<name>(ctx, ...)`` of the targets' mock
        modules now; ``ctx.<name>(...)`` still finds them until the open branches rebase."""
        if not name.startswith("_"):
            for module in _mock_modules():
                helper = getattr(module, name, None)
                if callable(helper):
                    return functools.partial(helper, self)
        raise AttributeError(f"{type(self).__name__!r} object has no attribute {name!r}")


def _mock_modules() -> list[Any]:
    return [importlib.import_module(m) for m in sorted(set(targets.mock_modules().values()))]


def __getattr__(name: str) -> Any:
    """Deprecated: the fake offline identities (an account ID, a subscription, a tenant) live
    in the targets' mock modules; importing them from here still works until the open
    branches rebase."""
    if name.isupper():
        for module in _mock_modules():
            if hasattr(module, name):
                return getattr(module, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


class RealisticMocks(pulumi_mocks.Mocks):
    def __init__(self, ctx: MockContext) -> None:
        self.ctx = ctx
        self._rules: dict[str, Any] = {}

    def _module(self, token: str) -> Any:
        package = token.split(":", 1)[0]
        if package == "pulumi" and token.startswith("pulumi:providers:"):
            package = token.split(":")[2]
        if package not in self._rules:
            mod_name = _output_module(package)
            self._rules[package] = importlib.import_module(mod_name) if mod_name else None
        return self._rules[package]

    def new_resource(self, args: pulumi_mocks.MockResourceArgs) -> tuple[str | None, dict]:
        inputs = dict(args.inputs)
        if args.typ.startswith("pulumi:providers:"):
            return f"{args.name}-provider-id", inputs
        if not args.custom:
            return "", {}
        try:
            return self._new_resource(args)
        except NameTooLong as err:
            raise name_error(err, args.typ, args.name, self.ctx) from None

    def _new_resource(self, args: pulumi_mocks.MockResourceArgs) -> tuple[str | None, dict]:
        mod = self._module(args.typ)
        naming = getattr(mod, "AUTONAMES", {}).get(args.typ) if mod else None
        if naming is not None:
            given = args.inputs.get(naming.property)
            if isinstance(given, str) and given and given != _UNKNOWN_VALUE:
                naming.check(given)
            elif given is None and not any(args.inputs.get(k) for k in naming.conflicts):
                # What the provider's Check fills in before the resource is created.
                args.inputs[naming.property] = naming.name(args.name)
        rule = getattr(mod, "RESOURCES", {}).get(args.typ) if mod else None
        if rule is None:
            default = getattr(mod, "default_resource", None) if mod else None
            if default is not None:
                return default(self.ctx, args)
            return auto_name(args.name), dict(args.inputs)
        return rule(self.ctx, args)

    def call(self, args: pulumi_mocks.MockCallArgs) -> dict:  # type: ignore[override]
        mod = self._module(args.token)
        rule = getattr(mod, "CALLS", {}).get(args.token) if mod else None
        if rule is None:
            raise NotImplementedError(f"the offline engine has no mock for the function {args.token}")
        return rule(self.ctx, args)


class RecordingMonitor(pulumi_mocks.MockMonitor):
    """A MockMonitor that keeps every registration with the options that matter."""

    def __init__(self, mocks: RealisticMocks) -> None:
        super().__init__(mocks)
        self.registrations: list[Registration] = []
        self.stack_urn: str | None = None
        self._ctx = mocks.ctx

    def RegisterResource(self, request: Any) -> Any:  # noqa: N802 - gRPC method name
        if request.type == "pulumi:pulumi:Stack":
            response = super().RegisterResource(request)
            self.stack_urn = response.urn
            return response
        inputs = _struct_to_plain(request.object)
        if request.type.startswith("pulumi:providers:"):
            # Provider config (region, project, ...) for the output rules of its resources.
            urn = self.make_urn(request.parent, request.type, request.name)
            self._ctx.providers[urn] = inputs
        response = super().RegisterResource(request)
        parent = request.parent or None
        if parent == self.stack_urn:
            parent = None
        self.registrations.append(
            Registration(
                urn=response.urn,
                type=request.type,
                name=request.name,
                parent=parent,
                custom=bool(request.custom),
                inputs=inputs,
                protect=bool(request.protect) if request.HasField("protect") else False,
                retain_on_delete=bool(request.retainOnDelete) if request.HasField("retainOnDelete") else False,
                dependencies=list(request.dependencies),
                provider=request.provider,
                delete_before_replace=bool(request.deleteBeforeReplace),
                ignore_changes=list(request.ignoreChanges),
                replace_on_changes=list(request.replaceOnChanges),
                additional_secret_outputs=list(request.additionalSecretOutputs),
                property_dependencies={k: list(v.urns) for k, v in request.propertyDependencies.items() if v.urns},
                id=response.id,
                outputs=_struct_to_plain(response.object) if request.custom else {},
            )
        )
        return response


# ---------------------------------------------------------------------------------
# Running a program.


async def _resolve(value: Any) -> Any:
    out = pulumi.Output.from_input(value)
    if await out.is_secret():
        return SECRET
    if not await out.is_known():
        return UNKNOWN
    return _jsonable(await out.future())


def _jsonable(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if isinstance(value, (str, int, float, bool)) or value is None:
        return value
    if isinstance(value, pulumi.Resource):
        return getattr(value, "_name", str(value))
    return str(value)


def _run_in_context(program: Callable[[], Any], project: str, stack: str, config: dict[str, str], secret_keys: list[str]) -> Plan:
    set_root_resource(None)  # type: ignore[arg-type]
    set_all_config(dict(config), list(secret_keys))
    # ``set_mocks`` gives each run a new RPC manager but not a new set of pending outputs:
    # without these two lines every run shares one set, and the apply tasks a failed run
    # left behind were awaited by the next run, which then failed with the old error (an
    # IndexError from a bad zone count shown for the next stack's clean ConfigError).
    pulumi_settings.SETTINGS.outputs = set()
    pulumi_settings.SETTINGS.lock = threading.Lock()
    ctx = MockContext(project=project, stack=stack, config=config)
    mocks = RealisticMocks(ctx)
    monitor = RecordingMonitor(mocks)
    pulumi_mocks.set_mocks(mocks, project=project, stack=stack, preview=False, monitor=monitor)
    root = get_root_resource()

    async def main() -> dict[str, Any]:
        await run_pulumi_func(program)
        outputs = dict(getattr(root, "outputs", {}) or {})
        return {k: await _resolve(v) for k, v in outputs.items()}

    try:
        outputs = _sync_await(main())
    except BaseException as err:
        # What was registered before the failure (a bad spec must register nothing).
        err.offline_registrations = list(monitor.registrations)  # type: ignore[attr-defined]
        _cancel_leftovers()
        raise
    return Plan(project=project, stack=stack, resources=stable_order(monitor.registrations), outputs=outputs, config=dict(config))


def _cancel_leftovers() -> None:
    """Cancel the tasks a failed run left pending on the shared event loop, so that none
    of them runs (and fails) during the next plan in this process."""
    try:
        loop = asyncio.get_event_loop()
    except RuntimeError:
        return
    if loop.is_running() or loop.is_closed():
        return
    pending = [t for t in asyncio.all_tasks(loop) if not t.done()]
    for task in pending:
        task.cancel()
    if pending:
        loop.run_until_complete(asyncio.gather(*pending, return_exceptions=True))


def stable_order(registrations: list[Registration]) -> list[Registration]:
    """Registrations in a deterministic tree order (parents first, siblings by name).

    The engine registers resources concurrently, so arrival order varies from run to
    run; a plan must not, or two plans of the same spec would not diff clean.
    """
    children: dict[str | None, list[Registration]] = {}
    urns = {r.urn for r in registrations}
    for r in registrations:
        r.dependencies = sorted(r.dependencies)
        r.property_dependencies = {k: sorted(v) for k, v in sorted(r.property_dependencies.items())}
        children.setdefault(r.parent if r.parent in urns else None, []).append(r)
    out: list[Registration] = []
    stack = sorted(children.get(None, []), key=lambda r: (r.name, r.type), reverse=True)
    while stack:
        r = stack.pop()
        out.append(r)
        stack.extend(sorted(children.get(r.urn, []), key=lambda c: (c.name, c.type), reverse=True))
    return out


def run_program(
    program: Callable[[], Any],
    *,
    project: str = "mlops-stack",
    stack: str = "dev",
    config: Mapping[str, str] | None = None,
    secret_keys: list[str] | None = None,
) -> Plan:
    """Run ``program`` (a Pulumi program as a function) offline and return what it registered.

    ``config`` is the flat Pulumi config map (``{"mlops-stack:cloud": "<target>",
    "mlops-stack:cluster": "<json>"}``), exactly as the Pulumi CLI hands it to a program.
    Exceptions from the program (a ``ConfigError``) propagate unchanged.
    """
    ctx = contextvars.copy_context()
    # A plan creates tens of thousands of objects (mostly provider SDK classes on first
    # import) and almost no cyclic garbage: a high collection threshold for its duration
    # saves about a fifth of the run (benchmarks/plan.py).
    thresholds = gc.get_threshold()
    gc.set_threshold(GC_THRESHOLD, *thresholds[1:])
    try:
        return ctx.run(_run_in_context, program, project, stack, dict(config or {}), list(secret_keys or []))
    finally:
        gc.set_threshold(*thresholds)
