"""The Azure target's own spec section (``mlops-stack:azure``), ignored on other targets.

Registered as ``Target.options_model``; ``spec.spec_model()`` adds it to the spec.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field, model_validator

from mlops_stack.spec import RESOURCE_GROUP, Guid, _Model, _pattern, _rule

#: ``kubelogin get-token --login`` modes a kubeconfig can use without a person at the
#: keyboard (Azure/kubelogin ``pkg/internal/token/options.go``: devicecode, interactive
#: and ropc are left out). azurecli: the runner's ``az login``; workloadidentity:
#: ``AZURE_CLIENT_ID``, ``AZURE_TENANT_ID``, ``AZURE_FEDERATED_TOKEN_FILE`` (and
#: ``AZURE_AUTHORITY_HOST``) in the environment; spn: a service principal secret or
#: certificate from ``AZURE_CLIENT_ID``/``AZURE_CLIENT_SECRET`` (or
#: ``AAD_SERVICE_PRINCIPAL_CLIENT_ID``/``_SECRET``) and the tenant; msi: the VM's managed
#: identity (a user-assigned one by ``kubeloginClientId``).
KubeloginMode = Literal["azurecli", "workloadidentity", "spn", "msi"]
#: Who runs ``pulumi up``: the ``principalType`` of the deployer's role assignment.
PrincipalType = Literal["User", "Group", "ServicePrincipal"]


class AzureSpec(_Model):
    """Azure-only settings (``mlops-stack:azure``)."""

    subscription_id: Guid | None = Field(default=None, description="Subscription ID (a GUID); default: the provider's.")
    tenant_id: Guid | None = Field(default=None, description="Entra tenant ID (a GUID); default: the provider's.")
    resource_group_name: Annotated[
        str,
        _pattern(RESOURCE_GROUP, "is not a resource group name Azure accepts: 1-90 letters, digits, '_', '-', '.', '(' and ')', not ending in '.'"),
    ] | None = Field(default=None, description="Existing resource group to use instead of creating one.")
    admin_group_object_ids: list[Guid] = Field(default_factory=list, description="Entra group object IDs that administer the AKS cluster.")
    kubelogin: KubeloginMode = Field(
        default="azurecli",
        description="How the kubeconfig (the stack's own Kubernetes provider and the kubeconfig output) gets an Entra token: "
        "azurecli (the runner's `az login`), workloadidentity (AZURE_CLIENT_ID, AZURE_TENANT_ID, AZURE_FEDERATED_TOKEN_FILE), "
        "spn (AZURE_CLIENT_ID + AZURE_CLIENT_SECRET) or msi (the machine's managed identity).",
    )
    kubelogin_client_id: Guid | None = Field(
        default=None, description="kubelogin: msi only: the client ID of the user-assigned managed identity to use (default: the system-assigned one)."
    )
    deployer_principal_type: PrincipalType | None = Field(
        default=None,
        description="principalType of the identity running `pulumi up` (its AKS admin role assignment). Unset: ServicePrincipal when "
        "ARM_CLIENT_ID/AZURE_CLIENT_ID/ARM_USE_MSI/ARM_USE_OIDC or the azure-native clientId/useMsi/useOidc config is set, else User; "
        "set it when that guess is wrong (a service principal signed in through `az login`).",
    )
    tracking_group_object_ids: list[Guid] = Field(
        default_factory=list,
        description="Entra group object IDs whose members log runs and register models in the workspace's MLflow (tracking.mode: managed): granted AzureML Data Scientist on the workspace, and Storage Blob Data Contributor on the storage account limited to the workspace's azureml* containers (artifacts and models go through the caller's identity).",
    )
    defender_for_containers: bool = Field(
        default=False,
        description="Turn on Microsoft Defender for Containers for the whole subscription (ACR image scanning, AKS runtime "
        "protection; billed per vCore). Off: leave it to the subscription's security baseline.",
    )

    @model_validator(mode="after")
    def _kubelogin_client_id_for_msi(self) -> AzureSpec:
        if self.kubelogin_client_id is not None and self.kubelogin != "msi":
            raise _rule(
                "is only used with kubelogin: msi (a user-assigned managed identity)",
                "remove it, or set kubelogin: msi",
                at=("kubeloginClientId",),
                value=str(self.kubelogin_client_id),
            )
        return self
