"""Azure model registry: an Azure ML registry (the model registry proper,
``model_registry_id`` = its ARM ID) and the Azure ML workspace the online endpoints are
deployed in.

Why the workspace lives here: on Azure, registered models, environments and managed
online endpoints all belong to a workspace, and the workspace must be wired to the
stack's storage account, Key Vault, registry and Application Insights. Of the
capabilities, the model registry is the one created after all of those, so it owns the
workspace (with its Log Analytics workspace and Application Insights component) and
the endpoints read ``workspace_name`` from it. Azure endpoints therefore need
``modelRegistry.enabled: true`` (docs/azure.md).

Workspace: system-assigned managed identity, identity-based access to its storage (the
account allows no shared keys), one identity-based datastore per spec bucket, public
network access off in prod with a private endpoint and a managed network that allows
internet outbound (the service creates private endpoints to the associated resources).

Encryption: with a ``keys`` component the workspace is encrypted with the stack's
customer-managed key (``encryption.status: Enabled``; creation-time only). The key is
reached as the ``Keys`` CMK identity (user-assigned, *Key Vault Crypto Service Encryption
User* on the key), which the workspace carries next to its system-assigned identity (the
system identity stays the primary one: the datastores use it). Azure ML then keeps the
workspace metadata in a Cosmos DB account, an AI Search service and a storage account in
a Microsoft-managed resource group of the subscription, encrypted with that key (billed
to the subscription; docs/azure.md). Service-side CMK (no such resources) is a preview
and is not used.
"""

from __future__ import annotations

from typing import Any

import pulumi
from pulumi_azure_native import applicationinsights, machinelearningservices as ml, operationalinsights

from mlops_stack.args import Env, ModelRegistryArgs, child_opts, resource_tags, stateful_opts
from mlops_stack.azure._naming import ROLE_READER, bounded_name
from mlops_stack.azure._shared import private_endpoint, role_assignment, sibling, component_opts

#: Log Analytics retention (days) per environment (30 is the included retention).
LOG_RETENTION_DAYS = {"prod": 90, "staging": 60, "dev": 30}
#: Azure ML workspace names: 3-33 characters.
ML_NAME_MAX = 33
#: Azure ML registry names: at most 32 characters, starting with a letter or digit, then
#: letters, digits, '-' and '_' (Registries - Create Or Update, registryName). Globally
#: unique and immutable, so the name carries a hash of the resource group's ARM ID.
REGISTRY_NAME_MAX = 32
#: The managed network of a private (prod) workspace: only approved outbound traffic.
#: Azure ML adds the required rules itself (private endpoints to the workspace's storage,
#: key vault and container registry; the service tags the service needs); the stack adds
#: a private-endpoint rule to its Azure ML registry. ``provisionNetworkNow``: the network
#: exists when the first online deployment is created (otherwise its creation fails).
MANAGED_NETWORK_ISOLATION = "AllowOnlyApprovedOutbound"


def datastore_name(bucket: str) -> str:
    """Datastore names allow letters, digits and underscores only."""
    return bucket.replace("-", "_")


def workspace_name(env: Env) -> str:
    return bounded_name(f"{env.prefix}-mlw", ML_NAME_MAX)


def registry_name(env: Env, name: str, seed: str) -> str:
    """``<prefix>-<name>-<hash6>``: Azure ML registry names are global and immutable; the
    hash of ``seed`` (the resource group's ARM ID, subscription included) keeps two
    subscriptions deploying the same spec from colliding."""
    return bounded_name(f"{env.prefix}-{name}", REGISTRY_NAME_MAX, seed=seed)


def workspace_encryption(keys: Any) -> tuple[ml.EncryptionPropertyArgs | None, ml.ManagedServiceIdentityArgs, list[pulumi.Resource]]:
    """(encryption, identity, depends_on) of the workspace: the stack key through the
    ``Keys`` CMK identity, or Microsoft-managed keys without a ``keys`` component."""
    if keys is None:
        return None, ml.ManagedServiceIdentityArgs(type="SystemAssigned"), []
    encryption = ml.EncryptionPropertyArgs(
        status="Enabled",
        key_vault_properties=ml.KeyVaultPropertiesArgs(
            key_vault_arm_id=keys.vault_id,
            # Azure ML takes a versioned key identifier (a rotation is applied by the next
            # `pulumi up` after a refresh; only keys of the same vault are accepted).
            key_identifier=keys.key_uri_with_version,
            identity_client_id=keys.cmk_identity_client_id,
        ),
        identity=ml.IdentityForCmkArgs(user_assigned_identity=keys.cmk_identity_id),
    )
    identity = ml.ManagedServiceIdentityArgs(type="SystemAssigned,UserAssigned", user_assigned_identities=[keys.cmk_identity_id])
    return encryption, identity, list(getattr(keys, "cmk_ready", []) or [])


