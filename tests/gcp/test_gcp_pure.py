"""Pure helpers of the GCP implementation, the GCP catalog errors, and single
components used on their own (a GPU pool on an existing cluster)."""

from __future__ import annotations

import json

import pytest

from planning import ROOT
from mlops_stack.args import Env, GpuNodePoolArgs
from mlops_stack.errors import ConfigError
from mlops_stack.gcp import _nodes, _shared, cluster, keys, registry, storage
from mlops_stack.gcp.vertex_provider import NEW, dedicated_resources, remaining_split, traffic_split, upload_body
from mlops_stack.offline.engine import run_program
from mlops_stack.offline.stackfile import read_stack_file
from mlops_stack.program import main as stack_program
from mlops_stack.spec import BucketSpec, GpuPoolSpec


@pytest.mark.parametrize(
    ("cidr", "plan"),
    [
        ("10.20.0.0/16", {"pods": "10.20.0.0/17", "nodes": "10.20.128.0/19", "services": "10.20.160.0/19"}),
        ("172.16.0.0/20", {"pods": "172.16.0.0/21", "nodes": "172.16.8.0/23", "services": "172.16.10.0/23"}),
    ],
)
def test_subnet_plan(cidr: str, plan: dict[str, str]) -> None:
    assert _shared.subnet_plan(cidr) == plan


def test_account_ids_are_valid_and_unique() -> None:
    assert _shared.account_id("mlops-dev", "nodes") == "mlops-dev-nodes"
    long_a = _shared.account_id("platform-ml-team-staging", "ep-sentiment-analysis")
    long_b = _shared.account_id("platform-ml-team-staging", "ep-sentiment-analysis2")
    assert len(long_a) <= 30 and len(long_b) <= 30 and long_a != long_b
    assert long_a[0].isalpha() and long_a[-1] != "-"
    assert len(_shared.account_id("a", "b")) >= 6


def test_bucket_names_are_deterministic_per_project() -> None:
    a = _shared.bucket_name("mlops-dev", "models", "proj-one")
    assert a == _shared.bucket_name("mlops-dev", "models", "proj-one")
    assert a != _shared.bucket_name("mlops-dev", "models", "proj-two")
    assert a.startswith("mlops-dev-models-") and len(a) == len("mlops-dev-models-") + 7


@pytest.mark.parametrize(("days", "period", "effective"), [(365, "7776000s", 90), (90, "7776000s", 90), (30, "2592000s", 30)])
def test_rotation_is_capped_at_90_days(days: int, period: str, effective: int) -> None:
    assert keys.rotation_period(days) == period
    assert keys.effective_rotation_days(days) == effective


def test_key_for() -> None:
    class K:
        key_ids = {"storage": "projects/p/locations/r/keyRings/k/cryptoKeys/s"}

    assert _shared.key_for(None, "storage") is None
    assert _shared.key_for("projects/x", "vertex") == "projects/x"
    assert _shared.key_for(K(), "storage") == "projects/p/locations/r/keyRings/k/cryptoKeys/s"


def test_kubeconfig_uses_the_gke_auth_plugin_and_no_static_credentials() -> None:
    doc = json.loads(cluster.kubeconfig("mlops-dev", "10.0.0.2", "Q0E="))
    assert doc["clusters"][0]["cluster"] == {"server": "https://10.0.0.2", "certificate-authority-data": "Q0E="}
    user = doc["users"][0]["user"]
    assert set(user) == {"exec"}
    assert user["exec"]["command"] == "gke-gcloud-auth-plugin"
    assert user["exec"]["apiVersion"] == "client.authentication.k8s.io/v1beta1"


def test_authorized_networks() -> None:
    assert cluster.authorized_networks(["203.0.113.0/24"], "10.0.0.0/16") == [{"cidr_block": "203.0.113.0/24", "display_name": "spec-0"}]
    assert cluster.authorized_networks([], "10.0.0.0/16") == [{"cidr_block": "10.0.0.0/16", "display_name": "vpc"}]


def test_storage_class_is_cmek_balanced_pd() -> None:
    assert cluster.storage_class("projects/p/k") == {
        "name": "pd-balanced-cmek",
        "provisioner": "pd.csi.storage.gke.io",
        "parameters": {"type": "pd-balanced", "disk-encryption-kms-key": "projects/p/k"},
    }


