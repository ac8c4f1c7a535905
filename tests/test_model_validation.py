"""Validation on the models: a platform repo building specs and args in Python gets the
same one-line ConfigError as a stack file, with the model's name in front of the key."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mlops_stack import ArtifactStoreArgs, ClusterSpec, EndpointSpec, Env, GpuPoolSpec, ModelEndpointArgs, StorageSpec
from mlops_stack.errors import ConfigError
from mlops_stack.spec import load_spec

MODEL = {"artifact": {"bucket": "models", "key": "m/model.tar.gz"}, "image": "123456789012.dkr.ecr.us-east-1.amazonaws.com/s:1"}
PROD = Env(environment="prod", region="us-east-1")


def _line(fn: object) -> str:
    with pytest.raises(ConfigError) as err:
        fn()  # type: ignore[operator]
    return str(err.value)


@pytest.mark.parametrize(
    ("build", "line"),
    [
        (lambda: GpuPoolSpec(name="p", gpu="nvidia-l4", min_nodes=5, max_nodes=2), "GpuPoolSpec.minNodes: 5 is greater than maxNodes (2)"),
        (lambda: Env(environment="production", region="us-east-1"), "Env.environment: 'production' must be one of dev, staging, prod"),
        (lambda: EndpointSpec(name="e", gpu="nvidia-l4", cpu_size="small", model=MODEL), "EndpointSpec: needs exactly one of gpu or cpuSize"),
        (lambda: EndpointSpec(name="e", cpu_size="small", min_instances=3, max_instances=2, model=MODEL),
         "EndpointSpec.minInstances: 3 is greater than maxInstances (2)"),
        (lambda: EndpointSpec(name="e", cpu_size="small", model={"artifact": MODEL["artifact"]}),
         "EndpointSpec.model: needs exactly one of image or framework"),
        (lambda: StorageSpec(buckets=[{"name": "a"}, {"name": "a"}]), "StorageSpec.buckets[1].name: 'a' is used twice; names must be unique"),
        (lambda: ClusterSpec(enabled=False, gpu_pools=[{"name": "p", "gpu": "nvidia-l4", "maxNodes": 1}]),
         "ClusterSpec.gpuPools: needs a cluster, but cluster.enabled is false"),
        (lambda: ModelEndpointArgs(env=PROD, endpoint=EndpointSpec(name="e", cpu_size="small", model=MODEL), store=None),
         "ModelEndpointArgs.endpoint.minInstances: 1 must be at least 2 in prod (one instance is a single point of failure)"),
        (lambda: ArtifactStoreArgs(env=PROD, storage=StorageSpec(buckets=[{"name": "a", "versioning": False}])),
         "ArtifactStoreArgs.storage.buckets[0].versioning: False must be true in prod (data is never lost by default)"),
    ],
)
def test_built_in_python_the_line_names_the_model(build: object, line: str) -> None:
    assert _line(build) == line


@pytest.mark.parametrize(
    ("raw", "line"),
    [
        ({"cluster": {"gpuPools": [{"name": "p", "gpu": "nvidia-l4", "minNodes": 5, "maxNodes": 2}]}},
         "cluster.gpuPools[0].minNodes: 5 is greater than maxNodes (2)"),
        ({"environment": "production"}, "environment: 'production' must be one of dev, staging, prod"),
        ({"endpoints": [{"name": "e", "gpu": "nvidia-l4", "cpuSize": "small", "model": MODEL}]}, "endpoints[0]: needs exactly one of gpu or cpuSize"),
        ({"environment": "prod", "endpoints": [{"name": "e", "cpuSize": "small", "model": MODEL}]},
         "endpoints[0].minInstances: 1 must be at least 2 in prod (one instance is a single point of failure)"),
        ({"storage": {"buckets": [{"name": "models"}, {"name": "models"}]}}, "storage.buckets[1].name: 'models' is used twice; names must be unique"),
    ],
)
def test_the_same_rules_on_the_spec_path(raw: dict, line: str) -> None:
    assert _line(lambda: load_spec({"cloud": "aws", "region": "us-east-1", **raw})) == line


values = st.one_of(st.none(), st.booleans(), st.integers(-5, 2000), st.text(max_size=12), st.lists(st.integers(), max_size=2))


@settings(max_examples=200, deadline=None)
@given(min_nodes=values, max_nodes=values, gpus=values, environment=values, region=values)
def test_only_config_errors_escape_python_construction(min_nodes: object, max_nodes: object, gpus: object, environment: object, region: object) -> None:
    for build in (
        lambda: GpuPoolSpec(name="p", gpu="nvidia-l4", min_nodes=min_nodes, max_nodes=max_nodes, gpus_per_node=gpus),
        lambda: Env(environment=environment, region=region),  # type: ignore[arg-type]
    ):
        try:
            build()
        except ConfigError as err:
            assert "\n" not in str(err) and str(err).split(":", 1)[0]
