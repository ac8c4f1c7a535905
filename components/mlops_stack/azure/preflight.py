"""``mlops-stack preflight`` on Azure: will ``pulumi up`` get what the spec asks for?

Read-only ARM calls with ``DefaultAzureCredential`` (``az login``, workload identity
federation in CI, a managed identity) through the Azure management SDKs
(``[azure-ops]``). Responses are read by their REST (wire) names, which is what the
SDKs' models map over, so the code reads like the API reference:

1. **Resource providers and features.** ``Providers - Get`` for every namespace the stack
   creates resources in must be ``Registered`` (Pulumi does not register them); the
   subscription feature ``Microsoft.Compute/EncryptionAtHost`` must be ``Registered``
   (every AKS pool has encryption at host on).
2. **AKS version.** ``Managed Clusters - List Kubernetes Versions`` in the region:
   ``cluster.version`` must be listed and not a preview.
3. **VM sizes.** ``Resource Skus - List`` (``location eq '<region>'``): each pool's VM
   size (system, general, GPU pools) and each endpoint's instance type must be listed for
   the region and not restricted for the subscription (a ``Location`` restriction, e.g.
   ``NotAvailableForSubscription``); in prod, where pools span zones 1-3, each zone must
   be offered and not under a ``Zone`` restriction. One row per size and zone.
4. **Compute vCPU quotas** (``Usage - List``): per VM family (the SKU's ``family``,
   e.g. ``standardNCASv3_T4Family``) the regular pools' ``maxNodes`` x vCPUs; the
   regional total ``cores`` likewise; spot pools count against ``lowPriorityCores``
   (Total Regional Low-priority vCPUs) only, as Azure counts Spot VMs.
5. **Azure ML compute quotas** (Machine Learning ``Usages - List``, subscription-level
   rows): managed online endpoints draw on the per-family ``... Family Cluster Dedicated
   vCPUs`` quota and ``Total Cluster Dedicated Regional vCPUs``: endpoints'
   ``ceil(1.2 x maxInstances)`` x vCPUs must fit both (Azure ML holds a 20% reserve for
   upgrades, except on the SKUs ``ML_RESERVE_EXEMPT`` lists).

6. **Azure Cosmos DB and the workspace key** (when an Azure ML workspace is created: any
   endpoint or the model registry). The workspace is encrypted with the stack's key, and
   Azure ML keeps that metadata in an Azure Cosmos DB account it manages, whose
   first-party service principal (app ID ``COSMOS_DB_APP_ID``) must be able to use the
   key. azure-native has no directory lookup, so its object ID is read from Microsoft
   Graph (``servicePrincipals(appId=...)``, the credential's Graph token) and its role
   assignments from ARM (``Role Assignments - List`` filtered by ``principalId``): it must
   hold *Key Vault Crypto Service Encryption User* on the subscription, the stack's
   resource group or a key vault in it; otherwise ``FAIL`` with the ``az`` line that
   grants it (on ``azure.resourceGroupName`` when given, else on the subscription: the
   stack's own resource group does not exist before the first apply).

7. **Endpoint images.** Each managed endpoint's ``model.image``: in the stack's own
   registry (``<name>.azurecr.io``, the name derived from the subscription and resource
   group as ``azure/registry.py`` does), once the registry exists (``Registries - Get``),
   it must hold the tag or digest (ACR data plane: token exchange, then
   ``GET /v2/<repo>/manifests/<ref>``), else ``FAIL`` (``warn`` with
   ``deployEndpoints: false``, phase 1). A registry that does not exist yet (before phase
   1 of the first apply) is one ``warn`` line; so is an image in another registry (the
   endpoint identity has AcrPull on the stack's registry only; elsewhere Azure ML must
   pull it anonymously). docs/first-apply.md gives the order.

8. **Keys after the first apply.** ``Keys - Get`` (ARM) of the stack's two keys, when
   they exist: type, size, operations and rotation policy must be what the spec makes
   (ARM creates a key once and never updates it), else ``FAIL`` with the command that
   applies a rotation change.

Usage already in the subscription is not subtracted: a pass means the stack alone fits.
"""

from __future__ import annotations

import math
import os
from collections import defaultdict
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from mlops_stack import catalog
from mlops_stack.args import Env
from mlops_stack.azure._naming import ROLE_KV_CRYPTO_SERVICE_ENCRYPTION_USER, container_registry_name, key_vault_name, resource_group_id, zones_list
from mlops_stack.errors import ConfigError
from mlops_stack.ops_report import ERROR, FAIL, OK, WARN, ClientFactory, NoCredentials, Report
from mlops_stack.ops_report import check_documentation_cidrs

__all__ = ["Report", "default_clients", "run_preflight", "sdk_error"]

#: The extra that installs this module's SDKs, and their top-level modules.
OPS_EXTRA = "azure-ops"
SDK_MODULES = ("azure", "msal", "requests")
SDK_LABEL = "the Azure SDKs (azure-identity, azure-mgmt-*)"

