"""Cross-cloud rules: tags/labels, regions, GPU pools, endpoints, protection of state."""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from .. import gpu as gpu_catalog
from ..model import Ctx, Res, provider_value, resource_tags, tag_path
from ..values import UNKNOWN, as_list, get, to_int, truthy
from ._registry import resource_rule, stack_rule

# ---------------------------------------------------------------------------------
# Tags / labels

TAGGABLE = frozenset({
    # AWS (tags)
    "aws:s3/bucket:Bucket", "aws:kms/key:Key", "aws:ecr/repository:Repository", "aws:eks/cluster:Cluster",
    "aws:eks/nodeGroup:NodeGroup", "aws:iam/role:Role", "aws:iam/policy:Policy",
    "aws:iam/openIdConnectProvider:OpenIdConnectProvider", "aws:sagemaker/model:Model",
    "aws:sagemaker/endpointConfiguration:EndpointConfiguration", "aws:sagemaker/endpoint:Endpoint",
    "aws:sagemaker/modelPackageGroup:ModelPackageGroup", "aws:cloudwatch/logGroup:LogGroup",
    "aws:ec2/vpc:Vpc", "aws:ec2/subnet:Subnet", "aws:ec2/natGateway:NatGateway", "aws:ec2/vpcEndpoint:VpcEndpoint",
    "aws:ec2/securityGroup:SecurityGroup", "aws:ec2/internetGateway:InternetGateway", "aws:ec2/eip:Eip",
    "aws:ec2/routeTable:RouteTable", "aws:ec2/launchTemplate:LaunchTemplate",
    # GCP (labels)
    "gcp:storage/bucket:Bucket", "gcp:container/cluster:Cluster", "gcp:container/nodePool:NodePool",
    "gcp:artifactregistry/repository:Repository", "gcp:kms/cryptoKey:CryptoKey", "gcp:vertex/aiEndpoint:AiEndpoint",
    # Azure (tags)
    "azure-native:resources:ResourceGroup", "azure-native:storage:StorageAccount",
    "azure-native:containerservice:ManagedCluster", "azure-native:containerservice:AgentPool",
    "azure-native:containerregistry:Registry", "azure-native:keyvault:Vault",
    "azure-native:machinelearningservices:Workspace", "azure-native:machinelearningservices:OnlineEndpoint",
    "azure-native:machinelearningservices:OnlineDeployment", "azure-native:machinelearningservices:Registry",
    "azure-native:network:VirtualNetwork", "azure-native:managedidentity:UserAssignedIdentity",
    "azure-native:operationalinsights:Workspace",
})


def _missing_tags(r: Res, ctx: Ctx) -> Any:
    tags = resource_tags(r)
    if tags is UNKNOWN:
        return UNKNOWN
    required = [k for k in ctx.config.get("requiredTags", []) if isinstance(k, str)]
    missing = []
    for key in required:
        want = key.lower() if r.package == "gcp" else key
        val = tags.get(want)
        if val is UNKNOWN:
            continue
        if not (isinstance(val, str) and val.strip()):
            missing.append(want)
    return missing


def _add_default_tags(r: Res, ctx: Ctx) -> dict[str, Any] | None:
    missing = _missing_tags(r, ctx)
    if missing is UNKNOWN or not missing:
        return None
    defaults = ctx.config.get("tagDefaults") or {}
    add = {k: defaults[k] for k in missing if isinstance(defaults.get(k), str) and defaults[k]}
    if not add:
        return None  # no known value: never invent one
    path = tag_path(r)
    props = dict(r.props)
    node = props
    for p in path[:-1]:
        node[p] = dict(node.get(p) or {})
        node = node[p]
    current = node.get(path[-1])
    node[path[-1]] = {**(current if isinstance(current, dict) else {}), **add}
    return props


