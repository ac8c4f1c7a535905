"""``mlops-stack preflight`` on GCP: will ``pulumi up`` get what the spec asks for?

Read-only calls with application default credentials (``gcloud auth
application-default login``, or workload identity federation in CI) to the REST APIs,
through google-auth's ``AuthorizedSession`` (the ``[gcp]`` extra already has it; see
docs/decisions.md for why not a generated client):

1. **APIs.** Service Usage ``services.get`` for every API the stack uses: ``ENABLED``
   passes; ``DISABLED`` is a ``warn`` (the stack enables it on apply, which needs
   ``serviceusage.services.enable``); a service that cannot be read fails.
   **Service agents**: the GKE and Compute Engine agents the stack grants keys to by
   their project-number names must be in the project's IAM policy (Resource Manager
   ``projects.get`` + ``getIamPolicy``): missing while their API is enabled fails;
   GKE's missing while its API is disabled is a ``warn`` (the stack generates it before
   the grant); Compute Engine's missing fails with the command that enables the API (the
   stack cannot generate that agent, so the grant would race it).
2. **GKE version.** ``projects.locations.getServerConfig`` at the cluster's location:
   ``cluster.version`` must have a version in the release channel the cluster is
   created in (``RELEASE_CHANNELS``: STABLE in prod, REGULAR otherwise).
3. **Accelerators per zone.** The cluster's zones: the zonal (non-prod) cluster's zone
   (``gcp.zone``, else the region's first ``UP`` zone by name, as the cluster picks it);
   a regional (prod) cluster's node pools go to three zones GKE chooses, so every ``UP``
   zone of the region is listed: a zone without the accelerator is a ``warn`` there, and
   fewer than three zones offering it fails. A GPU pool pinned to the zones the catalog
   lists for its GPU (``node_locations``, ``gcp/gpu_zones.py``) is checked in exactly
   those zones: one not ``UP`` or without the GPU fails. Each pool's accelerator must exist in the
   zone (``acceleratorTypes.get``) with at least the pool's GPUs per node
   (``maximumCardsPerInstance``).
4. **Compute Engine quotas** (``regions.get`` / ``projects.get`` ``quotas``), summing the
   pools' ``maxNodes``: the regional GPU quota of the model (``NVIDIA_L4_GPUS``; a spot
   pool uses ``PREEMPTIBLE_NVIDIA_L4_GPUS`` when the project has preemptible quota, else
   the regular quota, as Compute Engine does), ``GPUS_ALL_REGIONS``, the regional
   ``CPUS`` (``PREEMPTIBLE_CPUS`` likewise) and a machine family's own CPU quota where the
   region lists one (``E2_CPUS``, ``A2_CPUS``, ...).
5. **Vertex AI serving quotas.** Service Usage ``consumerQuotaMetrics`` (v1beta1) of
   ``aiplatform.googleapis.com``: per accelerator, ``custom_model_serving_<gpu>_gpus``
   must cover the endpoints' ``maxInstances`` x GPUs per instance; CPU endpoints,
   ``custom_model_serving_cpus`` x vCPUs. The region's bucket wins over the default one.

6. **Endpoint images.** Each endpoint's ``model.image`` in the stack's own Artifact
   Registry (``<region>-docker.pkg.dev/<project>/<prefix>-<repository>/...``) must be
   pushed (``packages.tags.get`` / ``packages.versions.get``): missing is a ``FAIL`` on the
   first apply the repository does not exist yet (push between the two phases,
   docs/first-apply.md). An image elsewhere is a ``warn``: the endpoint's service account
   is granted nothing on it.

7. **Disk quota.** The regional ``SSD_TOTAL_GB`` (``pd-balanced`` and ``pd-ssd``) must
   hold every node's boot disk at ``maxNodes`` plus the in-cluster volumes (Prometheus,
   Grafana); the detail gives the first apply's peak too (the larger of the default pool
   GKE creates the cluster with and the pools' initial nodes with the volumes).
8. **Model artifacts.** Each managed endpoint's model directory in the stack's bucket
   (``gs://<bucket>/<key>/``, the deterministic bucket name) holds an object
   (``objects.list``, one result): missing fails (a ``warn`` with ``deployEndpoints: false``).

Serving quotas (5) are sized for a model update: twice each deployment, since Vertex AI
deploys the new model next to the old one before undeploying it.

Usage already in the project is not subtracted: a pass means the stack on its own fits.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

from mlops_stack import catalog
from mlops_stack.args import Env
from mlops_stack.gcp.gpu_zones import pool_zones
from mlops_stack.gcp.vertex_provider import artifact_registry_image
from mlops_stack.ops_report import ERROR, FAIL, OK, WARN, ClientFactory, NoCredentials, Report
from mlops_stack.ops_report import check_documentation_cidrs

__all__ = ["Report", "default_clients", "run_preflight", "sdk_error"]

#: The extra that installs what this module imports, and its top-level modules.
OPS_EXTRA = "gcp-ops"
SDK_MODULES = ("google", "requests")
SDK_LABEL = "google-auth[requests]"

#: REST roots per service (``client(name)``); ``{region}`` for regional endpoints.
#: Versions: Compute v1, GKE v1, Service Usage v1 (services) and v1beta1
#: (consumerQuotaMetrics, which v1 does not have), Cloud Storage JSON v1, Artifact
#: Registry v1, Vertex AI v1 (the invoke_url the stack exports uses v1 too).
BASE_URLS: dict[str, str] = {
    "compute": "https://compute.googleapis.com/compute/v1/",
    "container": "https://container.googleapis.com/v1/",
    "serviceusage": "https://serviceusage.googleapis.com/v1/",
    "serviceusage-v1beta1": "https://serviceusage.googleapis.com/v1beta1/",
    "storage": "https://storage.googleapis.com/storage/v1/",
    "artifactregistry": "https://artifactregistry.googleapis.com/v1/",
    "aiplatform": "https://{region}-aiplatform.googleapis.com/v1/",
    "cloudresourcemanager": "https://cloudresourcemanager.googleapis.com/v1/",
}
CLOUD_PLATFORM_SCOPE = "https://www.googleapis.com/auth/cloud-platform"
#: Zones a regional GKE cluster spreads its node pools over (GKE's default).
REGIONAL_ZONES = 3

#: Vertex accelerator enum (catalog) -> Compute Engine regional quota metric. From the
#: ``Quota.metric`` enum of the Compute Engine v1 discovery document (revision 20261106):
#: H100 is ``NVIDIA_H100_GPUS``; H200 has no metric in that enum (reported ``warn``).
GPU_QUOTA_METRICS: dict[str, str] = {
    "NVIDIA_TESLA_T4": "NVIDIA_T4_GPUS",
    "NVIDIA_L4": "NVIDIA_L4_GPUS",
    "NVIDIA_TESLA_A100": "NVIDIA_A100_GPUS",
    "NVIDIA_A100_80GB": "NVIDIA_A100_80GB_GPUS",
    "NVIDIA_H100_80GB": "NVIDIA_H100_GPUS",
}
#: Vertex AI online-serving quota metrics (service ``aiplatform.googleapis.com``), as the
#: Vertex AI quota page and Google's Model Garden notebooks name them.
VERTEX_SERVING_GPU_METRICS: dict[str, str] = {
    "NVIDIA_TESLA_T4": "aiplatform.googleapis.com/custom_model_serving_nvidia_t4_gpus",
    "NVIDIA_L4": "aiplatform.googleapis.com/custom_model_serving_nvidia_l4_gpus",
    "NVIDIA_TESLA_A100": "aiplatform.googleapis.com/custom_model_serving_nvidia_a100_gpus",
    "NVIDIA_A100_80GB": "aiplatform.googleapis.com/custom_model_serving_nvidia_a100_80gb_gpus",
    "NVIDIA_H100_80GB": "aiplatform.googleapis.com/custom_model_serving_nvidia_h100_gpus",
}
VERTEX_SERVING_CPU_METRIC = "aiplatform.googleapis.com/custom_model_serving_cpus"


# ---------------------------------------------------------------------------------
# A small REST client over a requests-style session.


class ApiError(Exception):
    def __init__(self, status: int, reason: str, message: str) -> None:
        super().__init__(f"{status} {reason}: {message}" if reason else f"{status}: {message}")
        self.status, self.reason, self.message = status, reason, message


class Rest:
    """``GET``/``POST`` JSON under one API root; errors as ``ApiError`` (Google's
    ``{"error": {"code", "status", "message"}}`` body)."""

    def __init__(self, session: Any, base: str, timeout: float = 30) -> None:
        self.session, self.base, self.timeout = session, base, timeout

    def url(self, path: str) -> str:
        return path if path.startswith(("http://", "https://")) else self.base + path.lstrip("/")

    def _check(self, resp: Any) -> dict[str, Any]:
        if 200 <= resp.status_code < 300:
            return resp.json() if resp.content else {}
        try:
            err = resp.json().get("error", {})
            raise ApiError(resp.status_code, str(err.get("status", "")), str(err.get("message", resp.text)))
        except ValueError:
            raise ApiError(resp.status_code, "", resp.text[:200]) from None

    def get(self, path: str, **params: Any) -> dict[str, Any]:
        return self._check(self.session.get(self.url(path), params=params or None, timeout=self.timeout))

    def post(self, path: str, body: Mapping[str, Any]) -> dict[str, Any]:
        return self._check(self.session.post(self.url(path), json=dict(body), timeout=self.timeout))

    def items(self, path: str, key: str = "items", **params: Any) -> Iterator[dict[str, Any]]:
        token = None
        while True:
            page = self.get(path, **params, **({"pageToken": token} if token else {}))
            yield from page.get(key, [])
            token = page.get("nextPageToken")
            if not token:
                return


def rest_clients(session: Any, region: str, bases: Mapping[str, str] | None = None) -> ClientFactory:
    """A client factory: ``client("compute")`` is a ``Rest`` on that API's root."""
    roots = {**BASE_URLS, **(bases or {})}

    def client(name: str) -> Rest:
        return Rest(session, roots[name].format(region=region))

    return client


