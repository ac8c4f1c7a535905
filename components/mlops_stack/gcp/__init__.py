"""The GCP implementation of every capability (pulumi-gcp), plus the Vertex AI
deployment dynamic provider. Names are imported lazily (see mlops_stack._lazy)."""

from typing import TYPE_CHECKING

from mlops_stack._lazy import capability_exports, lazy_exports

__getattr__, __dir__, __all__ = lazy_exports(__name__, capability_exports(VertexDeploymentProvider="vertex_provider", VertexModelDeployment="vertex_provider"))

if TYPE_CHECKING:
    from mlops_stack.gcp.cluster import KubernetesCluster as KubernetesCluster
    from mlops_stack.gcp.endpoint import ModelEndpoint as ModelEndpoint
    from mlops_stack.gcp.gpu_pool import ExistingCluster as ExistingCluster, GpuNodePool as GpuNodePool
    from mlops_stack.gcp.keys import Keys as Keys
    from mlops_stack.gcp.model_registry import ModelRegistry as ModelRegistry
    from mlops_stack.gcp.network import Network as Network
    from mlops_stack.gcp.registry import ContainerRegistry as ContainerRegistry
    from mlops_stack.gcp.storage import ArtifactStore as ArtifactStore
    from mlops_stack.gcp.workload_identity import WorkloadIdentity as WorkloadIdentity
    from mlops_stack.gcp.vertex_provider import VertexDeploymentProvider as VertexDeploymentProvider, VertexModelDeployment as VertexModelDeployment
