"""The dev-azure and prod-azure plans contain every resource of the Azure environment,
with the inputs a security reviewer checks: exact types, counts and wire-level inputs
(camelCase, as the engine recorded them)."""

from __future__ import annotations

import pytest

from planning import plan_example
from mlops_stack.azure._naming import (
    ROLE_ACR_PULL,
    ROLE_AKS_RBAC_CLUSTER_ADMIN,
    ROLE_KV_CRYPTO_SERVICE_ENCRYPTION_USER,
    ROLE_MANAGED_IDENTITY_OPERATOR,
    ROLE_NETWORK_CONTRIBUTOR,
    ROLE_STORAGE_BLOB_DATA_CONTRIBUTOR,
    ROLE_STORAGE_BLOB_DATA_READER,
)
from mlops_stack.offline.engine import SECRET, Plan, Registration

AZ = "azure-native:"


def dev() -> Plan:
    return plan_example("dev-azure")


def prod() -> Plan:
    return plan_example("prod-azure")


def plans() -> list[Plan]:
    return [dev(), prod()]


def one(plan: Plan, type_: str) -> Registration:
    return plan.one(AZ + type_)


def all_of(plan: Plan, type_: str) -> list[Registration]:
    return plan.of_type(AZ + type_)


def by_name(plan: Plan, type_: str, name: str) -> Registration:
    return plan.one(AZ + type_, name)


def cmk_key(plan: Plan) -> Registration:
    return by_name(plan, "keyvault:Key", "mlops-keys-cmk")


def etcd_key(plan: Plan) -> Registration:
    return by_name(plan, "keyvault:Key", "mlops-keys-etcd-key")


# --- counts per type ---------------------------------------------------------------

COMMON = {
    "resources:ResourceGroup": 1,
    "network:VirtualNetwork": 1,
    "network:Subnet": 3,  # nodes, private endpoints, AKS API server (delegated)
    "network:NetworkSecurityGroup": 2,
    "network:PublicIPAddress": 1,
    "network:NatGateway": 1,
    "keyvault:Vault": 1,
    "keyvault:Key": 2,  # CMK (wrap/unwrap), etcd (AKS KMS: encrypt/decrypt)
    # CMK, AKS control plane, kubelet, one endpoint
    "managedidentity:UserAssignedIdentity": 4,
    # CMK crypto user; control plane: node + API server subnets, identity operator, KMS
    # crypto user + vault contributor, disk encryption set contributor; kubelet AcrPull;
    # deployer cluster admin; endpoint: blob reader + AcrPull
    "authorization:RoleAssignment": 11,
    "storage:StorageAccount": 1,
    "storage:BlobServiceProperties": 1,
    "storage:ManagementPolicy": 1,
    "storage:BlobContainer": 3,
    "containerregistry:Registry": 1,
    "containerservice:ManagedCluster": 1,
    "containerservice:AgentPool": 3,  # general + two GPU pools
    "compute:DiskEncryptionSet": 1,
    "monitor:DataCollectionRule": 1,  # Container Insights
    "monitor:DataCollectionRuleAssociation": 1,
    "operationalinsights:Workspace": 1,
    "applicationinsights:Component": 1,
    "machinelearningservices:Workspace": 1,
    "machinelearningservices:Registry": 1,
    "machinelearningservices:Datastore": 3,
    "machinelearningservices:ModelVersion": 1,
    "machinelearningservices:EnvironmentVersion": 1,
    "machinelearningservices:OnlineEndpoint": 1,
    "machinelearningservices:OnlineDeployment": 1,
    "resources:Deployment": 1,  # the traffic assignment
    "monitor:AutoscaleSetting": 1,
}
PRIVATE_ONLY = {
    "security:Pricing": 1,  # prod-azure opts in to Defender for Containers (azure.defenderForContainers)
    "network:PrivateEndpoint": 4,  # vault, blob, registry, workspace
    "network:PrivateDnsZoneGroup": 4,
    "privatedns:PrivateZone": 5,
    "privatedns:VirtualNetworkLink": 5,
    "machinelearningservices:ManagedNetworkSettingsRule": 1,  # approved outbound to the Azure ML registry
}
COMPONENTS = {
    "mlops:azure:Network": 1,
    "mlops:azure:Keys": 1,
    "mlops:azure:ArtifactStore": 1,
    "mlops:azure:ContainerRegistry": 1,
    "mlops:azure:ModelRegistry": 1,
    "mlops:azure:KubernetesCluster": 1,
    "mlops:azure:GpuNodePool": 2,
    "mlops:azure:ModelEndpoint": 1,
}


def azure_counts(plan: Plan) -> dict[str, int]:
    return {t.removeprefix(AZ): c for t, c in plan.type_counts().items() if t.startswith(AZ)}


def test_dev_counts_exactly() -> None:
    # dev-azure's cluster endpoint (runsOn: cluster): its WorkloadIdentity's managed identity,
    # federated credential and blob reader assignment on the model prefix.
    expected = {**COMMON, "managedidentity:FederatedIdentityCredential": 1}
    expected["managedidentity:UserAssignedIdentity"] += 1
    expected["authorization:RoleAssignment"] += 1
    assert azure_counts(dev()) == expected


