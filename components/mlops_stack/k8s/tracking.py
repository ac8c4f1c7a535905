"""Self-hosted MLflow on any cluster (``tracking.mode: self-hosted``; the only mode on GCP).

``Tracking`` (``mlops:k8s:Tracking``) installs, in its own ``mlflow`` namespace:

- the open-source MLflow server (a plain Deployment of the official image, pinned below),
  with its backend store in the target's managed PostgreSQL (``PostgresDatabase``) and its
  artifacts proxied to ``<tracking bucket>/mlflow/`` (``--artifacts-destination``,
  ``--serve-artifacts``): clients never need bucket credentials;
- a ServiceAccount bound to the target's ``WorkloadIdentity`` (IRSA / GKE Workload Identity /
  Azure workload identity), which may use that prefix and nothing else: no keys anywhere;
- MLflow's own authentication (``--app-name basic-auth``): every request needs a user; the
  admin's generated password is in the Secret ``mlflow-admin``; users and permissions live
  in the same PostgreSQL database; the auth app's CSRF key (``MLFLOW_FLASK_SERVER_SECRET_KEY``,
  required by MLflow 3.x, the same on every replica) is generated too. The backend URI (with the database password) and the
  auth configuration travel in the Secret ``mlflow-server`` only, never in a pod spec;
- an internal Service only (ClusterIP; reach it from the cluster or with
  ``kubectl port-forward``), a NetworkPolicy admitting only the server port, and a
  ServiceMonitor so the stack's Prometheus scrapes ``/metrics`` (``--expose-prometheus``)
  with the admin's credentials (the auth app protects every path but ``/health``).

- every writable path a volume of its own (``pod_volumes``): ``/tmp`` and the Prometheus
  multiprocess directory are small emptyDirs, requested and limited as ``ephemeral-storage``
  (with the logs: 1408 MiB, which fits any node's allocatable); the artifact transfer space
  (``TMPDIR``, ``tracking.transferSpaceGb``) is a generic ephemeral volume, a
  ReadWriteOnce claim per pod on ``mlflow-transfers`` (the cluster's encrypted storage
  class's provisioner and parameters, reclaim ``Delete``), so it never counts against the
  node's disk: a 20 GiB emptyDir did not fit a 50 GiB GKE node (about 16 GiB allocatable).

``tests/test_mlflow_client.py`` runs the real ``mlflow server`` from the planned
Deployment (its args, env and volumes, read from the offline plan), so the flags, the
auth file (``auth_config``) and the volumes are checked against the pinned MLflow release.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import pulumi
import pulumi_kubernetes as k8s
import pulumi_random as random

from mlops_stack.args import Env, child_opts, merge_opts
from mlops_stack.constants import TRACKING_NAMESPACE
from mlops_stack.contracts import PostgresDatabase
from mlops_stack.k8s._common import k8s_labels, namespace
from mlops_stack.postgres import PASSWORD_LENGTH, generated_password
from mlops_stack.spec import TrackingSpec

#: The MLflow release of the server image and of the tested client (``mlflow`` in the dev
#: dependencies, constraints.txt): the newest release on the package index on 2026-11-29
#: whose ``mlflow-skinny`` is published too. The ``-full`` image variant (mlflow/mlflow
#: docker/README.md: from v3.9.0 on; docker/Dockerfile.full installs
#: ``mlflow[extras,azure,db,gateway,genai,auth]``) carries the PostgreSQL drivers, the S3,
#: GCS and Azure Blob clients and the basic-auth app this server uses.
MLFLOW_VERSION = "3.17.2"
#: Pinned by tag, not digest: no registry was reachable to read the digest of this tag,
#: and a digest we cannot check is worse than none. Pin it by digest (``@sha256:...``) in
#: your fork once you have pulled it (docs/tracking.md).
MLFLOW_IMAGE = f"ghcr.io/mlflow/mlflow:v{MLFLOW_VERSION}-full"

PORT = 5000
SERVICE_NAME = "mlflow"
SERVICE_ACCOUNT = "mlflow"
SERVER_SECRET = "mlflow-server"
ADMIN_SECRET = "mlflow-admin"
ADMIN_USER = "admin"
ADMIN_PASSWORD_LENGTH = PASSWORD_LENGTH  # the same generated-password rule as the database's
AUTH_CONFIG_DIR = "/etc/mlflow/auth"
AUTH_CONFIG_FILE = "basic_auth.ini"
#: ``HOME`` and small scratch files: an emptyDir (the root filesystem is read-only).
TMP_DIR = "/tmp"
TMP_SPACE = "1Gi"
#: prometheus_client's multiprocess directory (``--expose-prometheus`` and
#: ``PROMETHEUS_MULTIPROC_DIR``), an emptyDir of its own mounted at this path so that it
#: exists before ``mlflow server`` starts: in MLflow 3.17.2 the CLI process itself imports
#: the auth app (``mlflow/server/__init__.py`` ``_run_server`` -> ``_is_factory``), whose
#: import creates a multiprocess Histogram (``mlflow/server/otlp_metrics.py``) and opens
#: ``<dir>/histogram_<pid>.db``; only the workers' import of ``mlflow.server`` would create
#: the directory, too late (FileNotFoundError, exit 1).
METRICS_DIR = "/var/mlflow/metrics"
#: Each process writes a few sparse 1 MiB files (prometheus_client ``mmap_dict``).
METRICS_SPACE = "128Mi"
#: Where the server copies artifacts on their way to and from the bucket (``TMPDIR``): with
#: ``--serve-artifacts``, MLflow 3.17.2 writes each upload whole to a
#: ``tempfile.TemporaryDirectory()`` before sending it to S3, GCS or Azure Blob, and
#: downloads each whole artifact into one before streaming it back
#: (``mlflow/server/artifact_router.py``; only the local-filesystem repository streams,
#: ``StreamUploadMixin``). A generic ephemeral volume of ``tracking.transferSpaceGb`` GiB
#: (a claim created with the pod and deleted with it), not an emptyDir: an emptyDir is
#: node ephemeral storage, and GKE leaves only about 16 GiB of a 50 GiB boot disk
#: allocatable (tests/test_tracking_components.py, GKE's reservation formula).
TRANSFER_DIR = "/var/mlflow/transfers"
#: The transfer volumes' StorageClass: the cluster contract's encrypted class
#: (``cluster.storage_class``: same provisioner and parameters, so the same key), but
#: ``reclaimPolicy: Delete`` and its own name: the monitoring class retains its volumes in
#: prod, which for a claim per pod would leave a disk behind on every pod replacement.
TRANSFER_STORAGE_CLASS = "mlflow-transfers"
#: Container logs on top of the emptyDirs in the ephemeral-storage request and limit.
LOG_SPACE_MI = 256
#: Read-only users see every experiment; writes need a permission the admin grants.
DEFAULT_PERMISSION = "READ"

#: size -> (replicas, CPU request, memory request, memory limit).
SIZES = {"small": (1, "250m", "1Gi", "2Gi"), "medium": (2, "500m", "2Gi", "4Gi"), "large": (3, "1", "4Gi", "8Gi")}


def replicas(size: str, is_prod: bool) -> int:
    """Server replicas: by size, at least 2 in prod (the server is stateless)."""
    n = SIZES[size][0]
    return max(n, 2) if is_prod else n


#: Private IPv4 literals (RFC 1918) as ``fnmatch`` patterns: pod and Service IPs on every
#: target's cluster (the VPC, the GKE secondary ranges and the AKS pod CIDRs are all
#: RFC 1918; spec.py ``_network_cidr``). ``*`` in fnmatch also matches dots, so the last
#: label is spelled out as one to three digits: a name whose last label is a number is no
#: DNS name (browsers parse it as an IPv4 address), so no public name matches:
#: ``10.0.0.1.nip.io`` is refused, which MLflow's own default ``10.*`` admits.
PRIVATE_IPV4_HOSTS = tuple(
    f"{network}.{last}"
    for network in ("10.[0-9]*.[0-9]*", "172.1[6-9].[0-9]*", "172.2[0-9].[0-9]*", "172.3[01].[0-9]*", "192.168.[0-9]*")
    for last in ("[0-9]", "[0-9][0-9]", "[0-9][0-9][0-9]")
)


def service_hosts(service: str = SERVICE_NAME, ns: str = TRACKING_NAMESPACE) -> list[str]:
    """The Host headers the server accepts (``--allowed-hosts``, which replaces MLflow's
    defaults): its in-cluster names; a pod or Service IP (Prometheus scrapes each pod by
    IP: ``Host: <pod-ip>:5000``); ``0.0.0.0`` (MLflow's job runner calls the server at
    ``http://<--host>:<--port>``); localhost on any port (``kubectl port-forward``). Any
    other name is refused with 403 (DNS-rebinding protection); ``/health`` and ``/version``
    are exempt from the check."""
    base = [f"{service}.{ns}.svc.cluster.local", f"{service}.{ns}.svc", f"{service}.{ns}", service, "0.0.0.0", *PRIVATE_IPV4_HOSTS]
    return [f"{h}:{PORT}" for h in base] + [f"{h}:*" for h in ("localhost", "127.0.0.1")]


def tracking_uri(service: str = SERVICE_NAME, ns: str = TRACKING_NAMESPACE) -> str:
    """What clients in the cluster set as ``MLFLOW_TRACKING_URI``."""
    return f"http://{service}.{ns}.svc.cluster.local:{PORT}"


#: Worker processes per pod (MLflow's default is 4; replicas scale out instead, and each
#: worker holds its own copy of the server in memory).
WORKERS = 2


def server_args(
    artifacts_destination: str,
    *,
    host: str = "0.0.0.0",
    port: int = PORT,
    workers: int = WORKERS,
    allowed_hosts: Sequence[str] = (),
    metrics_dir: str = METRICS_DIR,
) -> list[str]:
    """The ``mlflow server`` arguments (the backend store comes from ``MLFLOW_BACKEND_STORE_URI``
    and the auth file from ``MLFLOW_AUTH_CONFIG_PATH``, both out of a Secret)."""
    args = [
        "server",
        f"--host={host}",
        f"--port={port}",
        f"--workers={workers}",
        f"--artifacts-destination={artifacts_destination}",
        "--serve-artifacts",
        "--app-name=basic-auth",
        f"--expose-prometheus={metrics_dir}",
    ]
    if allowed_hosts:
        args.append(f"--allowed-hosts={','.join(allowed_hosts)}")
    return args


def auth_config(database_uri: str, admin_password: str, *, admin_user: str = ADMIN_USER) -> str:
    """MLflow's basic-auth configuration file (``MLFLOW_AUTH_CONFIG_PATH``)."""
    return (
        "[mlflow]\n"
        f"default_permission = {DEFAULT_PERMISSION}\n"
        f"database_uri = {database_uri}\n"
        f"admin_username = {admin_user}\n"
        f"admin_password = {admin_password}\n"
        "authorization_function = mlflow.server.auth:authenticate_request_basic_auth\n"
    )


def artifacts_destination(store: Any, bucket: str, prefix: str) -> pulumi.Output[str]:
    """MLflow's URI for ``prefix`` of ``bucket``: the store's own ``mlflow_artifact_uri`` where
    MLflow spells the storage differently from ``bucket_uris`` (Azure Blob: ``wasbs://``),
    else ``<bucket URI>/<prefix>`` (``s3://``, ``gs://``)."""
    custom = getattr(store, "mlflow_artifact_uri", None)
    if callable(custom):
        return custom(bucket, prefix)
    return pulumi.Output.concat(store.bucket_uris[bucket], "/", prefix)


def transfer_space(gib: int) -> str:
    """The transfer volume's claim size."""
    return f"{gib}Gi"


def _mebibytes(quantity: str) -> int:
    number, unit = (quantity[:-2], quantity[-2:]) if quantity.endswith(("Gi", "Mi")) else (quantity, "")
    return int(number) * {"Gi": 1024, "Mi": 1}[unit]


def ephemeral_storage() -> str:
    """The container's ephemeral-storage request and limit: the emptyDirs at their
    ``sizeLimit`` (``/tmp``, metrics) plus the logs; the transfer space is a volume of its
    own and not node ephemeral storage. Requested in full, so the pod only lands on a node
    with that much disk, and limited to it (the kubelet counts the emptyDirs against the
    pod's limit)."""
    return f"{_mebibytes(TMP_SPACE) + _mebibytes(METRICS_SPACE) + LOG_SPACE_MI}Mi"


def transfer_volume(transfer: str, storage_class: pulumi.Input[str] | None, labels: Mapping[str, str] | None = None) -> k8s.core.v1.VolumeArgs:
    """The ``transfers`` volume: a generic ephemeral volume (Pod Security ``restricted``
    admits ``ephemeral``), one ReadWriteOnce claim of ``transfer`` per pod, on
    ``storage_class`` (``None``: the cluster's default class). The pod's ``fsGroup`` makes
    the new filesystem writable by the server's user."""
    return k8s.core.v1.VolumeArgs(
        name="transfers",
        ephemeral=k8s.core.v1.EphemeralVolumeSourceArgs(
            volume_claim_template=k8s.core.v1.PersistentVolumeClaimTemplateArgs(
                metadata=k8s.meta.v1.ObjectMetaArgs(labels=dict(labels or {})),
                spec=k8s.core.v1.PersistentVolumeClaimSpecArgs(
                    access_modes=["ReadWriteOnce"],
                    storage_class_name=storage_class,
                    resources=k8s.core.v1.VolumeResourceRequirementsArgs(requests={"storage": transfer}),
                ),
            )
        ),
    )


def pod_volumes(transfer: str, storage_class: pulumi.Input[str] | None = None, labels: Mapping[str, str] | None = None) -> list[k8s.core.v1.VolumeArgs]:
    """The server pod's volumes: the auth file, an emptyDir for ``/tmp`` and the metrics,
    and the transfer space (``transfer_volume``)."""
    return [
        k8s.core.v1.VolumeArgs(
            name="auth",
            secret=k8s.core.v1.SecretVolumeSourceArgs(secret_name=SERVER_SECRET, items=[k8s.core.v1.KeyToPathArgs(key=AUTH_CONFIG_FILE, path=AUTH_CONFIG_FILE)]),
        ),
        k8s.core.v1.VolumeArgs(name="tmp", empty_dir=k8s.core.v1.EmptyDirVolumeSourceArgs(size_limit=TMP_SPACE)),
        k8s.core.v1.VolumeArgs(name="metrics", empty_dir=k8s.core.v1.EmptyDirVolumeSourceArgs(size_limit=METRICS_SPACE)),
        transfer_volume(transfer, storage_class, labels),
    ]


def sqlalchemy_uri(uri: str) -> str:
    """``postgresql://`` with the driver the image ships named explicitly (psycopg 3)."""
    return uri.replace("postgresql://", "postgresql+psycopg://", 1)


@dataclass(frozen=True, kw_only=True)
class TrackingArgs:
    env: Env
    tracking: TrackingSpec
    #: The target's PostgresDatabase; its first database holds runs, users and permissions.
    database: PostgresDatabase
    database_name: str = "mlflow"
    #: Where artifacts go: ``s3://bucket/mlflow/``, ``gs://bucket/mlflow/``,
    #: ``wasbs://container@account.blob.core.windows.net/mlflow/``.
    artifacts_destination: pulumi.Input[str]
    #: Annotations and pod labels of the target's WorkloadIdentity for ``SERVICE_ACCOUNT``
    #: in ``TRACKING_NAMESPACE`` (TEAM-CONTRACTS §1).
    service_account_annotations: pulumi.Input[Mapping[str, str]] = field(default_factory=dict)
    pod_labels: Mapping[str, str] = field(default_factory=dict)
    #: Create a ServiceMonitor (the stack's Prometheus Operator CRDs must exist).
    service_monitor: bool = True
    #: The cluster contract's ``storage_class`` (``name``, ``provisioner``, ``parameters``):
    #: the transfer volumes get a class of the same provisioner and parameters
    #: (``TRANSFER_STORAGE_CLASS``). ``None``: the cluster's default class.
    storage_class: Mapping[str, Any] | None = None


class Tracking(pulumi.ComponentResource):
    """``mlops:k8s:Tracking``. Outputs: ``mlflow_tracking_uri`` (in-cluster URL),
    ``namespace``, ``admin_secret`` (Secret name holding ``username`` / ``password``),
    ``service_account``."""

    mlflow_tracking_uri: pulumi.Output[str]
    namespace: pulumi.Output[str]
    admin_secret: str
    service_account: str

    def __init__(self, name: str, args: TrackingArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("mlops:k8s:Tracking", name, None, merge_opts(opts))
        env, spec = args.env, args.tracking
        labels = k8s_labels(env, "mlflow")
        selector = {"app.kubernetes.io/name": "mlflow", "app.kubernetes.io/instance": env.prefix}
        ns = namespace(self, f"{name}-namespace", TRACKING_NAMESPACE, {**labels, "pod-security.kubernetes.io/enforce": "restricted"})
        ns_name = ns.metadata.name

        sa = k8s.core.v1.ServiceAccount(
            f"{name}-sa",
            metadata=k8s.meta.v1.ObjectMetaArgs(name=SERVICE_ACCOUNT, namespace=ns_name, labels=labels, annotations=args.service_account_annotations),
            automount_service_account_token=True,
            opts=child_opts(self),
        )
        admin, server_secret = self._secrets(name, ns_name, labels, args)
        size = SIZES[spec.size]
        pod_labels = {**labels, **selector, **dict(args.pod_labels or {})}
        container = _container(args, size)
        transfer_class: pulumi.Input[str] | None = None
        if args.storage_class:
            transfer_class = k8s.storage.v1.StorageClass(
                f"{name}-transfers",
                metadata=k8s.meta.v1.ObjectMetaArgs(name=TRANSFER_STORAGE_CLASS, labels=labels),
                provisioner=args.storage_class["provisioner"],
                parameters=dict(args.storage_class.get("parameters") or {}),
                # Scratch space: deleted with its pod's claim, in every environment.
                reclaim_policy="Delete",
                volume_binding_mode="WaitForFirstConsumer",
                allow_volume_expansion=True,
                opts=child_opts(self),
            ).metadata.name
        deployment = k8s.apps.v1.Deployment(
            f"{name}-server",
            metadata=k8s.meta.v1.ObjectMetaArgs(name="mlflow", namespace=ns_name, labels=labels),
            spec=k8s.apps.v1.DeploymentSpecArgs(
                replicas=replicas(spec.size, env.is_prod),
                selector=k8s.meta.v1.LabelSelectorArgs(match_labels=selector),
                template=k8s.core.v1.PodTemplateSpecArgs(
                    metadata=k8s.meta.v1.ObjectMetaArgs(labels=pod_labels),
                    spec=k8s.core.v1.PodSpecArgs(
                        service_account_name=SERVICE_ACCOUNT,
                        security_context=k8s.core.v1.PodSecurityContextArgs(
                            run_as_non_root=True, run_as_user=1000, run_as_group=1000, fs_group=1000, seccomp_profile=k8s.core.v1.SeccompProfileArgs(type="RuntimeDefault")
                        ),
                        containers=[container],
                        volumes=pod_volumes(transfer_space(spec.transfer_space_gb), transfer_class, labels),
                    ),
                ),
            ),
            opts=child_opts(self, depends_on=[sa, server_secret]),
        )
        self._exposure(name, ns_name, labels, selector, args, admin)
        self.mlflow_tracking_uri = pulumi.Output.from_input(tracking_uri())
        self.namespace = ns_name
        self.admin_secret = ADMIN_SECRET
        self.service_account = SERVICE_ACCOUNT
        self.deployment_name = deployment.metadata.name
        self.register_outputs(
            {"mlflow_tracking_uri": self.mlflow_tracking_uri, "namespace": self.namespace, "admin_secret": self.admin_secret, "service_account": self.service_account}
        )

    def _secrets(self, name: str, ns_name: pulumi.Input[str], labels: Mapping[str, str], args: TrackingArgs) -> tuple[k8s.core.v1.Secret, k8s.core.v1.Secret]:
        """The admin's generated credentials (``mlflow-admin``) and the server's (``mlflow-server``:
        backend URI with the database password, CSRF key, auth file): secret end to end."""
        password = generated_password(self, f"{name}-admin-password")
        admin = k8s.core.v1.Secret(
            f"{name}-admin",
            metadata=k8s.meta.v1.ObjectMetaArgs(name=ADMIN_SECRET, namespace=ns_name, labels=labels),
            type="kubernetes.io/basic-auth",
            string_data={"username": ADMIN_USER, "password": password.result},
            opts=child_opts(self),
        )
        # The auth app's CSRF protection signs with this key; every replica needs the same one.
        flask_key = random.RandomPassword(f"{name}-flask-secret-key", length=48, special=False, opts=child_opts(self))
        db_uri = args.database.connection_uris[args.database_name].apply(sqlalchemy_uri)
        server_secret = k8s.core.v1.Secret(
            f"{name}-server",
            metadata=k8s.meta.v1.ObjectMetaArgs(name=SERVER_SECRET, namespace=ns_name, labels=labels),
            type="Opaque",
            string_data={
                "backend-store-uri": pulumi.Output.secret(db_uri),
                "flask-secret-key": flask_key.result,
                AUTH_CONFIG_FILE: pulumi.Output.secret(pulumi.Output.all(db_uri, password.result).apply(lambda v: auth_config(v[0], v[1]))),
            },
            opts=child_opts(self),
        )
        return admin, server_secret

    def _exposure(
        self, name: str, ns_name: pulumi.Input[str], labels: Mapping[str, str], selector: Mapping[str, str], args: TrackingArgs, admin: k8s.core.v1.Secret
    ) -> None:
        """The internal Service, the NetworkPolicy, a PodDisruptionBudget (2+ replicas) and the ServiceMonitor."""
        env, spec = args.env, args.tracking
        service = k8s.core.v1.Service(
            f"{name}-service",
            metadata=k8s.meta.v1.ObjectMetaArgs(name=SERVICE_NAME, namespace=ns_name, labels={**labels, **selector}),
            spec=k8s.core.v1.ServiceSpecArgs(type="ClusterIP", selector=selector, ports=[k8s.core.v1.ServicePortArgs(name="http", port=PORT, target_port="http")]),
            opts=child_opts(self),
        )
        k8s.networking.v1.NetworkPolicy(
            f"{name}-ingress",
            metadata=k8s.meta.v1.ObjectMetaArgs(name="mlflow-server", namespace=ns_name, labels=labels),
            spec=k8s.networking.v1.NetworkPolicySpecArgs(
                pod_selector=k8s.meta.v1.LabelSelectorArgs(match_labels=selector),
                policy_types=["Ingress"],
                # From pods of this cluster only, to the server port only.
                ingress=[
                    k8s.networking.v1.NetworkPolicyIngressRuleArgs(
                        from_=[k8s.networking.v1.NetworkPolicyPeerArgs(namespace_selector=k8s.meta.v1.LabelSelectorArgs())],
                        ports=[k8s.networking.v1.NetworkPolicyPortArgs(port=PORT, protocol="TCP")],
                    )
                ],
            ),
            opts=child_opts(self),
        )
        if replicas(spec.size, env.is_prod) > 1:
            k8s.policy.v1.PodDisruptionBudget(
                f"{name}-pdb",
                metadata=k8s.meta.v1.ObjectMetaArgs(name="mlflow", namespace=ns_name, labels=labels),
                spec=k8s.policy.v1.PodDisruptionBudgetSpecArgs(min_available=1, selector=k8s.meta.v1.LabelSelectorArgs(match_labels=selector)),
                opts=child_opts(self),
            )
        if args.service_monitor:
            k8s.apiextensions.CustomResource(
                f"{name}-servicemonitor",
                api_version="monitoring.coreos.com/v1",
                kind="ServiceMonitor",
                metadata=k8s.meta.v1.ObjectMetaArgs(name="mlflow", namespace=ns_name, labels=labels),
                spec=service_monitor_spec(selector),
                opts=child_opts(self, depends_on=[service, admin]),
            )


def _container(args: TrackingArgs, size: tuple[int, str, str, str]) -> k8s.core.v1.ContainerArgs:
    """The MLflow server container: flags from ``server_args``, secrets from ``mlflow-server``
    by reference only, non-root with a read-only root filesystem; every writable path an
    volume of its own (``pod_volumes``)."""
    storage = ephemeral_storage()
    return k8s.core.v1.ContainerArgs(
        name="mlflow",
        image=MLFLOW_IMAGE,
        command=["mlflow"],
        args=pulumi.Output.from_input(args.artifacts_destination).apply(lambda dest: server_args(dest, allowed_hosts=service_hosts())),
        ports=[k8s.core.v1.ContainerPortArgs(name="http", container_port=PORT)],
        env=[
            k8s.core.v1.EnvVarArgs(
                name="MLFLOW_BACKEND_STORE_URI",
                value_from=k8s.core.v1.EnvVarSourceArgs(secret_key_ref=k8s.core.v1.SecretKeySelectorArgs(name=SERVER_SECRET, key="backend-store-uri")),
            ),
            k8s.core.v1.EnvVarArgs(
                name="MLFLOW_FLASK_SERVER_SECRET_KEY",
                value_from=k8s.core.v1.EnvVarSourceArgs(secret_key_ref=k8s.core.v1.SecretKeySelectorArgs(name=SERVER_SECRET, key="flask-secret-key")),
            ),
            k8s.core.v1.EnvVarArgs(name="MLFLOW_AUTH_CONFIG_PATH", value=f"{AUTH_CONFIG_DIR}/{AUTH_CONFIG_FILE}"),
            k8s.core.v1.EnvVarArgs(name="HOME", value=TMP_DIR),
            k8s.core.v1.EnvVarArgs(name="TMPDIR", value=TRANSFER_DIR),
            k8s.core.v1.EnvVarArgs(name="PROMETHEUS_MULTIPROC_DIR", value=METRICS_DIR),
        ],
        volume_mounts=[
            k8s.core.v1.VolumeMountArgs(name="auth", mount_path=AUTH_CONFIG_DIR, read_only=True),
            k8s.core.v1.VolumeMountArgs(name="tmp", mount_path=TMP_DIR),
            k8s.core.v1.VolumeMountArgs(name="metrics", mount_path=METRICS_DIR),
            k8s.core.v1.VolumeMountArgs(name="transfers", mount_path=TRANSFER_DIR),
        ],
        resources=k8s.core.v1.ResourceRequirementsArgs(
            requests={"cpu": size[1], "memory": size[2], "ephemeral-storage": storage}, limits={"memory": size[3], "ephemeral-storage": storage}
        ),
        readiness_probe=k8s.core.v1.ProbeArgs(http_get=k8s.core.v1.HTTPGetActionArgs(path="/health", port="http"), period_seconds=10),
        liveness_probe=k8s.core.v1.ProbeArgs(
            http_get=k8s.core.v1.HTTPGetActionArgs(path="/health", port="http"), initial_delay_seconds=30, period_seconds=20, failure_threshold=6
        ),
        security_context=k8s.core.v1.SecurityContextArgs(
            allow_privilege_escalation=False,
            read_only_root_filesystem=True,
            run_as_non_root=True,
            capabilities=k8s.core.v1.CapabilitiesArgs(drop=["ALL"]),
        ),
    )


def service_monitor_spec(selector: Mapping[str, str]) -> dict[str, Any]:
    """Scrape ``/metrics`` of the Service every 30 s with the admin's basic-auth credentials."""
    return {
        "selector": {"matchLabels": dict(selector)},
        "endpoints": [
            {
                "port": "http",
                "path": "/metrics",
                "interval": "30s",
                "basicAuth": {"username": {"name": ADMIN_SECRET, "key": "username"}, "password": {"name": ADMIN_SECRET, "key": "password"}},
            }
        ],
    }
