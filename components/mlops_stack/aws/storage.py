"""AWS artifact store: the spec's S3 buckets, each versioned, SSE-KMS with a bucket key,
all four public-access blocks, ACLs disabled, TLS-only, a lifecycle (abort incomplete
uploads, expire non-current versions) and access logs to a separate log bucket.

The log bucket uses SSE-S3: S3 server access logging cannot deliver to a bucket whose
default encryption is SSE-KMS (AWS S3 user guide, "Enabling Amazon S3 server access
logging"). Buckets are never force-destroyed: deleting a non-empty bucket fails rather
than losing data; in prod they are also protected and retained on delete.

Cross-region replication (``storage.replicaRegion``; default: the paired region in prod,
``aws/replication.py``): each data bucket gets a replica bucket in the other region,
hardened the same way but encrypted with a replica-region key of its own, and a
replication rule that copies every new object version, SSE-KMS objects included, and
delete markers (a delete in the source shows in the replica; permanently deleting a
version is never replicated, so versions stay recoverable there). The replica region's
resources use a second provider that takes only the region, like the stack's own. The
replica buckets log access to a log bucket in their own region (S3 access logging only
delivers within a region). Objects written before replication was turned on are not
copied (that needs S3 Batch Replication, a one-off job: docs/security.md).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace

import pulumi
import pulumi_aws as aws

from mlops_stack.args import ArtifactStoreArgs, Env, KeysArgs, child_opts, merge_opts, resource_tags, stateful_opts
from mlops_stack.aws._shared import identity, key_arn
from mlops_stack.aws.keys import Keys
from mlops_stack.aws.policies import bucket_policy, log_bucket_policy, service_assume_role_policy
from mlops_stack.aws.replication import replica_key_policy, replica_region, replication_role_policy
from mlops_stack.spec import BucketSpec, StorageSpec

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
        replication: str | None = None,
        provider: pulumi.ProviderResource | None = None,
    ) -> None:
        extra = {"mlops-stack-bucket": spec.name, "mlops-stack-role": role}
        if replication is not None:
            extra["mlops-stack-replication"] = replication
        tags = resource_tags(env, **extra)
        self.bucket = aws.s3.Bucket(
            name,
            bucket_prefix=f"{env.prefix}-{spec.name}-",
            force_destroy=False,
            object_lock_enabled=False,
            tags=tags,
            opts=stateful_opts(parent, env, provider=provider),
        )
        opts = child_opts(parent, provider=provider)
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
        self.versioning = aws.s3.BucketVersioning(
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
            opts=child_opts(parent, depends_on=[self.public_access_block], provider=provider),
        )
        aws.s3.BucketLifecycleConfiguration(f"{name}-lifecycle", bucket=self.bucket.id, rules=lifecycle_rules(spec), opts=opts)


class ArtifactStore(pulumi.ComponentResource):
    """``mlops:aws:ArtifactStore``. Outputs: ``bucket_uris`` (``s3://...`` per logical
    name), ``bucket_names``, ``bucket_arns``, ``log_bucket_name``, ``replica_region``
    (``None`` when single-region) and ``replica_bucket_names`` (per logical name)."""

    bucket_uris: dict[str, pulumi.Output[str]]
    bucket_names: dict[str, pulumi.Output[str]]
    bucket_arns: dict[str, pulumi.Output[str]]
    log_bucket_name: pulumi.Output[str] | None
    replica_region: str | None
    replica_bucket_names: dict[str, pulumi.Output[str]]
    #: Key child resources, exposed for wiring what the stack does not (docs/components.md).
    CHILDREN = ('buckets',)
    buckets: dict[str, aws.s3.Bucket]

    def __init__(self, name: str, args: ArtifactStoreArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("mlops:aws:ArtifactStore", name, None, merge_opts(opts))
        env, storage = args.env, args.storage
        replica = replica_region(env.region, storage.replica_region, env.is_prod)
        keys = args.keys
        if keys is None:
            # Used on its own, the store brings its own customer-managed key (create, not skip).
            keys = Keys(f"{name}-keys", KeysArgs(env=env), opts=child_opts(self))
        kms = key_arn(keys)
        account, partition = identity(self)

        log_bucket = _log_bucket(self, f"{name}-access-logs", env, storage, account, partition) if storage.access_logs else None

        self.bucket_uris, self.bucket_names, self.bucket_arns = {}, {}, {}
        data: dict[str, _Bucket] = {}
        for spec in storage.buckets:
            b = _Bucket(self, f"{name}-{spec.name}", env, spec, kms_key_arn=kms, role="data", replication=replica or "single-region")
            if log_bucket is not None:
                _access_logging(self, f"{name}-{spec.name}-logging", b, log_bucket, spec.name)
            data[spec.name] = b
            self.bucket_names[spec.name] = b.bucket.bucket
            self.bucket_arns[spec.name] = b.bucket.arn
            self.bucket_uris[spec.name] = pulumi.Output.concat("s3://", b.bucket.bucket)
        self.log_bucket_name = log_bucket.bucket.bucket if log_bucket else None
        self.buckets = {n: b.bucket for n, b in data.items()}

        self.replica_region = replica
        self.replica_bucket_names = {}
        if replica is not None and kms is not None:
            self.replica_bucket_names = _replicate(self, name, env, storage, data, kms, replica, account, partition)
        self.register_outputs(
            {
                "bucket_uris": self.bucket_uris,
                "bucket_names": self.bucket_names,
                "bucket_arns": self.bucket_arns,
                "log_bucket_name": self.log_bucket_name,
                "replica_region": self.replica_region,
                "replica_bucket_names": self.replica_bucket_names,
            }
        )


def _log_bucket(
    parent: pulumi.Resource,
    name: str,
    env: Env,
    storage: StorageSpec,
    account: pulumi.Output[str],
    partition: pulumi.Output[str],
    provider: pulumi.ProviderResource | None = None,
) -> _Bucket:
    log_spec = BucketSpec(name="access-logs", versioning=True, noncurrent_version_expiration_days=30, expiration_days=storage.log_retention_days)
    return _Bucket(
        parent,
        name,
        env,
        log_spec,
        kms_key_arn=None,
        role="access-logs",
        provider=provider,
        policy_for=lambda arn: pulumi.Output.all(arn, account, partition).apply(lambda v: log_bucket_policy(v[0], v[1], v[2])),
    )


def _access_logging(
    parent: pulumi.Resource, name: str, b: _Bucket, log_bucket: _Bucket, prefix: str, provider: pulumi.ProviderResource | None = None
) -> None:
    aws.s3.BucketLogging(
        name, bucket=b.bucket.id, target_bucket=log_bucket.bucket.id, target_prefix=f"{prefix}/", opts=child_opts(parent, provider=provider)
    )


def _replica_key(
    parent: pulumi.Resource,
    name: str,
    env: Env,
    replica: str,
    account: pulumi.Output[str],
    partition: pulumi.Output[str],
    provider: aws.Provider,
) -> aws.kms.Key:
    """The replicas' own key (and its alias) in the replica region."""
    key = aws.kms.Key(
        f"{name}-replica-key",
        description=f"mlops-stack {env.prefix}: replicas of the data buckets in {replica}",
        enable_key_rotation=True,
        deletion_window_in_days=30,
        key_usage="ENCRYPT_DECRYPT",
        customer_master_key_spec="SYMMETRIC_DEFAULT",
        policy=pulumi.Output.all(account, partition).apply(lambda v: replica_key_policy(v[0], v[1])),
        tags=resource_tags(env, **{"mlops-stack-role": "replica"}),
        opts=stateful_opts(parent, env, provider=provider),
    )
    aws.kms.Alias(f"{name}-replica-key-alias", name=f"alias/{env.prefix}-replica", target_key_id=key.key_id, opts=child_opts(parent, provider=provider))
    return key


