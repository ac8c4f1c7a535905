"""AWS artifact store: the spec's S3 buckets, each versioned, SSE-KMS with a bucket key,
all four public-access blocks, ACLs disabled, TLS-only, a lifecycle (abort incomplete
uploads, expire non-current versions) and access logs to a separate log bucket.

The log bucket uses SSE-S3: S3 server access logging cannot deliver to a bucket whose
default encryption is SSE-KMS (AWS S3 user guide, "Enabling Amazon S3 server access
logging"). Buckets are never force-destroyed: deleting a non-empty bucket fails rather
than losing data; in prod they are also protected and retained on delete.
"""

from __future__ import annotations

from collections.abc import Callable

import pulumi
import pulumi_aws as aws

from mlops_stack.args import ArtifactStoreArgs, Env, KeysArgs, child_opts, merge_opts, resource_tags, stateful_opts
from mlops_stack.aws._shared import identity, key_arn
from mlops_stack.aws.keys import Keys
from mlops_stack.aws.policies import bucket_policy, log_bucket_policy
from mlops_stack.spec import BucketSpec

#: Days after which incomplete multipart uploads are aborted.
ABORT_MULTIPART_DAYS = 7


def lifecycle_rules(bucket: BucketSpec) -> list[aws.s3.BucketLifecycleConfigurationRuleArgs]:
    rules = [
        aws.s3.BucketLifecycleConfigurationRuleArgs(
            id="abort-incomplete-multipart-uploads",
            status="Enabled",
            filter=aws.s3.BucketLifecycleConfigurationRuleFilterArgs(prefix=""),
            abort_incomplete_multipart_upload=aws.s3.BucketLifecycleConfigurationRuleAbortIncompleteMultipartUploadArgs(
                days_after_initiation=ABORT_MULTIPART_DAYS
            ),
        )
    ]
    if bucket.versioning and bucket.noncurrent_version_expiration_days:
        rules.append(
            aws.s3.BucketLifecycleConfigurationRuleArgs(
                id="expire-noncurrent-versions",
                status="Enabled",
                filter=aws.s3.BucketLifecycleConfigurationRuleFilterArgs(prefix=""),
                noncurrent_version_expiration=aws.s3.BucketLifecycleConfigurationRuleNoncurrentVersionExpirationArgs(
                    noncurrent_days=bucket.noncurrent_version_expiration_days
                ),
            )
        )
    if bucket.expiration_days:
        rules.append(
            aws.s3.BucketLifecycleConfigurationRuleArgs(
                id="expire-current-objects",
                status="Enabled",
                filter=aws.s3.BucketLifecycleConfigurationRuleFilterArgs(prefix=""),
                expiration=aws.s3.BucketLifecycleConfigurationRuleExpirationArgs(days=bucket.expiration_days),
            )
        )
    return rules


