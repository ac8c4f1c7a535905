"""Azure rules (azure-native 3.x tokens; wire/camelCase input names)."""

from __future__ import annotations

from collections.abc import Iterable

from ..model import Ctx, Res
from ..values import UNKNOWN, as_list, get, truthy
from ._registry import resource_rule, stack_rule

STORAGE = "azure-native:storage:StorageAccount"
CONTAINER = "azure-native:storage:BlobContainer"
BLOB_SERVICE = "azure-native:storage:BlobServiceProperties"
ACR = "azure-native:containerregistry:Registry"
AKS = "azure-native:containerservice:ManagedCluster"
KEY_VAULT = "azure-native:keyvault:Vault"
KV_KEY = "azure-native:keyvault:Key"
AML_WORKSPACE = "azure-native:machinelearningservices:Workspace"
AKS_POOL = "azure-native:containerservice:AgentPool"
DEFENDER_PRICING = "azure-native:security:Pricing"


# ---------------------------------------------------------------------------------
# Storage


@resource_rule(
    "azure-storage-no-public-blob",
    description="Storage accounts disallow anonymous blob access and containers are never public.",
    severity="critical",
    enforcement="mandatory",
    remediation="Set allow_blob_public_access=False on the StorageAccount and public_access='None' on containers.",
    clouds=("azure",),
    types=(STORAGE, CONTAINER),
    benchmarks=("checkov:CKV_AZURE_190", "checkov:CKV_AZURE_34", "cis-azure-2.0:3.7"),
)
def storage_public(r: Res, ctx: Ctx) -> Iterable[str]:
    if r.type == CONTAINER:
        v = r.props.get("publicAccess")
        if isinstance(v, str) and v not in ("None", "none"):
            yield f"container publicAccess is {v}."
        return
    v = r.props.get("allowBlobPublicAccess")
    if v is not UNKNOWN and truthy(v) is not False or v is None:
        yield "allowBlobPublicAccess is not explicitly false."


@resource_rule(
    "azure-storage-secure-transfer",
    description="Storage accounts accept HTTPS only with TLS 1.2 or newer.",
    severity="high",
    enforcement="mandatory",
    remediation="Set enable_https_traffic_only=True and minimum_tls_version='TLS1_2'.",
    clouds=("azure",),
    types=(STORAGE,),
    benchmarks=("checkov:CKV_AZURE_3", "checkov:CKV_AZURE_44", "cis-azure-2.0:3.1", "cis-azure-2.0:3.15"),
)
def storage_tls(r: Res, ctx: Ctx) -> Iterable[str]:
    https = r.props.get("enableHttpsTrafficOnly")
    if https is not UNKNOWN and https is not None and truthy(https) is False:
        yield "enableHttpsTrafficOnly is false."
    tls = r.props.get("minimumTlsVersion")
    if tls is not UNKNOWN and tls not in ("TLS1_2", "TLS1_3"):
        yield f"minimumTlsVersion is {tls or 'unset'}, not TLS1_2."


@resource_rule(
    "azure-storage-cmk",
    description="Storage accounts encrypt with a customer-managed key from Key Vault.",
    severity="high",
    enforcement="mandatory",
    remediation="Give the account a user-assigned identity with Key Vault Crypto Service Encryption User and set "
    "encryption={'key_source': 'Microsoft.Keyvault', 'key_vault_properties': {...}, 'identity': {...}}.",
    clouds=("azure",),
    types=(STORAGE,),
    benchmarks=("checkov:CKV2_AZURE_1", "cis-azure-2.0:3.12"),
)
def storage_cmk(r: Res, ctx: Ctx) -> Iterable[str]:
    src = get(r.props, "encryption", "keySource")
    if src is not UNKNOWN and src != "Microsoft.Keyvault":
        yield f"encryption.keySource is {src or 'Microsoft.Storage (default)'}, not Microsoft.Keyvault."