def default_clients(spec: Any, profile: str | None = None) -> ClientFactory:
    """Application default credentials (read-only use), an authorized session."""
    import google.auth
    from google.auth.exceptions import DefaultCredentialsError
    from google.auth.transport.requests import AuthorizedSession

    try:
        creds, _project = google.auth.default(scopes=[CLOUD_PLATFORM_SCOPE])
    except DefaultCredentialsError:
        raise NoCredentials(
            "no GCP application default credentials found (run `gcloud auth application-default login`, "
            "or set GOOGLE_APPLICATION_CREDENTIALS to a workload identity federation config)"
        ) from None
    return rest_clients(AuthorizedSession(creds), spec.region)


def sdk_error(err: BaseException) -> tuple[int, str] | None:
    """``(exit code, line)`` for an auth or transport error, else None."""
    try:
        from google.auth.exceptions import GoogleAuthError
    except ModuleNotFoundError:
        return None
    if isinstance(err, GoogleAuthError):
        return 2, f"GCP credentials: {err}"
    try:
        import requests
    except ModuleNotFoundError:
        return None
    if isinstance(err, requests.RequestException):
        return 1, f"GCP: {err}"
    return None


def _text(err: Exception) -> str:
    return str(err) if isinstance(err, ApiError) else f"{type(err).__name__}: {err}"


