"""Azure PostgreSQL: an Azure Database for PostgreSQL flexible server behind a private
endpoint.

Private: public network access disabled; one private endpoint in the network's
private-endpoint subnet, resolved through the ``privatelink.postgres.database.azure.com``
private DNS zone linked to the VNet (the network's zone in prod, else one of its own).
Encrypted with the stack's customer-managed key through the ``Keys`` CMK identity
(user-assigned, already holding *Key Vault Crypto Service Encryption User*). Automated
backups kept ``backup_retention_days`` days (point-in-time restore within them),
zone-redundant high availability in prod, geo-redundant backups in prod only without the
stack key (``geo_redundant_backup``), ``protect`` + retain
on delete in prod (a flexible server has no API-level deletion lock; a management lock is
the subscription owner's call, docs/tracking.md). Password authentication for the
generated ``mlflow`` login only; TLS is required by the service's default
(``require_secure_transport`` on).
"""

from __future__ import annotations

from typing import Any

import pulumi
from pulumi_azure_native import dbforpostgresql as pg, network, privatedns

from mlops_stack.args import PostgresDatabaseArgs, child_opts, resource_tags, stateful_opts
from mlops_stack.azure._naming import bounded_name
from mlops_stack.azure._shared import component_opts, sibling
from mlops_stack.postgres import PORT, POSTGRES_MAJOR, connection_uri, generated_password

#: The private DNS zone of flexible-server private endpoints (Azure Private Endpoint DNS
#: configuration, "Databases": Azure Database for PostgreSQL - Flexible server).
PRIVATE_DNS_ZONE = "privatelink.postgres.database.azure.com"
#: The private endpoint's sub-resource (group ID) of a flexible server.
GROUP_ID = "postgresqlServer"
#: size -> (SKU name, tier). Burstable for small; General Purpose Ddsv5 otherwise (zone-
#: redundant HA is not offered on Burstable, so prod small uses the smallest D SKU).
SKUS = {"small": ("Standard_B1ms", "Burstable"), "medium": ("Standard_D2ds_v5", "GeneralPurpose"), "large": ("Standard_D4ds_v5", "GeneralPurpose")}
HA_SMALL_SKU = ("Standard_D2ds_v5", "GeneralPurpose")
#: Flexible server names: 3-63 lower-case letters, digits and hyphens, globally unique (DNS).
SERVER_NAME_MAX = 63
DAYS = {"Sun": 0, "Mon": 1, "Tue": 2, "Wed": 3, "Thu": 4, "Fri": 5, "Sat": 6}


def server_name(prefix: str, seed: str) -> str:
    """``<prefix>-mlflow-pg-<hash6>``: the name is the server's public DNS label
    (``<name>.postgres.database.azure.com``), unique across Azure; the hash of ``seed``
    (the resource group's ARM ID) keeps two subscriptions apart."""
    return bounded_name(f"{prefix}-mlflow-pg", SERVER_NAME_MAX, seed=seed)


def geo_redundant_backup(prod: bool, customer_key: bool) -> str:
    """``Enabled`` in prod, except with the stack's customer-managed key: a geo-redundant
    backup of a CMK server needs a second key (``dataEncryption.geoBackupKeyURI``) in a
    vault of the backup (paired) region and a user-assigned identity there
    (``geoBackupUserAssignedIdentityId``), which the stack's single-region vault cannot
    give, and Azure refuses the server otherwise. Such a server keeps zone-redundant HA and
    its backups in the primary region (docs/azure.md, docs/tracking.md)."""
    return "Enabled" if prod and not customer_key else "Disabled"


def sku_for(size: str, ha: bool) -> tuple[str, str]:
    return HA_SMALL_SKU if ha and SKUS[size][1] == "Burstable" else SKUS[size]