#: API versions of the calls made through the generic ARM pipeline (the Azure ML
#: management SDK on the package index is at 2020-08-01, without online endpoints):
#: Machine Learning Services 2024-04-01 (GA: usages, workspaces, onlineEndpoints,
#: listKeys) and Microsoft.Features 2021-07-01 (subscription feature registrations).
ML_API_VERSION = "2024-04-01"
FEATURES_API_VERSION = "2021-07-01"
#: The data-plane scope of Azure ML online endpoints (auth mode AADToken).
ML_DATA_SCOPE = "https://ml.azure.com/.default"
#: Subscription features the stack needs (namespace, feature): every AKS pool sets
#: enableEncryptionAtHost (azure/cluster.py, azure/gpu_pool.py).
REQUIRED_FEATURES = (("Microsoft.Compute", "EncryptionAtHost"),)
#: The Azure Cosmos DB first-party application (the same app ID in every tenant; its
#: service principal's object ID differs per tenant). Azure ML's CMK workspaces need it
#: to use the key (docs/azure.md).
COSMOS_DB_APP_ID = "a232010e-820c-4083-83bb-3ace5fc29d0b"
GRAPH_BASE = "https://graph.microsoft.com/v1.0/"
GRAPH_SCOPE = "https://graph.microsoft.com/.default"
#: Microsoft.Authorization role assignments (GA API version).
AUTHORIZATION_API_VERSION = "2022-04-01"
#: Microsoft.KeyVault vaults/keys (the API version azure-native 3.29.0's keyvault.Key uses).
KEYVAULT_API_VERSION = "2024-11-01"
#: Microsoft.ContainerRegistry registries (GA API version).
ACR_API_VERSION = "2023-07-01"
ARM_SCOPE = "https://management.azure.com/.default"
#: The ACR data-plane root of a registry (``{login}``: ``<name>.azurecr.io``).
ACR_BASE = "https://{login}/"
#: Manifest media types a tag may point to (Docker v2, OCI; single and multi-arch).
MANIFEST_TYPES = (
    "application/vnd.docker.distribution.manifest.v2+json",
    "application/vnd.docker.distribution.manifest.list.v2+json",
    "application/vnd.oci.image.manifest.v1+json",
    "application/vnd.oci.image.index.v1+json",
)


# ---------------------------------------------------------------------------------
# Clients.


class Arm:
    """``GET``/``POST`` on ARM paths through an SDK client's authenticated pipeline
    (``send_request``), for the APIs without a current SDK."""

    def __init__(self, client: Any) -> None:
        self.client = client

    def send(self, method: str, url: str) -> dict[str, Any]:
        """``url``: an ARM path or a ``nextLink``, with its ``api-version``."""
        from azure.core.exceptions import HttpResponseError
        from azure.core.rest import HttpRequest

        resp = self.client.send_request(HttpRequest(method, url))
        if resp.status_code >= 400:
            raise HttpResponseError(response=resp)
        return resp.json() if resp.content else {}

    def call(self, method: str, path: str, api_version: str) -> dict[str, Any]:
        return self.send(method, f"{path}{'&' if '?' in path else '?'}api-version={api_version}")

    def get(self, path: str, api_version: str) -> dict[str, Any]:
        return self.call("GET", path, api_version)

    def values(self, path: str, api_version: str) -> Iterator[dict[str, Any]]:
        page = self.get(path, api_version)
        while True:
            yield from page.get("value", [])
            link = page.get("nextLink")
            if not link:
                return
            page = self.send("GET", link)


def arm_clients(credential: Any, subscription_id: str, *, graph_base: str = GRAPH_BASE, acr_base: str = ACR_BASE, **kwargs: Any) -> ClientFactory:
    """A client factory over one credential and subscription. ``kwargs`` go to every SDK
    client (tests: ``base_url`` of a local fake, ``authentication_policy``);
    ``client("graph")`` is the Microsoft Graph root (``graph_base``)."""
    cache: dict[str, Any] = {}

    def make(name: str) -> Any:
        if name == "compute":
            from azure.mgmt.compute import ComputeManagementClient

            return ComputeManagementClient(credential, subscription_id, **kwargs)
        if name == "containerservice":
            from azure.mgmt.containerservice import ContainerServiceClient

            return ContainerServiceClient(credential, subscription_id, **kwargs)
        if name == "resource":
            from azure.mgmt.resource.resources import ResourceManagementClient

            return ResourceManagementClient(credential, subscription_id, **kwargs)
        if name == "storage":
            from azure.mgmt.storage import StorageManagementClient

            return StorageManagementClient(credential, subscription_id, **kwargs)
        if name == "containerregistry":
            from azure.mgmt.containerregistry import ContainerRegistryManagementClient

            return ContainerRegistryManagementClient(credential, subscription_id, **kwargs)
        if name == "arm":
            return Arm(make("resource"))
        if name == "credential":
            return credential
        if name == "http":
            import requests

            return requests.Session()
        if name == "subscription":
            return subscription_id
        if name == "graph":
            return graph_base
        if name == "acr":
            return acr_base
        raise KeyError(name)

    def client(name: str) -> Any:
        if name not in cache:
            cache[name] = make(name)
        return cache[name]

    return client