def test_prod_counts_exactly() -> None:
    # prod's endpoint captures data: its identity also writes blobs (Storage Blob Data Contributor);
    # the workspace identity reads the storage private endpoint (Reader, issue 26).
    expected = {**COMMON, **PRIVATE_ONLY}
    expected["authorization:RoleAssignment"] += 2
    assert azure_counts(prod()) == expected


def test_workspace_identity_reads_the_storage_private_endpoint_in_prod() -> None:
    # Azure ML, "Network traffic flow when using a secured workspace": Reader on the storage
    # account's private endpoint for the workspace identity (studio data access).
    plan = prod()
    (pe,) = [p for p in all_of(plan, "network:PrivateEndpoint") if p.inputs["privateLinkServiceConnections"][0]["groupIds"] == ["blob"]]
    ws = one(plan, "machinelearningservices:Workspace")
    ra = by_name(plan, "authorization:RoleAssignment", "mlops-models-workspace-storage-pe-reader").inputs
    assert ra["scope"] == pe.id and ra["principalId"] == ws.outputs["identity"]["principalId"]
    assert ra["roleDefinitionId"].endswith("/roleDefinitions/acdd72a7-3385-48ef-bd42-f606fba81ae7")
    assert ra["principalType"] == "ServicePrincipal"
    assert not [r for r in all_of(dev(), "authorization:RoleAssignment") if r.name.endswith("-storage-pe-reader")]


@pytest.mark.parametrize("stack", ["dev-azure", "prod-azure"])
def test_components_and_single_provider(stack: str) -> None:
    plan = plan_example(stack)
    counts = plan.type_counts()
    assert {t: counts.get(t, 0) for t in COMPONENTS} == COMPONENTS
    assert counts["pulumi:providers:azure-native"] == 1
    assert not [t for t in counts if t.startswith(("aws:", "gcp:", "mlops:aws:", "mlops:gcp:"))]


# --- network -------------------------------------------------------------------------


def test_resource_group_and_vnet_layout() -> None:
    plan = dev()
    rg = one(plan, "resources:ResourceGroup")
    assert rg.inputs["resourceGroupName"] == "mlops-dev-rg"
    assert rg.inputs["location"] == "eastus"
    assert one(plan, "network:VirtualNetwork").inputs["addressSpace"] == {"addressPrefixes": ["10.20.0.0/16"]}
    subnets = {r.name: r.inputs for r in all_of(plan, "network:Subnet")}
    assert subnets["mlops-network-nodes"]["addressPrefix"] == "10.20.0.0/17"
    assert subnets["mlops-network-endpoints"]["addressPrefix"] == "10.20.128.0/20"
    assert subnets["mlops-network-endpoints"]["privateEndpointNetworkPolicies"] == "Enabled"
    for s in subnets.values():
        assert s["defaultOutboundAccess"] is False
        assert s["networkSecurityGroup"]["id"].startswith("/subscriptions/")
    nat = one(plan, "network:NatGateway")
    assert subnets["mlops-network-nodes"]["natGateway"] == {"id": nat.id}


def test_endpoint_nsg_allows_only_https_from_the_vnet() -> None:
    rules = by_name(dev(), "network:NetworkSecurityGroup", "mlops-network-endpoints-nsg").inputs["securityRules"]
    assert [(r["access"], r["direction"], r.get("destinationPortRanges") or r["destinationPortRange"], r["sourceAddressPrefix"], r["priority"])
            for r in rules] == [
        ("Allow", "Inbound", ["443", "5432"], "10.20.0.0/16", 100),  # HTTPS, and the self-hosted tracking's PostgreSQL
        ("Deny", "Inbound", "*", "*", 4000),
    ]
    assert by_name(dev(), "network:NetworkSecurityGroup", "mlops-network-nodes-nsg").inputs["securityRules"] == []


def test_private_endpoints_in_prod_only_with_dns_zones() -> None:
    assert not all_of(dev(), "network:PrivateEndpoint")
    pes = all_of(prod(), "network:PrivateEndpoint")
    groups = sorted(g for pe in pes for c in pe.inputs["privateLinkServiceConnections"] for g in c["groupIds"])
    assert groups == ["amlworkspace", "blob", "registry", "vault"]
    zones = sorted(z.inputs["privateZoneName"] for z in all_of(prod(), "privatedns:PrivateZone"))
    assert zones == [
        "privatelink.api.azureml.ms",
        "privatelink.azurecr.io",
        "privatelink.blob.core.windows.net",
        "privatelink.notebooks.azure.net",
        "privatelink.vaultcore.azure.net",
    ]
    endpoint_subnet = by_name(prod(), "network:Subnet", "mlops-network-endpoints").id
    assert {pe.inputs["subnet"]["id"] for pe in pes} == {endpoint_subnet}
    ws_dns = by_name(prod(), "network:PrivateDnsZoneGroup", "mlops-models-workspace-pe-dns").inputs["privateDnsZoneConfigs"]
    assert len(ws_dns) == 2


# --- keys ------------------------------------------------------------------------------


