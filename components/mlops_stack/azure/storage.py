"""Azure artifact store: one StorageV2 account holding the spec's buckets as blob
containers.

The account: HTTPS only, TLS 1.2 minimum, no public blob access, no shared-key access
(Entra ID only, OAuth by default in the portal), no cross-tenant replication,
infrastructure (double) encryption with the stack's customer-managed key through the
Keys identity; blob versioning, blob and container soft delete
(``storage.softDeleteDays``), change feed; a lifecycle policy per container (expire
non-current versions and, if asked, current blobs). Dev: LRS, reachable through the
public endpoint with Entra auth. Prod: geo-zone-redundant (GZRS), default-deny network
rules, public network access off and a private endpoint.

The account and the containers are protected and retained on delete in prod.
``storage.accessLogs`` (diagnostic settings to Log Analytics) is not implemented on
Azure yet: see docs/azure.md.
"""

from __future__ import annotations

from typing import Any

import pulumi
from pulumi_azure_native import storage

from mlops_stack.args import ArtifactStoreArgs, Env, resource_tags, stateful_opts
from mlops_stack.azure._naming import container_name, storage_account_name
from mlops_stack.azure._shared import private_endpoint, sibling, component_opts
from mlops_stack.contracts import Keys
from mlops_stack.spec import BucketSpec, StorageSpec

#: Change feed retention (days); the feed itself is what backup and audit tools read.
CHANGE_FEED_RETENTION_DAYS = 90


def replication_sku(env: Env) -> str:
    return "Standard_GZRS" if env.is_prod else "Standard_LRS"


def lifecycle_rules(buckets: list[BucketSpec]) -> list[storage.ManagementPolicyRuleArgs]:
    """One rule per container that needs one (prefix ``<container>/``)."""
    rules = []
    for b in buckets:
        base_blob = (
            storage.ManagementPolicyBaseBlobArgs(delete=storage.DateAfterModificationArgs(days_after_modification_greater_than=b.expiration_days))
            if b.expiration_days
            else None
        )
        version = (
            storage.ManagementPolicyVersionArgs(delete=storage.DateAfterCreationArgs(days_after_creation_greater_than=b.noncurrent_version_expiration_days))
            if b.versioning and b.noncurrent_version_expiration_days
            else None
        )
        if base_blob is None and version is None:
            continue
        rules.append(
            storage.ManagementPolicyRuleArgs(
                name=f"{b.name}-lifecycle",
                type="Lifecycle",
                enabled=True,
                definition=storage.ManagementPolicyDefinitionArgs(
                    filters=storage.ManagementPolicyFilterArgs(blob_types=["blockBlob"], prefix_match=[f"{b.name}/"]),
                    actions=storage.ManagementPolicyActionArgs(base_blob=base_blob, version=version),
                ),
            )
        )
    return rules


def check_buckets(spec: StorageSpec) -> list[str]:
    """Container names for the spec's buckets (ConfigError for a name Azure refuses)."""
    return [container_name(b.name, f"storage.buckets[{i}].name") for i, b in enumerate(spec.buckets)]


def account_encryption(keys: Keys | None) -> tuple[storage.EncryptionArgs, storage.IdentityArgs | None, list[pulumi.Resource]]:
    """The storage account's encryption (the stack's customer-managed key through the CMK
    identity when there are keys, else Microsoft-managed), its identity, and what the
    account must wait for."""
    if keys is not None:
        encryption = storage.EncryptionArgs(
            key_source="Microsoft.Keyvault",
            require_infrastructure_encryption=True,
            key_vault_properties=storage.KeyVaultPropertiesArgs(key_name=keys.key_name, key_vault_uri=keys.vault_uri),
            encryption_identity=storage.EncryptionIdentityArgs(encryption_user_assigned_identity=keys.cmk_identity_id),
            services=storage.EncryptionServicesArgs(
                blob=storage.EncryptionServiceArgs(enabled=True, key_type="Account"),
                file=storage.EncryptionServiceArgs(enabled=True, key_type="Account"),
            ),
        )
        identity = storage.IdentityArgs(type="UserAssigned", user_assigned_identities=[keys.cmk_identity_id])
        depends = list(keys.cmk_ready)
    else:
        encryption = storage.EncryptionArgs(key_source="Microsoft.Storage", require_infrastructure_encryption=True)
        identity, depends = None, []
    return encryption, identity, depends


