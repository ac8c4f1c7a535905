"""Azure-specific spec rules, run before any resource is registered."""

from __future__ import annotations

from typing import Any

from mlops_stack.args import Env, check_tag_count
from mlops_stack.catalog import mig
from mlops_stack.errors import ConfigError
from mlops_stack.targets import reject_frameworks


#: Azure: 50 tags per resource (AKS agent pools included).
MAX_TAGS = 50
#: ACR's retention policy (Premium registries) keeps untagged manifests 0-365 days.
MAX_ACR_RETENTION_DAYS = 365
#: The prefix of the Azure ML workspace's own blob containers (azureml, azureml-blobstore-<id>, ...).
AZUREML_CONTAINER_PREFIX = "azureml"


def check(spec: Any) -> None:
    from mlops_stack.azure.registry import registry_sku  # lazy: loads the Azure SDK

    check_tag_count(spec.tags, MAX_TAGS, "Azure tags")
    days = spec.container_registry.untagged_expiry_days
    if registry_sku(Env.from_spec(spec)) == "Premium" and days > MAX_ACR_RETENTION_DAYS:
        raise ConfigError(
            "containerRegistry.untaggedExpiryDays",
            f"is more than ACR's retention policy allows ({MAX_ACR_RETENTION_DAYS} days)",
            f"use at most {MAX_ACR_RETENTION_DAYS}",
            value=days,
        )
    if spec.managed_endpoints and not spec.model_registry.enabled:
        raise ConfigError(
            "modelRegistry.enabled",
            "must be true on azure when endpoints are declared",
            "Azure ML endpoints live in the workspace the model registry creates",
            value=False,
        )
    tracking = spec.tracking
    if tracking.enabled and tracking.mode == "managed" and not spec.model_registry.enabled:
        raise ConfigError(
            "tracking.mode",
            "is the Azure ML workspace on Azure, which needs a model registry",
            "set modelRegistry.enabled: true, or tracking.mode: self-hosted",
            value="managed",
        )
    for i, bucket in enumerate(spec.storage.buckets):
        if len(bucket.name) < 3 or "--" in bucket.name:
            raise ConfigError(
                f"storage.buckets[{i}].name", "is not a valid Azure blob container name", "3-63 characters, no '--'", value=bucket.name
            )
        if bucket.name.startswith(AZUREML_CONTAINER_PREFIX):
            # The workspace's own containers start with "azureml", and the tracking groups' data
            # grant is conditioned to exactly those (azure/model_registry.py).
            raise ConfigError(
                f"storage.buckets[{i}].name", f"starts with '{AZUREML_CONTAINER_PREFIX}', which Azure ML reserves for the workspace's containers",
                "choose another name", value=bucket.name
            )
    if spec.storage.replica_region is not None:
        raise ConfigError(
            "storage.replicaRegion",
            "is not settable on azure",
            "prod storage is geo-zone-redundant (GZRS) to the region's Azure-paired region; dev is LRS (docs/security.md)",
            value=spec.storage.replica_region,
        )
    reject_frameworks(spec)
    # MIG: AKS partitions through the agent pool's gpuInstanceProfile (catalog.mig).
    mig.check(spec, "azure")