@pytest.mark.parametrize("stack,sku,kty,days", [("dev-azure", "standard", "RSA", 30), ("prod-azure", "premium", "RSA-HSM", 30)])
def test_key_vault_rbac_purge_protected_default_deny(stack: str, sku: str, kty: str, days: int) -> None:
    plan = plan_example(stack)
    props = one(plan, "keyvault:Vault").inputs["properties"]
    assert props["enableRbacAuthorization"] is True
    assert props["enablePurgeProtection"] is True
    assert props["enableSoftDelete"] is True
    assert props["softDeleteRetentionInDays"] == days
    assert props["networkAcls"] == {"defaultAction": "Deny", "bypass": "AzureServices", "ipRules": [], "virtualNetworkRules": []}
    assert props["sku"] == {"family": "A", "name": sku}
    assert "accessPolicies" not in props
    key = cmk_key(plan).inputs["properties"]
    assert key["kty"] == kty and key["keySize"] == 3072 and key["keyOps"] == ["wrapKey", "unwrapKey"]
    etcd = etcd_key(plan).inputs
    assert etcd["keyName"] == f"mlops-{stack.split('-')[0]}-etcd"
    assert etcd["properties"]["kty"] == kty and etcd["properties"]["keyOps"] == ["encrypt", "decrypt"]
    assert etcd["properties"]["rotationPolicy"] == key["rotationPolicy"]
    assert key["rotationPolicy"] == {
        "attributes": {"expiryTime": "P455D"},
        "lifetimeActions": [
            {"action": {"type": "rotate"}, "trigger": {"timeAfterCreate": "P365D"}},
            {"action": {"type": "notify"}, "trigger": {"timeBeforeExpiry": "P30D"}},
        ],
    }


def test_cmk_identity_is_crypto_user_on_the_key_only() -> None:
    plan = prod()
    ra = by_name(plan, "authorization:RoleAssignment", "mlops-keys-cmk-identity-crypto").inputs
    assert ra["roleDefinitionId"].endswith("/" + ROLE_KV_CRYPTO_SERVICE_ENCRYPTION_USER)
    assert ra["scope"] == cmk_key(plan).id
    assert ra["principalId"] == by_name(plan, "managedidentity:UserAssignedIdentity", "mlops-keys-cmk-identity").outputs["principalId"]
    assert ra["principalType"] == "ServicePrincipal"


# --- storage ---------------------------------------------------------------------------


@pytest.mark.parametrize("stack", ["dev-azure", "prod-azure"])
def test_storage_account_is_hardened(stack: str) -> None:
    plan = plan_example(stack)
    acct = one(plan, "storage:StorageAccount").inputs
    assert acct["kind"] == "StorageV2"
    assert acct["enableHttpsTrafficOnly"] is True
    assert acct["minimumTlsVersion"] == "TLS1_2"
    assert acct["allowBlobPublicAccess"] is False
    assert acct["allowSharedKeyAccess"] is False
    assert acct["allowCrossTenantReplication"] is False
    assert acct["defaultToOAuthAuthentication"] is True
    enc = acct["encryption"]
    assert enc["requireInfrastructureEncryption"] is True
    assert enc["keySource"] == "Microsoft.Keyvault"
    vault_uri = one(plan, "keyvault:Vault").outputs["properties"]["vaultUri"]
    assert enc["keyVaultProperties"] == {"keyName": cmk_key(plan).outputs["name"], "keyVaultUri": vault_uri}
    cmk_identity = by_name(plan, "managedidentity:UserAssignedIdentity", "mlops-keys-cmk-identity").id
    assert enc["encryptionIdentity"] == {"encryptionUserAssignedIdentity": cmk_identity}
    assert acct["identity"]["type"] == "UserAssigned"
    name = acct["accountName"]
    assert 3 <= len(name) <= 24 and name.isalnum() and name == name.lower()


def test_storage_dev_lrs_public_prod_gzrs_private() -> None:
    d, p = one(dev(), "storage:StorageAccount").inputs, one(prod(), "storage:StorageAccount").inputs
    assert d["sku"] == {"name": "Standard_LRS"} and d["publicNetworkAccess"] == "Enabled"
    assert d["networkRuleSet"]["defaultAction"] == "Allow"
    assert p["sku"] == {"name": "Standard_GZRS"} and p["publicNetworkAccess"] == "Disabled"
    assert p["networkRuleSet"] == {"defaultAction": "Deny", "bypass": "AzureServices", "ipRules": [], "virtualNetworkRules": []}


@pytest.mark.parametrize("stack,days", [("dev-azure", 7), ("prod-azure", 30)])
def test_blob_versioning_soft_delete_and_change_feed(stack: str, days: int) -> None:
    svc = one(plan_example(stack), "storage:BlobServiceProperties").inputs
    assert svc["blobServicesName"] == "default"
    assert svc["isVersioningEnabled"] is True
    assert svc["deleteRetentionPolicy"] == {"enabled": True, "days": days, "allowPermanentDelete": False}
    assert svc["containerDeleteRetentionPolicy"] == {"enabled": True, "days": days}
    assert svc["changeFeed"] == {"enabled": True, "retentionInDays": 90}


def test_containers_are_the_spec_buckets_and_private() -> None:
    containers = {r.inputs["containerName"]: r.inputs for r in all_of(dev(), "storage:BlobContainer")}
    assert sorted(containers) == ["artifacts", "datasets", "models"]
    assert {c["publicAccess"] for c in containers.values()} == {"None"}


def test_lifecycle_expires_noncurrent_versions_per_container() -> None:
    rules = one(prod(), "storage:ManagementPolicy").inputs["policy"]["rules"]
    got = {
        r["definition"]["filters"]["prefixMatch"][0]: r["definition"]["actions"]["version"]["delete"]["daysAfterCreationGreaterThan"]
        for r in rules
    }
    assert got == {"artifacts/": 90, "models/": 365, "datasets/": 90}


