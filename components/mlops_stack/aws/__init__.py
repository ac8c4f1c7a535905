"""The AWS implementation of every capability (pulumi-aws). Names are imported lazily:
``from mlops_stack.aws import GpuNodePool`` loads only ``gpu_pool`` and what it uses."""

from typing import TYPE_CHECKING

from mlops_stack._lazy import capability_exports, lazy_exports

__getattr__, __dir__, __all__ = lazy_exports(__name__, capability_exports())

if TYPE_CHECKING:
    from mlops_stack.aws.cluster import KubernetesCluster as KubernetesCluster
    from mlops_stack.aws.endpoint import ModelEndpoint as ModelEndpoint
    from mlops_stack.aws.gpu_pool import ExistingCluster as ExistingCluster, GpuNodePool as GpuNodePool
    from mlops_stack.aws.keys import Keys as Keys
    from mlops_stack.aws.model_registry import ModelRegistry as ModelRegistry
    from mlops_stack.aws.network import Network as Network
    from mlops_stack.aws.registry import ContainerRegistry as ContainerRegistry
    from mlops_stack.aws.storage import ArtifactStore as ArtifactStore
    from mlops_stack.aws.workload_identity import WorkloadIdentity as WorkloadIdentity
