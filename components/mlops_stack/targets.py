"""Target plugins: how the rest of the package learns which clouds exist.

A *target* is one folder that registers one :class:`Target` object describing it (its
provider factory, the capabilities it offers, its checks, its offline mock outputs,
its price region, ...). Targets are found through the ``mlops_stack.targets`` entry
point group, so one can live out of tree::

    [project.entry-points."mlops_stack.targets"]
    toy = "toy_target:TARGET"

Built-in targets are also found by scanning this package's folders for a ``target.py``
(a source checkout on ``PYTHONPATH`` has no entry points). Nothing here names a cloud:
spec, stack, engine, compare and the CLI ask this module.

Discovery imports each ``target.py`` and nothing else: a target's provider SDK and
capability modules load only when a stack uses them.
"""

from __future__ import annotations

import csv
import functools
import importlib
import importlib.util
import inspect
import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from importlib import resources
from importlib.metadata import entry_points
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pulumi

import mlops_stack
from mlops_stack.contracts import KIND_MODULES
from mlops_stack.errors import ConfigError, did_you_mean

if TYPE_CHECKING:
    from mlops_stack.spec import MlopsSpec

#: The entry-point group a target registers under.
ENTRY_POINT_GROUP = "mlops_stack.targets"
#: The folder of a target's package holding its catalog tables (``catalog.py`` reads them).
CATALOG_FOLDER = "catalog"


@dataclass(frozen=True, kw_only=True)
class ProviderRequest:
    """What a target's provider factory gets: one object, so fields can be added later."""

    name: str  #: the provider's logical name: ``<stack name>-<target name>`` (``mlops-aws``)
    spec: MlopsSpec
    #: The stack's ``<provider package>:*`` Pulumi config, top-level keys snake_cased.
    config: Mapping[str, Any]
    opts: pulumi.ResourceOptions  #: parent = the stack
    package: str = ""  #: the provider's Pulumi package (``aws``): the prefix of its config keys


def _load(ref: str) -> Any:
    """``"package.module:attr"`` -> the object, imported now."""
    module, _, attr = ref.partition(":")
    obj: Any = importlib.import_module(module)
    for part in attr.split(".") if attr else ():
        obj = getattr(obj, part)
    return obj


