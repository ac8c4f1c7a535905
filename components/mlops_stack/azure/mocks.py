"""Realistic outputs for the azure-native resource types the toolkit registers, and mocks
for the azure-native functions it calls. IDs are ARM resource IDs
(``/subscriptions/<sub>/resourceGroups/<rg>/providers/<namespace>/<type>/<name>``),
endpoints have the real host shapes (``<acct>.blob.core.windows.net``,
``<dns>-<hash>.hcp.<region>.azmk8s.io``, ``<name>.azurecr.io``, ...), kubeconfigs
come back base64-encoded from ``listManagedClusterUserCredentials``. Values are
deterministic, so a plan is the same on every run.

Names: azure-native auto-names a resource whose name input is left out as the logical
name plus eight random characters; the mock uses eight hex characters of a hash.
"""

from __future__ import annotations

import base64
from collections.abc import Callable
from typing import Any

from pulumi.runtime.mocks import MockCallArgs, MockResourceArgs

from mlops_stack.offline.engine import AutoNameRule, MockContext, short_hash

#: The deterministic fake subscription and tenant every offline plan runs in.
AZURE_SUBSCRIPTION = "00000000-0000-4000-8000-000000000000"
AZURE_TENANT = "11111111-1111-4111-8111-111111111111"

Rule = Callable[[MockContext, MockResourceArgs], tuple[str, dict[str, Any]]]

#: The identity every offline plan runs as (``getClientConfig``).
CLIENT_ID = "22222222-2222-4222-8222-222222222222"
OBJECT_ID = "33333333-3333-4333-8333-333333333333"
DEFAULT_LOCATION = "eastus"


def uuid_of(*parts: str) -> str:
    h = short_hash(*parts, length=32)
    return f"{h[:8]}-{h[8:12]}-4{h[13:16]}-8{h[17:20]}-{h[20:32]}"


def azure_auto_name(name: str) -> str:
    return f"{name}{short_hash(name, length=8)}"


_RULES = "Azure resource name rules (learn.microsoft.com, azure-resource-manager/management/resource-name-rules): {}"


def _azure(prop: str, max_length: int, what: str) -> AutoNameRule:
    """azure-native's autoname (the logical name and 8 random characters, no separator) under
    the ARM limit of the type."""
    return AutoNameRule(prop, max_length, separator="", randlen=8, source=_RULES.format(what))


#: The azure-native types the stacks leave unnamed, with the longest name ARM takes; a name
#: over it is refused, never cut (the restricted global names, storage accounts, key vaults,
#: registries, online endpoints, are built by ``azure/_naming.py`` and checked there).
AUTONAMES: dict[str, AutoNameRule] = {
    "azure-native:resources:ResourceGroup": _azure("resourceGroupName", 90, "resourceGroups 1-90"),
    "azure-native:network:VirtualNetwork": _azure("virtualNetworkName", 64, "virtualNetworks 2-64"),
    "azure-native:network:Subnet": _azure("subnetName", 80, "virtualNetworks/subnets 1-80"),
    "azure-native:network:NetworkSecurityGroup": _azure("networkSecurityGroupName", 80, "networkSecurityGroups 1-80"),
    "azure-native:network:PublicIPAddress": _azure("publicIpAddressName", 80, "publicIPAddresses 1-80"),
    "azure-native:network:NatGateway": _azure("natGatewayName", 80, "natGateways 1-80"),
    "azure-native:network:PrivateEndpoint": _azure("privateEndpointName", 64, "privateEndpoints 2-64"),
    "azure-native:managedidentity:UserAssignedIdentity": _azure("resourceName", 128, "userAssignedIdentities 3-128"),
    "azure-native:operationalinsights:Workspace": _azure("workspaceName", 63, "operationalinsights workspaces 4-63"),
    "azure-native:compute:DiskEncryptionSet": _azure("diskEncryptionSetName", 80, "diskEncryptionSets 1-80"),
}


def _subscription(ctx: MockContext, provider: str | None) -> str:
    return str(ctx.provider_inputs(provider).get("subscriptionId") or ctx.config.get("azure-native:subscriptionId") or AZURE_SUBSCRIPTION)


def _location(ctx: MockContext, args: MockResourceArgs) -> str:
    loc = args.inputs.get("location")
    if isinstance(loc, str) and loc and loc != "global":
        return loc
    return str(ctx.provider_inputs(args.provider).get("location") or ctx.config.get("azure-native:location") or DEFAULT_LOCATION)


