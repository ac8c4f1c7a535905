"""The AWS implementation of every capability (pulumi-aws)."""

from mlops_stack.aws.cluster import KubernetesCluster
from mlops_stack.aws.endpoint import ModelEndpoint
from mlops_stack.aws.gpu_pool import ExistingCluster, GpuNodePool
from mlops_stack.aws.keys import Keys
from mlops_stack.aws.model_registry import ModelRegistry
from mlops_stack.aws.network import Network
from mlops_stack.aws.registry import ContainerRegistry
from mlops_stack.aws.storage import ArtifactStore

__all__ = [
    "ArtifactStore",
    "ContainerRegistry",
    "ExistingCluster",
    "GpuNodePool",
    "Keys",
    "KubernetesCluster",
    "ModelEndpoint",
    "ModelRegistry",
    "Network",
]
