"""GCP rules (pulumi-gcp 10.x tokens; wire/camelCase input names)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from ..model import Ctx, Res
from ..values import UNKNOWN, as_list, get, to_int, truthy
from ._registry import resource_rule, stack_rule

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
BINAUTHZ_POLICY = "gcp:binaryauthorization/policy:Policy"
SERVICE = "gcp:projects/service:Service"
VPC_NETWORK = "gcp:compute/network:Network"
FIREWALL = "gcp:compute/firewall:Firewall"

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


# ---------------------------------------------------------------------------------
# Binary Authorization, intranode visibility, scanning, Google Groups, firewall


@resource_rule(
    "gcp-gke-binary-authorization",
    description="GKE clusters evaluate Binary Authorization (evaluationMode PROJECT_SINGLETON_POLICY_ENFORCE).",
    severity="high",
    enforcement="mandatory",
    remediation="Set binary_authorization={'evaluation_mode': 'PROJECT_SINGLETON_POLICY_ENFORCE'} on the cluster and "
    "manage the project's gcp.binaryauthorization.Policy (mlops_stack.gcp.admission does both).",
    clouds=("gcp",),
    types=(GKE_CLUSTER,),
    benchmarks=("cis-gke-1.5:5.10.5", "checkov:CKV_GCP_66"),
)
def gke_binauthz(r: Res, ctx: Ctx) -> Iterable[str]:
    ba = r.props.get("binaryAuthorization")
    if ba is UNKNOWN:
        return
    mode = get(ba, "evaluationMode")
    if mode is UNKNOWN:
        return
    if mode in ("PROJECT_SINGLETON_POLICY_ENFORCE", "POLICY_BINDINGS", "POLICY_BINDINGS_AND_PROJECT_SINGLETON_POLICY_ENFORCE"):
        return
    if mode is None and (get(ba, "enabled") is UNKNOWN or truthy(get(ba, "enabled"))):
        return
    yield f"Binary Authorization is not enforced (evaluationMode {mode or 'unset'})."


@resource_rule(
    "gcp-binauthz-policy-enforced",
    description="The project's Binary Authorization policy never admits every image by default, and blocks "
    "(ENFORCED_BLOCK_AND_AUDIT_LOG) in prod; elsewhere a dry run (audit log only) is accepted.",
    severity="high",
    enforcement="mandatory",
    remediation="Set default_admission_rule={'evaluation_mode': 'ALWAYS_DENY' (or REQUIRE_ATTESTATION), "
    "'enforcement_mode': 'ENFORCED_BLOCK_AND_AUDIT_LOG'} in prod and allowlist the registries you deploy from.",
    clouds=("gcp",),
    types=(BINAUTHZ_POLICY,),
    benchmarks=("cis-gke-1.5:5.10.5",),
)
def binauthz_policy(r: Res, ctx: Ctx) -> Iterable[str]:
    rule = r.props.get("defaultAdmissionRule")
    if rule is UNKNOWN:
        return
    evaluation, enforcement = get(rule, "evaluationMode"), get(rule, "enforcementMode")
    if evaluation == "ALWAYS_ALLOW":
        yield "defaultAdmissionRule.evaluationMode is ALWAYS_ALLOW: every image is admitted."
    if ctx.is_prod(r) and enforcement not in ("ENFORCED_BLOCK_AND_AUDIT_LOG", UNKNOWN):
        yield f"prod policy does not block (enforcementMode {enforcement or 'unset'})."


@resource_rule(
    "gcp-gke-intranode-visibility",
    description="GKE clusters enable intranode visibility, so same-node pod traffic reaches VPC flow logs and firewall rules.",
    severity="low",
    enforcement="mandatory",
    remediation="Set enable_intranode_visibility=True on the cluster.",
    clouds=("gcp",),
    types=(GKE_CLUSTER,),
    benchmarks=("cis-gke-1.5:5.6.1", "checkov:CKV_GCP_61"),
)
def gke_intranode(r: Res, ctx: Ctx) -> Iterable[str]:
    v = r.props.get("enableIntranodeVisibility")
    if v is UNKNOWN:
        return
    if truthy(v) is not True:
        yield "enableIntranodeVisibility is not true."


@stack_rule(
    "gcp-container-scanning-api",
    description="A stack with Docker repositories in Artifact Registry enables containerscanning.googleapis.com, "
    "the API Artifact Registry's automatic vulnerability scanning runs on.",
    severity="medium",
    enforcement="mandatory",
    remediation="Add gcp.projects.Service(service='containerscanning.googleapis.com', disable_on_destroy=False).",
    clouds=("gcp",),
    benchmarks=("cis-gke-1.5:5.1.1",),
)
def container_scanning_api(resources: list[Res], ctx: Ctx) -> Iterable[tuple[str, str]]:
    repos = [r for r in resources if r.type == AR_REPO and r.props.get("format") == "DOCKER"]
    if not repos:
        return
    services = [r.props.get("service") for r in resources if r.type == SERVICE]
    if UNKNOWN in services or "containerscanning.googleapis.com" in services:
        return
    for r in repos:
        yield r.urn, "containerscanning.googleapis.com is not enabled: pushed images are never scanned."


@resource_rule(
    "gcp-gke-google-groups-rbac",
    description="GKE clusters accept Google Groups in RBAC (authenticatorGroupsConfig.securityGroup), so access is "
    "granted to groups the organisation manages rather than to individual users.",
    severity="low",
    enforcement="advisory",
    remediation="Set the spec's gcp.rbacSecurityGroup to gke-security-groups@<your domain> (the group must exist in "
    "Google Workspace / Cloud Identity; see docs/security.md).",
    clouds=("gcp",),
    types=(GKE_CLUSTER,),
    benchmarks=("cis-gke-1.5:5.8.3", "checkov:CKV_GCP_65"),
)
def gke_google_groups(r: Res, ctx: Ctx) -> Iterable[str]:
    group = get(r.props, "authenticatorGroupsConfig", "securityGroup")
    if group is UNKNOWN or (isinstance(group, str) and group):
        return
    yield "authenticatorGroupsConfig.securityGroup is not set (RBAC through Google Groups is off)."


def _firewall_network_match(fw: Res, net: Res) -> bool:
    value = fw.props.get("network")
    return net.urn in fw.property_dependencies.get("network", []) or (
        isinstance(value, str) and value in {net.urn, net.props.get("name"), net.props.get("id")}
    )


def _is_logged_deny_all_ingress(fw: Res) -> bool:
    """True when the rule is (or, with unknown inputs, may be) a logged deny-all ingress from anywhere."""
    props = fw.props
    direction, disabled = props.get("direction", "INGRESS"), props.get("disabled")
    denies, sources = as_list(props.get("denies")), as_list(props.get("sourceRanges"))
    log_config, enable_logging = props.get("logConfig"), props.get("enableLogging")
    if UNKNOWN in (direction, disabled, denies, sources, log_config, enable_logging):
        return True
    if direction != "INGRESS" or truthy(disabled):
        return False
    if any(d is UNKNOWN or get(d, "protocol") is UNKNOWN for d in denies) or UNKNOWN in sources:
        return True
    denies_all = any(get(d, "protocol") == "all" and not get(d, "ports") for d in denies)
    logged = log_config is not None or truthy(enable_logging) is True
    return denies_all and "0.0.0.0/0" in sources and logged


@stack_rule(
    "gcp-vpc-explicit-deny-ingress",
    description="Every custom VPC has an explicit, logged firewall rule denying all ingress from 0.0.0.0/0 (rather "
    "than relying on the unlogged implied deny), and no allow rule is open to 0.0.0.0/0.",
    severity="medium",
    enforcement="mandatory",
    remediation="Add gcp.compute.Firewall(direction='INGRESS', priority=65534, denies=[{'protocol': 'all'}], "
    "source_ranges=['0.0.0.0/0'], log_config={'metadata': 'INCLUDE_ALL_METADATA'}) and narrow allow rules to "
    "the ranges that need them.",
    clouds=("gcp",),
    benchmarks=("nist-800-53:SC-7(5)", "nist-800-53:AU-12", "cis-gcp-2.0:3.6"),
)
def vpc_explicit_deny(resources: list[Res], ctx: Ctx) -> Iterable[tuple[str, str]]:
    firewalls = [r for r in resources if r.type == FIREWALL]
    for fw in firewalls:
        sources = as_list(fw.props.get("sourceRanges"))
        allows = as_list(fw.props.get("allows"))
        if sources is UNKNOWN or allows is UNKNOWN or not allows:
            continue
        if fw.props.get("direction", "INGRESS") == "INGRESS" and "0.0.0.0/0" in sources:
            yield fw.urn, "allow rule is open to 0.0.0.0/0."
    for net in (r for r in resources if r.type == VPC_NETWORK):
        mine = [fw for fw in firewalls if _firewall_network_match(fw, net)]
        if not any(_is_logged_deny_all_ingress(fw) for fw in mine):
            yield net.urn, "network has no logged deny-all ingress firewall rule."


#: GCS locations that already keep data in two or more regions (multi-regions and the
#: predefined dual-regions).
GCS_MULTI_LOCATIONS = frozenset({"US", "EU", "ASIA", "NAM4", "EUR4", "EUR5", "EUR7", "EUR8", "ASIA1"})


@resource_rule(
    "gcp-gcs-dual-region",
    description="In prod every GCS data bucket keeps its data in two regions (a dual- or multi-region location), "
    "except access-log buckets and buckets labelled mlops-stack-replication=single-region (a documented decision, "
    "spec storage.replicaRegion: none).",
    severity="medium",
    enforcement="mandatory",
    remediation="Keep the spec default (prod is a dual-region with the paired region) or set storage.replicaRegion; "
    "by hand: location='US' (or EU/ASIA) with custom_placement_config.data_locations=[<region>, <second region>] and "
    "a CMEK in the multi-region's KMS location.",
    clouds=("gcp",),
    types=(GCS_BUCKET,),
    benchmarks=("nist-800-53:CP-9", "nist-800-53:CP-6"),
    prod_only=True,
)
def gcs_dual_region(r: Res, ctx: Ctx) -> Iterable[str]:
    if not ctx.is_prod(r):
        return
    lbls = r.props.get("labels")
    if lbls is UNKNOWN:
        return
    lbls = lbls if isinstance(lbls, dict) else {}
    if UNKNOWN in (lbls.get("mlops-stack-role"), lbls.get("mlops-stack-replication")):
        return
    if lbls.get("mlops-stack-role") == "access-logs" or lbls.get("mlops-stack-replication") == "single-region":
        return
    location, placement = r.props.get("location"), r.props.get("customPlacementConfig")
    if location is UNKNOWN or placement is UNKNOWN:
        return
    locations = as_list(get(placement, "dataLocations"))
    if locations is UNKNOWN or len(locations or []) >= 2:
        return
    if isinstance(location, str) and location.upper() in GCS_MULTI_LOCATIONS:
        return
    yield f"bucket lives in one region ({location}); prod data buckets are dual-region."
