"""The same spec planned on every cloud, side by side.

The stack's own cloud keeps its region; the other clouds use the region the catalog
prices are for (so the figures compare like for like), and GCP a placeholder project
when the spec names none. A cloud on which the spec cannot be built (a GPU it does
not offer, say) shows that error instead of figures: no silent substitution.
"""

from __future__ import annotations

import json
from typing import Any

from mlops_stack import catalog, targets
from mlops_stack.errors import ConfigError
from mlops_stack.offline.cost import HOURS_PER_MONTH, estimate
from mlops_stack.offline.policy import policy_section
from mlops_stack.offline.stackfile import PROJECT, StackFile
from mlops_stack.spec import endpoint_pool, load_spec, raw_from_config_values


def config_for_cloud(stack_file: StackFile, cloud: str) -> dict[str, str]:
    """The stack's flat config with the cloud (and region, project) switched."""
    config = dict(stack_file.config)
    own = config.get(f"{PROJECT}:cloud")
    config[f"{PROJECT}:cloud"] = cloud
    target = targets.get(cloud)
    if own != cloud:
        # The region the catalog's prices are for, so the figures compare like for like.
        config[f"{PROJECT}:region"] = target.price_region
    # Keys a target cannot do without (a project ID, say), filled with placeholders.
    for key, defaults in target.compare_defaults.items():
        current = json.loads(config.get(f"{PROJECT}:{key}", "{}") or "{}")
        config[f"{PROJECT}:{key}"] = json.dumps({**defaults, **{k: v for k, v in current.items() if v}})
    return config


def _capability_counts(doc: dict[str, Any]) -> dict[str, int]:
    """Custom resources per capability (the nearest ``mlops:*`` component above them)."""
    by_urn = {r["urn"]: r for r in doc["resources"]}
    counts: dict[str, int] = {}
    for r in doc["resources"]:
        if not r["custom"] or r["type"].startswith("pulumi:providers:"):
            continue
        parent = by_urn.get(r["parent"] or "")
        while parent is not None and (parent["type"].startswith("mlops:index:") or not parent["type"].startswith("mlops:")):
            parent = by_urn.get(parent["parent"] or "")
        kind = parent["type"].rsplit(":", 1)[-1] if parent else "other"
        counts[kind] = counts.get(kind, 0) + 1
    return dict(sorted(counts.items()))


def _instances(spec: Any) -> dict[str, str]:
    out = {}
    for pool in spec.cluster.gpu_pools:
        offer = catalog.gpu_offer(spec.cloud, pool.gpu, pool.gpus_per_node, "nodepool")
        out[f"pool {pool.name}"] = offer.instance_type if offer else "not offered"
    for ep in spec.endpoints:
        if ep.on_cluster:
            # The same endpoint both ways: on the pool it runs on, and as a managed endpoint.
            pool = endpoint_pool(spec.cluster, ep)
            where = f"pool {pool.name}" if pool is not None else "general nodes"
            out[f"endpoint {ep.name} (cluster)"] = f"{where}, no cost beyond its nodes"
            out[f"endpoint {ep.name} if managed"] = _managed(spec.cloud, ep, with_price=True)
        else:
            out[f"endpoint {ep.name}"] = _managed(spec.cloud, ep)
    return out


def _managed(cloud: str, ep: Any, *, with_price: bool = False) -> str:
    """The managed instance type of an endpoint (with its monthly price at minInstances)."""
    offer: Any
    if ep.gpu:
        offer = catalog.gpu_offer(cloud, ep.gpu, ep.gpus_per_instance, "endpoint")
        if offer is None:
            return "not offered"
    else:
        offer = catalog.cpu_offer(cloud, ep.cpu_size or "small", "endpoint")
    if not with_price:
        return offer.instance_type
    if offer.usd_per_hour is None:
        return f"{offer.instance_type} (unpriced)"
    monthly = offer.usd_per_hour * HOURS_PER_MONTH * ep.min_instances
    return f"{offer.instance_type} x{ep.min_instances}, ${monthly:,.0f}/month"


def plan_on(stack_file: StackFile, cloud: str, options: Any) -> dict[str, Any]:
    # lazy: the engine and the stack program load Pulumi's SDK core, only when a plan runs.
    from mlops_stack.offline.engine import run_program
    from mlops_stack.program import main as program

    # A kind the spec asks for and the cloud lacks is the spec's own one-line error
    # (contracts.NEEDS); kinds the spec does not ask for (GCP has no managed MLflow) do not
    # stop the comparison.
    config = config_for_cloud(stack_file, cloud)
    try:
        spec = load_spec(raw_from_config_values(config))
        plan = run_program(program, stack=stack_file.stack, config=config, secret_keys=stack_file.secret_keys)
    except ConfigError as err:
        return {"cloud": cloud, "region": config.get(f"{PROJECT}:region"), "error": str(err)}
    doc = {
        "project": plan.project,
        "stack": plan.stack,
        "cloud": cloud,
        "resources": [r.to_dict() for r in plan.resources],
        "outputs": plan.outputs,
        "config": config,
    }
    return summary_row(cloud, spec, doc, options)


def summary_row(cloud: str, spec: Any, doc: dict[str, Any], options: Any,
                violations: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    """One cloud's column: counts, instance types, cost and policy findings of ``doc``
    (``violations``: the policy pack's findings on ``doc``, if already known)."""

    cost = estimate(doc["resources"], spec)
    out: dict[str, Any] = {
        "cloud": cloud,
        "region": spec.region,
        "resources": sum(1 for r in doc["resources"] if r["custom"]),
        "capabilities": _capability_counts(doc),
        "instances": _instances(spec),
        "monthlyMin": cost.monthly_min,
        "monthlyMax": cost.monthly_max,
        "unpriced": len(cost.unpriced),
    }
    if options.policy:
        if violations is None:
            violations = policy_section(doc, options.policy_config)["violations"]
        out["policy"] = {
            "mandatory": sum(1 for v in violations if v["level"] == "mandatory"),
            "advisory": sum(1 for v in violations if v["level"] == "advisory"),
        }
    return out


def own_row(stack_file: StackFile, doc: dict[str, Any], options: Any) -> dict[str, Any] | None:
    """The stack's own cloud's column, derived from its plan document ``doc`` (planned,
    checked and priced already) instead of planning the same spec a second time; None
    when the comparison would plan something else (a config ``config_for_cloud`` changes,
    or secrets, which the document masks and the comparison's policy run does not)."""

    own = stack_file.config.get(f"{PROJECT}:cloud")
    if not own or own not in targets.names() or doc.get("cloud") != own or stack_file.secret_keys:
        return None
    if config_for_cloud(stack_file, own) != stack_file.config:
        return None
    if options.policy and "policy" not in doc:
        return None
    spec = load_spec(raw_from_config_values(stack_file.config))
    same = {**doc, "config": dict(stack_file.config)}
    return summary_row(own, spec, same, options, doc["policy"]["violations"] if options.policy else None)


def compare_stack(stack_file: StackFile, options: Any) -> list[dict[str, Any]]:
    return [plan_on(stack_file, cloud, options) for cloud in targets.names()]