class ArtifactStore(pulumi.ComponentResource):
    """``mlops:azure:ArtifactStore``.

    Outputs: ``bucket_uris`` (``https://<account>.blob.core.windows.net/<container>``),
    ``bucket_names`` (container names), ``container_ids`` (ARM IDs, the scopes of
    per-container role assignments), ``account_name``, ``account_id``, ``blob_endpoint``.
    """

    bucket_uris: dict[str, pulumi.Output[str]]
    bucket_names: dict[str, pulumi.Output[str]]
    container_ids: dict[str, pulumi.Output[str]]
    account_name: pulumi.Output[str]
    account_id: pulumi.Output[str]
    blob_endpoint: pulumi.Output[str]
    network: Any
    #: Key child resources, exposed for wiring what the stack does not (docs/components.md).
    CHILDREN = ('storage_account', 'containers')
    storage_account: storage.StorageAccount
    containers: dict[str, storage.BlobContainer]

    def __init__(self, name: str, args: ArtifactStoreArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("mlops:azure:ArtifactStore", name, None, component_opts(opts))
        env, spec, keys = args.env, args.storage, args.keys
        names = check_buckets(spec)
        net = sibling(args, opts, "network")
        tags = resource_tags(env)
        private = bool(net.private_endpoints)

        encryption, identity, depends = account_encryption(keys)
        account = self._account(name, env, net, private, encryption, identity, depends, tags)
        blob_service = self._blob_service(name, args, net, account)

        blob = account.primary_endpoints.apply(lambda e: e.blob)
        self._containers(name, args, names, net, account, blob_service, blob)
        blob_pe = private_endpoint(self, f"{name}-blob-pe", net=net, target_id=account.id, group_id="blob", tags=tags) if private else None

        self.network = net
        #: The blob private endpoint's ARM ID (prod), ``None`` without one.
        self.blob_private_endpoint_id = blob_pe.id if blob_pe is not None else None
        self.account_name = account.name
        self.account_id = account.id
        self.storage_account = account
        self.blob_endpoint = blob
        self.register_outputs(
            {
                "bucket_uris": self.bucket_uris,
                "bucket_names": self.bucket_names,
                "container_ids": self.container_ids,
                "account_name": self.account_name,
                "account_id": self.account_id,
            }
        )

    def _account(
        self,
        name: str,
        env: Env,
        net: Any,
        private: bool,
        encryption: storage.EncryptionArgs,
        identity: storage.IdentityArgs | None,
        depends: list[pulumi.Resource],
        tags: dict[str, str],
    ) -> storage.StorageAccount:
        """The storage account: no shared keys, no public blobs, TLS 1.2, closed to the
        internet when the network is private."""
        account = storage.StorageAccount(
            f"{name}-account",
            account_name=net.resource_group_id.apply(lambda rg: storage_account_name(env.prefix, rg)),
            resource_group_name=net.resource_group_name,
            location=net.location,
            kind="StorageV2",
            sku=storage.SkuArgs(name=replication_sku(env)),
            access_tier="Hot",
            enable_https_traffic_only=True,
            minimum_tls_version="TLS1_2",
            allow_blob_public_access=False,
            allow_shared_key_access=False,
            allow_cross_tenant_replication=False,
            default_to_o_auth_authentication=True,
            is_hns_enabled=False,
            public_network_access="Disabled" if private else "Enabled",
            network_rule_set=storage.NetworkRuleSetArgs(
                default_action="Deny" if private else "Allow", bypass="AzureServices", ip_rules=[], virtual_network_rules=[]
            ),
            encryption=encryption,
            identity=identity,
            tags=tags,
            opts=stateful_opts(self, env, depends_on=depends),
        )
        return account

    def _blob_service(self, name: str, args: ArtifactStoreArgs, net: Any, account: storage.StorageAccount) -> storage.BlobServiceProperties:
        """Versioning, soft delete and the change feed, and the buckets' lifecycle rules."""
        env, spec = args.env, args.storage
        blob_service = storage.BlobServiceProperties(
            f"{name}-blob-service",
            resource_group_name=net.resource_group_name,
            account_name=account.name,
            blob_services_name="default",
            is_versioning_enabled=True,
            delete_retention_policy=storage.DeleteRetentionPolicyArgs(enabled=True, days=spec.soft_delete_days, allow_permanent_delete=False),
            container_delete_retention_policy=storage.DeleteRetentionPolicyArgs(enabled=True, days=spec.soft_delete_days),
            change_feed=storage.ChangeFeedArgs(enabled=True, retention_in_days=CHANGE_FEED_RETENTION_DAYS),
            opts=stateful_opts(self, env),
        )
        rules = lifecycle_rules(list(spec.buckets))
        if rules:
            storage.ManagementPolicy(
                f"{name}-lifecycle",
                resource_group_name=net.resource_group_name,
                account_name=account.name,
                management_policy_name="default",
                policy=storage.ManagementPolicySchemaArgs(rules=rules),
                opts=stateful_opts(self, env, depends_on=[blob_service]),
            )
        return blob_service

    def _containers(
        self,
        name: str,
        args: ArtifactStoreArgs,
        names: list[str],
        net: Any,
        account: storage.StorageAccount,
        blob_service: storage.BlobServiceProperties,
        blob: pulumi.Output[str],
    ) -> None:
        """One blob container per spec bucket (sets ``bucket_uris``, ``bucket_names``,
        ``container_ids``)."""
        env, spec = args.env, args.storage
        self.bucket_uris, self.bucket_names, self.container_ids, self.containers = {}, {}, {}, {}
        for b, cname in zip(spec.buckets, names, strict=True):
            container = storage.BlobContainer(
                f"{name}-{b.name}",
                resource_group_name=net.resource_group_name,
                account_name=account.name,
                container_name=cname,
                public_access="None",
                opts=stateful_opts(self, env, depends_on=[blob_service]),
            )
            self.bucket_names[b.name] = container.name
            self.container_ids[b.name] = container.id
            self.containers[b.name] = container
            self.bucket_uris[b.name] = pulumi.Output.concat(blob, container.name)

    def mlflow_artifact_uri(self, bucket: str, prefix: str) -> pulumi.Output[str]:
        """Where MLflow writes artifacts in container ``bucket`` under ``prefix``: MLflow's
        Azure Blob scheme (``wasbs://<container>@<account>.blob.core.windows.net/<prefix>``);
        it authenticates with ``DefaultAzureCredential`` (the workload identity) when no
        connection string or key is set."""
        return pulumi.Output.concat("wasbs://", self.bucket_names[bucket], "@", self.account_name, ".blob.core.windows.net/", prefix)