def subscription_of(spec: Any) -> str:
    sub = spec.azure.subscription_id or os.environ.get("AZURE_SUBSCRIPTION_ID")
    if not sub:
        raise ConfigError("azure.subscriptionId", "is needed by preflight and smoke to know which subscription to read",
                          "set mlops-stack:azure.subscriptionId or AZURE_SUBSCRIPTION_ID")
    return str(sub)


def default_clients(spec: Any, profile: str | None = None) -> ClientFactory:
    """``DefaultAzureCredential`` (environment, workload identity, managed identity, az login)."""
    from azure.core.exceptions import ClientAuthenticationError
    from azure.identity import DefaultAzureCredential

    sub = subscription_of(spec)
    credential = DefaultAzureCredential(exclude_interactive_browser_credential=True)
    try:
        credential.get_token("https://management.azure.com/.default")
    except ClientAuthenticationError:
        raise NoCredentials("no Azure credentials found (run `az login`, or set AZURE_CLIENT_ID/AZURE_TENANT_ID/AZURE_FEDERATED_TOKEN_FILE "
                            "for workload identity)") from None
    return arm_clients(credential, sub)


def sdk_error(err: BaseException) -> tuple[int, str] | None:
    """``(exit code, line)`` for an Azure auth or transport error, else None."""
    try:
        from azure.core.exceptions import AzureError, ClientAuthenticationError
    except ModuleNotFoundError:
        return None
    if isinstance(err, ClientAuthenticationError):
        return 2, f"Azure credentials: {str(err).splitlines()[0]}"
    if isinstance(err, AzureError):
        return 1, f"Azure: {str(err).splitlines()[0]}"
    return None


def _text(err: Exception) -> str:
    code = getattr(getattr(err, "error", None), "code", None) or getattr(err, "status_code", None)
    first = (str(getattr(getattr(err, "error", None), "message", None) or err).splitlines() or [""])[0]
    return f"{code}: {first}" if code else f"{type(err).__name__}: {first}"


# ---------------------------------------------------------------------------------
# What the spec asks for.


@dataclass(frozen=True)
class PoolDemand:
    name: str
    vm_size: str
    max_nodes: int
    spot: bool


def node_pools(spec: Any) -> list[PoolDemand]:
    """The AKS system pool, the general pool (same size and max) and every GPU pool."""
    if not spec.cluster.enabled:
        return []
    strict = spec.region_check == "strict"
    sp = spec.cluster.system_pool
    size = catalog.cpu_offer("azure", sp.size, "nodepool").instance_type
    pools = [PoolDemand("system", size, sp.max_nodes, False), PoolDemand("general", size, sp.max_nodes, False)]
    for i, p in enumerate(spec.cluster.gpu_pools):
        offer = catalog.resolve_gpu("azure", p.gpu, p.gpus_per_node, "nodepool", spec.region, f"cluster.gpuPools[{i}].gpu", check_region=strict)
        pools.append(PoolDemand(p.name, offer.instance_type, p.max_nodes, p.spot))
    return pools


def endpoint_demand(spec: Any) -> dict[str, list[tuple[str, int]]]:
    """Instance type -> ``[(endpoint, maxInstances)]``."""
    strict = spec.region_check == "strict"
    out: dict[str, list[tuple[str, int]]] = defaultdict(list)
    for i, ep in enumerate(spec.endpoints):
        if ep.on_cluster:  # runs on a GPU pool: no managed-endpoint quota
            continue
        if ep.gpu is not None:
            size = catalog.resolve_gpu("azure", ep.gpu, ep.gpus_per_instance, "endpoint", spec.region, f"endpoints[{i}].gpu", check_region=strict).instance_type
        else:
            size = catalog.cpu_offer("azure", ep.cpu_size or "small", "endpoint").instance_type
        out[size].append((ep.name, ep.max_instances))
    return dict(out)


def required_providers(spec: Any) -> list[str]:
    """Resource providers a fresh subscription must have registered for this spec.

    Beyond the namespaces the stack creates resources in: an Azure ML workspace with a
    customer-managed key makes Azure ML create an Azure Cosmos DB account and an Azure AI
    Search service in a managed resource group of the subscription (Microsoft.DocumentDB,
    Microsoft.Search); the AKS Azure Policy add-on needs Microsoft.PolicyInsights;
    ``azure.defenderForContainers`` writes a Microsoft.Security pricing; self-hosted
    tracking creates a PostgreSQL flexible server (Microsoft.DBforPostgreSQL)."""
    names = {"Microsoft.Network", "Microsoft.Storage", "Microsoft.KeyVault", "Microsoft.ContainerRegistry", "Microsoft.ManagedIdentity",
             "Microsoft.Authorization"}
    if spec.cluster.enabled:
        names |= {"Microsoft.ContainerService", "Microsoft.Compute", "Microsoft.OperationalInsights", "Microsoft.PolicyInsights"}
    if spec.managed_endpoints or spec.model_registry.enabled:
        # The workspace is always encrypted with the stack key (azure/model_registry.py).
        names |= {"Microsoft.MachineLearningServices", "Microsoft.Insights", "Microsoft.OperationalInsights", "Microsoft.DocumentDB",
                  "Microsoft.Search"}
    if spec.azure.defender_for_containers:
        names.add("Microsoft.Security")
    if spec.tracking.enabled and spec.tracking.mode == "self-hosted":
        names.add("Microsoft.DBforPostgreSQL")
    return sorted(names)