@pytest.mark.parametrize(("machine", "disk"), [("g2-standard-4", "pd-balanced"), ("a3-ultragpu-8g", "hyperdisk-balanced"), ("a2-highgpu-8g", "pd-balanced")])
def test_boot_disk_type(machine: str, disk: str) -> None:
    assert _nodes.boot_disk_type(machine) == disk


def test_initial_nodes_per_zone() -> None:
    assert [_nodes.initial_nodes(n, 3) for n in (0, 1, 3, 4)] == [0, 1, 1, 2]
    assert _nodes.initial_nodes(2, 1) == 2


def test_lifecycle_without_noncurrent_expiry() -> None:
    rules = storage.lifecycle_rules(BucketSpec(name="raw", noncurrent_version_expiration_days=None, expiration_days=30))
    assert [r.action.type for r in rules] == ["AbortIncompleteMultipartUpload", "Delete"]
    assert rules[1].condition.age == 30


def test_cleanup_policy_and_registry_host() -> None:
    (policy,) = registry.cleanup_policies(3)
    assert (policy.action, policy.condition.tag_state, policy.condition.older_than) == ("DELETE", "UNTAGGED", "259200s")
    assert registry.registry_host("europe-west4") == "europe-west4-docker.pkg.dev"


@pytest.mark.parametrize(
    ("current", "percent", "drop", "split"),
    [
        ({}, 100, None, {NEW: 100}),
        ({"a": 100}, 100, None, {NEW: 100, "a": 0}),
        ({"a": 100}, 10, None, {NEW: 10, "a": 90}),
        ({"a": 50, "b": 50}, 1, None, {NEW: 1, "a": 50, "b": 49}),
        ({"a": 70, "old": 30}, 100, "old", {NEW: 100, "a": 0}),
        ({"old": 100}, 20, "old", {NEW: 100}),
    ],
)
def test_traffic_split_sums_to_100(current: dict[str, int], percent: int, drop: str | None, split: dict[str, int]) -> None:
    assert traffic_split(current, percent, drop) == split
    assert sum(split.values()) == 100


def test_remaining_split() -> None:
    assert remaining_split({"a": 30, "b": 70}, "a") == {"b": 100}
    assert remaining_split({"a": 100}, "a") == {}


def test_upload_body_minimal_and_resources_without_accelerator() -> None:
    body = upload_body({"display_name": "m", "image": "img"})
    assert body == {"model": {"displayName": "m", "containerSpec": {"imageUri": "img"}}}
    res = dedicated_resources({"machine_type": "n1-standard-2", "min_replicas": 1, "max_replicas": 3, "autoscaling_metric": "x", "autoscaling_target": 60})
    assert res["machineSpec"] == {"machineType": "n1-standard-2"}


# --- the GCP catalog: what GCP does not offer is a ConfigError listing what it does ---


def gcp_config(pool: dict) -> dict[str, str]:
    sf = read_stack_file(ROOT / "stacks" / "Pulumi.dev-gcp.yaml")
    config = dict(sf.config)
    cluster_spec = json.loads(config["mlops-stack:cluster"])
    cluster_spec["gpuPools"] = [pool]
    config["mlops-stack:cluster"] = json.dumps(cluster_spec)
    # The example's cluster endpoint names a pool this config replaces: keep the managed ones.
    endpoints = json.loads(config["mlops-stack:endpoints"])
    config["mlops-stack:endpoints"] = json.dumps([e for e in endpoints if e.get("runsOn") != "cluster"])
    return config


