"""``mlops-stack preflight``: will ``pulumi up`` get the capacity this spec asks for?

Read-only checks against the user's AWS account (boto3 default credentials, the spec's
region), run before apply:

1. **Zones.** The network spreads its subnets over the first ``zone_count`` zones that
   ``DescribeAvailabilityZones`` returns with ``state=available`` (sorted by name, as
   ``aws.get_availability_zones`` does; only zones of type ``availability-zone``).
   Every GPU node pool's instance type must be offered in each of them
   (``DescribeInstanceTypeOfferings``, location type ``availability-zone``): an EKS
   managed node group spans all its subnets.
2. **EC2 vCPU quotas.** Per quota (on-demand and spot are separate quotas, per family:
   G and VT, P, Standard), the sum over node pools of ``maxNodes`` x vCPUs per instance
   (from the catalog, else ``DescribeInstanceTypes``) must fit the quota
   (Service Quotas ``GetServiceQuota``, falling back to ``GetAWSDefaultServiceQuota``).
   The system pool counts against the Standard on-demand quota.
3. **SageMaker endpoint-instance quotas.** Per instance type, the sum of endpoints'
   ``maxInstances`` must fit the ``<ml type> for endpoint usage`` quota
   (``ListServiceQuotas`` for ``sagemaker``, matched by name: its quota codes differ
   per instance type).

4. **Kubernetes version.** EKS ``DescribeClusterVersions`` for the spec's minor: it
   must be listed with ``versionStatus`` ``STANDARD_SUPPORT`` (the cluster is created
   with ``upgradePolicy.supportType: STANDARD``, which EKS refuses for a version in
   extended support). The live end date is shown beside the catalog table's, so a
   stale table row is visible.

5. **Managed endpoints' inputs** (with ``--outputs``, after the first apply made the
   bucket and registry with ``deployEndpoints: false``): each managed endpoint's model
   artifact must be in the stack bucket (``HeadObject`` on a ``.tar.gz`` key, else at
   least one object under the prefix) and its image in ECR (``DescribeImages`` for the
   tag or digest). SageMaker CreateModel checks both and fails the apply otherwise
   (docs/first-apply.md). Without ``--outputs`` the check says it did not run.

Instances already running in the account are not subtracted (a quota is the ceiling
for the whole region): a check that passes means the stack alone fits.

Every finding has the number needed and the number allowed. ``ok`` and ``warn`` pass;
``FAIL`` (will fail) and ``error`` (could not be checked, e.g. AccessDenied) fail.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from mlops_stack import catalog
from mlops_stack.aws.checks import endpoint_instance_type
from mlops_stack.aws.policies import EKS_UNSUPPORTED_ZONE_IDS
from mlops_stack.ops_report import ERROR, FAIL, FAILING, OK, WARN, ClientFactory, Finding, NoCredentials, Report, failing_lines, render
from mlops_stack.ops_report import check_documentation_cidrs
from mlops_stack.ops_report import num as _num

__all__ = ["ERROR", "FAIL", "FAILING", "OK", "WARN", "Finding", "Report", "default_clients", "failing_lines", "render", "run_preflight"]

#: The extra that installs this module's SDK, and its top-level modules.
OPS_EXTRA = "aws-ops"
SDK_MODULES = ("boto3", "botocore")
SDK_LABEL = "boto3"


@dataclass(frozen=True)
class Ec2Quota:
    family: str
    code: str
    name: str


#: EC2 vCPU quotas by (family, spot). Codes and names as Service Quotas lists them
#: (service code ``ec2``; read 2026-11 from public quota tables and scripts that call
#: GetServiceQuota with them).
EC2_VCPU_QUOTAS: dict[tuple[str, bool], Ec2Quota] = {
    ("G and VT", False): Ec2Quota("G and VT", "L-DB2E81BA", "Running On-Demand G and VT instances"),
    ("G and VT", True): Ec2Quota("G and VT", "L-3819A6DF", "All G and VT Spot Instance Requests"),
    ("P", False): Ec2Quota("P", "L-417A185B", "Running On-Demand P instances"),
    ("P", True): Ec2Quota("P", "L-7212CCBC", "All P Spot Instance Requests"),
    ("Standard", False): Ec2Quota("Standard", "L-1216C47A", "Running On-Demand Standard (A, C, D, H, I, M, R, T, Z) instances"),
    ("Standard", True): Ec2Quota("Standard", "L-34B43A08", "All Standard (A, C, D, H, I, M, R, T, Z) Spot Instance Requests"),
}

#: Leading letters of an instance family -> quota family.
_FAMILY_BY_LETTERS = {"g": "G and VT", "vt": "G and VT", "p": "P", **{c: "Standard" for c in "acdhimrtz"}}

SAGEMAKER_ENDPOINT_QUOTA = re.compile(r"^(ml\.[a-z0-9-]+\.[a-z0-9]+) for endpoint usage$")


def quota_family(instance_type: str) -> str | None:
    """``g5.xlarge`` -> ``"G and VT"``, ``p4d.24xlarge`` -> ``"P"``, ``m7i.large`` ->
    ``"Standard"``; ``None`` for families with a quota this check does not map (inf, trn, ...)."""
    family = instance_type.split(".", 1)[0]
    letters = re.match(r"[a-z]+", family)
    return _FAMILY_BY_LETTERS.get(letters.group(0)) if letters else None


def _error_text(err: Exception) -> str:
    code = getattr(err, "response", {}).get("Error", {}).get("Code") if hasattr(err, "response") else None
    return f"{code}: {err}" if code else f"{type(err).__name__}: {err}"


# ---------------------------------------------------------------------------------
# The pieces, each a small function over a boto3 client.


def usable_zones(ec2: Any) -> tuple[list[str], list[str]]:
    """``(usable, excluded)`` zone names, sorted, as the network chooses them: available
    zones of type ``availability-zone`` whose zone ID EKS supports."""
    resp = ec2.describe_availability_zones(Filters=[{"Name": "state", "Values": ["available"]}])
    zones = [z for z in resp["AvailabilityZones"] if z.get("ZoneType", "availability-zone") == "availability-zone"]
    usable = sorted(z["ZoneName"] for z in zones if z.get("ZoneId") not in EKS_UNSUPPORTED_ZONE_IDS)
    excluded = sorted(f"{z['ZoneName']} ({z['ZoneId']})" for z in zones if z.get("ZoneId") in EKS_UNSUPPORTED_ZONE_IDS)
    return usable, excluded


def planned_zones(ec2: Any, count: int) -> list[str]:
    """The zones the network's subnets go to: the first ``count`` usable AZ names, sorted."""
    return usable_zones(ec2)[0][:count]