@resource_rule(
    "required-tags",
    description="Taggable resources carry the required tags (AWS/Azure tags, GCP labels): by default owner, "
    "environment and cost-center.",
    severity="medium",
    enforcement="mandatory",
    remediation="Pass the tags through the component's tags/labels argument (or AWS provider default_tags). "
    "At the 'remediate' level the pack fills a missing tag only from the configured tagDefaults.",
    clouds=("aws", "gcp", "azure"),
    types=TAGGABLE,
    benchmarks=("mlops:tagging",),
    config=("requiredTags", "tagDefaults"),
    remediate=_add_default_tags,
)
def required_tags(r: Res, ctx: Ctx) -> Iterable[str]:
    missing = _missing_tags(r, ctx)
    if missing is UNKNOWN or not missing:
        return
    where = "labels" if r.package == "gcp" else "tags"
    yield f"missing required {where}: {', '.join(missing)}."


# ---------------------------------------------------------------------------------
# Regions

_GCP_ZONE = re.compile(r"^([a-z]+-[a-z]+\d+)-[a-z]$")
_GLOBAL_AWS = ("aws:iam/", "aws:route53/", "aws:cloudfront/", "aws:organizations/", "aws:budgets/")


def normalize_region(value: str) -> str:
    v = value.strip().lower().replace(" ", "")
    m = _GCP_ZONE.match(v)
    return m.group(1) if m else v


def resource_region(r: Res, ctx: Ctx) -> Any:
    """The region a resource lands in, ``None`` if global / not knowable, ``UNKNOWN`` if unknown."""
    if r.type.startswith("pulumi:") or r.package == "kubernetes":
        return None
    if r.package == "aws":
        if r.type.startswith(_GLOBAL_AWS):
            return None
        return _first(r.props.get("region"), provider_value(r, "region"), ctx.stack_config.get("aws:region"))
    if r.package == "gcp":
        own = r.props.get("location", r.props.get("region"))
        if own is None:
            return None  # project-level / global resource
        if isinstance(own, str) and own.lower() == "global":
            return None
        return own
    if r.package == "azure-native":
        return r.props.get("location")  # sub-resources without a location inherit their parent's
    return None


def _first(*values: Any) -> Any:
    for v in values:
        if v is UNKNOWN:
            return UNKNOWN
        if isinstance(v, str) and v:
            return v
    return None


@resource_rule(
    "allowed-regions",
    description="Resources are created only in the configured allowedRegions (AWS: resource 'region' input, "
    "else the provider's region, else the stack's aws:region; GCP: location/region, zones map to their region; "
    "Azure: location).",
    severity="high",
    enforcement="mandatory",
    remediation="Deploy into an allowed region (set aws:region / gcp:region / azure-native:location in the stack "
    "config) or extend allowedRegions after a data-residency review.",
    clouds=("aws", "gcp", "azure"),
    types=None,  # every resource type; filtered in the check
    benchmarks=("mlops:data-residency",),
    config=("allowedRegions",),
)
def allowed_regions(r: Res, ctx: Ctx) -> Iterable[str]:
    allowed = {normalize_region(a) for a in ctx.config.get("allowedRegions") or [] if isinstance(a, str)}
    if not allowed:
        return
    region = resource_region(r, ctx)
    if region is None or region is UNKNOWN or not isinstance(region, str):
        return
    if normalize_region(region) not in allowed:
        yield f"region {region} is not in allowedRegions ({', '.join(sorted(allowed))})."


# ---------------------------------------------------------------------------------
# GPU pools

EKS_NODE_GROUP = "aws:eks/nodeGroup:NodeGroup"
GKE_POOL = "gcp:container/nodePool:NodePool"
AKS_POOL = "azure-native:containerservice:AgentPool"
AKS_CLUSTER = "azure-native:containerservice:ManagedCluster"
GPU_POOL_TYPES = (EKS_NODE_GROUP, GKE_POOL, AKS_POOL, AKS_CLUSTER)
from mlops_policies.generated import GPU_TAINT_KEY  # noqa: E402 - the stack's taint key, generated
SERVING_VALUES = frozenset({"serving", "inference", "endpoint", "online"})
WORKLOAD_LABEL_KEYS = ("mlops-stack/workload", "mlops.dev/workload", "workload", "role")