#: token -> (name input, ID path under the resource group; ``{name}`` and ``{<input>}`` fill in).
ARM_PATHS: dict[str, tuple[str, str]] = {
    "network:NetworkSecurityGroup": ("networkSecurityGroupName", "Microsoft.Network/networkSecurityGroups/{name}"),
    "network:PublicIPAddress": ("publicIpAddressName", "Microsoft.Network/publicIPAddresses/{name}"),
    "network:NatGateway": ("natGatewayName", "Microsoft.Network/natGateways/{name}"),
    "network:VirtualNetwork": ("virtualNetworkName", "Microsoft.Network/virtualNetworks/{name}"),
    "network:Subnet": ("subnetName", "Microsoft.Network/virtualNetworks/{virtualNetworkName}/subnets/{name}"),
    "network:PrivateEndpoint": ("privateEndpointName", "Microsoft.Network/privateEndpoints/{name}"),
    "network:PrivateDnsZoneGroup": ("privateDnsZoneGroupName", "Microsoft.Network/privateEndpoints/{privateEndpointName}/privateDnsZoneGroups/{name}"),
    "privatedns:PrivateZone": ("privateZoneName", "Microsoft.Network/privateDnsZones/{name}"),
    "privatedns:VirtualNetworkLink": ("virtualNetworkLinkName", "Microsoft.Network/privateDnsZones/{privateZoneName}/virtualNetworkLinks/{name}"),
    "keyvault:Vault": ("vaultName", "Microsoft.KeyVault/vaults/{name}"),
    "keyvault:Key": ("keyName", "Microsoft.KeyVault/vaults/{vaultName}/keys/{name}"),
    "managedidentity:UserAssignedIdentity": ("resourceName", "Microsoft.ManagedIdentity/userAssignedIdentities/{name}"),
    "managedidentity:FederatedIdentityCredential": (
        "federatedIdentityCredentialResourceName",
        "Microsoft.ManagedIdentity/userAssignedIdentities/{resourceName}/federatedIdentityCredentials/{name}",
    ),
    "storage:StorageAccount": ("accountName", "Microsoft.Storage/storageAccounts/{name}"),
    "storage:BlobServiceProperties": ("blobServicesName", "Microsoft.Storage/storageAccounts/{accountName}/blobServices/{name}"),
    "storage:ManagementPolicy": ("managementPolicyName", "Microsoft.Storage/storageAccounts/{accountName}/managementPolicies/{name}"),
    "storage:BlobContainer": ("containerName", "Microsoft.Storage/storageAccounts/{accountName}/blobServices/default/containers/{name}"),
    "containerregistry:Registry": ("registryName", "Microsoft.ContainerRegistry/registries/{name}"),
    "containerservice:ManagedCluster": ("resourceName", "Microsoft.ContainerService/managedClusters/{name}"),
    "containerservice:AgentPool": ("agentPoolName", "Microsoft.ContainerService/managedClusters/{resourceName}/agentPools/{name}"),
    "operationalinsights:Workspace": ("workspaceName", "Microsoft.OperationalInsights/workspaces/{name}"),
    "applicationinsights:Component": ("resourceName", "Microsoft.Insights/components/{name}"),
    "monitor:AutoscaleSetting": ("autoscaleSettingName", "Microsoft.Insights/autoscalesettings/{name}"),
    "monitor:DataCollectionRule": ("dataCollectionRuleName", "Microsoft.Insights/dataCollectionRules/{name}"),
    "compute:DiskEncryptionSet": ("diskEncryptionSetName", "Microsoft.Compute/diskEncryptionSets/{name}"),
    "machinelearningservices:Workspace": ("workspaceName", "Microsoft.MachineLearningServices/workspaces/{name}"),
    "machinelearningservices:Registry": ("registryName", "Microsoft.MachineLearningServices/registries/{name}"),
    "machinelearningservices:Datastore": ("name", "Microsoft.MachineLearningServices/workspaces/{workspaceName}/datastores/{name}"),
    "machinelearningservices:ModelVersion": ("version", "Microsoft.MachineLearningServices/workspaces/{workspaceName}/models/{modelName}/versions/{name}"),
    "machinelearningservices:EnvironmentVersion": (
        "version",
        "Microsoft.MachineLearningServices/workspaces/{workspaceName}/environments/{environmentName}/versions/{name}",
    ),
    "machinelearningservices:OnlineEndpoint": ("endpointName", "Microsoft.MachineLearningServices/workspaces/{workspaceName}/onlineEndpoints/{name}"),
    "machinelearningservices:OnlineDeployment": (
        "deploymentName",
        "Microsoft.MachineLearningServices/workspaces/{workspaceName}/onlineEndpoints/{endpointName}/deployments/{name}",
    ),
    "resources:Deployment": ("deploymentName", "Microsoft.Resources/deployments/{name}"),
    "dbforpostgresql:Server": ("serverName", "Microsoft.DBforPostgreSQL/flexibleServers/{name}"),
    "dbforpostgresql:Database": ("databaseName", "Microsoft.DBforPostgreSQL/flexibleServers/{serverName}/databases/{name}"),
}


