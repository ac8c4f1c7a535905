"""``mlops-stack preflight`` and ``smoke`` on Azure: the real management SDK clients
(``[azure-ops]``) pointed at a local fake ARM (tests/fakeapi.py, 127.0.0.1 only; the SDKs'
``base_url``, with a no-op authentication policy), answering in the shapes of the
Azure REST API reference and its examples (azure-rest-api-specs):

- Compute ``Resource Skus - List`` (ResourceSku: family, locationInfo[].zones,
  capabilities vCPUs, restrictions[] type Location/Zone with reasonCode
  NotAvailableForSubscription) and ``Usage - List`` (name.value / localizedValue, limit;
  ``cores``, ``lowPriorityCores`` and per-family rows);
- Container Service ``Managed Clusters - List Kubernetes Versions`` (values[].version,
  isPreview, patchVersions) and ``Managed Clusters - List`` (properties.provisioningState,
  powerState.code);
- Resources ``Providers - Get`` (registrationState) and Features ``Features - Get``
  2021-07-01 (properties.state);
- Machine Learning 2024-04-01 ``Usages - List`` (examples/Usage/list.json: types
  ``.../vmFamily/usages`` and ``.../dedicatedCores/usages``, name.value ``Standard DSv2
  Family Cluster Dedicated vCPUs``, ``Total Cluster Dedicated Regional vCPUs``),
  ``Workspaces - List By Subscription``, ``Online Endpoints - Get`` (properties.authMode,
  scoringUri, traffic, provisioningState) and ``List Keys`` (primaryKey);
- Storage ``Storage Accounts - List`` (properties.encryption.keySource,
  allowBlobPublicAccess), ``Blob Services - Get Service Properties``
  (isVersioningEnabled), ``Blob Containers - Get`` (publicAccess); Container Registry
  ``Registries - List`` (properties.loginServer, provisioningState).
"""

from __future__ import annotations

import argparse
import functools
import json
from pathlib import Path
from typing import Any

import pytest
from azure.core.credentials import AccessToken
from azure.core.pipeline.policies import SansIOHTTPPolicy
from fakeapi import FakeApi, serve
from mlops_stack import cli_ops
from mlops_stack.azure import preflight, smoke
from mlops_stack.offline.plan import plan_stack_file
from mlops_stack.offline.stackfile import read_stack_file
from mlops_stack.ops_report import ERROR, FAIL, OK, SKIP, WARN
from mlops_stack.spec import load_spec
from planning import ROOT, write_outputs

FIXTURE = ROOT / "tests" / "fixtures" / "azure" / "Pulumi.ops-azure.yaml"
SUB, REGION, RG = "00000000-0000-4000-8000-000000000001", "eastus", "ops-dev-rg"
PROVIDERS = f"/subscriptions/{SUB}/providers"


def arm_error(code: str, message: str) -> dict[str, Any]:
    return {"error": {"code": code, "message": message}}


class Credential:
    """A TokenCredential: the data-plane token the endpoint request carries."""

    def __init__(self) -> None:
        self.scopes: list[tuple[str, ...]] = []

    def get_token(self, *scopes: str, **_: Any) -> AccessToken:
        self.scopes.append(scopes)
        return AccessToken("entra-token", 4102444800)


def spec() -> Any:
    return load_spec(read_stack_file(FIXTURE).raw_spec)


def prod_spec() -> Any:
    doc = json.loads(json.dumps(read_stack_file(FIXTURE).raw_spec))
    doc["environment"] = "prod"
    doc["endpoints"] = []
    return load_spec(doc)


@functools.cache
def plan_outputs() -> dict[str, Any]:
    outputs = dict(plan_stack_file(FIXTURE).plan.outputs)
    outputs["kubeconfig"] = "[secret]"
    return json.loads(json.dumps(outputs))


