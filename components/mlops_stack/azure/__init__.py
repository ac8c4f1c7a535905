"""The Azure implementation of every capability (pulumi-azure-native).

Each module imports only the azure-native submodules it uses (the package is large),
and this package imports its modules lazily: ``registry.implemented()`` can look for
``mlops_stack.azure.<module>`` without loading the Azure SDK, while
``from mlops_stack.azure import Keys`` works as usual.
"""

from __future__ import annotations

import importlib
from typing import Any

_EXPORTS = {
    "ArtifactStore": "storage",
    "ContainerRegistry": "registry",
    "ExistingCluster": "gpu_pool",
    "GpuNodePool": "gpu_pool",
    "Keys": "keys",
    "KubernetesCluster": "cluster",
    "ModelEndpoint": "endpoint",
    "ModelRegistry": "model_registry",
    "Network": "network",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'mlops_stack.azure' has no attribute {name!r}")
    return getattr(importlib.import_module(f"mlops_stack.azure.{module}"), name)


def __dir__() -> list[str]:
    return __all__
