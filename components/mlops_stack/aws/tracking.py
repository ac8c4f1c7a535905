"""AWS managed MLflow: a SageMaker MLflow tracking server.

Artifacts go to the stack's own bucket under ``mlflow/`` (``spec.TRACKING_PREFIX``),
through an execution role that SageMaker assumes for this account only and that may use
that prefix, the stack key and (with automatic model registration) SageMaker model
package groups of this account and region - nothing else (``policies.tracking_server_policy``).

Clients connect with the tracking server's ARN as tracking URI and the ``sagemaker-mlflow``
plugin, which signs every request with the caller's AWS credentials (SigV4): the stack
output ``mlflow_tracking_uri`` is that ARN (docs/tracking.md).
"""

from __future__ import annotations

from typing import Any

import pulumi
import pulumi_aws as aws

from mlops_stack.args import TrackingServerArgs, child_opts, merge_opts, resource_tags
from mlops_stack.aws._shared import identity, key_arn
from mlops_stack.aws.policies import mlflow_user_policy, service_assume_role_policy, tracking_server_policy
from mlops_stack.spec import TRACKING_PREFIX

#: The MLflow version of the managed server. SageMaker serves a few MLflow lines
#: (SageMaker developer guide, "Integrate MLflow with your environment", read 2026-11-29:
#: tracking servers 2.13.x, 2.16.x and 3.0.x, each with its matching client); 3.0 is the
#: newest line listed there. The API takes it as ``MlflowVersion`` (pattern
#: ``[0-9]*.[0-9]*.[0-9]*``, botocore sagemaker 2017-07-24). Clients should install the
#: same minor (docs/tracking.md).
#:
#: Changing it is NOT an in-place update: UpdateMlflowTrackingServer has no version field
#: and the provider marks ``mlflow_version`` (like ``role_arn`` and ``tracking_server_name``)
#: ForceNew (tests/fixtures/aws/replace_on_change.json), so a new value would replace the
#: server - and with it every run, since AWS keeps no copy of its metadata. The server
#: therefore ignores changes to its version (a server keeps the line it was created with;
#: new stacks get this one) and is protected: an upgrade is a new server and an
#: export/import of the runs (docs/tracking.md, "Upgrading the managed server").
SAGEMAKER_MLFLOW_VERSION = "3.0"

#: Inputs of the server that the provider replaces it for, which the stack never changes
#: on a live server (the name and role are fixed per stack).
IGNORED_ON_THE_SERVER = ("mlflowVersion",)

#: spec size -> ``TrackingServerSize`` (botocore enum: Small, Medium, Large; AWS suggests
#: up to 25, 50 and 100 users respectively).
SERVER_SIZES = {"small": "Small", "medium": "Medium", "large": "Large"}


def server_name(prefix: str) -> str:
    """``<name>-<environment>-mlflow``: at most 256 characters of ``[a-zA-Z0-9-]``."""
    return f"{prefix}-mlflow"