@pytest.mark.parametrize(
    ("pool", "path", "message"),
    [
        (
            {"name": "p", "gpu": "nvidia-t4", "gpusPerNode": 8, "maxNodes": 1},
            "cluster.gpuPools[0].gpusPerNode",
            "cluster.gpuPools[0].gpusPerNode: 8 x nvidia-t4 per node is not offered on gcp (nvidia-t4 comes in counts of 1, 2, 4)",
        ),
        (
            {"name": "p", "gpu": "nvidia-l4", "gpusPerNode": 3, "maxNodes": 1},
            "cluster.gpuPools[0].gpusPerNode",
            "cluster.gpuPools[0].gpusPerNode: 3 x nvidia-l4 per node is not offered on gcp (nvidia-l4 comes in counts of 1, 2, 4, 8)",
        ),
        (
            {"name": "p", "gpu": "nvidia-a10g", "maxNodes": 1},
            "cluster.gpuPools[0].gpu",
            "cluster.gpuPools[0].gpu: 'nvidia-a10g' is not offered on gcp for node pools "
            "(gcp offers: nvidia-a100-40gb, nvidia-a100-80gb, nvidia-h100, nvidia-h200, nvidia-l4, nvidia-t4)",
        ),
        (
            {"name": "p", "gpu": "nvidia-h100", "gpusPerNode": 1, "maxNodes": 1},
            "cluster.gpuPools[0].gpusPerNode",
            "cluster.gpuPools[0].gpusPerNode: 1 x nvidia-h100 per node is not offered on gcp (nvidia-h100 comes in counts of 8)",
        ),
    ],
)
def test_gpu_gcp_does_not_offer_is_a_config_error_before_any_resource(pool: dict, path: str, message: str) -> None:
    registered = []

    def program() -> None:
        registered.append(stack_program())

    with pytest.raises(ConfigError) as err:
        run_program(program, stack="bad", config=gcp_config(pool))
    assert err.value.path == path
    assert str(err.value) == message
    assert registered == []


def test_gpu_not_offered_in_the_region_lists_where_it_is() -> None:
    config = gcp_config({"name": "p", "gpu": "nvidia-h100", "gpusPerNode": 8, "maxNodes": 1})
    config["mlops-stack:region"] = "southamerica-east1"
    with pytest.raises(ConfigError) as err:
        run_program(stack_program, stack="bad", config=config)
    assert err.value.path == "cluster.gpuPools[0].gpu"
    assert "is not offered on gcp for node pools in region southamerica-east1" in str(err.value)
    assert "regions with nvidia-h100: asia-east1" in str(err.value)


# --- a single component on its own: a GPU pool on a cluster this stack does not manage ---


def test_gpu_pool_on_an_existing_cluster() -> None:
    import pulumi

    from mlops_stack.gcp import ExistingCluster, GpuNodePool

    def program() -> None:
        pool = GpuNodePool(
            "ext",
            GpuNodePoolArgs(
                env=Env(region="us-central1"),
                pool=GpuPoolSpec(name="batch", gpu="nvidia-t4", gpus_per_node=2, max_nodes=3, spot=True),
                cluster=ExistingCluster(name="shared", location="us-central1-b"),
            ),
        )
        pulumi.export("instance_type", pool.instance_type)

    plan = run_program(program, stack="ext", config={"gcp:project": "shared-proj-123"})
    (np,) = plan.of_type("gcp:container/nodePool:NodePool")
    assert (np.inputs["cluster"], np.inputs["location"]) == ("shared", "us-central1-b")
    (sa,) = plan.of_type("gcp:serviceaccount/account:Account")
    assert np.inputs["nodeConfig"]["serviceAccount"] == sa.outputs["email"] == "mlops-dev-nodes@shared-proj-123.iam.gserviceaccount.com"
    assert np.inputs["nodeConfig"]["guestAccelerators"][0]["type"] == "nvidia-tesla-t4"
    assert "bootDiskKmsKey" not in np.inputs["nodeConfig"]
    (grant,) = plan.of_type("gcp:projects/iAMMember:IAMMember")
    assert grant.inputs["role"] == "roles/container.defaultNodeServiceAccount"
    assert plan.outputs["instance_type"] == "n1-standard-8"


def test_gke_136_is_in_the_version_table_with_its_regular_channel_dates() -> None:
    # Issue 25 item 9: endoflife-date/endoflife.date products/google-kubernetes-engine.md
    # @a70eca3 (read 2026-12-08): Regular availability 2026-06-09, standard support to 2027-08-09.
    from datetime import date

    from mlops_stack.catalog import check_kubernetes_version, kubernetes_version

    row = kubernetes_version("gcp", "1.36")
    assert row is not None
    assert (row.released, row.standard_end, row.extended_end) == (date(2026, 6, 9), date(2027, 8, 9), date(2028, 6, 9))
    assert check_kubernetes_version("gcp", "1.36", date(2026, 12, 8)).minor == "1.36"
