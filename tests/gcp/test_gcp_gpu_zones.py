"""GKE GPU pools are pinned to the zones of their region that offer their GPU
(``gcp/gpu_zones.py``, ``gcp/catalog/gpu_zones.csv``): a regional cluster would otherwise
place a pool in zones GKE picks, some without the GPU (issue 13)."""

from __future__ import annotations

import json

import pytest

from planning import plan_example
from mlops_stack import catalog
from mlops_stack.errors import ConfigError
from mlops_stack.gcp import gpu_zones
from mlops_stack.offline.engine import run_program
from mlops_stack.program import main as stack_program
from test_gcp_apply_limits import dev_config, rejected

NODE_POOL = "gcp:container/nodePool:NodePool"


def prod_config(**changes: object) -> dict[str, str]:
    from planning import ROOT
    from mlops_stack.offline.stackfile import read_stack_file

    config = dict(read_stack_file(ROOT / "stacks" / "Pulumi.prod-gcp.yaml").config)
    for key, value in changes.items():
        config[f"mlops-stack:{key}"] = value if isinstance(value, str) else json.dumps(value)
    return config


def gpu_pools(plan: object) -> dict[str, dict[str, object]]:
    return {p.name: p.inputs for p in plan.of_type(NODE_POOL) if "-gpu-" in p.name}  # type: ignore[attr-defined]


# --- the data ------------------------------------------------------------------------


def test_every_zone_in_the_data_is_a_catalog_zone_of_its_region_and_every_gpu_a_gcp_offer() -> None:
    rows = gpu_zones._rows()
    assert rows, "gpu_zones.csv is empty"
    offered = {(o.gpu, gpu_zones.machine_family(o.instance_type)) for o in catalog.offered("gcp", "nodepool")}
    for row in rows:
        info = catalog.zones("gcp", row.region)
        assert info is not None and info.listed, row.region
        assert set(row.zones) <= set(info.names), (row.gpu, row.region, row.zones)
        assert (row.gpu, row.family) in offered, (row.gpu, row.family)
        assert row.source and row.retrieved and row.verified in {"yes", "partial", "unverified"}


def test_l4_zones_of_us_central1_and_us_east1() -> None:
    assert gpu_zones.zones_for("nvidia-l4", "g2-standard-4", "us-central1") == ("us-central1-a", "us-central1-b", "us-central1-c", "us-central1-f")
    # us-east1 has zones b, c, d; L4 is in b and c only: an unpinned pool could land in d.
    assert gpu_zones.zones_for("nvidia-l4", "g2-standard-24", "us-east1") == ("us-east1-b", "us-east1-c")
    # A GPU the data does not know stays unknown (not "offered nowhere").
    assert gpu_zones.zones_for("nvidia-t4", "n1-standard-4", "us-east1") is None


# --- the plan ------------------------------------------------------------------------


def test_prod_gcp_gpu_pools_are_pinned_to_the_zones_offering_their_gpu() -> None:
    pools = gpu_pools(plan_example("prod-gcp"))
    assert len(pools) == 2
    by_gpu = {p["nodeConfig"]["guestAccelerators"][0]["type"]: p for p in pools.values()}  # type: ignore[index]
    assert by_gpu["nvidia-tesla-a100"]["nodeLocations"] == ["us-central1-a", "us-central1-b", "us-central1-c", "us-central1-f"]
    assert by_gpu["nvidia-l4"]["nodeLocations"] == ["us-central1-a", "us-central1-b", "us-central1-c", "us-central1-f"]


def test_a_regional_pool_gets_only_the_zones_with_its_gpu_and_nodes_per_zone_follow() -> None:
    cluster = json.loads(prod_config()["mlops-stack:cluster"])
    cluster["gpuPools"] = [{"name": "infer", "gpu": "nvidia-l4", "gpusPerNode": 1, "minNodes": 3, "maxNodes": 4}]
    plan = run_program(stack_program, stack="prod-gcp", config=prod_config(region="us-east1", cluster=cluster, endpoints=[]))
    (pool,) = gpu_pools(plan).values()
    assert pool["nodeLocations"] == ["us-east1-b", "us-east1-c"]
    # Totals stay totals; the initial count is per zone: ceil(3 / 2 zones).
    assert pool["autoscaling"]["totalMinNodeCount"] == 3  # type: ignore[index]
    assert pool["initialNodeCount"] == 2


def test_the_zonal_dev_cluster_pools_are_not_pinned() -> None:
    pools = gpu_pools(plan_example("dev-gcp"))
    assert len(pools) == 2
    assert all("nodeLocations" not in p for p in pools.values())


def test_regioncheck_off_leaves_node_locations_unset_and_warns() -> None:
    plan = run_program(stack_program, stack="prod-gcp", config=prod_config(regionCheck="off"))
    pools = gpu_pools(plan)
    assert len(pools) == 2
    assert all("nodeLocations" not in p for p in pools.values())
    assert gpu_zones.pool_zones("nvidia-l4", "g2-standard-4", "northamerica-northeast1", "p", strict=False) is None
    message = gpu_zones.unpinned_warning("infer", "nvidia-l4", "us-central1")
    assert "node_locations is left unset" in message and "regionCheck is off" in message


# --- bad input: one line, nothing registered ---------------------------------------


def test_a_gpu_with_no_zone_in_the_region_is_one_config_error() -> None:
    # The region list (SkyPilot) has L4 in northamerica-northeast1; Google's zone table
    # has no L4 zone there: a pool would fail at apply.
    cluster = json.loads(dev_config()["mlops-stack:cluster"])
    cluster["gpuPools"] = [{"name": "infer", "gpu": "nvidia-l4", "gpusPerNode": 1, "minNodes": 0, "maxNodes": 2}]
    err = rejected(dev_config(region="northamerica-northeast1", cluster=cluster, endpoints="[]"))
    assert err.path == "cluster.gpuPools[0].gpu"
    line = str(err)
    assert "\n" not in line
    assert line.startswith("cluster.gpuPools[0].gpu: 'nvidia-l4' is not offered in any zone of northamerica-northeast1 on g2 machines")
    assert "set regionCheck: off" in line


def test_a_zonal_cluster_in_a_zone_without_the_gpu_is_one_config_error() -> None:
    cluster = json.loads(dev_config()["mlops-stack:cluster"])
    cluster["gpuPools"] = [{"name": "infer", "gpu": "nvidia-l4", "gpusPerNode": 1, "minNodes": 0, "maxNodes": 2}]
    err = rejected(dev_config(region="us-east1", gcp={"project": "mlops-dev-123456", "zone": "us-east1-d"}, cluster=cluster, endpoints="[]"))
    assert err.path == "cluster.gpuPools[0].gpu"
    assert "is not offered in zone us-east1-d (the zonal cluster's zone)" in str(err)
    assert "us-east1-b, us-east1-c; set gcp.zone to one of them" in str(err)


def test_the_component_path_gives_the_same_error() -> None:
    with pytest.raises(ConfigError) as err:
        gpu_zones.pool_zones("nvidia-a100-40gb", "a2-highgpu-1g", "us-east4", "pool.gpu", strict=True)
    assert str(err.value).startswith("pool.gpu: 'nvidia-a100-40gb' is not offered in any zone of us-east4 on a2 machines")
