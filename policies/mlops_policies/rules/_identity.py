"""Workload identity rules (all three clouds): a cloud identity a Kubernetes workload
assumes is bound to exactly one ServiceAccount, and its storage access is limited to
object prefixes.

Resource types (wire names): AWS IAM roles and their inline policies (IRSA); GCP service
account IAM grants of ``roles/iam.workloadIdentityUser`` and bucket IAM grants; Azure
federated identity credentials and role assignments.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

from ..model import Ctx, Res
from ..values import UNKNOWN, as_list, get
from . import _iam
from ._registry import resource_rule, stack_rule

#: Position in the pack order (rules/__init__.py): workload identities, all clouds.
PACK_ORDER = 2

AWS_ROLE = "aws:iam/role:Role"
AWS_ROLE_POLICY = "aws:iam/rolePolicy:RolePolicy"
AWS_ROLE_ATTACHMENT = "aws:iam/rolePolicyAttachment:RolePolicyAttachment"
GCP_ACCOUNT = "gcp:serviceaccount/account:Account"
GCP_SA_MEMBER = "gcp:serviceaccount/iAMMember:IAMMember"
GCP_SA_BINDING = "gcp:serviceaccount/iAMBinding:IAMBinding"
GCP_PROJECT_MEMBER = "gcp:projects/iAMMember:IAMMember"
GCP_PROJECT_BINDING = "gcp:projects/iAMBinding:IAMBinding"
GCP_BUCKET_MEMBER = "gcp:storage/bucketIAMMember:BucketIAMMember"
GCP_BUCKET_BINDING = "gcp:storage/bucketIAMBinding:BucketIAMBinding"
AZ_IDENTITY = "azure-native:managedidentity:UserAssignedIdentity"
AZ_FEDERATION = "azure-native:managedidentity:FederatedIdentityCredential"
AZ_ROLE_ASSIGNMENT = "azure-native:authorization:RoleAssignment"

WORKLOAD_IDENTITY_USER = "roles/iam.workloadIdentityUser"
AZ_AUDIENCE = "api://AzureADTokenExchange"
STS_AUDIENCE = "sts.amazonaws.com"
#: One Kubernetes ServiceAccount: namespace and name, no wildcard.
SA_SUBJECT = re.compile(r"system:serviceaccount:[a-z0-9]([-a-z0-9]*[a-z0-9])?:[a-z0-9]([-a-z0-9.]*[a-z0-9])?")
#: GKE Workload Identity's member for one ServiceAccount.
GKE_MEMBER = re.compile(r"serviceAccount:[a-z0-9.-]+\.svc\.id\.goog\[[a-z0-9]([-a-z0-9]*[a-z0-9])?/[a-z0-9]([-a-z0-9.]*[a-z0-9])?\]")
#: Built-in Azure roles with blob data actions (Reader, Contributor, Owner).
AZ_BLOB_DATA_ROLES = (
    "2a2b9908-6ea1-4ae2-8e65-a410df84e7d1",
    "ba92f5b4-2d11-453d-a403-e96b0029c9fe",
    "b7e6dc6d-f1e8-4753-8033-0f276bb0955b",
)
_AZ_PATH = re.compile(r"@Resource\[Microsoft\.Storage/storageAccounts/blobServices/containers/blobs:path\]\s+StringStartsWith\s+'[^'*]+'")
_AZ_LIST = re.compile(r"@Request\[Microsoft\.Storage/storageAccounts/blobServices/containers/blobs:prefix\]\s+StringStartsWith\s+'[^'*]+'")
_GCS_OBJECTS = re.compile(r"""resource\.name\.startsWith\(\s*(["'])projects/_/buckets/[^/"'*]+/objects/[^"'*]+\1\s*\)""")
_GCS_LIST = re.compile(
    r"""api\.getAttribute\(\s*(["'])storage\.googleapis\.com/objectListPrefix\1\s*,\s*(["'])\2\s*\)\.startsWith\(\s*(["'])[^"'*]+\3\s*\)"""
)


# ---------------------------------------------------------------------------------
# One ServiceAccount per identity.


def _web_identity_statements(document: Any) -> list[tuple[str, dict[str, Any]]]:
    """(label, statement) of the Allow statements of a trust policy that let a Kubernetes
    ServiceAccount in through an OIDC provider (an EKS issuer, or a ``system:serviceaccount``
    subject). Other web-identity trusts (CI providers) are not this rule's business."""
    stmts = _iam.statements(document)
    if stmts is UNKNOWN:
        return []
    found = []
    for i, s in enumerate(stmts):
        if s is UNKNOWN or s.get("Effect") != "Allow":
            continue
        actions = as_list(s.get("Action"))
        if actions is UNKNOWN or not any(a in ("sts:AssumeRoleWithWebIdentity", "sts:*", "*") for a in actions):
            continue
        federated = as_list(get(s, "Principal", "Federated"))
        if federated is UNKNOWN or any(f is UNKNOWN for f in federated):
            continue
        text = repr(s.get("Condition"))
        if any(isinstance(f, str) and "oidc.eks." in f for f in federated) or "system:serviceaccount" in text:
            found.append((str(s.get("Sid") or i), s))
    return found


def _aws_trust_problems(document: Any) -> Iterable[str]:
    for label, s in _web_identity_statements(document):
        cond = s.get("Condition")
        if cond is UNKNOWN:
            continue
        if not isinstance(cond, dict) or not cond:
            yield f"trust statement {label} lets any ServiceAccount of the cluster assume the role (no condition)."
            continue
        equals = cond.get("StringEquals")
        if equals is UNKNOWN:
            continue
        equals = equals if isinstance(equals, dict) else {}
        for op, keys in cond.items():
            if op != "StringEquals" and isinstance(keys, dict) and any(isinstance(k, str) and k.endswith(":sub") for k in keys):
                yield f"trust statement {label} matches ':sub' with {op}; use StringEquals with one ServiceAccount."
        subs = [k for k in equals if k.endswith(":sub")]
        if not subs:
            yield f"trust statement {label} does not pin '<issuer>:sub' with StringEquals."
        for key in subs:
            values = as_list(equals[key])
            if values is UNKNOWN or any(v is UNKNOWN for v in values):
                continue
            if len(values) != 1:
                yield f"trust statement {label} lets {len(values)} subjects assume the role; name exactly one ServiceAccount."
            for v in values:
                if not (isinstance(v, str) and SA_SUBJECT.fullmatch(v)):
                    yield f"trust statement {label}: subject {v!r} is not one ServiceAccount (system:serviceaccount:<namespace>:<name>, no wildcard)."
        auds = [k for k in equals if k.endswith(":aud")]
        aud_values = [as_list(equals[k]) for k in auds]
        if any(v is UNKNOWN or any(x is UNKNOWN for x in v) for v in aud_values):
            continue
        if not auds or any(v != [STS_AUDIENCE] for v in aud_values):
            yield f"trust statement {label} does not pin '<issuer>:aud' to {STS_AUDIENCE} with StringEquals."


def _gcp_member_problems(r: Res) -> Iterable[str]:
    role = r.props.get("role")
    if role != WORKLOAD_IDENTITY_USER:
        return
    if r.type in (GCP_PROJECT_MEMBER, GCP_PROJECT_BINDING):
        yield f"grants {WORKLOAD_IDENTITY_USER} on the project: the member may impersonate every service account in it."
        return
    members = as_list(r.props.get("members")) if r.type == GCP_SA_BINDING else as_list(r.props.get("member"))
    if members is UNKNOWN or any(m is UNKNOWN for m in members):
        return
    if len(members) != 1:
        yield f"lets {len(members)} members impersonate the service account; bind exactly one Kubernetes ServiceAccount."
    for m in members:
        if not (isinstance(m, str) and GKE_MEMBER.fullmatch(m)):
            yield f"member {m!r} is not one Kubernetes ServiceAccount (serviceAccount:<project>.svc.id.goog[<namespace>/<name>])."


def _azure_federation_problems(r: Res) -> Iterable[str]:
    subject = r.props.get("subject")
    if r.props.get("claimsMatchingExpression") not in (None, UNKNOWN):
        yield "uses claimsMatchingExpression (a pattern over subjects); name one ServiceAccount in 'subject'."
    if subject is not UNKNOWN and not (isinstance(subject, str) and SA_SUBJECT.fullmatch(subject)):
        yield f"subject {subject!r} is not one ServiceAccount (system:serviceaccount:<namespace>:<name>, no wildcard)."
    audiences = as_list(r.props.get("audiences"))
    if audiences is not UNKNOWN and not any(a is UNKNOWN for a in audiences) and audiences != [AZ_AUDIENCE]:
        yield f"audiences {audiences!r} are not exactly ['{AZ_AUDIENCE}']."


@resource_rule(
    "workload-identity-one-service-account",
    description="A cloud identity Kubernetes workloads use trusts exactly one ServiceAccount: AWS web-identity trusts on an "
    "EKS OIDC provider pin '<issuer>:sub' (StringEquals, one system:serviceaccount:<ns>:<name>, no wildcard) and "
    "'<issuer>:aud' (sts.amazonaws.com); GCP grants roles/iam.workloadIdentityUser on one service account to one "
    "<project>.svc.id.goog[<ns>/<name>] member, never on the project; Azure federated credentials name one ServiceAccount "
    "subject and the api://AzureADTokenExchange audience only.",
    severity="high",
    enforcement="mandatory",
    remediation="Build the identity with mlops_stack's WorkloadIdentity (one per ServiceAccount), or set the trust "
    "condition / member / subject to the single ServiceAccount that needs it.",
    clouds=("aws", "gcp", "azure"),
    types=(AWS_ROLE, GCP_SA_MEMBER, GCP_SA_BINDING, GCP_PROJECT_MEMBER, GCP_PROJECT_BINDING, AZ_FEDERATION),
    benchmarks=("mlops:workload-identity",),
)
def one_service_account(r: Res, ctx: Ctx) -> Iterable[str]:
    if r.type == AWS_ROLE:
        yield from _aws_trust_problems(r.props.get("assumeRolePolicy"))
    elif r.type == AZ_FEDERATION:
        yield from _azure_federation_problems(r)
    else:
        yield from _gcp_member_problems(r)


# ---------------------------------------------------------------------------------
# Storage access limited to prefixes.


def _deps(r: Res, field: str) -> list[str]:
    return list(r.property_dependencies.get(field, []))


def _bucket_check_only(actions: list[Any], condition: Any) -> bool:
    """The one bucket-level statement allowed without a prefix: ``s3:ListBucket`` alone, only
    when the request carries no ``s3:prefix`` (``Null``), for a workload that checks the bucket
    with HeadBucket (authorised as ``s3:ListBucket``, which has no ``s3:prefix`` key). It lets
    the identity list object names, never read them; any other action or condition is a
    whole-bucket grant."""
    return actions == ["s3:ListBucket"] and condition == {"Null": {"s3:prefix": "true"}}


def _s3_resource_problem(resource: Any, condition: Any, actions: list[Any] | None = None) -> str | None:
    if not isinstance(resource, str):
        return None
    if resource == "*":
        return "on Resource '*'"
    match = re.fullmatch(r"arn:[^:]+:s3:::([^/]*)(/(.*))?", resource)
    if match is None:
        return None
    bucket, key = match.group(1), match.group(3)
    if "*" in bucket or "?" in bucket or not bucket:
        return f"on {resource!r} (a bucket pattern)"
    if key is None:
        if _bucket_check_only(actions or [], condition):
            return None
        prefixes = as_list(get(condition, "StringLike", "s3:prefix"))
        if prefixes is UNKNOWN or condition is UNKNOWN:
            return None
        equal = as_list(get(condition, "StringEquals", "s3:prefix"))
        values = [*prefixes, *(equal if equal is not UNKNOWN else [])]
        if not values:
            return f"on the bucket {resource!r} without an s3:prefix condition"
        if any(v is not UNKNOWN and (not isinstance(v, str) or not v.rstrip("*") or v.startswith("*")) for v in values):
            return f"on the bucket {resource!r} with an s3:prefix that is not a prefix"
        return None
    stem = key[:-1] if key.endswith("*") else key
    if not stem or "*" in stem or "?" in stem:
        return f"on {resource!r} (not one object prefix)"
    return None


def _s3_problems(document: Any) -> Iterable[str]:
    stmts = _iam.statements(document)
    if stmts is UNKNOWN:
        return
    for i, s in enumerate(stmts):
        if s is UNKNOWN or s.get("Effect") != "Allow":
            continue
        label = s.get("Sid") or i
        actions = as_list(s.get("Action"))
        not_actions = s.get("NotAction")
        if not_actions is not None and not_actions is not UNKNOWN:
            yield f"statement {label} uses NotAction: storage access cannot be checked against a prefix."
            continue
        if actions is UNKNOWN:
            continue
        s3 = [a for a in actions if isinstance(a, str) and (a in ("*", "s3:*") or a.lower().startswith("s3:"))]
        if not s3:
            continue
        if s.get("NotResource") not in (None, UNKNOWN):
            yield f"statement {label} allows {', '.join(s3)} with NotResource."
            continue
        resources = as_list(s.get("Resource"))
        if resources is UNKNOWN:
            continue
        for res in resources:
            problem = _s3_resource_problem(res, s.get("Condition"), actions)
            if problem:
                yield f"statement {label} allows {', '.join(s3)} {problem}."


def _aws_storage(resources: list[Res]) -> Iterable[tuple[str, str]]:
    roles = {r.urn for r in resources if r.type == AWS_ROLE and _web_identity_statements(r.props.get("assumeRolePolicy"))}
    if not roles:
        return
    for r in resources:
        if r.type == AWS_ROLE and r.urn in roles:
            inline = as_list(r.props.get("inlinePolicies"))
            for p in inline if inline is not UNKNOWN else []:
                for problem in _s3_problems(get(p, "policy")):
                    yield r.urn, f"workload identity role, inline policy {get(p, 'name') or ''}: {problem}"
        elif r.type == AWS_ROLE_POLICY and roles & set(_deps(r, "role")):
            for problem in _s3_problems(r.props.get("policy")):
                yield r.urn, f"policy of a workload identity role: {problem}"
        elif r.type == AWS_ROLE_ATTACHMENT and roles & set(_deps(r, "role")):
            arn = r.props.get("policyArn")
            if isinstance(arn, str) and re.search(r":policy/AmazonS3\w*Access$", arn):
                yield r.urn, f"attaches {arn} to a workload identity role: whole-bucket S3 access."


def _balanced(text: str) -> bool:
    depth = 0
    for ch in text:
        depth += {"(": 1, ")": -1}.get(ch, 0)
        if depth < 0:
            return False
    return depth == 0


def _outer(term: str) -> str:
    """A CEL term without the parentheses around the whole of it."""
    term = term.strip()
    while term.startswith("(") and term.endswith(")") and _balanced(term[1:-1]):
        term = term[1:-1].strip()
    return term


def _gcp_condition_problem(condition: Any) -> str | None:
    if condition is UNKNOWN:
        return None
    expression = get(condition, "expression")
    if expression is UNKNOWN:
        return None
    if not isinstance(expression, str) or not expression.strip():
        return "no IAM condition, so it covers the whole bucket"
    terms = [_outer(t) for t in expression.split("||")]
    if not any(_GCS_OBJECTS.fullmatch(t) for t in terms):
        return "no resource.name.startsWith(\"projects/_/buckets/<bucket>/objects/<prefix>\") condition"
    others = [t for t in terms if not (_GCS_OBJECTS.fullmatch(t) or _GCS_LIST.fullmatch(t))]
    if others:
        return f"the condition also allows {others[0]!r}, which is not an object prefix"
    return None


def _gcp_storage(resources: list[Res]) -> Iterable[tuple[str, str]]:
    accounts = {r.urn: r for r in resources if r.type == GCP_ACCOUNT}
    wi: set[str] = set()
    for r in resources:
        if r.type in (GCP_SA_MEMBER, GCP_SA_BINDING) and r.props.get("role") == WORKLOAD_IDENTITY_USER:
            wi.update(u for u in _deps(r, "serviceAccountId") if u in accounts)
    if not wi:
        return
    ids = {get(accounts[u].props, "accountId") for u in wi}
    ids = {i for i in ids if isinstance(i, str)}

    def is_wi(r: Res, field: str) -> bool:
        if set(_deps(r, field)) & wi:
            return True
        members = as_list(r.props.get(field))
        return members is not UNKNOWN and any(isinstance(m, str) and any(m.startswith(f"serviceAccount:{i}@") for i in ids) for m in members)

    for r in resources:
        role = r.props.get("role")
        if not (isinstance(role, str) and role.startswith("roles/storage.")):
            continue
        if r.type in (GCP_PROJECT_MEMBER, GCP_PROJECT_BINDING) and is_wi(r, "member" if r.type == GCP_PROJECT_MEMBER else "members"):
            yield r.urn, f"grants {role} to a workload identity on the whole project."
        elif r.type in (GCP_BUCKET_MEMBER, GCP_BUCKET_BINDING) and is_wi(r, "member" if r.type == GCP_BUCKET_MEMBER else "members"):
            problem = _gcp_condition_problem(r.props.get("condition"))
            if problem:
                yield r.urn, f"{role} for a workload identity: {problem}."


def _azure_storage(resources: list[Res]) -> Iterable[tuple[str, str]]:
    identities = {r.urn for r in resources if r.type == AZ_IDENTITY}
    wi = {u for r in resources if r.type == AZ_FEDERATION for u in _deps(r, "resourceName") if u in identities}
    if not wi:
        return
    for r in resources:
        if r.type != AZ_ROLE_ASSIGNMENT or not (set(_deps(r, "principalId")) & wi):
            continue
        role = r.props.get("roleDefinitionId")
        if not (isinstance(role, str) and role.rsplit("/", 1)[-1] in AZ_BLOB_DATA_ROLES):
            continue
        condition, version = r.props.get("condition"), r.props.get("conditionVersion")
        if condition is UNKNOWN or version is UNKNOWN:
            continue
        if not isinstance(condition, str) or not condition.strip():
            yield r.urn, "blob data role for a workload identity has no condition: it covers the whole scope."
            continue
        if version != "2.0":
            yield r.urn, f"condition version {version!r} is not '2.0'."
        if not _AZ_PATH.search(condition):
            yield r.urn, "blob data role for a workload identity: the condition does not limit blob paths to a prefix (blobs:path StringStartsWith)."
        if not _AZ_LIST.search(condition):
            yield r.urn, "blob data role for a workload identity: the condition does not limit listing to a prefix (blobs:prefix StringStartsWith)."


@stack_rule(
    "workload-identity-storage-prefix-scoped",
    description="A workload identity's storage access is limited to object prefixes: an IRSA role's S3 statements name "
    "'arn:aws:s3:::<bucket>/<prefix>*' (and the bucket only with an s3:prefix condition, or s3:ListBucket alone with "
    "{\"Null\": {\"s3:prefix\": \"true\"}} for a workload's HeadBucket check), never '*' or a whole bucket; a "
    "GCS grant to a Workload Identity service account carries an IAM condition on "
    "resource.name.startsWith(\"projects/_/buckets/<bucket>/objects/<prefix>\") (plus, for listing, the objectListPrefix "
    "attribute) and is never project-wide; an Azure blob data role for a federated identity carries a version 2.0 "
    "condition limiting blob paths and listings to a prefix.",
    severity="high",
    enforcement="mandatory",
    remediation="Grant BucketGrant(bucket, prefix) through mlops_stack's WorkloadIdentity, or add the prefix to the "
    "resource ARN / IAM condition / role assignment condition.",
    clouds=("aws", "gcp", "azure"),
    benchmarks=("mlops:workload-identity",),
)
def storage_prefix_scoped(resources: list[Res], ctx: Ctx) -> Iterable[tuple[str, str]]:
    yield from _aws_storage(resources)
    yield from _gcp_storage(resources)
    yield from _azure_storage(resources)
