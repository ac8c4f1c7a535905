"""The only place that dispatches on the cloud.

``component(capability, cloud)`` returns the class implementing a capability on a cloud,
importing its module on first use: an AWS plan never imports pulumi_gcp or
pulumi_azure_native. ``provider(cloud, ...)`` builds the explicit provider a stack uses.
"""

from __future__ import annotations

import importlib
import importlib.util
from typing import Any

import pulumi

from mlops_stack.errors import ConfigError

#: capability -> module name inside ``mlops_stack.<cloud>``.
CAPABILITIES: dict[str, str] = {
    "Network": "network",
    "Keys": "keys",
    "ArtifactStore": "storage",
    "ContainerRegistry": "registry",
    "ModelRegistry": "model_registry",
    "KubernetesCluster": "cluster",
    "GpuNodePool": "gpu_pool",
    "ModelEndpoint": "endpoint",
}

CLOUDS: tuple[str, ...] = ("aws", "gcp", "azure")


def implemented(cloud: str, capability: str = "Network") -> bool:
    """Whether ``mlops_stack.<cloud>`` implements ``capability`` (without importing it)."""
    try:
        return importlib.util.find_spec(f"mlops_stack.{cloud}.{CAPABILITIES[capability]}") is not None
    except ModuleNotFoundError:
        return False


def implemented_clouds() -> tuple[str, ...]:
    return tuple(c for c in CLOUDS if all(implemented(c, cap) for cap in CAPABILITIES))


def component(capability: str, cloud: str) -> type[pulumi.ComponentResource]:
    if capability not in CAPABILITIES:
        raise KeyError(f"unknown capability {capability!r}; known: {', '.join(CAPABILITIES)}")
    if not implemented(cloud, capability):
        raise ConfigError(
            "cloud", f"has no {capability} implementation yet (complete clouds: {', '.join(implemented_clouds()) or 'none'})", value=cloud
        )
    module = importlib.import_module(f"mlops_stack.{cloud}.{CAPABILITIES[capability]}")
    return getattr(module, capability)


#: The Python module of each cloud's provider SDK, installed by the extra of the same name
#: (``pip install 'mlops-stack[gcp]'``).
SDK_MODULE: dict[str, str] = {"aws": "pulumi_aws", "gcp": "pulumi_gcp", "azure": "pulumi_azure_native"}


def _sdk_error(cloud: str) -> ConfigError:
    return ConfigError("cloud", f"needs the {cloud} provider SDK ({SDK_MODULE[cloud]}), which is not installed here",
                       f"pip install 'mlops-stack[{cloud}]'", value=cloud)


def require_sdk(cloud: str) -> None:
    """A ``ConfigError`` naming the extra to install if ``cloud``'s provider SDK is missing."""
    module = SDK_MODULE.get(cloud)
    if module is not None and importlib.util.find_spec(module) is None:
        raise _sdk_error(cloud)


def missing_sdk(err: BaseException) -> ConfigError | None:
    """The ``ConfigError`` for an import of a provider SDK that is not installed, else None
    (a platform program importing ``mlops_stack.gcp`` in an AWS-only install)."""
    if isinstance(err, ModuleNotFoundError) and err.name:
        top = err.name.split(".", 1)[0]
        for cloud, module in SDK_MODULE.items():
            if top == module:
                return _sdk_error(cloud)
    return None


def check(spec: Any) -> None:
    """Cloud-specific rules, run after the neutral ones and before any resource exists.

    The cloud's provider SDK must be installed. A cloud may ship
    ``mlops_stack.<cloud>.checks`` with ``check(spec)`` (AWS resolves framework images
    there). Clouds without one reject what only some clouds support.
    """
    cloud = spec.cloud
    require_sdk(cloud)
    if importlib.util.find_spec(f"mlops_stack.{cloud}.checks") is not None:
        importlib.import_module(f"mlops_stack.{cloud}.checks").check(spec)
        return
    reject_frameworks(spec)


def reject_frameworks(spec: Any) -> None:
    """For clouds without framework images: an endpoint must name its image."""
    for i, ep in enumerate(spec.endpoints):
        if ep.model.framework is not None:
            raise ConfigError(
                f"endpoints[{i}].model.framework",
                f"framework images are not available on {spec.cloud}",
                "set model.image to a serving container image URI",
                value=ep.model.framework.name,
            )


def provider(cloud: str, name: str, spec: Any, opts: pulumi.ResourceOptions) -> pulumi.ProviderResource:
    """The explicit provider of a stack, configured from the spec (region, project, ...)."""
    if cloud == "aws":
        import pulumi_aws as aws

        return aws.Provider(name, region=spec.region, opts=opts)
    if cloud == "gcp":
        import pulumi_gcp as gcp

        return gcp.Provider(name, project=spec.gcp.project, region=spec.region, opts=opts)
    if cloud == "azure":
        import pulumi_azure_native as azure_native

        return azure_native.Provider(
            name, location=spec.region, subscription_id=spec.azure.subscription_id, tenant_id=spec.azure.tenant_id, opts=opts
        )
    raise ConfigError("cloud", "is not a supported cloud", value=cloud)


#: The Pulumi package name of each cloud's provider (for ResourceOptions.providers).
PROVIDER_PACKAGE = {"aws": "aws", "gcp": "gcp", "azure": "azure-native"}
