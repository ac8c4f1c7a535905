"""Bad Azure specs: a GPU Azure does not offer, an instance type Azure ML does not take,
and Azure-only constraints are a ConfigError naming the key path and what is offered,
raised before any resource is registered (spec errors) or before the offending
component's resources (component checks)."""

from __future__ import annotations

import json
from typing import Any

import pytest

from planning import plan_config
from mlops_stack import catalog
from mlops_stack.errors import ConfigError, one_of
from mlops_stack.offline.engine import run_program
from mlops_stack.program import main as stack_program


def config(**overrides: Any) -> dict[str, str]:
    base: dict[str, Any] = {
        "cloud": "azure",
        "region": "eastus",
        "environment": "dev",
        "cluster": {"gpuPools": [{"name": "infer", "gpu": "nvidia-t4", "maxNodes": 2}]},
        "endpoints": [
            {"name": "sentiment", "cpuSize": "small", "model": {"artifact": {"bucket": "models", "key": "m/model.tar.gz"}, "image": "example.azurecr.io/s:1"}}
        ],
    }
    base.update(overrides)
    return {f"mlops-stack:{k}": v if isinstance(v, str) else json.dumps(v) for k, v in base.items()}


def plan_error(cfg: dict[str, str]) -> tuple[ConfigError, list]:
    registered: list = []

    def program() -> None:
        from pulumi.runtime.settings import get_monitor

        try:
            stack_program()
        finally:
            registered.extend(getattr(get_monitor(), "registrations", []))

    with pytest.raises(ConfigError) as info:
        run_program(program, stack="test", config=cfg)
    return info.value, registered


def endpoint_offers() -> str:
    return one_of(o.gpu for o in catalog.offered("azure", "endpoint"))


def nodepool_offers() -> str:
    return one_of(o.gpu for o in catalog.offered("azure", "nodepool"))


def test_gpu_pool_gpu_azure_does_not_offer() -> None:
    err, registered = plan_error(config(cluster={"gpuPools": [{"name": "infer", "gpu": "nvidia-l4", "maxNodes": 2}]}))
    assert str(err) == f"cluster.gpuPools[0].gpu: 'nvidia-l4' is not offered on azure for node pools (azure offers: {nodepool_offers()})"
    assert registered == []


def test_endpoint_gpu_azure_ml_does_not_take() -> None:
    ep = {
        "name": "big",
        "gpu": "nvidia-h200",
        "gpusPerInstance": 8,
        "model": {"artifact": {"bucket": "models", "key": "m"}, "image": "example.azurecr.io/s:1"},
    }
    err, registered = plan_error(config(endpoints=[ep]))
    if catalog.gpu_offer("azure", "nvidia-h200", 8, "endpoint") is None:
        # gpus.csv marks ND H200 v5 nodepool-only (the Azure ML SKU list lacks it).
        assert str(err) == f"endpoints[0].gpu: 'nvidia-h200' is not offered on azure for endpoints (azure offers: {endpoint_offers()})"
    else:
        # Until then: the catalog knows no region whose Azure ML endpoints take it.
        assert str(err) == (
            "endpoints[0].gpu: 'nvidia-h200' is not offered on azure for endpoints in region eastus "
            "(no region is known to offer nvidia-h200; catalog data retrieved 2026-11-27, partial; "
            "if the cloud offers it there now, set regionCheck: off)"
        )
    assert registered == []


def test_endpoint_gpu_count_azure_does_not_offer() -> None:
    ep = {"name": "t4", "gpu": "nvidia-t4", "gpusPerInstance": 2, "model": {"artifact": {"bucket": "models", "key": "m"}, "image": "x:1"}}
    err, registered = plan_error(config(endpoints=[ep]))
    assert str(err) == "endpoints[0].gpusPerInstance: 2 x nvidia-t4 per instance is not offered on azure (nvidia-t4 comes in counts of 1, 4)"
    assert registered == []


def test_gpu_not_in_region() -> None:
    err, registered = plan_error(config(region="westeurope", cluster={"gpuPools": [{"name": "a", "gpu": "nvidia-t4", "maxNodes": 1}]}, endpoints=[]))
    assert str(err).startswith("cluster.gpuPools[0].gpu: 'nvidia-t4' is not offered on azure for node pools in region westeurope (regions with nvidia-t4: ")
    assert registered == []


def test_endpoints_need_the_model_registry_workspace() -> None:
    err, _ = plan_error(config(modelRegistry={"enabled": False}))
    assert str(err) == (
        "modelRegistry.enabled: False must be true on azure when endpoints are declared "
        "(Azure ML endpoints live in the workspace the model registry creates)"
    )


def test_bucket_name_azure_refuses() -> None:
    err, registered = plan_error(config(storage={"buckets": [{"name": "ab"}, {"name": "models"}]}))
    assert str(err) == (
        "storage.buckets[0].name: 'ab' is not a valid Azure blob container name (3-63 characters, no '--')"
    )
    assert registered == []  # the Azure checks run before any resource is registered


def test_gpu_operator_driver_skips_the_aks_driver() -> None:
    plan = plan_config(config(gpu={"driver": "operator"}, endpoints=[]))
    (pool,) = [r for r in plan.of_type("azure-native:containerservice:AgentPool") if r.name.startswith("mlops-gpu-")]
    assert pool.inputs["gpuProfile"] == {"driver": "None"}


def test_existing_resource_group_is_adopted_not_created() -> None:
    plan = plan_config(config(azure={"resourceGroupName": "platform-rg"}, endpoints=[]))
    assert plan.of_type("azure-native:resources:ResourceGroup") == []
    vnet = plan.one("azure-native:network:VirtualNetwork")
    assert vnet.inputs["resourceGroupName"] == "platform-rg"


def test_framework_images_are_aws_only() -> None:
    ep = {"name": "fw", "cpuSize": "small", "model": {"artifact": {"bucket": "models", "key": "m"}, "framework": {"name": "pytorch", "version": "2.3"}}}
    err, registered = plan_error(config(endpoints=[ep]))
    assert str(err).startswith("endpoints[0].model.framework: 'pytorch' ")
    assert "azure" in str(err) and "model.image" in str(err)
    assert registered == []


def test_replica_region_is_not_settable_on_azure() -> None:
    err, registered = plan_error(config(storage={"replicaRegion": "westus"}))
    assert str(err) == (
        "storage.replicaRegion: 'westus' is not settable on azure (prod storage is geo-zone-redundant (GZRS) to the "
        "region's Azure-paired region; dev is LRS (docs/security.md))"
    )
    assert registered == []



def test_a_bucket_named_like_the_workspace_containers_is_refused() -> None:
    # Review of issue 26: the tracking groups' blob grant is conditioned to containers starting
    # with "azureml" (the workspace's own); a spec bucket with that prefix would fall inside it.
    buckets = {"buckets": [{"name": "models"}, {"name": "azureml-data"}]}
    err, registered = plan_error(config(storage=buckets))
    assert str(err) == (
        "storage.buckets[1].name: 'azureml-data' starts with 'azureml', which Azure ML reserves for the workspace's containers "
        "(choose another name)"
    )
    assert registered == []
