"""AWS workload identity (IRSA): an IAM role that exactly one Kubernetes ServiceAccount of
the EKS cluster may assume, with an inline policy for the granted S3 prefixes.

The trust is the cluster's IAM OIDC provider with ``StringEquals`` on the token's ``sub``
(``system:serviceaccount:<namespace>:<name>``) and ``aud`` (``sts.amazonaws.com``), so no
other ServiceAccount, and no token minted for another audience, can assume the role (EKS
user guide, "Assign IAM roles to Kubernetes service accounts"). There is no access key:
the EKS pod identity webhook mounts a projected token and the SDKs exchange it
(``AssumeRoleWithWebIdentity``) when the ServiceAccount carries ``eks.amazonaws.com/role-arn``.

Per grant the policy allows, and nothing else:

- ``s3:GetObject`` on ``arn:<partition>:s3:::<bucket>/<prefix>*`` (``HeadObject`` is
  authorised by ``GetObject`` too);
- ``s3:ListBucket`` on the bucket only where the request's ``s3:prefix`` starts with the
  prefix: a listing must name the prefix with its trailing ``/`` (MLflow does; a KServe
  storage URI must end in ``/``);
- for a grant with ``bucket_check`` (cluster endpoints: KServe v0.20.0's storage
  initializer calls ``HeadBucket`` before it lists) also ``s3:ListBucket`` on the bucket
  where the request carries no ``s3:prefix`` at all (``Null``): HeadBucket is authorised as
  ``s3:ListBucket`` and has no ``s3:prefix`` key (S3 API reference, HeadBucket,
  "Permissions"), so a prefix condition alone refuses it (403, Init:CrashLoopBackOff). No
  condition key tells HeadBucket from a ListObjects that names no prefix, so such an
  identity can also list every object *name* of that bucket (never read an object outside
  its prefix); a listing that names another prefix, or an empty one, stays refused. One
  statement per bucket. Kubeflow Pipelines fixed the same for the storage initializer with a
  bucket-level ``s3:ListBucket`` (kubeflow/pipelines#13469);
- for a write grant also ``s3:PutObject`` (covers ``CreateMultipartUpload``, ``UploadPart``
  and ``CompleteMultipartUpload``), ``s3:AbortMultipartUpload`` and
  ``s3:ListMultipartUploadParts`` (boto3's transfer manager and MLflow's multipart artifact
  upload abort a failed upload and list its parts), and ``s3:DeleteObject`` (MLflow deletes
  artifacts). Not ``s3:DeleteObjectVersion``: the buckets are versioned, so a delete only
  adds a delete marker and the data stays recoverable;

and on the stack key, only through S3 in the stack's region (``kms:ViaService``) and only
for the granted buckets (``kms:EncryptionContext:aws:s3:arn``: the bucket ARN when S3
Bucket Keys are on, as they are on every data bucket here, the object ARN otherwise):
``kms:Decrypt`` to read (and to complete a multipart upload), plus ``kms:GenerateDataKey``
on the buckets with a write grant (S3 user guide, "Using server-side encryption with AWS
KMS keys" and "Multipart upload API and permissions").
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import pulumi
import pulumi_aws as aws

from mlops_stack.args import WorkloadIdentityArgs, child_opts, merge_opts, resource_tags
from mlops_stack.aws._shared import identity, key_arn
from mlops_stack.aws.policies import VERSION, dumps, irsa_assume_role_policy
from mlops_stack.errors import ConfigError

#: The ServiceAccount annotation the EKS pod identity webhook reads.
ROLE_ARN_ANNOTATION = "eks.amazonaws.com/role-arn"

READ_ACTIONS = ("s3:GetObject",)
WRITE_ACTIONS = ("s3:PutObject", "s3:AbortMultipartUpload", "s3:ListMultipartUploadParts", "s3:DeleteObject")


@dataclass(frozen=True)
class ResolvedGrant:
    """A grant with its bucket's physical name (what the policy document needs)."""

    bucket: str
    prefix: str
    write: bool
    bucket_check: bool = False


