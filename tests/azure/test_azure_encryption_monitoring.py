"""Customer-managed keys and monitoring on Azure: AKS KMS etcd encryption, the Azure ML
workspace CMK, Container Insights, the disk encryption set behind node disks and
persistent volumes, and the policy pack over both example stacks (zero mandatory
violations; the advisory public-network findings only in dev). Exact wire-level inputs."""

from __future__ import annotations

import json
from typing import Any

import pytest

from planning import plan_config, plan_example
from mlops_stack.azure._naming import (
    ROLE_KV_CONTRIBUTOR,
    ROLE_KV_CRYPTO_SERVICE_ENCRYPTION_USER,
    ROLE_KV_CRYPTO_USER,
    ROLE_CONTRIBUTOR,
)
from mlops_stack.offline.analyzer import mandatory, run_policy_pack
from mlops_stack.offline.engine import Plan, Registration

AZ = "azure-native:"
STACKS = ["dev-azure", "prod-azure"]


def by_name(plan: Plan, type_: str, name: str) -> Registration:
    return plan.one(AZ + type_, name)


def aks(plan: Plan) -> Registration:
    return plan.one(AZ + "containerservice:ManagedCluster")


def control_plane_principal(plan: Plan) -> str:
    return by_name(plan, "managedidentity:UserAssignedIdentity", "mlops-cluster-control-plane-identity").outputs["principalId"]


def grants(plan: Plan, role: str) -> list[Registration]:
    return [r for r in plan.of_type(AZ + "authorization:RoleAssignment") if r.inputs["roleDefinitionId"].endswith("/" + role)]


# --- AKS KMS (etcd) --------------------------------------------------------------------


@pytest.mark.parametrize("stack", STACKS)
def test_aks_kms_uses_the_versioned_etcd_key_over_private_link(stack: str) -> None:
    plan = plan_example(stack)
    etcd = by_name(plan, "keyvault:Key", "mlops-keys-etcd-key")
    vault = plan.one(AZ + "keyvault:Vault")
    kms = aks(plan).inputs["securityProfile"]["azureKeyVaultKms"]
    assert kms == {
        "enabled": True,
        "keyId": etcd.outputs["keyUriWithVersion"],
        "keyVaultNetworkAccess": "Private",
        "keyVaultResourceId": vault.id,
    }
    # A versioned key identifier: https://<vault>.vault.azure.net/keys/<name>/<version>
    assert kms["keyId"].startswith(f"https://{vault.inputs['vaultName']}.vault.azure.net/keys/{etcd.inputs['keyName']}/")
    assert len(kms["keyId"].rsplit("/", 1)[-1]) == 32
    # Private vault access needs API Server VNet Integration (Konnectivity is not supported).
    access = aks(plan).inputs["apiServerAccessProfile"]
    assert access["enableVnetIntegration"] is True
    assert access["subnetId"] == by_name(plan, "network:Subnet", "mlops-network-apiserver").id


@pytest.mark.parametrize("stack", STACKS)
def test_kms_roles_are_the_control_plane_identity_scoped_to_the_etcd_key_and_vault(stack: str) -> None:
    plan = plan_example(stack)
    control = control_plane_principal(plan)
    (crypto,) = grants(plan, ROLE_KV_CRYPTO_USER)
    assert crypto.inputs["scope"] == by_name(plan, "keyvault:Key", "mlops-keys-etcd-key").id
    assert crypto.inputs["principalId"] == control and crypto.inputs["principalType"] == "ServicePrincipal"
    (contributor,) = grants(plan, ROLE_KV_CONTRIBUTOR)
    assert contributor.inputs["scope"] == plan.one(AZ + "keyvault:Vault").id
    assert contributor.inputs["principalId"] == control
    # The services' CMK identity never gets the etcd key; the control plane never gets the CMK key.
    (service,) = grants(plan, ROLE_KV_CRYPTO_SERVICE_ENCRYPTION_USER)
    assert service.inputs["scope"] == by_name(plan, "keyvault:Key", "mlops-keys-cmk").id
    # KMS is set at creation: the cluster waits for every role it needs.
    deps = set(aks(plan).dependencies)
    assert {crypto.urn, contributor.urn} <= deps


def test_api_server_subnet_is_delegated_to_aks() -> None:
    plan = plan_example("dev-azure")
    sub = by_name(plan, "network:Subnet", "mlops-network-apiserver").inputs
    assert sub["addressPrefix"] == "10.20.144.0/28"
    assert sub["delegations"] == [{"name": "aks-apiserver", "serviceName": "Microsoft.ContainerService/managedClusters"}]
    assert sub["defaultOutboundAccess"] is False
    assert sub["natGateway"] == {"id": plan.one(AZ + "network:NatGateway").id}
    assert sub["networkSecurityGroup"] == {"id": by_name(plan, "network:NetworkSecurityGroup", "mlops-network-nodes-nsg").id}


