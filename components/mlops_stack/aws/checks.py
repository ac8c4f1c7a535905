"""AWS-specific spec rules, run by ``targets.check`` before any resource is registered.

Framework endpoints get their serving image resolved here (``images.resolve_image``,
cached), so an unknown framework, version or python version is a ``ConfigError`` that
names the key path, with zero resources registered; ``ModelEndpoint`` later reads the
same URI from the cache. Endpoints that give ``model.image`` never import the SDK.
"""

from __future__ import annotations

from typing import Any

from mlops_stack import catalog
from mlops_stack.args import check_tag_count
from mlops_stack.aws.replication import replica_region
from mlops_stack.catalog import mig
from mlops_stack.errors import ConfigError
from mlops_stack.k8s import charts
from mlops_stack.naming import check_autoname


def endpoint_instance_type(ep: Any, region: str, check_region: bool = True, path: str = "endpoint") -> str:
    """The SageMaker instance type of an ``EndpointSpec`` (``ml.g5.xlarge``, ``ml.m5.large``)."""
    if ep.gpu is not None:
        return catalog.resolve_gpu("aws", ep.gpu, ep.gpus_per_instance, "endpoint", region, f"{path}.gpu", check_region=check_region).instance_type
    return catalog.cpu_offer("aws", ep.cpu_size or "small", "endpoint").instance_type


#: pulumi-aws `s3.Bucket.bucket_prefix`: "less than or equal to 37 characters".
MAX_BUCKET_PREFIX = 37


#: AWS: 50 user tags per resource (EKS node groups included).
MAX_TAGS = 50

#: Regions whose zone count in the catalog includes a zone ID EKS does not support
#: (``policies.EKS_UNSUPPORTED_ZONE_IDS``; the network leaves it out): us-east-1 lists
#: use1-az1 to use1-az6, so at most five zones carry the cluster's subnets.
EKS_EXCLUDED_ZONE_IN_REGION = {"us-east-1": "use1-az3"}


def check(spec: Any) -> None:
    check_tag_count(spec.tags, MAX_TAGS, "AWS tags")
    excluded = EKS_EXCLUDED_ZONE_IN_REGION.get(spec.region)
    info = catalog.zones("aws", spec.region)
    if excluded and info is not None and info.listed and spec.zone_count > info.count - 1:
        raise ConfigError(
            "network.zones",
            f"asks for {spec.zone_count} zones, but {spec.region} has {info.count - 1} that EKS supports ({excluded} is left out by ID)",
            f"set network.zones: {info.count - 1}",
            value=spec.zone_count,
        )
    check_name_lengths(spec)
    if spec.cluster.enabled:
        # EKS node groups scale only through the Cluster Autoscaler, which exists per minor.
        charts.cluster_autoscaler(spec.cluster.version)
        check_gpu_sharing(spec)
        mig.check(spec, "aws")
    for i, bucket in enumerate(spec.storage.buckets):
        prefix = f"{spec.prefix}-{bucket.name}-"
        if len(prefix) > MAX_BUCKET_PREFIX:
            raise ConfigError(
                f"storage.buckets[{i}].name",
                f"makes the S3 bucket prefix {prefix!r} {len(prefix)} characters long; AWS allows {MAX_BUCKET_PREFIX}",
                f"use a bucket name of at most {MAX_BUCKET_PREFIX - len(spec.prefix) - 2} characters",
                value=bucket.name,
            )
    # Prod replicates the data buckets to a paired region: fail now if there is none.
    replica_region(spec.region, spec.storage.replica_region, spec.is_prod)
    strict = spec.region_check == "strict"
    for i, ep in enumerate(spec.endpoints):
        if ep.model.framework is None or ep.on_cluster:
            continue
        from mlops_stack.aws.images import resolve_image  # lazy: the image resolver, only for a framework model

        path = f"endpoints[{i}]"
        instance_type = endpoint_instance_type(ep, spec.region, strict, path)
        resolve_image(
            ep.model.framework,
            spec.region,
            instance_type,
            path=f"{path}.model.framework",
            instance_path=f"{path}.gpu" if ep.gpu is not None else f"{path}.cpuSize",
        )


def check_gpu_sharing(spec: Any) -> None:
    """MIG on EKS: nothing partitions the GPUs unless the GPU Operator's MIG manager runs
    (EKS managed node groups have no MIG setting and the AL2023 NVIDIA AMI boots with MIG off)."""
    if spec.gpu.sharing.mode == "mig" and spec.gpu.driver != "operator" and spec.cluster.gpu_pools:
        raise ConfigError(
            "gpu.sharing.mode",
            "mig on EKS needs the GPU Operator's MIG manager to partition the GPUs; with gpu.driver cloud nothing would",
            "set gpu.driver: operator, or use time-slicing",
            value="mig",
        )


#: Name limits (and their sources) of the names pulumi-aws autonames from spec names; the
#: offline engine's ``mocks.AUTONAMES`` rows for these types use the same values.
MAX_IAM_ROLE_NAME = 64
IAM_ROLE_NAME_SOURCE = "botocore 1.44.8 iam 2010-05-08 roleNameType max 64"
MAX_SAGEMAKER_NAME = 63
SAGEMAKER_MODEL_NAME_SOURCE = "botocore 1.44.8 sagemaker 2017-07-24 ModelName max 63"
SAGEMAKER_CONFIG_NAME_SOURCE = "botocore 1.44.8 sagemaker 2017-07-24 EndpointConfigName max 63"
MAX_NODE_GROUP_NAME = 63
NODE_GROUP_NAME_SOURCE = "EKS CreateNodegroup: nodegroupName up to 63 characters (EKS API reference)"


def check_name_lengths(spec: Any) -> None:
    """Names pulumi-aws autonames from spec names (``<name>-endpoint-<endpoint>-role-<7 hex>``,
    ``<name>-gpu-<pool>-nodes-<7 hex>``) must fit the API's limit: refused here, before
    anything is registered, with the line the offline engine and ``pulumi preview`` give."""
    for i, ep in enumerate(spec.endpoints):
        keys = [(f"endpoints[{i}].name", ep.name), ("name", spec.name)]
        base = f"{spec.name}-endpoint-{ep.name}"
        if ep.on_cluster:
            check_autoname(keys, "aws:iam/role:Role", f"{base}-identity-role", MAX_IAM_ROLE_NAME, source=IAM_ROLE_NAME_SOURCE)
            continue
        check_autoname(keys, "aws:sagemaker/endpointConfiguration:EndpointConfiguration", f"{base}-config", MAX_SAGEMAKER_NAME, source=SAGEMAKER_CONFIG_NAME_SOURCE)
        check_autoname(keys, "aws:sagemaker/model:Model", f"{base}-model", MAX_SAGEMAKER_NAME, source=SAGEMAKER_MODEL_NAME_SOURCE)
        check_autoname(keys, "aws:iam/role:Role", f"{base}-role", MAX_IAM_ROLE_NAME, source=IAM_ROLE_NAME_SOURCE)
    if spec.cluster.enabled:
        for i, pool in enumerate(spec.cluster.gpu_pools):
            keys = [(f"cluster.gpuPools[{i}].name", pool.name), ("name", spec.name)]
            check_autoname(keys, "aws:eks/nodeGroup:NodeGroup", f"{spec.name}-gpu-{pool.name}-nodes", MAX_NODE_GROUP_NAME, what="nodeGroupName", source=NODE_GROUP_NAME_SOURCE)