def _replication_config(
    parent: pulumi.Resource,
    name: str,
    src: _Bucket,
    dst: _Bucket,
    role: aws.iam.Role,
    key: aws.kms.Key,
    role_policy: aws.iam.RolePolicy,
) -> None:
    """Replicate every object (and delete markers) of ``src`` to ``dst``, encrypted with the replica key."""
    aws.s3.BucketReplicationConfig(
        name,
        bucket=src.bucket.id,
        role=role.arn,
        rules=[
            aws.s3.BucketReplicationConfigRuleArgs(
                id="replicate-everything",
                status="Enabled",
                priority=1,
                filter=aws.s3.BucketReplicationConfigRuleFilterArgs(prefix=""),
                delete_marker_replication=aws.s3.BucketReplicationConfigRuleDeleteMarkerReplicationArgs(status="Enabled"),
                source_selection_criteria=aws.s3.BucketReplicationConfigRuleSourceSelectionCriteriaArgs(
                    sse_kms_encrypted_objects=aws.s3.BucketReplicationConfigRuleSourceSelectionCriteriaSseKmsEncryptedObjectsArgs(status="Enabled")
                ),
                destination=aws.s3.BucketReplicationConfigRuleDestinationArgs(
                    bucket=dst.bucket.arn,
                    storage_class="STANDARD",
                    encryption_configuration=aws.s3.BucketReplicationConfigRuleDestinationEncryptionConfigurationArgs(replica_kms_key_id=key.arn),
                ),
            )
        ],
        # S3 requires versioning on both sides before a replication configuration.
        opts=child_opts(parent, depends_on=[src.versioning, dst.versioning, role_policy]),
    )


