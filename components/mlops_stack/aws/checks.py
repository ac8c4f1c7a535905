"""AWS-specific spec rules, run before any resource is registered."""

from __future__ import annotations

from typing import Any

from mlops_stack.errors import ConfigError


def check(spec: Any) -> None:
    for i, ep in enumerate(spec.endpoints):
        if ep.model.framework is not None:
            raise ConfigError(
                f"endpoints[{i}].model.framework",
                "framework images are not resolved yet",
                "set model.image to a serving container image URI",
                value=ep.model.framework.name,
            )