def sku(name: str, family: str, vcpus: int, zones: list[str], restrictions: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    return {
        "resourceType": "virtualMachines", "name": name, "tier": "Standard", "size": name.removeprefix("Standard_"), "family": family,
        "locations": [REGION], "locationInfo": [{"location": REGION, "zones": zones, "zoneDetails": []}],
        "capabilities": [{"name": "vCPUs", "value": str(vcpus)}, {"name": "MemoryGB", "value": "8"}, {"name": "EncryptionAtHostSupported", "value": "True"}],
        "restrictions": restrictions or [],
    }


def location_restricted() -> list[dict[str, Any]]:
    return [{"type": "Location", "values": [REGION], "restrictionInfo": {"locations": [REGION]}, "reasonCode": "NotAvailableForSubscription"}]


def usage(value: str, localized: str, limit: int) -> dict[str, Any]:
    return {"unit": "Count", "currentValue": 0, "limit": limit, "name": {"value": value, "localizedValue": localized}}


def ml_usage(kind: str, name: str, limit: int) -> dict[str, Any]:
    return {"id": f"/subscriptions/{SUB}/usages/{name.replace(' ', '_')}", "type": f"Microsoft.MachineLearningServices/{kind}/usages",
            "currentValue": 0, "limit": limit, "name": {"value": name, "localizedValue": name}, "unit": "Count"}


COSMOS_OID = "0c1e2d3f-4a5b-4c6d-8e7f-9a0b1c2d3e4f"
#: The stack registry's name for SUB and RG (azure/_naming.container_registry_name).
ACR = "opsdevacrac5212e0"
CRYPTO_SERVICE_ENCRYPTION_USER = "e147488a-f6f5-4113-8e2d-b22465e65bf6"


def cosmos_assignment(scope: str, role: str = CRYPTO_SERVICE_ENCRYPTION_USER) -> dict[str, Any]:
    """Role Assignments - List (2022-04-01) item."""
    return {"id": f"{scope}/providers/Microsoft.Authorization/roleAssignments/5b9e0c3e-0000-4000-8000-000000000010",
            "type": "Microsoft.Authorization/roleAssignments", "name": "5b9e0c3e-0000-4000-8000-000000000010",
            "properties": {"roleDefinitionId": f"/subscriptions/{SUB}/providers/Microsoft.Authorization/roleDefinitions/{role}",
                           "principalId": COSMOS_OID, "principalType": "ServicePrincipal", "scope": scope}}


def healthy(api: FakeApi, *, a100_family: int = 96, low_priority: int = 100, t4_ml: int = 24, a100_sku_restricted: bool = False,
            t4_zones: tuple[str, ...] = ("1", "2", "3"), feature_state: str = "Registered",
            cosmos_assignments: list[dict[str, Any]] | None = None, pushed: tuple[str, ...] = ("chat-1.0.0", "scorer-1.0.0"),
            registry: bool = True) -> FakeApi:
    api.not_found = lambda path: arm_error("ResourceNotFound", f"{path} was not found")
    # The stack's registry (ARM Registries - Get) and its data plane: token exchange (ACR
    # OAuth2: /oauth2/exchange -> refresh_token, /oauth2/token -> access_token), manifests.
    if registry:
        api.json("GET", f"/subscriptions/{SUB}/resourceGroups/{RG}/providers/Microsoft.ContainerRegistry/registries/{ACR}", {
            "id": f"/subscriptions/{SUB}/resourceGroups/{RG}/providers/Microsoft.ContainerRegistry/registries/{ACR}", "name": ACR,
            "type": "Microsoft.ContainerRegistry/registries", "location": REGION, "sku": {"name": "Basic", "tier": "Basic"},
            "properties": {"loginServer": f"{ACR}.azurecr.io", "provisioningState": "Succeeded", "adminUserEnabled": False}})
    api.json("POST", f"/acr/{ACR}.azurecr.io/oauth2/exchange", {"refresh_token": "acr-refresh"})
    api.json("POST", f"/acr/{ACR}.azurecr.io/oauth2/token", {"access_token": "acr-access"})
    for tag in pushed:
        api.json("GET", f"/acr/{ACR}.azurecr.io/v2/ops-dev/serving/manifests/{tag}", {
            "schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
            "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": "sha256:" + "a" * 64, "size": 1470}, "layers": []})
    # Microsoft Graph v1.0 servicePrincipal (appId + id), and its role assignments in the subscription.
    api.json("GET", "/graph/servicePrincipals\\(appId='a232010e-820c-4083-83bb-3ace5fc29d0b'\\)", {
        "@odata.context": "https://graph.microsoft.com/v1.0/$metadata#servicePrincipals(id,appId,displayName)/$entity",
        "id": COSMOS_OID, "appId": "a232010e-820c-4083-83bb-3ace5fc29d0b", "displayName": "Azure Cosmos DB"})
    api.json("GET", f"{PROVIDERS}/Microsoft.Authorization/roleAssignments", {"value": [cosmos_assignment(f"/subscriptions/{SUB}")]
             if cosmos_assignments is None else cosmos_assignments})
    api.route("GET", f"{PROVIDERS}/Microsoft\\.[A-Za-z]+", lambda c: (200, {
        "id": c.path, "namespace": c.path.rsplit("/", 1)[1], "registrationState": "Registered", "registrationPolicy": "RegistrationRequired",
        "resourceTypes": []}))
    api.json("GET", f"{PROVIDERS}/Microsoft.Features/providers/Microsoft.Compute/features/EncryptionAtHost", {
        "properties": {"state": feature_state}, "id": f"{PROVIDERS}/Microsoft.Features/providers/Microsoft.Compute/features/EncryptionAtHost",
        "type": "Microsoft.Features/providers/features", "name": "Microsoft.Compute/EncryptionAtHost"})
    api.json("GET", f"{PROVIDERS}/Microsoft.ContainerService/locations/{REGION}/kubernetesVersions", {"values": [
        {"version": "1.34", "capabilities": {"supportPlan": ["KubernetesOfficial", "AKSLongTermSupport"]},
         "patchVersions": {"1.34.2": {"upgrades": ["1.35.1"]}}},
        {"version": "1.35", "capabilities": {"supportPlan": ["KubernetesOfficial"]}, "patchVersions": {"1.35.0": {"upgrades": ["1.35.1"]}, "1.35.1": {"upgrades": []}}},
        {"version": "1.36", "isPreview": True, "capabilities": {"supportPlan": ["KubernetesOfficial"]}, "patchVersions": {"1.36.0": {"upgrades": []}}},
    ]})
    api.json("GET", f"{PROVIDERS}/Microsoft.Compute/skus", {"value": [
        sku("Standard_D2s_v5", "standardDSv5Family", 2, ["1", "2", "3"]),
        sku("Standard_NC4as_T4_v3", "standardNCASv3_T4Family", 4, list(t4_zones)),
        sku("Standard_NC24ads_A100_v4", "standardNCADSA100v4Family", 24, ["1", "2", "3"], location_restricted() if a100_sku_restricted else None),
        sku("Standard_DS2_v2", "standardDSv2Family", 2, ["1", "2", "3"]),
        {"resourceType": "disks", "name": "Premium_LRS", "locations": [REGION], "locationInfo": [{"location": REGION, "zones": ["1"]}]},
    ]})
    api.json("GET", f"{PROVIDERS}/Microsoft.Compute/locations/{REGION}/usages", {"value": [
        usage("cores", "Total Regional vCPUs", 200),
        usage("lowPriorityCores", "Total Regional Low-priority vCPUs", low_priority),
        usage("standardDSv5Family", "Standard DSv5 Family vCPUs", 100),
        usage("standardNCASv3_T4Family", "Standard NCASv3_T4 Family vCPUs", 0),
        usage("standardNCADSA100v4Family", "Standard NCADS_A100_v4 Family vCPUs", a100_family),
    ]})
    api.json("GET", f"{PROVIDERS}/Microsoft.MachineLearningServices/locations/{REGION}/usages", {"value": [
        ml_usage("totalCores", "Clusters", 100),
        ml_usage("dedicatedCores", "Total Cluster Dedicated Regional vCPUs", 100),
        ml_usage("vmFamily", "Standard NCASv3_T4 Family Cluster Dedicated vCPUs", t4_ml),
        ml_usage("vmFamily", "Standard DSv2 Family Cluster Dedicated vCPUs", 24),
        # the same name per workspace: not the subscription's limit
        {**ml_usage("vmFamily", "Standard NCASv3_T4 Family Cluster Dedicated vCPUs", 1000), "type": "Microsoft.MachineLearningServices/workspaces/usages"},
        ml_usage("lowPriorityCores", "Total Cluster LowPriority Regional vCPUs", 50),
    ]})
    return api