def _arm(ctx: MockContext, args: MockResourceArgs) -> tuple[str, str, dict[str, Any]]:
    """(id, name, state) of an ARM resource from its inputs."""
    token = args.typ.removeprefix("azure-native:")
    name_key, path = ARM_PATHS[token]
    state = dict(args.inputs)
    name = str(state.get(name_key) or azure_auto_name(args.name))
    fields = {k: str(v) for k, v in state.items() if isinstance(v, (str, int))}
    # Versioned ML assets: the asset name is the ``name`` input, the version the name.
    fields.setdefault("modelName", str(state.get("name", "")))
    fields.setdefault("environmentName", str(state.get("name", "")))
    rg = str(state.get("resourceGroupName", "rg"))
    id_ = f"/subscriptions/{_subscription(ctx, args.provider)}/resourceGroups/{rg}/providers/" + path.format(**{**fields, "name": name})
    state["name"] = name if token not in ("machinelearningservices:ModelVersion", "machinelearningservices:EnvironmentVersion") else state.get("version", name)
    if "location" in state or token in ("storage:StorageAccount",):
        state["location"] = state.get("location") or _location(ctx, args)
    state["type"] = path.split("/{", 1)[0]
    state["azureApiVersion"] = "2025-01-01"
    _identity_outputs(state, id_)
    return id_, name, state


def _identity_outputs(state: dict[str, Any], id_: str) -> None:
    """Inputs list user-assigned identity IDs; ARM returns a map of ID -> principal."""
    identity = state.get("identity")
    if not isinstance(identity, dict):
        return
    out = dict(identity)
    uai = identity.get("userAssignedIdentities")
    if isinstance(uai, list):
        out["userAssignedIdentities"] = {
            str(i): {"clientId": uuid_of(str(i), "client"), "principalId": uuid_of(str(i), "principal")} for i in uai
        }
    if "SystemAssigned" in str(identity.get("type", "")):
        out.update(principalId=uuid_of(id_, "system"), tenantId=AZURE_TENANT)
    state["identity"] = out


def _generic(ctx: MockContext, args: MockResourceArgs) -> tuple[str, dict[str, Any]]:
    id_, _name, state = _arm(ctx, args)
    return id_, state


def _with(extra: Callable[[MockContext, MockResourceArgs, str, str, dict[str, Any]], None]) -> Rule:
    def rule(ctx: MockContext, args: MockResourceArgs) -> tuple[str, dict[str, Any]]:
        id_, name, state = _arm(ctx, args)
        extra(ctx, args, id_, name, state)
        return id_, state

    return rule


def _resource_group(ctx: MockContext, args: MockResourceArgs) -> tuple[str, dict[str, Any]]:
    state = dict(args.inputs)
    name = str(state.get("resourceGroupName") or azure_auto_name(args.name))
    state.update(name=name, location=_location(ctx, args), type="Microsoft.Resources/resourceGroups")
    return f"/subscriptions/{_subscription(ctx, args.provider)}/resourceGroups/{name}", state


def _vnet(ctx: MockContext, args: MockResourceArgs, id_: str, name: str, state: dict[str, Any]) -> None:
    state["resourceGuid"] = uuid_of(id_)


def _public_ip(ctx: MockContext, args: MockResourceArgs, id_: str, name: str, state: dict[str, Any]) -> None:
    h = int(short_hash(id_, length=4), 16)
    state["ipAddress"] = f"20.{(h >> 8) % 256}.{h % 256}.{(h * 7) % 254 + 1}"