@stack_rule(
    "azure-storage-versioning",
    description="Every storage account has BlobServiceProperties with blob versioning and delete retention on.",
    severity="high",
    enforcement="mandatory",
    remediation="Add azure_native.storage.BlobServiceProperties(account_name=account.name, "
    "blob_services_name='default', is_versioning_enabled=True, delete_retention_policy={'enabled': True, 'days': 30}).",
    clouds=("azure",),
    benchmarks=("checkov:CKV2_AZURE_38", "cis-azure-2.0:3.11"),
)
def storage_versioning(resources: list[Res], ctx: Ctx) -> Iterable[tuple[str, str]]:
    accounts = [r for r in resources if r.type == STORAGE]
    services = [r for r in resources if r.type == BLOB_SERVICE]
    for a in accounts:
        if a.props.get("accountName") is UNKNOWN and not any(
                a.urn in s.property_dependencies.get("accountName", []) or a.urn in s.dependencies for s in services):
            continue  # cannot tell which BlobServiceProperties belong to it
        names = {a.props.get("accountName"), a.name}
        mine = [s for s in services
                if a.urn in s.property_dependencies.get("accountName", [])
                or s.props.get("accountName") in names
                or (s.props.get("accountName") is UNKNOWN and a.urn in s.dependencies)]
        unresolved = [s for s in services if s.props.get("accountName") is UNKNOWN and not s.dependencies]
        if not mine:
            if not unresolved:
                yield a.urn, "storage account has no BlobServiceProperties (blob versioning off)."
            continue
        verdicts = [s.props.get("isVersioningEnabled") for s in mine]
        if any(v is UNKNOWN or truthy(v) for v in verdicts):
            continue
        yield a.urn, "BlobServiceProperties.isVersioningEnabled is not true."


# ---------------------------------------------------------------------------------
# Container registry


@resource_rule(
    "azure-acr-admin-disabled",
    description="Azure Container Registries have the admin user disabled.",
    severity="high",
    enforcement="mandatory",
    remediation="Set admin_user_enabled=False and pull with the AKS kubelet identity (AcrPull role assignment).",
    clouds=("azure",),
    types=(ACR,),
    benchmarks=("checkov:CKV_AZURE_137",),
)
def acr_admin(r: Res, ctx: Ctx) -> Iterable[str]:
    if truthy(r.props.get("adminUserEnabled")):
        yield "adminUserEnabled is true."


@resource_rule(
    "azure-acr-no-anonymous-pull",
    description="Azure Container Registries do not allow anonymous (unauthenticated) pull.",
    severity="critical",
    enforcement="mandatory",
    remediation="Set anonymous_pull_enabled=False.",
    clouds=("azure",),
    types=(ACR,),
    benchmarks=("azure-policy:Configure container registries to disable anonymous authentication",),
)
def acr_anonymous(r: Res, ctx: Ctx) -> Iterable[str]:
    if truthy(r.props.get("anonymousPullEnabled")):
        yield "anonymousPullEnabled is true."


@resource_rule(
    "azure-acr-public-network-disabled",
    description="Azure Container Registries disable public network access (Premium SKU, private endpoint).",
    severity="medium",
    enforcement="advisory",
    remediation="Use sku Premium, public_network_access='Disabled' and a private endpoint in the cluster VNet.",
    clouds=("azure",),
    types=(ACR,),
    benchmarks=("checkov:CKV_AZURE_139",),
)
def acr_public_network(r: Res, ctx: Ctx) -> Iterable[str]:
    v = r.props.get("publicNetworkAccess")
    if v is not UNKNOWN and v != "Disabled":
        yield f"publicNetworkAccess is {v or 'Enabled (default)'}."


# ---------------------------------------------------------------------------------
# AKS


