"""Azure keys: a Key Vault (RBAC authorization, purge protection, soft delete, default-deny
firewall with the trusted-services bypass, a private endpoint in prod) holding one
customer-managed key with a rotation policy, and the user-assigned identity the
services that encrypt with it (storage, ACR Premium) act as, granted *Key Vault Crypto
Service Encryption User* on that key only.

A second key, ``<prefix>-etcd``, is for AKS KMS etcd encryption only: the KMS plugin
encrypts and decrypts with its key (``encrypt``/``decrypt`` key operations, *Key Vault
Crypto User*), while the CMK key above only wraps and unwraps. Keeping them apart means
the AKS control-plane identity can use the etcd key and nothing else, and the services'
identity cannot touch the etcd key. Both rotate on the same policy.

Keys are created through ARM (the control plane), which the vault firewall does not
filter, so the firewall can deny by default in every environment.

Create-only: ARM's ``vaults/keys`` PUT (azure-native ``keyvault.Key``, REST "Keys -
Create If Not Exist") creates the key's first version when the key is absent and
otherwise returns the existing key without writing anything. A later change of
``keys.rotationDays`` (the rotation policy), of the key type (``environment``: HSM keys in
prod) or of size and operations is therefore not applied by ``pulumi up``.
``mlops-stack preflight`` compares the existing keys with the spec and fails with the
command that applies the change (docs/azure.md, "Keys after the first apply").
"""

from __future__ import annotations

from typing import Any

import pulumi
from pulumi_azure_native import keyvault, managedidentity

from mlops_stack.args import Env, KeysArgs, child_opts, resource_tags, stateful_opts
from mlops_stack.azure._naming import ROLE_KV_CRYPTO_SERVICE_ENCRYPTION_USER, key_vault_name
from mlops_stack.azure._shared import client_config, private_endpoint, role_assignment, sibling, component_opts

#: RSA key size of the customer-managed key (storage, ACR and disk encryption accept 2048-4096).
KEY_SIZE = 3072
#: Key operations per key (logical role -> (key name suffix, operations)).
KEY_ROLES = {"cmk": ("cmk", ("wrapKey", "unwrapKey")), "etcd-key": ("etcd", ("encrypt", "decrypt"))}
#: Warn this long before a key version expires (Event Grid ``KeyNearExpiry``).
NOTIFY_BEFORE_EXPIRY = "P30D"
#: A key version expires this many days after the rotation that replaces it is due.
EXPIRY_MARGIN_DAYS = 90


def rotation_policy(rotation_days: int) -> keyvault.RotationPolicyArgs:
    """Rotate every ``rotation_days``; versions expire ``EXPIRY_MARGIN_DAYS`` later."""
    return keyvault.RotationPolicyArgs(
        attributes=keyvault.KeyRotationPolicyAttributesArgs(expiry_time=f"P{rotation_days + EXPIRY_MARGIN_DAYS}D"),
        lifetime_actions=[
            keyvault.LifetimeActionArgs(action=keyvault.ActionArgs(type="rotate"), trigger=keyvault.TriggerArgs(time_after_create=f"P{rotation_days}D")),
            keyvault.LifetimeActionArgs(action=keyvault.ActionArgs(type="notify"), trigger=keyvault.TriggerArgs(time_before_expiry=NOTIFY_BEFORE_EXPIRY)),
        ],
    )


def vault_sku(env: Env) -> tuple[str, str]:
    """(vault SKU, key type): HSM-backed keys (Premium) in prod, software keys elsewhere."""
    return ("premium", "RSA-HSM") if env.is_prod else ("standard", "RSA")


