"""How the cost estimate prices Azure resources: resource type -> ``Usage`` lines
(``offline/cost.py``). Fee rows are those of the catalog's fees for azure."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from mlops_stack.constants import GPU_LABEL, POOL_LABEL
from mlops_stack.offline.cost import NAT_NOTE, FeeRef, MachineRef, Planned, Usage


def _inputs(r: Mapping[str, Any]) -> dict[str, Any]:
    return r.get("inputs") or {}


def key(r: Mapping[str, Any], plan: Planned) -> list[Usage]:
    return [Usage("keys", "Keys", "customer-managed key", FeeRef("key", None))]


def nat(r: Mapping[str, Any], plan: Planned) -> list[Usage]:
    return [Usage("network", "Network", "NAT gateway x{n:g}", FeeRef("nat", "nat_gateway"), hourly=True, note=NAT_NOTE)]


def storage_account(r: Mapping[str, Any], plan: Planned) -> list[Usage]:
    size = plan.total_size()  # one account holds every bucket (as a container)
    return [Usage("storage", "ArtifactStore", "object storage {n:g} GB", FeeRef("storage", "blob_hot_lrs"), size, size, zero="object storage")]


def defender(r: Mapping[str, Any], plan: Planned) -> list[Usage]:
    return [Usage("traffic", "KubernetesCluster", "Defender for Containers (subscription-wide)", reason="billed per vCore; no rate in the catalog", rank=1)]


def _pool(p: Mapping[str, Any], rank: int) -> Usage:
    labels = p.get("nodeLabels") or {}
    vm = p.get("vmSize") or "?"
    lo = p.get("minCount", p.get("count", 0))
    hi = p.get("maxCount", lo)
    pool = labels.get(POOL_LABEL, p.get("name", ""))
    if GPU_LABEL not in labels:
        return Usage("cluster", "KubernetesCluster", f"{pool} pool {vm} x{lo}-{hi}", MachineRef(vm, "nodepool"), lo, hi, hourly=True, rank=rank)
    spot = " (spot: on-demand price, an upper bound)" if p.get("scaleSetPriority") == "Spot" else ""
    gpus = int(labels.get("mlops-stack/gpu-count", 0)) or None
    return Usage("pool", f"GpuNodePool {pool}", f"{vm} x{lo}-{hi}{spot}", MachineRef(vm, "nodepool", gpus), lo, hi, hourly=True, position=pool)


def managed_cluster(r: Mapping[str, Any], plan: Planned) -> list[Usage]:
    i = _inputs(r)
    tier = ((i.get("sku") or {}).get("tier") or "Free").lower()
    lines = [Usage("cluster", "KubernetesCluster", "control plane", FeeRef("cluster", f"aks_control_plane_{tier}_tier"), hourly=True)]
    return lines + [_pool(p, 1) for p in i.get("agentPoolProfiles") or []]


def agent_pool(r: Mapping[str, Any], plan: Planned) -> list[Usage]:
    return [_pool(_inputs(r), 2)]


def online_deployment(r: Mapping[str, Any], plan: Planned) -> list[Usage]:
    i = _inputs(r)
    vm = (i.get("properties") or {}).get("instanceType") or "?"
    lo = hi = (i.get("sku") or {}).get("capacity", 1)
    autoscale = _inputs(plan.sibling(r, "azure-native:monitor:AutoscaleSetting") or {})
    profiles = autoscale.get("profiles") or []
    if profiles:
        capacity = profiles[0].get("capacity") or {}
        lo, hi = int(capacity.get("minimum", lo)), int(capacity.get("maximum", hi))
    name = (i.get("tags") or {}).get("mlops-stack-endpoint", "")
    return [Usage("endpoint", f"ModelEndpoint {name}", f"{vm} x{lo}-{hi}", MachineRef(vm, "endpoint"), lo, hi, hourly=True, position=name)]


#: Planned types that cost nothing, so they have no rule (not "unpriced": free):
#: managed identities, their federated credentials and role assignments (WorkloadIdentity's pieces) have no charge (Azure managed identities: no additional cost).
FREE = ("azure-native:managedidentity:UserAssignedIdentity", "azure-native:managedidentity:FederatedIdentityCredential", "azure-native:authorization:RoleAssignment")


def postgres_server(r: Mapping[str, Any], plan: Planned) -> list[Usage]:
    i = _inputs(r)
    sku = str((i.get("sku") or {}).get("name") or "?")
    copies = 2 if (i.get("highAvailability") or {}).get("mode") in ("ZoneRedundant", "SameZone") else 1
    gb = float((i.get("storage") or {}).get("storageSizeGB") or 0) * copies
    ha = " zone-redundant HA (x2)" if copies == 2 else ""
    return [
        Usage("tracking", "PostgresDatabase", f"PostgreSQL flexible server {sku}{ha}", FeeRef("database", "postgres_flexible_" + sku.lower()), copies, copies, hourly=True),
        Usage("tracking", "PostgresDatabase", "PostgreSQL flexible server storage {n:g} GB", FeeRef("database storage", "postgres_flexible_storage"), gb, gb, rank=1),
    ]


RULES = {
    "azure-native:keyvault:Key": key,
    "azure-native:network:NatGateway": nat,
    "azure-native:storage:StorageAccount": storage_account,
    "azure-native:security:Pricing": defender,
    "azure-native:containerservice:ManagedCluster": managed_cluster,
    "azure-native:containerservice:AgentPool": agent_pool,
    "azure-native:machinelearningservices:OnlineDeployment": online_deployment,
    "azure-native:dbforpostgresql:Server": postgres_server,
}