@dataclass
class Pool:
    name: str
    machine: Any = None
    gpu: Any = None  # neutral name, None if unrecognised, UNKNOWN if not known yet
    gpus_per_node: int | None = None
    min_nodes: Any = None
    max_nodes: Any = None
    taints: Any = field(default_factory=list)  # list of (key, effect) or UNKNOWN
    spot: Any = False
    labels: Any = field(default_factory=dict)

    @property
    def serving(self) -> bool:
        labels = self.labels if isinstance(self.labels, dict) else {}
        for k in WORKLOAD_LABEL_KEYS:
            if isinstance(labels.get(k), str) and labels[k].lower() in SERVING_VALUES:
                return True
        return any(s in self.name.lower() for s in ("serving", "inference"))


def _eks_pool(r: Res) -> Pool | None:
    types = as_list(r.props.get("instanceTypes"))
    ami = r.props.get("amiType")
    if types is UNKNOWN:
        return None
    gpu_types = [t for t in types if isinstance(t, str) and gpu_catalog.is_aws_gpu_instance(t)]
    gpu_ami = isinstance(ami, str) and ("GPU" in ami or "NVIDIA" in ami)
    if not gpu_types and not gpu_ami:
        return None
    machine = gpu_types[0] if gpu_types else (types[0] if types else None)
    name, count = gpu_catalog.aws_instance_gpu(machine) if isinstance(machine, str) else (None, None)
    taints = as_list(r.props.get("taints"))
    sc = r.props.get("scalingConfig")
    return Pool(
        name=r.name, machine=machine, gpu=name, gpus_per_node=count,
        min_nodes=get(sc, "minSize"), max_nodes=get(sc, "maxSize"),
        taints=UNKNOWN if taints is UNKNOWN else [(get(t, "key"), get(t, "effect")) for t in taints],
        spot=(r.props.get("capacityType") == "SPOT") if r.props.get("capacityType") is not UNKNOWN else UNKNOWN,
        labels=r.props.get("labels") or {},
    )


def _gke_pool(r: Res) -> Pool | None:
    nc = r.props.get("nodeConfig")
    if nc is UNKNOWN:
        return None
    accs = as_list(get(nc, "guestAccelerators"))
    machine = get(nc, "machineType")
    if accs is UNKNOWN:
        return None
    accs = [a for a in accs if (to_int(get(a, "count")) or 0) > 0 or get(a, "count") is UNKNOWN]
    builtin = isinstance(machine, str) and machine.startswith(("a2-", "a3-", "a4-", "g2-"))
    if not accs and not builtin:
        return None
    acc_type = get(accs[0], "type") if accs else None
    gpu: Any = gpu_catalog.gcp_accelerator(acc_type) if isinstance(acc_type, str) else None
    if acc_type is UNKNOWN or machine is UNKNOWN:
        gpu = UNKNOWN
    count = to_int(get(accs[0], "count")) if accs else None
    auto = r.props.get("autoscaling")
    if auto is UNKNOWN:
        lo = hi = UNKNOWN
    elif isinstance(auto, dict) and auto:
        lo = get(auto, "minNodeCount", default=get(auto, "totalMinNodeCount"))
        hi = get(auto, "maxNodeCount", default=get(auto, "totalMaxNodeCount"))
    else:
        lo = hi = r.props.get("nodeCount", r.props.get("initialNodeCount"))
    taints = as_list(get(nc, "taints"))
    spot = get(nc, "spot")
    pre = get(nc, "preemptible")
    declared = UNKNOWN if taints is UNKNOWN else [(get(t, "key"), get(t, "effect")) for t in taints]
    if declared is not UNKNOWN and not any(k == GPU_TAINT_KEY for k, _ in declared):
        # GKE taints GPU nodes nvidia.com/gpu=present:NoSchedule itself (in a cluster that also
        # has non-GPU pools) and refuses a second taint with that key: none is declared.
        declared.append((GPU_TAINT_KEY, "NO_SCHEDULE"))
    return Pool(
        name=r.name, machine=machine, gpu=gpu, gpus_per_node=count, min_nodes=lo, max_nodes=hi,
        taints=declared,
        spot=UNKNOWN if UNKNOWN in (spot, pre) else bool(truthy(spot) or truthy(pre)),
        labels=get(nc, "labels") or {},
    )