class _Bucket:
    """The resources of one hardened bucket (a named function's record, not a component)."""

    def __init__(
        self,
        parent: pulumi.Resource,
        name: str,
        env: Env,
        spec: BucketSpec,
        *,
        kms_key_arn: pulumi.Input[str] | None,
        policy_for: Callable[[pulumi.Output[str]], pulumi.Input[str]] | None = None,
        role: str,
    ) -> None:
        tags = resource_tags(env, **{"mlops-stack-bucket": spec.name, "mlops-stack-role": role})
        self.bucket = aws.s3.Bucket(
            name,
            bucket_prefix=f"{env.prefix}-{spec.name}-",
            force_destroy=False,
            object_lock_enabled=False,
            tags=tags,
            opts=stateful_opts(parent, env),
        )
        opts = child_opts(parent)
        aws.s3.BucketOwnershipControls(
            f"{name}-ownership",
            bucket=self.bucket.id,
            rule=aws.s3.BucketOwnershipControlsRuleArgs(object_ownership="BucketOwnerEnforced"),
            opts=opts,
        )
        self.public_access_block = aws.s3.BucketPublicAccessBlock(
            f"{name}-public-access",
            bucket=self.bucket.id,
            block_public_acls=True,
            block_public_policy=True,
            ignore_public_acls=True,
            restrict_public_buckets=True,
            opts=opts,
        )
        aws.s3.BucketVersioning(
            f"{name}-versioning",
            bucket=self.bucket.id,
            versioning_configuration=aws.s3.BucketVersioningVersioningConfigurationArgs(
                status="Enabled" if spec.versioning else "Suspended"
            ),
            opts=opts,
        )
        if kms_key_arn is not None:
            sse = aws.s3.BucketServerSideEncryptionConfigurationRuleApplyServerSideEncryptionByDefaultArgs(
                sse_algorithm="aws:kms", kms_master_key_id=kms_key_arn
            )
        else:
            sse = aws.s3.BucketServerSideEncryptionConfigurationRuleApplyServerSideEncryptionByDefaultArgs(sse_algorithm="AES256")
        aws.s3.BucketServerSideEncryptionConfiguration(
            f"{name}-encryption",
            bucket=self.bucket.id,
            rules=[
                aws.s3.BucketServerSideEncryptionConfigurationRuleArgs(
                    apply_server_side_encryption_by_default=sse, bucket_key_enabled=kms_key_arn is not None
                )
            ],
            opts=opts,
        )
        aws.s3.BucketPolicy(
            f"{name}-policy",
            bucket=self.bucket.id,
            policy=policy_for(self.bucket.arn) if policy_for else self.bucket.arn.apply(bucket_policy),
            # A public-access block must exist before a policy is evaluated against it.
            opts=child_opts(parent, depends_on=[self.public_access_block]),
        )
        aws.s3.BucketLifecycleConfiguration(f"{name}-lifecycle", bucket=self.bucket.id, rules=lifecycle_rules(spec), opts=opts)


class ArtifactStore(pulumi.ComponentResource):
    """``mlops:aws:ArtifactStore``. Outputs: ``bucket_uris`` (``s3://...`` per logical
    name), ``bucket_names``, ``bucket_arns``, ``log_bucket_name``."""

    bucket_uris: dict[str, pulumi.Output[str]]
    bucket_names: dict[str, pulumi.Output[str]]
    bucket_arns: dict[str, pulumi.Output[str]]
    log_bucket_name: pulumi.Output[str] | None

    def __init__(self, name: str, args: ArtifactStoreArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("mlops:aws:ArtifactStore", name, None, merge_opts(opts))
        env, storage = args.env, args.storage
        keys = args.keys
        if keys is None:
            # Used on its own, the store brings its own customer-managed key (create, not skip).
            keys = Keys(f"{name}-keys", KeysArgs(env=env), opts=child_opts(self))
        kms = key_arn(keys)

        log_bucket = None
        if storage.access_logs:
            account, partition = identity(self)
            log_spec = BucketSpec(
                name="access-logs",
                versioning=True,
                noncurrent_version_expiration_days=30,
                expiration_days=storage.log_retention_days,
            )
            log_bucket = _Bucket(
                self,
                f"{name}-access-logs",
                env,
                log_spec,
                kms_key_arn=None,
                role="access-logs",
                policy_for=lambda arn: pulumi.Output.all(arn, account, partition).apply(lambda v: log_bucket_policy(v[0], v[1], v[2])),
            )

        self.bucket_uris, self.bucket_names, self.bucket_arns = {}, {}, {}
        for spec in storage.buckets:
            b = _Bucket(self, f"{name}-{spec.name}", env, spec, kms_key_arn=kms, role="data")
            if log_bucket is not None:
                aws.s3.BucketLogging(
                    f"{name}-{spec.name}-logging",
                    bucket=b.bucket.id,
                    target_bucket=log_bucket.bucket.id,
                    target_prefix=f"{spec.name}/",
                    opts=child_opts(self),
                )
            self.bucket_names[spec.name] = b.bucket.bucket
            self.bucket_arns[spec.name] = b.bucket.arn
            self.bucket_uris[spec.name] = pulumi.Output.concat("s3://", b.bucket.bucket)
        self.log_bucket_name = log_bucket.bucket.bucket if log_bucket else None
        self.register_outputs(
            {
                "bucket_uris": self.bucket_uris,
                "bucket_names": self.bucket_names,
                "bucket_arns": self.bucket_arns,
                "log_bucket_name": self.log_bucket_name,
            }
        )