def test_bucket_uris_are_blob_container_urls() -> None:
    plan = dev()
    acct = one(plan, "storage:StorageAccount").outputs["name"]
    assert plan.outputs["bucket_uris"] == {b: f"https://{acct}.blob.core.windows.net/{b}" for b in ("artifacts", "models", "datasets")}


# --- protection ------------------------------------------------------------------------

STATEFUL = [
    "resources:ResourceGroup",
    "keyvault:Vault",
    "storage:StorageAccount",
    "storage:BlobServiceProperties",
    "storage:ManagementPolicy",
    "storage:BlobContainer",
    "containerregistry:Registry",
    "machinelearningservices:Workspace",
    "machinelearningservices:Registry",
]


@pytest.mark.parametrize("type_", STATEFUL)
def test_stateful_resources_protected_and_retained_in_prod_only(type_: str) -> None:
    for r in all_of(prod(), type_):
        assert (r.protect, r.retain_on_delete) == (True, True), r.name
    for r in all_of(dev(), type_):
        assert (r.protect, r.retain_on_delete) == (False, False), r.name


def test_keys_are_always_retained_and_protected_in_prod_only() -> None:
    # dev destroy (issue 26): deleting a key goes through the vault's data plane, which the
    # vault firewall denies; retained keys leave the state and go with the vault.
    for plan, protect in ((prod(), True), (dev(), False)):
        keys = all_of(plan, "keyvault:Key")
        assert len(keys) == 2
        assert {(k.protect, k.retain_on_delete) for k in keys} == {(protect, True)}


def test_nothing_else_is_protected() -> None:
    stateful = {AZ + t for t in STATEFUL} | {AZ + "keyvault:Key"}
    assert not [r.name for r in prod().resources if r.protect and r.type not in stateful]


# --- container registry ----------------------------------------------------------------


def test_registry_admin_and_anonymous_pull_off() -> None:
    for plan in plans():
        acr = one(plan, "containerregistry:Registry").inputs
        assert acr["adminUserEnabled"] is False
        assert acr["anonymousPullEnabled"] is False
        assert acr["networkRuleBypassOptions"] == "AzureServices"


def test_registry_basic_in_dev_premium_private_zone_redundant_in_prod() -> None:
    d = one(dev(), "containerregistry:Registry").inputs
    assert d["sku"] == {"name": "Basic"} and d["zoneRedundancy"] == "Disabled" and "policies" not in d
    p = one(prod(), "containerregistry:Registry").inputs
    assert p["sku"] == {"name": "Premium"}
    assert p["zoneRedundancy"] == "Enabled"
    assert p["publicNetworkAccess"] == "Disabled"
    assert p["networkRuleSet"] == {"defaultAction": "Deny", "ipRules": []}
    assert p["policies"] == {"retentionPolicy": {"days": 14, "status": "enabled"}, "exportPolicy": {"status": "disabled"}}
    # No customer-managed key on ACR: with a firewalled vault, creation would fail (registry.py).
    assert "encryption" not in p and "identity" not in p


def test_repository_urls_map_to_the_login_server() -> None:
    plan = dev()
    server = one(plan, "containerregistry:Registry").outputs["loginServer"]
    assert plan.outputs["registry_url"] == server
    assert plan.outputs["repository_urls"] == {r: f"{server}/mlops-dev/{r}" for r in ("training", "serving")}


# --- cluster ---------------------------------------------------------------------------


def aks(plan: Plan) -> dict:
    return one(plan, "containerservice:ManagedCluster").inputs


@pytest.mark.parametrize("stack", ["dev-azure", "prod-azure"])
def test_aks_identity_access_and_network(stack: str) -> None:
    c = aks(plan_example(stack))
    assert c["oidcIssuerProfile"] == {"enabled": True}
    assert c["securityProfile"]["workloadIdentity"] == {"enabled": True}
    assert c["aadProfile"]["managed"] is True
    assert c["aadProfile"]["enableAzureRBAC"] is True
    assert c["aadProfile"]["adminGroupObjectIDs"] == ["5b2f3f0e-6a4d-4c1e-9a7b-2d3c4e5f6a7b"]
    assert c["disableLocalAccounts"] is True
    assert c["enableRBAC"] is True
    assert c["identity"]["type"] == "UserAssigned"
    assert set(c["identityProfile"]) == {"kubeletidentity"}
    net = c["networkProfile"]
    assert (net["networkPlugin"], net["networkPluginMode"], net["networkPolicy"], net["networkDataplane"]) == ("azure", "overlay", "cilium", "cilium")
    assert net["outboundType"] == "userAssignedNATGateway"
    assert (net["podCidr"], net["serviceCidr"], net["dnsServiceIP"]) == ("10.244.0.0/16", "172.16.0.0/16", "172.16.0.10")
    assert c["autoUpgradeProfile"] == {"upgradeChannel": "patch", "nodeOSUpgradeChannel": "NodeImage"}
    assert c["kubernetesVersion"] == "1.35"
    assert c["addonProfiles"]["azurepolicy"] == {"enabled": True}