# ---------------------------------------------------------------------------------
# What the spec asks for.


@dataclass(frozen=True)
class PoolDemand:
    name: str
    machine_type: str
    vcpus: int
    max_nodes: int
    spot: bool
    accelerator: str | None  # GKE accelerator type (nvidia-l4)
    vertex_accelerator: str | None  # the enum (NVIDIA_L4), the key of the quota maps
    gpus: int
    #: A regional cluster's GPU pool is pinned to these zones (``gcp/gpu_zones.py``); None: unpinned.
    zones: tuple[str, ...] | None = None
    min_nodes: int = 0
    disk_gb: int = 0


def node_pools(spec: Any) -> list[PoolDemand]:
    """The GKE system pool and every GPU pool, with the catalog's machine types."""
    if not spec.cluster.enabled:
        return []
    strict = spec.region_check == "strict"
    sp = spec.cluster.system_pool
    system = catalog.cpu_offer("gcp", sp.size, "nodepool")
    pools = [PoolDemand("system", system.instance_type, system.vcpus or 0, sp.max_nodes, False, None, None, 0, min_nodes=sp.min_nodes, disk_gb=sp.disk_gb)]
    for i, p in enumerate(spec.cluster.gpu_pools):
        path = f"cluster.gpuPools[{i}].gpu"
        offer = catalog.resolve_gpu("gcp", p.gpu, p.gpus_per_node, "nodepool", spec.region, path, check_region=strict)
        pinned = pool_zones(p.gpu, offer.instance_type, spec.region, path, strict=strict) if spec.is_prod else None
        pools.append(PoolDemand(p.name, offer.instance_type, offer.vcpus or 0, p.max_nodes, p.spot, offer.accelerator, offer.vertex_accelerator, offer.gpus, pinned,
                                min_nodes=p.min_nodes, disk_gb=p.disk_gb))
    return pools


#: Copies of a deployment the serving quota must hold: a model update deploys the new
#: model next to the old one (each charged at ``maxReplicaCount``) before undeploying the
#: old (``gcp/vertex_provider.py``); a tag change does not (it patches labels).
ROLLING_UPDATE_COPIES = 2


def endpoint_demand(spec: Any) -> dict[str, list[tuple[str, int]]]:
    """Vertex serving quota metric -> ``[(endpoint, units at maxInstances)]`` for one copy
    of each deployment; a GPU without a known metric is keyed ``"?<accelerator>"``."""
    strict = spec.region_check == "strict"
    out: dict[str, list[tuple[str, int]]] = defaultdict(list)
    for i, ep in enumerate(spec.endpoints):
        if ep.on_cluster:  # runs on a GPU pool: no managed-endpoint quota
            continue
        if ep.gpu is not None:
            offer = catalog.resolve_gpu("gcp", ep.gpu, ep.gpus_per_instance, "endpoint", spec.region, f"endpoints[{i}].gpu", check_region=strict)
            metric = VERTEX_SERVING_GPU_METRICS.get(offer.vertex_accelerator or "", f"?{offer.vertex_accelerator}")
            out[metric].append((ep.name, ep.max_instances * offer.gpus))
        else:
            cpu = catalog.cpu_offer("gcp", ep.cpu_size or "small", "endpoint")
            out[VERTEX_SERVING_CPU_METRIC].append((ep.name, ep.max_instances * (cpu.vcpus or 0)))
    return dict(out)


