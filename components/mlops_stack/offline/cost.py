"""A monthly cost estimate from the planned resources and the catalog.

The estimate reads what the plan will create (each registration's type and inputs), not
the spec: each target's ``pricing`` module maps its resource types to ``Usage`` lines
(which catalog fee or machine price, how many). Usage the resources cannot tell (how many
GB a bucket will hold) comes from the spec. Every priced line carries its unit price,
source and retrieval date; anything the catalog has no price for is listed as unpriced,
never counted as zero. Figures are on-demand list prices in the catalog's price region:
estimates, not quotes. A month is 730 hours.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, replace
from typing import Any

from mlops_stack import catalog, targets
from mlops_stack.constants import POOL_LABEL
from mlops_stack.spec import MlopsSpec, endpoint_pool, nodes_kept

HOURS_PER_MONTH = 730
#: The order of the estimate's sections; a ``Usage`` names one.
SECTIONS = ("keys", "network", "storage", "replica", "traffic", "cluster", "pool", "endpoint", "tracking")
TRAFFIC = "depends on traffic volume, which the spec does not state"
#: The unpriced line that goes with every NAT gateway line (``Usage.note``).
NAT_NOTE = ("NAT data processing", TRAFFIC)
NO_SIZE = "no bucket states sizeGb"


@dataclass(frozen=True)
class FeeRef:
    """A fixed fee: ``row`` of the catalog's fees for the target; None: no price known."""

    role: str
    row: str | None


@dataclass(frozen=True)
class MachineRef:
    """An hourly machine price, looked up by the instance type the plan asks for."""

    instance_type: str
    use: catalog.Use
    gpus: int | None = None


@dataclass(frozen=True)
class Usage:
    """One line a pricing rule yields for one planned resource. Lines with the same
    section, position, component, item and price are summed; ``{n}`` in ``item`` is the
    summed quantity. ``price`` None: an unpriced line whose reason is ``reason``."""

    section: str
    component: str
    item: str
    price: FeeRef | MachineRef | None = None
    qmin: float = 1
    qmax: float = 1
    hourly: bool = False
    reason: str = ""
    note: tuple[str, str] | None = None  #: an extra unpriced line (item, reason)
    zero: str | None = None  #: the unpriced item when the summed quantity is 0 (no size stated)
    position: str | None = None  #: the GPU pool's or endpoint's name: spec order
    rank: int = 0  #: order within the section


class Planned:
    """The planned resources (their ``to_dict()`` form) with parent/child lookups."""

    def __init__(self, resources: Sequence[Mapping[str, Any]], spec: MlopsSpec) -> None:
        self.resources = list(resources)
        self.spec = spec
        self.by_urn = {r["urn"]: r for r in self.resources}
        self.children: dict[str | None, list[Mapping[str, Any]]] = defaultdict(list)
        for r in self.resources:
            self.children[r.get("parent")].append(r)

    def component(self, r: Mapping[str, Any]) -> str | None:
        """The kind of the nearest ``mlops:<target>:<Kind>`` component above ``r``."""
        parent = r.get("parent")
        while parent:
            p = self.by_urn.get(parent)
            if p is None:
                return None
            m = re.fullmatch(r"mlops:[^:]+:(\w+)", p["type"])
            if m:
                return m.group(1)
            parent = p.get("parent")
        return None

    def sibling(self, r: Mapping[str, Any], type_: str) -> Mapping[str, Any] | None:
        return next((s for s in self.children[r.get("parent")] if s["type"] == type_), None)

    def has_kind(self, kind: str) -> bool:
        return any(re.fullmatch(rf"mlops:[^:]+:{kind}", r["type"]) for r in self.resources)

    def tag(self, key: str) -> str | None:
        """The first value of tag/label ``key`` on any planned resource."""
        for r in self.resources:
            inputs = r.get("inputs") or {}
            for field in ("tags", "labels"):
                value = (inputs.get(field) or {}).get(key) if isinstance(inputs.get(field), dict) else None
                if value:
                    return str(value)
        return None

    def bucket_size(self, name: str | None) -> float:
        """The spec's ``sizeGb`` of bucket ``name`` (a usage assumption, not in the plan)."""
        return next((b.size_gb for b in self.spec.storage.buckets if b.name == name), 0)

    def total_size(self) -> float:
        return sum(b.size_gb for b in self.spec.storage.buckets)


