"""GCP PostgreSQL: a Cloud SQL for PostgreSQL instance with a private IP only.

Private: no public IPv4 (``ipv4Enabled: false``), reached over private services access
(a range reserved in the stack's VPC and peered with Google's service network), TLS
required (``sslMode: ENCRYPTED_ONLY``). Encrypted with a customer-managed key of its own
in the stack's key ring, usable by the Cloud SQL service agent only. Automated daily
backups kept ``backup_retention_days`` days with point-in-time recovery (at most 7 days
back: Cloud SQL Enterprise's transaction log limit); database logging flags a security
review expects (``DATABASE_FLAGS``); regional
(a standby in a second zone) in prod; deletion protection (the API's and Pulumi's) and
``protect`` + retain on delete in prod. The ``mlflow`` user's password is generated and
stays a secret.
"""

from __future__ import annotations

from typing import Any

import pulumi
import pulumi_gcp as gcp

from mlops_stack.args import PostgresDatabaseArgs, child_opts, merge_opts, resource_tags, stateful_opts
from mlops_stack.postgres import PORT, POSTGRES_MAJOR, connection_uri, generated_password
from mlops_stack.gcp._shared import KMS_ENCRYPTER_DECRYPTER, enable_services, labels, project_info
from mlops_stack.gcp.keys import destroy_duration, rotation_period

#: Cloud SQL's database version name for ``POSTGRES_MAJOR``.
DATABASE_VERSION = f"POSTGRES_{POSTGRES_MAJOR}"
#: size -> Cloud SQL Enterprise edition tier (dedicated-core custom machine: vCPUs, MB).
TIERS = {"small": "db-custom-1-3840", "medium": "db-custom-2-7680", "large": "db-custom-4-15360"}
#: The private services access range reserved in the VPC (a /20: Google's minimum
#: recommendation for Cloud SQL is a /24; room for more services).
PSA_PREFIX_LENGTH = 20
APIS = ("sqladmin.googleapis.com", "servicenetworking.googleapis.com")
DAYS = {"Mon": 1, "Tue": 2, "Wed": 3, "Thu": 4, "Fri": 5, "Sat": 6, "Sun": 7}
#: Cloud SQL edition. Enterprise keeps at most 7 days of transaction logs, so point-in-time
#: recovery reaches back at most 7 days whatever ``backupRetentionDays`` says (daily backups
#: are kept that many days); Enterprise Plus keeps up to 35 but has its own tiers
#: (``db-perf-optimized-N-*``, at least 2 vCPUs) at a higher price: not chosen (docs/gcp.md).
EDITION = "ENTERPRISE"
#: pulumi-gcp 10.2.0 ``transactionLogRetentionDays``: 1-7 days, 1-35 on PostgreSQL
#: Enterprise Plus (the docstring of ``DatabaseInstanceSettingsBackupConfigurationArgs``).
MAX_LOG_RETENTION_DAYS = {"ENTERPRISE": 7, "ENTERPRISE_PLUS": 35}
#: Database flags a security review of the tracking database expects, each decided
#: (docs/gcp.md, "Cloud SQL logging"): connections, disconnections, lock waits,
#: checkpoints, temp files and schema changes are logged; statement text with durations
#: is not (``-1``: parameters may hold secrets and MLflow's queries are short); the
#: message and error-statement levels are written out explicitly (the defaults); pgaudit
#: is on for DDL and role changes (its records go to Cloud Audit Logs' Data Access log).
DATABASE_FLAGS = (
    ("log_connections", "on"),
    ("log_disconnections", "on"),
    ("log_lock_waits", "on"),
    ("log_checkpoints", "on"),
    ("log_temp_files", "0"),
    ("log_statement", "ddl"),
    ("log_min_duration_statement", "-1"),
    ("log_min_messages", "warning"),
    ("log_min_error_statement", "error"),
    ("cloudsql.enable_pgaudit", "on"),
    ("pgaudit.log", "ddl,role"),
)