def required_apis(spec: Any) -> list[str]:
    """The APIs the stack's components enable (``enable_services`` in each module)."""
    apis = {"compute.googleapis.com", "cloudkms.googleapis.com", "storage.googleapis.com",
            "artifactregistry.googleapis.com", "containerscanning.googleapis.com"}
    if spec.cluster.enabled:
        apis |= {"container.googleapis.com", "binaryauthorization.googleapis.com"}
    if spec.managed_endpoints or getattr(spec.model_registry, "enabled", False):
        apis.add("aiplatform.googleapis.com")
    if any(ep.data_capture.enabled for ep in spec.endpoints):
        apis.add("bigquery.googleapis.com")
    if any(ep.private for ep in spec.endpoints):
        apis.add("dns.googleapis.com")  # the private endpoint's PSC name (gcp/psc.py)
    return sorted(apis)


def cluster_location(spec: Any, zones: list[str]) -> str:
    """Where the cluster is created: the region in prod, else ``gcp.zone`` or the first zone."""
    if spec.is_prod:
        return spec.region
    return spec.gcp.zone or (zones[0] if zones else f"{spec.region}-a")


# ---------------------------------------------------------------------------------
# The checks.


def up_zones(compute: Rest, project: str, region: str) -> list[str]:
    """The region's zones with status ``UP``, sorted by name."""
    names = [z["name"] for z in compute.items(f"projects/{project}/zones", filter=f"name eq {region}-.*")
             if z.get("status") == "UP" and str(z.get("region", "")).rstrip("/").endswith(f"/regions/{region}")]
    return sorted(names)


def check_apis(su: Rest, project: str, apis: list[str], report: Report) -> dict[str, str]:
    """Report each API's state; returns ``{api: state}`` (``?`` when unreadable)."""
    states: dict[str, str] = {}
    for api in apis:
        try:
            state = str(su.get(f"projects/{project}/services/{api}").get("state", "?"))
        except Exception as err:  # noqa: BLE001 - reported, not raised
            report.add("API enabled", api, project, "ENABLED", "?", ERROR, _text(err))
            states[api] = "?"
            continue
        states[api] = state
        if state == "ENABLED":
            report.add("API enabled", api, project, "ENABLED", state, OK)
        elif state == "DISABLED":
            report.add("API enabled", api, project, "ENABLED", state, WARN, "enabled by the stack on apply (needs serviceusage.services.enable)")
        else:
            report.add("API enabled", api, project, "ENABLED", state, FAIL)
    return states


#: Service agents the stack grants a key to by their fixed, project-number name
#: (``gcp/keys.py`` ``FIXED_AGENTS``), with the role Google grants each when its API is
#: enabled (GKE: Kubernetes Engine Service Agent; Compute Engine: Compute Engine Service Agent).
SERVICE_AGENTS: dict[str, tuple[str, str]] = {
    "container.googleapis.com": ("service-{number}@container-engine-robot.iam.gserviceaccount.com", "roles/container.serviceAgent"),
    "compute.googleapis.com": ("service-{number}@compute-system.iam.gserviceaccount.com", "roles/compute.serviceAgent"),
}


#: APIs whose agent the stack generates itself before granting it a key (``gcp/keys.py``
#: ``GENERATED_FIXED_AGENTS``): GKE's.
GENERATED_AGENT_APIS = ("container.googleapis.com",)


def agent_command(api: str, project: str) -> str:
    """The one line preflight refuses with when an agent the stack cannot create is missing."""
    return f"run `gcloud services enable {api} --project {project}` before the first `pulumi up`, then rerun preflight: the stack grants this agent a key and cannot create it"


def check_service_agents(crm: Rest, project: str, api_states: Mapping[str, str], report: Report) -> None:
    """The GKE and Compute Engine service agents exist (they are in the project's IAM
    policy): the stack grants each a Cloud KMS key, and a grant to an agent that does not
    exist yet fails with "service account ... does not exist"."""
    try:
        number = str(crm.get(f"projects/{project}").get("projectNumber", ""))
        policy = crm.post(f"projects/{project}:getIamPolicy", {"options": {"requestedPolicyVersion": 3}})
    except Exception as err:  # noqa: BLE001
        report.add("service agent", "GKE and Compute Engine service agents", project, "exists", "?", ERROR, _text(err))
        return
    members = {m for b in policy.get("bindings", []) for m in b.get("members", [])}
    for api, (template, role) in SERVICE_AGENTS.items():
        email = template.format(number=number)
        subject = f"{api} agent {email}"
        if f"serviceAccount:{email}" in members:
            report.add("service agent", subject, project, "exists", "exists", OK, f"in the project's IAM policy ({role})")
        elif api_states.get(api) == "ENABLED":
            report.add("service agent", subject, project, "exists", "missing", FAIL,
                       f"{api} is enabled but its agent is not in the project's IAM policy (expected with {role}); the stack's key grant "
                       "to it would fail: wait a few minutes after enabling the API and rerun preflight")
        elif api in GENERATED_AGENT_APIS:
            report.add("service agent", subject, project, "exists", "not yet", WARN,
                       f"generated by the stack (ServiceIdentity) once it enables {api}, before its key grant")
        else:
            # Nothing can generate this agent from the stack (generateServiceIdentity refuses
            # compute.googleapis.com), so its key grant would race it: refuse, say what to run.
            report.add("service agent", subject, project, "exists", "missing", FAIL, agent_command(api, project))