class TrackingServer(pulumi.ComponentResource):
    """``mlops:aws:TrackingServer``. Outputs: ``mlflow_tracking_uri`` (the tracking server's
    ARN, what ``mlflow.set_tracking_uri`` takes with the ``sagemaker-mlflow`` plugin),
    ``tracking_server_url`` (the MLflow UI, opened through a presigned URL),
    ``role_arn`` (the execution role), ``artifact_uri``, ``mlflow_user_policy`` (the ARN of
    a managed IAM policy to attach to the roles that log to MLflow)."""

    mlflow_tracking_uri: pulumi.Output[str]
    tracking_server_url: pulumi.Output[str]
    role_arn: pulumi.Output[str]
    artifact_uri: pulumi.Output[str]
    mlflow_user_policy: pulumi.Output[str]

    def __init__(self, name: str, args: TrackingServerArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("mlops:aws:TrackingServer", name, None, merge_opts(opts))
        env, spec = args.env, args.tracking
        account, partition = identity(self)
        tags = resource_tags(env, **{"mlops-stack-role": "tracking"})
        arns = getattr(args.store, "bucket_arns", None) or {}
        bucket_arn = arns.get(spec.bucket) or pulumi.Output.concat("arn:", partition, ":s3:::", args.store.bucket_names[spec.bucket])
        kms = key_arn(args.keys)

        role = aws.iam.Role(
            f"{name}-role",
            # AWS's MLflow guides do not say that the service sends aws:SourceAccount when
            # it assumes this role; a StringEquals on an absent key would fail the server's
            # creation, so the account is required only when the key is sent (docs/tracking.md).
            assume_role_policy=account.apply(lambda a: service_assume_role_policy("sagemaker.amazonaws.com", a, if_exists=True)),
            description="SageMaker MLflow tracking server: the artifacts prefix and the stack key only",
            max_session_duration=3600,
            tags=tags,
            opts=child_opts(self),
        )
        policy = aws.iam.RolePolicy(
            f"{name}-role-policy",
            role=role.id,
            policy=pulumi.Output.all(partition, account, bucket_arn, kms or "").apply(
                lambda v: tracking_server_policy(
                    partition=v[0],
                    region=env.region,
                    account_id=v[1],
                    bucket_arn=v[2],
                    prefix=TRACKING_PREFIX,
                    key_arn=v[3] or None,
                    model_registration=spec.automatic_model_registration,
                )
            ),
            opts=child_opts(self),
        )
        self.artifact_uri = pulumi.Output.concat(args.store.bucket_uris[spec.bucket], "/", TRACKING_PREFIX)
        server = aws.sagemaker.MlflowTrackingServer(
            f"{name}-server",
            tracking_server_name=server_name(env.prefix),
            artifact_store_uri=self.artifact_uri,
            role_arn=role.arn,
            tracking_server_size=SERVER_SIZES[spec.size],
            mlflow_version=SAGEMAKER_MLFLOW_VERSION,
            automatic_model_registration=spec.automatic_model_registration,
            weekly_maintenance_window_start=spec.maintenance_window,
            tags=tags,
            # The runs' metadata lives in the service and AWS keeps no backup of it: the
            # server is protected in every environment unless the spec says protect: false,
            # retained on delete where stateful resources are, and never replaced for a
            # version change (IGNORED_ON_THE_SERVER).
            opts=child_opts(
                self,
                protect=env.protect if env.protect is not None else True,
                retain_on_delete=env.protect_stateful,
                ignore_changes=list(IGNORED_ON_THE_SERVER),
                depends_on=[policy],
            ),
        )
        self.mlflow_user_policy = self._user_policy(name, env, server, bucket_arn, kms, tags)
        self.mlflow_tracking_uri = server.arn
        self.tracking_server_url = server.tracking_server_url
        self.role_arn = role.arn
        self.register_outputs(
            {
                "mlflow_tracking_uri": self.mlflow_tracking_uri,
                "tracking_server_url": self.tracking_server_url,
                "role_arn": self.role_arn,
                "artifact_uri": self.artifact_uri,
                "mlflow_user_policy": self.mlflow_user_policy,
            }
        )

    def _user_policy(
        self, name: str, env: Any, server: aws.sagemaker.MlflowTrackingServer, bucket_arn: pulumi.Input[str], kms: Any, tags: dict[str, str]
    ) -> pulumi.Output[str]:
        """A managed IAM policy for the roles of the people and jobs that log to MLflow: its ARN."""
        user_policy = aws.iam.Policy(
            f"{name}-user-policy",
            description=f"mlops-stack {env.prefix}: use the MLflow tracking server (API, artifacts prefix, stack key through S3)",
            policy=pulumi.Output.all(server.arn, bucket_arn, kms or "").apply(
                lambda v: mlflow_user_policy(server_arn=v[0], bucket_arn=v[1], prefix=TRACKING_PREFIX, key_arn=v[2] or None, region=env.region)
            ),
            tags=tags,
            opts=child_opts(self),
        )
        return user_policy.arn