def zones_offering(ec2: Any, instance_type: str, zones: list[str]) -> set[str]:
    paginator = ec2.get_paginator("describe_instance_type_offerings")
    found: set[str] = set()
    for page in paginator.paginate(
        LocationType="availability-zone",
        Filters=[{"Name": "instance-type", "Values": [instance_type]}, {"Name": "location", "Values": list(zones)}],
    ):
        found.update(o["Location"] for o in page["InstanceTypeOfferings"] if o["InstanceType"] == instance_type)
    return found


def vcpus_of(ec2: Any, instance_type: str, known: int | None) -> int:
    if known:
        return known
    resp = ec2.describe_instance_types(InstanceTypes=[instance_type])
    return int(resp["InstanceTypes"][0]["VCpuInfo"]["DefaultVCpus"])


def quota_value(sq: Any, service: str, code: str) -> float:
    """The account's value of a quota; the AWS default when it was never changed."""
    try:
        return float(sq.get_service_quota(ServiceCode=service, QuotaCode=code)["Quota"]["Value"])
    except sq.exceptions.NoSuchResourceException:
        return float(sq.get_aws_default_service_quota(ServiceCode=service, QuotaCode=code)["Quota"]["Value"])


def sagemaker_endpoint_quotas(sq: Any) -> dict[str, tuple[str, float]]:
    """``{"ml.g5.xlarge": ("L-...", 2.0), ...}``: applied values, defaults where none is listed."""
    out: dict[str, tuple[str, float]] = {}
    for operation in ("list_service_quotas", "list_aws_default_service_quotas"):
        try:
            pages = sq.get_paginator(operation).paginate(ServiceCode="sagemaker")
            for page in pages:
                for q in page["Quotas"]:
                    m = SAGEMAKER_ENDPOINT_QUOTA.match(q.get("QuotaName", ""))
                    if m and m.group(1) not in out:
                        out[m.group(1)] = (q["QuotaCode"], float(q["Value"]))
        except sq.exceptions.NoSuchResourceException:
            continue
    return out


