"""Azure container registry: one ACR with the admin user and anonymous pull off and
Entra ID (RBAC) as the only way in.

Dev: Basic (cheapest; retention, private endpoints, zone redundancy and customer-managed
keys need Premium). Prod: Premium with zone redundancy, a retention policy that deletes
untagged manifests after ``containerRegistry.untaggedExpiryDays``, public network access
off with a private endpoint and export (exfiltration) off.

Encryption at rest uses ACR's service-managed keys, not the stack's key: ACR takes a
customer-managed key only at creation and only through a user-assigned identity, while
a key vault behind a firewall (ours denies by default) is reachable only through the
registry's system-assigned identity (ACR docs, "Encrypt registry using a customer-managed
key", Key Vault firewall scenario). Creating the prod registry with the stack key would
fail at apply; the two-step workaround (a temporary open vault, then a key switch) is
left to a later change: see docs/azure.md.

ACR has no repository resources: repositories appear on first push. Each spec
repository maps to ``<loginServer>/<prefix>/<repo>`` (the same layout as ECR's
``<prefix>/<repo>`` names). ``immutableTags`` has no registry-wide switch on ACR
(tags are locked per image with ``az acr repository update --write-enabled false``):
see docs/azure.md.
"""

from __future__ import annotations

from typing import Any

import pulumi
from pulumi_azure_native import containerregistry

from mlops_stack.args import ContainerRegistryArgs, Env, resource_tags, stateful_opts
from mlops_stack.azure._naming import container_registry_name
from mlops_stack.azure._shared import private_endpoint, sibling, component_opts
from mlops_stack.spec import ContainerRegistrySpec


def registry_sku(env: Env) -> str:
    return "Premium" if env.is_prod else "Basic"


def registry_policies(sku: str, spec: ContainerRegistrySpec, private: bool) -> containerregistry.PoliciesArgs | None:
    """Retention of untagged manifests and export off: Premium-only features."""
    if sku != "Premium":
        return None
    return containerregistry.PoliciesArgs(
        retention_policy=containerregistry.RetentionPolicyArgs(days=spec.untagged_expiry_days, status="enabled"),
        # Export (az acr import/pipeline out of the registry) requires public access off.
        export_policy=containerregistry.ExportPolicyArgs(status="disabled") if private else None,
    )


def repository_url(login_server: str, prefix: str, repo: str) -> str:
    return f"{login_server}/{prefix}/{repo}"


class ContainerRegistry(pulumi.ComponentResource):
    """``mlops:azure:ContainerRegistry``. Outputs: ``registry_url`` (the login server),
    ``repository_urls`` (per spec repository), ``registry_id``, ``registry_name``, ``sku``."""

    registry_url: pulumi.Output[str]
    repository_urls: dict[str, pulumi.Output[str]]
    registry_id: pulumi.Output[str]
    registry_name: pulumi.Output[str]
    sku: str
    network: Any

    def __init__(self, name: str, args: ContainerRegistryArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("mlops:azure:ContainerRegistry", name, None, component_opts(opts))
        env, spec = args.env, args.registry
        net = sibling(args, opts, "network")
        tags = resource_tags(env)
        sku = registry_sku(env)
        premium = sku == "Premium"
        private = premium and bool(net.private_endpoints)

        registry = containerregistry.Registry(
            f"{name}-acr",
            registry_name=net.resource_group_id.apply(lambda rg: container_registry_name(env.prefix, rg)),
            resource_group_name=net.resource_group_name,
            location=net.location,
            sku=containerregistry.SkuArgs(name=sku),
            admin_user_enabled=False,
            anonymous_pull_enabled=False,
            data_endpoint_enabled=False,
            public_network_access="Disabled" if private else "Enabled",
            network_rule_bypass_options="AzureServices",
            network_rule_set=containerregistry.NetworkRuleSetArgs(default_action="Deny", ip_rules=[]) if premium else None,
            zone_redundancy="Enabled" if premium else "Disabled",
            policies=registry_policies(sku, spec, private),
            tags=tags,
            opts=stateful_opts(self, env),
        )
        if private:
            private_endpoint(self, f"{name}-acr-pe", net=net, target_id=registry.id, group_id="registry", tags=tags)

        self.network = net
        self.sku = sku
        self.registry_id = registry.id
        self.registry_name = registry.name
        self.registry_url = registry.login_server
        self.repository_urls = {
            repo: registry.login_server.apply(lambda server, repo=repo: repository_url(server, env.prefix, repo)) for repo in spec.repositories
        }
        self.register_outputs(
            {
                "registry_url": self.registry_url,
                "repository_urls": self.repository_urls,
                "registry_id": self.registry_id,
                "registry_name": self.registry_name,
            }
        )