def check_gke_version(container: Rest, project: str, location: str, spec: Any, report: Report) -> None:
    from mlops_stack.gcp.cluster import RELEASE_CHANNELS  # lazy: loads the GCP SDK

    minor = spec.cluster.version
    channel = RELEASE_CHANNELS.get(spec.environment, "REGULAR")
    subject = f"Kubernetes {minor} ({channel} channel)"
    row = catalog.kubernetes_version("gcp", minor)
    table = f"catalog: standard support until {row.standard_end}" if row else "catalog: no row"
    try:
        config = container.get(f"projects/{project}/locations/{location}/serverConfig")
    except Exception as err:  # noqa: BLE001
        report.add("GKE version", subject, location, minor, "?", ERROR, _text(err))
        return
    chan = next((c for c in config.get("channels", []) if c.get("channel") == channel), None)
    valid = (chan or {}).get("validVersions") or []
    matching = [v for v in valid if v == minor or v.startswith(f"{minor}.")]
    if matching:
        report.add("GKE version", subject, location, minor, matching[0], OK, f"GKE offers {', '.join(matching)}; {table}")
    else:
        offered = sorted({".".join(v.split(".")[:2]) for v in valid}) or ["none"]
        report.add("GKE version", subject, location, minor, "not offered", FAIL, f"the {channel} channel offers {', '.join(offered)}; {table}")


def check_accelerators(compute: Rest, project: str, spec: Any, zones: list[str], pools: list[PoolDemand], report: Report) -> None:
    regional = spec.is_prod
    for pool in pools:
        if not pool.accelerator:
            continue
        subject = f"pool {pool.name} ({pool.gpus} x {pool.accelerator})"
        offering = 0
        pinned = pool.zones if regional else None
        for zone in pinned or ():
            if zone not in zones:
                report.add("accelerator offered", subject, zone, "UP", "not UP", FAIL, "the pool is pinned to this zone (node_locations); it is not UP in the project")
        for zone in [z for z in zones if z in pinned] if pinned else zones:
            try:
                accel = compute.get(f"projects/{project}/zones/{zone}/acceleratorTypes/{pool.accelerator}")
            except ApiError as err:
                if err.status != 404:
                    report.add("accelerator offered", subject, zone, "offered", "?", ERROR, _text(err))
                    continue
                status = WARN if regional and not pinned else FAIL
                why = "; GKE may place the regional cluster's nodes there" if regional and not pinned else ("; the pool is pinned to it (node_locations)" if pinned else "")
                report.add("accelerator offered", subject, zone, "offered", "not offered", status, f"{pool.accelerator} is not offered in {zone}{why}")
                continue
            except Exception as err:  # noqa: BLE001
                report.add("accelerator offered", subject, zone, "offered", "?", ERROR, _text(err))
                continue
            cards = int(accel.get("maximumCardsPerInstance") or 0)
            if cards and pool.gpus > cards:
                report.add("accelerator offered", subject, zone, f"{pool.gpus} per node", f"{cards} per node", FAIL)
                continue
            offering += 1
            report.add("accelerator offered", subject, zone, "offered", "offered", OK)
        if regional and not pinned:
            report.fits("accelerator zones", subject, spec.region, REGIONAL_ZONES, offering, "zones",
                        "a regional cluster's node pools span three zones")


def _quotas(doc: Mapping[str, Any]) -> dict[str, float]:
    return {str(q["metric"]): float(q.get("limit", 0)) for q in doc.get("quotas", [])}