def _aks_pool(name: str, p: Any) -> Pool | None:
    size = get(p, "vmSize")
    if not isinstance(size, str) or not gpu_catalog.is_azure_gpu_vm(size):
        return None
    gpu, count = gpu_catalog.azure_vm_gpu(size)
    auto = get(p, "enableAutoScaling")
    if truthy(auto):
        lo, hi = get(p, "minCount"), get(p, "maxCount")
    elif auto is UNKNOWN:
        lo = hi = UNKNOWN
    else:
        lo = hi = get(p, "count")
    raw = as_list(get(p, "nodeTaints"))
    taints: Any = UNKNOWN
    if raw is not UNKNOWN:
        taints = []
        for t in raw:
            if not isinstance(t, str):
                taints.append((UNKNOWN, UNKNOWN))
                continue
            key_val, _, effect = t.partition(":")
            taints.append((key_val.split("=", 1)[0], effect))
    prio = get(p, "scaleSetPriority")
    return Pool(
        name=name, machine=size, gpu=gpu, gpus_per_node=count, min_nodes=lo, max_nodes=hi, taints=taints,
        spot=UNKNOWN if prio is UNKNOWN else prio == "Spot", labels=get(p, "nodeLabels") or {},
    )


def gpu_pools(r: Res) -> list[Pool]:
    if r.type == EKS_NODE_GROUP:
        pools = [_eks_pool(r)]
    elif r.type == GKE_POOL:
        pools = [_gke_pool(r)]
    elif r.type == AKS_POOL:
        pools = [_aks_pool(r.name, r.props)]
    elif r.type == AKS_CLUSTER:
        profiles = as_list(r.props.get("agentPoolProfiles"))
        pools = [] if profiles is UNKNOWN else [_aks_pool(f"{r.name}/{get(p, 'name')}", p) for p in profiles]
    else:
        pools = []
    return [p for p in pools if p is not None]


def _tainted(p: Pool) -> Any:
    if p.taints is UNKNOWN:
        return UNKNOWN
    for key, effect in p.taints:
        if key is UNKNOWN or effect is UNKNOWN:
            return UNKNOWN
        if key == GPU_TAINT_KEY and str(effect).replace("_", "").lower() in ("noschedule", "noexecute"):
            return True
    return False


@resource_rule(
    "gpu-pool-tainted",
    description="GPU node pools carry the taint nvidia.com/gpu with effect NoSchedule, so only pods that "
    "tolerate it (GPU workloads) land on expensive GPU nodes.",
    severity="high",
    enforcement="mandatory",
    remediation="EKS: taints=[{'key': 'nvidia.com/gpu', 'value': 'present', 'effect': 'NO_SCHEDULE'}]; GKE: "
    "nothing - GKE adds nvidia.com/gpu=present:NoSchedule to GPU nodes itself when the cluster has a non-GPU "
    "pool, and refuses a second taint with that key; AKS: node_taints=['nvidia.com/gpu=present:NoSchedule'].",
    clouds=("aws", "gcp", "azure"),
    types=GPU_POOL_TYPES,
    benchmarks=("mlops:gpu-taint",),
)
def gpu_tainted(r: Res, ctx: Ctx) -> Iterable[str]:
    for p in gpu_pools(r):
        if _tainted(p) is False:
            yield f"GPU pool {p.name} is not tainted {GPU_TAINT_KEY}:NoSchedule."