def _vault(ctx: MockContext, args: MockResourceArgs, id_: str, name: str, state: dict[str, Any]) -> None:
    props = dict(state.get("properties") or {})
    props["vaultUri"] = f"https://{name}.vault.azure.net/"
    state["properties"] = props


def _key(ctx: MockContext, args: MockResourceArgs, id_: str, name: str, state: dict[str, Any]) -> None:
    vault = state.get("vaultName", "vault")
    state["keyUri"] = f"https://{vault}.vault.azure.net/keys/{name}"
    state["keyUriWithVersion"] = f"https://{vault}.vault.azure.net/keys/{name}/{short_hash(id_, length=32)}"


def _identity(ctx: MockContext, args: MockResourceArgs, id_: str, name: str, state: dict[str, Any]) -> None:
    state.update(clientId=uuid_of(id_, "client"), principalId=uuid_of(id_, "principal"), tenantId=AZURE_TENANT)


def _role_assignment(ctx: MockContext, args: MockResourceArgs) -> tuple[str, dict[str, Any]]:
    state = dict(args.inputs)
    name = str(state.get("roleAssignmentName") or uuid_of(args.name))
    scope = str(state.get("scope", ""))
    state.update(name=name, type="Microsoft.Authorization/roleAssignments")
    return f"{scope}/providers/Microsoft.Authorization/roleAssignments/{name}", state


def _dcr_association(ctx: MockContext, args: MockResourceArgs) -> tuple[str, dict[str, Any]]:
    """An extension resource: its ID hangs off the associated resource (``resourceUri``)."""
    state = dict(args.inputs)
    name = str(state.get("associationName") or azure_auto_name(args.name))
    state.update(name=name, type="Microsoft.Insights/dataCollectionRuleAssociations", provisioningState="Succeeded")
    return f"{state.get('resourceUri', '')}/providers/Microsoft.Insights/dataCollectionRuleAssociations/{name}", state


def _dcr(ctx: MockContext, args: MockResourceArgs, id_: str, name: str, state: dict[str, Any]) -> None:
    state.update(immutableId=f"dcr-{short_hash(id_, length=32)}", provisioningState="Succeeded")


def _disk_encryption_set(ctx: MockContext, args: MockResourceArgs, id_: str, name: str, state: dict[str, Any]) -> None:
    active = state.get("activeKey")
    if isinstance(active, dict) and active.get("keyUrl"):
        state["activeKey"] = {**active, "sourceVault": active.get("sourceVault") or {"id": _vault_id_of(str(active["keyUrl"]), id_)}}
    state.update(provisioningState="Succeeded", lastKeyRotationTimestamp="2025-01-01T00:00:00Z")


def _vault_id_of(key_url: str, some_id: str) -> str:
    """The vault's ARM ID in the same resource group as ``some_id`` (from ``https://<vault>.vault.azure.net/...``)."""
    vault = key_url.removeprefix("https://").split(".", 1)[0]
    return some_id.split("/providers/", 1)[0] + f"/providers/Microsoft.KeyVault/vaults/{vault}"


def _storage_account(ctx: MockContext, args: MockResourceArgs, id_: str, name: str, state: dict[str, Any]) -> None:
    loc = state["location"]
    state["primaryEndpoints"] = {
        "blob": f"https://{name}.blob.core.windows.net/",
        "dfs": f"https://{name}.dfs.core.windows.net/",
        "file": f"https://{name}.file.core.windows.net/",
        "queue": f"https://{name}.queue.core.windows.net/",
        "table": f"https://{name}.table.core.windows.net/",
        "web": f"https://{name}.z13.web.core.windows.net/",
    }
    state["primaryLocation"] = loc
    state["provisioningState"] = "Succeeded"


def _acr(ctx: MockContext, args: MockResourceArgs, id_: str, name: str, state: dict[str, Any]) -> None:
    state["loginServer"] = f"{name.lower()}.azurecr.io"


def _aks_hosts(dns_prefix: str, location: str) -> tuple[str, str, str]:
    h = short_hash(dns_prefix, location, length=8)
    guid = uuid_of(dns_prefix, location)
    return (
        f"{dns_prefix}-{h}.hcp.{location}.azmk8s.io",
        f"{dns_prefix}-{h}.{guid}.privatelink.{location}.azmk8s.io",
        f"https://{location}.oic.prod-aks.azure.com/{AZURE_TENANT}/{guid}/",
    )