def _replicate(
    parent: pulumi.Resource,
    name: str,
    env: Env,
    storage: StorageSpec,
    data: dict[str, _Bucket],
    source_key: pulumi.Input[str],
    replica: str,
    account: pulumi.Output[str],
    partition: pulumi.Output[str],
) -> dict[str, pulumi.Output[str]]:
    """Replica buckets with their own key in ``replica``, and the replication rules."""
    provider = aws.Provider(f"{name}-replica-provider", region=replica, opts=child_opts(parent))
    replica_env = replace(env, region=replica)
    key = _replica_key(parent, name, env, replica, account, partition, provider)
    replica_logs = (
        _log_bucket(parent, f"{name}-replica-access-logs", replica_env, storage, account, partition, provider) if storage.access_logs else None
    )
    replicas: dict[str, _Bucket] = {}
    for spec in storage.buckets:
        r = _Bucket(parent, f"{name}-{spec.name}-replica", replica_env, spec, kms_key_arn=key.arn, role="replica", provider=provider)
        if replica_logs is not None:
            _access_logging(parent, f"{name}-{spec.name}-replica-logging", r, replica_logs, spec.name, provider)
        replicas[spec.name] = r

    role = aws.iam.Role(
        f"{name}-replication-role",
        description=f"mlops-stack {env.prefix}: S3 replication of the data buckets to {replica}",
        assume_role_policy=account.apply(lambda a: service_assume_role_policy("s3.amazonaws.com", a)),
        tags=resource_tags(env),
        opts=child_opts(parent),
    )
    names = list(data)
    policy = pulumi.Output.all(
        pulumi.Output.all(*[data[n].bucket.arn for n in names]),
        pulumi.Output.all(*[replicas[n].bucket.arn for n in names]),
        source_key,
        key.arn,
    ).apply(
        lambda v: replication_role_policy(
            source_arns=v[0], replica_arns=v[1], source_key_arn=v[2], replica_key_arn=v[3], region=env.region, replica_region=replica
        )
    )
    role_policy = aws.iam.RolePolicy(f"{name}-replication-policy", role=role.id, policy=policy, opts=child_opts(parent))
    for n in names:
        src, dst = data[n], replicas[n]
        _replication_config(parent, f"{name}-{n}-replication", src, dst, role, key, role_policy)
    return {n: replicas[n].bucket.bucket for n in names}
