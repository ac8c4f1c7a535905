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
    reject_frameworks(spec)