def _managed_cluster(ctx: MockContext, args: MockResourceArgs, id_: str, name: str, state: dict[str, Any]) -> None:
    loc = state["location"]
    fqdn, private_fqdn, issuer = _aks_hosts(str(state.get("dnsPrefix", name)), loc)
    private = bool((state.get("apiServerAccessProfile") or {}).get("enablePrivateCluster"))
    state.update(
        fqdn=fqdn,
        privateFQDN=private_fqdn if private else None,
        azurePortalFQDN=fqdn.replace(".hcp.", ".portal.hcp."),
        oidcIssuerProfile={**(state.get("oidcIssuerProfile") or {}), "issuerURL": issuer},
        currentKubernetesVersion=f"{state.get('kubernetesVersion', '1.35')}.2",
        nodeResourceGroup=state.get("nodeResourceGroup") or f"MC_{state.get('resourceGroupName')}_{name}_{loc}",
        provisioningState="Succeeded",
        powerState={"code": "Running"},
    )


def _agent_pool(ctx: MockContext, args: MockResourceArgs, id_: str, name: str, state: dict[str, Any]) -> None:
    state.update(provisioningState="Succeeded", currentOrchestratorVersion="1.35.2")


def _log_analytics(ctx: MockContext, args: MockResourceArgs, id_: str, name: str, state: dict[str, Any]) -> None:
    state["customerId"] = uuid_of(id_)


def _app_insights(ctx: MockContext, args: MockResourceArgs, id_: str, name: str, state: dict[str, Any]) -> None:
    key = uuid_of(id_, "ikey")
    state.update(
        appId=uuid_of(id_, "app"),
        instrumentationKey=key,
        connectionString=f"InstrumentationKey={key};IngestionEndpoint=https://{state['location']}-8.in.applicationinsights.azure.com/",
    )


def _pg_server(ctx: MockContext, args: MockResourceArgs, id_: str, name: str, state: dict[str, Any]) -> None:
    """A flexible server: its FQDN (resolved to the private endpoint inside the VNet), state."""
    state.update(fullyQualifiedDomainName=f"{name}.postgres.database.azure.com", state="Ready", minorVersion="4")


def _ml_workspace(ctx: MockContext, args: MockResourceArgs, id_: str, name: str, state: dict[str, Any]) -> None:
    loc = state["location"]
    state.update(
        workspaceId=uuid_of(id_),
        discoveryUrl=f"https://{loc}.api.azureml.ms/discovery",
        mlFlowTrackingUri=f"azureml://{loc}.api.azureml.ms/mlflow/v1.0{id_}",
        provisioningState="Succeeded",
    )


def _ml_registry(ctx: MockContext, args: MockResourceArgs, id_: str, name: str, state: dict[str, Any]) -> None:
    loc = state["location"]
    state.update(discoveryUrl=f"https://{loc}.api.azureml.ms/registrymanagement/v1.0/registries/{name}/discovery", mlFlowRegistryUri=f"azureml://{loc}.api.azureml.ms/mlflow/v1.0{id_}")


def _online_endpoint(ctx: MockContext, args: MockResourceArgs, id_: str, name: str, state: dict[str, Any]) -> None:
    loc = state["location"]
    props = dict(state.get("properties") or {})
    props.update(
        scoringUri=f"https://{name}.{loc}.inference.ml.azure.com/score",
        swaggerUri=f"https://{name}.{loc}.inference.ml.azure.com/swagger.json",
        provisioningState="Succeeded",
    )
    state["properties"] = props


def _succeeded(ctx: MockContext, args: MockResourceArgs, id_: str, name: str, state: dict[str, Any]) -> None:
    props = state.get("properties")
    if isinstance(props, dict):
        state["properties"] = {**props, "provisioningState": "Succeeded"}


