"""The common contract: every cloud's environment exports the same output names, in the
same shapes, whatever the cloud adds on top."""

from __future__ import annotations

import json

import pytest

from mlops_stack.offline.engine import SECRET, Plan

SCHEME = {"aws": "s3://", "gcp": "gs://", "azure": "https://"}
POOL_KEYS = {"pool_name", "instance_type", "gpu", "gpus_per_node", "min_nodes", "max_nodes"}


def test_artifact_store(example_plan: Plan) -> None:
    out = example_plan.outputs
    assert out["bucket_uris"] and all(uri.startswith(SCHEME[out["cloud"]]) for uri in out["bucket_uris"].values())


def test_container_registry(example_plan: Plan) -> None:
    out = example_plan.outputs
    assert isinstance(out["registry_url"], str) and out["registry_url"]
    assert out["repository_urls"] and all(url.startswith(out["registry_url"]) for url in out["repository_urls"].values())


def test_model_registry(example_plan: Plan) -> None:
    assert isinstance(example_plan.outputs["model_registry_id"], str) and example_plan.outputs["model_registry_id"]


def test_kubernetes_cluster(example_plan: Plan) -> None:
    out = example_plan.outputs
    assert out["cluster_name"]
    assert out["endpoint"].startswith("https://")
    assert out["kubeconfig"] == SECRET
    assert out["oidc_issuer"].startswith("https://")


def test_gpu_node_pools(example_plan: Plan) -> None:
    pools = example_plan.outputs["gpu_pools"]
    assert pools
    for pool in pools.values():
        assert set(pool) == POOL_KEYS
        assert 0 <= pool["min_nodes"] <= pool["max_nodes"] and pool["gpus_per_node"] >= 1
        assert pool["gpu"].startswith("nvidia-") and pool["instance_type"]


def test_model_endpoints(example_plan: Plan) -> None:
    eps = example_plan.outputs["endpoints"]
    assert eps
    cluster = {e["name"] for e in json.loads(example_plan.config.get("mlops-stack:endpoints", "[]")) if e.get("runsOn") == "cluster"}
    for name, ep in eps.items():
        assert set(ep) >= {"endpoint_name", "invoke_url"}
        # A managed endpoint's URL is the service's (TLS); a cluster endpoint's the in-cluster Service.
        if name in cluster:
            assert ep["invoke_url"] == f"http://{name}-predictor.serving.svc.cluster.local"
        else:
            assert ep["invoke_url"].startswith("https://")


@pytest.mark.parametrize(
    "kind", ["Network", "Keys", "ArtifactStore", "ContainerRegistry", "ModelRegistry", "KubernetesCluster", "GpuNodePool", "ModelEndpoint"]
)
def test_every_capability_is_a_typed_component(example_plan: Plan, kind: str) -> None:
    cloud = example_plan.outputs["cloud"]
    comps = example_plan.of_type(f"mlops:{cloud}:{kind}")
    assert comps and all(not c.custom for c in comps)
    # Every custom child of a capability is named "<component name>-<role>".
    for comp in comps:
        for child in example_plan.children(comp.urn):
            assert child.name.startswith(comp.name + "-"), child.name
