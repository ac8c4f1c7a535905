"""AWS-specific spec rules, run by ``registry.check`` before any resource is registered.

Framework endpoints get their serving image resolved here (``images.resolve_image``,
cached), so an unknown framework, version or python version is a ``ConfigError`` that
names the key path, with zero resources registered; ``ModelEndpoint`` later reads the
same URI from the cache. Endpoints that give ``model.image`` never import the SDK.
"""

from __future__ import annotations

from typing import Any

from mlops_stack import catalog


def endpoint_instance_type(ep: Any, region: str, check_region: bool = True, path: str = "endpoint") -> str:
    """The SageMaker instance type of an ``EndpointSpec`` (``ml.g5.xlarge``, ``ml.m5.large``)."""
    if ep.gpu is not None:
        return catalog.resolve_gpu("aws", ep.gpu, ep.gpus_per_instance, "endpoint", region, f"{path}.gpu", check_region=check_region).instance_type
    return catalog.cpu_offer("aws", ep.cpu_size or "small", "endpoint").instance_type


def check(spec: Any) -> None:
    strict = spec.region_check == "strict"
    for i, ep in enumerate(spec.endpoints):
        if ep.model.framework is None:
            continue
        from mlops_stack.aws.images import resolve_image

        path = f"endpoints[{i}]"
        instance_type = endpoint_instance_type(ep, spec.region, strict, path)
        resolve_image(
            ep.model.framework,
            spec.region,
            instance_type,
            path=f"{path}.model.framework",
            instance_path=f"{path}.gpu" if ep.gpu is not None else f"{path}.cpuSize",
        )
