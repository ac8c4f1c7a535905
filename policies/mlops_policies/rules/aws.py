"""AWS rules (pulumi-aws 7.x tokens; wire/camelCase input names)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from ..model import Ctx, Res
from ..values import UNKNOWN, as_list, get, to_int, truthy
from . import _iam
from ._registry import resource_rule, stack_rule

BUCKET = "aws:s3/bucket:Bucket"
BUCKET_ACL = "aws:s3/bucketAcl:BucketAcl"
BUCKET_VERSIONING = "aws:s3/bucketVersioning:BucketVersioning"
BUCKET_SSE = "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration"
BUCKET_PAB = "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock"
BUCKET_POLICY = "aws:s3/bucketPolicy:BucketPolicy"
BUCKET_LOGGING = "aws:s3/bucketLogging:BucketLogging"
BUCKET_REPLICATION = "aws:s3/bucketReplicationConfig:BucketReplicationConfig"
KMS_KEY = "aws:kms/key:Key"
ECR_REPO = "aws:ecr/repository:Repository"
ECR_POLICY = "aws:ecr/repositoryPolicy:RepositoryPolicy"
EKS_CLUSTER = "aws:eks/cluster:Cluster"
IAM_ROLE = "aws:iam/role:Role"
IAM_ROLE_POLICY = "aws:iam/rolePolicy:RolePolicy"
IAM_POLICY = "aws:iam/policy:Policy"
IAM_USER_POLICY = "aws:iam/userPolicy:UserPolicy"
IAM_GROUP_POLICY = "aws:iam/groupPolicy:GroupPolicy"
IAM_ACCESS_KEY = "aws:iam/accessKey:AccessKey"
LOG_GROUP = "aws:cloudwatch/logGroup:LogGroup"
VPC = "aws:ec2/vpc:Vpc"
FLOW_LOG = "aws:ec2/flowLog:FlowLog"

PUBLIC_ACLS = ("public-read", "public-read-write", "authenticated-read")


# ---------------------------------------------------------------------------------
# S3


@resource_rule(
    "aws-s3-no-public-acl",
    description="S3 buckets must not grant a public canned ACL (public-read, public-read-write, authenticated-read).",
    severity="critical",
    enforcement="mandatory",
    remediation="Remove the 'acl' argument (or set 'private') on the bucket / BucketAcl and keep "
    "BucketOwnershipControls at 'BucketOwnerEnforced' so ACLs are disabled.",
    clouds=("aws",),
    types=(BUCKET, BUCKET_ACL),
    benchmarks=("checkov:CKV_AWS_20", "checkov:CKV_AWS_57", "aws-fsbp:S3.2", "aws-fsbp:S3.3"),
)
def s3_no_public_acl(r: Res, ctx: Ctx) -> Iterable[str]:
    acl = r.get("acl")
    if isinstance(acl, str) and acl in PUBLIC_ACLS:
        yield f"ACL '{acl}' makes the bucket's objects readable by anyone."


def _bucket_keys(b: Res) -> set[str]:
    keys = {b.urn}
    for k in ("bucket", "id"):
        v = b.props.get(k)
        if isinstance(v, str):
            keys.add(v)
    return keys


def _resolve_bucket(sub: Res, field: str, buckets: list[Res]) -> tuple[Res | None, list[Res]]:
    """The bucket ``sub.<field>`` points at, or (None, candidates) when it cannot be told."""
    by_urn = {b.urn: b for b in buckets}
    deps = [by_urn[u] for u in sub.property_dependencies.get(field, []) if u in by_urn]
    if len(deps) == 1:
        return deps[0], []
    value = sub.props.get(field)
    if isinstance(value, str):
        for b in buckets:
            if value in _bucket_keys(b):
                return b, []
    dep_buckets = [by_urn[u] for u in sub.dependencies if u in by_urn]
    if len(dep_buckets) == 1 and (field == "bucket" and sub.type != BUCKET_LOGGING):
        return dep_buckets[0], []
    if isinstance(value, str) and not dep_buckets:
        return None, []  # names a bucket outside this stack
    return None, dep_buckets or list(buckets)


def _joined(resources: list[Res], sub_type: str, field: str = "bucket") -> tuple[dict[str, list[Res]], set[str]]:
    """Sub-resources of ``sub_type`` per bucket URN, and URNs of buckets we cannot judge."""
    buckets = [r for r in resources if r.type == BUCKET]
    per: dict[str, list[Res]] = {b.urn: [] for b in buckets}
    maybe: set[str] = set()
    for sub in resources:
        if sub.type != sub_type:
            continue
        b, candidates = _resolve_bucket(sub, field, buckets)
        if b is not None:
            per[b.urn].append(sub)
        else:
            maybe.update(c.urn for c in candidates)
    return per, maybe


def _bucket_stack_check(
    resources: list[Res], sub_type: str, ok: Any, inline_ok: Any, missing: str
) -> Iterable[tuple[str, str]]:
    per, maybe = _joined(resources, sub_type)
    for b in (r for r in resources if r.type == BUCKET):
        inline = inline_ok(b)
        if inline is True or inline is UNKNOWN:
            continue
        subs = per.get(b.urn, [])
        if not subs:
            if b.urn not in maybe:
                yield b.urn, missing
            continue
        verdicts = [ok(s) for s in subs]
        if any(v is True or v is UNKNOWN for v in verdicts):
            continue
        yield b.urn, next(v for v in verdicts if isinstance(v, str))


def _pab_ok(s: Res) -> Any:
    flags = ("blockPublicAcls", "blockPublicPolicy", "ignorePublicAcls", "restrictPublicBuckets")
    vals = {f: truthy(s.props.get(f)) for f in flags}
    if any(s.props.get(f) is UNKNOWN for f in flags):
        return UNKNOWN
    off = [f for f, v in vals.items() if not v]
    return True if not off else f"public access block leaves {', '.join(off)} off."


@stack_rule(
    "aws-s3-public-access-block",
    description="Every S3 bucket has a BucketPublicAccessBlock with all four settings on.",
    severity="critical",
    enforcement="mandatory",
    remediation="Add aws.s3.BucketPublicAccessBlock(bucket=bucket.id, block_public_acls=True, "
    "block_public_policy=True, ignore_public_acls=True, restrict_public_buckets=True).",
    clouds=("aws",),
    benchmarks=("checkov:CKV2_AWS_6", "checkov:CKV_AWS_53", "checkov:CKV_AWS_54", "checkov:CKV_AWS_55",
                "checkov:CKV_AWS_56", "aws-fsbp:S3.8", "cis-aws-3.0:2.1.4"),
)
def s3_public_access_block(resources: list[Res], ctx: Ctx) -> Iterable[tuple[str, str]]:
    yield from _bucket_stack_check(resources, BUCKET_PAB, _pab_ok, lambda b: False,
                                   "bucket has no BucketPublicAccessBlock.")


def _sse_rules_ok(rules: Any) -> Any:
    rules = as_list(rules)
    if rules is UNKNOWN:
        return UNKNOWN
    for rule in rules:
        default = get(rule, "applyServerSideEncryptionByDefault")
        algo = get(default, "sseAlgorithm")
        key = get(default, "kmsMasterKeyId")
        if algo is UNKNOWN or key is UNKNOWN:
            return UNKNOWN
        if algo in ("aws:kms", "aws:kms:dsse") and isinstance(key, str) and key and key != "alias/aws/s3":
            return True
    return "default encryption is not SSE-KMS with a customer-managed key (kmsMasterKeyId)."


def _log_targets(resources: list[Res]) -> set[str]:
    """URNs of buckets that receive S3 server access logs (or might: unresolvable joins count)."""
    buckets = [r for r in resources if r.type == BUCKET]
    targets: set[str] = set()
    for s in resources:
        if s.type == BUCKET_LOGGING:
            t, cands = _resolve_bucket(s, "targetBucket", buckets)
            if t is not None:
                targets.add(t.urn)
            else:
                targets.update(c.urn for c in cands)
    return targets


def _sse_ok_for_log_target(rules: Any) -> Any:
    rules = as_list(rules)
    if rules is UNKNOWN:
        return UNKNOWN
    for rule in rules:
        algo = get(rule, "applyServerSideEncryptionByDefault", "sseAlgorithm")
        if algo is UNKNOWN or algo in ("AES256", "aws:kms", "aws:kms:dsse"):
            return True
    return "log-target bucket has no default encryption (use SSE-S3, AES256)."


@stack_rule(
    "aws-s3-kms-encryption",
    description="Every S3 bucket encrypts by default with SSE-KMS under a customer-managed KMS key. Buckets that "
    "receive S3 server access logs need only SSE-S3 (AES256): S3 log delivery does not support SSE-KMS targets.",
    severity="high",
    enforcement="mandatory",
    remediation="Add aws.s3.BucketServerSideEncryptionConfiguration with a rule "
    "apply_server_side_encryption_by_default={sse_algorithm: 'aws:kms', kms_master_key_id: key.arn} "
    "and bucket_key_enabled=True (SSE-S3 'AES256' for the access-log bucket).",
    clouds=("aws",),
    benchmarks=("checkov:CKV_AWS_145", "aws-fsbp:S3.17"),
)
def s3_kms_encryption(resources: list[Res], ctx: Ctx) -> Iterable[tuple[str, str]]:
    log_targets = _log_targets(resources)

    def inline(b: Res) -> Any:
        rules = get(b.props, "serverSideEncryptionConfiguration", "rule")
        if rules is None:
            rules = get(b.props, "serverSideEncryptionConfiguration", "rules")
        if rules is None:
            return False
        v = _sse_ok_for_log_target(rules) if b.urn in log_targets else _sse_rules_ok(rules)
        return v if v is True or v is UNKNOWN else False

    per, maybe = _joined(resources, BUCKET_SSE)
    for b in (r for r in resources if r.type == BUCKET):
        if inline(b) is not False:
            continue
        subs = per.get(b.urn, [])
        if not subs:
            if b.urn not in maybe:
                yield b.urn, "bucket has no BucketServerSideEncryptionConfiguration (SSE-KMS)."
            continue
        check = _sse_ok_for_log_target if b.urn in log_targets else _sse_rules_ok
        verdicts = [check(s.props.get("rules")) for s in subs]
        if any(v is True or v is UNKNOWN for v in verdicts):
            continue
        yield b.urn, next(v for v in verdicts if isinstance(v, str))


def _versioning_status(s: Res) -> Any:
    status = get(s.props, "versioningConfiguration", "status")
    if status is UNKNOWN:
        return UNKNOWN
    return True if status == "Enabled" else f"versioning status is {status!r}, not 'Enabled'."


@stack_rule(
    "aws-s3-versioning",
    description="Every S3 bucket has versioning enabled (BucketVersioning status 'Enabled').",
    severity="high",
    enforcement="mandatory",
    remediation="Add aws.s3.BucketVersioning(bucket=bucket.id, versioning_configuration={'status': 'Enabled'}).",
    clouds=("aws",),
    benchmarks=("checkov:CKV_AWS_21", "aws-fsbp:S3.14"),
)
def s3_versioning(resources: list[Res], ctx: Ctx) -> Iterable[tuple[str, str]]:
    def inline(b: Res) -> Any:
        v = get(b.props, "versioning", "enabled")
        return UNKNOWN if v is UNKNOWN else bool(v)

    yield from _bucket_stack_check(resources, BUCKET_VERSIONING, _versioning_status, inline,
                                   "bucket has no BucketVersioning with status 'Enabled'.")


def _enable_versioning(r: Res, ctx: Ctx) -> dict[str, Any] | None:
    status = get(r.props, "versioningConfiguration", "status")
    if status is UNKNOWN or status == "Enabled":
        return None
    props = dict(r.props)
    vc = dict(props.get("versioningConfiguration") or {})
    vc["status"] = "Enabled"
    props["versioningConfiguration"] = vc
    return props


@resource_rule(
    "aws-s3-versioning-enabled",
    description="A BucketVersioning resource sets status 'Enabled' (not 'Suspended' or 'Disabled').",
    severity="high",
    enforcement="mandatory",
    remediation="Set versioning_configuration.status='Enabled'. Remediation (enforcementLevel "
    "'remediate') sets it for you: suspending versioning is never the intended end state here.",
    clouds=("aws",),
    types=(BUCKET_VERSIONING,),
    benchmarks=("checkov:CKV_AWS_21", "aws-fsbp:S3.14"),
    remediate=_enable_versioning,
)
def s3_versioning_enabled(r: Res, ctx: Ctx) -> Iterable[str]:
    verdict = _versioning_status(r)
    if isinstance(verdict, str):
        yield verdict


@stack_rule(
    "aws-s3-tls-only",
    description="Every S3 bucket has a bucket policy that denies requests without TLS (aws:SecureTransport false).",
    severity="high",
    enforcement="mandatory",
    remediation="Add aws.s3.BucketPolicy with a Deny statement for Principal '*', Action 's3:*', "
    "Resource [bucket ARN, bucket ARN + '/*'] and Condition {Bool: {'aws:SecureTransport': 'false'}}.",
    clouds=("aws",),
    benchmarks=("aws-fsbp:S3.5", "cis-aws-3.0:2.1.1"),
)
def s3_tls_only(resources: list[Res], ctx: Ctx) -> Iterable[tuple[str, str]]:
    def ok(s: Res) -> Any:
        v = _iam.denies_insecure_transport(s.props.get("policy"))
        return v if v is not False else "bucket policy does not deny requests without TLS."

    def inline(b: Res) -> Any:
        pol = b.props.get("policy")
        return False if pol is None else (_iam.denies_insecure_transport(pol) or False)

    yield from _bucket_stack_check(resources, BUCKET_POLICY, ok, inline,
                                   "bucket has no bucket policy denying non-TLS requests.")


@stack_rule(
    "aws-s3-access-logging",
    description="Every S3 bucket (except log-target buckets) has server access logging (BucketLogging).",
    severity="medium",
    enforcement="advisory",
    remediation="Add aws.s3.BucketLogging(bucket=bucket.id, target_bucket=logs.id, target_prefix='<name>/') "
    "pointing at a dedicated log bucket.",
    clouds=("aws",),
    benchmarks=("checkov:CKV_AWS_18", "aws-fsbp:S3.9"),
)
def s3_access_logging(resources: list[Res], ctx: Ctx) -> Iterable[tuple[str, str]]:
    targets = _log_targets(resources)
    rest = [r for r in resources if not (r.type == BUCKET and r.urn in targets)]

    def inline(b: Res) -> Any:
        lg = b.props.get("logging")
        return UNKNOWN if lg is UNKNOWN else bool(lg)

    yield from _bucket_stack_check(rest, BUCKET_LOGGING, lambda s: True, inline,
                                   "bucket has no server access logging (BucketLogging).")


def _replication_rule_gaps(rule: Any) -> list[str]:
    if get(rule, "status") in (UNKNOWN, "Disabled"):
        return []
    gaps = []
    sse = get(rule, "sourceSelectionCriteria", "sseKmsEncryptedObjects", "status")
    if sse not in ("Enabled", UNKNOWN):
        gaps.append("SSE-KMS encrypted objects are not selected (sourceSelectionCriteria.sseKmsEncryptedObjects): they are skipped")
    key = get(rule, "destination", "encryptionConfiguration", "replicaKmsKeyId")
    if key is None or key == "":
        gaps.append("no destination.encryptionConfiguration.replicaKmsKeyId: replicas are not encrypted with a key of their own")
    markers = get(rule, "deleteMarkerReplication", "status")
    if markers not in ("Enabled", UNKNOWN):
        gaps.append("delete markers are not replicated (deleteMarkerReplication): the replica keeps serving deleted objects")
    return gaps


@resource_rule(
    "aws-s3-replication-kms-and-delete-markers",
    description="Every enabled S3 replication rule replicates SSE-KMS objects (they are skipped otherwise), "
    "re-encrypts replicas with a destination KMS key and replicates delete markers.",
    severity="high",
    enforcement="mandatory",
    remediation="In each rule set source_selection_criteria.sse_kms_encrypted_objects.status='Enabled', "
    "destination.encryption_configuration.replica_kms_key_id=<replica-region key ARN> and "
    "delete_marker_replication.status='Enabled' (with a filter, e.g. prefix '').",
    clouds=("aws",),
    types=(BUCKET_REPLICATION,),
    benchmarks=("aws-fsbp:S3.7", "checkov:CKV_AWS_144"),
)
def s3_replication_rules(r: Res, ctx: Ctx) -> Iterable[str]:
    rules = as_list(r.props.get("rules"))
    if rules is UNKNOWN:
        return
    for i, rule in enumerate(rules):
        for gap in _replication_rule_gaps(rule):
            yield f"rule {get(rule, 'id') or i}: {gap}."


def _region_of(r: Res) -> Any:
    region = r.provider_props.get("region") if r.provider_props else None
    return region or r.props.get("region")


@stack_rule(
    "aws-s3-cross-region-replication",
    description="In prod every S3 bucket is replicated to a bucket in another region (BucketReplicationConfig), "
    "except access-log buckets, replica buckets and buckets tagged mlops-stack-replication=single-region "
    "(a documented single-region decision, spec storage.replicaRegion: none).",
    severity="medium",
    enforcement="mandatory",
    remediation="Keep the spec default (prod replicates to the paired region) or set storage.replicaRegion; "
    "by hand: a versioned replica bucket with its own KMS key in the other region, a replication role and "
    "aws.s3.BucketReplicationConfig on the source bucket.",
    clouds=("aws",),
    benchmarks=("aws-fsbp:S3.7", "checkov:CKV_AWS_144", "nist-800-53:CP-9"),
    prod_only=True,
)
def s3_cross_region_replication(resources: list[Res], ctx: Ctx) -> Iterable[tuple[str, str]]:
    if not ctx.is_prod():
        return
    buckets = [r for r in resources if r.type == BUCKET]
    log_targets = _log_targets(resources)
    per, maybe = _joined(resources, BUCKET_REPLICATION)
    by_arn = {b.props.get("arn"): b for b in buckets if isinstance(b.props.get("arn"), str)}
    destinations: set[str] = set()
    unsure = False
    for cfg in (r for r in resources if r.type == BUCKET_REPLICATION):
        rules = as_list(cfg.props.get("rules"))
        if rules is UNKNOWN:
            unsure = True
            continue
        for rule in rules:
            dest = get(rule, "destination", "bucket")
            if dest is UNKNOWN or (dest not in by_arn and any(b.props.get("arn") is UNKNOWN for b in buckets)):
                unsure = True
            elif dest in by_arn:
                destinations.add(by_arn[dest].urn)
    for b in buckets:
        tags = b.props.get("tags")
        if tags is UNKNOWN or (isinstance(tags, dict) and UNKNOWN in tags.values()):
            continue
        if isinstance(tags, dict) and tags.get("mlops-stack-replication") == "single-region":
            continue
        if b.urn in log_targets or b.urn in destinations or b.urn in maybe:
            continue
        if isinstance(tags, dict) and tags.get("mlops-stack-role") in ("replica", "access-logs"):
            continue
        configs = per.get(b.urn, [])
        if not configs:
            if not unsure:
                yield b.urn, "bucket is not replicated to another region (no BucketReplicationConfig)."
            continue
        src_region = _region_of(b)
        for cfg in configs:
            rules = as_list(cfg.props.get("rules"))
            for rule in rules if isinstance(rules, list) else []:
                dest_arn = get(rule, "destination", "bucket")
                dest = by_arn.get(dest_arn) if isinstance(dest_arn, str) else None
                if dest is not None and isinstance(src_region, str) and _region_of(dest) == src_region:
                    yield b.urn, f"bucket replicates to a bucket in its own region ({src_region})."


# ---------------------------------------------------------------------------------
# KMS


def _enable_rotation(r: Res, ctx: Ctx) -> dict[str, Any] | None:
    if r.props.get("enableKeyRotation") is True or r.props.get("enableKeyRotation") is UNKNOWN:
        return None
    if r.props.get("customerMasterKeySpec") not in (None, "SYMMETRIC_DEFAULT"):
        return None  # asymmetric / HMAC keys cannot rotate: leave the decision to a human
    return {**r.props, "enableKeyRotation": True}


@resource_rule(
    "aws-kms-key-rotation",
    description="Symmetric customer-managed KMS keys have automatic rotation enabled.",
    severity="high",
    enforcement="mandatory",
    remediation="Set enable_key_rotation=True on aws.kms.Key (remediate level does it for symmetric keys).",
    clouds=("aws",),
    types=(KMS_KEY,),
    benchmarks=("checkov:CKV_AWS_7", "aws-fsbp:KMS.4", "cis-aws-3.0:3.6"),
    remediate=_enable_rotation,
)
def kms_key_rotation(r: Res, ctx: Ctx) -> Iterable[str]:
    spec = r.props.get("customerMasterKeySpec")
    if spec not in (None, "SYMMETRIC_DEFAULT"):
        return
    if truthy(r.props.get("enableKeyRotation")) is False or r.props.get("enableKeyRotation") is None:
        yield "enableKeyRotation is not true."


# ---------------------------------------------------------------------------------
# ECR


def _enable_scan_on_push(r: Res, ctx: Ctx) -> dict[str, Any] | None:
    if get(r.props, "imageScanningConfiguration", "scanOnPush") is True:
        return None
    if get(r.props, "imageScanningConfiguration", "scanOnPush") is UNKNOWN:
        return None
    return {**r.props, "imageScanningConfiguration": {"scanOnPush": True}}


@resource_rule(
    "aws-ecr-immutable-tags",
    description="ECR repositories use IMMUTABLE image tags, so a pushed tag can never be overwritten.",
    severity="high",
    enforcement="mandatory",
    remediation="Set image_tag_mutability='IMMUTABLE' (or 'IMMUTABLE_WITH_EXCLUSION' with narrow filters).",
    clouds=("aws",),
    types=(ECR_REPO,),
    benchmarks=("checkov:CKV_AWS_51", "aws-fsbp:ECR.2"),
)
def ecr_immutable(r: Res, ctx: Ctx) -> Iterable[str]:
    m = r.props.get("imageTagMutability")
    if m is UNKNOWN:
        return
    if m not in ("IMMUTABLE", "IMMUTABLE_WITH_EXCLUSION"):
        yield f"imageTagMutability is {m or 'MUTABLE (default)'}."


@resource_rule(
    "aws-ecr-scan-on-push",
    description="ECR repositories scan images on push.",
    severity="medium",
    enforcement="mandatory",
    remediation="Set image_scanning_configuration={'scan_on_push': True} (remediate level turns it on), "
    "or configure registry-level enhanced scanning.",
    clouds=("aws",),
    types=(ECR_REPO,),
    benchmarks=("checkov:CKV_AWS_163", "aws-fsbp:ECR.1"),
    remediate=_enable_scan_on_push,
)
def ecr_scan_on_push(r: Res, ctx: Ctx) -> Iterable[str]:
    v = get(r.props, "imageScanningConfiguration", "scanOnPush")
    if v is UNKNOWN:
        return
    if truthy(v) is not True:
        yield "imageScanningConfiguration.scanOnPush is not true."


@resource_rule(
    "aws-ecr-kms-encryption",
    description="ECR repositories are encrypted with a customer-managed KMS key.",
    severity="medium",
    enforcement="advisory",
    remediation="Set encryption_configurations=[{'encryption_type': 'KMS', 'kms_key': key.arn}] "
    "(only settable at creation: the repository is replaced).",
    clouds=("aws",),
    types=(ECR_REPO,),
    benchmarks=("checkov:CKV_AWS_136",),
)
def ecr_kms(r: Res, ctx: Ctx) -> Iterable[str]:
    confs = as_list(r.props.get("encryptionConfigurations"))
    if confs is UNKNOWN:
        return
    for c in confs:
        if get(c, "encryptionType") is UNKNOWN or get(c, "kmsKey") is UNKNOWN:
            return
        if get(c, "encryptionType") == "KMS" and get(c, "kmsKey"):
            return
    yield "repository is not encrypted with a customer-managed KMS key."


@resource_rule(
    "aws-ecr-not-public",
    description="ECR repository policies do not allow Principal '*' without a condition.",
    severity="critical",
    enforcement="mandatory",
    remediation="Grant pull to explicit account/role ARNs, or add a Condition (aws:PrincipalOrgID).",
    clouds=("aws",),
    types=(ECR_POLICY,),
    benchmarks=("checkov:CKV_AWS_32",),
)
def ecr_not_public(r: Res, ctx: Ctx) -> Iterable[str]:
    yield from _iam.public_principal_statements(r.props.get("policy"))


# ---------------------------------------------------------------------------------
# EKS


@resource_rule(
    "aws-eks-endpoint-not-public",
    description="EKS API endpoints are private, or public only to an allowlist that excludes 0.0.0.0/0.",
    severity="high",
    enforcement="mandatory",
    remediation="Set vpc_config.endpoint_private_access=True and endpoint_public_access=False, or keep "
    "public access with public_access_cidrs limited to your office/CI ranges.",
    clouds=("aws",),
    types=(EKS_CLUSTER,),
    benchmarks=("checkov:CKV_AWS_39", "checkov:CKV_AWS_38", "aws-fsbp:EKS.1"),
)
def eks_endpoint(r: Res, ctx: Ctx) -> Iterable[str]:
    vpc = r.props.get("vpcConfig")
    if vpc is UNKNOWN:
        return
    public = get(vpc, "endpointPublicAccess")
    if public is UNKNOWN:
        return
    if public is None or truthy(public):
        cidrs = as_list(get(vpc, "publicAccessCidrs"))
        if cidrs is UNKNOWN or any(c is UNKNOWN for c in cidrs):
            return
        if not cidrs:
            yield "public endpoint is open to 0.0.0.0/0 (no publicAccessCidrs)."
        elif any(c in ("0.0.0.0/0", "::/0") for c in cidrs):
            yield "publicAccessCidrs contains 0.0.0.0/0."


@resource_rule(
    "aws-eks-secrets-encryption",
    description="EKS clusters envelope-encrypt Kubernetes secrets with a KMS key.",
    severity="high",
    enforcement="mandatory",
    remediation="Set encryption_config={'provider': {'key_arn': key.arn}, 'resources': ['secrets']}.",
    clouds=("aws",),
    types=(EKS_CLUSTER,),
    benchmarks=("checkov:CKV_AWS_58", "aws-fsbp:EKS.3"),
)
def eks_secrets(r: Res, ctx: Ctx) -> Iterable[str]:
    enc = r.props.get("encryptionConfig")
    if enc is UNKNOWN:
        return
    resources = as_list(get(enc, "resources"))
    key = get(enc, "provider", "keyArn")
    if resources is UNKNOWN or key is UNKNOWN or UNKNOWN in resources:
        return
    if not enc or "secrets" not in resources or not key:
        yield "encryptionConfig does not encrypt 'secrets' with a KMS key."


@resource_rule(
    "aws-eks-control-plane-logging",
    description="EKS clusters send the configured control-plane log types (default: all five) to CloudWatch.",
    severity="medium",
    enforcement="mandatory",
    remediation="Set enabled_cluster_log_types=['api', 'audit', 'authenticator', 'controllerManager', 'scheduler'].",
    clouds=("aws",),
    types=(EKS_CLUSTER,),
    benchmarks=("checkov:CKV_AWS_37", "aws-fsbp:EKS.8"),
    config=("requiredLogTypes",),
)
def eks_logging(r: Res, ctx: Ctx) -> Iterable[str]:
    types = as_list(r.props.get("enabledClusterLogTypes"))
    if types is UNKNOWN or any(t is UNKNOWN for t in types):
        return
    missing = [t for t in ctx.config.get("requiredLogTypes", []) if t not in types]
    if missing:
        yield f"control-plane log types not enabled: {', '.join(missing)}."


# ---------------------------------------------------------------------------------
# IAM


@resource_rule(
    "aws-iam-no-admin-wildcard",
    description="No IAM policy document allows Action '*' on Resource '*' (inline role policies, role "
    "inline_policies, managed, user and group policies).",
    severity="critical",
    enforcement="mandatory",
    remediation="Grant the specific actions on the specific resource ARNs the workload needs; use AWS "
    "managed job-function policies only for humans, never for workloads.",
    clouds=("aws",),
    types=(IAM_ROLE, IAM_ROLE_POLICY, IAM_POLICY, IAM_USER_POLICY, IAM_GROUP_POLICY),
    benchmarks=("checkov:CKV_AWS_62", "checkov:CKV_AWS_1", "aws-fsbp:IAM.1", "cis-aws-3.0:1.16"),
)
def iam_no_admin(r: Res, ctx: Ctx) -> Iterable[str]:
    if r.type == IAM_ROLE:
        inline = as_list(r.props.get("inlinePolicies"))
        if inline is UNKNOWN:
            return
        for p in inline:
            for found in _iam.admin_wildcard_statements(get(p, "policy")):
                yield f"inline policy {get(p, 'name') or ''}: {found}"
        arns = as_list(r.props.get("managedPolicyArns"))
        if arns is not UNKNOWN and "arn:aws:iam::aws:policy/AdministratorAccess" in arns:
            yield "attaches AdministratorAccess."
        return
    yield from _iam.admin_wildcard_statements(r.props.get("policy"))


@resource_rule(
    "aws-iam-no-admin-attachment",
    description="Roles are not attached to the AWS managed AdministratorAccess policy.",
    severity="critical",
    enforcement="mandatory",
    remediation="Attach a least-privilege policy instead of arn:aws:iam::aws:policy/AdministratorAccess.",
    clouds=("aws",),
    types=("aws:iam/rolePolicyAttachment:RolePolicyAttachment", "aws:iam/userPolicyAttachment:UserPolicyAttachment",
           "aws:iam/groupPolicyAttachment:GroupPolicyAttachment", "aws:iam/policyAttachment:PolicyAttachment"),
    benchmarks=("aws-fsbp:IAM.1", "cis-aws-3.0:1.16"),
)
def iam_no_admin_attachment(r: Res, ctx: Ctx) -> Iterable[str]:
    arn = r.props.get("policyArn")
    if isinstance(arn, str) and arn.endswith(":policy/AdministratorAccess"):
        yield "attaches AdministratorAccess."


@resource_rule(
    "aws-iam-no-access-keys",
    description="No long-lived IAM user access keys (aws.iam.AccessKey); workloads use roles (IRSA / Pod Identity).",
    severity="high",
    enforcement="mandatory",
    remediation="Delete the AccessKey; give the workload an IAM role (EKS Pod Identity or IRSA, SageMaker "
    "execution role) and let it obtain short-lived credentials.",
    clouds=("aws",),
    types=(IAM_ACCESS_KEY,),
    benchmarks=("aws-fsbp:IAM.3", "cis-aws-3.0:1.14"),
)
def iam_no_access_keys(r: Res, ctx: Ctx) -> Iterable[str]:
    if r.props.get("status") in ("Inactive", UNKNOWN):
        return
    yield "creates a static IAM access key."


@resource_rule(
    "aws-iam-eni-actions-scoped",
    description="IAM policies do not allow creating or deleting network interfaces (ec2:CreateNetworkInterface, "
    "CreateNetworkInterfacePermission, DeleteNetworkInterface[Permission]) on Resource '*' without a condition: "
    "a workload role may place interfaces only in its own VPC and subnets.",
    severity="medium",
    enforcement="mandatory",
    remediation="Scope the statement to arn:aws:ec2:<region>:<account>:network-interface/* with Condition "
    "{ArnEquals: {ec2:Vpc: <vpc ARN>, ec2:Subnet: [<subnet ARNs>]}}, the subnets by ARN and security groups "
    "with ec2:Vpc (see mlops_stack.aws.policies.vpc_access_statements).",
    clouds=("aws",),
    types=(IAM_ROLE, IAM_ROLE_POLICY, IAM_POLICY, IAM_USER_POLICY, IAM_GROUP_POLICY),
    benchmarks=("checkov:CKV_AWS_111", "checkov:CKV_AWS_355"),
)
def iam_eni_scoped(r: Res, ctx: Ctx) -> Iterable[str]:
    if r.type == IAM_ROLE:
        inline = as_list(r.props.get("inlinePolicies"))
        if inline is UNKNOWN:
            return
        for p in inline:
            for found in _iam.unscoped_eni_statements(get(p, "policy")):
                yield f"inline policy {get(p, 'name') or ''}: {found}"
        return
    yield from _iam.unscoped_eni_statements(r.props.get("policy"))


# ---------------------------------------------------------------------------------
# VPC


def _vpc_keys(v: Res) -> set[str]:
    keys = {v.urn}
    if isinstance(v.props.get("id"), str):
        keys.add(v.props["id"])
    return keys


@stack_rule(
    "aws-vpc-flow-logs",
    description="Every VPC has a flow log (aws.ec2.FlowLog with vpcId set to it) recording ALL traffic, accepted and rejected.",
    severity="medium",
    enforcement="mandatory",
    remediation="Add aws.ec2.FlowLog(vpc_id=vpc.id, traffic_type='ALL', log_destination_type='cloud-watch-logs', "
    "log_destination=<KMS-encrypted log group>.arn, iam_role_arn=<delivery role>.arn) (the AWS Network component "
    "does it when the Keys component is given the network).",
    clouds=("aws",),
    benchmarks=("cis-aws-3.0:3.7", "aws-fsbp:EC2.6", "checkov:CKV2_AWS_11"),
)
def vpc_flow_logs(resources: list[Res], ctx: Ctx) -> Iterable[tuple[str, str]]:
    vpcs = [r for r in resources if r.type == VPC]
    logged: set[str] = set()
    unsure = False
    for fl in (r for r in resources if r.type == FLOW_LOG):
        traffic = fl.props.get("trafficType")
        if traffic not in ("ALL", UNKNOWN):
            continue
        deps = fl.property_dependencies.get("vpcId", [])
        value = fl.props.get("vpcId")
        matched = [v for v in vpcs if v.urn in deps or (isinstance(value, str) and value in _vpc_keys(v))]
        if matched:
            logged.update(v.urn for v in matched)
        elif value is UNKNOWN or not isinstance(value, str):
            unsure = True
    if unsure:
        return
    for v in vpcs:
        if v.urn not in logged:
            yield v.urn, "VPC has no flow log recording ALL traffic."


# ---------------------------------------------------------------------------------
# CloudWatch


@resource_rule(
    "aws-log-group-retention-encryption",
    description="CloudWatch log groups set a retention period and encrypt with a KMS key.",
    severity="low",
    enforcement="advisory",
    remediation="Set retention_in_days (e.g. 365) and kms_key_id=key.arn on aws.cloudwatch.LogGroup.",
    clouds=("aws",),
    types=(LOG_GROUP,),
    benchmarks=("checkov:CKV_AWS_66", "checkov:CKV_AWS_158"),
)
def log_group(r: Res, ctx: Ctx) -> Iterable[str]:
    days = r.props.get("retentionInDays")
    if days is not UNKNOWN and not to_int(days):
        yield "retentionInDays is not set (logs are kept forever)."
    if r.props.get("kmsKeyId") is None:
        yield "kmsKeyId is not set."
