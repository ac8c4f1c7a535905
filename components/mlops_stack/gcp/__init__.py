"""The GCP implementation of every capability (pulumi-gcp), plus the Vertex AI
deployment dynamic provider. Names are imported lazily (see mlops_stack._lazy)."""

from typing import TYPE_CHECKING

from mlops_stack._lazy import lazy_exports

__getattr__, __dir__, __all__ = lazy_exports(
    __name__,
    {
        "ArtifactStore": "storage",
        "ContainerRegistry": "registry",
        "ExistingCluster": "gpu_pool",
        "GpuNodePool": "gpu_pool",
        "Keys": "keys",
        "KubernetesCluster": "cluster",
        "ModelEndpoint": "endpoint",
        "ModelRegistry": "model_registry",
        "Network": "network",
        "VertexDeploymentProvider": "vertex_provider",
        "VertexModelDeployment": "vertex_provider",
    },
)

if TYPE_CHECKING:
    from mlops_stack.gcp.cluster import KubernetesCluster
    from mlops_stack.gcp.endpoint import ModelEndpoint
    from mlops_stack.gcp.gpu_pool import ExistingCluster, GpuNodePool
    from mlops_stack.gcp.keys import Keys
    from mlops_stack.gcp.model_registry import ModelRegistry
    from mlops_stack.gcp.network import Network
    from mlops_stack.gcp.registry import ContainerRegistry
    from mlops_stack.gcp.storage import ArtifactStore
    from mlops_stack.gcp.vertex_provider import VertexDeploymentProvider, VertexModelDeployment
