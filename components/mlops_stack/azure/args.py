"""Azure args: the cloud-neutral args plus the siblings an Azure component builds on.

``MlopsStack`` passes the cloud-neutral args; inside it the Azure components find these
siblings on the stack (see ``_shared.sibling``). A program that composes the Azure
components by hand passes them here instead, e.g.
``Keys("keys", AzureKeysArgs(env=env, network=net))``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

from mlops_stack.args import ArtifactStoreArgs, ContainerRegistryArgs, GpuNodePoolArgs, KeysArgs, KubernetesClusterArgs, ModelRegistryArgs


@dataclass(frozen=True, kw_only=True)
class AzureKeysArgs(KeysArgs):
    #: The Azure ``Network`` (resource group, private-endpoint subnet, DNS zones).
    network: Any = None


@dataclass(frozen=True, kw_only=True)
class AzureArtifactStoreArgs(ArtifactStoreArgs):
    network: Any = None


@dataclass(frozen=True, kw_only=True)
class AzureContainerRegistryArgs(ContainerRegistryArgs):
    network: Any = None


@dataclass(frozen=True, kw_only=True)
class AzureModelRegistryArgs(ModelRegistryArgs):
    network: Any = None
    #: The Azure ``ArtifactStore`` and ``ContainerRegistry`` the Azure ML workspace uses.
    store: Any = None
    container_registry: Any = None


@dataclass(frozen=True, kw_only=True)
class AzureGpuNodePoolArgs(GpuNodePoolArgs):
    #: ``cloud``: AKS installs the NVIDIA driver; ``operator``: the GPU Operator does
    #: (spec ``gpu.driver``). ``None``: read it from the stack's spec, else ``cloud``.
    gpu_driver: Literal["cloud", "operator"] | None = None


@dataclass(frozen=True, kw_only=True)
class AzureKubernetesClusterArgs(KubernetesClusterArgs):
    #: As ``AzureGpuNodePoolArgs.gpu_driver``; the pools of the cluster follow it.
    gpu_driver: Literal["cloud", "operator"] | None = None