@resource_rule(
    "gpu-pool-bounded",
    description="GPU node pools have an explicit maximum size no larger than maxNodesPerGpuPool.",
    severity="high",
    enforcement="mandatory",
    remediation="Set the autoscaler maximum (EKS scaling_config.max_size, GKE autoscaling.max_node_count, AKS "
    "max_count) to the largest size you will pay for, or raise maxNodesPerGpuPool in the pack config.",
    clouds=("aws", "gcp", "azure"),
    types=GPU_POOL_TYPES,
    benchmarks=("mlops:finops-gpu-cap",),
    config=("maxNodesPerGpuPool",),
)
def gpu_bounded(r: Res, ctx: Ctx) -> Iterable[str]:
    limit = to_int(ctx.config.get("maxNodesPerGpuPool"))
    for p in gpu_pools(r):
        if p.max_nodes is UNKNOWN:
            continue
        hi = to_int(p.max_nodes)
        if hi is None:
            yield f"GPU pool {p.name} has no maximum node count."
        elif limit and hi > limit:
            yield f"GPU pool {p.name} may grow to {hi} nodes (limit {limit})."


@resource_rule(
    "gpu-pool-scale-to-zero",
    description="Outside prod, GPU node pools scale down to zero nodes when idle (minimum 0).",
    severity="medium",
    enforcement="mandatory",
    remediation="Set the autoscaler minimum to 0 (EKS scaling_config.min_size=0, GKE autoscaling.min_node_count=0, "
    "AKS min_count=0 with enable_auto_scaling=True) in non-production stacks.",
    clouds=("aws", "gcp", "azure"),
    types=GPU_POOL_TYPES,
    benchmarks=("mlops:finops-scale-to-zero",),
)
def gpu_scale_to_zero(r: Res, ctx: Ctx) -> Iterable[str]:
    if ctx.is_prod(r):
        return
    for p in gpu_pools(r):
        if p.min_nodes is UNKNOWN:
            continue
        lo = to_int(p.min_nodes)
        if lo is None or lo > 0:
            yield f"GPU pool {p.name} keeps {lo if lo is not None else 'an unbounded number of'} node(s) warm in " \
                  f"environment '{ctx.environment(r)}' (minimum must be 0)."


@resource_rule(
    "gpu-allowed-types",
    description="GPU pools use only GPUs on the allowedGpus list (neutral names like nvidia-l4 or exact "
    "machine types); empty list = any.",
    severity="high",
    enforcement="mandatory",
    remediation="Choose an allowed GPU in the spec (gpu: nvidia-l4 ...) or extend allowedGpus after a cost review.",
    clouds=("aws", "gcp", "azure"),
    types=GPU_POOL_TYPES,
    benchmarks=("mlops:finops-approved-gpus",),
    config=("allowedGpus",),
)
def gpu_allowed(r: Res, ctx: Ctx) -> Iterable[str]:
    allow = [a for a in ctx.config.get("allowedGpus") or [] if isinstance(a, str)]
    if not allow:
        return
    for p in gpu_pools(r):
        if p.machine is UNKNOWN or p.gpu is UNKNOWN:
            continue
        machine = p.machine if isinstance(p.machine, str) else None
        if not gpu_catalog.allowed(p.gpu, machine, allow):
            yield f"GPU pool {p.name} uses {p.gpu or 'an unrecognised GPU'} ({machine}), not in allowedGpus."


@resource_rule(
    "gpu-max-per-pool",
    description="A GPU pool's GPUs per node x maximum nodes stays within maxGpusPerPool.",
    severity="high",
    enforcement="mandatory",
    remediation="Lower the pool's maximum node count or use a smaller machine type, or raise maxGpusPerPool.",
    clouds=("aws", "gcp", "azure"),
    types=GPU_POOL_TYPES,
    benchmarks=("mlops:finops-gpu-cap",),
    config=("maxGpusPerPool",),
)
def gpu_max(r: Res, ctx: Ctx) -> Iterable[str]:
    limit = to_int(ctx.config.get("maxGpusPerPool"))
    if not limit:
        return
    for p in gpu_pools(r):
        hi = to_int(p.max_nodes)
        if hi is None or p.gpus_per_node is None:
            continue
        total = hi * p.gpus_per_node
        if total > limit:
            yield f"GPU pool {p.name} may use {total} GPUs ({p.gpus_per_node}/node x {hi}); limit {limit}."


# ---------------------------------------------------------------------------------
# Endpoints

