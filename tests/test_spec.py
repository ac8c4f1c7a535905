"""The spec: shape errors and cross-field rules, each a one-line ConfigError naming the key."""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from badstacks import assert_plain
from planning import STACKS, plan_config, set_path
from mlops_stack import targets
from mlops_stack.errors import ConfigError
from mlops_stack.offline.stackfile import read_stack_file
from mlops_stack.spec import TOP_LEVEL_KEYS, load_spec, raw_from_config_values


def dev_raw() -> dict[str, Any]:
    return read_stack_file(STACKS / "Pulumi.dev-aws.yaml").raw_spec


def prod_raw() -> dict[str, Any]:
    return read_stack_file(STACKS / "Pulumi.prod-aws.yaml").raw_spec


def with_(raw: dict[str, Any], path: str, value: Any) -> dict[str, Any]:
    """``with_(raw, "cluster.gpuPools.0.gpu", "x")``: a copy with one value replaced."""
    out = copy.deepcopy(raw)
    set_path(out, path, value)
    return out


def error_for(raw: dict[str, Any]) -> str:
    with pytest.raises(ConfigError) as info:
        load_spec(raw)
    msg = str(info.value)
    assert "\n" not in msg
    return msg


def test_example_specs_load() -> None:
    spec = load_spec(dev_raw())
    assert spec.cloud == "aws" and spec.zone_count == 2 and not spec.nat_per_zone and not spec.protect_stateful
    spec = load_spec(prod_raw())
    assert spec.zone_count == 3 and spec.nat_per_zone and spec.protect_stateful


@pytest.mark.parametrize(
    ("path", "value", "expected"),
    [
        ("cluster.gpuPools.0.gpu", "nvidia-l5", "cluster.gpuPools[0].gpu: 'nvidia-l5' is not a GPU name this toolkit knows (did you mean 'nvidia-l4'?)"),
        ("cluster.gpuPools.0.gpu", "nvidia-a10", "cluster.gpuPools[0].gpu: 'nvidia-a10' is not offered on aws for node pools (aws offers:"),
        ("cluster.gpuPools.0.gpusPerNode", 2, "cluster.gpuPools[0].gpusPerNode: 2 x nvidia-t4 per node is not offered on aws (nvidia-t4 comes in counts of 1, 4, 8)"),
        ("cluster.gpuPools.0.minNodes", 9, "cluster.gpuPools[0].minNodes: 9 is greater than maxNodes (2)"),
        ("cluster.gpuPools.0.maxNodes", "many", "cluster.gpuPools[0].maxNodes: 'many' must be a whole number"),
        ("cluster.gpuPools.0.maxNodes", 0, "cluster.gpuPools[0].maxNodes: 0 must be at least 1"),
        ("cluster.systemPool.size", "huge", "cluster.systemPool.size: 'huge' must be one of small, medium, large"),
        ("cloud", "awz", "cloud: 'awz' must be one of aws, gcp, azure (did you mean 'aws'?)"),
        ("region", "us-east-9", "region: 'us-east-9' is not a region of aws (did you mean 'us-east-1' or 'us-east-2'?)"),
        ("environment", "production", "environment: 'production' must be one of dev, staging, prod"),
        ("endpoints.0.model.artifact.bucket", "modles", "endpoints[0].model.artifact.bucket: 'modles' is not one of storage.buckets (did you mean 'models'?)"),
        ("cluster.publicAccessCidrs", ["0.0.0.0/0"], "cluster.publicAccessCidrs[0]: '0.0.0.0/0' opens the API server to the whole internet"),
        ("network.cidr", "8.8.0.0/16", "network.cidr: '8.8.0.0/16' must be a private (RFC 1918) range"),
        ("tags.Owner", "x", "tags.Owner: is not an allowed key: lower-case letters, digits, '_' and '-', starting with a letter, up to 63 characters (GCP label rules, used on every cloud)"),
        ("gcp.rbacSecurityGroup", "admins@example.com", "gcp.rbacSecurityGroup: 'admins@example.com' is not the organisation's Google Groups for RBAC group: gke-security-groups@<your domain>"),
        ("azure.defenderForContainers", "maybe", "azure.defenderForContainers: 'maybe' must be true or false"),
        ("storage.replicaRegion", "us-west-9", "storage.replicaRegion: 'us-west-9' is not a region of aws (did you mean 'us-west-1' or 'us-west-2'?)"),
        ("storage.replicaRegion", "us-east-1", "storage.replicaRegion: 'us-east-1' must differ from region"),
        ("storage.buckets.0.name", "Artifacts", "storage.buckets[0].name: 'Artifacts' must be 1-32 lower-case letters, digits and dashes, starting with a letter"),
    ],
)
def test_bad_values_name_the_key_and_reason(path: str, value: Any, expected: str) -> None:
    assert error_for(with_(dev_raw(), path, value)).startswith(expected)


def test_misspelt_keys_get_a_suggestion() -> None:
    raw = dev_raw()
    raw["clustr"] = raw.pop("cluster")
    assert error_for(raw) == "clustr: is not a known key (did you mean 'cluster'?)"
    raw = dev_raw()
    raw["cluster"]["gpuPools"][0]["maxNode"] = raw["cluster"]["gpuPools"][0].pop("maxNodes")
    assert error_for(raw).startswith("cluster.gpuPools[0].maxNode: is not a known key (did you mean 'maxNodes'?)")


