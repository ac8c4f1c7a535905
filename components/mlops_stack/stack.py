"""``MlopsStack``: the whole environment for one target, from one spec.

It builds the slots of ``composition.SLOTS`` in order (network -> keys -> storage,
registries -> cluster -> GPU pools -> Kubernetes layer -> endpoints): each slot the spec
wants and the target offers (``targets.get(spec.cloud).component(kind)``); the spec has
already rejected what it asks for and the target lacks (``contracts.NEEDS``). It names no
capability and no cloud: a new capability is a new slot, not an edit here. Outputs use
the common names of the architecture, in slot order.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pulumi

from mlops_stack import composition, targets
from mlops_stack.args import Env, child_opts, merge_opts
from mlops_stack.spec import MlopsSpec


class MlopsStack(pulumi.ComponentResource):
    """``mlops:index:MlopsStack``: every capability of the spec on ``spec.cloud``.

    Each slot of ``composition.SLOTS`` is an attribute named by its key: a component (or
    None) for a one-instance slot, a list for a per-entry slot (``[]`` when not built).
    """

    network: Any
    keys: Any
    store: Any
    registry: Any
    model_registry: Any
    cluster: Any
    gpu_pools: list[Any]
    k8s: Any
    endpoints: list[Any]
    #: Every target component the stack made, by kind (``{"GpuNodePool": [...]}``).
    components: dict[str, list[Any]]
    #: The stack outputs (the program exports them).
    outputs: dict[str, Any]

    def __init__(self, name: str, spec: MlopsSpec, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("mlops:index:MlopsStack", name, None, merge_opts(opts))
        self.spec = spec
        cloud = spec.cloud
        self.target = target = targets.get(cloud)
        # The caller's provider (opts.provider / opts.providers, or one inherited from the
        # caller's parent) wins; else the target's, from the spec and the stack's provider config.
        pkg = target.provider_package
        provider = self.get_provider(f"{pkg}:index:Provider") if pkg else None
        if provider is None:
            config = targets.provider_config(target, spec)
            provider = target.make_provider(targets.ProviderRequest(name=f"{name}-{cloud}", spec=spec, config=config, opts=child_opts(self), package=pkg or ""))
        providers = {pkg: provider} if provider is not None and pkg else {}
        build = composition.Build(
            name=name, spec=spec, env=Env.from_spec(spec), target=target, stack=self, opts=pulumi.ResourceOptions(parent=self, providers=providers)
        )
        self.outputs = {"cloud": spec.cloud, "region": spec.region, "environment": spec.environment}
        for slot in composition.SLOTS:
            made = _build_slot(slot, build)
            value = ([m.value for m in made] if slot.each is not None else made[0].value) if made is not None else ([] if slot.each is not None else None)
            build.built[slot.key] = value
            setattr(self, slot.key, value)
            if made is not None:
                build.made[slot.key] = made
                if slot.outputs is not None:
                    _merge_outputs(self.outputs, slot.outputs(build, made), slot.key)
        self.components = build.components
        self.register_outputs(self.outputs)


def _build_slot(slot: composition.Slot, b: composition.Build) -> list[composition.Made] | None:
    """Each instance of ``slot``, or None when the spec does not want it or the target lacks its kind."""
    if not slot.wanted(b.spec) or (slot.kind is not None and not b.target.offers(slot.kind)):
        return None
    entries = [(None, None)] if slot.each is None else list(slot.each(b.spec))
    made: list[composition.Made] = []
    for index, entry in entries:
        role = slot.role_for(entry)
        args = slot.args(b) if slot.each is None else slot.args(b, entry, index)
        if slot.create is not None:
            value = slot.create(b, role, args)
        elif slot.kind is not None:
            value = b.component(slot.kind, role, args)
        else:
            raise TypeError(f"slot {slot.key!r} has neither a kind nor a create")
        made.append(composition.Made(role=role, entry=entry, args=args, value=value))
    return made


def _merge_outputs(out: dict[str, Any], new: Mapping[str, Any], key: str) -> None:
    """Add a slot's outputs; two slots giving one output key must both give mappings (merged)."""
    for k, v in new.items():
        if k in out:
            if not (isinstance(out[k], Mapping) and isinstance(v, Mapping)):
                raise TypeError(f"slot {key!r} sets output {k!r}, which an earlier slot set to a non-mapping")
            out[k] = {**out[k], **v}
        else:
            out[k] = v
