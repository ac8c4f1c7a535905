"""Azure-specific spec rules, run before any resource is registered."""

from __future__ import annotations

from typing import Any

from mlops_stack.errors import ConfigError


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
    for i, ep in enumerate(spec.endpoints):
        if ep.model.framework is not None:
            raise ConfigError(
                f"endpoints[{i}].model.framework",
                "framework images are not available on azure",
                "set model.image to a serving container image URI",
                value=ep.model.framework.name,
            )