@dataclass(frozen=True, kw_only=True)
class Target:
    """One deployment target (a cloud, or anything that can host the capabilities).

    References to code are ``"module:attr"`` strings, imported on first use, so that
    discovering a target costs one small import.
    """

    name: str  #: the value of ``mlops-stack:cloud``, and the spec key of its own options
    display_name: str  #: ``AWS``: in messages and docs
    package: str  #: where the capability modules live (``mlops_stack.aws``)
    order: int = 100  #: position in messages, ``--compare`` columns and docs
    provider_package: str | None = None  #: Pulumi package of its provider; None: no explicit provider
    sdk_module: str | None = None  #: the provider SDK's Python module (``pulumi_aws``)
    extra: str | None = None  #: the pip extra that installs it (``mlops-stack[aws]``)
    provider: str | None = None  #: ``"module:function"`` building the provider from a ProviderRequest
    #: Provider arguments set from the spec: argument -> (spec key path, value getter). The
    #: same key in the stack's provider config must agree; where the spec leaves it unset
    #: (None), the provider config's value stands.
    spec_provider_keys: Mapping[str, tuple[str, Callable[[MlopsSpec], Any]]] = field(default_factory=dict)
    #: ``"module:Class"``: the pydantic model of its own spec section (``mlops-stack:<name>``),
    #: which ``spec.spec_model()`` adds to the spec; None: no section.
    options_model: str | None = None
    required_options: tuple[str, ...] = ()  #: keys of its spec section that must be set
    #: capability kind -> ``"module:Class"``; None: by convention, ``<package>.<module>``
    #: per ``contracts.KIND_MODULES`` where that module exists.
    capabilities: Mapping[str, str] | None = None
    checks: str | None = None  #: ``"module:function"`` run on the spec before any resource
    mock_outputs: Mapping[str, str] = field(default_factory=dict)  #: Pulumi package -> offline mock module
    price_region: str = ""  #: the region the catalog's prices are for (``--compare`` uses it)
    #: Spec sections filled with placeholders when ``--compare`` switches a spec to this target.
    compare_defaults: Mapping[str, Mapping[str, str]] = field(default_factory=dict)
    region_config_key: str | None = None  #: the provider's region config key (``aws:region``), for the policy pack
    uri_scheme: str = ""  #: how its ArtifactStore's ``bucket_uris`` start (``s3://``): the contract test checks it
    #: The package holding its ``preflight`` and ``smoke`` modules (``mlops-stack preflight``); None: none.
    ops: str | None = None

    def kinds(self) -> tuple[str, ...]:
        """The capability kinds it offers, in ``contracts.KIND_MODULES`` order (others last)."""
        if self.capabilities is not None:
            known = [k for k in KIND_MODULES if k in self.capabilities]
            return tuple(known + sorted(k for k in self.capabilities if k not in KIND_MODULES))
        return tuple(k for k in KIND_MODULES if self.offers(k))

    def offers(self, kind: str) -> bool:
        """Whether it implements ``kind``, without importing the capability module."""
        if self.capabilities is not None:
            return kind in self.capabilities
        module = KIND_MODULES.get(kind)
        return module is not None and _module_exists(f"{self.package}.{module}")

    def component(self, kind: str) -> type[pulumi.ComponentResource]:
        """The class implementing ``kind`` (imports its module now)."""
        if not self.offers(kind):
            raise ConfigError("cloud", f"has no {kind}; the {self.display_name} target offers: {', '.join(self.kinds())}", value=self.name)
        if self.capabilities is not None:
            return _load(self.capabilities[kind])
        return getattr(importlib.import_module(f"{self.package}.{KIND_MODULES[kind]}"), kind)

    def options(self) -> type | None:
        """The model of its spec section (imports its ``options`` module now)."""
        return _load(self.options_model) if self.options_model else None

    def make_provider(self, req: ProviderRequest) -> pulumi.ProviderResource | None:
        """Its explicit provider for a stack, or None when it has no provider factory."""
        if self.provider is None:
            return None
        return _load(self.provider)(req)

    def pricing(self) -> Any:
        """Its ``pricing`` module (``RULES``: resource type -> rule, for the cost estimate),
        or None when it prices nothing."""
        module = f"{self.package}.pricing"
        return importlib.import_module(module) if _module_exists(module) else None

    def catalog_rows(self, table: str) -> list[dict[str, str]]:
        """The rows of its catalog table ``table`` (``gpus.csv``, ``fees.csv``, ...), found by
        convention in ``<package>/catalog/`` (package data, with its ``SOURCES.md``); none
        when it has no such file. Each row's ``cloud`` column, where the table has one, must
        name this target."""
        ref = resources.files(self.package).joinpath(CATALOG_FOLDER, table)
        if not ref.is_file():
            return []
        with ref.open(encoding="utf-8") as fh:
            rows = [{k.strip(): (v or "").strip() for k, v in row.items() if k} for row in csv.DictReader(fh)]
        wrong = sorted({r["cloud"] for r in rows if r.get("cloud", self.name) != self.name})
        if wrong:
            raise ValueError(f"{self.package}/{CATALOG_FOLDER}/{table}: rows of {', '.join(wrong)} in the {self.name} target's catalog")
        return rows

    def run_checks(self, spec: MlopsSpec) -> None:
        """Its own spec rules; without any, it rejects framework images (``reject_frameworks``)."""
        if self.checks is None:
            reject_frameworks(spec)
            return
        _load(self.checks)(spec)


