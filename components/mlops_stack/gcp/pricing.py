"""How the cost estimate prices GCP resources: resource type -> ``Usage`` lines
(``offline/cost.py``). Fee rows are those of the catalog's fees for gcp."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from mlops_stack.constants import POOL_LABEL
from mlops_stack.offline.cost import NAT_NOTE, TRAFFIC, FeeRef, MachineRef, Planned, Usage

#: Each CryptoKey holds one active software key version (billed per version per month).
KEY = FeeRef("key", "cloud_kms_software_key_version")


def _inputs(r: Mapping[str, Any]) -> dict[str, Any]:
    return r.get("inputs") or {}


def crypto_key(r: Mapping[str, Any], plan: Planned) -> list[Usage]:
    if plan.component(r) == "ArtifactStore":  # the dual-region buckets' key, in the multi-region
        component = f"ArtifactStore replica ({plan.tag('mlops-stack-replication')})"
        return [
            Usage("replica", component, "replica key", KEY),
            Usage("replica", component, "dual-region storage premium", reason="no dual-region storage rate in the catalog", rank=1),
            Usage("replica", component, "inter-region replication transfer",
                  reason="depends on the volume of new data, which the spec does not state", rank=2),
        ]
    if plan.component(r) == "PostgresDatabase":  # Cloud SQL's own key (self-hosted tracking)
        return [Usage("tracking", "PostgresDatabase", "Cloud SQL customer-managed key", KEY, rank=3)]
    return [Usage("keys", "Keys", "customer-managed key", KEY)]


def router_nat(r: Mapping[str, Any], plan: Planned) -> list[Usage]:
    return [Usage("network", "Network", "NAT gateway x{n:g}", FeeRef("nat", None), hourly=True, note=NAT_NOTE)]


def subnetwork(r: Mapping[str, Any], plan: Planned) -> list[Usage]:
    if not _inputs(r).get("logConfig"):
        return []
    return [Usage("traffic", "Network", "VPC flow logs and firewall-rule logging (Cloud Logging ingestion)", reason=TRAFFIC)]


def bucket(r: Mapping[str, Any], plan: Planned) -> list[Usage]:
    labels = _inputs(r).get("labels") or {}
    if labels.get("mlops-stack-role") != "data":
        return []
    size = plan.bucket_size(labels.get("mlops-stack-bucket"))
    return [Usage("storage", "ArtifactStore", "object storage {n:g} GB", FeeRef("storage", "gcs_standard_regional"), size, size, zero="object storage")]


def cluster(r: Mapping[str, Any], plan: Planned) -> list[Usage]:
    return [Usage("cluster", "KubernetesCluster", "control plane", FeeRef("cluster", "gke_cluster_management"), hourly=True)]


def node_pool(r: Mapping[str, Any], plan: Planned) -> list[Usage]:
    i = _inputs(r)
    node = i.get("nodeConfig") or {}
    labels = node.get("labels") or {}
    machine = node.get("machineType") or "?"
    scaling = i.get("autoscaling") or {}
    lo, hi = scaling.get("totalMinNodeCount", 0), scaling.get("totalMaxNodeCount", 0)
    pool = labels.get(POOL_LABEL, "")
    accelerators = node.get("guestAccelerators") or []
    if not accelerators:
        return [Usage("cluster", "KubernetesCluster", f"{pool} pool {machine} x{lo}-{hi}", MachineRef(machine, "nodepool"), lo, hi, hourly=True, rank=1)]
    spot = " (spot: on-demand price, an upper bound)" if node.get("spot") else ""
    return [Usage("pool", f"GpuNodePool {pool}", f"{machine} x{lo}-{hi}{spot}", MachineRef(machine, "nodepool", accelerators[0].get("count")),
                  lo, hi, hourly=True, position=pool)]


def vertex_deployment(r: Mapping[str, Any], plan: Planned) -> list[Usage]:
    i = _inputs(r)
    machine = i.get("machine_type") or "?"
    lo, hi = i.get("min_replicas", 1), i.get("max_replicas", 1)
    name = (i.get("labels") or {}).get("mlops-stack-endpoint", "")
    return [Usage("endpoint", f"ModelEndpoint {name}", f"{machine} x{lo}-{hi}", MachineRef(machine, "endpoint", i.get("accelerator_count") or None),
                  lo, hi, hourly=True, position=name)]


#: Planned types that cost nothing, so they have no rule (not "unpriced": free):
#: service accounts, IAM bindings and enabling an API (WorkloadIdentity's pieces) have no charge (Google Cloud IAM: no charge for IAM).
FREE = ("gcp:serviceaccount/account:Account", "gcp:serviceaccount/iAMMember:IAMMember", "gcp:storage/bucketIAMMember:BucketIAMMember", "gcp:projects/service:Service")


def psc_forwarding_rule(r: Mapping[str, Any], plan: Planned) -> list[Usage]:
    """A private endpoint's Private Service Connect endpoint (gcp/psc.py): listed, not priced."""
    return [Usage("endpoint", "ModelEndpoint", "Private Service Connect endpoint, its data processing and private DNS zone",
                  reason="no PSC endpoint or Cloud DNS rate in the catalog", rank=1)]


def sql_instance(r: Mapping[str, Any], plan: Planned) -> list[Usage]:
    """Cloud SQL Enterprise: vCPU-hours and memory GB-hours of a ``db-custom-<vCPU>-<MB>``
    tier (regional HA bills the standby too), and its SSD storage."""
    settings = _inputs(r).get("settings") or {}
    tier = str(settings.get("tier") or "")
    copies = 2 if settings.get("availabilityType") == "REGIONAL" else 1
    ha = " regional HA (x2)" if copies == 2 else ""
    parts = tier.split("-")
    if len(parts) != 4 or parts[:2] != ["db", "custom"]:
        return [Usage("tracking", "PostgresDatabase", f"Cloud SQL {tier}", reason="only db-custom tiers are priced here")]
    vcpu, gb = int(parts[2]) * copies, int(parts[3]) / 1024 * copies
    disk = float(settings.get("diskSize") or 0) * copies
    return [
        Usage("tracking", "PostgresDatabase", f"Cloud SQL {tier}{ha}: {{n:g}} vCPU", FeeRef("database vCPU", "cloud_sql_enterprise_vcpu"), vcpu, vcpu, hourly=True),
        Usage("tracking", "PostgresDatabase", f"Cloud SQL {tier}{ha}: {{n:g}} GB memory", FeeRef("database memory", "cloud_sql_enterprise_memory"), gb, gb, hourly=True, rank=1),
        Usage("tracking", "PostgresDatabase", "Cloud SQL SSD {n:g} GB", FeeRef("database storage", "cloud_sql_ssd_storage"), disk, disk, rank=2),
    ]


RULES = {
    "gcp:compute/forwardingRule:ForwardingRule": psc_forwarding_rule,
    "gcp:kms/cryptoKey:CryptoKey": crypto_key,
    "gcp:compute/routerNat:RouterNat": router_nat,
    "gcp:compute/subnetwork:Subnetwork": subnetwork,
    "gcp:storage/bucket:Bucket": bucket,
    "gcp:container/cluster:Cluster": cluster,
    "gcp:container/nodePool:NodePool": node_pool,
    "pulumi-python:dynamic/mlops:VertexModelDeployment": vertex_deployment,
    "gcp:sql/databaseInstance:DatabaseInstance": sql_instance,
}
