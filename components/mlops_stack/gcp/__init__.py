"""The GCP implementation of every capability (pulumi-gcp), plus the Vertex AI
deployment dynamic provider."""

from mlops_stack.gcp.cluster import KubernetesCluster
from mlops_stack.gcp.endpoint import ModelEndpoint
from mlops_stack.gcp.gpu_pool import ExistingCluster, GpuNodePool
from mlops_stack.gcp.keys import Keys
from mlops_stack.gcp.model_registry import ModelRegistry
from mlops_stack.gcp.network import Network
from mlops_stack.gcp.registry import ContainerRegistry
from mlops_stack.gcp.storage import ArtifactStore
from mlops_stack.gcp.vertex_provider import VertexDeploymentProvider, VertexModelDeployment

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
    "VertexDeploymentProvider",
    "VertexModelDeployment",
]