@dataclass(frozen=True)
class CostItem:
    component: str
    item: str
    unit: str
    unit_price: float
    quantity_min: float
    quantity_max: float
    monthly_min: float
    monthly_max: float
    source: str
    retrieved: str
    verified: str

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        return {
            "component": d["component"],
            "item": d["item"],
            "unit": d["unit"],
            "unitPrice": d["unit_price"],
            "quantityMin": d["quantity_min"],
            "quantityMax": d["quantity_max"],
            "monthlyMin": round(d["monthly_min"], 2),
            "monthlyMax": round(d["monthly_max"], 2),
            "source": d["source"],
            "retrieved": d["retrieved"],
            "verified": d["verified"],
        }


@dataclass(frozen=True)
class Unpriced:
    component: str
    item: str
    reason: str

    def to_dict(self) -> dict[str, str]:
        return {"component": self.component, "item": self.item, "reason": self.reason}


@dataclass
class CostEstimate:
    currency: str
    items: list[CostItem]
    unpriced: list[Unpriced]

    @property
    def monthly_min(self) -> float:
        return round(sum(i.monthly_min for i in self.items), 2)

    @property
    def monthly_max(self) -> float:
        return round(sum(i.monthly_max for i in self.items), 2)

    def to_dict(self) -> dict[str, Any]:
        return {
            "currency": self.currency,
            "monthlyMin": self.monthly_min,
            "monthlyMax": self.monthly_max,
            "hoursPerMonth": HOURS_PER_MONTH,
            "items": [i.to_dict() for i in self.items],
            "unpriced": [u.to_dict() for u in self.unpriced],
        }


def _order(spec: MlopsSpec, u: Usage) -> tuple[int, int, int]:
    names = [p.name for p in spec.cluster.gpu_pools] if u.section == "pool" else [e.name for e in spec.endpoints]
    pos = names.index(u.position) if u.position in names else len(names)
    return SECTIONS.index(u.section), pos, u.rank


def _machine_item(cloud: str, u: Usage, component: str, item: str, qmin: float, qmax: float) -> CostItem | Unpriced:
    assert isinstance(u.price, MachineRef)
    p = catalog.offer_for_machine(cloud, u.price.use, u.price.instance_type, u.price.gpus)
    if p is None or p.usd_per_hour is None:
        return Unpriced(component, item, f"no hosting price for {u.price.instance_type} in the catalog")
    h = HOURS_PER_MONTH if u.hourly else 1.0
    return CostItem(component, item, "hour", p.usd_per_hour, qmin, qmax, p.usd_per_hour * qmin * h, p.usd_per_hour * qmax * h, p.source, p.retrieved, p.verified)


def _fee_item(cloud: str, u: Usage, component: str, item: str, q: float) -> CostItem | Unpriced:
    assert isinstance(u.price, FeeRef)
    row = catalog.fee(cloud, u.price.row) if u.price.row else None
    if row is None or row.usd is None:
        return Unpriced(component, item, f"no {cloud} price for {u.price.role} in the catalog")
    monthly = row.usd * q * (HOURS_PER_MONTH if u.hourly else 1.0)
    return CostItem(component, item, row.unit, row.usd, q, q, monthly, monthly, row.source, row.retrieved, row.verified)


def usage(resources: Sequence[Mapping[str, Any]], spec: MlopsSpec) -> list[Usage]:
    """The target's pricing rules applied to each planned resource, in estimate order."""
    module = targets.get(spec.cloud).pricing()
    if module is None:
        return []
    plan = Planned(resources, spec)
    lines: list[Usage] = []
    for r in plan.resources:
        rule = module.RULES.get(r["type"])
        if rule is not None:
            lines.extend(rule(r, plan))
    kept = pools_kept(resources, spec)
    lines = [_at_kept(u, kept[u.position]) if u.section == "pool" and u.position in kept else u for u in lines]
    return sorted(lines, key=lambda u: _order(spec, u))


def pools_kept(resources: Sequence[Mapping[str, Any]], spec: MlopsSpec) -> dict[str, int]:
    """Per GPU pool, the nodes the planned cluster endpoints' ``minInstances`` keep running."""
    planned = {_isvc_name(r) for r in resources if r["type"] == INFERENCE_SERVICE}
    on: dict[str, list[Any]] = defaultdict(list)
    pools = {}
    for ep in spec.cluster_endpoints:
        pool = endpoint_pool(spec.cluster, ep) if ep.name in planned else None
        if pool is not None:
            on[pool.name].append(ep)
            pools[pool.name] = pool
    return {name: nodes_kept(pools[name], eps) for name, eps in on.items()}


