"""GCP workload identity (GKE Workload Identity Federation): a Google service account that
exactly one Kubernetes ServiceAccount may impersonate, allowed the granted GCS prefixes.

- The GSA (``account_id`` derived from the stack prefix, the ServiceAccount's name and a
  hash of ``<namespace>/<name>``: 6-30 characters, deterministic, distinct per binding).
- ``roles/iam.workloadIdentityUser`` on that GSA only, for the one member
  ``serviceAccount:<project>.svc.id.goog[<namespace>/<name>]`` (GKE docs, "Authenticate to
  Google Cloud APIs from GKE workloads"); the ServiceAccount carries
  ``iam.gke.io/gcp-service-account: <gsa email>``. No key is created.
- Per grant, a bucket-level binding for the GSA with an IAM condition: read grants
  ``roles/storage.objectViewer`` (get + list), write grants ``roles/storage.objectUser``
  (also create, overwrite, delete and multipart uploads; MLflow overwrites and deletes
  artifacts). The condition holds two halves: ``resource.name`` starts with
  ``projects/_/buckets/<bucket>/objects/<prefix>`` (every object operation), or the
  list request's prefix, ``api.getAttribute("storage.googleapis.com/objectListPrefix", "")``,
  starts with ``<prefix>`` (``storage.objects.list`` is checked on the bucket, whose name
  never matches the object half; this keeps listing to the prefix instead of allowing the
  whole bucket's listing). IAM conditions on a bucket need uniform bucket-level access,
  which every bucket of the store has. A listing must name the prefix with its trailing
  ``/`` (KServe v0.20.0 appends one to a GCS folder anyway, so ``v1`` and ``v10`` stay apart).
- A grant's ``bucket_check`` adds nothing here: KServe's GCS download sends no bucket request
  (``storage.Client().bucket()`` is local), and neither does MLflow's.
- No Cloud KMS grant: the buckets' CMEK is used by the Cloud Storage service agent, which
  the store already granted the key; a caller reading or writing objects needs no
  ``cloudkms`` permission (GCS docs, "Customer-managed encryption keys").
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Mapping, Sequence

import pulumi
import pulumi_gcp as gcp

from mlops_stack.args import BucketGrant, WorkloadIdentityArgs, child_opts, merge_opts
from mlops_stack.gcp._shared import MAX_ACCOUNT_ID, enable_services, project_info

#: The ServiceAccount annotation GKE's metadata server reads.
GSA_ANNOTATION = "iam.gke.io/gcp-service-account"
WORKLOAD_IDENTITY_USER = "roles/iam.workloadIdentityUser"
READ_ROLE = "roles/storage.objectViewer"
WRITE_ROLE = "roles/storage.objectUser"
#: The APIs the account (IAM) and its tokens (IAM Service Account Credentials) need.
APIS = ("iam.googleapis.com", "iamcredentials.googleapis.com")
#: IAM condition titles hold at most 100 characters.
MAX_TITLE = 100


def workload_account_id(prefix: str, namespace: str, service_account: str) -> str:
    """``<prefix>-<name>-<hash6>``, at most 30 characters, starting with a letter.

    The hash is of ``<prefix>/<namespace>/<name>``, so two bindings never share an account
    even when their readable heads are cut to the same text."""
    digest = hashlib.sha1(f"{prefix}/{namespace}/{service_account}".encode()).hexdigest()[:6]
    head = re.sub(r"[^a-z0-9-]", "-", f"{prefix}-{service_account}".lower())
    if not head[:1].isalpha():
        head = f"wi-{head}"
    head = head[: MAX_ACCOUNT_ID - len(digest) - 1].rstrip("-")
    return f"{head}-{digest}"


def prefix_condition(bucket: str, prefix: str) -> str:
    """The CEL expression that limits a bucket binding to ``prefix`` (objects and listings)."""
    obj = json.dumps(f"projects/_/buckets/{bucket}/objects/{prefix}")
    return f'resource.name.startsWith({obj}) || api.getAttribute("storage.googleapis.com/objectListPrefix", "").startsWith({json.dumps(prefix)})'


def condition_title(grant: BucketGrant) -> str:
    title = f"{'read-write' if grant.write else 'read'} {grant.bucket}/{grant.prefix}"
    if len(title) <= MAX_TITLE:
        return title
    digest = hashlib.sha1(title.encode()).hexdigest()[:8]
    return f"{title[: MAX_TITLE - 9]}~{digest}"


def workload_member(pool: str, namespace: str, service_account: str) -> str:
    return f"serviceAccount:{pool}[{namespace}/{service_account}]"


def cluster_resources(cluster: object) -> list[pulumi.Resource]:
    """The GKE cluster resource a ``roles/iam.workloadIdentityUser`` binding waits for."""
    gke = getattr(cluster, "gke_cluster", None)
    return [gke] if isinstance(gke, pulumi.Resource) else []


class WorkloadIdentity(pulumi.ComponentResource):
    """``mlops:gcp:WorkloadIdentity``: a Google service account one Kubernetes
    ServiceAccount may impersonate, with prefix-conditioned bucket roles. Outputs:
    ``service_account_annotations`` (``iam.gke.io/gcp-service-account``), ``pod_labels``
    (none), ``identity`` (the GSA email), ``member`` (``serviceAccount:<email>``)."""

    service_account_annotations: pulumi.Output[dict[str, str]]
    pod_labels: dict[str, str]
    identity: pulumi.Output[str]
    member: pulumi.Output[str]

    def __init__(self, name: str, args: WorkloadIdentityArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("mlops:gcp:WorkloadIdentity", name, None, merge_opts(opts))
        env, ns, sa = args.env, args.namespace, args.service_account
        project, _number = project_info(self)
        pool = getattr(args.cluster, "workload_pool", None) or pulumi.Output.concat(project, ".svc.id.goog")
        apis = enable_services(self, name, APIS)

        account = gcp.serviceaccount.Account(
            f"{name}-sa",
            account_id=workload_account_id(env.prefix, ns, sa),
            display_name=f"mlops-stack {env.prefix}: {ns}/{sa}"[:100],
            description=f"Workload identity of the Kubernetes ServiceAccount {ns}/{sa}; bucket prefixes only, no keys.",
            opts=child_opts(self, depends_on=apis),
        )
        trust = gcp.serviceaccount.IAMMember(
            f"{name}-workload-identity-user",
            service_account_id=account.name,
            role=WORKLOAD_IDENTITY_USER,
            member=pulumi.Output.from_input(pool).apply(lambda p: workload_member(p, ns, sa)),
            # The identity pool exists once the cluster does: bind only after it (issue 25).
            opts=child_opts(self, depends_on=[*apis, *cluster_resources(args.cluster)]),
        )
        bindings = _bucket_bindings(self, name, args.grants, args.store.bucket_names, account.member)

        # The email resolves once the trust and the grants exist: a pod using it can act.
        self.identity = pulumi.Output.all(account.email, trust.id, *[b.id for b in bindings]).apply(lambda v: v[0])
        self.service_account_annotations = self.identity.apply(lambda email: {GSA_ANNOTATION: email})
        self.pod_labels = {}
        self.member = account.member
        self.register_outputs(
            {
                "service_account_annotations": self.service_account_annotations,
                "pod_labels": self.pod_labels,
                "identity": self.identity,
                "member": self.member,
            }
        )


def _bucket_bindings(
    parent: pulumi.Resource, name: str, grants: Sequence[BucketGrant], bucket_names: Mapping[str, pulumi.Input[str]], member: pulumi.Output[str]
) -> list[gcp.storage.BucketIAMMember]:
    out = []
    for grant in grants:
        physical = bucket_names[grant.bucket]
        digest = hashlib.sha1(grant.prefix.encode()).hexdigest()[:7]
        out.append(
            gcp.storage.BucketIAMMember(
                f"{name}-{grant.bucket}-{digest}",
                bucket=physical,
                role=WRITE_ROLE if grant.write else READ_ROLE,
                member=member,
                condition=gcp.storage.BucketIAMMemberConditionArgs(
                    title=condition_title(grant),
                    description=f"Only objects under {grant.prefix} (and listings of that prefix)"[:256],
                    expression=pulumi.Output.from_input(physical).apply(lambda b, p=grant.prefix: prefix_condition(b, p)),
                ),
                opts=child_opts(parent),
            )
        )
    return out
