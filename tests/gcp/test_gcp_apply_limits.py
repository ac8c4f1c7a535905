"""Limits the GCP APIs enforce only at ``pulumi up``: checked before any resource
(``mlops_stack.gcp.checks``) or mapped to a value the API accepts (soft delete)."""

from __future__ import annotations

import json

import pytest

from planning import ROOT
from mlops_stack.errors import ConfigError
from mlops_stack.gcp import _shared, checks, storage
from mlops_stack.offline.engine import run_program
from mlops_stack.offline.stackfile import read_stack_file
from mlops_stack.program import main as stack_program

BUCKET = "gcp:storage/bucket:Bucket"
NODE_POOL = "gcp:container/nodePool:NodePool"


def dev_config(**changes: object) -> dict[str, str]:
    """dev-gcp's flat config with some top-level keys replaced (``cluster`` merged)."""
    config = dict(read_stack_file(ROOT / "stacks" / "Pulumi.dev-gcp.yaml").config)
    if "cluster" in changes and "endpoints" not in changes:
        # The example's cluster endpoint names a pool the new pools may lack: keep the managed ones.
        config["mlops-stack:endpoints"] = json.dumps([e for e in json.loads(config["mlops-stack:endpoints"]) if e.get("runsOn") != "cluster"])
    for key, value in changes.items():
        full = f"mlops-stack:{key}"
        if isinstance(value, dict) and full in config:
            value = {**json.loads(config[full]), **value}
        config[full] = value if isinstance(value, str) else json.dumps(value)
    return config


def rejected(config: dict[str, str]) -> ConfigError:
    registered: list[object] = []

    def program() -> None:
        registered.append(stack_program())

    with pytest.raises(ConfigError) as err:
        run_program(program, stack="bad", config=config)
    assert registered == []
    return err.value


# --- GCS soft delete: 0 or 7..90 days (604800..7776000 s) -------------------------


@pytest.mark.parametrize(("days", "seconds"), [(1, 604800), (6, 604800), (7, 604800), (30, 2592000), (90, 7776000)])
def test_soft_delete_seconds_stay_in_the_range_gcs_accepts(days: int, seconds: int) -> None:
    assert storage.soft_delete_seconds(days) == seconds


def test_a_short_spec_soft_delete_becomes_the_gcs_minimum_on_every_bucket() -> None:
    # storage.softDeleteDays: 3 is valid in the spec (Azure takes 1..365); GCS rejects
    # retentionDurationSeconds 259200 at apply. The bucket must ask for 7 days.
    storage_spec = json.loads(dev_config()["mlops-stack:storage"])
    plan = run_program(stack_program, stack="dev-gcp", config=dev_config(storage={**storage_spec, "softDeleteDays": 3}))
    buckets = plan.of_type(BUCKET)
    assert len(buckets) == 4
    assert {json.dumps(b.inputs["softDeletePolicy"]) for b in buckets} == {json.dumps({"retentionDurationSeconds": 604800})}


# --- GKE node pool names: at most 40 characters, auto-named <logical>-<7 hex> ------


def test_the_example_stacks_node_pool_names_fit() -> None:
    for stack in ("dev-gcp", "prod-gcp"):
        sf = read_stack_file(ROOT / "stacks" / f"Pulumi.{stack}.yaml")
        plan = run_program(stack_program, stack=sf.stack, config=sf.config)
        for pool in plan.of_type(NODE_POOL):
            assert checks.node_pool_name_length(pool.name) <= checks.MAX_NODE_POOL_NAME, pool.name
            assert len(pool.outputs["name"]) <= 40, pool.outputs["name"]


def test_a_gpu_pool_whose_node_pool_name_gke_rejects_is_a_config_error() -> None:
    # "mlops-gpu-inference-h100x8-nodes-1a2b3c4" is 40 characters: fits; one more does not.
    ok = dev_config(cluster={"gpuPools": [{"name": "inference-h100x8", "gpu": "nvidia-l4", "maxNodes": 1}]})
    plan = run_program(stack_program, stack="ok", config=ok)
    (gpu_pool,) = [p for p in plan.of_type(NODE_POOL) if "gpu" in p.name]
    assert checks.node_pool_name_length(gpu_pool.name) == 40
    err = rejected(dev_config(cluster={"gpuPools": [{"name": "inference-h100x8g", "gpu": "nvidia-l4", "maxNodes": 1}]}))
    assert err.path == "cluster.gpuPools[0].name"
    assert "41 characters" in err.reason and "GKE allows 40" in err.reason
    assert err.hint == "use a pool name of at most 16 characters"


