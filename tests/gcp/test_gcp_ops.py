"""``mlops-stack preflight`` and ``smoke`` on GCP against a local fake of the REST APIs
(tests/fakeapi.py, 127.0.0.1 only), answering in the shapes of the public API
references:

- Compute Engine v1: ``zones.list`` (Zone), ``acceleratorTypes.get`` (AcceleratorType),
  ``regions.get`` / ``projects.get`` (Region / Project ``quotas[]``: metric, limit, usage)
  - cloud.google.com/compute/docs/reference/rest/v1; quota metric names as in the
  ``Quota.metric`` enum of the compute v1 discovery document (revision 20261106);
- GKE v1 ``projects.locations.getServerConfig`` (ServerConfig: channels[].validVersions)
  and ``projects.locations.clusters.get`` (Cluster.status) -
  cloud.google.com/kubernetes-engine/docs/reference/rest/v1;
- Service Usage v1 ``services.get`` (GoogleApiServiceusageV1Service: name, config, state)
  and v1beta1 ``services.consumerQuotaMetrics.get`` (ConsumerQuotaMetric:
  consumerQuotaLimits[].quotaBuckets[] with effectiveLimit as an int64 string and
  dimensions.region) - cloud.google.com/service-usage/docs/reference/rest;
- Cloud Storage JSON v1 ``buckets.get`` (versioning.enabled, encryption.defaultKmsKeyName,
  iamConfiguration.publicAccessPrevention) - cloud.google.com/storage/docs/json_api/v1/buckets;
- Artifact Registry v1 ``repositories.get`` (Repository.format);
- Vertex AI v1 ``endpoints.get`` (Endpoint.deployedModels[].dedicatedResources) and
  ``endpoints.predict`` / ``rawPredict`` - cloud.google.com/vertex-ai/docs/reference/rest/v1.
"""

from __future__ import annotations

import argparse
import functools
import json
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
import requests
from fakeapi import Call, FakeApi, serve
from mlops_stack import cli_ops
from mlops_stack.gcp import preflight, smoke
from mlops_stack.offline.plan import plan_stack_file
from mlops_stack.offline.stackfile import read_stack_file
from mlops_stack.ops_report import ERROR, FAIL, OK, SKIP, WARN
from mlops_stack.spec import load_spec
from planning import ROOT, write_outputs

FIXTURE = ROOT / "tests" / "fixtures" / "gcp" / "Pulumi.ops-gcp.yaml"
PROJECT, REGION = "ops-dev-123456", "us-central1"
ZONES = ["us-central1-a", "us-central1-b", "us-central1-c", "us-central1-f"]
SERVICES = ("compute", "container", "serviceusage", "serviceusage-v1beta1", "storage", "artifactregistry", "aiplatform", "cloudresourcemanager")
PROJECT_NUMBER = "123456789012"
L4_SERVING = "aiplatform.googleapis.com/custom_model_serving_nvidia_l4_gpus"
CPU_SERVING = "aiplatform.googleapis.com/custom_model_serving_cpus"

HEALTHY_REGION_QUOTAS = {"CPUS": 200, "E2_CPUS": 100, "PREEMPTIBLE_CPUS": 0, "NVIDIA_L4_GPUS": 8, "PREEMPTIBLE_NVIDIA_L4_GPUS": 16,
                         "NVIDIA_T4_GPUS": 4, "DISKS_TOTAL_GB": 4096, "SSD_TOTAL_GB": 2048}
#: The physical name of the fixture's models bucket (gcp/_shared.py bucket_name: deterministic).
MODELS_BUCKET = "ops-dev-models-" + __import__("hashlib").sha1(b"ops-dev-123456").hexdigest()[:7]


def spec() -> Any:
    return load_spec(read_stack_file(FIXTURE).raw_spec)


@functools.cache
def plan_outputs() -> dict[str, Any]:
    outputs = dict(plan_stack_file(FIXTURE).plan.outputs)
    outputs["kubeconfig"] = "[secret]"
    return json.loads(json.dumps(outputs))


def compute_self(path: str) -> str:
    return f"https://www.googleapis.com/compute/v1/projects/{PROJECT}/{path}"


def quota_list(values: dict[str, float]) -> list[dict[str, Any]]:
    return [{"metric": m, "limit": float(v), "usage": 0.0} for m, v in values.items()]


def consumer_quota_metric(metric: str, region_limit: int | None, default: int, display: str) -> dict[str, Any]:
    encoded = metric.replace("/", "%2F")
    buckets: list[dict[str, Any]] = [{"effectiveLimit": str(default), "defaultLimit": str(default)}]
    if region_limit is not None:
        buckets.append({"effectiveLimit": str(region_limit), "defaultLimit": str(default), "dimensions": {"region": REGION}})
    return {
        "name": f"projects/123456789012/services/aiplatform.googleapis.com/consumerQuotaMetrics/{encoded}",
        "displayName": display,
        "metric": metric,
        "unit": "1/{project}/{region}",
        "consumerQuotaLimits": [{
            "name": f"projects/123456789012/services/aiplatform.googleapis.com/consumerQuotaMetrics/{encoded}/limits/%2Fproject%2Fregion",
            "unit": "1/{project}/{region}",
            "isPrecise": True,
            "metric": metric,
            "quotaBuckets": buckets,
        }],
    }