def factory(api: FakeApi, credential: Credential | None = None) -> Any:
    return preflight.arm_clients(credential or Credential(), SUB, graph_base=f"{api.base}/graph/", acr_base=f"{api.base}/acr/{{login}}/", base_url=api.base,
                                 authentication_policy=SansIOHTTPPolicy())


def run_cli(argv: list[str], api: FakeApi | None, capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    parser = argparse.ArgumentParser(prog="mlops-stack")
    cli_ops.add_parsers(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(argv)
    code = args.handler(args, client=factory(api) if api is not None else None)
    out, err = capsys.readouterr()
    return code, out, err


# --- preflight -----------------------------------------------------------------------


def test_preflight_passes_on_a_healthy_subscription(capsys: pytest.CaptureFixture[str]) -> None:
    with serve(healthy(FakeApi())) as api:
        code, out, err = run_cli(["preflight", "--config", str(FIXTURE)], api, capsys)
        report = preflight.run_preflight(spec(), factory(api), stack="ops-azure")
    assert (code, err) == (0, ""), out
    assert f"preflight: all {len(report.findings)} checks passed" in out
    rows = [(f.check, f.subject, f.needed, f.allowed, f.status) for f in report.findings if "quota" in f.check]
    assert rows == [
        # system + general: 2 x 3 x 2 vCPU; infer: 2 x 24; train is spot: low priority only.
        ("vCPU quota", "Standard DSv5 Family vCPUs (standardDSv5Family)", "12 vCPU", "100 vCPU", OK),
        ("vCPU quota", "Standard NCADS_A100_v4 Family vCPUs (standardNCADSA100v4Family)", "48 vCPU", "96 vCPU", OK),
        ("vCPU quota", "Total Regional vCPUs (cores)", "60 vCPU", "200 vCPU", OK),
        ("vCPU quota", "Total Regional Low-priority vCPUs (lowPriorityCores)", "16 vCPU", "100 vCPU", OK),
        # endpoints, with Azure ML's 20% reserve (ceil(1.2 x instances)): scorer 2 -> 3 x DS2_v2
        # (2 vCPU), chat 3 -> 4 x NC4as_T4_v3 (4 vCPU).
        ("Azure ML quota", "Standard DSv2 Family Cluster Dedicated vCPUs", "6 vCPU", "24 vCPU", OK),
        ("Azure ML quota", "Standard NCASv3_T4 Family Cluster Dedicated vCPUs", "16 vCPU", "24 vCPU", OK),
        ("Azure ML quota", "Total Cluster Dedicated Regional vCPUs", "22 vCPU", "100 vCPU", OK),
    ]
    by = {(f.check, f.subject): (f.allowed, f.status) for f in report.findings}
    assert by[("AKS version", "Kubernetes 1.35")] == ("1.35.1", OK)
    assert by[("subscription feature", "Microsoft.Compute/EncryptionAtHost")] == ("Registered", OK)
    assert by[("resource provider", "Microsoft.ContainerService")] == ("Registered", OK)
    assert by[("VM size available", "Standard_NC4as_T4_v3 (pool train, endpoint chat)")] == ("offered", OK)


def test_a_zero_gpu_quota_fails_with_the_numbers(capsys: pytest.CaptureFixture[str]) -> None:
    with serve(healthy(FakeApi(), a100_family=0, low_priority=0)) as api:
        code, out, _ = run_cli(["preflight", "--config", str(FIXTURE), "--format", "json"], api, capsys)
    assert code == 1
    failed = [(f["subject"], f["needed"], f["allowed"], f["detail"]) for f in json.loads(out)["findings"] if f["status"] == FAIL]
    assert failed == [
        ("Standard NCADS_A100_v4 Family vCPUs (standardNCADSA100v4Family)", "48 vCPU", "0 vCPU", "infer: 2 x Standard_NC24ads_A100_v4 (24 vCPU)"),
        ("Total Regional Low-priority vCPUs (lowPriorityCores)", "16 vCPU", "0 vCPU", "train: 4 x Standard_NC4as_T4_v3 (4 vCPU) spot"),
    ]


def test_a_restricted_sku_fails() -> None:
    with serve(healthy(FakeApi(), a100_sku_restricted=True)) as api:
        report = preflight.run_preflight(spec(), factory(api))
    assert [(f.check, f.subject, f.where, f.allowed) for f in report.failed] == [
        ("VM size available", "Standard_NC24ads_A100_v4 (pool infer)", REGION, "restricted (NotAvailableForSubscription)"),
    ]


def test_a_zone_without_the_gpu_fails_in_prod() -> None:
    with serve(healthy(FakeApi(), t4_zones=("2", "3"))) as api:
        api.json("GET", f"{PROVIDERS}/Microsoft.Compute/skus", {"value": [
            sku("Standard_D2s_v5", "standardDSv5Family", 2, ["1", "2", "3"]),
            sku("Standard_NC4as_T4_v3", "standardNCASv3_T4Family", 4, ["2", "3"]),
            sku("Standard_NC24ads_A100_v4", "standardNCADSA100v4Family", 24, ["1", "2", "3"],
                [{"type": "Zone", "values": [REGION], "restrictionInfo": {"locations": [REGION], "zones": ["3"]}, "reasonCode": "NotAvailableForSubscription"}]),
        ]})
        report = preflight.run_preflight(prod_spec(), factory(api))
    assert [(f.subject, f.where, f.allowed) for f in report.failed] == [
        ("Standard_NC4as_T4_v3 (pool train)", f"{REGION} zone 1", "not offered"),
        ("Standard_NC24ads_A100_v4 (pool infer)", f"{REGION} zone 3", "restricted (NotAvailableForSubscription)"),
    ]
    assert len([f for f in report.findings if f.check == "VM size available"]) == 9  # 3 sizes x 3 zones


def test_a_too_small_endpoint_quota_fails_with_the_numbers() -> None:
    # 12 vCPU would hold the 3 instances, not Azure ML's 20% reserve on top (ceil(3.6) = 4).
    with serve(healthy(FakeApi(), t4_ml=12)) as api:
        report = preflight.run_preflight(spec(), factory(api))
    assert [(f.check, f.subject, f.needed, f.allowed, f.detail) for f in report.failed] == [
        ("Azure ML quota", "Standard NCASv3_T4 Family Cluster Dedicated vCPUs", "16 vCPU", "12 vCPU",
         "chat: 3 + 20% reserve = 4 x Standard_NC4as_T4_v3 (4 vCPU)"),
    ]


def test_the_ml_reserve_rule_and_its_exempt_skus() -> None:
    # MicrosoftDocs/azure-ai-docs quota-allocation-online-deployment.md: 10 x DS3_v2 needs 12 instances of quota.
    assert preflight.ml_quota_instances("Standard_DS3_v2", 10) == 12
    # prod-azure's endpoint: 6 x NC4as_T4_v3 (4 vCPU) holds ceil(7.2) = 8 instances = 32 vCPU.
    assert preflight.ml_quota_instances("Standard_NC4as_T4_v3", 6) * 4 == 32
    assert [preflight.ml_quota_instances("Standard_DS2_v2", n) for n in (1, 2, 5, 6)] == [2, 3, 6, 8]
    # "Skip 20% Reservation: Yes" in the managed online endpoints SKU list.
    assert preflight.ml_quota_instances("Standard_NC24ads_A100_v4", 3) == 3
    assert preflight.ml_quota_instances("Standard_ND96isr_H100_v5", 2) == 2
    assert len(preflight.ML_RESERVE_EXEMPT) == 10


def test_unregistered_feature_and_provider_fail_and_a_preview_version_fails() -> None:
    with serve(healthy(FakeApi(), feature_state="NotRegistered")) as api:
        api.json("GET", f"{PROVIDERS}/Microsoft.MachineLearningServices", {"namespace": "Microsoft.MachineLearningServices", "registrationState": "NotRegistered"})
        api.json("GET", f"{PROVIDERS}/Microsoft.ContainerService/locations/{REGION}/kubernetesVersions",
                 {"values": [{"version": "1.35", "isPreview": True, "patchVersions": {"1.35.0": {"upgrades": []}}}]})
        report = preflight.run_preflight(spec(), factory(api))
    assert [(f.subject, f.allowed, f.detail) for f in report.failed] == [
        ("Microsoft.MachineLearningServices", "NotRegistered", "az provider register --namespace Microsoft.MachineLearningServices"),
        ("Microsoft.Compute/EncryptionAtHost", "NotRegistered",
         "az feature register --namespace Microsoft.Compute --name EncryptionAtHost, then az provider register -n Microsoft.Compute"),
        ("Kubernetes 1.35", "preview", f"1.35 is a preview in {REGION}; catalog: standard support until 2027-03-31"),
    ]


def test_an_unreadable_quota_is_an_error_row() -> None:
    with serve(healthy(FakeApi())) as api:
        api.json("GET", f"{PROVIDERS}/Microsoft.Compute/locations/{REGION}/usages",
                 arm_error("AuthorizationFailed", "The client does not have authorization to perform action 'Microsoft.Compute/locations/usages/read'"), status=403)
        report = preflight.run_preflight(spec(), factory(api))
    errors = [f for f in report.findings if f.status == ERROR]
    assert [(f.check, f.detail.split(":")[0]) for f in errors] == [("vCPU quota", "AuthorizationFailed")]
    assert not report.ok


def test_a_missing_subscription_id_is_a_config_error(tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("AZURE_SUBSCRIPTION_ID", raising=False)
    doc = read_stack_file(FIXTURE)
    text = FIXTURE.read_text().replace("  mlops-stack:azure:\n    subscriptionId: 00000000-0000-4000-8000-000000000001\n", "")
    path = tmp_path / "Pulumi.nosub.yaml"
    path.write_text(text)
    assert doc.stack
    code, out, err = run_cli(["preflight", "--config", str(path)], None, capsys)
    assert (code, out) == (2, "")
    assert err.startswith("error: azure.subscriptionId: is needed by preflight and smoke to know which subscription to read")


# --- smoke ---------------------------------------------------------------------------


def deployed(outputs: dict[str, Any], api: FakeApi, *, unversioned: bool = False, not_serving: str | None = None) -> FakeApi:
    api.not_found = lambda path: arm_error("ResourceNotFound", f"{path} was not found")
    account = outputs["bucket_uris"]["models"].split("//", 1)[1].split(".", 1)[0]
    account_id = f"/subscriptions/{SUB}/resourceGroups/{RG}/providers/Microsoft.Storage/storageAccounts/{account}"
    api.json("GET", f"{PROVIDERS}/Microsoft.Storage/storageAccounts", {"value": [
        {"id": f"/subscriptions/{SUB}/resourceGroups/other/providers/Microsoft.Storage/storageAccounts/unrelated", "name": "unrelated",
         "location": REGION, "properties": {"allowBlobPublicAccess": True}},
        {"id": account_id, "name": account, "location": REGION, "kind": "StorageV2", "sku": {"name": "Standard_LRS", "tier": "Standard"},
         "properties": {"allowBlobPublicAccess": False, "minimumTlsVersion": "TLS1_2", "encryption": {
             "keySource": "Microsoft.Keyvault", "requireInfrastructureEncryption": True,
             "keyvaultproperties": {"keyname": "storage", "keyvaulturi": "https://ops-dev-kv.vault.azure.net/"}}}},
    ]})
    api.json("GET", f"{account_id}/blobServices/default", {"id": f"{account_id}/blobServices/default", "name": "default",
                                                            "properties": {"isVersioningEnabled": not unversioned, "changeFeed": {"enabled": True}}})
    for container in ("artifacts", "models"):
        api.json("GET", f"{account_id}/blobServices/default/containers/{container}", {
            "id": f"{account_id}/blobServices/default/containers/{container}", "name": container,
            "properties": {"publicAccess": "None", "hasImmutabilityPolicy": False}})
    acr = outputs["registry_url"].split(".", 1)[0]
    api.json("GET", f"{PROVIDERS}/Microsoft.ContainerRegistry/registries", {"value": [{
        "id": f"/subscriptions/{SUB}/resourceGroups/{RG}/providers/Microsoft.ContainerRegistry/registries/{acr}", "name": acr, "location": REGION,
        "sku": {"name": "Premium", "tier": "Premium"},
        "properties": {"loginServer": outputs["registry_url"], "provisioningState": "Succeeded", "adminUserEnabled": False}}]})
    api.json("GET", f"{PROVIDERS}/Microsoft.ContainerService/managedClusters", {"value": [{
        "id": f"/subscriptions/{SUB}/resourceGroups/{RG}/providers/Microsoft.ContainerService/managedClusters/{outputs['cluster_name']}",
        "name": outputs["cluster_name"], "location": REGION,
        "properties": {"provisioningState": "Succeeded", "powerState": {"code": "Running"}, "kubernetesVersion": "1.35"}}]})
    ws = f"/subscriptions/{SUB}/resourceGroups/{RG}/providers/Microsoft.MachineLearningServices/workspaces/ops-dev-mlw"
    api.json("GET", f"{PROVIDERS}/Microsoft.MachineLearningServices/workspaces", {"value": [
        {"id": f"/subscriptions/{SUB}/resourceGroups/rg2/providers/Microsoft.MachineLearningServices/workspaces/elsewhere", "name": "elsewhere", "location": "westeurope"},
        {"id": ws, "name": "ops-dev-mlw", "location": REGION, "properties": {"provisioningState": "Succeeded"}},
    ]})
    for logical, ep in outputs["endpoints"].items():
        name = ep["endpoint_name"]
        serving = logical != not_serving
        api.json("GET", f"{ws}/onlineEndpoints/{name}", {
            "id": f"{ws}/onlineEndpoints/{name}", "name": name, "type": "Microsoft.MachineLearningServices/workspaces/onlineEndpoints",
            "location": REGION, "kind": "Managed",
            "properties": {"authMode": "Key" if logical == "scorer" else "AADToken", "scoringUri": f"{api.base}/score/{name}",
                           "traffic": {"primary": 100} if serving else {}, "provisioningState": "Succeeded" if serving else "Failed",
                           "publicNetworkAccess": "Disabled"}})
        api.json("POST", f"{ws}/onlineEndpoints/{name}/listKeys", {"primaryKey": f"key-{logical}", "secondaryKey": "k2"})
        api.json("POST", f"/score/{name}", {"result": "ok"})
    return api


def test_smoke_passes_on_a_healthy_fake(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    outputs = plan_outputs()
    credential = Credential()
    with serve(FakeApi()) as api:
        deployed(outputs, api)
        code, out, err = run_cli(["smoke", "--config", str(FIXTURE), "--outputs", write_outputs(tmp_path, outputs)], api, capsys)
        report = smoke.run_smoke(spec(), outputs, factory(api, credential))
        posts = [(c.path, c.headers.get("Authorization"), c.headers.get("Content-Type"), c.body) for c in api.calls if c.path.startswith("/score/")]
    assert (code, err) == (0, ""), out
    assert "smoke: all 14 checks passed" in out
    assert [(r.check, r.resource.split(" ")[0], r.status) for r in report.results] == [
        *[(check, logical, OK) for logical in ("artifacts", "models")
          for check in ("bucket exists", "bucket encryption", "bucket versioning", "bucket public access")],
        ("registry exists", outputs["registry_url"], OK),
        ("cluster status", "ops-dev", OK),
        ("endpoint status", "chat", OK),
        ("endpoint request", "chat", OK),
        ("endpoint status", "scorer", OK),
        ("endpoint request", "scorer", OK),
    ]
    chat, scorer = outputs["endpoints"]["chat"]["endpoint_name"], outputs["endpoints"]["scorer"]["endpoint_name"]
    # AADToken: an Entra token for the Azure ML data plane; Key: the endpoint's primary key.
    assert posts[-2:] == [(f"/score/{chat}", "Bearer entra-token", "application/json", b'{"inputs": "Hello"}'),
                          (f"/score/{scorer}", "Bearer key-scorer", "text/csv", b"5.1,3.5,1.4,0.2")]
    assert ("https://ml.azure.com/.default",) in credential.scopes


def test_smoke_fails_on_a_bucket_without_versioning(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    outputs = plan_outputs()
    with serve(FakeApi()) as api:
        deployed(outputs, api, unversioned=True)
        code, out, _ = run_cli(["smoke", "--config", str(FIXTURE), "--outputs", write_outputs(tmp_path, outputs), "--format", "json"], api, capsys)
    assert code == 1
    failed = [(r["check"], r["resource"].split(" ")[0], r["expected"], r["found"]) for r in json.loads(out)["results"] if r["status"] == FAIL]
    assert failed == [("bucket versioning", "artifacts", "enabled", "disabled"), ("bucket versioning", "models", "enabled", "disabled")]


def test_smoke_fails_on_an_endpoint_that_is_not_serving() -> None:
    outputs = plan_outputs()
    with serve(FakeApi()) as api:
        deployed(outputs, api, not_serving="chat")
        scorer = outputs["endpoints"]["scorer"]["endpoint_name"]
        api.json("POST", f"/score/{scorer}", {"message": "An unexpected error occurred in scoring script."}, status=500)
        report = smoke.run_smoke(spec(), outputs, factory(api))
        scored = [c.path for c in api.calls if c.path.startswith("/score/")]
    assert [(r.check, r.resource.split(" ")[0], r.found, r.detail) for r in report.failed] == [
        ("endpoint status", "chat", "Failed, traffic 0%", ""),
        ("endpoint request", "chat", "-", "not sent: the endpoint is not serving"),
        ("endpoint request", "scorer", "500", '{"message": "An unexpected error occurred in scoring script."}'),
    ]
    assert scored == [f"/score/{scorer}"]


def test_smoke_missing_resources_fail_and_no_request_is_skipped() -> None:
    outputs = plan_outputs()
    s = spec()
    s = s.model_copy(update={"endpoints": [s.endpoints[0].model_copy(update={"sample_request": None}), s.endpoints[1]]})
    with serve(FakeApi()) as api:
        api.not_found = lambda path: arm_error("ResourceNotFound", f"{path} was not found")
        for path in ("Microsoft.Storage/storageAccounts", "Microsoft.ContainerRegistry/registries", "Microsoft.ContainerService/managedClusters",
                     "Microsoft.MachineLearningServices/workspaces"):
            api.json("GET", f"{PROVIDERS}/{path}", {"value": []})
        report = smoke.run_smoke(s, outputs, factory(api))
    found = {(r.check, r.resource.split(" ")[0]): (r.found, r.status) for r in report.results}
    assert found[("bucket exists", "artifacts")] == ("no such storage account", FAIL)
    assert found[("registry exists", outputs["registry_url"])] == ("not found", FAIL)
    assert found[("cluster status", "ops-dev")] == ("not found", FAIL)
    assert found[("endpoint status", "chat")] == ("not found", FAIL)
    assert found[("endpoint request", "chat")] == ("-", SKIP)


def test_no_credentials_exits_2(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    from azure.core.exceptions import ClientAuthenticationError
    from azure.identity import DefaultAzureCredential

    def unavailable(self: Any, *scopes: str, **kwargs: Any) -> Any:
        raise ClientAuthenticationError("DefaultAzureCredential failed to retrieve a token from the included credentials.")

    monkeypatch.setattr(DefaultAzureCredential, "get_token", unavailable)
    code, out, err = run_cli(["preflight", "--config", str(FIXTURE)], None, capsys)
    assert (code, out) == (2, "")
    assert err.startswith("error: no Azure credentials found (run `az login`")


def test_ml_family_names_match_the_usages_reference() -> None:
    # Compute's SKU family -> Machine Learning's usage name (examples/Usage/list.json: "Standard DSv2 Family Cluster Dedicated vCPUs").
    assert preflight.ml_family_quota_name("standardDSv2Family") == "Standard DSv2 Family Cluster Dedicated vCPUs"
    assert preflight.ml_family_quota_name("standardNCASv3_T4Family") == "Standard NCASv3_T4 Family Cluster Dedicated vCPUs"


# --- the Azure Cosmos DB principal and the workspace key (issue 13) -------------------


def cosmos_rows(report: Any) -> list[tuple[str, str, str, str]]:
    return [(f.where, f.allowed, f.status, f.detail) for f in report.findings if f.check == "workspace key access"]


def test_cosmos_db_principal_with_the_key_role_passes() -> None:
    credential = Credential()
    with serve(healthy(FakeApi())) as api:
        report = preflight.run_preflight(spec(), factory(api, credential))
        listing = next(c for c in api.calls if c.path.endswith("/roleAssignments"))
    assert cosmos_rows(report) == [(f"/subscriptions/{SUB}", "granted", OK, f"object {COSMOS_OID}")]
    assert listing.query["$filter"] == [f"principalId eq '{COSMOS_OID}'"]
    assert listing.query["api-version"] == ["2022-04-01"]
    assert ("https://graph.microsoft.com/.default",) in credential.scopes


@pytest.mark.parametrize("assignments", [
    [],
    # The right role somewhere else, and another role on the subscription: neither helps.
    [cosmos_assignment(f"/subscriptions/{SUB}/resourceGroups/other-rg"),
     cosmos_assignment(f"/subscriptions/{SUB}", role="12338af0-0e69-4776-bea7-57ae8d297424")],
])
def test_cosmos_db_principal_without_the_key_role_fails_with_the_grant(assignments: list[dict[str, Any]]) -> None:
    with serve(healthy(FakeApi(), cosmos_assignments=assignments)) as api:
        report = preflight.run_preflight(spec(), factory(api))
    ((where, allowed, status, detail),) = cosmos_rows(report)
    assert (where, allowed, status) == (f"/subscriptions/{SUB}", "not granted", FAIL)
    assert detail.endswith(f"az role assignment create --assignee-object-id {COSMOS_OID} --assignee-principal-type ServicePrincipal "
                           f"--role \"Key Vault Crypto Service Encryption User\" --scope /subscriptions/{SUB}")


def test_a_grant_on_the_stack_resource_group_counts() -> None:
    with serve(healthy(FakeApi(), cosmos_assignments=[cosmos_assignment(f"/subscriptions/{SUB}/resourceGroups/{RG}")])) as api:
        report = preflight.run_preflight(spec(), factory(api))
    assert [r[1:3] for r in cosmos_rows(report)] == [("granted", OK)]


# --- endpoint images (issue 13) -----------------------------------------------------


def image_rows(report: Any) -> list[tuple[str, str, str]]:
    return [(f.subject.split(":", 1)[0], f.allowed, f.status) for f in report.findings if f.check == "endpoint image"]


def test_images_pushed_to_the_stack_registry_pass() -> None:
    with serve(healthy(FakeApi())) as api:
        report = preflight.run_preflight(spec(), factory(api))
        exchange = next(c for c in api.calls if c.path.endswith("/oauth2/exchange"))
        manifest = next(c for c in api.calls if "/manifests/" in c.path)
    assert image_rows(report) == [("endpoint chat", "pushed", OK), ("endpoint scorer", "pushed", OK)]
    assert b"grant_type=access_token" in exchange.body and b"service=opsdevacrac5212e0.azurecr.io" in exchange.body
    assert manifest.headers["Authorization"] == "Bearer acr-access"


def test_an_unpushed_tag_fails_and_a_missing_registry_warns() -> None:
    with serve(healthy(FakeApi(), pushed=("chat-1.0.0",))) as api:
        report = preflight.run_preflight(spec(), factory(api))
    assert image_rows(report) == [("endpoint chat", "pushed", OK), ("endpoint scorer", "not found", FAIL)]
    # Before phase 1 the stack's registry does not exist: one warn line per image, the run passes.
    with serve(healthy(FakeApi(), registry=False)) as api:
        report = preflight.run_preflight(spec(), factory(api))
    assert image_rows(report) == [("endpoint chat", "no registry yet", "warn"), ("endpoint scorer", "no registry yet", "warn")]
    assert report.ok
    row = next(f for f in report.findings if f.check == "endpoint image")
    assert row.detail == ("opsdevacrac5212e0.azurecr.io does not exist yet: phase 1 (deployEndpoints: false) creates it; push the image, "
                          "then run preflight again before phase 2 (docs/first-apply.md)")


def test_model_artifacts_are_one_unchecked_warning_each_and_outputs_are_accepted() -> None:
    # The storage data plane is private (and needs a data role): preflight says so per endpoint.
    with serve(healthy(FakeApi())) as api:
        report = preflight.run_preflight(spec(), factory(api), outputs={"bucket_uris": {}})
    assert [(f.subject.split(":", 1)[0], f.allowed, f.status) for f in report.findings if f.check == "model artifact"] == [
        ("endpoint chat", "not checked", WARN), ("endpoint scorer", "not checked", WARN)]
    assert image_rows(report) == [("endpoint chat", "pushed", OK), ("endpoint scorer", "pushed", OK)]


def test_an_image_in_another_registry_and_a_public_one_warn() -> None:
    doc = json.loads(json.dumps(read_stack_file(FIXTURE).raw_spec))
    doc["endpoints"][0]["model"]["image"] = "mlopsdevacr0123abcd.azurecr.io/mlops-dev/serving:sentiment-1.0.0"
    doc["endpoints"][1]["model"]["image"] = "mcr.microsoft.com/azureml/minimal-ubuntu22.04-py39-cpu-inference:latest"
    with serve(healthy(FakeApi())) as api:
        report = preflight.run_preflight(load_spec(doc), factory(api))
    assert image_rows(report) == [("endpoint chat", "mlopsdevacr0123abcd.azurecr.io", "warn"), ("endpoint scorer", "mcr.microsoft.com", "warn")]
    assert report.ok


def test_the_dev_example_image_is_outside_its_stack_registry() -> None:
    # The example points at a registry that is not the one the stack creates: preflight says so.
    from mlops_stack.azure.preflight import split_image

    example = load_spec(read_stack_file(ROOT / "stacks" / "Pulumi.dev-azure.yaml").raw_spec)
    assert split_image(example.endpoints[0].model.image) == ("mlopsdevacr0123abcd.azurecr.io", "mlops-dev/serving", "sentiment-1.0.0")
    assert split_image("r.azurecr.io/a/b@sha256:" + "0" * 64)[2] == "sha256:" + "0" * 64


# --- issue 26: providers, keys after the first apply -----------------------------------


def test_a_fresh_subscription_needs_every_provider_the_stack_reaches() -> None:
    # The ops fixture: AKS (Azure Policy add-on), a CMK workspace (Cosmos DB + AI Search in
    # Azure ML's managed resource group), no Defender, no self-hosted tracking.
    assert preflight.required_providers(spec()) == [
        "Microsoft.Authorization", "Microsoft.Compute", "Microsoft.ContainerRegistry", "Microsoft.ContainerService", "Microsoft.DocumentDB",
        "Microsoft.Insights", "Microsoft.KeyVault", "Microsoft.MachineLearningServices", "Microsoft.ManagedIdentity", "Microsoft.Network",
        "Microsoft.OperationalInsights", "Microsoft.PolicyInsights", "Microsoft.Search", "Microsoft.Storage",
    ]
    doc = json.loads(json.dumps(read_stack_file(FIXTURE).raw_spec))
    doc["azure"]["defenderForContainers"] = True
    doc["tracking"] = {"enabled": True, "mode": "self-hosted"}
    extra = set(preflight.required_providers(load_spec(doc))) - set(preflight.required_providers(spec()))
    assert extra == {"Microsoft.Security", "Microsoft.DBforPostgreSQL"}


VAULT = "opsdevkvac5212e0"


def arm_key(name: str, kty: str = "RSA", size: int = 3072, ops: tuple[str, ...] = ("wrapKey", "unwrapKey"), days: int = 365) -> dict[str, Any]:
    """Keys - Get (Microsoft.KeyVault 2024-11-01) response."""
    return {"id": f"/subscriptions/{SUB}/resourceGroups/{RG}/providers/Microsoft.KeyVault/vaults/{VAULT}/keys/{name}", "name": name,
            "type": "Microsoft.KeyVault/vaults/keys", "properties": {
                "kty": kty, "keySize": size, "keyOps": list(ops), "attributes": {"enabled": True},
                "keyUri": f"https://{VAULT}.vault.azure.net/keys/{name}",
                "rotationPolicy": {"attributes": {"expiryTime": f"P{days + 90}D"}, "lifetimeActions": [
                    {"trigger": {"timeAfterCreate": f"P{days}D"}, "action": {"type": "rotate"}},
                    {"trigger": {"timeBeforeExpiry": "P30D"}, "action": {"type": "notify"}}]}}}


def key_rows(report: Any) -> list[tuple[str, str, str]]:
    return [(f.subject, f.allowed, f.status) for f in report.findings if f.check == "key properties"]


def test_keys_changed_after_creation_fail_with_the_command() -> None:
    from mlops_stack.azure._naming import key_vault_name, resource_group_id

    assert key_vault_name("ops-dev", resource_group_id(SUB, RG)) == VAULT
    keys = f"/subscriptions/{SUB}/resourceGroups/{RG}/providers/Microsoft.KeyVault/vaults/{VAULT}/keys"
    with serve(healthy(FakeApi())) as api:
        assert key_rows(preflight.run_preflight(spec(), factory(api))) == []  # no vault yet: nothing to compare
        api.json("GET", f"{keys}/ops-dev-cmk", arm_key("ops-dev-cmk"))
        api.json("GET", f"{keys}/ops-dev-etcd", arm_key("ops-dev-etcd", ops=("encrypt", "decrypt"), days=180))
        report = preflight.run_preflight(spec(), factory(api))
        call = next(c for c in api.calls if c.path.endswith("/keys/ops-dev-cmk"))
    assert call.query["api-version"] == ["2024-11-01"]
    assert key_rows(report) == [("key ops-dev-cmk", "as in the spec", OK), ("key ops-dev-etcd", "rotate: P180D -> P365D; expiry: P270D -> P455D", FAIL)]
    (failed,) = report.failed
    assert failed.detail == (f"keys are created once (ARM never updates them): apply the rotation policy with az keyvault key rotation-policy "
                             f"update --vault-name {VAULT} --name ops-dev-etcd --value <policy.json> (docs/azure.md, keys after the first apply)")


def test_a_missing_tag_only_warns_in_phase_1() -> None:
    # deployEndpoints: false (phase 1 of the first apply) creates no endpoint: a missing
    # image is a warning then, a failure once the endpoints are deployed.
    phase1 = spec().model_copy(update={"deploy_endpoints": False})
    with serve(healthy(FakeApi(), pushed=("chat-1.0.0",))) as api:
        report = preflight.run_preflight(phase1, factory(api))
    assert image_rows(report) == [("endpoint chat", "pushed", OK), ("endpoint scorer", "not found", "warn")]


def test_in_prod_an_image_outside_the_stack_registry_fails() -> None:
    # Review of issue 26: prod's workspace managed network allows approved outbound only, and
    # its automatic rules reach the stack's own registry, so an image elsewhere cannot be pulled.
    doc = json.loads(json.dumps(read_stack_file(FIXTURE).raw_spec))
    doc["environment"] = "prod"
    for ep in doc["endpoints"]:
        ep["minInstances"] = max(2, ep.get("minInstances", 1))
        ep["maxInstances"] = max(ep["minInstances"], ep.get("maxInstances", 1))
    doc["endpoints"][0]["model"]["image"] = "mlopsdevacr0123abcd.azurecr.io/mlops-dev/serving:sentiment-1.0.0"
    with serve(healthy(FakeApi())) as api:
        report = preflight.run_preflight(load_spec(doc), factory(api))
    # Both fixture images name another registry than prod's (the scorer's is the dev stack's).
    failed = [f for f in report.failed if f.check == "endpoint image"]
    assert [(f.subject.split(":", 1)[0], f.status) for f in failed] == [("endpoint chat", FAIL), ("endpoint scorer", FAIL)]
    row = failed[0]
    assert row.allowed == "mlopsdevacr0123abcd.azurecr.io"
    assert row.detail.startswith("not the stack's registry: prod's managed network (AllowOnlyApprovedOutbound) reaches only ")
    assert "az acr import --name " in row.detail