def _at_kept(u: Usage, kept: int) -> Usage:
    """A pool line priced at minimum at the nodes its cluster endpoints keep, when more than
    its own minimum (never above its maximum: replicas beyond it would not be scheduled)."""
    qmin = min(max(u.qmin, kept), u.qmax)
    if qmin == u.qmin:
        return u
    return replace(u, qmin=qmin, item=f"{u.item}; at minimum {qmin:g} node{'s' if qmin != 1 else ''}: kept by cluster endpoints' minInstances")


def estimate(resources: Sequence[Mapping[str, Any]], spec: MlopsSpec) -> CostEstimate:
    """The monthly estimate of a plan (``resources``: the registrations' ``to_dict()``);
    ``spec`` supplies only usage assumptions (bucket sizes) and the order of pools."""
    cloud = spec.cloud
    groups: dict[tuple[Any, ...], list[Usage]] = {}
    for u in usage(resources, spec):
        groups.setdefault((u.section, u.position, u.rank, u.component, u.item, u.price, u.hourly, u.reason), []).append(u)
    items: list[CostItem] = []
    unpriced: list[Unpriced] = []
    registry_note = Planned(resources, spec).has_kind("ContainerRegistry")
    for (sec, _pos, _rank, component, item, price, _hourly, reason), us in groups.items():
        if registry_note and SECTIONS.index(sec) > SECTIONS.index("storage"):
            unpriced.append(Unpriced("ContainerRegistry", "image storage", "image volume is not in the spec"))
            registry_note = False
        qmin, qmax = sum(u.qmin for u in us), sum(u.qmax for u in us)
        u = us[0]
        text = item.format(n=qmax) if "{n" in item else item
        if price is None:
            unpriced.append(Unpriced(component, text, reason))
        elif u.zero is not None and qmax == 0:
            unpriced.append(Unpriced(component, u.zero, NO_SIZE))
        else:
            line = _fee_item(cloud, u, component, text, qmax) if isinstance(price, FeeRef) else _machine_item(cloud, u, component, text, qmin, qmax)
            (items if isinstance(line, CostItem) else unpriced).append(line)
        if u.note is not None:
            unpriced.append(Unpriced(component, *u.note))
    if registry_note:
        unpriced.append(Unpriced("ContainerRegistry", "image storage", "image volume is not in the spec"))
    items.extend(cluster_endpoint_items(resources, spec))
    return CostEstimate(currency="USD", items=items, unpriced=unpriced)


#: A cluster endpoint (``runsOn: cluster``): a KServe InferenceService on the stack's own nodes.
INFERENCE_SERVICE = "kubernetes:serving.kserve.io/v1beta1:InferenceService"


def _isvc_name(r: Mapping[str, Any]) -> str:
    return str(((r.get("inputs") or {}).get("metadata") or {}).get("name") or r["name"])


def cluster_endpoint_items(resources: Sequence[Mapping[str, Any]], spec: MlopsSpec) -> list[CostItem]:
    """One zero line per cluster endpoint, saying where its cost is: the GPU pool (or the
    general nodes) it runs on, already priced in the pool lines, and how many of the pool's
    nodes its ``minInstances`` keep running (the pool line prices at least those at its
    minimum: ``pools_kept``)."""
    out: list[CostItem] = []
    specs = {e.name: e for e in spec.cluster_endpoints}
    for r in resources:
        if r["type"] != INFERENCE_SERVICE:
            continue
        inputs = r.get("inputs") or {}
        predictor = (inputs.get("spec") or {}).get("predictor") or {}
        pool = (predictor.get("nodeSelector") or {}).get(POOL_LABEL)
        name = _isvc_name(r)
        where = f"GPU pool {pool}" if pool else "the cluster's general nodes"
        ep = specs.get(name)
        spec_pool = endpoint_pool(spec.cluster, ep) if ep is not None else None
        if ep is not None and spec_pool is not None:
            nodes = nodes_kept(spec_pool, [ep])
            where += f", which it keeps at >= {nodes} node{'s' if nodes != 1 else ''} (minInstances {ep.min_instances})"
        out.append(
            CostItem(
                "Serving",
                f"endpoint {name} (runsOn: cluster): no cost beyond {where}",
                "month",
                0.0,
                1,
                1,
                0.0,
                0.0,
                f"runs on {where}, priced in the cluster and pool lines; KServe has no per-endpoint fee",
                "-",
                "yes",
            )
        )
    return out