def test_api_server_authorized_ranges_in_dev_private_in_prod() -> None:
    assert aks(dev())["apiServerAccessProfile"] == {
        "enablePrivateCluster": False,
        "authorizedIPRanges": ["203.0.113.0/24"],
        "disableRunCommand": True,
        "enableVnetIntegration": True,
        "subnetId": by_name(dev(), "network:Subnet", "mlops-network-apiserver").id,
    }
    assert aks(prod())["apiServerAccessProfile"]["enablePrivateCluster"] is True
    assert "authorizedIPRanges" not in aks(prod())["apiServerAccessProfile"]
    assert ".privatelink." in prod().outputs["endpoint"]


@pytest.mark.parametrize("stack,vm,lo,hi,zones,tier", [
    ("dev-azure", "Standard_D2s_v5", 2, 3, None, "Free"),
    ("prod-azure", "Standard_D4s_v5", 3, 6, ["1", "2", "3"], "Standard"),
])
def test_system_pool_tainted_critical_addons_only(stack: str, vm: str, lo: int, hi: int, zones: list | None, tier: str) -> None:
    c = aks(plan_example(stack))
    (pool,) = c["agentPoolProfiles"]
    assert pool["name"] == "system" and pool["mode"] == "System"
    assert pool["nodeTaints"] == ["CriticalAddonsOnly=true:NoSchedule"]
    assert (pool["vmSize"], pool["minCount"], pool["maxCount"], pool["enableAutoScaling"]) == (vm, lo, hi, True)
    assert pool.get("availabilityZones") == zones
    assert pool["enableNodePublicIP"] is False
    assert c["sku"] == {"name": "Base", "tier": tier}


def test_general_pool_is_untainted() -> None:
    general = by_name(dev(), "containerservice:AgentPool", "mlops-cluster-general").inputs
    assert general["mode"] == "User" and "nodeTaints" not in general
    assert (general["minCount"], general["maxCount"]) == (1, 3)


def role_assignments(plan: Plan, role: str) -> list[dict]:
    return [r.inputs for r in all_of(plan, "authorization:RoleAssignment") if r.inputs["roleDefinitionId"].endswith("/" + role)]


def test_kubelet_identity_pulls_from_the_registry() -> None:
    for plan in plans():
        kubelet = by_name(plan, "managedidentity:UserAssignedIdentity", "mlops-cluster-kubelet-identity")
        acr_id = one(plan, "containerregistry:Registry").id
        pulls = role_assignments(plan, ROLE_ACR_PULL)
        assert {"scope": acr_id, "principalId": kubelet.outputs["principalId"]} in [
            {"scope": p["scope"], "principalId": p["principalId"]} for p in pulls
        ]
        sub = "00000000-0000-4000-8000-000000000000"
        assert pulls[0]["roleDefinitionId"] == f"/subscriptions/{sub}/providers/Microsoft.Authorization/roleDefinitions/{ROLE_ACR_PULL}"
        assert aks(plan)["identityProfile"]["kubeletidentity"]["resourceId"] == kubelet.id


def test_control_plane_identity_roles_are_scoped() -> None:
    plan = dev()
    control = by_name(plan, "managedidentity:UserAssignedIdentity", "mlops-cluster-control-plane-identity").outputs["principalId"]
    nets = role_assignments(plan, ROLE_NETWORK_CONTRIBUTOR)
    assert sorted(n["scope"] for n in nets) == sorted(
        by_name(plan, "network:Subnet", f"mlops-network-{s}").id for s in ("nodes", "apiserver")
    )
    assert {n["principalId"] for n in nets} == {control}
    (op,) = role_assignments(plan, ROLE_MANAGED_IDENTITY_OPERATOR)
    assert op["scope"] == by_name(plan, "managedidentity:UserAssignedIdentity", "mlops-cluster-kubelet-identity").id
    (admin,) = role_assignments(plan, ROLE_AKS_RBAC_CLUSTER_ADMIN)
    assert admin["scope"] == one(plan, "containerservice:ManagedCluster").id


def test_no_role_is_assigned_at_subscription_or_group_scope() -> None:
    for plan in plans():
        for r in all_of(plan, "authorization:RoleAssignment"):
            assert "/providers/" in r.inputs["scope"], r.name


def test_kubeconfig_is_secret_and_outputs_are_common() -> None:
    for plan in plans():
        assert plan.outputs["kubeconfig"] == SECRET
        assert plan.outputs["oidc_issuer"].startswith("https://eastus.oic.prod-aks.azure.com/")
        assert plan.outputs["cluster_name"] == aks(plan)["resourceName"]
    assert dev().outputs["endpoint"].endswith(".hcp.eastus.azmk8s.io:443")


# --- GPU pools ---------------------------------------------------------------------------