def pool_zones(spec: Any) -> list[str]:
    """The zones AKS pools span: 1..3 in prod (``azure/_naming.zones_list``), none otherwise."""
    if not spec.is_prod:
        return []
    return zones_list(spec.zone_count)


# ---------------------------------------------------------------------------------
# The checks.


def check_registrations(resource: Any, arm: Arm, sub: str, spec: Any, report: Report) -> None:
    where = f"subscription {sub}"
    for ns in required_providers(spec):
        try:
            state = str(resource.providers.get(ns)["registrationState"])
        except Exception as err:  # noqa: BLE001 - reported, not raised
            report.add("resource provider", ns, where, "Registered", "?", ERROR, _text(err))
            continue
        report.add("resource provider", ns, where, "Registered", state, OK if state == "Registered" else FAIL,
                   "" if state == "Registered" else f"az provider register --namespace {ns}")
    if not spec.cluster.enabled:
        return
    for ns, feature in REQUIRED_FEATURES:
        subject = f"{ns}/{feature}"
        try:
            doc = arm.get(f"/subscriptions/{sub}/providers/Microsoft.Features/providers/{ns}/features/{feature}", FEATURES_API_VERSION)
            state = str((doc.get("properties") or {}).get("state", "?"))
        except Exception as err:  # noqa: BLE001
            report.add("subscription feature", subject, where, "Registered", "?", ERROR, _text(err))
            continue
        report.add("subscription feature", subject, where, "Registered", state, OK if state == "Registered" else FAIL,
                   "" if state == "Registered" else f"az feature register --namespace {ns} --name {feature}, then az provider register -n {ns}")


def check_aks_version(aks: Any, spec: Any, report: Report) -> None:
    minor = spec.cluster.version
    row = catalog.kubernetes_version("azure", minor)
    table = f"catalog: standard support until {row.standard_end}" if row else "catalog: no row"
    subject = f"Kubernetes {minor}"
    try:
        listed = aks.managed_clusters.list_kubernetes_versions(spec.region)["values"]
    except Exception as err:  # noqa: BLE001
        report.add("AKS version", subject, spec.region, minor, "?", ERROR, _text(err))
        return
    found = next((v for v in listed if v.get("version") == minor), None)
    offered = ", ".join(str(v.get("version")) for v in listed if not v.get("isPreview")) or "none"
    if found is None:
        report.add("AKS version", subject, spec.region, minor, "not offered", FAIL, f"AKS offers {offered}; {table}")
    elif found.get("isPreview"):
        report.add("AKS version", subject, spec.region, minor, "preview", FAIL, f"{minor} is a preview in {spec.region}; {table}")
    else:
        patches = sorted((found.get("patchVersions") or {}).keys())
        report.add("AKS version", subject, spec.region, minor, patches[-1] if patches else minor, OK, table)


def region_skus(compute: Any, region: str) -> dict[str, Mapping[str, Any]]:
    """VM sizes listed for the region, by name (wire-shaped ResourceSku documents)."""
    out: dict[str, Mapping[str, Any]] = {}
    for sku in compute.resource_skus.list(filter=f"location eq '{region}'"):
        if sku.get("resourceType") == "virtualMachines":
            out[str(sku["name"])] = sku
    return out


def sku_vcpus(sku: Mapping[str, Any]) -> int:
    caps = {c.get("name"): c.get("value") for c in sku.get("capabilities") or []}
    return int(float(caps.get("vCPUs") or 0))


def sku_availability(sku: Mapping[str, Any], region: str) -> tuple[str | None, dict[str, str | None]]:
    """``(region restriction reason | None, {zone: restriction reason | None})`` for the
    zones the SKU is offered in."""
    info = next((i for i in sku.get("locationInfo") or [] if str(i.get("location", "")).lower() == region.lower()), {})
    zones: dict[str, str | None] = {str(z): None for z in info.get("zones") or []}
    region_reason: str | None = None
    for r in sku.get("restrictions") or []:
        reason = str(r.get("reasonCode") or "restricted")
        rinfo = r.get("restrictionInfo") or {}
        if r.get("type") == "Location" and region.lower() in [str(v).lower() for v in r.get("values") or rinfo.get("locations") or []]:
            region_reason = reason
        elif r.get("type") == "Zone":
            for z in rinfo.get("zones") or []:
                zones[str(z)] = reason
    return region_reason, zones


