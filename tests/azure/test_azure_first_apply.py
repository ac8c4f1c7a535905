"""Azure apply-time failures a mock accepts (issue 13): the managed network of a private
workspace, data capture's write access, endpoint name uniqueness, registry name length."""

from __future__ import annotations

from mlops_stack.azure._naming import ROLE_STORAGE_BLOB_DATA_CONTRIBUTOR, bounded_name
from mlops_stack.azure.endpoint import ENDPOINT_NAME_MAX, endpoint_seed
from mlops_stack.azure.model_registry import registry_name
from mlops_stack.args import Env
from planning import plan_example

AZ = "azure-native:"


def test_private_workspace_reaches_the_registry_through_an_approved_rule() -> None:
    plan = plan_example("prod-azure")
    ws = plan.one(AZ + "machinelearningservices:Workspace")
    registry = plan.one(AZ + "machinelearningservices:Registry")
    (rule,) = plan.of_type(AZ + "machinelearningservices:ManagedNetworkSettingsRule")
    assert rule.inputs["workspaceName"] == ws.outputs["name"]
    assert rule.inputs["properties"] == {
        "type": "PrivateEndpoint",
        "category": "UserDefined",
        "destination": {"serviceResourceId": registry.id, "subresourceTarget": "amlregistry"},
    }
    assert plan_example("dev-azure").of_type(AZ + "machinelearningservices:ManagedNetworkSettingsRule") == []


def test_data_capture_gives_the_endpoint_identity_write_access() -> None:
    plan = plan_example("prod-azure")  # its endpoint captures requests
    identity = plan.one(AZ + "managedidentity:UserAssignedIdentity", "mlops-endpoint-sentiment-identity")
    writers = [r for r in plan.of_type(AZ + "authorization:RoleAssignment") if r.inputs["roleDefinitionId"].endswith("/" + ROLE_STORAGE_BLOB_DATA_CONTRIBUTOR)]
    (writer,) = [w for w in writers if w.inputs["principalId"] == identity.outputs["principalId"]]
    assert writer.inputs["scope"] == plan.one(AZ + "storage:StorageAccount").id
    # The deployment (which starts capturing) waits for it.
    assert writer.urn in plan.one(AZ + "machinelearningservices:OnlineDeployment").dependencies
    # dev captures nothing: no write access.
    dev = plan_example("dev-azure")
    dev_identity = dev.one(AZ + "managedidentity:UserAssignedIdentity", "mlops-endpoint-sentiment-identity").outputs["principalId"]
    assert not [r for r in dev.of_type(AZ + "authorization:RoleAssignment")
                if r.inputs["roleDefinitionId"].endswith("/" + ROLE_STORAGE_BLOB_DATA_CONTRIBUTOR) and r.inputs["principalId"] == dev_identity]


def test_endpoint_name_hash_is_seeded_with_the_resource_group_id() -> None:
    a = endpoint_seed("00000000-0000-0000-0000-000000000001", "mlops-prod-rg")
    b = endpoint_seed("00000000-0000-0000-0000-000000000002", "mlops-prod-rg")
    assert a == "/subscriptions/00000000-0000-0000-0000-000000000001/resourcegroups/mlops-prod-rg"
    # Same resource group name in two subscriptions: two different endpoint names.
    assert bounded_name("mlops-prod-sentiment", ENDPOINT_NAME_MAX, seed=a) != bounded_name("mlops-prod-sentiment", ENDPOINT_NAME_MAX, seed=b)
    plan = plan_example("prod-azure")
    ep = plan.one(AZ + "machinelearningservices:OnlineEndpoint")
    rg = plan.one(AZ + "resources:ResourceGroup").outputs["name"]
    sub = plan.one(AZ + "authorization:RoleAssignment", "mlops-endpoint-sentiment-model-reader").inputs["scope"].split("/")[2]
    assert ep.inputs["endpointName"] == bounded_name("mlops-prod-sentiment", ENDPOINT_NAME_MAX, seed=endpoint_seed(sub, rg))


def test_registry_names_fit_32_characters() -> None:
    env = Env(region="eastus", environment="staging", name="abcdefghijklmnop")
    name = registry_name(env, "a-registry-name-of-31-characters"[:31], "/subscriptions/s/resourcegroups/rg")
    assert len(name) <= 32


def test_registry_name_is_hashed_with_the_resource_group_id() -> None:
    # Azure ML registry names are global and immutable (issue 26): the same spec in two
    # subscriptions gets two names, and the plan's name is the hash of its resource group ID.
    env = Env(region="eastus", environment="prod", name="mlops")
    a = registry_name(env, "models", "/subscriptions/00000000-0000-0000-0000-000000000001/resourceGroups/mlops-prod-rg")
    b = registry_name(env, "models", "/subscriptions/00000000-0000-0000-0000-000000000002/resourceGroups/mlops-prod-rg")
    assert a != b and a.startswith("mlops-prod-models-") and len(a) == len("mlops-prod-models-") + 6
    plan = plan_example("prod-azure")
    rg_id = plan.one(AZ + "resources:ResourceGroup").id
    spec_name = plan.one(AZ + "machinelearningservices:Registry").inputs["registryName"]
    assert spec_name == bounded_name("mlops-prod-models", 32, seed=rg_id)