def check_compute_quotas(compute: Rest, project: str, region: str, pools: list[PoolDemand], report: Report) -> None:
    try:
        regional = _quotas(compute.get(f"projects/{project}/regions/{region}"))
        global_ = _quotas(compute.get(f"projects/{project}"))
    except Exception as err:  # noqa: BLE001
        report.add("Compute Engine quota", "regional and project quotas", region, "?", "?", ERROR, _text(err))
        return
    needed: dict[str, int] = defaultdict(int)
    parts: dict[str, list[str]] = defaultdict(list)

    def use(metric: str, amount: int, part: str) -> None:
        needed[metric] += amount
        parts[metric].append(part)

    for pool in pools:
        cpus = "PREEMPTIBLE_CPUS" if pool.spot and regional.get("PREEMPTIBLE_CPUS", 0) > 0 else "CPUS"
        use(cpus, pool.max_nodes * pool.vcpus, f"{pool.name}: {pool.max_nodes} x {pool.machine_type} ({pool.vcpus} vCPU)")
        family = f"{pool.machine_type.split('-', 1)[0].upper()}_CPUS"
        if family in regional:
            use(family, pool.max_nodes * pool.vcpus, f"{pool.name}: {pool.max_nodes} x {pool.machine_type}")
        if not pool.gpus:
            continue
        gpus = pool.max_nodes * pool.gpus
        part = f"{pool.name}: {pool.max_nodes} x {pool.gpus} {pool.accelerator}" + (" (spot)" if pool.spot else "")
        base = GPU_QUOTA_METRICS.get(pool.vertex_accelerator or "")
        if base is None:
            report.add("GPU quota", f"pool {pool.name} ({pool.accelerator})", region, f"{gpus} GPUs", "?", WARN, "no Compute Engine quota metric known for this GPU; check it by hand")
        else:
            preemptible = f"PREEMPTIBLE_{base}"
            metric = preemptible if pool.spot and regional.get(preemptible, 0) > 0 else base
            use(metric, gpus, part + ("" if metric == preemptible or not pool.spot else "; no preemptible quota: spot uses the regular quota"))
        use("GPUS_ALL_REGIONS", gpus, part)
    for metric in sorted(needed, key=lambda m: (m == "GPUS_ALL_REGIONS", "CPUS" in m, m)):
        scope, where = (global_, "all regions") if metric == "GPUS_ALL_REGIONS" else (regional, region)
        check = "GPU quota" if "GPUS" in metric else "CPU quota"
        unit = "GPUs" if "GPUS" in metric else "vCPU"
        if metric not in scope:
            report.add(check, metric, where, f"{needed[metric]} {unit}", "not listed", FAIL, "; ".join(parts[metric]) + "; the project has no such quota here")
            continue
        report.fits(check, metric, where, needed[metric], scope[metric], unit, "; ".join(parts[metric]))


#: The regional Compute Engine quota ``pd-balanced`` (and ``pd-ssd``) disks count against.
SSD_QUOTA = "SSD_TOTAL_GB"
#: The boot disk of the default pool GKE creates with the cluster (one node per zone) and
#: the stack removes right away: pulumi-gcp 10.2.0 ``ClusterNodeConfig.disk_size_gb``
#: "Defaults to 100GB"; the stack's cluster sets no size for it.
DEFAULT_POOL_DISK_GB = 100


@dataclass(frozen=True)
class DiskDemand:
    first_apply: int  # GB at the peak of a first apply
    max_scale: int  # GB with every pool at maxNodes
    parts: tuple[str, ...]
    other_type: tuple[str, ...]  # pools whose boot disks are not pd-balanced (Hyperdisk)


def volume_gb(spec: Any) -> list[tuple[str, int]]:
    """The persistent volumes the in-cluster layer claims (the ``pd-balanced`` storage class)."""
    if not (spec.cluster.enabled and spec.cluster.in_cluster and spec.monitoring.enabled):
        return []
    from mlops_stack.k8s.monitoring import GRAFANA_VOLUME_GB  # lazy: loads pulumi_kubernetes

    return [("prometheus", spec.monitoring.storage_gb), ("grafana", GRAFANA_VOLUME_GB)]


def disk_demand(spec: Any, pools: list[PoolDemand]) -> DiskDemand:
    """``pd-balanced`` GB the stack's disks need: boot disks of every node (the pools'
    initial nodes on a first apply, ``maxNodes`` at full scale) plus the persistent
    volumes. A first apply peaks at the larger of the default pool the cluster is created
    with (removed before any other pool exists) and the initial pools with the volumes."""
    from mlops_stack.gcp._nodes import boot_disk_type, initial_nodes  # lazy: loads the GCP SDK

    zones = REGIONAL_ZONES if spec.is_prod else 1
    initial = peak = 0
    parts: list[str] = []
    other: list[str] = []
    for pool in pools:
        if boot_disk_type(pool.machine_type) != "pd-balanced":
            other.append(f"{pool.name} ({pool.machine_type}: {boot_disk_type(pool.machine_type)})")
            continue
        pool_zones = len(pool.zones) if spec.is_prod and pool.zones else zones
        initial += initial_nodes(pool.min_nodes, pool_zones) * pool_zones * pool.disk_gb
        peak += pool.max_nodes * pool.disk_gb
        parts.append(f"{pool.name}: {pool.max_nodes} x {pool.disk_gb} GB")
    volumes = volume_gb(spec)
    claimed = sum(gb for _, gb in volumes)
    parts += [f"{name} volume: {gb} GB" for name, gb in volumes]
    first = max(zones * DEFAULT_POOL_DISK_GB, initial + claimed) if pools else 0
    return DiskDemand(first, max(first, peak + claimed), tuple(parts), tuple(other))