def check_skus(skus: Mapping[str, Mapping[str, Any]], spec: Any, sizes: Mapping[str, list[str]], report: Report) -> None:
    """``sizes``: VM size -> what uses it (``pool train``, ``endpoint chat``)."""
    zones = pool_zones(spec)
    for size, users in sizes.items():
        subject = f"{size} ({', '.join(users)})"
        sku = skus.get(size)
        if sku is None:
            report.add("VM size available", subject, spec.region, "offered", "not offered", FAIL, f"{size} is not offered in {spec.region}")
            continue
        region_reason, by_zone = sku_availability(sku, spec.region)
        if region_reason:
            report.add("VM size available", subject, spec.region, "offered", f"restricted ({region_reason})", FAIL,
                       f"{size} is restricted for this subscription in {spec.region}")
            continue
        pools_in_zones = zones and any(u.startswith("pool ") for u in users)
        if not pools_in_zones:
            report.add("VM size available", subject, spec.region, "offered", "offered", OK)
            continue
        for zone in zones:
            where = f"{spec.region} zone {zone}"
            if zone not in by_zone:
                report.add("VM size available", subject, where, "offered", "not offered", FAIL, f"the prod pools span zones {', '.join(zones)}")
            elif by_zone[zone]:
                report.add("VM size available", subject, where, "offered", f"restricted ({by_zone[zone]})", FAIL,
                           f"{size} is restricted for this subscription in zone {zone}")
            else:
                report.add("VM size available", subject, where, "offered", "offered", OK)


def check_compute_quotas(compute: Any, skus: Mapping[str, Mapping[str, Any]], pools: list[PoolDemand], region: str, report: Report) -> None:
    try:
        usages = {str(u["name"]["value"]): (float(u["limit"]), str(u["name"].get("localizedValue") or u["name"]["value"])) for u in compute.usage.list(region)}
    except Exception as err:  # noqa: BLE001
        report.add("vCPU quota", "compute usages", region, "?", "?", ERROR, _text(err))
        return
    needed: dict[str, int] = defaultdict(int)
    parts: dict[str, list[str]] = defaultdict(list)
    for pool in pools:
        sku = skus.get(pool.vm_size)
        if sku is None:
            continue  # reported by check_skus
        vcpus = sku_vcpus(sku)
        amount, part = pool.max_nodes * vcpus, f"{pool.name}: {pool.max_nodes} x {pool.vm_size} ({vcpus} vCPU)"
        if pool.spot:
            needed["lowPriorityCores"] += amount
            parts["lowPriorityCores"].append(part + " spot")
            continue
        family = str(sku.get("family") or "")
        needed[family] += amount
        parts[family].append(part)
        needed["cores"] += amount
        parts["cores"].append(part)
    for name in sorted(needed, key=lambda n: (n in ("cores", "lowPriorityCores"), n)):
        if name not in usages:
            report.add("vCPU quota", name, region, f"{needed[name]} vCPU", "not listed", WARN, "; ".join(parts[name]))
            continue
        limit, label = usages[name]
        report.fits("vCPU quota", f"{label} ({name})", region, needed[name], limit, "vCPU", "; ".join(parts[name]))


#: Azure ML reserves 20% extra quota on managed online deployments for upgrades: a
#: deployment of N instances needs ``ceil(1.2 * N) * cores`` of quota, except on the SKUs
#: in the "Skip 20% Reservation" column. Sources (read 2026-12-08): MicrosoftDocs/azure-ai-docs
#: articles/machine-learning/includes/quota-allocation-online-deployment.md @ efb1e263
#: (the rule) and articles/machine-learning/reference-managed-online-endpoints-vm-sku-list.md
#: @ 1d987e37 (the exempt SKUs, upper case as listed there).
ML_RESERVE = 1.2
ML_RESERVE_EXEMPT = frozenset({
    "STANDARD_NC24ADS_A100_V4", "STANDARD_NC48ADS_A100_V4", "STANDARD_NC96ADS_A100_V4",
    "STANDARD_NC40ADS_H100_V5", "STANDARD_NC80ADIS_H100_V5",
    "STANDARD_ND96AMSR_A100_V4", "STANDARD_ND96ASR_V4", "STANDARD_ND40RS_V2",
    "STANDARD_ND96IS_H100_V5", "STANDARD_ND96ISR_H100_V5",
})


def ml_quota_instances(size: str, instances: int) -> int:
    """Instances' worth of quota a deployment of ``instances`` x ``size`` holds."""
    if size.upper() in ML_RESERVE_EXEMPT:
        return instances
    return math.ceil(round(ML_RESERVE * instances, 6))


def ml_family_quota_name(family: str) -> str:
    """``standardNCASv3_T4Family`` -> ``Standard NCASv3_T4 Family Cluster Dedicated vCPUs``
    (the Machine Learning usages' name for the same VM family)."""
    core = family.removeprefix("standard").removesuffix("Family")
    return f"Standard {core} Family Cluster Dedicated vCPUs"


ML_TOTAL_DEDICATED = "Total Cluster Dedicated Regional vCPUs"