@pytest.mark.parametrize("stack,pool,vm,lo,hi,spot", [
    ("dev-azure", "train", "Standard_NV36ads_A10_v5", 0, 4, True),
    ("dev-azure", "infer", "Standard_NC4as_T4_v3", 0, 2, False),
    ("prod-azure", "train", "Standard_ND96asr_v4", 0, 2, False),
    ("prod-azure", "infer", "Standard_NC4as_T4_v3", 2, 8, False),
])
def test_gpu_pools(stack: str, pool: str, vm: str, lo: int, hi: int, spot: bool) -> None:
    plan = plan_example(stack)
    ap = by_name(plan, "containerservice:AgentPool", f"mlops-gpu-{pool}-pool")
    i = ap.inputs
    assert (i["agentPoolName"], i["mode"], i["vmSize"], i["osSKU"]) == (pool, "User", vm, "Ubuntu")
    assert (i["enableAutoScaling"], i["minCount"], i["maxCount"], i["count"]) == (True, lo, hi, lo)
    assert i["nodeTaints"][0] == "nvidia.com/gpu=true:NoSchedule"
    assert i["nodeLabels"]["mlops-stack/pool"] == pool and i["nodeLabels"]["mlops-stack/accelerator"] == "nvidia"
    assert i["gpuProfile"] == {"driver": "Install"}
    assert i["resourceName"] == aks(plan)["resourceName"]
    assert i["vnetSubnetID"] == by_name(plan, "network:Subnet", "mlops-network-nodes").id
    assert ap.ignore_changes == ["count"]
    if spot:
        assert (i["scaleSetPriority"], i["scaleSetEvictionPolicy"], i["spotMaxPrice"]) == ("Spot", "Delete", -1)
        assert i["nodeTaints"] == ["nvidia.com/gpu=true:NoSchedule", "kubernetes.azure.com/scalesetpriority=spot:NoSchedule"]
    else:
        assert i["scaleSetPriority"] == "Regular" and "scaleSetEvictionPolicy" not in i
    out = plan.outputs["gpu_pools"][pool]
    assert (out["instance_type"], out["min_nodes"], out["max_nodes"]) == (vm, lo, hi)


def test_cluster_tells_the_k8s_layer_about_the_device_plugin_and_storage_class() -> None:
    from mlops_stack.azure.cluster import chart_overrides, storage_class
    from mlops_stack.args import Env

    assert chart_overrides("cloud") == {}
    assert chart_overrides("operator") == {"gpu-operator": {"driver": {"enabled": True}, "toolkit": {"enabled": True}}}
    assert storage_class(Env(region="eastus", environment="prod"))["parameters"]["skuName"] == "Premium_ZRS"
    sc = [r for r in dev().resources if r.type == "kubernetes:storage.k8s.io/v1:StorageClass"]
    assert sc and sc[0].inputs["provisioner"] == "disk.csi.azure.com"


# --- Azure ML ---------------------------------------------------------------------------


@pytest.mark.parametrize("stack,access", [("dev-azure", "Enabled"), ("prod-azure", "Disabled")])
def test_workspace_is_wired_to_the_stack(stack: str, access: str) -> None:
    plan = plan_example(stack)
    ws = one(plan, "machinelearningservices:Workspace").inputs
    assert ws["storageAccount"] == one(plan, "storage:StorageAccount").id
    assert ws["keyVault"] == one(plan, "keyvault:Vault").id
    assert ws["containerRegistry"] == one(plan, "containerregistry:Registry").id
    assert ws["applicationInsights"] == one(plan, "applicationinsights:Component").id
    cmk_identity = by_name(plan, "managedidentity:UserAssignedIdentity", "mlops-keys-cmk-identity").id
    assert ws["identity"] == {"type": "SystemAssigned,UserAssigned", "userAssignedIdentities": [cmk_identity]}
    assert "primaryUserAssignedIdentity" not in ws  # the system identity stays primary (datastores)
    assert ws["publicNetworkAccess"] == access
    assert ws["systemDatastoresAuthMode"] == "identity"
    insights = one(plan, "applicationinsights:Component").inputs
    assert insights["workspaceResourceId"] == one(plan, "operationalinsights:Workspace").id
    for ds in all_of(plan, "machinelearningservices:Datastore"):
        assert ds.inputs["properties"]["credentials"] == {"credentialsType": "None"}


def test_managed_network_in_prod_only() -> None:
    assert "managedNetwork" not in one(dev(), "machinelearningservices:Workspace").inputs
    ws = one(prod(), "machinelearningservices:Workspace").inputs
    assert ws["managedNetwork"]["isolationMode"] == "AllowOnlyApprovedOutbound"
    assert ws["provisionNetworkNow"] is True  # the network exists before the first deployment
    assert "provisionNetworkNow" not in one(dev(), "machinelearningservices:Workspace").inputs


def test_model_registry_is_an_azure_ml_registry() -> None:
    for plan in plans():
        reg = one(plan, "machinelearningservices:Registry")
        assert plan.outputs["model_registry_id"] == reg.id
        assert "/providers/Microsoft.MachineLearningServices/registries/" in reg.id
        (region,) = reg.inputs["regionDetails"]
        assert region["storageAccountDetails"][0]["systemCreatedStorageAccount"]["allowBlobPublicAccess"] is False