# ---------------------------------------------------------------------------------
# What the spec asks for.


@dataclass(frozen=True)
class PoolDemand:
    name: str
    instance_type: str
    vcpus: int | None
    max_nodes: int
    spot: bool
    gpu: bool


def node_pools(spec: Any) -> list[PoolDemand]:
    """Every EKS node pool of the spec: the system pool and the GPU pools."""
    if not spec.cluster.enabled:
        return []
    strict = spec.region_check == "strict"
    sp = spec.cluster.system_pool
    system = catalog.cpu_offer("aws", sp.size, "nodepool")
    pools = [PoolDemand("system", system.instance_type, system.vcpus, sp.max_nodes, False, False)]
    for i, p in enumerate(spec.cluster.gpu_pools):
        offer = catalog.resolve_gpu("aws", p.gpu, p.gpus_per_node, "nodepool", spec.region, f"cluster.gpuPools[{i}].gpu", check_region=strict)
        pools.append(PoolDemand(p.name, offer.instance_type, offer.vcpus, p.max_nodes, p.spot, True))
    return pools


def endpoint_demand(spec: Any) -> dict[str, list[tuple[str, int]]]:
    """``{"ml.g5.xlarge": [("sentiment", 6)], ...}``: endpoints' maxInstances per instance type."""
    strict = spec.region_check == "strict"
    out: dict[str, list[tuple[str, int]]] = defaultdict(list)
    for i, ep in enumerate(spec.endpoints):
        if ep.on_cluster:  # runs on a GPU pool: no SageMaker quota
            continue
        out[endpoint_instance_type(ep, spec.region, strict, f"endpoints[{i}]")].append((ep.name, ep.max_instances))
    return dict(out)


# ---------------------------------------------------------------------------------
# The run.

def check_zones(ec2: Any, spec: Any, pools: list[PoolDemand], report: Report) -> None:
    try:
        usable, excluded = usable_zones(ec2)
    except Exception as err:  # noqa: BLE001 - reported, not raised
        report.findings.append(Finding("zones", "availability zones", spec.region, str(spec.zone_count), "?", ERROR, _error_text(err)))
        return
    zones = usable[: spec.zone_count]
    status = OK if len(zones) >= spec.zone_count else FAIL
    detail = ", ".join(zones) + (f"; left out (EKS does not support them): {', '.join(excluded)}" if excluded else "")
    report.findings.append(Finding("zones", "available zones for the subnets", spec.region, str(spec.zone_count), str(len(zones)), status, detail))
    # Every node group spans every private subnet: the system pool's type too.
    for pool in pools:
        try:
            offered = zones_offering(ec2, pool.instance_type, zones)
        except Exception as err:  # noqa: BLE001
            report.findings.append(Finding("instance offered", f"pool {pool.name} ({pool.instance_type})", ", ".join(zones), "offered", "?", ERROR, _error_text(err)))
            continue
        for zone in zones:
            ok = zone in offered
            report.findings.append(
                Finding(
                    "instance offered",
                    f"pool {pool.name} ({pool.instance_type})",
                    zone,
                    "offered",
                    "offered" if ok else "not offered",
                    OK if ok else FAIL,
                    "" if ok else f"{pool.instance_type} is not offered in {zone}; the node group spans every private subnet",
                )
            )


def check_ec2_quotas(ec2: Any, sq: Any, pools: list[PoolDemand], report: Report) -> None:
    needed: dict[tuple[str, bool], int] = defaultdict(int)
    parts: dict[tuple[str, bool], list[str]] = defaultdict(list)
    for pool in pools:
        family = quota_family(pool.instance_type)
        if family is None:
            report.findings.append(
                Finding("EC2 vCPU quota", f"pool {pool.name} ({pool.instance_type})", report.region, "?", "?", WARN, "no quota mapping for this family; check it by hand")
            )
            continue
        try:
            vcpus = vcpus_of(ec2, pool.instance_type, pool.vcpus)
        except Exception as err:  # noqa: BLE001
            report.findings.append(Finding("EC2 vCPU quota", f"pool {pool.name} ({pool.instance_type})", report.region, "?", "?", ERROR, _error_text(err)))
            continue
        key = (family, pool.spot)
        needed[key] += pool.max_nodes * vcpus
        parts[key].append(f"{pool.name}: {pool.max_nodes} x {pool.instance_type} ({vcpus} vCPU)")
    for key in sorted(needed, key=lambda k: (k[0], k[1])):
        quota = EC2_VCPU_QUOTAS[key]
        subject = f"{quota.name} ({quota.code})"
        try:
            allowed = quota_value(sq, "ec2", quota.code)
        except Exception as err:  # noqa: BLE001
            report.findings.append(Finding("EC2 vCPU quota", subject, report.region, str(needed[key]), "?", ERROR, _error_text(err)))
            continue
        ok = needed[key] <= allowed
        report.findings.append(
            Finding("EC2 vCPU quota", subject, report.region, f"{needed[key]} vCPU", f"{_num(allowed)} vCPU", OK if ok else FAIL, "; ".join(parts[key]))
        )