@resource_rule(
    "azure-aks-private-or-allowlisted",
    description="AKS API servers are private, or public only to authorized IP ranges excluding 0.0.0.0/0.",
    severity="high",
    enforcement="mandatory",
    remediation="Set api_server_access_profile={'enable_private_cluster': True} or "
    "{'authorized_ip_ranges': ['<office>/32', ...]}.",
    clouds=("azure",),
    types=(AKS,),
    benchmarks=("checkov:CKV_AZURE_115", "checkov:CKV_AZURE_6", "cis-aks-1.5:5.4.1"),
)
def aks_private(r: Res, ctx: Ctx) -> Iterable[str]:
    prof = r.props.get("apiServerAccessProfile")
    if prof is UNKNOWN:
        return
    private = get(prof, "enablePrivateCluster")
    ranges = as_list(get(prof, "authorizedIPRanges"))
    if private is UNKNOWN or ranges is UNKNOWN or any(x is UNKNOWN for x in ranges):
        return
    if truthy(private):
        return
    if not ranges:
        yield "API server is public with no authorizedIPRanges."
    elif "0.0.0.0/0" in ranges:
        yield "authorizedIPRanges contains 0.0.0.0/0."


@resource_rule(
    "azure-aks-secrets-encryption",
    description="AKS encrypts etcd secrets with a Key Vault key (KMS plugin).",
    severity="high",
    enforcement="mandatory",
    remediation="Set security_profile={'azure_key_vault_kms': {'enabled': True, 'key_id': key.key_uri_with_version, "
    "'key_vault_network_access': 'Private', 'key_vault_resource_id': vault.id}}.",
    clouds=("azure",),
    types=(AKS,),
    benchmarks=("cis-aks-1.5:5.3.1",),
)
def aks_kms(r: Res, ctx: Ctx) -> Iterable[str]:
    v = get(r.props, "securityProfile", "azureKeyVaultKms", "enabled")
    if v is not UNKNOWN and truthy(v) is not True:
        yield "securityProfile.azureKeyVaultKms.enabled is not true."


@resource_rule(
    "azure-aks-monitoring",
    description="AKS sends control-plane and container logs to Azure Monitor (Container Insights).",
    severity="medium",
    enforcement="mandatory",
    remediation="Enable addon_profiles={'omsagent': {'enabled': True, 'config': {'logAnalyticsWorkspaceResourceID': ws.id}}} "
    "or azure_monitor_profile.metrics plus a diagnostic setting.",
    clouds=("azure",),
    types=(AKS,),
    benchmarks=("checkov:CKV_AZURE_4",),
)
def aks_monitoring(r: Res, ctx: Ctx) -> Iterable[str]:
    addons = r.props.get("addonProfiles")
    if addons is UNKNOWN:
        return
    oms = get(addons, "omsagent", "enabled")
    if oms is None and isinstance(addons, dict):
        oms = get(addons, "omsAgent", "enabled")
    if oms is UNKNOWN:
        return
    if truthy(oms) is not True:
        yield "addonProfiles.omsagent is not enabled."


@resource_rule(
    "azure-aks-workload-identity",
    description="AKS enables the OIDC issuer and Microsoft Entra Workload ID.",
    severity="high",
    enforcement="mandatory",
    remediation="Set oidc_issuer_profile={'enabled': True} and security_profile={'workload_identity': {'enabled': True}}.",
    clouds=("azure",),
    types=(AKS,),
    benchmarks=("cis-aks-1.5:5.2.1",),
)
def aks_wi(r: Res, ctx: Ctx) -> Iterable[str]:
    oidc = get(r.props, "oidcIssuerProfile", "enabled")
    wi = get(r.props, "securityProfile", "workloadIdentity", "enabled")
    if oidc is not UNKNOWN and truthy(oidc) is not True:
        yield "oidcIssuerProfile.enabled is not true."
    if wi is not UNKNOWN and truthy(wi) is not True:
        yield "securityProfile.workloadIdentity.enabled is not true."


@resource_rule(
    "azure-aks-network-policy",
    description="AKS enforces Kubernetes NetworkPolicy (azure, calico or cilium).",
    severity="medium",
    enforcement="mandatory",
    remediation="Set network_profile={'network_plugin': 'azure', 'network_policy': 'cilium' (or 'azure'/'calico'), ...}.",
    clouds=("azure",),
    types=(AKS,),
    benchmarks=("checkov:CKV_AZURE_7", "cis-aks-1.5:5.4.4"),
)
def aks_netpol(r: Res, ctx: Ctx) -> Iterable[str]:
    v = get(r.props, "networkProfile", "networkPolicy")
    if v is not UNKNOWN and v not in ("azure", "calico", "cilium"):
        yield f"networkProfile.networkPolicy is {v or 'unset'}."


