"""How the cost estimate prices AWS resources: resource type -> ``Usage`` lines
(``offline/cost.py``). Fee rows are those of the catalog's fees for aws."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from mlops_stack.constants import GPU_LABEL, POOL_LABEL
from mlops_stack.offline.cost import NAT_NOTE, TRAFFIC, FeeRef, MachineRef, Planned, Usage

KEY = FeeRef("key", "kms_customer_managed_key")
STORAGE = FeeRef("storage", "s3_standard_first_50tb")


def _inputs(r: Mapping[str, Any]) -> dict[str, Any]:
    return r.get("inputs") or {}


def _replica_component(plan: Planned) -> str:
    return f"ArtifactStore replica ({plan.tag('mlops-stack-replication')})"


def key(r: Mapping[str, Any], plan: Planned) -> list[Usage]:
    if plan.component(r) == "ArtifactStore":  # the replica buckets' own key
        component = _replica_component(plan)
        return [
            Usage("replica", component, "replica key", KEY),
            Usage("replica", component, "inter-region replication transfer",
                  reason="depends on the volume of new data, which the spec does not state", rank=2),
        ]
    return [Usage("keys", "Keys", "customer-managed key", KEY)]


def nat(r: Mapping[str, Any], plan: Planned) -> list[Usage]:
    return [Usage("network", "Network", "NAT gateway x{n:g}", FeeRef("nat", "nat_gateway"), hourly=True, note=NAT_NOTE)]


def vpc_endpoint(r: Mapping[str, Any], plan: Planned) -> list[Usage]:
    i = _inputs(r)
    if i.get("vpcEndpointType") != "Interface":
        return []
    n = len(i.get("subnetIds") or [])
    return [Usage("network", "Network", "interface VPC endpoints ({n:g} endpoint-zones)", FeeRef("vpc_endpoint", "interface_vpc_endpoint"), n, n, hourly=True, rank=1)]


def flow_log(r: Mapping[str, Any], plan: Planned) -> list[Usage]:
    return [Usage("traffic", "Network", "VPC flow logs (CloudWatch Logs ingestion and storage)", reason=TRAFFIC)]


def bucket(r: Mapping[str, Any], plan: Planned) -> list[Usage]:
    tags = _inputs(r).get("tags") or {}
    size = plan.bucket_size(tags.get("mlops-stack-bucket"))
    if tags.get("mlops-stack-role") == "data":
        return [Usage("storage", "ArtifactStore", "object storage {n:g} GB", STORAGE, size, size, zero="object storage")]
    if tags.get("mlops-stack-role") == "replica":
        return [Usage("replica", _replica_component(plan), "replica object storage {n:g} GB (priced at the catalog's storage rate)",
                      STORAGE, size, size, zero="replica object storage", rank=1)]
    return []


def cluster(r: Mapping[str, Any], plan: Planned) -> list[Usage]:
    support = ((_inputs(r).get("upgradePolicy") or {}).get("supportType") or "STANDARD").lower()
    return [Usage("cluster", "KubernetesCluster", "control plane", FeeRef("cluster", f"eks_control_plane_{support}_support"), hourly=True)]


def node_group(r: Mapping[str, Any], plan: Planned) -> list[Usage]:
    i = _inputs(r)
    labels = i.get("labels") or {}
    instance = (i.get("instanceTypes") or ["?"])[0]
    scaling = i.get("scalingConfig") or {}
    lo, hi = scaling.get("minSize", 0), scaling.get("maxSize", 0)
    pool = labels.get(POOL_LABEL, "")
    if GPU_LABEL not in labels:
        return [Usage("cluster", "KubernetesCluster", f"{pool} pool {instance} x{lo}-{hi}", MachineRef(instance, "nodepool"), lo, hi, hourly=True, rank=1)]
    spot = " (spot: on-demand price, an upper bound)" if i.get("capacityType") == "SPOT" else ""
    gpus = int(labels.get("mlops-stack/gpu-count", 0)) or None
    return [Usage("pool", f"GpuNodePool {pool}", f"{instance} x{lo}-{hi}{spot}", MachineRef(instance, "nodepool", gpus), lo, hi, hourly=True, position=pool)]


def endpoint_config(r: Mapping[str, Any], plan: Planned) -> list[Usage]:
    i = _inputs(r)
    variant = (i.get("productionVariants") or [{}])[0]
    instance = variant.get("instanceType", "?")
    scaling = _inputs(plan.sibling(r, "aws:appautoscaling/target:Target") or {})
    lo = scaling.get("minCapacity", variant.get("initialInstanceCount", 1))
    hi = scaling.get("maxCapacity", lo)
    name = (i.get("tags") or {}).get("mlops-stack-endpoint", "")
    return [Usage("endpoint", f"ModelEndpoint {name}", f"{instance} x{lo}-{hi}", MachineRef(instance, "endpoint"), lo, hi, hourly=True, position=name)]


#: Planned types that cost nothing, so they have no rule (not "unpriced": free):
#: IAM roles, inline and managed policies (the IRSA roles, the MLflow user policy) have no charge (AWS IAM pricing: IAM is offered at no additional charge).
FREE = ("aws:iam/role:Role", "aws:iam/rolePolicy:RolePolicy", "aws:iam/policy:Policy")


def mlflow_server(r: Mapping[str, Any], plan: Planned) -> list[Usage]:
    size = str(_inputs(r).get("trackingServerSize") or "Small")
    return [Usage("tracking", "TrackingServer", f"SageMaker MLflow tracking server ({size})", FeeRef("tracking", f"sagemaker_mlflow_{size.lower()}"), hourly=True)]


def rds_instance(r: Mapping[str, Any], plan: Planned) -> list[Usage]:
    i = _inputs(r)
    klass = str(i.get("instanceClass") or "?")
    copies = 2 if i.get("multiAz") else 1
    gb = float(i.get("allocatedStorage") or 0) * copies
    ha = " Multi-AZ (x2)" if copies == 2 else ""
    return [
        Usage("tracking", "PostgresDatabase", f"RDS PostgreSQL {klass}{ha}", FeeRef("database", "rds_postgres_" + klass.replace(".", "_").replace("-", "_")), copies, copies, hourly=True),
        Usage("tracking", "PostgresDatabase", "RDS gp3 storage {n:g} GB", FeeRef("database storage", "rds_gp3_storage"), gb, gb, rank=1,
              note=("backup storage beyond the database size", "depends on the change rate, which the spec does not state")),
    ]


RULES = {
    "aws:kms/key:Key": key,
    "aws:ec2/natGateway:NatGateway": nat,
    "aws:ec2/vpcEndpoint:VpcEndpoint": vpc_endpoint,
    "aws:ec2/flowLog:FlowLog": flow_log,
    "aws:s3/bucket:Bucket": bucket,
    "aws:eks/cluster:Cluster": cluster,
    "aws:eks/nodeGroup:NodeGroup": node_group,
    "aws:sagemaker/endpointConfiguration:EndpointConfiguration": endpoint_config,
    "aws:sagemaker/mlflowTrackingServer:MlflowTrackingServer": mlflow_server,
    "aws:rds/instance:Instance": rds_instance,
}