class Keys(pulumi.ComponentResource):
    """``mlops:azure:Keys``.

    Outputs: ``vault_id``, ``vault_name``, ``vault_uri``, ``key_id`` (ARM ID), ``key_name``,
    ``key_uri`` (versionless: services follow rotations), ``key_uri_with_version`` (for
    services that need a version: Azure ML workspace, disk encryption set),
    ``etcd_key_id`` (ARM ID) and ``etcd_key_uri_with_version`` (AKS KMS), ``cmk_identity_id``,
    ``cmk_identity_client_id``, ``cmk_identity_principal_id``, ``tenant_id``,
    ``subscription_id``. Also ``network`` (the ``Network`` it was placed in) and
    ``cmk_ready`` (depend on it before encrypting with the key).
    """

    vault_id: pulumi.Output[str]
    vault_name: pulumi.Output[str]
    vault_uri: pulumi.Output[str]
    key_id: pulumi.Output[str]
    key_name: pulumi.Output[str]
    key_uri: pulumi.Output[str]
    key_uri_with_version: pulumi.Output[str]
    etcd_key_id: pulumi.Output[str]
    etcd_key_uri_with_version: pulumi.Output[str]
    cmk_identity_id: pulumi.Output[str]
    cmk_identity_client_id: pulumi.Output[str]
    cmk_identity_principal_id: pulumi.Output[str]
    tenant_id: pulumi.Output[str]
    subscription_id: pulumi.Output[str]
    network: Any
    cmk_ready: list[pulumi.Resource]
    #: Key child resources, exposed for wiring what the stack does not (docs/components.md).
    CHILDREN = ('key_vault', 'key', 'etcd_key')
    key_vault: keyvault.Vault
    key: keyvault.Key
    etcd_key: keyvault.Key

    def __init__(self, name: str, args: KeysArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("mlops:azure:Keys", name, None, component_opts(opts))
        env = args.env
        net = sibling(args, opts, "network", via=())
        tags = resource_tags(env)
        cfg = client_config(self)
        sku, kty = vault_sku(env)

        vault = self._vault(name, args, net, cfg, sku, tags)
        # The services' CMK wraps data keys; the AKS KMS plugin encrypts etcd secrets itself.
        key = self._key(name, args, net, vault, kty, "cmk", f"{env.prefix}-{KEY_ROLES['cmk'][0]}", list(KEY_ROLES["cmk"][1]), tags)
        etcd_key = self._key(
            name, args, net, vault, kty, "etcd-key", f"{env.prefix}-{KEY_ROLES['etcd-key'][0]}", list(KEY_ROLES["etcd-key"][1]), tags
        )
        identity = managedidentity.UserAssignedIdentity(
            f"{name}-cmk-identity", resource_group_name=net.resource_group_name, location=net.location, tags=tags, opts=child_opts(self)
        )
        grant = role_assignment(
            self,
            f"{name}-cmk-identity-crypto",
            subscription_id=cfg.subscription_id,
            role=ROLE_KV_CRYPTO_SERVICE_ENCRYPTION_USER,
            scope=key.id,
            principal_id=identity.principal_id,
            description=f"mlops-stack {env.prefix}: services encrypt with the stack key",
        )
        if net.private_endpoints:
            private_endpoint(self, f"{name}-vault-pe", net=net, target_id=vault.id, group_id="vault", tags=tags)

        self.network = net
        self.cmk_ready = [grant]
        self.vault_id = vault.id
        self.vault_name = vault.name
        self.vault_uri = vault.properties.apply(lambda p: p.vault_uri)
        self.key_id = key.id
        self.key_name = key.name
        self.key_uri = key.key_uri
        self.key_uri_with_version = key.key_uri_with_version
        self.etcd_key_id = etcd_key.id
        self.etcd_key_uri_with_version = etcd_key.key_uri_with_version
        self.cmk_identity_id = identity.id
        self.cmk_identity_client_id = identity.client_id
        self.cmk_identity_principal_id = identity.principal_id
        self.tenant_id = cfg.tenant_id
        self.subscription_id = cfg.subscription_id
        self.key_vault, self.key, self.etcd_key = vault, key, etcd_key
        self.register_outputs(
            {
                "vault_id": self.vault_id,
                "vault_name": self.vault_name,
                "vault_uri": self.vault_uri,
                "key_id": self.key_id,
                "key_name": self.key_name,
                "key_uri": self.key_uri,
                "key_uri_with_version": self.key_uri_with_version,
                "etcd_key_id": self.etcd_key_id,
                "etcd_key_uri_with_version": self.etcd_key_uri_with_version,
                "cmk_identity_id": self.cmk_identity_id,
                "cmk_identity_client_id": self.cmk_identity_client_id,
                "cmk_identity_principal_id": self.cmk_identity_principal_id,
            }
        )

    def _vault(self, name: str, args: KeysArgs, net: Any, cfg: Any, sku: str, tags: dict[str, str]) -> keyvault.Vault:
        """The Key Vault: RBAC only, purge protection, soft delete, deny by default."""
        env = args.env
        vault = keyvault.Vault(
            f"{name}-vault",
            vault_name=net.resource_group_id.apply(lambda rg: key_vault_name(env.prefix, rg)),
            resource_group_name=net.resource_group_name,
            location=net.location,
            properties=keyvault.VaultPropertiesArgs(
                tenant_id=cfg.tenant_id,
                sku=keyvault.SkuArgs(family="A", name=sku),
                enable_rbac_authorization=True,
                enable_purge_protection=True,
                enable_soft_delete=True,
                soft_delete_retention_in_days=args.deletion_window_days,
                enabled_for_deployment=False,
                enabled_for_disk_encryption=False,
                enabled_for_template_deployment=False,
                public_network_access="Enabled",
                network_acls=keyvault.NetworkRuleSetArgs(default_action="Deny", bypass="AzureServices", ip_rules=[], virtual_network_rules=[]),
            ),
            tags=tags,
            opts=stateful_opts(self, env),
        )
        return vault

    def _key(
        self,
        name: str,
        args: KeysArgs,
        net: Any,
        vault: keyvault.Vault,
        kty: str,
        role: str,
        key_name: str,
        ops: list[str],
        tags: dict[str, str],
    ) -> keyvault.Key:
        """One key of the vault, rotated by ``rotation_policy``."""
        env = args.env
        return keyvault.Key(
            f"{name}-{role}",
            resource_group_name=net.resource_group_name,
            vault_name=vault.name,
            key_name=key_name,
            properties=keyvault.KeyPropertiesArgs(
                kty=kty,
                key_size=KEY_SIZE,
                key_ops=ops,
                attributes=keyvault.KeyAttributesArgs(enabled=True),
                rotation_policy=rotation_policy(args.rotation_days),
            ),
            tags=tags,
            # Always retained on delete: azure-native deletes a key through the vault's data
            # plane, which the vault firewall (default deny) and the deployer's missing key
            # role refuse, so `pulumi destroy` of dev would stop at the keys. Retained, they
            # leave the state and go with the vault (ARM delete: soft-deleted, purge-protected).
            opts=pulumi.ResourceOptions(parent=self, protect=env.protect_stateful, retain_on_delete=True),
        )
