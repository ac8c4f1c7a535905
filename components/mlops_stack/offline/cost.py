"""A monthly cost estimate from the spec and the catalog.

Every priced line carries its unit price, source and retrieval date; anything the
catalog has no price for is listed as unpriced, never counted as zero. Figures are
on-demand list prices in the catalog's price region (us-east-1 / us-central1 /
eastus): estimates, not quotes. A month is 730 hours.
"""

from __future__ import annotations

import importlib
import importlib.util
from dataclasses import asdict, dataclass
from typing import Any

from mlops_stack import catalog
from mlops_stack.spec import MlopsSpec

HOURS_PER_MONTH = 730

#: Which fee row of catalog/data/fees.csv prices each fixed item, per cloud.
FEE_ROWS: dict[str, dict[str, str]] = {
    "aws": {
        "cluster": "eks_control_plane_standard_support",
        "nat": "nat_gateway",
        "storage": "s3_standard_first_50tb",
        "key": "kms_customer_managed_key",
        "vpc_endpoint": "interface_vpc_endpoint",
    },
    "gcp": {
        "cluster": "gke_cluster_management",
        "storage": "gcs_standard_regional",
        "key": "cloud_kms_software_key_version",
    },
    "azure": {
        "cluster": "aks_control_plane_standard_tier",
        "cluster_dev": "aks_control_plane_free_tier",
        "nat": "nat_gateway",
        "storage": "blob_hot_lrs",
    },
}
#: Interface VPC endpoints per zone on AWS (network.py: ecr.api, ecr.dkr, sts, sagemaker.runtime).
AWS_INTERFACE_ENDPOINTS = 4
#: How each cloud keeps the second-region copy of the data buckets (storage.replicaRegion):
#: "replica" = separate replica buckets + their own key (priced as a second copy of the
#: data at the catalog's storage rate, plus one key); "dual-region" = the same buckets in a
#: dual-region location (a storage premium the catalog has no rate for, plus one key in the
#: multi-region). A cloud missing here (azure) replicates through its storage SKU (GZRS).
REPLICATION_STYLE = {"aws": "replica", "gcp": "dual-region"}
#: What the security controls of docs/security.md cost that depends on traffic or volume
#: the spec does not state: listed as unpriced, never counted as zero.
TRAFFIC_PRICED = {
    "aws": (("Network", "VPC flow logs (CloudWatch Logs ingestion and storage)"),),
    "gcp": (("Network", "VPC flow logs and firewall-rule logging (Cloud Logging ingestion)"),),
}


def replica_region(spec: MlopsSpec) -> str | None:
    """The resolved ``storage.replicaRegion`` of ``spec`` (the target's own rule: its prod
    default), or ``None``; a target without a ``replication`` module has no such option."""
    module = f"mlops_stack.{spec.cloud}.replication"
    if importlib.util.find_spec(module) is None:
        return None
    return importlib.import_module(module).replica_region(spec.region, spec.storage.replica_region, spec.is_prod)


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


class _Builder:
    def __init__(self, cloud: str) -> None:
        self.cloud = cloud
        self.items: list[CostItem] = []
        self.unpriced: list[Unpriced] = []

    def hourly(
        self, component: str, item: str, price: float | None, qmin: float, qmax: float, *, source: str, retrieved: str, verified: str, why: str = ""
    ) -> None:
        if price is None:
            self.unpriced.append(Unpriced(component, item, why or "no price in the catalog"))
            return
        self.items.append(
            CostItem(
                component, item, "hour", price, qmin, qmax, price * qmin * HOURS_PER_MONTH, price * qmax * HOURS_PER_MONTH, source, retrieved, verified
            )
        )

    def fee(self, component: str, item: str, role: str, quantity: float, *, hours: bool) -> None:
        row_name = FEE_ROWS.get(self.cloud, {}).get(role)
        row = catalog.fee(self.cloud, row_name) if row_name else None
        if row is None or row.usd is None:
            self.unpriced.append(Unpriced(component, item, f"no {self.cloud} price for {role} in the catalog"))
            return
        factor = HOURS_PER_MONTH if hours else 1.0
        monthly = row.usd * quantity * factor
        self.items.append(
            CostItem(component, item, row.unit, row.usd, quantity, quantity, monthly, monthly, row.source, row.retrieved, row.verified)
        )


def _replication(b: _Builder, spec: MlopsSpec, size: float) -> None:
    """The second-region copy of the data buckets (docs/security.md)."""
    replica = replica_region(spec)
    style = REPLICATION_STYLE.get(spec.cloud)
    if replica is None or style is None:
        return
    component = f"ArtifactStore replica ({replica})"
    b.fee(component, "replica key", "key", 1, hours=False)
    if style == "replica":
        if size:
            b.fee(component, f"replica object storage {size:g} GB (priced at the catalog's storage rate)", "storage", size, hours=False)
        else:
            b.unpriced.append(Unpriced(component, "replica object storage", "no bucket states sizeGb"))
    else:
        b.unpriced.append(Unpriced(component, "dual-region storage premium", "no dual-region storage rate in the catalog"))
    b.unpriced.append(Unpriced(component, "inter-region replication transfer", "depends on the volume of new data, which the spec does not state"))