SM_ENDPOINT_CONFIG = "aws:sagemaker/endpointConfiguration:EndpointConfiguration"
AUTOSCALING_TARGET = "aws:appautoscaling/target:Target"
VERTEX_ENDPOINT = "gcp:vertex/aiEndpoint:AiEndpoint"
VERTEX_MG_DEPLOYMENT = "gcp:vertex/aiEndpointWithModelGardenDeployment:AiEndpointWithModelGardenDeployment"
VERTEX_POOL = "gcp:vertex/aiDeploymentResourcePool:AiDeploymentResourcePool"
AML_DEPLOYMENT = "azure-native:machinelearningservices:OnlineDeployment"
KSERVE = "kubernetes:serving.kserve.io/v1beta1:InferenceService"


def _replica_minimums(r: Res) -> list[tuple[str, Any]]:
    """(what, minimum instance count) pairs for serving resources."""
    if r.type == SM_ENDPOINT_CONFIG:
        variants = as_list(r.props.get("productionVariants"))
        if variants is UNKNOWN:
            return []
        return [(f"variant {get(v, 'variantName') or i}", get(v, "initialInstanceCount"))
                for i, v in enumerate(variants) if not get(v, "serverlessConfig")]
    if r.type == AUTOSCALING_TARGET:
        if r.props.get("serviceNamespace") != "sagemaker":
            return []
        return [(f"autoscaling target {r.props.get('resourceId')}", r.props.get("minCapacity"))]
    if r.type == VERTEX_MG_DEPLOYMENT:
        return [("deployment", get(r.props, "deployConfig", "dedicatedResources", "minReplicaCount"))]
    if r.type == VERTEX_POOL:
        return [("deployment resource pool", get(r.props, "dedicatedResources", "minReplicaCount"))]
    if r.type == AML_DEPLOYMENT:
        scale = get(r.props, "properties", "scaleSettings")
        if get(scale, "scaleType") == "TargetUtilization":
            return [("deployment", get(scale, "minInstances", default=1))]
        return [("deployment", get(r.props, "sku", "capacity", default=1))]
    if r.type == KSERVE:
        return [("predictor", get(r.props, "spec", "predictor", "minReplicas", default=1))]
    return []


@resource_rule(
    "endpoint-prod-min-instances",
    description="Production serving endpoints keep at least minProdInstances (default 2) instances: SageMaker "
    "variants and their autoscaling minimum, Vertex AI replicas, Azure ML deployments, KServe predictors.",
    severity="high",
    enforcement="mandatory",
    remediation="Set the endpoint's minimum instance count to >= 2 in prod (spec endpoints[].minInstances), so one "
    "instance failure or an AZ outage does not take serving down.",
    clouds=("aws", "gcp", "azure", "kubernetes"),
    types=(SM_ENDPOINT_CONFIG, AUTOSCALING_TARGET, VERTEX_MG_DEPLOYMENT, VERTEX_POOL, AML_DEPLOYMENT, KSERVE),
    benchmarks=("aws-fsbp:SageMaker.4", "aws-config:sagemaker-endpoint-config-prod-instance-count"),
    config=("minProdInstances",),
    prod_only=True,
)
def endpoint_min_instances(r: Res, ctx: Ctx) -> Iterable[str]:
    if not ctx.is_prod(r):
        return
    need = to_int(ctx.config.get("minProdInstances")) or 2
    for what, n in _replica_minimums(r):
        count = to_int(n)
        if n is UNKNOWN:
            continue
        if count is None or count < need:
            yield f"{what} has {count if count is not None else 'no'} minimum instance(s) in prod; need >= {need}."


_NVME_FAMILIES = frozenset({"g4dn", "g5", "g6", "g6e", "p3dn", "p4d", "p4de", "p5", "p5e", "p5en", "trn1", "trn1n",
                            "m5d", "c5d", "r5d", "m6id", "c6id", "r6id", "inf2"})


def _local_nvme(instance_type: Any) -> bool:
    if instance_type is UNKNOWN:
        return True  # cannot tell: do not report
    if not isinstance(instance_type, str):
        return False
    return instance_type.removeprefix("ml.").split(".", 1)[0] in _NVME_FAMILIES


