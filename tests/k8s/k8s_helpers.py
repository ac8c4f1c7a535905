"""Helpers for the k8s layer tests: plan variants of the example stacks, find releases."""

from __future__ import annotations

import functools
import json
from collections import Counter
from typing import Any

from planning import STACKS, plan_config
from mlops_stack.offline.engine import Plan, Registration
from mlops_stack.offline.stackfile import read_stack_file

RELEASE = "kubernetes:helm.sh/v3:Release"


def stack_config(stack: str) -> dict[str, str]:
    return dict(read_stack_file(STACKS / f"Pulumi.{stack}.yaml").config)


def spec_value(stack: str, key: str, default: Any = None) -> Any:
    raw = stack_config(stack).get(f"mlops-stack:{key}")
    return default if raw is None else json.loads(raw)


def variant(stack: str, **changes: Any) -> dict[str, str]:
    """The stack's flat config with top-level spec keys merged (dicts) or replaced."""
    config = stack_config(stack)
    if "cluster" in changes and "endpoints" not in changes and "mlops-stack:endpoints" in config:
        # A variant that replaces the cluster (its pools) keeps the managed endpoints only:
        # the example's cluster endpoint names a pool the variant may not have.
        kept = [e for e in json.loads(config["mlops-stack:endpoints"]) if e.get("runsOn", "managed") != "cluster"]
        config["mlops-stack:endpoints"] = json.dumps(kept)
    for key, value in changes.items():
        full = f"mlops-stack:{key}"
        current = json.loads(config[full]) if full in config else None
        if isinstance(current, dict) and isinstance(value, dict):
            current = {**current, **value}
        else:
            current = value
        config[full] = json.dumps(current)
    return config


def plan_variant(stack: str, **changes: Any) -> Plan:
    """A plan of the stack with spec changes (cached: several tests share a variant)."""
    return _plan_variant(stack, json.dumps(changes, sort_keys=True))


@functools.cache
def _plan_variant(stack: str, changes: str) -> Plan:
    return plan_config(variant(stack, **json.loads(changes)), stack=stack)


def release(plan: Plan, chart: str) -> Registration:
    found = [r for r in plan.of_type(RELEASE) if r.inputs.get("chart") == chart]
    assert len(found) == 1, f"expected one {chart} release, found {[r.name for r in found]}"
    return found[0]


def releases(plan: Plan) -> dict[str, Registration]:
    """The k8s layer's Helm releases (a cloud's cluster may install its own, e.g. the EKS
    Cluster Autoscaler, as a child of the cluster component)."""
    urns = plan.by_urn()
    return {r.inputs["chart"].rsplit("/", 1)[-1]: r for r in plan.of_type(RELEASE) if urns[r.parent].type.startswith("mlops:k8s:")}


#: The namespaces cluster serving adds (a stack with a ``runsOn: cluster`` endpoint).
SERVING_NAMESPACES = frozenset({"serving", "kserve", "cert-manager"})


def serves_on_cluster(plan: Plan) -> bool:
    """Whether the plan has cluster endpoints (then ``mlops:k8s:Serving`` is in it)."""
    return any(r.type == "mlops:k8s:Serving" for r in plan.resources)


def descendants(plan: Plan, urn: str) -> list[Registration]:
    out: list[Registration] = []
    todo = [urn]
    while todo:
        parent = todo.pop()
        for child in plan.children(parent):
            out.append(child)
            todo.append(child.urn)
    return out


def type_counts(regs: list[Registration]) -> Counter[str]:
    return Counter(r.type for r in regs)


def count_diff(a: Plan, b: Plan) -> Counter[str]:
    """Per resource type, how many more ``a`` registers than ``b`` (signed; equal types left out)."""
    ca, cb = Counter(a.type_counts()), Counter(b.type_counts())
    return Counter({k: ca[k] - cb[k] for k in ca | cb if ca[k] != cb[k]})