def check_sagemaker_quotas(sq: Any, demand: Mapping[str, list[tuple[str, int]]], report: Report) -> None:
    if not demand:
        return
    try:
        quotas = sagemaker_endpoint_quotas(sq)
    except Exception as err:  # noqa: BLE001
        for instance_type, eps in sorted(demand.items()):
            need = sum(n for _, n in eps)
            report.findings.append(Finding("SageMaker endpoint quota", f"{instance_type} for endpoint usage", report.region, str(need), "?", ERROR, _error_text(err)))
        return
    for instance_type, eps in sorted(demand.items()):
        need = sum(n for _, n in eps)
        detail = "; ".join(f"{name}: maxInstances {n}" for name, n in eps)
        subject = f"{instance_type} for endpoint usage"
        if instance_type not in quotas:
            report.findings.append(Finding("SageMaker endpoint quota", subject, report.region, f"{need} instances", "?", WARN, f"no such quota listed; {detail}"))
            continue
        code, allowed = quotas[instance_type]
        report.findings.append(
            Finding(
                "SageMaker endpoint quota",
                f"{subject} ({code})",
                report.region,
                f"{need} instances",
                f"{_num(allowed)} instances",
                OK if need <= allowed else FAIL,
                detail,
            )
        )


def check_kubernetes_version(eks: Any, spec: Any, report: Report) -> None:
    """The live EKS list for the spec's minor: it must be in standard support."""
    minor = spec.cluster.version
    subject = f"Kubernetes {minor} (upgradePolicy STANDARD)"
    row = catalog.kubernetes_version("aws", minor)
    table = f"catalog: standard support until {row.standard_end}" if row else "catalog: no row"
    try:
        found = eks.describe_cluster_versions(clusterType="eks", clusterVersions=[minor], includeAll=True).get("clusterVersions", [])
    except Exception as err:  # noqa: BLE001
        report.findings.append(Finding("EKS version", subject, report.region, "STANDARD_SUPPORT", "?", ERROR, _error_text(err)))
        return
    listed = next((v for v in found if v.get("clusterVersion") == minor), None)
    if listed is None:
        report.findings.append(Finding("EKS version", subject, report.region, "STANDARD_SUPPORT", "not offered", FAIL, f"EKS does not list {minor}; {table}"))
        return
    status = str(listed.get("versionStatus") or listed.get("status") or "?").upper().replace("-", "_")
    end = listed.get("endOfStandardSupportDate")
    end_text = end.date().isoformat() if hasattr(end, "date") else str(end or "?")
    detail = f"EKS: standard support until {end_text}; {table}"
    report.findings.append(
        Finding("EKS version", subject, report.region, "STANDARD_SUPPORT", status, OK if status == "STANDARD_SUPPORT" else FAIL, detail)
    )


def principal_role_arn(arn: str) -> str:
    """An STS assumed-role ARN as the IAM role ARN EKS records for the cluster creator
    (``arn:aws:sts::1:assumed-role/Deploy/ci`` -> ``arn:aws:iam::1:role/Deploy``); other
    ARNs unchanged. Role paths are not in assumed-role ARNs, so roles compare by name."""
    m = re.match(r"^arn:(aws[a-z-]*):sts::(\d{12}):assumed-role/([^/]+)/.+$", arn)
    return f"arn:{m.group(1)}:iam::{m.group(2)}:role/{m.group(3)}" if m else arn