@functools.cache
def _module_exists(name: str) -> bool:
    try:
        return importlib.util.find_spec(name) is not None
    except ModuleNotFoundError:
        return False


def _add(found: dict[str, tuple[Target, str]], name: str, obj: Any, source: str) -> None:
    if not isinstance(obj, Target):
        raise ConfigError("cloud", f"target {name!r} from {source} is not a mlops_stack.targets.Target", value=type(obj).__name__)
    if obj.name != name:
        raise ConfigError("cloud", f"target registered as {name!r} from {source} calls itself {obj.name!r}", "make the names equal")
    if name in found and found[name][0] is not obj:
        raise ConfigError("cloud", f"target {name!r} is registered twice: by {found[name][1]} and by {source}", "uninstall one of them")
    found.setdefault(name, (obj, source))


@functools.cache
def _registry() -> dict[str, Target]:
    found: dict[str, tuple[Target, str]] = {}
    for ep in entry_points(group=ENTRY_POINT_GROUP):
        dist = getattr(ep, "dist", None)
        _add(found, ep.name, ep.load(), f"{ep.value} ({dist.name if dist else 'unknown distribution'})")
    # Built-in targets in a source tree that was not installed (benchmarks, PYTHONPATH runs).
    # ``is_file``, not ``find_spec``: finding mlops_stack.k8s.target would import mlops_stack.k8s.
    for root in mlops_stack.__path__:
        for sub in sorted(Path(root).iterdir()):
            if sub.name not in found and (sub / "target.py").is_file():
                _add(found, sub.name, importlib.import_module(f"mlops_stack.{sub.name}.target").TARGET, str(sub))
    return {t.name: t for t, _ in sorted(found.values(), key=lambda v: (v[0].order, v[0].name))}


def reset() -> None:
    """Forget what was discovered (tests that install a target)."""
    _registry.cache_clear()
    _module_exists.cache_clear()


def all() -> tuple[Target, ...]:  # noqa: A001 - reads as targets.all()
    """Every installed target, in ``order``."""
    return tuple(_registry().values())


def names() -> tuple[str, ...]:
    return tuple(_registry())


def get(name: str) -> Target:
    """The target called ``name``; a ``ConfigError`` on ``cloud`` otherwise."""
    found = _registry().get(name)
    if found is None:
        known = names()
        raise ConfigError("cloud", f"must be one of {', '.join(known)}", did_you_mean(str(name), known), value=name)
    return found


def by_provider_package(package: str) -> Target | None:
    """The target whose provider is in Pulumi package ``package`` (``azure-native``)."""
    return next((t for t in all() if t.provider_package == package), None)


def mock_modules() -> dict[str, str]:
    """Pulumi package -> offline mock-output module, over every target."""
    out: dict[str, str] = {}
    for t in all():
        out.update(t.mock_outputs)
    return out


def _snake(key: str) -> str:
    return "".join(f"_{c.lower()}" if c.isupper() else c for c in key).lstrip("_")


def _camel(key: str) -> str:
    head, *rest = key.split("_")
    return head + "".join(p[:1].upper() + p[1:] for p in rest)


def _config_value(text: Any) -> Any:
    """Pulumi config values are text; objects, lists and booleans are JSON in that text."""
    if isinstance(text, str) and (text[:1] in ("{", "[") or text in ("true", "false")):
        try:
            return json.loads(text)
        except ValueError:
            return text
    return text