def log_retention_days(backup_retention_days: int, edition: str = EDITION) -> int:
    """The point-in-time recovery window Cloud SQL gives: the spec's days, capped by the edition."""
    return min(backup_retention_days, MAX_LOG_RETENTION_DAYS[edition])


def psa_deletion_policy(prod: bool) -> str:
    """How ``pulumi destroy`` ends the private services access connection.

    Outside prod ``REMOVE_PEERING``: the connection is deleted, and when the API refuses
    because Cloud SQL still holds producer resources (it does for days after an instance
    is deleted), the VPC peering is removed so the network can be deleted (pulumi-gcp
    10.2.0 ``servicenetworking.Connection.deletion_policy``). The old ``ABANDON`` left the
    peering in place, which blocks deleting the network. In prod the database is retained
    on delete, and so is its peering (``ABANDON``): a retained instance keeps its network."""
    return "ABANDON" if prod else "REMOVE_PEERING"


def maintenance(weekly_start: str) -> tuple[int, int, str]:
    """``(day 1-7, hour, backup start HH:MM)`` for ``Sun:03:00``; backups start two hours
    before the maintenance hour."""
    day, hour, _ = weekly_start.split(":")
    h = int(hour)
    return DAYS[day], h, f"{(h - 2) % 24:02d}:00"