def _same_principal(a: str, b: str) -> bool:
    def key(arn: str) -> tuple[str, str, str]:
        m = re.match(r"^arn:aws[a-z-]*:(?:iam|sts)::(\d{12}):(role|user)/(?:.*/)?([^/]+)$", arn)
        return (m.group(1), m.group(2), m.group(3)) if m else ("", "", arn)

    return key(a) == key(b)


def check_creator_not_listed(sts: Any, spec: Any, report: Report) -> None:
    """The identity running ``pulumi up`` gets the bootstrap admin access entry; the same
    ARN in ``aws.clusterAdminArns`` makes CreateAccessEntry answer 409."""
    admins = list(spec.aws.cluster_admin_arns)
    if not admins:
        return
    try:
        caller = principal_role_arn(sts.get_caller_identity()["Arn"])
    except Exception as err:  # noqa: BLE001
        report.findings.append(Finding("EKS access entries", "aws.clusterAdminArns", "cluster", "not the creator", "?", ERROR, _error_text(err)))
        return
    clash = [i for i, arn in enumerate(admins) if _same_principal(arn, caller)]
    if clash:
        report.findings.append(
            Finding(
                "EKS access entries",
                f"aws.clusterAdminArns[{clash[0]}]",
                "cluster",
                "not the creator",
                caller,
                FAIL,
                "the identity running pulumi up already gets the cluster creator's admin entry; "
                "EKS refuses a second entry for it (409 ResourceInUseException): remove it from the list or apply as another identity",
            )
        )
        return
    report.findings.append(Finding("EKS access entries", "aws.clusterAdminArns", "cluster", "not the creator", caller, OK))


#: An ECR image reference: ``<account>.dkr.ecr.<region>.amazonaws.com[.cn]/<repo>[:tag][@sha256:...]``.
ECR_IMAGE = re.compile(
    r"^(?P<account>\d{12})\.dkr\.ecr\.(?P<region>[a-z0-9-]+)\.amazonaws\.com(?:\.cn)?/(?P<repo>[a-z0-9._/-]+?)"
    r"(?::(?P<tag>[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}))?(?:@(?P<digest>sha256:[0-9a-f]{64}))?$"
)


def _code(err: Exception) -> str:
    return str(getattr(err, "response", {}).get("Error", {}).get("Code") or "") if hasattr(err, "response") else ""


def artifact_present(s3: Any, bucket: str, key: str) -> bool:
    """A ``.tar.gz`` object, or (an uncompressed model) at least one object under ``key/``."""
    if key.endswith(".tar.gz"):
        try:
            s3.head_object(Bucket=bucket, Key=key)
        except Exception as err:
            if _code(err) in ("404", "NoSuchKey", "NotFound"):
                return False
            raise
        return True
    resp = s3.list_objects_v2(Bucket=bucket, Prefix=key.rstrip("/") + "/", MaxKeys=1)
    return int(resp.get("KeyCount", 0)) > 0


def image_present(ecr: Any, ref: re.Match[str]) -> bool:
    image_id = {"imageDigest": ref["digest"]} if ref["digest"] else {"imageTag": ref["tag"] or "latest"}
    try:
        ecr.describe_images(registryId=ref["account"], repositoryName=ref["repo"], imageIds=[image_id])
    except Exception as err:
        if _code(err) in ("ImageNotFoundException", "RepositoryNotFoundException"):
            return False
        raise
    return True


def check_endpoint_inputs(client: ClientFactory, spec: Any, outputs: Mapping[str, Any] | None, report: Report) -> None:
    """Each managed endpoint's model artifact (in the stack bucket named by the stack
    outputs) and its ECR image exist: SageMaker CreateModel needs both."""
    endpoints = [(i, ep) for i, ep in enumerate(spec.endpoints) if not ep.on_cluster]
    if not endpoints:
        return
    if outputs is None:
        report.findings.append(
            Finding("endpoint inputs", "model artifacts and images", report.region, "present", "not checked", WARN,
                    "pass --outputs (pulumi stack output --json) after the first apply with deployEndpoints: false")
        )
        return
    uris = outputs.get("bucket_uris") or {}
    for i, ep in endpoints:
        art = ep.model.artifact
        subject = f"endpoints[{i}] {ep.name}: model artifact"
        uri = uris.get(art.bucket)
        if not isinstance(uri, str) or not uri.startswith("s3://"):
            report.findings.append(Finding("endpoint inputs", subject, art.key, "present", "?", FAIL, f"the outputs have no bucket_uris.{art.bucket}: apply with deployEndpoints: false first"))
        else:
            bucket = uri.removeprefix("s3://").split("/", 1)[0]
            where = f"s3://{bucket}/{art.key}"
            try:
                found = artifact_present(client("s3"), bucket, art.key)
            except Exception as err:  # noqa: BLE001
                report.findings.append(Finding("endpoint inputs", subject, where, "present", "?", ERROR, _error_text(err)))
            else:
                report.findings.append(
                    Finding("endpoint inputs", subject, where, "present", "present" if found else "missing", OK if found else FAIL,
                            "" if found else f"upload the model first (aws s3 cp <file> {where}); CreateModel fails without it")
                )
        check_endpoint_image(client, i, ep, report)