@resource_rule(
    "azure-aks-local-accounts-disabled",
    description="AKS disables local accounts (the static cluster-admin kubeconfig) and uses Entra ID RBAC.",
    severity="high",
    enforcement="mandatory",
    remediation="Set disable_local_accounts=True and aad_profile={'managed': True, 'enable_azure_rbac': True}.",
    clouds=("azure",),
    types=(AKS,),
    benchmarks=("checkov:CKV_AZURE_141",),
)
def aks_local(r: Res, ctx: Ctx) -> Iterable[str]:
    v = r.props.get("disableLocalAccounts")
    if v is not UNKNOWN and truthy(v) is not True:
        yield "disableLocalAccounts is not true."


# ---------------------------------------------------------------------------------
# Key Vault


@resource_rule(
    "azure-keyvault-purge-protection",
    description="Key Vaults have soft delete and purge protection enabled.",
    severity="high",
    enforcement="mandatory",
    remediation="Set properties.enable_purge_protection=True (irreversible) and keep enable_soft_delete=True "
    "with soft_delete_retention_in_days >= 7.",
    clouds=("azure",),
    types=(KEY_VAULT,),
    benchmarks=("checkov:CKV_AZURE_110", "checkov:CKV_AZURE_42", "cis-azure-2.0:8.5"),
)
def kv_purge(r: Res, ctx: Ctx) -> Iterable[str]:
    purge = get(r.props, "properties", "enablePurgeProtection")
    soft = get(r.props, "properties", "enableSoftDelete")
    if purge is not UNKNOWN and truthy(purge) is not True:
        yield "properties.enablePurgeProtection is not true."
    if soft is not UNKNOWN and soft is not None and truthy(soft) is False:
        yield "properties.enableSoftDelete is false."


@resource_rule(
    "azure-keyvault-key-rotation",
    description="Key Vault keys have a rotation policy that rotates at least every maxKeyRotationDays.",
    severity="medium",
    enforcement="mandatory",
    remediation="Set properties.rotation_policy={'lifetime_actions': [{'action': {'type': 'rotate'}, "
    "'trigger': {'time_after_create': 'P90D'}}], 'attributes': {'expiry_time': 'P2Y'}}.",
    clouds=("azure",),
    types=(KV_KEY,),
    benchmarks=("mlops:key-rotation",),
    config=("maxKeyRotationDays",),
)
def kv_key_rotation(r: Res, ctx: Ctx) -> Iterable[str]:
    actions = get(r.props, "properties", "rotationPolicy", "lifetimeActions")
    if actions is UNKNOWN:
        return
    for a in as_list(actions) or []:
        kind = get(a, "action", "type")
        if kind is UNKNOWN or str(kind or "").lower() == "rotate":
            return
    yield "properties.rotationPolicy has no 'rotate' lifetime action."


# ---------------------------------------------------------------------------------
# Azure Machine Learning


@resource_rule(
    "azure-ml-workspace-cmk",
    description="Azure ML workspaces encrypt with a customer-managed key (covers online endpoints' data).",
    severity="high",
    enforcement="mandatory",
    remediation="Set encryption={'status': 'Enabled', 'key_vault_properties': {'key_identifier': key.key_uri_with_version, "
    "'key_vault_arm_id': vault.id}} (creation-time only).",
    clouds=("azure",),
    types=(AML_WORKSPACE,),
    benchmarks=("azure-policy:Azure Machine Learning workspaces should be encrypted with a customer-managed key",),
)
def aml_cmk(r: Res, ctx: Ctx) -> Iterable[str]:
    status = get(r.props, "encryption", "status")
    if status is not UNKNOWN and status != "Enabled":
        yield "encryption.status is not Enabled (Microsoft-managed keys)."