def check_disk_quota(compute: Rest, project: str, region: str, spec: Any, pools: list[PoolDemand], report: Report) -> None:
    """Regional ``SSD_TOTAL_GB`` must hold the stack's disks at full scale (and so its first apply)."""
    demand = disk_demand(spec, pools)
    for pool in demand.other_type:
        report.add("Disk quota", f"pool {pool}", region, "?", "?", WARN, "Hyperdisk boot disks count against a quota this check does not read")
    if not demand.max_scale:
        return
    try:
        regional = _quotas(compute.get(f"projects/{project}/regions/{region}"))
    except Exception as err:  # noqa: BLE001
        report.add("Disk quota", SSD_QUOTA, region, f"{demand.max_scale} GB", "?", ERROR, _text(err))
        return
    detail = f"first apply {demand.first_apply} GB; at maxNodes: " + "; ".join(demand.parts)
    if SSD_QUOTA not in regional:
        report.add("Disk quota", SSD_QUOTA, region, f"{demand.max_scale} GB", "not listed", FAIL, detail + "; the project has no such quota here")
        return
    report.fits("Disk quota", SSD_QUOTA, region, demand.max_scale, regional[SSD_QUOTA], "GB", detail)


def check_model_artifacts(storage: Rest, spec: Any, report: Report) -> None:
    """Each managed endpoint's model directory (``gs://<stack bucket>/<key>/``) holds an
    object: Vertex reads the model from it when the endpoint is deployed."""
    from mlops_stack.gcp._shared import bucket_name  # lazy: loads the GCP SDK

    prefix = Env.from_spec(spec).prefix
    # Phase 1 of a first apply (deployEndpoints: false) creates the bucket: missing is expected.
    missing = FAIL if getattr(spec, "deploy_endpoints", True) else WARN
    for ep in spec.managed_endpoints:
        artifact = ep.model.artifact
        bucket = bucket_name(prefix, artifact.bucket, spec.gcp.project)
        key = artifact.key.rstrip("/") + "/"
        subject = f"endpoint {ep.name}: gs://{bucket}/{key}"
        try:
            page = storage.get(f"b/{bucket}/o", prefix=key, maxResults=1)
        except ApiError as err:
            if err.status != 404:
                report.add("model artifact", subject, bucket, "uploaded", "?", ERROR, _text(err))
                continue
            # Before phase 1 the bucket does not exist: expected, so a warning (phase 1 creates it).
            report.add("model artifact", subject, bucket, "uploaded", "no bucket", WARN,
                       "the stack's bucket does not exist yet: apply with deployEndpoints: false first, upload the model, then rerun preflight (docs/first-apply.md)")
            continue
        except Exception as err:  # noqa: BLE001
            report.add("model artifact", subject, bucket, "uploaded", "?", ERROR, _text(err))
            continue
        if page.get("items"):
            report.add("model artifact", subject, bucket, "uploaded", "uploaded", OK)
        else:
            report.add("model artifact", subject, bucket, "uploaded", "empty", missing,
                       f"upload the model before the endpoints' apply: gcloud storage cp -r <model dir>/* gs://{bucket}/{key}")


def serving_limit(doc: Mapping[str, Any], region: str) -> float | None:
    """The effective per-region limit of a ConsumerQuotaMetric: the region's bucket, else
    the default bucket (no dimensions); None when the metric has no regional limit."""
    default: float | None = None
    for limit in doc.get("consumerQuotaLimits", []):
        if "{region}" not in str(limit.get("unit", "")):
            continue
        for bucket in limit.get("quotaBuckets", []):
            value = float(bucket.get("effectiveLimit", 0))
            dims = bucket.get("dimensions") or {}
            if dims.get("region") == region:
                return value
            if not dims:
                default = value
    return default


