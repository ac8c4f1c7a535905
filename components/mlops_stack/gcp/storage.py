"""GCP artifact store: the spec's GCS buckets, each with uniform bucket-level access,
public access prevention enforced, versioning, CMEK (the stack's storage key), the
spec's lifecycle, soft-delete retention and usage/storage logs to a separate log bucket.

Buckets are named ``<name>-<env>-<bucket>-<hash of the project>`` (global namespace,
deterministic), never force-destroyed, and in prod protected and retained on delete.
The log bucket grants object creation to the Cloud Storage analytics group, the only
writer GCS usage logging uses (GCS docs, "Usage logs & storage logs").

Replication (``storage.replicaRegion``; default in prod: the paired region of
``gcp/replication.py``): the data buckets are configurable dual-regions of the stack's
region and the replica region, encrypted with a key of their own in the multi-region's
Cloud KMS location (a regional key cannot encrypt a dual-region bucket). The access-log
bucket stays regional. A bucket's location cannot change: turning replication on for an
existing bucket means a new bucket (in prod the old one is protected, so the preview
fails instead of replacing it; see docs/security.md for the migration).
"""

from __future__ import annotations

import pulumi
import pulumi_gcp as gcp

from mlops_stack.args import ArtifactStoreArgs, Env, child_opts, merge_opts, resource_tags, stateful_opts
from mlops_stack.gcp._shared import KMS_ENCRYPTER_DECRYPTER, bucket_name, enable_services, key_dependencies, key_for, labels, project_info
from mlops_stack.gcp.replication import KMS_LOCATIONS, multi_region, replica_region
from mlops_stack.spec import BucketSpec

#: Days after which incomplete multipart uploads are aborted.
ABORT_MULTIPART_DAYS = 7
SECONDS_PER_DAY = 86400
#: GCS accepts a soft-delete retention of 0 (off) or 7 to 90 days; anything in between
#: fails at apply ("retentionDurationSeconds must be between 604800 and 7776000").
MIN_SOFT_DELETE_DAYS = 7
MAX_SOFT_DELETE_DAYS = 90
#: The group GCS usage and storage logs are written by.
LOG_WRITER = "group:cloud-storage-analytics@google.com"
LOG_BUCKET = "access-logs"


def soft_delete_seconds(days: int) -> int:
    """GCS soft-delete retention in seconds for the spec's ``storage.softDeleteDays``.

    The spec allows 1..90 days (Azure accepts 1); GCS only 7..90, so shorter values are
    raised to 7 days here (more retention, never less): 3 -> 604800, 30 -> 2592000.
    """
    return max(MIN_SOFT_DELETE_DAYS, min(days, MAX_SOFT_DELETE_DAYS)) * SECONDS_PER_DAY


def lifecycle_rules(bucket: BucketSpec) -> list[gcp.storage.BucketLifecycleRuleArgs]:
    rules = [
        gcp.storage.BucketLifecycleRuleArgs(
            action=gcp.storage.BucketLifecycleRuleActionArgs(type="AbortIncompleteMultipartUpload"),
            condition=gcp.storage.BucketLifecycleRuleConditionArgs(age=ABORT_MULTIPART_DAYS),
        )
    ]
    if bucket.versioning and bucket.noncurrent_version_expiration_days:
        rules.append(
            gcp.storage.BucketLifecycleRuleArgs(
                action=gcp.storage.BucketLifecycleRuleActionArgs(type="Delete"),
                condition=gcp.storage.BucketLifecycleRuleConditionArgs(
                    days_since_noncurrent_time=bucket.noncurrent_version_expiration_days, with_state="ARCHIVED"
                ),
            )
        )
    if bucket.expiration_days:
        rules.append(
            gcp.storage.BucketLifecycleRuleArgs(
                action=gcp.storage.BucketLifecycleRuleActionArgs(type="Delete"),
                condition=gcp.storage.BucketLifecycleRuleConditionArgs(age=bucket.expiration_days, with_state="LIVE"),
            )
        )
    return rules


def _bucket(
    parent: pulumi.Resource,
    name: str,
    env: Env,
    spec: BucketSpec,
    *,
    project: pulumi.Output[str],
    kms_key: pulumi.Input[str] | None,
    soft_delete_days: int,
    log_bucket: pulumi.Input[str] | None,
    role: str,
    depends_on: list[pulumi.Resource],
    replica: str | None = None,
) -> gcp.storage.Bucket:
    extra = {"mlops-stack-bucket": spec.name, "mlops-stack-role": role}
    placement = None
    location = env.region.upper()
    if role == "data":
        extra["mlops-stack-replication"] = replica or "single-region"
    if replica is not None:
        location = multi_region(env.region) or location
        placement = gcp.storage.BucketCustomPlacementConfigArgs(data_locations=[env.region.upper(), replica.upper()])
    return gcp.storage.Bucket(
        name,
        name=project.apply(lambda p: bucket_name(env.prefix, spec.name, p)),
        location=location,
        custom_placement_config=placement,
        storage_class="STANDARD",
        uniform_bucket_level_access=True,
        public_access_prevention="enforced",
        versioning=gcp.storage.BucketVersioningArgs(enabled=spec.versioning),
        encryption=gcp.storage.BucketEncryptionArgs(default_kms_key_name=kms_key) if kms_key is not None else None,
        lifecycle_rules=lifecycle_rules(spec),
        soft_delete_policy=gcp.storage.BucketSoftDeletePolicyArgs(retention_duration_seconds=soft_delete_seconds(soft_delete_days)),
        logging=gcp.storage.BucketLoggingArgs(log_bucket=log_bucket, log_object_prefix=spec.name) if log_bucket is not None else None,
        force_destroy=False,
        labels=labels(resource_tags(env, **extra)),
        opts=stateful_opts(parent, env, depends_on=depends_on),
    )