class PostgresDatabase(pulumi.ComponentResource):
    """``mlops:gcp:PostgresDatabase``. Outputs: ``host`` (private IP), ``port``,
    ``connection_uris`` (database -> secret URI), ``instance_name``, ``connection_name``,
    ``key_id``."""

    host: pulumi.Output[str]
    port: int
    connection_uris: dict[str, pulumi.Output[str]]
    instance_name: pulumi.Output[str]
    connection_name: pulumi.Output[str]
    key_id: pulumi.Output[str] | None

    def __init__(self, name: str, args: PostgresDatabaseArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("mlops:gcp:PostgresDatabase", name, None, merge_opts(opts))
        env, net, keys = args.env, args.network, args.keys
        project, _ = project_info(self)
        apis = enable_services(self, name, APIS)
        tags = labels(resource_tags(env, **{"mlops-stack-role": "tracking-db"}))

        psa_range, peering = self._private_services_access(name, net, apis, env.is_prod)
        depends: list[pulumi.Resource] = [peering]
        key_id, grant = self._key(name, env, keys, project, apis)
        if grant is not None:
            depends.append(grant)
        prod = env.is_prod
        day, hour, backup_start = maintenance(args.maintenance_window)
        instance = gcp.sql.DatabaseInstance(
            f"{name}-instance",
            database_version=DATABASE_VERSION,
            region=env.region,
            encryption_key_name=key_id,
            deletion_protection=prod,
            settings=gcp.sql.DatabaseInstanceSettingsArgs(
                tier=TIERS[args.size],
                edition=EDITION,
                availability_type="REGIONAL" if args.ha else "ZONAL",
                disk_type="PD_SSD",
                disk_size=args.storage_gb,
                disk_autoresize=True,
                disk_autoresize_limit=args.storage_gb * 4,
                deletion_protection_enabled=prod,
                retain_backups_on_delete=prod,
                ip_configuration=gcp.sql.DatabaseInstanceSettingsIpConfigurationArgs(
                    ipv4_enabled=False,
                    private_network=net.network_id,
                    allocated_ip_range=psa_range.name,
                    ssl_mode="ENCRYPTED_ONLY",
                ),
                backup_configuration=gcp.sql.DatabaseInstanceSettingsBackupConfigurationArgs(
                    enabled=True,
                    point_in_time_recovery_enabled=True,
                    start_time=backup_start,
                    transaction_log_retention_days=log_retention_days(args.backup_retention_days),
                    backup_retention_settings=gcp.sql.DatabaseInstanceSettingsBackupConfigurationBackupRetentionSettingsArgs(
                        retained_backups=args.backup_retention_days, retention_unit="COUNT"
                    ),
                ),
                maintenance_window=gcp.sql.DatabaseInstanceSettingsMaintenanceWindowArgs(day=day, hour=hour, update_track="stable"),
                database_flags=[gcp.sql.DatabaseInstanceSettingsDatabaseFlagArgs(name=k, value=v) for k, v in DATABASE_FLAGS],
                user_labels=tags,
            ),
            opts=stateful_opts(self, env, depends_on=depends),
        )
        password = generated_password(self, f"{name}-password")
        user = gcp.sql.User(f"{name}-user", instance=instance.name, name=args.username, password=password.result, opts=child_opts(self))
        self.connection_uris = {}
        for db in args.databases:
            created = gcp.sql.Database(f"{name}-db-{db}", instance=instance.name, name=db, opts=stateful_opts(self, env, depends_on=[user]))
            self.connection_uris[db] = connection_uri(args.username, password.result, instance.private_ip_address, PORT, created.name)
        self.host = instance.private_ip_address
        self.port = PORT
        self.instance_name = instance.name
        self.connection_name = instance.connection_name
        self.key_id = key_id
        self.register_outputs(
            {
                "host": self.host,
                "port": self.port,
                "connection_uris": self.connection_uris,
                "instance_name": self.instance_name,
                "connection_name": self.connection_name,
                "key_id": self.key_id,
            }
        )

    def _private_services_access(
        self, name: str, net: Any, apis: list[pulumi.Resource], prod: bool
    ) -> tuple[gcp.compute.GlobalAddress, gcp.servicenetworking.Connection]:
        """A range reserved in the VPC and peered with Google's service network (Cloud SQL's private IP lives there)."""
        psa_range = gcp.compute.GlobalAddress(
            f"{name}-psa-range",
            purpose="VPC_PEERING",
            address_type="INTERNAL",
            prefix_length=PSA_PREFIX_LENGTH,
            network=net.network_id,
            description="private services access (Cloud SQL)",
            opts=child_opts(self, depends_on=apis),
        )
        peering = gcp.servicenetworking.Connection(
            f"{name}-psa",
            network=net.network_id,
            service="servicenetworking.googleapis.com",
            reserved_peering_ranges=[psa_range.name],
            deletion_policy=psa_deletion_policy(prod),
            opts=child_opts(self, depends_on=apis),
        )
        return psa_range, peering

    def _key(self, name: str, env: Any, keys: Any, project: pulumi.Output[str], apis: list[pulumi.Resource]) -> tuple[pulumi.Output[str] | None, pulumi.Resource | None]:
        """A key of its own in the stack's key ring, usable by the Cloud SQL service agent only."""
        if keys is None or getattr(keys, "key_ring_id", None) is None:
            return None, None
        agent = gcp.projects.ServiceIdentity(f"{name}-agent", service="sqladmin.googleapis.com", project=project, opts=child_opts(self, depends_on=apis))
        key = gcp.kms.CryptoKey(
            f"{name}-key",
            key_ring=keys.key_ring_id,
            purpose="ENCRYPT_DECRYPT",
            rotation_period=rotation_period(getattr(keys, "rotation_days", 90)),
            destroy_scheduled_duration=destroy_duration(30),
            version_template=gcp.kms.CryptoKeyVersionTemplateArgs(algorithm="GOOGLE_SYMMETRIC_ENCRYPTION", protection_level="SOFTWARE"),
            labels=labels(resource_tags(env, **{"mlops-stack-key": "sql"})),
            opts=stateful_opts(self, env),
        )
        grant = gcp.kms.CryptoKeyIAMMember(
            f"{name}-key-agent",
            crypto_key_id=key.id,
            role=KMS_ENCRYPTER_DECRYPTER,
            member=pulumi.Output.concat("serviceAccount:", agent.email),
            opts=child_opts(self, depends_on=apis),
        )
        return key.id, grant