class ModelRegistry(pulumi.ComponentResource):
    """``mlops:azure:ModelRegistry``.

    Outputs: ``model_registry_id`` (the Azure ML registry's ARM ID), ``registry_name``,
    ``workspace_name``, ``workspace_id``, ``application_insights_id``,
    ``log_analytics_workspace_id``, ``datastore_names`` (bucket -> datastore). Also
    ``resource_group_name``, ``location``, ``container_registry_id`` and ``private``
    for the endpoints.
    """

    model_registry_id: pulumi.Output[str]
    registry_name: pulumi.Output[str]
    workspace_name: pulumi.Output[str]
    workspace_id: pulumi.Output[str]
    application_insights_id: pulumi.Output[str]
    log_analytics_workspace_id: pulumi.Output[str]
    datastore_names: dict[str, pulumi.Output[str]]
    resource_group_name: pulumi.Output[str]
    location: str
    container_registry_id: pulumi.Output[str] | None
    private: bool
    mlflow_tracking_uri: pulumi.Output[str]

    def __init__(self, name: str, args: ModelRegistryArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("mlops:azure:ModelRegistry", name, None, component_opts(opts))
        env = args.env
        net = sibling(args, opts, "network")
        store = sibling(args, opts, "store", via=())
        acr = sibling(args, opts, "container_registry", via=(), parent_attr="registry", required=False)
        tags = resource_tags(env)
        rg = net.resource_group_name
        private = bool(net.private_endpoints)

        logs, insights = self._monitoring(name, env, rg, net.location, tags)
        workspace = self._workspace(name, args, net, store, acr, insights, private, tags)
        self.datastore_names = self._datastores(name, rg, workspace, store)
        registry = self._registry(name, args, net, workspace, private, tags)

        self.model_registry_id = registry.id
        self.registry_name = registry.name
        self.workspace_name = workspace.name
        self.workspace_id = workspace.id
        self.application_insights_id = insights.id
        self.log_analytics_workspace_id = logs.id
        self.resource_group_name = rg
        self.location = net.location
        self.container_registry_id = acr.registry_id if acr is not None else None
        #: The workspace's storage account (its default datastore holds MLflow artifacts).
        self.storage_account_id = store.account_id
        self.private = private
        #: The workspace's MLflow tracking URI (``azureml://<region>.api.azureml.ms/mlflow/v1.0/...``).
        self.mlflow_tracking_uri = workspace.ml_flow_tracking_uri
        self.network: Any = net
        self.register_outputs(
            {
                "model_registry_id": self.model_registry_id,
                "registry_name": self.registry_name,
                "workspace_name": self.workspace_name,
                "workspace_id": self.workspace_id,
                "application_insights_id": self.application_insights_id,
                "log_analytics_workspace_id": self.log_analytics_workspace_id,
                "datastore_names": self.datastore_names,
            }
        )

    def _monitoring(
        self, name: str, env: Env, rg: pulumi.Input[str], location: str, tags: dict[str, str]
    ) -> tuple[operationalinsights.Workspace, applicationinsights.Component]:
        """The workspace's Log Analytics workspace and Application Insights component."""
        logs = operationalinsights.Workspace(
            f"{name}-logs",
            resource_group_name=rg,
            location=location,
            sku=operationalinsights.WorkspaceSkuArgs(name="PerGB2018"),
            retention_in_days=LOG_RETENTION_DAYS.get(env.environment, 30),
            tags=tags,
            opts=child_opts(self),
        )
        insights = applicationinsights.Component(
            f"{name}-insights",
            resource_group_name=rg,
            location=location,
            kind="web",
            application_type="web",
            ingestion_mode="LogAnalytics",
            workspace_resource_id=logs.id,
            tags=tags,
            opts=child_opts(self),
        )
        return logs, insights

    def _workspace(
        self,
        name: str,
        args: ModelRegistryArgs,
        net: Any,
        store: Any,
        acr: Any,
        insights: applicationinsights.Component,
        private: bool,
        tags: dict[str, str],
    ) -> ml.Workspace:
        """The Azure ML workspace (the stack key when there is one), with a private
        endpoint when the network is private."""
        env, keys = args.env, args.keys
        rg = net.resource_group_name
        encryption, identity, depends = workspace_encryption(keys)
        workspace = ml.Workspace(
            f"{name}-workspace",
            workspace_name=workspace_name(env),
            resource_group_name=rg,
            location=net.location,
            kind="Default",
            sku=ml.SkuArgs(name="Basic", tier="Basic"),
            identity=identity,
            encryption=encryption,
            friendly_name=f"mlops-stack {env.prefix}",
            description="Managed online endpoints and models of mlops-stack",
            storage_account=store.account_id,
            key_vault=keys.vault_id if keys is not None else None,
            container_registry=acr.registry_id if acr is not None else None,
            application_insights=insights.id,
            # The storage account allows no shared keys: the workspace's own datastores use its identity.
            system_datastores_auth_mode="identity",
            public_network_access="Disabled" if private else "Enabled",
            managed_network=ml.ManagedNetworkSettingsArgs(isolation_mode=MANAGED_NETWORK_ISOLATION) if private else None,
            provision_network_now=True if private else None,
            hbi_workspace=False,
            v1_legacy_mode=False,
            tags=tags,
            # Encryption is creation-time only: the identity must hold its key role first.
            opts=stateful_opts(self, env, depends_on=depends),
        )
        if private:
            private_endpoint(self, f"{name}-workspace-pe", net=net, target_id=workspace.id, group_id="amlworkspace", tags=tags)
        pe_id = getattr(store, "blob_private_endpoint_id", None)
        if pe_id is not None:
            # Azure ML ("Network traffic flow when using a secured workspace", studio data
            # access): with public access off, the workspace identity needs Reader on the
            # storage account's private endpoint to check the workspace and storage subnets.
            role_assignment(
                self,
                f"{name}-workspace-storage-pe-reader",
                subscription_id=net.resource_group_id.apply(lambda rg_id: rg_id.split("/")[2]),
                role=ROLE_READER,
                scope=pe_id,
                principal_id=workspace.identity.apply(lambda i: i.principal_id if i else ""),
                description=f"mlops-stack {env.prefix}: the workspace checks the storage private endpoint",
            )
        return workspace

    def _datastores(self, name: str, rg: pulumi.Input[str], workspace: ml.Workspace, store: Any) -> dict[str, pulumi.Output[str]]:
        """One identity-based datastore per spec bucket: bucket -> datastore name."""
        names: dict[str, pulumi.Output[str]] = {}
        for bucket, container in store.bucket_names.items():
            ds = ml.Datastore(
                f"{name}-datastore-{bucket}",
                name=datastore_name(bucket),
                resource_group_name=rg,
                workspace_name=workspace.name,
                properties=ml.AzureBlobDatastoreArgs(
                    datastore_type="AzureBlob",
                    account_name=store.account_name,
                    container_name=container,
                    endpoint="core.windows.net",
                    protocol="https",
                    credentials=ml.NoneDatastoreCredentialsArgs(credentials_type="None"),
                    service_data_access_auth_identity="WorkspaceSystemAssignedIdentity",
                    description=f"mlops-stack bucket {bucket}",
                ),
                opts=child_opts(self),
            )
            names[bucket] = ds.name
        return names

    def _registry(
        self,
        name: str,
        args: ModelRegistryArgs,
        net: Any,
        workspace: ml.Workspace,
        private: bool,
        tags: dict[str, str],
    ) -> ml.Registry:
        """The Azure ML registry (the model registry proper) and, when private, the
        workspace's outbound rule to it."""
        env, spec = args.env, args.registry
        rg, location = net.resource_group_name, net.location
        registry = ml.Registry(
            f"{name}-registry",
            registry_name=net.resource_group_id.apply(lambda rg_id: registry_name(env, spec.name, rg_id)),
            resource_group_name=rg,
            location=location,
            identity=ml.ManagedServiceIdentityArgs(type="SystemAssigned"),
            public_network_access="Enabled",
            region_details=[
                ml.RegistryRegionArmDetailsArgs(
                    location=location,
                    acr_details=[ml.AcrDetailsArgs(system_created_acr_account=ml.SystemCreatedAcrAccountArgs(acr_account_sku="Premium"))],
                    storage_account_details=[
                        ml.StorageAccountDetailsArgs(
                            system_created_storage_account=ml.SystemCreatedStorageAccountArgs(
                                storage_account_type="Standard_ZRS" if env.is_prod else "Standard_LRS",
                                storage_account_hns_enabled=False,
                                allow_blob_public_access=False,
                            )
                        )
                    ],
                )
            ],
            tags={**tags, "description": spec.description[:256]},
            opts=stateful_opts(self, env),
        )

        if private:
            # The registry is outside the workspace's managed network: approved outbound only
            # reaches it through a private endpoint of the managed network.
            ml.ManagedNetworkSettingsRule(
                f"{name}-outbound-registry",
                rule_name="mlops-registry",
                resource_group_name=rg,
                workspace_name=workspace.name,
                properties=ml.PrivateEndpointOutboundRuleArgs(
                    type="PrivateEndpoint",
                    category="UserDefined",
                    destination=ml.PrivateEndpointDestinationArgs(service_resource_id=registry.id, subresource_target="amlregistry"),
                ),
                opts=child_opts(self),
            )
        return registry