@pytest.mark.parametrize("stack,instance,lo,hi,access,metric", [
    ("dev-azure", "Standard_DS2_v2", 1, 2, "Enabled", "CpuUtilizationPercentage"),
    ("prod-azure", "Standard_NC4as_T4_v3", 2, 6, "Disabled", "GpuUtilizationPercentage"),
])
def test_online_endpoint_and_deployment(stack: str, instance: str, lo: int, hi: int, access: str, metric: str) -> None:
    plan = plan_example(stack)
    ep = one(plan, "machinelearningservices:OnlineEndpoint")
    assert ep.inputs["kind"] == "Managed"
    assert ep.inputs["properties"]["authMode"] == "AADToken"
    assert ep.inputs["properties"]["publicNetworkAccess"] == access
    identity = by_name(plan, "managedidentity:UserAssignedIdentity", "mlops-endpoint-sentiment-identity")
    assert ep.inputs["identity"] == {"type": "UserAssigned", "userAssignedIdentities": [identity.id]}
    assert ep.ignore_changes == ["properties.traffic"]
    name = ep.inputs["endpointName"]
    assert name.startswith("mlops-") and len(name) <= 32
    dep = one(plan, "machinelearningservices:OnlineDeployment").inputs
    props = dep["properties"]
    assert (props["endpointComputeType"], props["instanceType"]) == ("Managed", instance)
    assert props["model"] == one(plan, "machinelearningservices:ModelVersion").id
    assert props["environmentId"] == one(plan, "machinelearningservices:EnvironmentVersion").id
    assert props["scaleSettings"] == {"scaleType": "Default"}
    # Not sent at all (issue 26): the flag does not apply with a workspace managed network
    # (Azure ML, "Network traffic flow when using a secured workspace"); the SDK's default
    # "Enabled" is removed.
    assert "egressPublicNetworkAccess" not in props
    assert dep["sku"] == {"name": "Default", "capacity": lo}
    scale = one(plan, "monitor:AutoscaleSetting").inputs
    (profile,) = scale["profiles"]
    assert profile["capacity"] == {"minimum": str(lo), "maximum": str(hi), "default": str(lo)}
    assert {r["metricTrigger"]["metricName"] for r in profile["rules"]} == {metric}
    assert scale["targetResourceUri"] == one(plan, "machinelearningservices:OnlineDeployment").id
    out = plan.outputs["endpoints"]["sentiment"]
    assert out["endpoint_name"] == name
    assert out["invoke_url"] == f"https://{name}.eastus.inference.ml.azure.com/score"


def test_traffic_goes_100_percent_to_the_deployment_after_it_exists() -> None:
    plan = dev()
    traffic = one(plan, "resources:Deployment")
    (res,) = traffic.inputs["properties"]["template"]["resources"]
    ep = one(plan, "machinelearningservices:OnlineEndpoint")
    assert res["name"] == f"{one(plan, 'machinelearningservices:Workspace').outputs['name']}/{ep.outputs['name']}"
    assert res["properties"] == {"authMode": "AADToken", "publicNetworkAccess": "Enabled", "description": "mlops-stack sentiment",
                                 "traffic": {"primary": 100}}
    assert traffic.inputs["properties"]["mode"] == "Incremental"
    # The template re-states every input of the endpoint (a PUT replaces the whole endpoint:
    # a field left out is cleared, the next up writes the endpoint back without traffic).
    assert one(plan, "machinelearningservices:OnlineDeployment").urn in traffic.dependencies
    for each in (dev(), prod()):
        ep_in = one(each, "machinelearningservices:OnlineEndpoint").inputs
        (stated,) = one(each, "resources:Deployment").inputs["properties"]["template"]["resources"]
        assert {k: v for k, v in stated["properties"].items() if k != "traffic"} == ep_in["properties"]
        assert (stated["location"], stated["kind"], stated["tags"]) == (ep_in["location"], ep_in["kind"], ep_in["tags"])
        assert list(stated["identity"]["userAssignedIdentities"]) == ep_in["identity"]["userAssignedIdentities"]


def test_model_and_environment_come_from_the_spec() -> None:
    plan = dev()
    model = one(plan, "machinelearningservices:ModelVersion").inputs
    assert model["properties"]["modelUri"].endswith("/datastores/models/paths/sentiment/v1/model.tar.gz")
    assert model["properties"]["modelUri"].startswith("azureml://subscriptions/")
    env = one(plan, "machinelearningservices:EnvironmentVersion").inputs["properties"]
    assert env["image"] == "mlopsdevacr0123abcd.azurecr.io/mlops-dev/serving:sentiment-1.0.0"
    assert env["inferenceConfig"]["scoringRoute"] == {"path": "/invocations", "port": 8080}


def test_endpoint_identity_reads_the_workspace_storage_and_pulls_from_its_registry() -> None:
    # A user-assigned endpoint identity gets no automatic roles: Azure ML requires AcrPull on
    # the workspace registry and Storage Blob Data Reader on the workspace's default datastore
    # (a container Azure ML creates in the workspace storage account), so the reader role is
    # on the account (it also covers the model's container), granted before the deployment.
    for plan in plans():
        identity = by_name(plan, "managedidentity:UserAssignedIdentity", "mlops-endpoint-sentiment-identity").outputs["principalId"]
        mine = [r for r in all_of(plan, "authorization:RoleAssignment") if r.inputs["principalId"] == identity]
        account = one(plan, "storage:StorageAccount").id
        assert one(plan, "machinelearningservices:Workspace").inputs["storageAccount"] == account
        assert sorted((r.inputs["roleDefinitionId"].rsplit("/", 1)[1], r.inputs["scope"], r.inputs["principalType"]) for r in mine) == sorted(
            [
                (ROLE_STORAGE_BLOB_DATA_READER, account, "ServicePrincipal"),
                (ROLE_ACR_PULL, one(plan, "containerregistry:Registry").id, "ServicePrincipal"),
                # prod captures requests: data capture writes with the endpoint identity
                *([(ROLE_STORAGE_BLOB_DATA_CONTRIBUTOR, account, "ServicePrincipal")] if plan is prod() else []),
            ]
        )
        deployment = one(plan, "machinelearningservices:OnlineDeployment")
        assert {r.urn for r in mine} <= set(deployment.dependencies)