def provider_config(t: Target, spec: MlopsSpec) -> dict[str, Any]:
    """The arguments of ``t``'s stack provider: every ``<provider package>:<key>`` of the
    running stack's config (top-level keys snake_cased, structured values decoded, secrets
    kept secret), with the spec's values for ``t.spec_provider_keys`` over them.

    A provider key the spec also sets, with another value, is a ``ConfigError`` naming both:
    the stack would otherwise deploy somewhere its spec (and its checks) did not describe."""
    from pulumi.runtime import config as runtime_config

    pkg = t.provider_package
    out: dict[str, Any] = {}
    if pkg:
        for key, raw in sorted(runtime_config.CONFIG.get().items()):
            prefix, _, name = key.partition(":")
            if prefix != pkg or not name:
                continue
            value = _config_value(raw)
            out[_snake(name)] = pulumi.Output.secret(value) if runtime_config.is_config_secret(key) else value
    for arg, (path, value_of) in t.spec_provider_keys.items():
        ours = value_of(spec)
        if ours is None:
            continue
        theirs = out.get(arg)
        if theirs is not None and not isinstance(theirs, pulumi.Output) and theirs != ours:
            raise ConfigError(
                f"{pkg}:{_camel(arg)}", f"differs from mlops-stack:{path} ({ours})", f"remove {pkg}:{_camel(arg)} or make them equal", value=theirs
            )
        out[arg] = ours
    return out


def sdk_provider(req: ProviderRequest, sdk_module: str) -> pulumi.ProviderResource:
    """The ``Provider`` of SDK module ``sdk_module`` (imported now) for ``req``: its name, the
    stack's provider config checked by ``provider_args``, and its options. A target's
    factory when its provider needs nothing else."""
    cls = importlib.import_module(sdk_module).Provider
    provider: pulumi.ProviderResource = cls(req.name, **provider_args(cls, req), opts=req.opts)
    return provider


def provider_args(cls: type, req: ProviderRequest) -> dict[str, Any]:
    """``req.config`` checked against what provider class ``cls`` accepts: a key it does not
    know is a ``ConfigError`` naming the stack config key (not a ``TypeError`` at plan time)."""
    init = getattr(cls, "_internal_init", cls.__init__)
    known = [p for p in inspect.signature(init).parameters if p not in ("__self__", "self", "resource_name", "opts")]
    for arg in req.config:
        if arg not in known:
            pkg = req.package or "provider"
            raise ConfigError(
                f"{pkg}:{_camel(arg)}", "is not a setting of this provider", did_you_mean(_camel(arg), [_camel(k) for k in known]),
            )
    return dict(req.config)


def _sdk_error(t: Target) -> ConfigError:
    return ConfigError(
        "cloud",
        f"needs the {t.name} provider SDK ({t.sdk_module}), which is not installed here",
        f"pip install 'mlops-stack[{t.extra or t.name}]'",
        value=t.name,
    )


def require_sdk(name: str) -> None:
    """A ``ConfigError`` naming the extra to install if target ``name``'s provider SDK is missing."""
    t = get(name)
    if t.sdk_module is not None and not _sdk_installed(t.sdk_module):
        raise _sdk_error(t)


def _sdk_installed(module: str) -> bool:
    try:
        return importlib.util.find_spec(module) is not None
    except ModuleNotFoundError:
        return False


def missing_sdk(err: BaseException) -> ConfigError | None:
    """The ``ConfigError`` for an import of a provider SDK that is not installed, else None
    (a platform program importing ``mlops_stack.gcp`` in an AWS-only install)."""
    if isinstance(err, ModuleNotFoundError) and err.name:
        top = err.name.split(".", 1)[0]
        for t in all():
            if t.sdk_module == top:
                return _sdk_error(t)
    return None


def check(spec: MlopsSpec) -> None:
    """Target-specific rules, run after the neutral ones and before any resource exists:
    the target's provider SDK must be installed, then the target's own checks."""
    t = get(spec.cloud)
    require_sdk(t.name)
    t.run_checks(spec)


def reject_frameworks(spec: MlopsSpec) -> None:
    """For targets without framework images: an endpoint must name its image."""
    for i, ep in enumerate(spec.endpoints):
        if ep.model.framework is not None and not ep.on_cluster:
            raise ConfigError(
                f"endpoints[{i}].model.framework",
                f"framework images are not available on {spec.cloud}",
                "set model.image to a serving container image URI",
                value=ep.model.framework.name,
            )
