"""GCP rules (pulumi-gcp 10.x tokens; wire/camelCase input names)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from ..model import Ctx, Res
from ..values import UNKNOWN, as_list, get, to_int, truthy
from ._registry import resource_rule

GCS_BUCKET = "gcp:storage/bucket:Bucket"
GCS_IAM = ("gcp:storage/bucketIAMMember:BucketIAMMember", "gcp:storage/bucketIAMBinding:BucketIAMBinding")
AR_REPO = "gcp:artifactregistry/repository:Repository"
AR_IAM = ("gcp:artifactregistry/repositoryIamMember:RepositoryIamMember",
          "gcp:artifactregistry/repositoryIamBinding:RepositoryIamBinding")
GKE_CLUSTER = "gcp:container/cluster:Cluster"
GKE_POOL = "gcp:container/nodePool:NodePool"
KMS_KEY = "gcp:kms/cryptoKey:CryptoKey"
PROJECT_IAM = ("gcp:projects/iAMMember:IAMMember", "gcp:projects/iAMBinding:IAMBinding")
SA_KEY = "gcp:serviceaccount/key:Key"

PUBLIC_MEMBERS = ("allUsers", "allAuthenticatedUsers")


def _members(r: Res) -> Any:
    if "member" in r.props:
        m = r.props["member"]
        return UNKNOWN if m is UNKNOWN else [m]
    return as_list(r.props.get("members"))


# ---------------------------------------------------------------------------------
# Cloud Storage


@resource_rule(
    "gcp-gcs-public-access-prevention",
    description="Cloud Storage buckets enforce public access prevention.",
    severity="critical",
    enforcement="mandatory",
    remediation="Set public_access_prevention='enforced' on gcp.storage.Bucket.",
    clouds=("gcp",),
    types=(GCS_BUCKET,),
    benchmarks=("checkov:CKV_GCP_114", "cis-gcp-2.0:5.1"),
)
def gcs_pap(r: Res, ctx: Ctx) -> Iterable[str]:
    v = r.props.get("publicAccessPrevention")
    if v is not UNKNOWN and v != "enforced":
        yield f"publicAccessPrevention is {v or 'inherited (unset)'}, not 'enforced'."


@resource_rule(
    "gcp-gcs-uniform-access",
    description="Cloud Storage buckets use uniform bucket-level access (no per-object ACLs).",
    severity="high",
    enforcement="mandatory",
    remediation="Set uniform_bucket_level_access=True.",
    clouds=("gcp",),
    types=(GCS_BUCKET,),
    benchmarks=("checkov:CKV_GCP_29", "cis-gcp-2.0:5.2"),
)
def gcs_uniform(r: Res, ctx: Ctx) -> Iterable[str]:
    v = r.props.get("uniformBucketLevelAccess")
    if v is not UNKNOWN and truthy(v) is not True:
        yield "uniformBucketLevelAccess is not true."


@resource_rule(
    "gcp-gcs-no-public-iam",
    description="Bucket IAM never grants allUsers or allAuthenticatedUsers.",
    severity="critical",
    enforcement="mandatory",
    remediation="Grant roles to specific service accounts or groups instead of allUsers/allAuthenticatedUsers.",
    clouds=("gcp",),
    types=GCS_IAM,
    benchmarks=("checkov:CKV_GCP_28", "cis-gcp-2.0:5.1"),
)
def gcs_public_iam(r: Res, ctx: Ctx) -> Iterable[str]:
    members = _members(r)
    if members is UNKNOWN:
        return
    for m in members:
        if m in PUBLIC_MEMBERS:
            yield f"grants {r.props.get('role')} to {m}."


@resource_rule(
    "gcp-gcs-cmek",
    description="Cloud Storage buckets encrypt with a customer-managed Cloud KMS key by default.",
    severity="high",
    enforcement="mandatory",
    remediation="Set encryption={'default_kms_key_name': crypto_key.id} and grant the GCS service agent "
    "roles/cloudkms.cryptoKeyEncrypterDecrypter on the key.",
    clouds=("gcp",),
    types=(GCS_BUCKET,),
    benchmarks=("mlops:cmek",),
)
def gcs_cmek(r: Res, ctx: Ctx) -> Iterable[str]:
    key = get(r.props, "encryption", "defaultKmsKeyName")
    if key is not UNKNOWN and not key:
        yield "encryption.defaultKmsKeyName is not set."


def _gcs_versioning_on(r: Res, ctx: Ctx) -> dict[str, Any] | None:
    if get(r.props, "versioning", "enabled") is True or get(r.props, "versioning", "enabled") is UNKNOWN:
        return None
    return {**r.props, "versioning": {"enabled": True}}


@resource_rule(
    "gcp-gcs-versioning",
    description="Cloud Storage buckets have object versioning enabled.",
    severity="high",
    enforcement="mandatory",
    remediation="Set versioning={'enabled': True} (remediate level turns it on) and add lifecycle rules "
    "that delete non-current versions after N days.",
    clouds=("gcp",),
    types=(GCS_BUCKET,),
    benchmarks=("checkov:CKV_GCP_78",),
    remediate=_gcs_versioning_on,
)
def gcs_versioning(r: Res, ctx: Ctx) -> Iterable[str]:
    v = get(r.props, "versioning", "enabled")
    if v is not UNKNOWN and truthy(v) is not True:
        yield "versioning.enabled is not true."


@resource_rule(
    "gcp-gcs-access-logging",
    description="Cloud Storage buckets write usage/access logs to a log bucket (except the log bucket itself, "
    "labelled mlops-stack-role=access-logs: it would log into itself).",
    severity="medium",
    enforcement="advisory",
    remediation="Set logging={'log_bucket': logs.name}, or rely on Data Access audit logs for the bucket.",
    clouds=("gcp",),
    types=(GCS_BUCKET,),
    benchmarks=("checkov:CKV_GCP_62",),
)
def gcs_logging(r: Res, ctx: Ctx) -> Iterable[str]:
    role = get(r.props, "labels", "mlops-stack-role")
    if role is UNKNOWN or role == "access-logs":
        return  # a log bucket does not log into itself (as aws-s3-access-logging exempts log targets)
    v = get(r.props, "logging", "logBucket")
    if v is not UNKNOWN and not v:
        yield "logging.logBucket is not set."


# ---------------------------------------------------------------------------------
# Artifact Registry


@resource_rule(
    "gcp-ar-immutable-tags",
    description="Docker repositories in Artifact Registry have immutable tags.",
    severity="high",
    enforcement="mandatory",
    remediation="Set docker_config={'immutable_tags': True} on gcp.artifactregistry.Repository.",
    clouds=("gcp",),
    types=(AR_REPO,),
    benchmarks=("mlops:immutable-images",),
)
def ar_immutable(r: Res, ctx: Ctx) -> Iterable[str]:
    if r.props.get("format") not in (None, "DOCKER", "docker") or r.props.get("mode") not in (None, "STANDARD_REPOSITORY"):
        return
    v = get(r.props, "dockerConfig", "immutableTags")
    if v is not UNKNOWN and truthy(v) is not True:
        yield "dockerConfig.immutableTags is not true."


@resource_rule(
    "gcp-ar-cmek",
    description="Artifact Registry repositories are encrypted with a customer-managed Cloud KMS key.",
    severity="medium",
    enforcement="advisory",
    remediation="Set kms_key_name=crypto_key.id (creation-time only: the repository is replaced).",
    clouds=("gcp",),
    types=(AR_REPO,),
    benchmarks=("checkov:CKV_GCP_84",),
)
def ar_cmek(r: Res, ctx: Ctx) -> Iterable[str]:
    v = r.props.get("kmsKeyName")
    if v is not UNKNOWN and not v:
        yield "kmsKeyName is not set."


@resource_rule(
    "gcp-ar-not-public",
    description="Artifact Registry IAM never grants allUsers or allAuthenticatedUsers.",
    severity="critical",
    enforcement="mandatory",
    remediation="Grant roles/artifactregistry.reader to the node and CI service accounts only.",
    clouds=("gcp",),
    types=AR_IAM,
    benchmarks=("checkov:CKV_GCP_101",),
)
def ar_public(r: Res, ctx: Ctx) -> Iterable[str]:
    members = _members(r)
    if members is UNKNOWN:
        return
    for m in members:
        if m in PUBLIC_MEMBERS:
            yield f"grants {r.props.get('role')} to {m}."


@resource_rule(
    "gcp-ar-vulnerability-scanning",
    description="Artifact Registry repositories do not disable vulnerability scanning.",
    severity="medium",
    enforcement="mandatory",
    remediation="Leave vulnerability_scanning_config.enablement_config unset/INHERITED (with the Container "
    "Scanning API enabled), never 'DISABLED'.",
    clouds=("gcp",),
    types=(AR_REPO,),
    benchmarks=("cis-gke-1.5:5.1.1",),
)
def ar_scanning(r: Res, ctx: Ctx) -> Iterable[str]:
    v = get(r.props, "vulnerabilityScanningConfig", "enablementConfig")
    if v == "DISABLED":
        yield "vulnerabilityScanningConfig.enablementConfig is DISABLED."


# ---------------------------------------------------------------------------------
# GKE


@resource_rule(
    "gcp-gke-private-endpoint",
    description="GKE clusters use private nodes and a private endpoint, or master authorized networks "
    "that exclude 0.0.0.0/0.",
    severity="high",
    enforcement="mandatory",
    remediation="Set private_cluster_config={'enable_private_nodes': True, 'enable_private_endpoint': True} "
    "or master_authorized_networks_config with your CIDRs.",
    clouds=("gcp",),
    types=(GKE_CLUSTER,),
    benchmarks=("checkov:CKV_GCP_25", "checkov:CKV_GCP_18", "cis-gke-1.5:5.6.3", "cis-gke-1.5:5.6.5"),
)
def gke_private(r: Res, ctx: Ctx) -> Iterable[str]:
    pcc = r.props.get("privateClusterConfig")
    man = r.props.get("masterAuthorizedNetworksConfig")
    if pcc is UNKNOWN or man is UNKNOWN:
        return
    pn = get(pcc, "enablePrivateNodes")
    pe = get(pcc, "enablePrivateEndpoint")
    if pn is UNKNOWN or pe is UNKNOWN:
        return
    if not truthy(pn):
        yield "privateClusterConfig.enablePrivateNodes is not true (nodes get public IPs)."
    if truthy(pe):
        return
    blocks = as_list(get(man, "cidrBlocks"))
    if blocks is UNKNOWN:
        return
    cidrs = [get(b, "cidrBlock") for b in blocks]
    if any(c is UNKNOWN for c in cidrs):
        return
    if not man or not cidrs:
        yield "control plane endpoint is public with no master authorized networks."
    elif "0.0.0.0/0" in cidrs:
        yield "master authorized networks include 0.0.0.0/0."


@resource_rule(
    "gcp-gke-secrets-encryption",
    description="GKE clusters encrypt Kubernetes secrets at the application layer with Cloud KMS.",
    severity="high",
    enforcement="mandatory",
    remediation="Set database_encryption={'state': 'ENCRYPTED', 'key_name': crypto_key.id}.",
    clouds=("gcp",),
    types=(GKE_CLUSTER,),
    benchmarks=("cis-gke-1.5:5.3.1",),
)
def gke_secrets(r: Res, ctx: Ctx) -> Iterable[str]:
    state = get(r.props, "databaseEncryption", "state")
    key = get(r.props, "databaseEncryption", "keyName")
    if state is UNKNOWN or key is UNKNOWN:
        return
    if state != "ENCRYPTED" or not key:
        yield "databaseEncryption is not ENCRYPTED with a Cloud KMS key."


@resource_rule(
    "gcp-gke-logging",
    description="GKE clusters send system and workload logs to Cloud Logging.",
    severity="medium",
    enforcement="mandatory",
    remediation="Leave logging_service at 'logging.googleapis.com/kubernetes' (default) or set "
    "logging_config={'enable_components': ['SYSTEM_COMPONENTS', 'WORKLOADS']}.",
    clouds=("gcp",),
    types=(GKE_CLUSTER,),
    benchmarks=("checkov:CKV_GCP_1", "cis-gke-1.5:5.7.1"),
)
def gke_logging(r: Res, ctx: Ctx) -> Iterable[str]:
    svc = r.props.get("loggingService")
    comps = get(r.props, "loggingConfig", "enableComponents")
    if svc == "none":
        yield "loggingService is 'none'."
    elif isinstance(comps, list) and UNKNOWN not in comps and "SYSTEM_COMPONENTS" not in comps:
        yield "loggingConfig.enableComponents lacks SYSTEM_COMPONENTS."


@resource_rule(
    "gcp-gke-workload-identity",
    description="GKE clusters enable Workload Identity and node pools use the GKE metadata server.",
    severity="high",
    enforcement="mandatory",
    remediation="Set workload_identity_config={'workload_pool': f'{project}.svc.id.goog'} on the cluster "
    "and node_config.workload_metadata_config={'mode': 'GKE_METADATA'} on node pools.",
    clouds=("gcp",),
    types=(GKE_CLUSTER, GKE_POOL),
    benchmarks=("checkov:CKV_GCP_69", "cis-gke-1.5:5.2.2", "cis-gke-1.5:5.4.1"),
)
def gke_wi(r: Res, ctx: Ctx) -> Iterable[str]:
    if r.type == GKE_CLUSTER:
        if truthy(r.props.get("enableAutopilot")):
            return
        pool = get(r.props, "workloadIdentityConfig", "workloadPool")
        if pool is not UNKNOWN and not pool:
            yield "workloadIdentityConfig.workloadPool is not set."
        mode = get(r.props, "nodeConfig", "workloadMetadataConfig", "mode")
        if r.props.get("nodeConfig") and mode not in (UNKNOWN, "GKE_METADATA") and not truthy(r.props.get("removeDefaultNodePool")):
            yield "default node pool does not use workloadMetadataConfig.mode GKE_METADATA."
        return
    mode = get(r.props, "nodeConfig", "workloadMetadataConfig", "mode")
    if mode is not UNKNOWN and mode != "GKE_METADATA":
        yield f"nodeConfig.workloadMetadataConfig.mode is {mode or 'unset'}, not GKE_METADATA."


@resource_rule(
    "gcp-gke-network-policy",
    description="GKE clusters enforce Kubernetes NetworkPolicy (Dataplane V2 or the Calico add-on).",
    severity="medium",
    enforcement="mandatory",
    remediation="Set datapath_provider='ADVANCED_DATAPATH' (Dataplane V2), or network_policy={'enabled': True, "
    "'provider': 'CALICO'} with addons_config.network_policy_config.disabled=False.",
    clouds=("gcp",),
    types=(GKE_CLUSTER,),
    benchmarks=("checkov:CKV_GCP_12", "cis-gke-1.5:5.6.7"),
)
def gke_netpol(r: Res, ctx: Ctx) -> Iterable[str]:
    if truthy(r.props.get("enableAutopilot")):
        return
    dp = r.props.get("datapathProvider")
    enabled = get(r.props, "networkPolicy", "enabled")
    if dp is UNKNOWN or enabled is UNKNOWN:
        return
    if dp != "ADVANCED_DATAPATH" and truthy(enabled) is not True:
        yield "neither Dataplane V2 (ADVANCED_DATAPATH) nor networkPolicy.enabled is set."


def _default_sa(sa: Any) -> bool:
    return sa in (None, "", "default") or (isinstance(sa, str) and sa.endswith("-compute@developer.gserviceaccount.com"))


@resource_rule(
    "gcp-gke-no-default-service-account",
    description="GKE nodes run as a dedicated least-privilege service account, not the Compute Engine default.",
    severity="high",
    enforcement="mandatory",
    remediation="Create a gcp.serviceaccount.Account with roles/container.defaultNodeServiceAccount and set "
    "node_config.service_account to its email (and remove_default_node_pool=True on the cluster).",
    clouds=("gcp",),
    types=(GKE_CLUSTER, GKE_POOL),
    benchmarks=("checkov:CKV_GCP_30", "cis-gke-1.5:5.2.1"),
)
def gke_default_sa(r: Res, ctx: Ctx) -> Iterable[str]:
    if r.type == GKE_CLUSTER:
        if truthy(r.props.get("enableAutopilot")):
            sa = get(r.props, "clusterAutoscaling", "autoProvisioningDefaults", "serviceAccount")
            if sa is not UNKNOWN and _default_sa(sa):
                yield "Autopilot nodes use the default service account."
            return
        if r.props.get("removeDefaultNodePool") is UNKNOWN or truthy(r.props.get("removeDefaultNodePool")):
            return
    sa = get(r.props, "nodeConfig", "serviceAccount")
    if sa is not UNKNOWN and _default_sa(sa):
        yield "nodeConfig.serviceAccount is the Compute Engine default service account."


# ---------------------------------------------------------------------------------
# Cloud KMS and IAM


def _seconds(value: Any) -> int | None:
    if isinstance(value, str) and value.endswith("s"):
        return to_int(value[:-1])
    return to_int(value)


@resource_rule(
    "gcp-kms-rotation",
    description="Cloud KMS symmetric keys rotate automatically at least every maxKeyRotationDays (default 90).",
    severity="high",
    enforcement="mandatory",
    remediation="Set rotation_period='7776000s' (90 days) on gcp.kms.CryptoKey.",
    clouds=("gcp",),
    types=(KMS_KEY,),
    benchmarks=("checkov:CKV_GCP_43", "cis-gcp-2.0:1.10"),
    config=("maxKeyRotationDays",),
)
def gcp_kms_rotation(r: Res, ctx: Ctx) -> Iterable[str]:
    if r.props.get("purpose") not in (None, "ENCRYPT_DECRYPT"):
        return
    period = r.props.get("rotationPeriod")
    if period is UNKNOWN:
        return
    secs = _seconds(period)
    limit = int(ctx.config.get("maxKeyRotationDays", 90)) * 86400
    if secs is None:
        yield "rotationPeriod is not set."
    elif secs > limit:
        yield f"rotationPeriod {period} exceeds {limit}s."


@resource_rule(
    "gcp-no-primitive-roles",
    description="No project IAM grant of the basic roles roles/owner or roles/editor.",
    severity="critical",
    enforcement="mandatory",
    remediation="Grant predefined roles scoped to what the member needs (e.g. roles/storage.objectAdmin on "
    "one bucket) instead of roles/owner or roles/editor.",
    clouds=("gcp",),
    types=PROJECT_IAM,
    benchmarks=("checkov:CKV_GCP_117", "cis-gcp-2.0:1.5"),
)
def gcp_primitive(r: Res, ctx: Ctx) -> Iterable[str]:
    role = r.props.get("role")
    if role in ("roles/owner", "roles/editor"):
        yield f"grants basic role {role}."


@resource_rule(
    "gcp-no-service-account-keys",
    description="No user-managed service account keys (gcp.serviceaccount.Key); use Workload Identity.",
    severity="high",
    enforcement="mandatory",
    remediation="Delete the key; bind the Kubernetes service account to the Google service account with "
    "roles/iam.workloadIdentityUser, or use Workload Identity Federation for CI.",
    clouds=("gcp",),
    types=(SA_KEY,),
    benchmarks=("cis-gcp-2.0:1.4",),
)
def gcp_sa_keys(r: Res, ctx: Ctx) -> Iterable[str]:
    yield "creates a user-managed service account key."
