"""Experiment tracking rules: the managed PostgreSQL backend store of a self-hosted MLflow
server (RDS, Cloud SQL, Azure Database for PostgreSQL flexible server) and the MLflow
server itself (pulumi-aws 7.x, pulumi-gcp 10.x, azure-native 3.x, kubernetes 4.x tokens;
wire/camelCase input names)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from ..model import Ctx, Res
from ..values import UNKNOWN, as_list, get, to_int, truthy
from ._registry import resource_rule
from .k8s import containers

#: Position in the pack order (rules/__init__.py): experiment tracking: last.
PACK_ORDER = 3

RDS = "aws:rds/instance:Instance"
CLOUD_SQL = "gcp:sql/databaseInstance:DatabaseInstance"
AZURE_PG = "azure-native:dbforpostgresql:Server"
DATABASES = (RDS, CLOUD_SQL, AZURE_PG)
DEPLOYMENT = "kubernetes:apps/v1:Deployment"
SERVICE = "kubernetes:core/v1:Service"

#: The fewest days of automated backups (point-in-time recovery) a database keeps.
MIN_BACKUP_DAYS = 7
#: Labels the self-hosted MLflow server's pods and Service carry (k8s/tracking.py).
MLFLOW_LABEL = ("app.kubernetes.io/name", "mlflow")


def _postgres(r: Res) -> bool:
    if r.type == RDS:
        engine = r.get("engine")
        return engine is UNKNOWN or (isinstance(engine, str) and engine.startswith("postgres"))
    if r.type == CLOUD_SQL:
        version = r.get("databaseVersion")
        return version is UNKNOWN or (isinstance(version, str) and version.startswith("POSTGRES"))
    return r.type == AZURE_PG


@resource_rule(
    "database-not-public",
    description="Managed PostgreSQL servers have no public endpoint: RDS publiclyAccessible false, Cloud SQL "
    "without a public IPv4 (private IP only) and without authorized networks, Azure flexible servers with public "
    "network access disabled.",
    severity="critical",
    enforcement="mandatory",
    remediation="RDS: publicly_accessible=False in private subnets. Cloud SQL: settings.ip_configuration "
    "ipv4_enabled=False with private_network set. Azure: network.public_network_access='Disabled' and a private "
    "endpoint.",
    clouds=("aws", "gcp", "azure"),
    types=DATABASES,
    benchmarks=("checkov:CKV_AWS_17", "aws-fsbp:RDS.2", "checkov:CKV_GCP_60", "checkov:CKV_AZURE_68"),
)
def database_not_public(r: Res, ctx: Ctx) -> Iterable[str]:
    if not _postgres(r):
        return
    if r.type == RDS:
        if truthy(r.get("publiclyAccessible")) is True:
            yield "publiclyAccessible is true: the instance gets a public address."
    elif r.type == CLOUD_SQL:
        ip = r.get("settings", "ipConfiguration")
        if ip is UNKNOWN:
            return
        if ip is None or get(ip, "ipv4Enabled") in (None, True):
            yield "settings.ipConfiguration.ipv4Enabled is not false: the instance gets a public IPv4 address."
        nets = as_list(get(ip, "authorizedNetworks"))
        if nets and nets is not UNKNOWN:
            yield f"settings.ipConfiguration.authorizedNetworks admits {len(nets)} network(s) from outside."
    else:
        access = r.get("network", "publicNetworkAccess")
        if access is not UNKNOWN and access != "Disabled":
            yield f"network.publicNetworkAccess is {access!r}: it must be 'Disabled'."


def _encryption_gaps(r: Res) -> Iterable[str]:
    if r.type == RDS:
        if truthy(r.get("storageEncrypted")) is not True and r.get("storageEncrypted") is not UNKNOWN:
            yield "storageEncrypted is not true."
        if r.get("kmsKeyId") in (None, ""):
            yield "kmsKeyId is not set: storage uses the AWS-managed key, not the stack's customer-managed key."
    elif r.type == CLOUD_SQL:
        if r.get("encryptionKeyName") in (None, ""):
            yield "encryptionKeyName is not set: data is encrypted with a Google-managed key, not a customer-managed key."
        mode = r.get("settings", "ipConfiguration", "sslMode")
        if mode is not UNKNOWN and mode not in ("ENCRYPTED_ONLY", "TRUSTED_CLIENT_CERTIFICATE_REQUIRED"):
            yield f"settings.ipConfiguration.sslMode is {mode!r}: connections without TLS are accepted."
    else:
        kind = r.get("dataEncryption", "type")
        if kind is not UNKNOWN and kind != "AzureKeyVault":
            yield "dataEncryption.type is not 'AzureKeyVault': data is encrypted with a service-managed key."


@resource_rule(
    "database-encrypted",
    description="Managed PostgreSQL servers are encrypted with a customer-managed key (RDS storageEncrypted with "
    "kmsKeyId, Cloud SQL encryptionKeyName, Azure dataEncryption AzureKeyVault) and Cloud SQL accepts TLS only.",
    severity="high",
    enforcement="mandatory",
    remediation="RDS: storage_encrypted=True, kms_key_id=<stack key>. Cloud SQL: encryption_key_name=<Cloud KMS "
    "key> (the Cloud SQL service agent needs cryptoKeyEncrypterDecrypter), ssl_mode='ENCRYPTED_ONLY'. Azure: "
    "data_encryption type 'AzureKeyVault' with a user-assigned identity holding the key.",
    clouds=("aws", "gcp", "azure"),
    types=DATABASES,
    benchmarks=("checkov:CKV_AWS_16", "aws-fsbp:RDS.3", "checkov:CKV_GCP_6", "mlops:cmek"),
)
def database_encrypted(r: Res, ctx: Ctx) -> Iterable[str]:
    if _postgres(r):
        yield from _encryption_gaps(r)


def _backup_days(r: Res) -> Any:
    if r.type == RDS:
        return r.get("backupRetentionPeriod")
    if r.type == CLOUD_SQL:
        backup = r.get("settings", "backupConfiguration")
        if backup is UNKNOWN:
            return UNKNOWN
        flags = (get(backup, "enabled"), get(backup, "pointInTimeRecoveryEnabled"))
        if UNKNOWN in flags:
            return UNKNOWN
        if any(truthy(f) is not True for f in flags):
            return 0
        return get(backup, "backupRetentionSettings", "retainedBackups", default=7)
    return r.get("backup", "backupRetentionDays", default=7)


@resource_rule(
    "database-backups",
    description=f"Managed PostgreSQL servers keep automated backups with point-in-time recovery for at least "
    f"{MIN_BACKUP_DAYS} days.",
    severity="high",
    enforcement="mandatory",
    remediation="RDS: backup_retention_period >= 7. Cloud SQL: backup_configuration enabled with "
    "point_in_time_recovery_enabled and retained_backups >= 7. Azure: backup.backup_retention_days >= 7 (spec "
    "tracking.database.backupRetentionDays).",
    clouds=("aws", "gcp", "azure"),
    types=DATABASES,
    benchmarks=("checkov:CKV_AWS_133", "aws-fsbp:RDS.11", "checkov:CKV_GCP_14", "nist-800-53:CP-9"),
)
def database_backups(r: Res, ctx: Ctx) -> Iterable[str]:
    if not _postgres(r):
        return
    days = _backup_days(r)
    if days is UNKNOWN:
        return
    n = to_int(days)
    if n is None or n < MIN_BACKUP_DAYS:
        yield f"automated backups are kept {n or 0} day(s) (or point-in-time recovery is off); need >= {MIN_BACKUP_DAYS}."


@resource_rule(
    "database-deletion-protection",
    description="In prod, managed PostgreSQL servers cannot be deleted by accident: RDS deletionProtection with a "
    "final snapshot, Cloud SQL deletionProtectionEnabled, and every server protected in the Pulumi state.",
    severity="high",
    enforcement="mandatory",
    remediation="RDS: deletion_protection=True, skip_final_snapshot=False. Cloud SQL: settings."
    "deletion_protection_enabled=True. All: ResourceOptions(protect=True, retain_on_delete=True) (mlops-stack "
    "does this in prod).",
    clouds=("aws", "gcp", "azure"),
    types=DATABASES,
    benchmarks=("checkov:CKV_AWS_293", "aws-fsbp:RDS.8"),
    prod_only=True,
)
def database_deletion_protection(r: Res, ctx: Ctx) -> Iterable[str]:
    if not ctx.is_prod(r) or not _postgres(r):
        return
    if not r.protect:
        yield "the server is not protected (protect) in the Pulumi state."
    if r.type == RDS:
        flag = r.get("deletionProtection")
        if flag is not UNKNOWN and truthy(flag) is not True:
            yield "deletionProtection is not true."
        if truthy(r.get("skipFinalSnapshot")) is True:
            yield "skipFinalSnapshot is true: deleting the instance keeps no final snapshot."
    elif r.type == CLOUD_SQL:
        flag = r.get("settings", "deletionProtectionEnabled")
        if flag is not UNKNOWN and truthy(flag) is not True:
            yield "settings.deletionProtectionEnabled is not true."


def _labels_mlflow(labels: Any) -> bool:
    return isinstance(labels, dict) and labels.get(MLFLOW_LABEL[0]) == MLFLOW_LABEL[1]


def _words(value: Any) -> list[str]:
    found = as_list(value)
    return [] if found is UNKNOWN else [w for w in found if isinstance(w, str)]


def _runs_mlflow_server(c: Any) -> bool:
    image = get(c, "image")
    words = _words(get(c, "command")) + _words(get(c, "args"))
    return isinstance(image, str) and "mlflow" in image and "server" in words


@resource_rule(
    "tracking-server-authenticated",
    description="A self-hosted MLflow tracking server requires authentication (the basic-auth app, "
    "--app-name=basic-auth) and is not exposed outside the cluster (its Service is not a LoadBalancer or NodePort).",
    severity="critical",
    enforcement="mandatory",
    remediation="Run 'mlflow server --app-name=basic-auth' with MLFLOW_AUTH_CONFIG_PATH and "
    "MLFLOW_FLASK_SERVER_SECRET_KEY from a Secret (k8s/tracking.py does), and keep its Service type ClusterIP; "
    "reach it with kubectl port-forward or from inside the network.",
    clouds=("kubernetes",),
    types=(DEPLOYMENT, SERVICE),
    benchmarks=("nist-800-53:AC-3", "nist-800-53:SC-7", "mlops:tracking-auth"),
)
def tracking_server_authenticated(r: Res, ctx: Ctx) -> Iterable[str]:
    if r.type == SERVICE:
        if not _labels_mlflow(r.get("spec", "selector")):
            return
        kind = r.get("spec", "type")
        if kind in ("LoadBalancer", "NodePort"):
            yield f"the MLflow Service is of type {kind}: the tracking server is reachable from outside the cluster."
        return
    cs = containers(r)
    if cs is UNKNOWN:
        return
    for _, c in cs:
        if not _runs_mlflow_server(c):
            continue
        raw = as_list(get(c, "args"))
        if raw is UNKNOWN or any(a is UNKNOWN for a in raw):
            continue
        args = _words(raw)
        if "--app-name=basic-auth" not in args and not ("--app-name" in args and "basic-auth" in args):
            yield f"container {get(c, 'name')} runs 'mlflow server' without '--app-name=basic-auth': anyone who reaches it can read and change every run and model."