def check_endpoint_image(client: ClientFactory, i: int, ep: Any, report: Report) -> None:
    subject = f"endpoints[{i}] {ep.name}: image"
    image = ep.model.image
    if image is None:
        report.findings.append(Finding("endpoint inputs", subject, "framework", "present", "AWS image", OK, "a Deep Learning Container, resolved for the region"))
        return
    ref = ECR_IMAGE.match(image)
    if ref is None:
        report.findings.append(Finding("endpoint inputs", subject, image, "present", "?", WARN, "not an ECR image reference: not checked"))
        return
    if ref["region"] != report.region:
        report.findings.append(Finding("endpoint inputs", subject, image, "present", "?", WARN, f"in {ref['region']}, not the stack's region: not checked"))
        return
    try:
        found = image_present(client("ecr"), ref)
    except Exception as err:  # noqa: BLE001
        report.findings.append(Finding("endpoint inputs", subject, image, "present", "?", ERROR, _error_text(err)))
        return
    report.findings.append(
        Finding("endpoint inputs", subject, image, "present", "present" if found else "missing", OK if found else FAIL,
                "" if found else "push the image first (docker push); CreateModel fails without it")
    )


def run_preflight(spec: Any, client: ClientFactory, stack: str = "", outputs: Mapping[str, Any] | None = None) -> Report:
    """Run every check; ``client(service_name)`` returns a boto3 client in the spec's region.
    ``outputs`` (``pulumi stack output --json``): also check the managed endpoints' inputs."""
    report = Report(stack=stack, region=spec.region)
    check_documentation_cidrs(spec, report)
    if spec.cluster.enabled:
        check_kubernetes_version(client("eks"), spec, report)
        check_creator_not_listed(client("sts"), spec, report)
    pools = node_pools(spec)
    demand = endpoint_demand(spec)
    ec2 = client("ec2") if pools else None
    sq = client("service-quotas") if (pools or demand) else None
    if pools:
        check_zones(ec2, spec, pools, report)
        check_ec2_quotas(ec2, sq, pools, report)
    check_sagemaker_quotas(sq, demand, report)
    check_endpoint_inputs(client, spec, outputs, report)
    return report


def session_clients(session: Any, region: str, overrides: Mapping[str, Any] | None = None) -> ClientFactory:
    """A client factory over a boto3 session, with some clients replaced (tests)."""
    cache: dict[str, Any] = dict(overrides or {})

    def client(name: str) -> Any:
        if name not in cache:
            cache[name] = session.client(name, region_name=region)
        return cache[name]

    return client


def default_clients(spec: Any, profile: str | None = None) -> ClientFactory:
    """boto3 clients in the spec's region from the default credential chain (or ``profile``)."""
    import boto3

    session = boto3.Session(profile_name=profile) if profile else boto3.Session()
    if session.get_credentials() is None:
        raise NoCredentials("no AWS credentials found (set AWS_PROFILE, --profile, or the AWS_* variables)")
    return session_clients(session, spec.region)


def sdk_error(err: BaseException) -> tuple[int, str] | None:
    """``(exit code, line)`` for a boto3 error that is the user's environment, else None."""
    try:
        from botocore.exceptions import BotoCoreError, ProfileNotFound
    except ModuleNotFoundError:
        return None
    if isinstance(err, ProfileNotFound):
        return 2, f"--profile: {err}"
    if isinstance(err, BotoCoreError):
        return 1, f"AWS: {err}"
    return None