@resource_rule(
    "endpoint-kms-encryption",
    description="Serving endpoints encrypt their storage with a customer-managed key (SageMaker endpoint config "
    "kmsKeyArn, Vertex AI endpoint encryptionSpec). Exempt: SageMaker variants on instances with local NVMe "
    "instance storage (ml.g4dn/g5/g6/p4d/p5/...*d), where SageMaker rejects a KMS key and the volume is "
    "hardware-encrypted. Azure ML endpoints inherit the workspace key (see azure-ml-workspace-cmk).",
    severity="high",
    enforcement="mandatory",
    remediation="SageMaker: kms_key_arn=key.arn on the EndpointConfiguration. Vertex AI: "
    "encryption_spec={'kms_key_name': crypto_key.id} on the AiEndpoint.",
    clouds=("aws", "gcp"),
    types=(SM_ENDPOINT_CONFIG, VERTEX_ENDPOINT),
    benchmarks=("checkov:CKV_AWS_98",),
)
def endpoint_kms(r: Res, ctx: Ctx) -> Iterable[str]:
    if r.type == SM_ENDPOINT_CONFIG:
        key = r.props.get("kmsKeyArn")
        variants = as_list(r.props.get("productionVariants"))
        if variants is UNKNOWN:
            return
        if variants and all(get(v, "serverlessConfig") or _local_nvme(get(v, "instanceType")) for v in variants):
            return  # serverless / NVMe instance-store variants cannot take a KMS key for the ML storage volume
        if key is not UNKNOWN and not key:
            yield "kmsKeyArn is not set."
        return
    key = get(r.props, "encryptionSpec", "kmsKeyName")
    if key is not UNKNOWN and not key:
        yield "encryptionSpec.kmsKeyName is not set."


@resource_rule(
    "endpoint-prod-data-capture",
    description="Production endpoints capture request/response data for monitoring (SageMaker data capture, "
    "Vertex AI request-response logging, Azure ML data collector, KServe logger).",
    severity="medium",
    enforcement="mandatory",
    remediation="SageMaker: data_capture_config={'enable_capture': True, 'initial_sampling_percentage': 10, "
    "'destination_s3_uri': 's3://<bucket>/capture', 'capture_options': [{'capture_mode': 'Input'}, "
    "{'capture_mode': 'Output'}], 'kms_key_id': key.arn}. Vertex AI: predict_request_response_logging_config. "
    "Azure ML: properties.data_collector.collections model_inputs/model_outputs Enabled.",
    clouds=("aws", "gcp", "azure", "kubernetes"),
    types=(SM_ENDPOINT_CONFIG, VERTEX_ENDPOINT, AML_DEPLOYMENT, KSERVE),
    benchmarks=("mlops:model-monitoring",),
    prod_only=True,
)
def endpoint_data_capture(r: Res, ctx: Ctx) -> Iterable[str]:
    if not ctx.is_prod(r):
        return
    if r.type == SM_ENDPOINT_CONFIG:
        dc = r.props.get("dataCaptureConfig")
        if dc is UNKNOWN:
            return
        enabled = get(dc, "enableCapture", default=True)
        pct = get(dc, "initialSamplingPercentage")
        if enabled is UNKNOWN or pct is UNKNOWN:
            return
        if not dc or truthy(enabled) is False or not to_int(pct):
            yield "dataCaptureConfig is missing, disabled or samples 0%."
    elif r.type == VERTEX_ENDPOINT:
        enabled = get(r.props, "predictRequestResponseLoggingConfig", "enabled")
        if enabled is not UNKNOWN and truthy(enabled) is not True:
            yield "predictRequestResponseLoggingConfig.enabled is not true."
    elif r.type == AML_DEPLOYMENT:
        cols = get(r.props, "properties", "dataCollector", "collections")
        if cols is UNKNOWN:
            return
        modes = [get(c, "dataCollectionMode") for c in (cols or {}).values()] if isinstance(cols, dict) else []
        if UNKNOWN in modes:
            return
        if not any(m in ("Enabled", None) for m in modes) or not modes:
            yield "properties.dataCollector has no enabled collection."
    elif r.type == KSERVE:
        logger = get(r.props, "spec", "predictor", "logger")
        if logger is not UNKNOWN and not logger:
            yield "spec.predictor.logger is not configured."