RESOURCES: dict[str, Rule] = {
    "azure-native:resources:ResourceGroup": _resource_group,
    "azure-native:authorization:RoleAssignment": _role_assignment,
    "azure-native:network:VirtualNetwork": _with(_vnet),
    "azure-native:network:PublicIPAddress": _with(_public_ip),
    "azure-native:keyvault:Vault": _with(_vault),
    "azure-native:keyvault:Key": _with(_key),
    "azure-native:managedidentity:UserAssignedIdentity": _with(_identity),
    "azure-native:storage:StorageAccount": _with(_storage_account),
    "azure-native:containerregistry:Registry": _with(_acr),
    "azure-native:containerservice:ManagedCluster": _with(_managed_cluster),
    "azure-native:containerservice:AgentPool": _with(_agent_pool),
    "azure-native:operationalinsights:Workspace": _with(_log_analytics),
    "azure-native:applicationinsights:Component": _with(_app_insights),
    "azure-native:machinelearningservices:Workspace": _with(_ml_workspace),
    "azure-native:dbforpostgresql:Server": _with(_pg_server),
    "azure-native:dbforpostgresql:Database": _with(lambda *a: None),
    "azure-native:machinelearningservices:Registry": _with(_ml_registry),
    "azure-native:machinelearningservices:OnlineEndpoint": _with(_online_endpoint),
    "azure-native:machinelearningservices:OnlineDeployment": _with(_succeeded),
    "azure-native:resources:Deployment": _with(_succeeded),
    "azure-native:monitor:DataCollectionRule": _with(_dcr),
    "azure-native:monitor:DataCollectionRuleAssociation": _dcr_association,
    "azure-native:compute:DiskEncryptionSet": _with(_disk_encryption_set),
}
for _token in ARM_PATHS:
    RESOURCES.setdefault(f"azure-native:{_token}", _generic)


def default_resource(ctx: MockContext, args: MockResourceArgs) -> tuple[str, dict[str, Any]]:
    """Any other azure-native type: a plausible ARM ID from the type token."""
    state = dict(args.inputs)
    module, kind = args.typ.split(":")[1:3]
    name = azure_auto_name(args.name)
    rg = str(state.get("resourceGroupName", "rg"))
    state["name"] = name
    return f"/subscriptions/{_subscription(ctx, args.provider)}/resourceGroups/{rg}/providers/Microsoft.{module}/{kind[0].lower()}{kind[1:]}s/{name}", state


# ---------------------------------------------------------------------------------
# Functions.


def _client_config(ctx: MockContext, args: MockCallArgs) -> dict[str, Any]:
    provider = ctx.provider_inputs(args.provider)
    return {
        "clientId": CLIENT_ID,
        "objectId": OBJECT_ID,
        "subscriptionId": _subscription(ctx, args.provider),
        "tenantId": str(provider.get("tenantId") or AZURE_TENANT),
    }


def cluster_user_kubeconfig(cluster: str, server: str, tenant: str = AZURE_TENANT) -> str:
    """The YAML AKS returns for an Entra-integrated cluster (``format=exec``): kubelogin device code."""
    ca = base64.b64encode(f"-----BEGIN CERTIFICATE-----\nMOCK{short_hash(cluster, length=32)}\n-----END CERTIFICATE-----\n".encode()).decode()
    return (
        "apiVersion: v1\n"
        "kind: Config\n"
        "clusters:\n"
        f"- name: {cluster}\n"
        "  cluster:\n"
        f"    certificate-authority-data: {ca}\n"
        f"    server: https://{server}:443\n"
        "contexts:\n"
        f"- name: {cluster}\n"
        "  context:\n"
        f"    cluster: {cluster}\n"
        f"    user: clusterUser_{cluster}\n"
        f"current-context: {cluster}\n"
        "users:\n"
        f"- name: clusterUser_{cluster}\n"
        "  user:\n"
        "    exec:\n"
        "      apiVersion: client.authentication.k8s.io/v1beta1\n"
        "      command: kubelogin\n"
        "      args: [get-token, --login, devicecode, --server-id, 6dae42f8-4368-4678-94ff-3960e28e3630,"
        f" --client-id, 80faf920-1908-4b52-b5ef-a8e7bedfc67a, --tenant-id, {tenant}, --environment, AzurePublicCloud]\n"
        "      interactiveMode: IfAvailable\n"
    )


def _user_credentials(ctx: MockContext, args: MockCallArgs) -> dict[str, Any]:
    cluster = str(args.args.get("resourceName", "cluster"))
    location = str(ctx.provider_inputs(args.provider).get("location") or DEFAULT_LOCATION)
    fqdn, _private, _issuer = _aks_hosts(cluster, location)
    text = cluster_user_kubeconfig(cluster, fqdn)
    return {"kubeconfigs": [{"name": "clusterUser", "value": base64.b64encode(text.encode()).decode()}]}


CALLS: dict[str, Callable[[MockContext, MockCallArgs], dict[str, Any]]] = {
    "azure-native:authorization:getClientConfig": _client_config,
    "azure-native:containerservice:listManagedClusterUserCredentials": _user_credentials,
}
