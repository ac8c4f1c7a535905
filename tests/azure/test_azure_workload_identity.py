"""The Azure WorkloadIdentity planned on its own: a user-assigned managed identity
federated with one Kubernetes ServiceAccount, with prefix-conditioned blob roles."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import pulumi
import pytest

from mlops_stack.args import BucketGrant, Env, WorkloadIdentityArgs
from mlops_stack.azure._naming import ROLE_STORAGE_BLOB_DATA_CONTRIBUTOR, ROLE_STORAGE_BLOB_DATA_READER
from mlops_stack.azure.workload_identity import prefix_condition
from mlops_stack.errors import ConfigError
from mlops_stack.azure.mocks import AZURE_SUBSCRIPTION
from mlops_stack.offline.engine import Plan, run_program

ISSUER = "https://eastus.oic.prod-aks.azure.com/00000000-0000-0000-0000-000000000001/22222222-3333-4444-5555-666666666666/"
ACCOUNT = f"/subscriptions/{AZURE_SUBSCRIPTION}/resourceGroups/mlops-dev-rg/providers/Microsoft.Storage/storageAccounts/mlopsdevst1234"
CONTAINERS = {b: f"{ACCOUNT}/blobServices/default/containers/{b}" for b in ("artifacts", "models")}
NET = SimpleNamespace(resource_group_name="mlops-dev-rg", location="eastus")
STORE = SimpleNamespace(bucket_names={"artifacts": "artifacts", "models": "models"}, container_ids=CONTAINERS, network=NET)
CLUSTER = SimpleNamespace(oidc_issuer=ISSUER)
TRACKING = (BucketGrant(bucket="artifacts", prefix="mlflow/", write=True), BucketGrant(bucket="models", prefix="registry/"))
UAI = "azure-native:managedidentity:UserAssignedIdentity"
FIC = "azure-native:managedidentity:FederatedIdentityCredential"
RA = "azure-native:authorization:RoleAssignment"
BLOBS = "Microsoft.Storage/storageAccounts/blobServices/containers/blobs"


def plan(grants: tuple[BucketGrant, ...] = TRACKING, **overrides: Any) -> Plan:
    from mlops_stack.azure import WorkloadIdentity

    def program() -> None:
        values: dict[str, Any] = {
            "env": Env(region="eastus"), "name": "tracking", "cluster": CLUSTER, "namespace": "mlflow",
            "service_account": "mlflow-server", "store": STORE, "grants": grants,
        }
        values.update(overrides)
        wi = WorkloadIdentity("tracking", WorkloadIdentityArgs(**values))
        pulumi.export("annotations", wi.service_account_annotations)
        pulumi.export("pod_labels", wi.pod_labels)
        pulumi.export("identity", wi.identity)

    return run_program(program, stack="wi")


@pytest.fixture(scope="module")
def tracking() -> Plan:
    return plan()


def test_an_identity_one_federation_and_one_assignment_per_container_and_access(tracking: Plan) -> None:
    assert tracking.type_counts() == {"mlops:azure:WorkloadIdentity": 1, UAI: 1, FIC: 1, RA: 2}
    uai = tracking.one(UAI)
    assert (uai.inputs["resourceGroupName"], uai.inputs["location"]) == ("mlops-dev-rg", "eastus")


def test_federation_trusts_the_cluster_issuer_for_one_service_account(tracking: Plan) -> None:
    fic, uai = tracking.one(FIC), tracking.one(UAI)
    assert fic.inputs == {
        "resourceGroupName": "mlops-dev-rg",
        "resourceName": uai.outputs["name"],
        "federatedIdentityCredentialResourceName": "kubernetes-service-account",
        "issuer": ISSUER,
        "subject": "system:serviceaccount:mlflow:mlflow-server",
        "audiences": ["api://AzureADTokenExchange"],
    }


def test_roles_are_scoped_to_the_container_and_conditioned_on_the_prefix(tracking: Plan) -> None:
    uai = tracking.one(UAI)
    by_scope = {r.inputs["scope"]: r.inputs for r in tracking.of_type(RA)}
    assert set(by_scope) == {CONTAINERS["artifacts"], CONTAINERS["models"]}
    for inputs in by_scope.values():
        assert inputs["principalId"] == uai.outputs["principalId"]
        assert inputs["principalType"] == "ServicePrincipal"
        assert inputs["conditionVersion"] == "2.0"
    writer, reader = by_scope[CONTAINERS["artifacts"]], by_scope[CONTAINERS["models"]]
    roles = f"/subscriptions/{AZURE_SUBSCRIPTION}/providers/Microsoft.Authorization/roleDefinitions/"
    assert writer["roleDefinitionId"] == roles + ROLE_STORAGE_BLOB_DATA_CONTRIBUTOR
    assert reader["roleDefinitionId"] == roles + ROLE_STORAGE_BLOB_DATA_READER
    container = "@Resource[Microsoft.Storage/storageAccounts/blobServices/containers:name] StringEquals 'models'"
    assert reader["condition"] == (
        f"((!(ActionMatches{{'{BLOBS}/read'}} AND NOT SubOperationMatches{{'Blob.List'}}))"
        f" OR ({container} AND (@Resource[{BLOBS}:path] StringStartsWith 'registry/')))"
        f" AND ((!(ActionMatches{{'{BLOBS}/read'}} AND SubOperationMatches{{'Blob.List'}}))"
        f" OR ({container} AND (@Request[{BLOBS}:prefix] StringStartsWith 'registry/' OR @Request[{BLOBS}:prefix] StringEquals 'registry')))"
    )
    # The writer's condition adds the blob write actions, limited to the same prefix.
    container = container.replace("'models'", "'artifacts'")
    assert writer["condition"] == prefix_condition("artifacts", ["mlflow/"], True)
    assert writer["condition"].endswith(
        f" AND ((!(ActionMatches{{'{BLOBS}/write'}}) AND !(ActionMatches{{'{BLOBS}/add/action'}})"
        f" AND !(ActionMatches{{'{BLOBS}/delete'}}) AND !(ActionMatches{{'{BLOBS}/move/action'}}))"
        f" OR ({container} AND (@Resource[{BLOBS}:path] StringStartsWith 'mlflow/')))"
    )


def test_prefixes_on_one_container_share_an_assignment() -> None:
    p = plan(grants=(BucketGrant(bucket="models", prefix="a/"), BucketGrant(bucket="models", prefix="b/")))
    (ra,) = p.of_type(RA)
    assert f"@Resource[{BLOBS}:path] StringStartsWith 'a/' OR @Resource[{BLOBS}:path] StringStartsWith 'b/'" in ra.inputs["condition"]
    assert (
        f"@Request[{BLOBS}:prefix] StringStartsWith 'a/' OR @Request[{BLOBS}:prefix] StringEquals 'a'"
        f" OR @Request[{BLOBS}:prefix] StringStartsWith 'b/' OR @Request[{BLOBS}:prefix] StringEquals 'b'"
    ) in ra.inputs["condition"]


def test_a_listing_of_the_folder_name_without_its_slash_is_admitted_for_kserve() -> None:
    """KServe v0.20.0's storage initializer strips the folder's slashes before listing
    (``list_blobs(name_starts_with="models-dir/v1")``): the list clause admits exactly that
    name too, and nothing shorter; reads still need the path under the prefix."""
    condition = prefix_condition("models", ["distilbert/v1/"], False)
    read, listing = condition.split(" AND ((!(ActionMatches")
    assert f"@Request[{BLOBS}:prefix] StringEquals 'distilbert/v1'" in listing
    assert "StringEquals 'distilbert/v1'" not in read and f"@Resource[{BLOBS}:path] StringStartsWith 'distilbert/v1/'" in read
    assert "StringEquals 'distilbert'" not in condition


def test_annotation_is_the_client_id_and_pods_carry_the_use_label(tracking: Plan) -> None:
    client_id = tracking.one(UAI).outputs["clientId"]
    assert tracking.outputs["annotations"] == {"azure.workload.identity/client-id": client_id}
    assert tracking.outputs["identity"] == client_id
    assert tracking.outputs["pod_labels"] == {"azure.workload.identity/use": "true"}


def test_a_store_without_containers_is_a_config_error() -> None:
    with pytest.raises(ConfigError) as info:
        plan(store=SimpleNamespace(bucket_names={"artifacts": "artifacts"}, network=NET), grants=(BucketGrant(bucket="artifacts", prefix="a/"),))
    assert str(info.value) == "WorkloadIdentityArgs.store: has no container_ids (pass the stack's Azure ArtifactStore)"


def test_every_resource_it_plans_is_free_in_the_pricing_rules(tracking: Plan) -> None:
    from mlops_stack.azure import pricing

    custom = {r.type for r in tracking.resources if r.custom}
    assert custom <= set(pricing.FREE)
    assert not custom & set(pricing.RULES)