def healthy(api: FakeApi, *, region_quotas: dict[str, float] | None = None, gpus_all_regions: int = 16, l4_serving: int = 8,
            no_l4_in: tuple[str, ...] = (), agents: tuple[str, ...] = ("container-engine-robot", "compute-system"),
            pushed: tuple[str, ...] = ("chat", "scorer"), uploaded: tuple[str, ...] = ("chat/v1", "scorer/v1")) -> FakeApi:
    """A project in which the fixture stack fits; keyword arguments break one thing."""
    # Cloud Storage JSON v1 objects.list (Objects: kind, items[] of Object, nextPageToken) of the model directories.
    def objects(call: Call) -> tuple[int, dict[str, Any]]:
        prefix = call.query.get("prefix", [""])[0]
        items = [{"kind": "storage#object", "name": f"{prefix}model.pt", "bucket": MODELS_BUCKET, "size": "1048576",
                  "contentType": "application/octet-stream"}] if prefix.rstrip("/") in uploaded else []
        return 200, {"kind": "storage#objects", **({"items": items} if items else {})}
    api.route("GET", f"/storage/b/{MODELS_BUCKET}/o", objects)
    # Artifact Registry v1 repositories.get (Repository: name, format) of the stack's serving repository.
    repo = f"projects/{PROJECT}/locations/{REGION}/repositories/ops-dev-serving"
    api.json("GET", f"/artifactregistry/{repo}", {"name": repo, "format": "DOCKER", "mode": "STANDARD_REPOSITORY"})
    # Artifact Registry v1 packages.tags.get (Tag: name, version) for the images pushed.
    for image in pushed:
        tag = f"projects/{PROJECT}/locations/{REGION}/repositories/ops-dev-serving/packages/{image}/tags/1.0.0"
        api.json("GET", f"/artifactregistry/{tag}", {"name": tag, "version": tag.split("/tags/")[0] + "/versions/sha256:" + "b" * 64})
    quotas = region_quotas if region_quotas is not None else HEALTHY_REGION_QUOTAS
    # Resource Manager v1: projects.get (Project) and projects.getIamPolicy (Policy: version, etag, bindings).
    api.json("GET", f"/cloudresourcemanager/projects/{PROJECT}", {
        "projectNumber": PROJECT_NUMBER, "projectId": PROJECT, "lifecycleState": "ACTIVE", "name": PROJECT,
        "createTime": "2026-01-05T10:00:00.000Z", "parent": {"type": "organization", "id": "1234567"},
    })
    roles = {"container-engine-robot": "roles/container.serviceAgent", "compute-system": "roles/compute.serviceAgent"}
    api.json("POST", f"/cloudresourcemanager/projects/{PROJECT}:getIamPolicy", {
        "version": 1, "etag": "BwYK3x1vYn8=",
        "bindings": [{"role": "roles/owner", "members": ["user:admin@example.com"]}]
        + [{"role": roles[a], "members": [f"serviceAccount:service-{PROJECT_NUMBER}@{a}.iam.gserviceaccount.com"]} for a in agents],
    })
    api.route("GET", f"/serviceusage/projects/{PROJECT}/services/(?P<api>[a-z.]+)", lambda c: (200, {
        "name": f"projects/123456789012/services/{c.path.rsplit('/', 1)[1]}",
        "config": {"name": c.path.rsplit("/", 1)[1], "title": "API"},
        "state": "ENABLED",
        "parent": "projects/123456789012",
    }))
    api.json("GET", f"/compute/projects/{PROJECT}/zones", {
        "kind": "compute#zoneList",
        "id": f"projects/{PROJECT}/zones",
        "items": [{"kind": "compute#zone", "id": str(2000 + i), "name": z, "description": z, "status": "UP",
                   "region": compute_self(f"regions/{REGION}"), "selfLink": compute_self(f"zones/{z}"),
                   "availableCpuPlatforms": ["Intel Cascade Lake", "AMD Milan"], "supportsPzs": False} for i, z in enumerate(ZONES)]
        + [{"kind": "compute#zone", "id": "2100", "name": "us-east1-b", "status": "UP", "region": compute_self("regions/us-east1")}],
        "selfLink": compute_self("zones"),
    })
    for zone in ZONES:
        if zone in no_l4_in:
            continue
        api.json("GET", f"/compute/projects/{PROJECT}/zones/{zone}/acceleratorTypes/nvidia-l4", {
            "kind": "compute#acceleratorType", "id": "10012", "creationTimestamp": "1969-12-31T16:00:00.000-08:00",
            "name": "nvidia-l4", "description": "NVIDIA L4", "zone": compute_self(f"zones/{zone}"),
            "selfLink": compute_self(f"zones/{zone}/acceleratorTypes/nvidia-l4"), "maximumCardsPerInstance": 8,
        })
    api.json("GET", f"/compute/projects/{PROJECT}/regions/{REGION}", {
        "kind": "compute#region", "id": "1000", "name": REGION, "description": REGION, "status": "UP",
        "zones": [compute_self(f"zones/{z}") for z in ZONES], "quotas": quota_list(quotas), "selfLink": compute_self(f"regions/{REGION}"),
    })
    api.json("GET", f"/compute/projects/{PROJECT}", {
        "kind": "compute#project", "id": "123456789012", "name": PROJECT,
        "quotas": quota_list({"GPUS_ALL_REGIONS": gpus_all_regions, "CPUS_ALL_REGIONS": 1000, "NETWORKS": 15}),
    })
    api.json("GET", f"/container/projects/{PROJECT}/locations/us-central1-a/serverConfig", {
        "defaultClusterVersion": "1.34.1-gke.1829001",
        "validNodeVersions": ["1.35.0-gke.1795000", "1.34.1-gke.1829001"],
        "defaultImageType": "COS_CONTAINERD",
        "validImageTypes": ["COS_CONTAINERD", "UBUNTU_CONTAINERD"],
        "validMasterVersions": ["1.35.0-gke.1795000", "1.34.1-gke.1829001"],
        "channels": [
            {"channel": "RAPID", "defaultVersion": "1.35.0-gke.1795000", "validVersions": ["1.35.0-gke.1795000"]},
            {"channel": "REGULAR", "defaultVersion": "1.34.1-gke.1829001", "validVersions": ["1.35.0-gke.1795000", "1.34.1-gke.1829001"]},
            {"channel": "STABLE", "defaultVersion": "1.33.5-gke.1201000", "validVersions": ["1.34.1-gke.1829001", "1.33.5-gke.1201000"]},
        ],
    })
    base = f"/serviceusage-v1beta1/projects/{PROJECT}/services/aiplatform.googleapis.com/consumerQuotaMetrics/"
    api.json("GET", base + "aiplatform.googleapis.com%2Fcustom_model_serving_nvidia_l4_gpus",
             consumer_quota_metric(L4_SERVING, l4_serving, 0, "Custom model serving Nvidia L4 GPUs per region"))
    api.json("GET", base + "aiplatform.googleapis.com%2Fcustom_model_serving_cpus",
             consumer_quota_metric(CPU_SERVING, None, 48, "Custom model serving CPUs per region"))
    return api