def check_ml_quotas(arm: Arm, sub: str, skus: Mapping[str, Mapping[str, Any]], demand: Mapping[str, list[tuple[str, int]]], region: str,
                    report: Report) -> None:
    if not demand:
        return
    try:
        rows = list(arm.values(f"/subscriptions/{sub}/providers/Microsoft.MachineLearningServices/locations/{region}/usages", ML_API_VERSION))
    except Exception as err:  # noqa: BLE001
        report.add("Azure ML quota", "compute usages", region, "?", "?", ERROR, _text(err))
        return
    # Subscription-level rows only (the same names also appear per workspace and compute).
    limits = {str(r["name"]["value"]): float(r["limit"]) for r in rows
              if str(r.get("type", "")).endswith(("/vmFamily/usages", "/dedicatedCores/usages"))}
    needed: dict[str, int] = defaultdict(int)
    parts: dict[str, list[str]] = defaultdict(list)
    for size, eps in sorted(demand.items()):
        sku = skus.get(size)
        if sku is None:
            continue  # reported by check_skus
        vcpus = sku_vcpus(sku)
        for name in (ml_family_quota_name(str(sku.get("family") or "")), ML_TOTAL_DEDICATED):
            for ep, n in eps:
                held = ml_quota_instances(size, n)
                needed[name] += held * vcpus
                reserve = f" + 20% reserve = {held}" if held != n else ""
                parts[name].append(f"{ep}: {n}{reserve} x {size} ({vcpus} vCPU)")
    for name in sorted(needed, key=lambda n: (n == ML_TOTAL_DEDICATED, n)):
        if name not in limits:
            report.add("Azure ML quota", name, region, f"{needed[name]} vCPU", "not listed", WARN, "; ".join(parts[name]))
            continue
        report.fits("Azure ML quota", name, region, needed[name], limits[name], "vCPU", "; ".join(parts[name]))


def cosmos_db_object_id(client: ClientFactory) -> str | None:
    """The object ID of the Azure Cosmos DB service principal in the tenant (None: absent)."""
    token = client("credential").get_token(GRAPH_SCOPE).token
    resp = client("http").get(
        f"{client('graph')}servicePrincipals(appId='{COSMOS_DB_APP_ID}')",
        params={"$select": "id,appId,displayName"},
        headers={"Authorization": f"Bearer {token}"},
        timeout=30,
    )
    if resp.status_code == 404:
        return None
    resp.raise_for_status()
    return str(resp.json()["id"])


def check_cosmos_db_key_access(client: ClientFactory, arm: Arm, sub: str, spec: Any, report: Report) -> None:
    from urllib.parse import quote

    from mlops_stack.azure.network import resource_group_name  # lazy: loads the Azure SDK

    if not (spec.endpoints or spec.model_registry.enabled):
        return
    subject = "Azure Cosmos DB principal: Key Vault Crypto Service Encryption User"
    rg = spec.azure.resource_group_name or resource_group_name(Env.from_spec(spec))
    # An existing resource group (azure.resourceGroupName) can hold the grant; one the stack
    # creates does not exist before the first apply, so the grant goes on the subscription.
    scope = f"/subscriptions/{sub}/resourceGroups/{rg}" if spec.azure.resource_group_name else f"/subscriptions/{sub}"
    grant = (f"az role assignment create --assignee-object-id <id> --assignee-principal-type ServicePrincipal "
             f"--role \"Key Vault Crypto Service Encryption User\" --scope {scope}")
    try:
        oid = cosmos_db_object_id(client)
    except Exception as err:  # noqa: BLE001
        report.add("workspace key access", subject, sub, "granted", "?", ERROR,
                   f"could not read the service principal of app {COSMOS_DB_APP_ID} from Microsoft Graph ({_text(err)})")
        return
    if oid is None:
        report.add("workspace key access", subject, sub, "granted", "no principal", FAIL,
                   f"the tenant has no service principal for the Azure Cosmos DB app {COSMOS_DB_APP_ID}: "
                   f"`az ad sp create --id {COSMOS_DB_APP_ID}`, then grant it ({grant})")
        return
    path = (f"/subscriptions/{sub}/providers/Microsoft.Authorization/roleAssignments"
            f"?$filter={quote(f'principalId eq {chr(39)}{oid}{chr(39)}', safe='')}")
    try:
        assignments = list(arm.values(path, AUTHORIZATION_API_VERSION))
    except Exception as err:  # noqa: BLE001
        report.add("workspace key access", subject, sub, "granted", "?", ERROR, _text(err))
        return
    rg_scope = f"/subscriptions/{sub}/resourcegroups/{rg}".lower()
    for a in assignments:
        props = a.get("properties") or {}
        scope = str(props.get("scope", "")).lower().rstrip("/")
        role = str(props.get("roleDefinitionId", "")).lower()
        covers = scope in (f"/subscriptions/{sub}".lower(), rg_scope) or (
            scope.startswith(rg_scope + "/") and "/providers/microsoft.keyvault/vaults/" in scope
        )
        if covers and role.endswith(ROLE_KV_CRYPTO_SERVICE_ENCRYPTION_USER):
            report.add("workspace key access", subject, props.get("scope", ""), "granted", "granted", OK, f"object {oid}")
            return
    report.add("workspace key access", subject, scope, "granted", "not granted", FAIL,
               "Azure ML cannot create the CMK-encrypted workspace until the Azure Cosmos DB principal may use the key: "
               + grant.replace("<id>", oid))