def test_the_longest_stack_name_still_fits_the_system_pool_and_shrinks_the_gpu_pool_budget() -> None:
    # The spec caps name at 16: "<16>-cluster-system-<7 hex>" is 39 characters.
    config = dev_config(name="platform-ml-team", cluster={"gpuPools": [{"name": "gpu01", "gpu": "nvidia-l4", "maxNodes": 1}]})
    plan = run_program(stack_program, stack="long", config=config)
    assert sorted(checks.node_pool_name_length(p.name) for p in plan.of_type(NODE_POOL)) == [39, 40]
    err = rejected(dev_config(name="platform-ml-team", cluster={"gpuPools": [{"name": "gpu001", "gpu": "nvidia-l4", "maxNodes": 1}]}))
    assert (err.path, err.hint) == ("cluster.gpuPools[0].name", "use a pool name of at most 5 characters")


# --- GCS bucket names (the helper, used on its own): at most 63 characters -------


def test_bucket_names_keep_their_hash_and_end_alphanumeric() -> None:
    long = _shared.bucket_name("a" * 40, "b" * 30, "proj")
    assert len(long) == 63 and long[-8] == "-" and long[-7:] == _shared.bucket_name("x", "y", "proj")[-7:]
    assert _shared.bucket_name("a" * 54, "b", "proj")[-9] != "-"


def test_framework_endpoints_are_still_rejected_on_gcp() -> None:
    endpoints = json.loads(dev_config()["mlops-stack:endpoints"])
    endpoints[0]["model"].pop("image")
    endpoints[0]["model"]["framework"] = {"name": "pytorch", "version": "2.3"}
    err = rejected(dev_config(endpoints=endpoints))
    assert err.path == "endpoints[0].model.framework"


def test_a_gpu_pool_component_whose_node_pool_name_gke_rejects_fails_before_any_child() -> None:
    from mlops_stack.args import Env, GpuNodePoolArgs
    from mlops_stack.gcp import ExistingCluster, GpuNodePool
    from mlops_stack.spec import GpuPoolSpec

    created: list[object] = []

    def program() -> None:
        env = Env(name="mlops", environment="dev", region="us-central1")
        pool = GpuPoolSpec(name="p", gpu="nvidia-l4", maxNodes=1)
        created.append(GpuNodePool("x" * 27, GpuNodePoolArgs(env=env, pool=pool, cluster=ExistingCluster(name="c", location="us-central1-a"))))

    from mlops_stack.errors import ConfigError

    with pytest.raises(ConfigError) as err:
        run_program(program, stack="ext", config={"gcp:project": "shared-proj-123"})
    assert str(err.value) == (
        f"GpuNodePool(name): {'x' * 27!r} would make the GKE node pool name 41 characters long; GKE allows 40 "
        "(use a component name of at most 26 characters)"
    )
    assert created == []


def test_a_gcp_endpoint_component_with_a_framework_model_is_a_config_error() -> None:
    from types import SimpleNamespace

    from mlops_stack import EndpointSpec, Env, ModelEndpointArgs
    from mlops_stack.errors import ConfigError
    from mlops_stack.gcp import ModelEndpoint

    ep = EndpointSpec.model_validate(
        {"name": "e", "cpuSize": "small", "model": {"artifact": {"bucket": "models", "key": "m/model.tar.gz"}, "framework": {"name": "pytorch", "version": "2.3"}}}
    )

    def program() -> None:
        env = Env(name="mlops", environment="dev", region="us-central1")
        ModelEndpoint("e", ModelEndpointArgs(env=env, endpoint=ep, store=SimpleNamespace(bucket_names={})))

    with pytest.raises(ConfigError) as err:
        run_program(program, stack="ext", config={"gcp:project": "shared-proj-123"})
    assert str(err.value) == (
        "endpoint.model.image: is required on gcp: Vertex AI has no framework images here (set model.image to a serving container image URI)"
    )