def factory(api: FakeApi, session: requests.Session | None = None) -> Any:
    return preflight.rest_clients(session or requests.Session(), REGION, {s: f"{api.base}/{s}/" for s in SERVICES})


def run_cli(argv: list[str], api: FakeApi | None, capsys: pytest.CaptureFixture[str],
            session: requests.Session | None = None) -> tuple[int, str, str]:
    parser = argparse.ArgumentParser(prog="mlops-stack")
    cli_ops.add_parsers(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(argv)
    code = args.handler(args, client=factory(api, session) if api is not None else None)
    out, err = capsys.readouterr()
    return code, out, err


def rows(report: Any) -> list[tuple[str, str, str, str, str, str]]:
    return [(f.check, f.subject, f.where, f.needed, f.allowed, f.status) for f in report.findings]


# --- preflight -----------------------------------------------------------------------


def test_preflight_passes_on_a_healthy_project(capsys: pytest.CaptureFixture[str]) -> None:
    with serve(healthy(FakeApi())) as api:
        code, out, err = run_cli(["preflight", "--config", str(FIXTURE)], api, capsys)
        report = preflight.run_preflight(spec(), factory(api), stack="ops-gcp")
    assert (code, err) == (0, ""), out
    assert f"preflight: all {len(report.findings)} checks passed" in out
    quota_rows = [r for r in rows(report) if r[0] in ("GPU quota", "CPU quota", "Vertex AI serving quota", "Disk quota")]
    assert quota_rows == [
        # train: 4 nodes x 2 L4 on spot -> the preemptible quota (the project has one); infer: 2 x 1 L4.
        ("GPU quota", "NVIDIA_L4_GPUS", REGION, "2 GPUs", "8 GPUs", OK),
        ("GPU quota", "PREEMPTIBLE_NVIDIA_L4_GPUS", REGION, "8 GPUs", "16 GPUs", OK),
        # system 3 x e2-standard-2, train 4 x g2-standard-24 (no PREEMPTIBLE_CPUS: regular CPUs), infer 2 x g2-standard-4.
        ("CPU quota", "CPUS", REGION, "110 vCPU", "200 vCPU", OK),
        ("CPU quota", "E2_CPUS", REGION, "6 vCPU", "100 vCPU", OK),
        ("GPU quota", "GPUS_ALL_REGIONS", "all regions", "10 GPUs", "16 GPUs", OK),
        # pd-balanced boot disks at maxNodes: system 3 x 50, train 4 x 200, infer 2 x 200 (no volumes: monitoring off).
        ("Disk quota", "SSD_TOTAL_GB", REGION, "1350 GB", "2048 GB", OK),
        # Twice each deployment (a model update runs the new one next to the old):
        # chat: 3 replicas x 1 L4 (the region's bucket); scorer: 2 x n1-standard-2 (the default bucket).
        ("Vertex AI serving quota", "custom_model_serving_cpus", REGION, "8 vCPU", "48 vCPU", OK),
        ("Vertex AI serving quota", "custom_model_serving_nvidia_l4_gpus", REGION, "6 GPUs", "8 GPUs", OK),
    ]
    assert [r for r in rows(report) if r[0] == "model artifact"] == [
        ("model artifact", f"endpoint chat: gs://{MODELS_BUCKET}/chat/v1/", MODELS_BUCKET, "uploaded", "uploaded", OK),
        ("model artifact", f"endpoint scorer: gs://{MODELS_BUCKET}/scorer/v1/", MODELS_BUCKET, "uploaded", "uploaded", OK),
    ]
    assert [r for r in rows(report) if r[0] == "accelerator offered"] == [
        ("accelerator offered", "pool train (2 x nvidia-l4)", "us-central1-a", "offered", "offered", OK),
        ("accelerator offered", "pool infer (1 x nvidia-l4)", "us-central1-a", "offered", "offered", OK),
    ]
    version = next(r for r in report.findings if r.check == "GKE version")
    assert (version.subject, version.where, version.allowed, version.status) == ("Kubernetes 1.35 (REGULAR channel)", "us-central1-a", "1.35.0-gke.1795000", OK)
    apis = sorted(f.subject for f in report.findings if f.check == "API enabled")
    assert apis == ["aiplatform.googleapis.com", "artifactregistry.googleapis.com", "binaryauthorization.googleapis.com", "cloudkms.googleapis.com",
                    "compute.googleapis.com", "container.googleapis.com", "containerscanning.googleapis.com", "dns.googleapis.com",
                    "storage.googleapis.com"]


def test_a_zero_gpu_quota_fails_with_the_numbers(capsys: pytest.CaptureFixture[str]) -> None:
    # A new project: every GPU quota 0, preemptible ones too (spot then counts against the regular quota).
    zero = {**HEALTHY_REGION_QUOTAS, "NVIDIA_L4_GPUS": 0, "PREEMPTIBLE_NVIDIA_L4_GPUS": 0}
    with serve(healthy(FakeApi(), region_quotas=zero, gpus_all_regions=0)) as api:
        code, out, _ = run_cli(["preflight", "--config", str(FIXTURE), "--format", "json"], api, capsys)
    assert code == 1
    failed = [(f["subject"], f["where"], f["needed"], f["allowed"]) for f in json.loads(out)["findings"] if f["status"] == FAIL]
    assert failed == [("NVIDIA_L4_GPUS", REGION, "10 GPUs", "0 GPUs"), ("GPUS_ALL_REGIONS", "all regions", "10 GPUs", "0 GPUs")]
    detail = next(f["detail"] for f in json.loads(out)["findings"] if f["subject"] == "NVIDIA_L4_GPUS")
    assert "train: 4 x 2 nvidia-l4 (spot); no preemptible quota: spot uses the regular quota" in detail


def test_a_zone_without_the_gpu_fails() -> None:
    with serve(healthy(FakeApi(), no_l4_in=("us-central1-a",))) as api:
        report = preflight.run_preflight(spec(), factory(api))
    assert [(f.subject, f.where, f.allowed) for f in report.failed] == [
        ("pool train (2 x nvidia-l4)", "us-central1-a", "not offered"),
        ("pool infer (1 x nvidia-l4)", "us-central1-a", "not offered"),
    ]


def _prod(region_check: str = "strict") -> Any:
    doc = json.loads(json.dumps(read_stack_file(FIXTURE).raw_spec))
    doc["environment"] = "prod"
    doc["endpoints"] = []
    doc["regionCheck"] = region_check
    return load_spec(doc)


def _prod_report(prod: Any, no_l4_in: tuple[str, ...], zones_up: tuple[str, ...] | None = None) -> Any:
    with serve(healthy(FakeApi(), no_l4_in=no_l4_in)) as api:
        api.json("GET", f"/container/projects/{PROJECT}/locations/{REGION}/serverConfig",
                 {"channels": [{"channel": "STABLE", "validVersions": ["1.34.1-gke.1829001"]}]})
        return preflight.run_preflight(prod, factory(api))


def test_a_regional_cluster_unpinned_needs_three_zones_with_the_gpu() -> None:
    # regionCheck: off leaves the pools unpinned: GKE picks three zones of the region.
    report = _prod_report(_prod("off"), no_l4_in=("us-central1-b", "us-central1-f"))
    by = {(f.check, f.subject, f.where): (f.needed, f.allowed, f.status) for f in report.findings}
    assert by[("accelerator offered", "pool infer (1 x nvidia-l4)", "us-central1-b")] == ("offered", "not offered", WARN)
    assert by[("accelerator zones", "pool infer (1 x nvidia-l4)", REGION)] == ("3 zones", "2 zones", FAIL)
    # prod clusters follow the STABLE channel, which does not offer 1.35 here.
    assert by[("GKE version", "Kubernetes 1.35 (STABLE channel)", REGION)] == ("1.35", "not offered", FAIL)


def test_a_pinned_regional_pool_fails_in_each_pinned_zone_without_the_gpu() -> None:
    # strict: the L4 pools are pinned to the catalog's L4 zones of us-central1 (a, b, c, f);
    # each of them must offer the GPU, a zone that does not fails (GKE would create nodes there).
    report = _prod_report(_prod(), no_l4_in=("us-central1-b", "us-central1-f"))
    gpu_rows = [(f.subject, f.where, f.allowed, f.status) for f in report.findings
                if f.check in ("accelerator offered", "accelerator zones") and "infer" in f.subject]
    assert gpu_rows == [
        ("pool infer (1 x nvidia-l4)", "us-central1-a", "offered", OK),
        ("pool infer (1 x nvidia-l4)", "us-central1-b", "not offered", FAIL),
        ("pool infer (1 x nvidia-l4)", "us-central1-c", "offered", OK),
        ("pool infer (1 x nvidia-l4)", "us-central1-f", "not offered", FAIL),
    ]


def test_a_too_small_endpoint_quota_fails_with_the_numbers() -> None:
    with serve(healthy(FakeApi(), l4_serving=1)) as api:
        report = preflight.run_preflight(spec(), factory(api))
    assert [(f.check, f.subject, f.needed, f.allowed, f.detail) for f in report.failed] == [
        ("Vertex AI serving quota", "custom_model_serving_nvidia_l4_gpus", "6 GPUs", "1 GPUs",
         "chat: 3 GPUs at maxInstances; x2: a model update deploys the new model next to the old one (first deploy: 3 GPUs)"),
    ]


def test_a_serving_quota_for_one_copy_only_fails_the_rolling_update() -> None:
    # Issue 25 item 5: 4 L4s hold chat's 3 replicas once, not the update's new deployment beside them.
    with serve(healthy(FakeApi(), l4_serving=4)) as api:
        report = preflight.run_preflight(spec(), factory(api))
    assert [(f.subject, f.needed, f.allowed, f.status) for f in report.failed] == [("custom_model_serving_nvidia_l4_gpus", "6 GPUs", "4 GPUs", FAIL)]


def test_a_new_projects_disk_quota_fails_with_the_numbers() -> None:
    # Issue 25 item 4: the boot disks and volumes are pd-balanced (regional SSD_TOTAL_GB).
    with serve(healthy(FakeApi(), region_quotas={**HEALTHY_REGION_QUOTAS, "SSD_TOTAL_GB": 500})) as api:
        report = preflight.run_preflight(spec(), factory(api))
    assert [(f.check, f.subject, f.needed, f.allowed, f.detail) for f in report.failed] == [
        ("Disk quota", "SSD_TOTAL_GB", "1350 GB", "500 GB",
         "first apply 100 GB; at maxNodes: system: 3 x 50 GB; train: 4 x 200 GB; infer: 2 x 200 GB"),
    ]


def test_disk_demand_of_the_prod_example_counts_the_default_pool_pinned_zones_and_volumes() -> None:
    from mlops_stack.gcp.preflight import disk_demand, node_pools

    prod = load_spec(read_stack_file(ROOT / "stacks" / "Pulumi.prod-gcp.yaml").raw_spec)
    demand = disk_demand(prod, node_pools(prod))
    pools = {p.name: p for p in node_pools(prod)}
    infer_zones = len(pools["infer"].zones or ())
    assert infer_zones >= 2
    # First apply: system 1 node per zone x 3 zones x 50 GB; infer ceil(2/zones) per pinned zone x 200 GB;
    # train 0; Prometheus 200 GB + Grafana 10 GB. The 3 x 100 GB default pool is gone before them.
    infer_first = -(-2 // infer_zones) * infer_zones * 200
    assert demand.first_apply == 150 + infer_first + 210
    # maxNodes: system 6 x 50, train 2 x 200, infer 8 x 200, plus the volumes.
    assert demand.max_scale == 300 + 400 + 1600 + 210 == 2510
    assert demand.other_type == ()


def test_a_missing_model_artifact_fails_with_the_upload_command() -> None:
    with serve(healthy(FakeApi(), uploaded=("chat/v1",))) as api:
        report = preflight.run_preflight(spec(), factory(api))
    assert [(f.subject, f.allowed, f.status, f.detail) for f in report.failed] == [
        (f"endpoint scorer: gs://{MODELS_BUCKET}/scorer/v1/", "empty", FAIL,
         f"upload the model before the endpoints' apply: gcloud storage cp -r <model dir>/* gs://{MODELS_BUCKET}/scorer/v1/"),
    ]
    with serve(healthy(FakeApi())) as api:
        api.json("GET", f"/storage/b/{MODELS_BUCKET}/o", {"error": {"code": 404, "message": "The specified bucket does not exist."}}, status=404)
        report = preflight.run_preflight(spec(), factory(api))
    # Before phase 1 the bucket does not exist yet: expected, so a warning, not a failure.
    assert [(f.check, f.allowed, f.status) for f in report.findings if f.check == "model artifact"] == [("model artifact", "no bucket", WARN)] * 2
    assert [f for f in report.failed if f.check == "model artifact"] == []


def test_apis_disabled_warn_and_unreadable_fail() -> None:
    with serve(healthy(FakeApi())) as api:
        api.json("GET", f"/serviceusage/projects/{PROJECT}/services/aiplatform.googleapis.com", {
            "name": "projects/123456789012/services/aiplatform.googleapis.com", "state": "DISABLED", "parent": "projects/123456789012"})
        api.json("GET", f"/serviceusage/projects/{PROJECT}/services/containerscanning.googleapis.com",
                 {"error": {"code": 403, "message": "Permission denied to get service [containerscanning.googleapis.com]", "status": "PERMISSION_DENIED"}},
                 status=403)
        report = preflight.run_preflight(spec(), factory(api))
    by = {f.subject: (f.allowed, f.status, f.detail) for f in report.findings if f.check == "API enabled"}
    assert by["aiplatform.googleapis.com"][:2] == ("DISABLED", WARN)
    assert by["containerscanning.googleapis.com"] == ("?", ERROR, "403 PERMISSION_DENIED: Permission denied to get service [containerscanning.googleapis.com]")
    assert not report.ok


# --- smoke ---------------------------------------------------------------------------


def deployed(outputs: dict[str, Any], api: FakeApi, *, unversioned: str | None = None, undeployed: str | None = None) -> FakeApi:
    """What `pulumi up` would have created, named as in ``outputs``."""
    for logical, uri in outputs["bucket_uris"].items():
        name = uri.removeprefix("gs://")
        api.json("GET", f"/storage/b/{name}", {
            "kind": "storage#bucket", "id": name, "name": name, "projectNumber": "123456789012", "location": "US-CENTRAL1",
            "storageClass": "STANDARD", "versioning": {"enabled": logical != unversioned},
            "encryption": {"defaultKmsKeyName": f"projects/{PROJECT}/locations/{REGION}/keyRings/ops-dev/cryptoKeys/storage"},
            "iamConfiguration": {"uniformBucketLevelAccess": {"enabled": True}, "publicAccessPrevention": "enforced"},
        })
    for url in outputs["repository_urls"].values():
        repo = url.rsplit("/", 1)[1]
        api.json("GET", f"/artifactregistry/projects/{PROJECT}/locations/{REGION}/repositories/{repo}", {
            "name": f"projects/{PROJECT}/locations/{REGION}/repositories/{repo}", "format": "DOCKER", "mode": "STANDARD_REPOSITORY",
            "kmsKeyName": f"projects/{PROJECT}/locations/{REGION}/keyRings/ops-dev/cryptoKeys/registry", "createTime": "2026-11-29T10:00:00Z",
        })
    api.json("GET", f"/container/projects/{PROJECT}/locations/us-central1-a/clusters/{outputs['cluster_name']}",
             {"name": outputs["cluster_name"], "location": "us-central1-a", "status": "RUNNING", "currentMasterVersion": "1.35.0-gke.1795000"})
    for logical, ep in outputs["endpoints"].items():
        models = [] if logical == undeployed else [{
            "id": "7788", "model": f"projects/{PROJECT}/locations/{REGION}/models/1122", "displayName": logical,
            "dedicatedResources": {"machineSpec": {"machineType": "g2-standard-4", "acceleratorType": "NVIDIA_L4", "acceleratorCount": 1},
                                   "minReplicaCount": 1, "maxReplicaCount": 3},
        }]
        api.json("GET", f"/aiplatform/{ep['endpoint_name']}", {"name": ep["endpoint_name"], "displayName": logical, "deployedModels": models,
                                                               "trafficSplit": {"7788": 100} if models else {}})
        for root in (f"/aiplatform/{ep['endpoint_name']}", psc_path(ep["invoke_url"])):
            api.json("POST", f"{root}:predict", {"predictions": [{"text": "Hi"}], "deployedModelId": "7788"})
            api.json("POST", f"{root}:rawPredict", {"predictions": [0.93]})
    return api


def psc_path(invoke_url: str) -> str:
    """Where the fake serves a Private Service Connect URL: ``/psc/<host>/v1/<endpoint>``
    (no method), so a request that went there did not go to the regional API."""
    parts = urlsplit(invoke_url)
    return f"/psc/{parts.netloc}{parts.path.rsplit(':', 1)[0]}"


def inside_vpc(outputs: dict[str, Any], api: FakeApi) -> dict[str, Any]:
    """``outputs`` as seen from inside the VPC: each PSC ``invoke_url`` answers (the fake)."""
    out = json.loads(json.dumps(outputs))
    for ep in out["endpoints"].values():
        ep["invoke_url"] = f"{api.base}{psc_path(ep['invoke_url'])}:predict"
    return out


class NoRoute(requests.adapters.BaseAdapter):
    """Outside the VPC: a ``*.prediction.p.vertexai.goog`` name does not resolve."""

    error: type[Exception] = requests.ConnectionError

    def send(self, request: Any, **_: Any) -> Any:
        raise self.error(f"Failed to resolve '{urlsplit(request.url).netloc}'")

    def close(self) -> None:
        pass


class UntrustedCertificate(NoRoute):
    """Inside the VPC, without Vertex's self-signed PSC certificate in the trust store."""

    error = requests.exceptions.SSLError


def outside_vpc(adapter: type[NoRoute] = NoRoute) -> requests.Session:
    session = requests.Session()
    for ep in plan_outputs()["endpoints"].values():
        session.mount(f"https://{urlsplit(ep['invoke_url']).netloc}/", adapter())
    return session


def test_smoke_passes_on_a_healthy_fake(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Run from inside the VPC: the private endpoints' PSC ``invoke_url`` answers."""
    with serve(deployed(plan_outputs(), FakeApi())) as api:
        outputs = inside_vpc(plan_outputs(), api)
        code, out, err = run_cli(["smoke", "--config", str(FIXTURE), "--outputs", write_outputs(tmp_path, outputs)], api, capsys)
        report = smoke.run_smoke(spec(), outputs, factory(api))
        posts = [(c.path.rsplit(":", 1)[1], c.headers["Content-Type"], c.body) for c in api.calls if c.method == "POST"]
        # The requests went to the exported invoke_url (PSC), not to the regional API.
        assert sorted({c.path.rsplit(":", 1)[0] for c in api.calls if c.method == "POST"}) == sorted(
            psc_path(ep["invoke_url"]) for ep in plan_outputs()["endpoints"].values())
    assert (code, err) == (0, ""), out
    assert "smoke: all 15 checks passed" in out
    assert [(r.check, r.resource.split(" ")[0], r.found, r.status) for r in report.results] == [
        *[(check, logical, found, OK) for logical in ("artifacts", "models") for check, found in (
            ("bucket exists", "exists"), ("bucket encryption", f"projects/{PROJECT}/locations/{REGION}/keyRings/ops-dev/cryptoKeys/storage"),
            ("bucket versioning", "enabled"), ("bucket public access prevention", "enforced"))],
        ("repository exists", "serving", "DOCKER", OK),
        ("repository exists", "training", "DOCKER", OK),
        ("cluster status", "ops-dev", "RUNNING", OK),
        ("endpoint deployed", "chat", "1 deployed model", OK),
        ("endpoint request", "chat", "200", OK),
        ("endpoint deployed", "scorer", "1 deployed model", OK),
        ("endpoint request", "scorer", "200", OK),
    ]
    # Vertex's {"instances": ...} to :predict; the CSV body as is to :rawPredict (the CLI run, then run_smoke).
    assert sorted(posts) == sorted([("predict", "application/json", b'{"instances": [{"prompt": "Hello"}]}'),
                                        ("rawPredict", "text/csv", b"5.1,3.5,1.4,0.2")] * 2)


def test_smoke_fails_on_a_bucket_without_versioning(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    outputs = plan_outputs()
    with serve(deployed(outputs, FakeApi(), unversioned="models")) as api:
        code, out, _ = run_cli(["smoke", "--config", str(FIXTURE), "--outputs", write_outputs(tmp_path, outputs), "--format", "json"], api, capsys)
    assert code == 1
    bucket = outputs["bucket_uris"]["models"].removeprefix("gs://")
    assert [r for r in json.loads(out)["results"] if r["status"] == FAIL] == [
        {"check": "bucket versioning", "resource": f"models ({bucket})", "expected": "enabled", "found": "disabled", "status": FAIL, "detail": ""}
    ]


def test_smoke_fails_on_an_endpoint_that_is_not_serving() -> None:
    with serve(deployed(plan_outputs(), FakeApi(), undeployed="chat")) as api:
        # and the CPU endpoint's container answers 503 (a response: judged, also when private)
        scorer = psc_path(plan_outputs()["endpoints"]["scorer"]["invoke_url"])
        api.json("POST", f"{scorer}:rawPredict", {"error": {"code": 503, "message": "upstream connect error", "status": "UNAVAILABLE"}}, status=503)
        report = smoke.run_smoke(spec(), inside_vpc(plan_outputs(), api), factory(api))
        posts = [c.path for c in api.calls if c.method == "POST"]
    failed = [(r.check, r.resource.split(" ")[0], r.found, r.detail) for r in report.failed]
    assert failed[0] == ("endpoint deployed", "chat", "0 deployed models", "")
    assert failed[1] == ("endpoint request", "chat", "-", "not sent: no model is deployed")
    assert failed[2][:3] == ("endpoint request", "scorer", "503") and failed[2][3].startswith(":rawPredict {")
    assert len(failed) == 3
    assert posts == [f"{scorer}:rawPredict"]


def test_smoke_outside_the_vpc_skips_private_endpoints(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """The stack's outputs as exported (PSC URLs), run where those names do not resolve:
    each private endpoint's request is ``skip`` with the reason, and the run passes."""
    outputs = plan_outputs()
    with serve(deployed(outputs, FakeApi())) as api:
        code, out, err = run_cli(["smoke", "--config", str(FIXTURE), "--outputs", write_outputs(tmp_path, outputs), "--format", "json"],
                                 api, capsys, session=outside_vpc())
        posts = [c.path for c in api.calls if c.method == "POST"]
    assert (code, err) == (0, "")
    assert posts == []  # not sent to the regional API, which does not serve PSC endpoints
    requests_rows = [r for r in json.loads(out)["results"] if r["check"] == "endpoint request"]
    assert [(r["resource"].split(" ")[0], r["found"], r["status"]) for r in requests_rows] == [("chat", "no response", SKIP), ("scorer", "no response", SKIP)]
    chat = outputs["endpoints"]["chat"]["invoke_url"]
    assert requests_rows[0]["detail"].startswith(f"private endpoint: run smoke from inside the VPC ({chat}; ConnectionError: Failed to resolve")
    assert ".prediction.p.vertexai.goog/v1/" in chat and chat.endswith(":predict")
    assert requests_rows[1]["detail"].startswith("private endpoint: run smoke from inside the VPC (https://")
    assert ":rawPredict; " in requests_rows[1]["detail"]
    # Inside the VPC but the certificate not trusted: skip, saying so.
    with serve(deployed(outputs, FakeApi())) as api:
        report = smoke.run_smoke(spec(), outputs, factory(api, outside_vpc(UntrustedCertificate)))
    assert report.ok
    details = [r.detail for r in report.results if r.check == "endpoint request"]
    assert len(details) == 2 and all(d.startswith("private endpoint: TLS failed; trust Vertex's PSC certificate (REQUESTS_CA_BUNDLE) (https://")
                                     for d in details), details


def test_smoke_of_a_public_endpoint_posts_to_the_regional_api_and_fails_without_a_response() -> None:
    """``private: false``: ``invoke_url`` is the regional API's, called through the API
    client; no response there is a failure, not a skip."""
    from mlops_stack.gcp.endpoint import invoke_url

    s = spec()
    s = s.model_copy(update={"endpoints": [ep.model_copy(update={"private": False}) for ep in s.endpoints]})
    outputs = json.loads(json.dumps(plan_outputs()))
    for ep in outputs["endpoints"].values():
        ep["invoke_url"] = invoke_url(REGION, ep["endpoint_name"])
    with serve(deployed(plan_outputs(), FakeApi())) as api:
        report = smoke.run_smoke(s, outputs, factory(api))
        posts = sorted(c.path for c in api.calls if c.method == "POST")
    assert posts == sorted([f"/aiplatform/{outputs['endpoints']['chat']['endpoint_name']}:predict",
                            f"/aiplatform/{outputs['endpoints']['scorer']['endpoint_name']}:rawPredict"])
    assert [(r.resource.split(" ")[0], r.found, r.status) for r in report.results if r.check == "endpoint request"] == [
        ("chat", "200", OK), ("scorer", "200", OK)]
    # The API unreachable: FAIL (a public endpoint has no VPC excuse).
    with serve(deployed(plan_outputs(), FakeApi())) as api:
        session = requests.Session()
        for ep in outputs["endpoints"].values():
            session.mount(f"{api.base}/aiplatform/{ep['endpoint_name']}:", NoRoute())
        report = smoke.run_smoke(s, outputs, factory(api, session))
    assert [(r.resource.split(" ")[0], r.found, r.status) for r in report.results if r.check == "endpoint request"] == [
        ("chat", "no response", FAIL), ("scorer", "no response", FAIL)]


def test_smoke_missing_resources_fail_and_no_request_is_skipped() -> None:
    outputs = plan_outputs()
    s = spec()
    s = s.model_copy(update={"endpoints": [s.endpoints[0].model_copy(update={"sample_request": None}), s.endpoints[1]]})
    with serve(FakeApi()) as api:
        report = smoke.run_smoke(s, outputs, factory(api))
    found = {(r.check, r.resource.split(" ")[0]): (r.found, r.status) for r in report.results}
    assert found[("bucket exists", "artifacts")] == ("404", FAIL)
    assert found[("repository exists", "serving")] == ("404", FAIL)
    assert found[("cluster status", "ops-dev")] == ("404", FAIL)
    assert found[("endpoint request", "chat")] == ("-", SKIP)


def test_no_credentials_exits_2(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    import google.auth

    def no_adc(**_: Any) -> Any:
        from google.auth.exceptions import DefaultCredentialsError

        raise DefaultCredentialsError("Your default credentials were not found.")

    monkeypatch.setattr(google.auth, "default", no_adc)
    code, out, err = run_cli(["preflight", "--config", str(FIXTURE)], None, capsys)
    assert (code, out) == (2, "")
    assert err.startswith("error: no GCP application default credentials found (run `gcloud auth application-default login`")


def test_the_call_shapes_are_the_documented_ones() -> None:
    """Paths the fake answered are the documented resource paths (nothing fell through to 404)."""
    with serve(healthy(FakeApi())) as api:
        preflight.run_preflight(spec(), factory(api))
        misses = [c.path for c in api.calls if api.answer(Call(c.method, c.path, {}, {}, b""))[0] == 404]
        zone_calls = [c for c in api.calls if c.path.endswith("/zones")]
    assert misses == []
    assert zone_calls[0].query == {"filter": [f"name eq {REGION}-.*"]}


# --- service agents (issue 13) -------------------------------------------------------


def test_service_agents_that_exist_pass() -> None:
    with serve(healthy(FakeApi())) as api:
        report = preflight.run_preflight(spec(), factory(api))
        body = json.loads(next(c.body for c in api.calls if c.path.endswith(":getIamPolicy")))
    assert [r for r in rows(report) if r[0] == "service agent"] == [
        ("service agent", f"container.googleapis.com agent service-{PROJECT_NUMBER}@container-engine-robot.iam.gserviceaccount.com", PROJECT, "exists", "exists", OK),
        ("service agent", f"compute.googleapis.com agent service-{PROJECT_NUMBER}@compute-system.iam.gserviceaccount.com", PROJECT, "exists", "exists", OK),
    ]
    assert body == {"options": {"requestedPolicyVersion": 3}}


def test_a_missing_agent_of_an_enabled_api_fails_and_of_a_disabled_api_warns() -> None:
    with serve(healthy(FakeApi(), agents=())) as api:
        # container is not enabled yet (the stack enables it); compute is.
        api.json("GET", f"/serviceusage/projects/{PROJECT}/services/container.googleapis.com", {"name": "x", "state": "DISABLED"})
        report = preflight.run_preflight(spec(), factory(api))
    agents = {f.subject.split(" ", 1)[0]: (f.allowed, f.status, f.detail) for f in report.findings if f.check == "service agent"}
    assert agents["compute.googleapis.com"][:2] == ("missing", FAIL)
    assert "would fail" in agents["compute.googleapis.com"][2]
    # GKE's agent is generated by the stack (ServiceIdentity) before its key grant.
    assert agents["container.googleapis.com"] == ("not yet", WARN, "generated by the stack (ServiceIdentity) once it enables container.googleapis.com, before its key grant")


def test_compute_engines_agent_before_the_api_is_enabled_refuses_with_the_command() -> None:
    # Issue 25 item 8: nothing in the stack can create Compute Engine's agent, so its key
    # grant would race it on a fresh project: preflight refuses with one line to run.
    with serve(healthy(FakeApi(), agents=("container-engine-robot",))) as api:
        api.json("GET", f"/serviceusage/projects/{PROJECT}/services/compute.googleapis.com", {"name": "x", "state": "DISABLED"})
        report = preflight.run_preflight(spec(), factory(api))
    agent = next(f for f in report.findings if f.check == "service agent" and f.subject.startswith("compute"))
    assert (agent.allowed, agent.status) == ("missing", FAIL)
    assert agent.detail == (f"run `gcloud services enable compute.googleapis.com --project {PROJECT}` before the first `pulumi up`, "
                            "then rerun preflight: the stack grants this agent a key and cannot create it")


# --- endpoint images (issue 13) -----------------------------------------------------


def test_endpoint_images_pushed_to_the_stack_registry_pass_and_unpushed_ones_fail() -> None:
    with serve(healthy(FakeApi())) as api:
        report = preflight.run_preflight(spec(), factory(api))
    assert [(f.subject.split(":")[0], f.allowed, f.status) for f in report.findings if f.check == "endpoint image"] == [
        ("endpoint chat", "pushed", OK), ("endpoint scorer", "pushed", OK)]
    with serve(healthy(FakeApi(), pushed=("chat",))) as api:
        report = preflight.run_preflight(spec(), factory(api))
    assert [(f.subject.split(":")[0], f.allowed, f.status) for f in report.findings if f.check == "endpoint image"] == [
        ("endpoint chat", "pushed", OK), ("endpoint scorer", "not found", FAIL)]


def test_before_phase_1_a_missing_repository_warns_and_a_missing_image_in_it_fails() -> None:
    # docs/first-apply.md: preflight runs before phase 1, when the repository does not exist
    # yet (a warning), and again after it, when a missing image would fail phase 2 (a failure).
    with serve(healthy(FakeApi(), pushed=())) as api:
        repo = f"projects/{PROJECT}/locations/{REGION}/repositories/ops-dev-serving"
        api.json("GET", f"/artifactregistry/{repo}", {"error": {"code": 404, "message": "Requested entity was not found."}}, status=404)
        report = preflight.run_preflight(spec(), factory(api), outputs={})
    assert [(f.subject.split(":")[0], f.allowed, f.status) for f in report.findings if f.check == "endpoint image"] == [
        ("endpoint chat", "no repository yet", WARN), ("endpoint scorer", "no repository yet", WARN)]
    assert [f for f in report.failed if f.check == "endpoint image"] == []
    with serve(healthy(FakeApi(), pushed=())) as api:
        report = preflight.run_preflight(spec(), factory(api))
    assert [(f.subject.split(":")[0], f.allowed, f.status) for f in report.failed if f.check == "endpoint image"] == [
        ("endpoint chat", "not found", FAIL), ("endpoint scorer", "not found", FAIL)]


def test_an_endpoint_image_outside_the_stack_registry_warns() -> None:
    doc = json.loads(json.dumps(read_stack_file(FIXTURE).raw_spec))
    doc["endpoints"][0]["model"]["image"] = "us-docker.pkg.dev/vendor/public/chat:1.0.0"
    with serve(healthy(FakeApi())) as api:
        report = preflight.run_preflight(load_spec(doc), factory(api))
    rows_ = [(f.subject.split(":")[0], f.where, f.status) for f in report.findings if f.check == "endpoint image"]
    assert rows_[0] == ("endpoint chat", "us-docker.pkg.dev", WARN)