# --- Azure ML workspace CMK --------------------------------------------------------------


@pytest.mark.parametrize("stack", STACKS)
def test_workspace_is_encrypted_with_the_stack_key_through_the_cmk_identity(stack: str) -> None:
    plan = plan_example(stack)
    ws = plan.one(AZ + "machinelearningservices:Workspace")
    cmk = by_name(plan, "keyvault:Key", "mlops-keys-cmk")
    identity = by_name(plan, "managedidentity:UserAssignedIdentity", "mlops-keys-cmk-identity")
    assert ws.inputs["encryption"] == {
        "status": "Enabled",
        "keyVaultProperties": {
            "keyVaultArmId": plan.one(AZ + "keyvault:Vault").id,
            "keyIdentifier": cmk.outputs["keyUriWithVersion"],
            "identityClientId": identity.outputs["clientId"],
        },
        "identity": {"userAssignedIdentity": identity.id},
    }
    assert ws.inputs["identity"] == {"type": "SystemAssigned,UserAssigned", "userAssignedIdentities": [identity.id]}
    assert "enableServiceSideCMKEncryption" not in ws.inputs  # preview: not used
    # Encryption is creation-time only: the identity holds its key role first.
    (service,) = grants(plan, ROLE_KV_CRYPTO_SERVICE_ENCRYPTION_USER)
    assert service.inputs["principalId"] == identity.outputs["principalId"]
    assert service.urn in ws.dependencies


# --- Container Insights --------------------------------------------------------------------


@pytest.mark.parametrize("stack", STACKS)
def test_container_insights_reuses_the_model_registry_log_analytics_workspace(stack: str) -> None:
    plan = plan_example(stack)
    (logs,) = plan.of_type(AZ + "operationalinsights:Workspace")
    assert logs.name == "mlops-models-logs"
    cluster = aks(plan)
    assert cluster.inputs["addonProfiles"]["omsagent"] == {
        "enabled": True,
        "config": {"logAnalyticsWorkspaceResourceID": logs.id, "useAADAuth": "true"},
    }
    rule = plan.one(AZ + "monitor:DataCollectionRule")
    assert rule.inputs["kind"] == "Linux"
    assert rule.inputs["location"] == "eastus"
    assert rule.inputs["dataSources"] == {
        "extensions": [
            {
                "name": "ContainerInsightsExtension",
                "extensionName": "ContainerInsights",
                "streams": ["Microsoft-ContainerInsights-Group-Default"],
                "extensionSettings": {
                    "dataCollectionSettings": {"interval": "1m", "namespaceFilteringMode": "Off", "enableContainerLogV2": True}
                },
            }
        ]
    }
    assert rule.inputs["destinations"] == {"logAnalytics": [{"name": "ciworkspace", "workspaceResourceId": logs.id}]}
    assert rule.inputs["dataFlows"] == [{"streams": ["Microsoft-ContainerInsights-Group-Default"], "destinations": ["ciworkspace"]}]
    assoc = plan.one(AZ + "monitor:DataCollectionRuleAssociation")
    assert assoc.inputs["resourceUri"] == cluster.id
    assert assoc.inputs["associationName"] == "ContainerInsightsExtension"
    assert assoc.inputs["dataCollectionRuleId"] == rule.id
    assert assoc.id.startswith(cluster.id + "/providers/Microsoft.Insights/dataCollectionRuleAssociations/")


def _config(**overrides: Any) -> dict[str, str]:
    base: dict[str, Any] = {
        "cloud": "azure",
        "region": "eastus",
        "environment": "dev",
        "tags": {"owner": "ml-platform", "cost-center": "ml-1234"},
        "cluster": {"publicAccessCidrs": ["203.0.113.0/24"], "gpuPools": [{"name": "infer", "gpu": "nvidia-t4", "maxNodes": 2}]},
        "endpoints": [],
    }
    base.update(overrides)
    return {f"mlops-stack:{k}": json.dumps(v) if not isinstance(v, str) else v for k, v in base.items()}


def test_without_a_model_registry_the_cluster_has_its_own_log_analytics_workspace() -> None:
    plan = plan_config(_config(modelRegistry={"enabled": False}))
    assert plan.of_type(AZ + "machinelearningservices:Workspace") == []
    (logs,) = plan.of_type(AZ + "operationalinsights:Workspace")
    assert logs.name == "mlops-cluster-logs"
    assert logs.inputs["retentionInDays"] == 30 and logs.inputs["sku"] == {"name": "PerGB2018"}
    oms = aks(plan).inputs["addonProfiles"]["omsagent"]
    assert oms["enabled"] is True and oms["config"]["logAnalyticsWorkspaceResourceID"] == logs.id
    assert mandatory(run_policy_pack(plan)) == []