def workload_policy(*, partition: str, region: str, grants: Sequence[ResolvedGrant], key: str | None) -> str:
    """The role's inline policy for ``grants`` (see the module docstring for why each action)."""
    statements: list[dict[str, Any]] = []
    checked: set[str] = set()
    for i, g in enumerate(grants):
        bucket_arn = f"arn:{partition}:s3:::{g.bucket}"
        actions = [*READ_ACTIONS, *(WRITE_ACTIONS if g.write else ())]
        statements.append(
            {"Sid": f"Objects{i}", "Effect": "Allow", "Action": actions if len(actions) > 1 else actions[0], "Resource": f"{bucket_arn}/{g.prefix}*"}
        )
        statements.append(
            {
                "Sid": f"List{i}",
                "Effect": "Allow",
                "Action": "s3:ListBucket",
                "Resource": bucket_arn,
                "Condition": {"StringLike": {"s3:prefix": [f"{g.prefix}*"]}},
            }
        )
        if g.bucket_check and bucket_arn not in checked:
            checked.add(bucket_arn)
            statements.append(
                {"Sid": f"BucketCheck{i}", "Effect": "Allow", "Action": "s3:ListBucket", "Resource": bucket_arn, "Condition": {"Null": {"s3:prefix": "true"}}}
            )
    if key:
        via = {"kms:ViaService": f"s3.{region}.amazonaws.com"}

        def contexts(selected: Sequence[ResolvedGrant]) -> list[str]:
            out: list[str] = []
            for g in selected:
                bucket_arn = f"arn:{partition}:s3:::{g.bucket}"
                for ctx in (bucket_arn, f"{bucket_arn}/{g.prefix}*"):
                    if ctx not in out:
                        out.append(ctx)
            return out

        statements.append(
            {
                "Sid": "DecryptGrantedObjects",
                "Effect": "Allow",
                "Action": "kms:Decrypt",
                "Resource": key,
                "Condition": {"StringEquals": via, "StringLike": {"kms:EncryptionContext:aws:s3:arn": contexts(grants)}},
            }
        )
        writes = [g for g in grants if g.write]
        if writes:
            statements.append(
                {
                    "Sid": "EncryptGrantedObjects",
                    "Effect": "Allow",
                    "Action": "kms:GenerateDataKey",
                    "Resource": key,
                    "Condition": {"StringEquals": via, "StringLike": {"kms:EncryptionContext:aws:s3:arn": contexts(writes)}},
                }
            )
    return dumps({"Version": VERSION, "Statement": statements})


def role_annotations(role_arn: str) -> dict[str, str]:
    return {ROLE_ARN_ANNOTATION: role_arn}


class WorkloadIdentity(pulumi.ComponentResource):
    """``mlops:aws:WorkloadIdentity``: an IRSA role for one ServiceAccount, allowed exactly
    the granted S3 prefixes and the stack key through S3. Outputs:
    ``service_account_annotations`` (``eks.amazonaws.com/role-arn``), ``pod_labels``
    (none), ``identity`` (the role ARN), ``role_name``, ``policy`` (the inline policy JSON)."""

    service_account_annotations: pulumi.Output[dict[str, str]]
    pod_labels: dict[str, str]
    identity: pulumi.Output[str]
    role_name: pulumi.Output[str]
    policy: pulumi.Output[str]

    def __init__(self, name: str, args: WorkloadIdentityArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        cluster = args.cluster
        provider_arn = getattr(cluster, "oidc_provider_arn", None)
        if provider_arn is None:
            raise ConfigError(
                "WorkloadIdentityArgs.cluster",
                "has no IAM OIDC provider (oidc_provider_arn)",
                "pass the stack's EKS KubernetesCluster, which creates one",
            )
        kms = key_arn(args.keys) if args.keys is not None else getattr(args.store, "key_arn", None)
        if kms is None:
            raise ConfigError(
                "WorkloadIdentityArgs.keys",
                "is required on AWS: the buckets are SSE-KMS encrypted with the stack key, and reading them needs kms:Decrypt on it",
                "pass the stack's Keys component",
            )
        super().__init__("mlops:aws:WorkloadIdentity", name, None, merge_opts(opts))
        env = args.env
        _account, partition = identity(self)
        ns, sa = args.namespace, args.service_account

        role = aws.iam.Role(
            f"{name}-role",
            description=f"mlops-stack {env.prefix}: workload identity of {ns}/{sa}",
            assume_role_policy=pulumi.Output.all(provider_arn, cluster.oidc_issuer).apply(
                lambda v: irsa_assume_role_policy(v[0], v[1], ns, sa)
            ),
            max_session_duration=3600,
            tags=resource_tags(env, **{"mlops-stack-workload": f"{ns}.{sa}"}),
            opts=child_opts(self),
        )
        names = [args.store.bucket_names[g.bucket] for g in args.grants]
        grants = args.grants
        policy = pulumi.Output.all(partition, kms, *names).apply(
            lambda v: workload_policy(
                partition=v[0],
                region=env.region,
                key=v[1],
                grants=[ResolvedGrant(bucket=b, prefix=g.prefix, write=g.write, bucket_check=g.bucket_check) for g, b in zip(grants, v[2:], strict=True)],
            )
        )
        attached = aws.iam.RolePolicy(f"{name}-policy", role=role.id, policy=policy, opts=child_opts(self))

        # The ARN resolves once the policy is attached: a pod started with it has its rights.
        self.identity = pulumi.Output.all(role.arn, attached.id).apply(lambda v: v[0])
        self.service_account_annotations = self.identity.apply(role_annotations)
        self.pod_labels = {}
        self.role_name = role.name
        self.policy = policy
        self.register_outputs(
            {
                "service_account_annotations": self.service_account_annotations,
                "pod_labels": self.pod_labels,
                "identity": self.identity,
                "role_name": self.role_name,
                "policy": self.policy,
            }
        )


__all__ = ["ROLE_ARN_ANNOTATION", "ResolvedGrant", "WorkloadIdentity", "role_annotations", "workload_policy"]
