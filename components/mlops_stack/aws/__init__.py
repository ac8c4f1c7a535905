"""The AWS implementation of every capability (pulumi-aws). Names are imported lazily:
``from mlops_stack.aws import GpuNodePool`` loads only ``gpu_pool`` and what it uses."""

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
    },
)

if TYPE_CHECKING:
    from mlops_stack.aws.cluster import KubernetesCluster
    from mlops_stack.aws.endpoint import ModelEndpoint
    from mlops_stack.aws.gpu_pool import ExistingCluster, GpuNodePool
    from mlops_stack.aws.keys import Keys
    from mlops_stack.aws.model_registry import ModelRegistry
    from mlops_stack.aws.network import Network
    from mlops_stack.aws.registry import ContainerRegistry
    from mlops_stack.aws.storage import ArtifactStore