# --- disk encryption set -------------------------------------------------------------------


@pytest.mark.parametrize("stack", STACKS)
def test_node_disks_and_volumes_use_the_disk_encryption_set(stack: str) -> None:
    plan = plan_example(stack)
    des = plan.one(AZ + "compute:DiskEncryptionSet")
    identity = by_name(plan, "managedidentity:UserAssignedIdentity", "mlops-keys-cmk-identity")
    assert des.inputs["encryptionType"] == "EncryptionAtRestWithCustomerKey"
    assert des.inputs["identity"] == {"type": "UserAssigned", "userAssignedIdentities": [identity.id]}
    assert des.inputs["activeKey"] == {"keyUrl": by_name(plan, "keyvault:Key", "mlops-keys-cmk").outputs["keyUriWithVersion"]}
    assert des.inputs["rotationToLatestKeyVersionEnabled"] is True
    (service,) = grants(plan, ROLE_KV_CRYPTO_SERVICE_ENCRYPTION_USER)
    assert service.urn in des.dependencies  # the set's identity can reach the key at creation
    (reader,) = grants(plan, ROLE_CONTRIBUTOR)  # Reader is not enough for persistent volumes
    assert reader.inputs["scope"] == des.id and reader.inputs["principalId"] == control_plane_principal(plan)
    cluster = aks(plan)
    assert cluster.inputs["diskEncryptionSetID"] == des.id
    assert reader.urn in cluster.dependencies
    sc = plan.one("kubernetes:storage.k8s.io/v1:StorageClass").inputs
    # Not an AKS built-in class name (managed-premium, managed-csi-premium, ...): AKS owns those.
    assert sc["metadata"]["name"] == ("mlops-premium-retain" if stack == "prod-azure" else "mlops-premium")
    assert sc["provisioner"] == "disk.csi.azure.com"
    assert sc["parameters"]["diskEncryptionSetID"] == des.id


def test_storage_class_helper_without_keys_has_no_encryption_set() -> None:
    from mlops_stack.args import Env
    from mlops_stack.azure.cluster import storage_class

    env = Env(region="eastus", environment="dev")
    assert storage_class(env)["parameters"] == {"skuName": "Premium_LRS", "cachingMode": "ReadOnly"}
    assert storage_class(env, "/subscriptions/s/des")["parameters"]["diskEncryptionSetID"] == "/subscriptions/s/des"


# --- the policy pack -----------------------------------------------------------------------


@pytest.mark.parametrize("stack", STACKS)
def test_policy_pack_reports_no_mandatory_violation(stack: str) -> None:
    violations = run_policy_pack(plan_example(stack))
    assert mandatory(violations) == [], [str(v) for v in mandatory(violations)]


def test_public_network_advisories_in_dev_only() -> None:
    """Dev keeps the registry and the workspace reachable over their public endpoints
    (Entra ID only) and leaves Defender for Containers to the subscription (opt-in);
    prod turns public network access off and Defender on (docs/azure.md, docs/security.md)."""
    dev_policies = sorted(v.policy for v in run_policy_pack(plan_example("dev-azure")))
    assert dev_policies == ["azure-acr-public-network-disabled", "azure-defender-for-containers", "azure-ml-workspace-public-network"]
    assert run_policy_pack(plan_example("prod-azure")) == []
    prod = plan_example("prod-azure")
    assert prod.one(AZ + "containerregistry:Registry").inputs["publicNetworkAccess"] == "Disabled"
    assert prod.one(AZ + "machinelearningservices:Workspace").inputs["publicNetworkAccess"] == "Disabled"


# --- issue 12: encryption at host, Defender for Containers ------------------------------------


@pytest.mark.parametrize("stack", STACKS)
def test_every_aks_pool_encrypts_at_host(stack: str) -> None:
    p = plan_example(stack)
    (cluster,) = p.of_type(AZ + "containerservice:ManagedCluster")
    profiles = cluster.inputs["agentPoolProfiles"]
    pools = p.of_type(AZ + "containerservice:AgentPool")
    assert profiles and len(pools) >= 2  # system profile + general + GPU pools
    assert all(pr["enableEncryptionAtHost"] is True for pr in profiles)
    assert all(pool.inputs["enableEncryptionAtHost"] is True for pool in pools)


def test_defender_for_containers_is_opt_in_and_retained_on_delete() -> None:
    assert plan_example("dev-azure").of_type(AZ + "security:Pricing") == []
    prod = plan_example("prod-azure")
    pricing = prod.one(AZ + "security:Pricing")
    assert pricing.inputs["pricingName"] == "Containers" and pricing.inputs["pricingTier"] == "Standard"
    assert pricing.inputs["scopeId"].startswith("/subscriptions/") and pricing.inputs["scopeId"].count("/") == 2
    assert pricing.retain_on_delete is True