class PostgresDatabase(pulumi.ComponentResource):
    """``mlops:azure:PostgresDatabase``. Outputs: ``host`` (the server's FQDN, resolved to
    the private endpoint inside the VNet), ``port``, ``connection_uris`` (database ->
    secret URI), ``server_id``, ``server_name``."""

    host: pulumi.Output[str]
    port: int
    connection_uris: dict[str, pulumi.Output[str]]
    server_id: pulumi.Output[str]
    server_name: pulumi.Output[str]

    def __init__(self, name: str, args: PostgresDatabaseArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("mlops:azure:PostgresDatabase", name, None, component_opts(opts))
        env, keys = args.env, args.keys
        net = sibling(args, opts, "network")
        rg = net.resource_group_name
        tags = resource_tags(env, **{"mlops-stack-role": "tracking-db"})
        prod, ha = env.is_prod, args.ha
        password = generated_password(self, f"{name}-password")
        sku_name, tier = sku_for(args.size, ha)
        encryption = None
        identity = None
        if keys is not None:
            identity = pg.UserAssignedIdentityArgs(
                type="UserAssigned", user_assigned_identities=keys.cmk_identity_id.apply(lambda i: {i: {}})
            )
            encryption = pg.DataEncryptionArgs(
                type="AzureKeyVault", primary_key_uri=keys.key_uri_with_version, primary_user_assigned_identity_id=keys.cmk_identity_id
            )
        day, hour, minute = args.maintenance_window.split(":")
        server = pg.Server(
            f"{name}-server",
            server_name=net.resource_group_id.apply(lambda rg_id: server_name(env.prefix, rg_id)),
            resource_group_name=rg,
            location=net.location,
            version=POSTGRES_MAJOR,
            sku=pg.SkuArgs(name=sku_name, tier=tier),
            storage=pg.StorageArgs(storage_size_gb=args.storage_gb, auto_grow="Enabled"),
            administrator_login=args.username,
            administrator_login_password=password.result,
            auth_config=pg.AuthConfigArgs(password_auth="Enabled", active_directory_auth="Disabled"),
            backup=pg.BackupArgs(backup_retention_days=args.backup_retention_days, geo_redundant_backup=geo_redundant_backup(prod, keys is not None)),
            high_availability=pg.HighAvailabilityArgs(mode="ZoneRedundant" if ha else "Disabled"),
            network=pg.NetworkArgs(public_network_access="Disabled"),
            maintenance_window=pg.MaintenanceWindowArgs(custom_window="Enabled", day_of_week=DAYS[day], start_hour=int(hour), start_minute=int(minute)),
            identity=identity,
            data_encryption=encryption,
            tags=tags,
            opts=stateful_opts(self, env),
        )
        self.connection_uris = {}
        for db in args.databases:
            created = pg.Database(
                f"{name}-db-{db}",
                database_name=db,
                server_name=server.name,
                resource_group_name=rg,
                charset="UTF8",
                collation="en_US.utf8",
                opts=stateful_opts(self, env),
            )
            self.connection_uris[db] = connection_uri(args.username, password.result, server.fully_qualified_domain_name, PORT, created.name)

        self._private_endpoint(name, net, server, tags)
        self.host = server.fully_qualified_domain_name
        self.port = PORT
        self.server_id = server.id
        self.server_name = server.name
        self.register_outputs(
            {"host": self.host, "port": self.port, "connection_uris": self.connection_uris, "server_id": self.server_id, "server_name": self.server_name}
        )

    def _private_endpoint(self, name: str, net: Any, server: pg.Server, tags: dict[str, str]) -> None:
        """The server's private endpoint in the network's endpoint subnet, resolved through the
        flexible-server private DNS zone linked to the VNet (the network's, or one of its own)."""
        zone_id = (getattr(net, "private_dns_zone_ids", None) or {}).get(PRIVATE_DNS_ZONE)
        if zone_id is None:
            zone = privatedns.PrivateZone(
                f"{name}-dns", resource_group_name=net.resource_group_name, private_zone_name=PRIVATE_DNS_ZONE, location="global", tags=tags, opts=child_opts(self)
            )
            privatedns.VirtualNetworkLink(
                f"{name}-dns-link",
                resource_group_name=net.resource_group_name,
                private_zone_name=zone.name,
                location="global",
                virtual_network=privatedns.SubResourceArgs(id=net.vnet_id),
                registration_enabled=False,
                tags=tags,
                opts=child_opts(self),
            )
            zone_id = zone.id
        pe = network.PrivateEndpoint(
            f"{name}-pe",
            resource_group_name=net.resource_group_name,
            location=net.location,
            subnet=network.SubnetArgs(id=net.private_endpoint_subnet_id),
            private_link_service_connections=[
                network.PrivateLinkServiceConnectionArgs(name=f"{GROUP_ID}-connection", private_link_service_id=server.id, group_ids=[GROUP_ID])
            ],
            tags=tags,
            opts=child_opts(self),
        )
        network.PrivateDnsZoneGroup(
            f"{name}-pe-dns",
            resource_group_name=net.resource_group_name,
            private_endpoint_name=pe.name,
            private_dns_zone_group_name="default",
            private_dns_zone_configs=[network.PrivateDnsZoneConfigArgs(name="postgres", private_dns_zone_id=zone_id)],
            opts=child_opts(self),
        )