def test_missing_required_keys() -> None:
    raw = dev_raw()
    del raw["region"]
    assert error_for(raw) == "region: is required"
    raw = with_(dev_raw(), "cloud", "gcp")
    raw["region"] = "us-central1"
    assert error_for(raw) == "gcp.project: is required when cloud is gcp"


def test_a_gpu_the_region_lacks() -> None:
    raw = with_(dev_raw(), "region", "eu-west-3")
    raw = with_(raw, "cluster.gpuPools.0.gpu", "nvidia-h100")
    raw = with_(raw, "cluster.gpuPools.0.gpusPerNode", 8)
    msg = error_for(raw)
    assert msg.startswith("cluster.gpuPools[0].gpu: 'nvidia-h100' is not offered on aws for node pools in region eu-west-3 (regions with nvidia-h100: ")
    assert "set regionCheck: off" in msg
    raw["regionCheck"] = "off"
    assert load_spec(raw).cluster.gpu_pools[0].gpu == "nvidia-h100"


def test_prod_rules() -> None:
    assert error_for(with_(prod_raw(), "endpoints.0.minInstances", 1)).startswith(
        "endpoints[0].minInstances: 1 must be at least 2 in prod"
    )
    assert error_for(with_(prod_raw(), "storage.buckets.0.versioning", False)).startswith(
        "storage.buckets[0].versioning: False must be true in prod"
    )


def test_endpoint_needs_exactly_one_size_and_one_image_source() -> None:
    raw = with_(dev_raw(), "endpoints.0.gpu", "nvidia-t4")
    assert error_for(raw) == "endpoints[0]: needs exactly one of gpu or cpuSize"
    raw = dev_raw()
    del raw["endpoints"][0]["model"]["image"]
    assert error_for(raw) == "endpoints[0].model: needs exactly one of image or framework"
    raw = with_(dev_raw(), "endpoints.0.model.image", None)
    assert error_for(raw) == "endpoints[0].model.image: is null: give an image reference, or a framework instead"


def test_duplicate_names() -> None:
    raw = dev_raw()
    raw["cluster"]["gpuPools"][1]["name"] = "train"
    assert error_for(raw) == "cluster.gpuPools[1].name: 'train' is used twice; names must be unique"


def test_config_values_are_decoded_like_the_pulumi_cli_hands_them() -> None:
    raw = raw_from_config_values(
        {"mlops-stack:cloud": "aws", "mlops-stack:name": "123", "mlops-stack:cluster": json.dumps({"enabled": False}), "aws:region": "x"}
    )
    assert raw == {"cloud": "aws", "name": "123", "cluster": {"enabled": False}}


def test_a_bad_spec_registers_nothing() -> None:
    config = {"mlops-stack:cloud": "aws", "mlops-stack:region": "us-east-1", "mlops-stack:cluster": json.dumps({"gpuPools": [{"name": "a", "gpu": "nvidia-l5", "maxNodes": 1}]})}
    with pytest.raises(ConfigError) as info:
        plan_config(config)
    assert info.value.offline_registrations == []  # type: ignore[attr-defined]


# --- property-based: malformed specs never produce a traceback ----------------------------

json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-5, 10_000) | st.floats(allow_nan=False) | st.text(max_size=12),
    lambda children: st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=8), children, max_size=3),
    max_leaves=6,
)


def _paths(node: Any, prefix: tuple = ()) -> list[tuple]:
    out = [prefix] if prefix else []
    if isinstance(node, dict):
        for k, v in node.items():
            out += _paths(v, (*prefix, k))
    elif isinstance(node, list):
        for i, v in enumerate(node):
            out += _paths(v, (*prefix, i))
    return out


@st.composite
def mutated_specs(draw: st.DrawFn) -> dict[str, Any]:
    raw = draw(st.sampled_from([dev_raw(), prod_raw()]))
    for _ in range(draw(st.integers(1, 3))):
        paths = _paths(raw)
        path = draw(st.sampled_from(paths))
        parent: Any = raw
        for p in path[:-1]:
            parent = parent[p]
        action = draw(st.sampled_from(["replace", "delete", "add"]))
        if action == "replace":
            parent[path[-1]] = draw(json_values)
        elif action == "delete" and isinstance(parent, dict):
            del parent[path[-1]]
        elif isinstance(parent, dict):
            parent[draw(st.sampled_from([*TOP_LEVEL_KEYS, "foo", "minNode", "gpus"]))] = draw(json_values)
    return raw


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(mutated_specs())
def test_malformed_specs_raise_config_error_or_load(raw: dict[str, Any]) -> None:
    try:
        load_spec(raw)
    except ConfigError as err:
        msg = str(err)
        assert "\n" not in msg and ": " in msg and "Traceback" not in msg
        assert_plain(f"{err.reason} {err.hint or ''}")  # no pydantic wording, whatever the value


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(mutated_specs())
def test_malformed_specs_register_nothing_when_they_fail(raw: dict[str, Any]) -> None:
    config = {f"mlops-stack:{k}": v if isinstance(v, str) else json.dumps(v) for k, v in raw.items()}
    try:
        # Every rule the program checks: the neutral ones, then the cloud's own.
        targets.check(load_spec(raw_from_config_values(config)))
    except ConfigError:
        with pytest.raises(ConfigError) as info:
            plan_config(config)
        assert info.value.offline_registrations == []  # type: ignore[attr-defined]