def split_image(image: str) -> tuple[str, str, str]:
    """``host/repo/path:tag`` or ``host/repo@sha256:...`` -> ``(host, repository, tag or digest)``."""
    host, _, rest = image.partition("/")
    if "@" in rest:
        repo, _, ref = rest.partition("@")
    else:
        repo, _, ref = rest.rpartition(":") if ":" in rest else (rest, "", "latest")
    return host, repo, ref


def acr_has_image(client: ClientFactory, login: str, repo: str, ref: str) -> bool:
    """Whether ``login`` holds ``repo`` at ``ref``: an Entra token exchanged for an ACR
    refresh token, then a pull-scoped access token, then the manifest."""
    http, base = client("http"), client("acr").format(login=login)
    aad = client("credential").get_token(ARM_SCOPE).token
    resp = http.post(f"{base}oauth2/exchange", data={"grant_type": "access_token", "service": login, "access_token": aad}, timeout=30)
    resp.raise_for_status()
    resp = http.post(f"{base}oauth2/token", data={"grant_type": "refresh_token", "service": login, "scope": f"repository:{repo}:pull",
                                                  "refresh_token": resp.json()["refresh_token"]}, timeout=30)
    resp.raise_for_status()
    resp = http.get(f"{base}v2/{repo}/manifests/{ref}", timeout=30,
                    headers={"Authorization": f"Bearer {resp.json()['access_token']}", "Accept": ", ".join(MANIFEST_TYPES)})
    if resp.status_code == 404:
        return False
    resp.raise_for_status()
    return True


def check_endpoint_images(client: ClientFactory, arm: Arm, sub: str, spec: Any, report: Report) -> None:
    """Each endpoint's image (docs/first-apply.md, "Managed endpoints"): checked in the
    stack's registry once it exists; one ``warn`` line, never a failure, when the registry
    does not exist yet (before phase 1) or the image lives in another registry."""
    from mlops_stack.azure.network import resource_group_name  # lazy: loads the Azure SDK

    rg = spec.azure.resource_group_name or resource_group_name(Env.from_spec(spec))
    name = container_registry_name(Env.from_spec(spec).prefix, resource_group_id(sub, rg))
    login = f"{name}.azurecr.io"
    # Phase 1 of a first apply (deployEndpoints: false) creates no endpoint: a missing image is a warning then.
    missing = FAIL if getattr(spec, "deploy_endpoints", True) else WARN
    registry: bool | None = None
    for ep in spec.endpoints:
        image = ep.model.image
        if not image or ep.on_cluster:
            continue
        host, repo, ref = split_image(image)
        subject = f"endpoint {ep.name}: {image}"
        if host.lower() != login:
            if spec.is_prod:
                # prod's workspace has a managed network that allows approved outbound only: its
                # automatic private-endpoint rules cover the stack's own registry and nothing else.
                report.add("endpoint image", subject, host, login, host, missing,
                           f"not the stack's registry: prod's managed network (AllowOnlyApprovedOutbound) reaches only {login}; "
                           f"import the image there (az acr import --name {name} --source {image})")
                continue
            hint = ("not the stack's registry: the endpoint identity has AcrPull on the stack's registry only; grant it AcrPull on "
                    f"{host} or push the image to {login}") if host.lower().endswith(".azurecr.io") else (
                    "not the stack's registry: Azure ML must be able to pull it without credentials")
            report.add("endpoint image", subject, host, login, host, WARN, hint)
            continue
        if registry is None:
            try:
                arm.get(f"/subscriptions/{sub}/resourceGroups/{rg}/providers/Microsoft.ContainerRegistry/registries/{name}", ACR_API_VERSION)
                registry = True
            except Exception as err:  # noqa: BLE001
                if getattr(err, "status_code", None) != 404:
                    report.add("endpoint image", subject, login, "pushed", "?", ERROR, _text(err))
                    continue
                registry = False
        if not registry:
            report.add("endpoint image", subject, login, "pushed", "no registry yet", WARN,
                       f"{login} does not exist yet: phase 1 (deployEndpoints: false) creates it; push the image, then run preflight "
                       "again before phase 2 (docs/first-apply.md)")
            continue
        try:
            found = acr_has_image(client, login, repo, ref)
        except Exception as err:  # noqa: BLE001
            report.add("endpoint image", subject, login, "pushed", "?", ERROR, _text(err))
            continue
        report.add("endpoint image", subject, login, "pushed", "pushed" if found else "not found", OK if found else missing,
                   "" if found else f"push {image} before the endpoint's apply (phase 2, docs/first-apply.md)")


def expected_keys(spec: Any) -> dict[str, dict[str, Any]]:
    """Key name -> the create-only properties ``azure/keys.py`` writes for this spec."""
    from mlops_stack.azure.keys import EXPIRY_MARGIN_DAYS, KEY_ROLES, KEY_SIZE, vault_sku  # lazy: loads the Azure SDK

    env = Env.from_spec(spec)
    kty = vault_sku(env)[1]
    days = spec.keys.rotation_days
    return {
        f"{env.prefix}-{suffix}": {"kty": kty, "keySize": KEY_SIZE, "keyOps": sorted(ops), "rotate": f"P{days}D",
                                   "expiry": f"P{days + EXPIRY_MARGIN_DAYS}D"}
        for suffix, ops in KEY_ROLES.values()
    }