def estimate(spec: MlopsSpec) -> CostEstimate:
    """The monthly estimate of one spec on its own cloud."""
    cloud = spec.cloud
    b = _Builder(cloud)
    b.fee("Keys", "customer-managed key", "key", 1, hours=False)
    zones = spec.zone_count
    nats = zones if spec.nat_per_zone else 1
    b.fee("Network", f"NAT gateway x{nats}", "nat", nats, hours=True)
    b.unpriced.append(Unpriced("Network", "NAT data processing", "depends on traffic volume, which the spec does not state"))
    if cloud in FEE_ROWS and "vpc_endpoint" in FEE_ROWS[cloud]:
        n = AWS_INTERFACE_ENDPOINTS * zones
        b.fee("Network", f"interface VPC endpoints ({n} endpoint-zones)", "vpc_endpoint", n, hours=True)
    size = sum(bk.size_gb for bk in spec.storage.buckets)
    if size:
        b.fee("ArtifactStore", f"object storage {size:g} GB", "storage", size, hours=False)
    else:
        b.unpriced.append(Unpriced("ArtifactStore", "object storage", "no bucket states sizeGb"))
    b.unpriced.append(Unpriced("ContainerRegistry", "image storage", "image volume is not in the spec"))
    _replication(b, spec, size)
    for component, item in TRAFFIC_PRICED.get(cloud, ()):
        b.unpriced.append(Unpriced(component, item, "depends on traffic volume, which the spec does not state"))
    if getattr(getattr(spec, cloud, None), "defender_for_containers", False):
        b.unpriced.append(Unpriced("KubernetesCluster", "Defender for Containers (subscription-wide)", "billed per vCore; no rate in the catalog"))

    if spec.cluster.enabled:
        role = "cluster" if spec.is_prod or "cluster_dev" not in FEE_ROWS.get(cloud, {}) else "cluster_dev"
        b.fee("KubernetesCluster", "control plane", role, 1, hours=True)
        sp = spec.cluster.system_pool
        cpu = catalog.cpu_offer(cloud, sp.size, "nodepool")
        b.hourly(
            "KubernetesCluster",
            f"system pool {cpu.instance_type} x{sp.min_nodes}-{sp.max_nodes}",
            cpu.usd_per_hour,
            sp.min_nodes,
            sp.max_nodes,
            source=cpu.source,
            retrieved=cpu.retrieved,
            verified=cpu.verified,
        )
        for pool in spec.cluster.gpu_pools:
            offer = catalog.gpu_offer(cloud, pool.gpu, pool.gpus_per_node, "nodepool")
            if offer is None:
                b.unpriced.append(Unpriced(f"GpuNodePool {pool.name}", pool.gpu, f"not offered on {cloud}"))
                continue
            label = f"{offer.instance_type} x{pool.min_nodes}-{pool.max_nodes}" + (" (spot: on-demand price, an upper bound)" if pool.spot else "")
            b.hourly(
                f"GpuNodePool {pool.name}",
                label,
                offer.usd_per_hour,
                pool.min_nodes,
                pool.max_nodes,
                source=offer.source_text,
                retrieved=catalog.CATALOG_DATE,
                verified=offer.verified,
                why=f"no on-demand price for {offer.instance_type} in the catalog",
            )
    for ep in spec.endpoints:
        if ep.gpu is not None:
            offer = catalog.gpu_offer(cloud, ep.gpu, ep.gpus_per_instance, "endpoint")
            if offer is None:
                b.unpriced.append(Unpriced(f"ModelEndpoint {ep.name}", ep.gpu, f"not offered on {cloud}"))
                continue
            instance, price, source, retrieved, verified = (
                offer.instance_type,
                offer.usd_per_hour,
                offer.source_text,
                catalog.CATALOG_DATE,
                offer.verified,
            )
        else:
            cpu = catalog.cpu_offer(cloud, ep.cpu_size or "small", "endpoint")
            instance, price, source, retrieved, verified = cpu.instance_type, cpu.usd_per_hour, cpu.source, cpu.retrieved, cpu.verified
        b.hourly(
            f"ModelEndpoint {ep.name}",
            f"{instance} x{ep.min_instances}-{ep.max_instances}",
            price,
            ep.min_instances,
            ep.max_instances,
            source=source,
            retrieved=retrieved,
            verified=verified,
            why=f"no hosting price for {instance} in the catalog",
        )
    return CostEstimate(currency="USD", items=b.items, unpriced=b.unpriced)