def check_vertex_quotas(su: Rest, project: str, region: str, demand: Mapping[str, list[tuple[str, int]]], report: Report) -> None:
    """The serving quota must hold ``ROLLING_UPDATE_COPIES`` copies of every deployment at
    ``maxInstances``: enough for the first deploy and for a model update."""
    for metric, eps in sorted(demand.items()):
        once = sum(n for _, n in eps)
        need = once * ROLLING_UPDATE_COPIES
        unit = "vCPU" if metric == VERTEX_SERVING_CPU_METRIC else "GPUs"
        detail = "; ".join(f"{name}: {n} {unit} at maxInstances" for name, n in eps) + (
            f"; x{ROLLING_UPDATE_COPIES}: a model update deploys the new model next to the old one (first deploy: {once} {unit})"
        )
        if metric.startswith("?"):
            report.add("Vertex AI serving quota", f"{metric[1:]} serving", region, f"{need} GPUs", "?", WARN, f"no serving quota metric known; {detail}")
            continue
        short = metric.split("/", 1)[1]
        try:
            doc = su.get(f"projects/{project}/services/aiplatform.googleapis.com/consumerQuotaMetrics/{quote(metric, safe='')}")
        except ApiError as err:
            status = WARN if err.status == 404 else ERROR
            report.add("Vertex AI serving quota", short, region, f"{need} {unit}", "not listed" if err.status == 404 else "?", status, f"{_text(err)}; {detail}")
            continue
        except Exception as err:  # noqa: BLE001
            report.add("Vertex AI serving quota", short, region, f"{need} {unit}", "?", ERROR, _text(err))
            continue
        limit = serving_limit(doc, region)
        if limit is None:
            report.add("Vertex AI serving quota", short, region, f"{need} {unit}", "?", WARN, f"no per-region limit listed; {detail}")
            continue
        report.fits("Vertex AI serving quota", short, region, need, limit, unit, detail)


def repository_exists(ar: Rest, repository: str, subject: str, where: str, report: Report) -> bool:
    """Whether the stack's repository exists; a row when it does not (before phase 1 of a
    first apply: expected, so a warning) or cannot be read."""
    try:
        ar.get(repository)
    except ApiError as err:
        if err.status == 404:
            report.add("endpoint image", subject, where, "pushed", "no repository yet", WARN,
                       "phase 1 (deployEndpoints: false) creates the repository: push the image, then rerun preflight before phase 2 "
                       "(docs/first-apply.md)")
        else:
            report.add("endpoint image", subject, where, "pushed", "?", ERROR, _text(err))
        return False
    return True


def check_endpoint_images(ar: Rest, spec: Any, report: Report) -> None:
    prefix = Env.from_spec(spec).prefix
    own = {f"{prefix}-{r}" for r in spec.container_registry.repositories}
    for ep in spec.endpoints:
        image = ep.model.image
        if not image:
            continue
        subject = f"endpoint {ep.name}: {image}"
        parts = image.split("/")
        ref = artifact_registry_image(image)
        if ref is None or parts[0] != f"{spec.region}-docker.pkg.dev" or parts[1] != spec.gcp.project or parts[2] not in own:
            report.add("endpoint image", subject, parts[0], "the stack's Artifact Registry", parts[0], WARN,
                       "not in the stack's registry: the endpoint's service account is granted nothing on it, so it must be readable to it")
            continue
        package, version = ref
        try:
            ar.get(f"{package}/{version}")
        except ApiError as err:
            if err.status != 404:
                report.add("endpoint image", subject, parts[2], "pushed", "?", ERROR, _text(err))
                continue
            if not repository_exists(ar, package.split("/packages/", 1)[0], subject, parts[2], report):
                continue
            report.add("endpoint image", subject, parts[2], "pushed", "not found", FAIL,
                       "push it before the endpoints' apply (phase 2, docs/first-apply.md)")
            continue
        except Exception as err:  # noqa: BLE001
            report.add("endpoint image", subject, parts[2], "pushed", "?", ERROR, _text(err))
            continue
        report.add("endpoint image", subject, parts[2], "pushed", "pushed", OK)


def run_preflight(spec: Any, client: ClientFactory, stack: str = "", outputs: Mapping[str, Any] | None = None) -> Report:
    """Run every check; ``client(name)`` returns a ``Rest`` on that API (``BASE_URLS``).
    ``outputs`` (``pulumi stack output --json``) is accepted for the common interface and not
    needed: the stack's bucket and repository names follow from the spec, so the managed
    endpoints' artifacts and images are checked with or without it."""
    del outputs
    report = Report(stack=stack, region=spec.region)
    check_documentation_cidrs(spec, report)
    project = spec.gcp.project
    api_states = check_apis(client("serviceusage"), project, required_apis(spec), report)
    check_service_agents(client("cloudresourcemanager"), project, api_states, report)
    pools = node_pools(spec)
    if spec.cluster.enabled:
        compute = client("compute")
        try:
            zones = up_zones(compute, project, spec.region)
        except Exception as err:  # noqa: BLE001
            report.add("zones", "zones UP", spec.region, "1", "?", ERROR, _text(err))
            zones = []
        location = cluster_location(spec, zones)
        check_gke_version(client("container"), project, location, spec, report)
        if zones:
            check_accelerators(compute, project, spec, zones if spec.is_prod else [location], pools, report)
        check_compute_quotas(compute, project, spec.region, pools, report)
        check_disk_quota(compute, project, spec.region, spec, pools, report)
    if spec.endpoints:
        check_endpoint_images(client("artifactregistry"), spec, report)
    if spec.managed_endpoints:
        check_model_artifacts(client("storage"), spec, report)
    demand = endpoint_demand(spec)
    if demand:
        check_vertex_quotas(client("serviceusage-v1beta1"), project, spec.region, demand, report)
    return report