@resource_rule(
    "azure-ml-workspace-public-network",
    description="Azure ML workspaces disable public network access (managed VNet / private endpoints).",
    severity="medium",
    enforcement="advisory",
    remediation="Set public_network_access='Disabled' and managed_network={'isolation_mode': 'AllowOnlyApprovedOutbound'}.",
    clouds=("azure",),
    types=(AML_WORKSPACE,),
    benchmarks=("checkov:CKV_AZURE_144",),
)
def aml_public(r: Res, ctx: Ctx) -> Iterable[str]:
    v = r.props.get("publicNetworkAccess")
    if v is not UNKNOWN and v != "Disabled":
        yield f"publicNetworkAccess is {v or 'Enabled (default)'}."


# ---------------------------------------------------------------------------------
# Encryption at host, Defender for Containers


@resource_rule(
    "azure-aks-encryption-at-host",
    description="AKS node pools encrypt at host: temp disks, OS/data disk caches and the data flowing to storage "
    "are encrypted on the VM host (GPU scratch data lands on temp disks).",
    severity="medium",
    enforcement="mandatory",
    remediation="Set enable_encryption_at_host=True on every agent pool (needs the subscription feature "
    "Microsoft.Compute/EncryptionAtHost registered and a VM size that supports it; see docs/azure.md).",
    clouds=("azure",),
    types=(AKS, AKS_POOL),
    benchmarks=("checkov:CKV_AZURE_227", "azure-mcsb:DP-4"),
)
def aks_encryption_at_host(r: Res, ctx: Ctx) -> Iterable[str]:
    if r.type == AKS_POOL:
        pools = [r.props]
    else:
        pools = as_list(r.props.get("agentPoolProfiles"))
        if pools is UNKNOWN:
            return
    for p in pools:
        if p is UNKNOWN:
            continue
        v = get(p, "enableEncryptionAtHost")
        if v is UNKNOWN:
            continue
        if truthy(v) is not True:
            yield f"agent pool {get(p, 'name') or get(p, 'agentPoolName') or ''} does not enable encryption at host."


@stack_rule(
    "azure-defender-for-containers",
    description="A subscription running the stack's container registry and AKS cluster has Microsoft Defender for "
    "Containers on (image vulnerability assessment for ACR, runtime threat detection for AKS).",
    severity="low",
    enforcement="advisory",
    remediation="Set the spec's azure.defenderForContainers: true (a subscription-wide security.Pricing 'Containers' "
    "at the Standard tier, billed per vCore), or keep it managed centrally by the security team (docs/security.md).",
    clouds=("azure",),
    benchmarks=("azure-mcsb:LT-1", "azure-mcsb:PV-5"),
)
def defender_for_containers(resources: list[Res], ctx: Ctx) -> Iterable[tuple[str, str]]:
    registries = [r for r in resources if r.type == ACR]
    if not registries:
        return
    for p in (r for r in resources if r.type == DEFENDER_PRICING):
        name, tier = p.props.get("pricingName"), p.props.get("pricingTier")
        if name in ("Containers", UNKNOWN) and tier in ("Standard", UNKNOWN):
            return
    for r in registries:
        yield r.urn, "Microsoft Defender for Containers is not enabled by this stack (images are not scanned in ACR)."


GEO_SKUS = ("Standard_GRS", "Standard_RAGRS", "Standard_GZRS", "Standard_RAGZRS")


@resource_rule(
    "azure-storage-geo-redundant",
    description="In prod, storage accounts replicate to the paired region (GRS, RA-GRS, GZRS or RA-GZRS).",
    severity="medium",
    enforcement="mandatory",
    remediation="Set sku={'name': 'Standard_GZRS'} (the stack's prod default) on the StorageAccount.",
    clouds=("azure",),
    types=(STORAGE,),
    benchmarks=("checkov:CKV_AZURE_206", "nist-800-53:CP-9"),
    prod_only=True,
)
def storage_geo_redundant(r: Res, ctx: Ctx) -> Iterable[str]:
    if not ctx.is_prod(r):
        return
    sku = get(r.props, "sku", "name")
    if sku is UNKNOWN:
        return
    if sku not in GEO_SKUS:
        yield f"sku {sku or 'unset'} keeps data in one region."
