"""mlops-stack: one cloud-neutral spec in, a complete MLOps environment out.

The public API is this package's ``__all__``; import specs and args from here::

    from mlops_stack import Env, GpuNodePoolArgs, GpuPoolSpec, MlopsStack, load_spec
    from mlops_stack.aws import GpuNodePool, ArtifactStore

Names load lazily (PEP 562): ``import mlops_stack`` imports nothing else, and provider
SDKs are imported only by the target packages, and only when used. The older paths
(``mlops_stack.spec``, ``mlops_stack.args``, ``mlops_stack.stack``) keep working.
"""

from typing import TYPE_CHECKING

from mlops_stack._lazy import lazy_exports

#: The one place the version is written (pyproject.toml reads it; the policy pack, the
#: templates and `mlops-stack --version` derive theirs from it). See CHANGELOG.md.
__version__ = "0.2.0"

_SPECS = (
    "MlopsSpec NetworkSpec KeysSpec BucketSpec StorageSpec ContainerRegistrySpec ModelRegistrySpec SystemPoolSpec GpuPoolSpec "
    "ClusterSpec ArtifactRef FrameworkSpec ModelSpec DataCaptureSpec AutoscalingSpec SampleRequestSpec EndpointSpec MonitoringSpec "
    "GpuSharingSpec GpuPlatformSpec NamespaceSpec TrackingSpec TrackingDatabaseSpec"
).split()
_ARGS = (
    "Env NetworkArgs KeysArgs ArtifactStoreArgs ContainerRegistryArgs ModelRegistryArgs KubernetesClusterArgs GpuNodePoolArgs "
    "ModelEndpointArgs MonitoringArgs BucketGrant WorkloadIdentityArgs TrackingServerArgs PostgresDatabaseArgs"
).split()

__getattr__, __dir__, _names = lazy_exports(
    __name__,
    {
        **dict.fromkeys(_SPECS, "spec"),
        "load_spec": "spec",
        **dict.fromkeys(_ARGS, "args"),
        "MlopsStack": "stack",
        "ConfigError": "errors",
        "Target": "targets",
        "ProviderRequest": "targets",
    },
)
__all__ = ["__version__", *_names]

if TYPE_CHECKING:
    from mlops_stack.args import (
        ArtifactStoreArgs as ArtifactStoreArgs,
        BucketGrant as BucketGrant,
        ContainerRegistryArgs as ContainerRegistryArgs,
        Env as Env,
        GpuNodePoolArgs as GpuNodePoolArgs,
        KeysArgs as KeysArgs,
        KubernetesClusterArgs as KubernetesClusterArgs,
        ModelEndpointArgs as ModelEndpointArgs,
        ModelRegistryArgs as ModelRegistryArgs,
        MonitoringArgs as MonitoringArgs,
        NetworkArgs as NetworkArgs,
        PostgresDatabaseArgs as PostgresDatabaseArgs,
        TrackingServerArgs as TrackingServerArgs,
        WorkloadIdentityArgs as WorkloadIdentityArgs,
    )
    from mlops_stack.errors import ConfigError as ConfigError
    from mlops_stack.spec import (
        ArtifactRef as ArtifactRef,
        AutoscalingSpec as AutoscalingSpec,
        BucketSpec as BucketSpec,
        ClusterSpec as ClusterSpec,
        ContainerRegistrySpec as ContainerRegistrySpec,
        DataCaptureSpec as DataCaptureSpec,
        EndpointSpec as EndpointSpec,
        FrameworkSpec as FrameworkSpec,
        GpuPlatformSpec as GpuPlatformSpec,
        GpuPoolSpec as GpuPoolSpec,
        GpuSharingSpec as GpuSharingSpec,
        KeysSpec as KeysSpec,
        MlopsSpec as MlopsSpec,
        ModelRegistrySpec as ModelRegistrySpec,
        ModelSpec as ModelSpec,
        MonitoringSpec as MonitoringSpec,
        NamespaceSpec as NamespaceSpec,
        NetworkSpec as NetworkSpec,
        SampleRequestSpec as SampleRequestSpec,
        StorageSpec as StorageSpec,
        SystemPoolSpec as SystemPoolSpec,
        TrackingDatabaseSpec as TrackingDatabaseSpec,
        TrackingSpec as TrackingSpec,
        load_spec as load_spec,
    )
    from mlops_stack.stack import MlopsStack as MlopsStack
    from mlops_stack.targets import ProviderRequest as ProviderRequest, Target as Target
