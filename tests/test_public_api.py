"""``mlops_stack``'s public API: one import place for specs and args, loaded lazily."""

from __future__ import annotations

import subprocess
import sys

import mlops_stack

EXPECTED = {
    "__version__", "MlopsStack", "ConfigError", "load_spec", "Target", "ProviderRequest",
    "Env", "NetworkArgs", "KeysArgs", "ArtifactStoreArgs", "ContainerRegistryArgs", "ModelRegistryArgs",
    "KubernetesClusterArgs", "GpuNodePoolArgs", "ModelEndpointArgs", "MonitoringArgs",
    "BucketGrant", "WorkloadIdentityArgs", "TrackingServerArgs", "PostgresDatabaseArgs",
    "MlopsSpec", "NetworkSpec", "KeysSpec", "BucketSpec", "StorageSpec", "ContainerRegistrySpec", "ModelRegistrySpec",
    "SystemPoolSpec", "GpuPoolSpec", "ClusterSpec", "ArtifactRef", "FrameworkSpec", "ModelSpec", "DataCaptureSpec",
    "AutoscalingSpec", "SampleRequestSpec", "EndpointSpec", "MonitoringSpec", "GpuSharingSpec", "GpuPlatformSpec", "NamespaceSpec",
    "TrackingSpec", "TrackingDatabaseSpec",
}


def test_all_is_the_documented_list_and_every_name_resolves() -> None:
    assert set(mlops_stack.__all__) == EXPECTED
    assert len(mlops_stack.__all__) == len(EXPECTED)
    from mlops_stack import args, errors, spec, stack, targets

    homes = (args, errors, spec, stack, targets)
    for name in EXPECTED - {"__version__"}:
        obj = getattr(mlops_stack, name)
        assert any(getattr(home, name, None) is obj for home in homes), name


def test_every_spec_model_and_args_class_is_exported() -> None:
    from pydantic import BaseModel

    from mlops_stack import args, spec

    models = {n for n, v in vars(spec).items() if isinstance(v, type) and issubclass(v, BaseModel) and v.__module__ == spec.__name__}
    # Target-only option sections stay in mlops_stack.spec (they name a cloud).
    own = {n for n in models if not n.startswith("_") and n not in ("EnvironmentDefaults",) and not n.endswith(("AwsSpec", "GcpSpec", "AzureSpec"))}
    assert own <= EXPECTED, own - EXPECTED
    arg_classes = {n for n, v in vars(args).items() if isinstance(v, type) and v.__module__ == args.__name__ and n.endswith("Args")}
    assert arg_classes <= EXPECTED, arg_classes - EXPECTED


def test_importing_the_package_imports_nothing_else() -> None:
    code = "import sys, mlops_stack\nprint(sorted(m for m in sys.modules if m.startswith(('mlops_stack.', 'pulumi', 'pydantic'))))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "['mlops_stack._lazy']"


def test_the_old_dispatcher_module_is_gone() -> None:
    # mlops_stack.registry was renamed mlops_stack.targets; the shim is removed (CHANGELOG).
    import importlib.util

    assert importlib.util.find_spec("mlops_stack.registry") is None
    assert importlib.util.find_spec("mlops_stack.targets") is not None