def test_prod_captures_requests_and_responses() -> None:
    dc = one(prod(), "machinelearningservices:OnlineDeployment").inputs["properties"]["dataCollector"]
    assert dc["collections"] == {
        "request": {"dataCollectionMode": "Enabled", "samplingRate": 0.2},
        "response": {"dataCollectionMode": "Enabled", "samplingRate": 0.2},
    }
    assert "dataCollector" not in one(dev(), "machinelearningservices:OnlineDeployment").inputs["properties"]


# --- tags --------------------------------------------------------------------------------

UNTAGGED = {
    "security:Pricing",  # a subscription setting, not a taggable resource
    "managedidentity:FederatedIdentityCredential",  # an identity sub-resource without tags (workload identity)
    "network:Subnet",
    "monitor:DataCollectionRuleAssociation",
    "authorization:RoleAssignment",
    "storage:BlobServiceProperties",
    "storage:ManagementPolicy",
    "machinelearningservices:ManagedNetworkSettingsRule",  # a workspace sub-resource without tags
    "storage:BlobContainer",
    "network:PrivateDnsZoneGroup",
    "resources:Deployment",
    "machinelearningservices:Datastore",
    "machinelearningservices:ModelVersion",
    "machinelearningservices:EnvironmentVersion",
}


@pytest.mark.parametrize("stack", ["dev-azure", "prod-azure"])
def test_every_taggable_resource_carries_owner_environment_and_cost_center(stack: str) -> None:
    plan = plan_example(stack)
    env = stack.split("-")[0]
    for r in plan.resources:
        if not r.type.startswith(AZ) or r.type.removeprefix(AZ) in UNTAGGED:
            continue
        tags = r.inputs.get("tags") or {}
        assert {k: tags.get(k) for k in ("owner", "cost-center", "environment", "managed-by")} == {
            "owner": "ml-platform",
            "cost-center": "ml-1234",
            "environment": env,
            "managed-by": "mlops-stack",
        }, r.name


# --- principal type of the identity running Pulumi ----------------------------------------


def test_deployer_cluster_admin_states_the_principal_type_of_the_identity_running_pulumi() -> None:
    # azure-native's RoleAssignment sends principalType "User" when given none; ARM rejects a
    # mismatch (UnmatchedPrincipalType), so the type is always chosen by us.
    from mlops_stack.azure._shared import deployer_principal_type

    for plan in plans():
        (admin,) = role_assignments(plan, ROLE_AKS_RBAC_CLUSTER_ADMIN)
        assert admin["principalType"] == deployer_principal_type()
        assert admin["principalId"] == "33333333-3333-4333-8333-333333333333"  # getClientConfig().objectId


@pytest.mark.parametrize("var", ["ARM_CLIENT_ID", "AZURE_CLIENT_ID", "ARM_USE_MSI", "ARM_USE_OIDC"])
def test_ci_sign_in_as_an_application_is_a_service_principal(monkeypatch: pytest.MonkeyPatch, var: str) -> None:
    from mlops_stack.azure._shared import _APP_LOGIN_ENV, deployer_principal_type

    for other in _APP_LOGIN_ENV:
        monkeypatch.delenv(other, raising=False)
    assert deployer_principal_type() == "User"
    monkeypatch.setenv(var, "false")
    assert deployer_principal_type() == "User"
    monkeypatch.setenv(var, "true" if var.startswith("ARM_USE") else "0b1c2d3e-0000-4000-8000-000000000000")
    assert deployer_principal_type() == "ServicePrincipal"
    assert deployer_principal_type("User") == "User"  # an explicit choice wins
    from mlops_stack.errors import ConfigError

    with pytest.raises(ConfigError) as err:
        deployer_principal_type("Application")
    assert str(err.value) == "deployerPrincipalType: 'Application' must be one of User, Group, ServicePrincipal"


def test_provider_config_client_id_plans_a_service_principal_admin(monkeypatch: pytest.MonkeyPatch) -> None:
    from planning import STACKS, plan_config
    from mlops_stack.azure._shared import _APP_LOGIN_ENV
    from mlops_stack.offline.stackfile import read_stack_file

    for var in _APP_LOGIN_ENV:
        monkeypatch.delenv(var, raising=False)
    config = dict(read_stack_file(STACKS / "Pulumi.dev-azure.yaml").config)
    config["azure-native:clientId"] = "0b1c2d3e-0000-4000-8000-000000000000"
    (admin,) = role_assignments(plan_config(config, stack="dev-azure"), ROLE_AKS_RBAC_CLUSTER_ADMIN)
    assert admin["principalType"] == "ServicePrincipal"


def test_an_azure_component_without_a_sibling_it_needs_is_a_config_error() -> None:
    from mlops_stack import ArtifactStoreArgs, Env, StorageSpec
    from mlops_stack.azure._shared import sibling
    from mlops_stack.errors import ConfigError

    args = ArtifactStoreArgs(env=Env(name="mlops", environment="dev", region="eastus"), storage=StorageSpec())
    with pytest.raises(ConfigError) as err:
        sibling(args, None, "network")
    assert str(err.value) == (
        "ArtifactStoreArgs(network): is required by the Azure implementation "
        "(pass the component in the args, or create this component inside MlopsStack)"
    )
