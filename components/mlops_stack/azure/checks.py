"""Azure-specific spec rules, run before any resource is registered."""

from __future__ import annotations

from typing import Any

from mlops_stack.errors import ConfigError
from mlops_stack.registry import reject_frameworks


def check(spec: Any) -> None:
    if spec.endpoints and not spec.model_registry.enabled:
        raise ConfigError(
            "modelRegistry.enabled",
            "must be true on azure when endpoints are declared",
            "Azure ML endpoints live in the workspace the model registry creates",
            value=False,
        )
    for i, bucket in enumerate(spec.storage.buckets):
        if len(bucket.name) < 3 or "--" in bucket.name:
            raise ConfigError(
                f"storage.buckets[{i}].name", "is not a valid Azure blob container name", "3-63 characters, no '--'", value=bucket.name
            )
    if spec.cluster.runner_cidrs:
        raise ConfigError(
            "cluster.runnerCidrs",
            "has no effect on azure: a private AKS API server has no IP allow-list, a runner reaches it through a VNet linked to the cluster's private DNS zone",
            "run the in-cluster layer from such a runner, or use the two-phase apply (cluster.inCluster: false), docs/first-apply.md",
            value=[str(c) for c in spec.cluster.runner_cidrs],
        )
    reject_frameworks(spec)