@resource_rule(
    "no-spot-for-prod-serving",
    description="Production serving capacity is not spot/preemptible: serving node pools (labelled "
    "mlops-stack/workload=serving|inference, or named *serving*/*inference*) and Vertex AI deployments.",
    severity="high",
    enforcement="mandatory",
    remediation="Use on-demand capacity for prod serving pools (EKS capacity_type='ON_DEMAND', GKE spot=False, "
    "AKS scale_set_priority='Regular'); keep spot for training and batch pools.",
    clouds=("aws", "gcp", "azure"),
    types=GPU_POOL_TYPES + (VERTEX_MG_DEPLOYMENT,),
    benchmarks=("mlops:serving-capacity",),
    prod_only=True,
)
def no_spot_serving(r: Res, ctx: Ctx) -> Iterable[str]:
    if not ctx.is_prod(r):
        return
    if r.type == VERTEX_MG_DEPLOYMENT:
        if truthy(get(r.props, "deployConfig", "dedicatedResources", "spot")):
            yield "deployment uses spot VMs."
        return
    pools = gpu_pools(r)
    if r.type in (EKS_NODE_GROUP, GKE_POOL, AKS_POOL) and not pools:
        # a CPU serving pool counts as well
        pools = _cpu_pool(r)
    for p in pools:
        if p.spot is True and p.serving:
            yield f"serving pool {p.name} uses spot/preemptible capacity in prod."


def _cpu_pool(r: Res) -> list[Pool]:
    if r.type == EKS_NODE_GROUP:
        return [Pool(name=r.name, spot=r.props.get("capacityType") == "SPOT", labels=r.props.get("labels") or {})]
    if r.type == GKE_POOL:
        nc = r.props.get("nodeConfig") or {}
        if nc is UNKNOWN:
            return []
        return [Pool(name=r.name, spot=truthy(get(nc, "spot")) is True or truthy(get(nc, "preemptible")) is True,
                     labels=get(nc, "labels") or {})]
    if r.type == AKS_POOL:
        return [Pool(name=r.name, spot=r.props.get("scaleSetPriority") == "Spot", labels=r.props.get("nodeLabels") or {})]
    return []


# ---------------------------------------------------------------------------------
# Stateful resources are protected in prod

STATEFUL = frozenset({
    "aws:s3/bucket:Bucket", "aws:kms/key:Key", "aws:ecr/repository:Repository",
    "aws:sagemaker/modelPackageGroup:ModelPackageGroup",
    "gcp:storage/bucket:Bucket", "gcp:kms/cryptoKey:CryptoKey", "gcp:kms/keyRing:KeyRing",
    "gcp:artifactregistry/repository:Repository", "gcp:vertex/aiMetadataStore:AiMetadataStore",
    "azure-native:storage:StorageAccount", "azure-native:keyvault:Vault", "azure-native:keyvault:Key",
    "azure-native:containerregistry:Registry", "azure-native:machinelearningservices:Workspace",
    "azure-native:machinelearningservices:Registry",
})


@stack_rule(
    "stateful-resources-protected-in-prod",
    description="In prod every stateful resource (buckets, storage accounts, KMS keys / key rings / Key Vaults, "
    "container registries, model registries, ML workspaces) has protect=True.",
    severity="critical",
    enforcement="mandatory",
    remediation="Pass ResourceOptions(protect=True, retain_on_delete=True) to stateful children when the "
    "environment is prod (the components do this from spec.environment).",
    clouds=("aws", "gcp", "azure"),
    benchmarks=("mlops:state-protection",),
    prod_only=True,
)
def stateful_protected(resources: list[Res], ctx: Ctx) -> Iterable[tuple[str, str]]:
    if not ctx.is_prod():
        return
    for r in resources:
        if r.type in STATEFUL and not r.protect:
            yield r.urn, f"{r.type.rsplit(':', 1)[-1]} {r.name} is not protected in prod."