def actual_key(props: Mapping[str, Any]) -> dict[str, Any]:
    """The same fields from an ARM ``Keys - Get`` response's ``properties``."""
    policy = props.get("rotationPolicy") or {}
    rotate = next((a.get("trigger", {}).get("timeAfterCreate") for a in policy.get("lifetimeActions") or []
                   if str((a.get("action") or {}).get("type", "")).lower() == "rotate"), None)
    return {"kty": props.get("kty"), "keySize": props.get("keySize"), "keyOps": sorted(props.get("keyOps") or []), "rotate": rotate,
            "expiry": (policy.get("attributes") or {}).get("expiryTime")}


def check_keys(arm: Arm, sub: str, spec: Any, report: Report) -> None:
    """Keys already in the stack's vault must match the spec: the ARM PUT never updates an
    existing key (azure/keys.py), so a changed ``keys.rotationDays`` (or key type) would
    silently not be applied. Absent vault or key (before the first apply): no row."""
    from mlops_stack.azure.network import resource_group_name  # lazy: loads the Azure SDK

    env = Env.from_spec(spec)
    rg = spec.azure.resource_group_name or resource_group_name(env)
    vault = key_vault_name(env.prefix, resource_group_id(sub, rg))
    for key, want in expected_keys(spec).items():
        subject = f"key {key}"
        try:
            doc = arm.get(f"/subscriptions/{sub}/resourceGroups/{rg}/providers/Microsoft.KeyVault/vaults/{vault}/keys/{key}",
                          KEYVAULT_API_VERSION)
        except Exception as err:  # noqa: BLE001
            if getattr(err, "status_code", None) != 404:
                report.add("key properties", subject, vault, "as in the spec", "?", ERROR, _text(err))
            continue
        have = actual_key(doc.get("properties") or {})
        diff = [f"{k}: {have[k]} -> {want[k]}" for k in want if have[k] != want[k]]
        if not diff:
            report.add("key properties", subject, vault, "as in the spec", "as in the spec", OK, "")
            continue
        if set(k.split(":")[0] for k in diff) <= {"rotate", "expiry"}:
            hint = (f"keys are created once (ARM never updates them): apply the rotation policy with az keyvault key rotation-policy "
                    f"update --vault-name {vault} --name {key} --value <policy.json> (docs/azure.md, keys after the first apply)")
        else:
            hint = ("keys are created once (ARM never updates them): the key type, size and operations cannot change; keep the "
                    "values the key was created with (docs/azure.md, keys after the first apply)")
        report.add("key properties", subject, vault, "as in the spec", "; ".join(diff), FAIL, hint)


def run_preflight(spec: Any, client: ClientFactory, stack: str = "", outputs: Mapping[str, Any] | None = None) -> Report:
    """Run every check; ``client(name)`` returns an SDK client (``arm_clients``).
    ``outputs`` (``pulumi stack output --json``) is accepted for the common interface and not
    needed: the stack's registry name follows from the spec, so endpoint images are checked
    with or without it."""
    del outputs
    report = Report(stack=stack, region=spec.region)
    check_documentation_cidrs(spec, report)
    sub = str(client("subscription"))
    arm = client("arm")
    check_registrations(client("resource"), arm, sub, spec, report)
    check_cosmos_db_key_access(client, arm, sub, spec, report)
    check_endpoint_images(client, arm, sub, spec, report)
    for ep in spec.managed_endpoints:
        # The storage account's data plane is reachable from the stack's network only (prod) and
        # needs a data role the deployer may not hold, so the artifact is the user's to check.
        report.add("model artifact", f"endpoint {ep.name}: {ep.model.artifact.bucket}/{ep.model.artifact.key}", spec.region,
                   "uploaded", "not checked", WARN,
                   "upload it before phase 2 (az storage blob upload ... --auth-mode login); preflight does not read blob data")
    check_keys(arm, sub, spec, report)
    if spec.cluster.enabled:
        check_aks_version(client("containerservice"), spec, report)
    pools = node_pools(spec)
    demand = endpoint_demand(spec)
    if not (pools or demand):
        return report
    compute = client("compute")
    try:
        skus = region_skus(compute, spec.region)
    except Exception as err:  # noqa: BLE001
        report.add("VM size available", "resource SKUs", spec.region, "?", "?", ERROR, _text(err))
        return report
    sizes: dict[str, list[str]] = defaultdict(list)
    for pool in pools:
        sizes[pool.vm_size].append(f"pool {pool.name}")
    for size, eps in demand.items():
        sizes[size].extend(f"endpoint {name}" for name, _ in eps)
    check_skus(skus, spec, sizes, report)
    if pools:
        check_compute_quotas(compute, skus, pools, spec.region, report)
    check_ml_quotas(arm, sub, skus, demand, spec.region, report)
    return report