class ArtifactStore(pulumi.ComponentResource):
    """``mlops:gcp:ArtifactStore``. Outputs: ``bucket_uris`` (``gs://...`` per logical
    name), ``bucket_names``, ``log_bucket_name``, ``replica_region`` (the dual-region's
    second region, ``None`` when single-region)."""

    bucket_uris: dict[str, pulumi.Output[str]]
    bucket_names: dict[str, pulumi.Output[str]]
    log_bucket_name: pulumi.Output[str] | None
    replica_region: str | None
    #: Key child resources, exposed for wiring what the stack does not (docs/components.md).
    CHILDREN = ('buckets',)
    buckets: dict[str, gcp.storage.Bucket]

    def __init__(self, name: str, args: ArtifactStoreArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("mlops:gcp:ArtifactStore", name, None, merge_opts(opts))
        env, storage = args.env, args.storage
        project, _number = project_info(self)
        kms = key_for(args.keys, "storage")
        deps = key_dependencies(args.keys)

        log_bucket = None
        if storage.access_logs:
            log_spec = BucketSpec(name=LOG_BUCKET, versioning=True, noncurrent_version_expiration_days=30, expiration_days=storage.log_retention_days)
            log_bucket = _bucket(
                self, f"{name}-{LOG_BUCKET}", env, log_spec, project=project, kms_key=kms, soft_delete_days=storage.soft_delete_days,
                log_bucket=None, role="access-logs", depends_on=deps,
            )
            gcp.storage.BucketIAMMember(
                f"{name}-{LOG_BUCKET}-writer", bucket=log_bucket.name, role="roles/storage.objectCreator", member=LOG_WRITER, opts=child_opts(self)
            )

        replica = replica_region(env.region, storage.replica_region, env.is_prod)
        data_kms, data_deps = kms, deps
        if replica is not None and kms is not None:
            data_kms, grant = _dual_region_key(self, name, env, args.keys, project)
            data_deps = [*deps, grant]
        self.bucket_uris, self.bucket_names, self.buckets = {}, {}, {}
        for spec in storage.buckets:
            b = _bucket(
                self, f"{name}-{spec.name}", env, spec, project=project, kms_key=data_kms, soft_delete_days=storage.soft_delete_days,
                log_bucket=log_bucket.name if log_bucket is not None else None, role="data", depends_on=data_deps, replica=replica,
            )
            self.bucket_names[spec.name] = b.name
            self.buckets[spec.name] = b
            self.bucket_uris[spec.name] = pulumi.Output.concat("gs://", b.name)
        self.log_bucket_name = log_bucket.name if log_bucket is not None else None
        self.replica_region = replica
        self.register_outputs(
            {
                "bucket_uris": self.bucket_uris,
                "bucket_names": self.bucket_names,
                "log_bucket_name": self.log_bucket_name,
                "replica_region": self.replica_region,
            }
        )


#: Rotation of the dual-region key when the Keys component does not say (days).
DEFAULT_ROTATION_DAYS = 90


def _dual_region_key(
    parent: pulumi.Resource, name: str, env: Env, keys: object, project: pulumi.Output[str]
) -> tuple[pulumi.Output[str], pulumi.Resource]:
    """A storage key in the multi-region's Cloud KMS location, usable by the GCS agent only."""
    location = KMS_LOCATIONS[multi_region(env.region) or "US"]
    # The key ring needs Cloud KMS, the grant the GCS service agent (the Storage API).
    apis = enable_services(parent, name, ["cloudkms.googleapis.com", "storage.googleapis.com"])
    agents = getattr(keys, "service_agents", None) or {}
    agent = agents.get("storage") or gcp.storage.get_project_service_account_output(
        project=project, opts=pulumi.InvokeOutputOptions(parent=parent, depends_on=apis)
    ).email_address
    ring = gcp.kms.KeyRing(
        f"{name}-dual-region-ring", location=location, opts=stateful_opts(parent, env, depends_on=[*apis, *key_dependencies(keys)])
    )
    days = getattr(keys, "rotation_days", DEFAULT_ROTATION_DAYS)
    key = gcp.kms.CryptoKey(
        f"{name}-dual-region-key",
        key_ring=ring.id,
        purpose="ENCRYPT_DECRYPT",
        rotation_period=f"{days * SECONDS_PER_DAY}s",
        version_template=gcp.kms.CryptoKeyVersionTemplateArgs(algorithm="GOOGLE_SYMMETRIC_ENCRYPTION", protection_level="SOFTWARE"),
        labels=labels(resource_tags(env, **{"mlops-stack-key": "storage-dual-region"})),
        opts=stateful_opts(parent, env),
    )
    grant = gcp.kms.CryptoKeyIAMMember(
        f"{name}-dual-region-key-agent",
        crypto_key_id=key.id,
        role=KMS_ENCRYPTER_DECRYPTER,
        member=pulumi.Output.concat("serviceAccount:", agent),
        opts=child_opts(parent, depends_on=apis),
    )
    return key.id, grant
