"""Pure helpers of the k8s layer: values builders, plans, sharing config, merging."""

from __future__ import annotations

from types import SimpleNamespace

import pytest
import yaml

from mlops_stack.args import Env
from mlops_stack.errors import ConfigError
from mlops_stack.k8s import charts
from mlops_stack.k8s._common import chart_overrides, deep_merge, needs_device_plugin
from mlops_stack.k8s.gpu import GpuEnablementArgs, gpu_operator_values, gpu_plan, sharing_config
from mlops_stack.k8s.monitoring import kube_prometheus_values
from mlops_stack.k8s.tenancy import check_namespaces, network_policies, quota_hard
from mlops_stack.spec import GpuPlatformSpec, GpuPoolSpec, GpuSharingSpec, MonitoringSpec, NamespaceSpec

ENV = Env(region="us-east-1")
POOL = GpuPoolSpec(name="train", gpu="nvidia-l4", max_nodes=3)


def test_sharing_none_adds_nothing() -> None:
    assert sharing_config(GpuSharingSpec()) is None


def test_time_slicing_config_is_the_device_plugin_format() -> None:
    config = sharing_config(GpuSharingSpec(mode="time-slicing", replicas=8))
    assert config == yaml.safe_load(yaml.safe_dump(config))
    slicing = config["sharing"]["timeSlicing"]
    assert config["version"] == "v1"
    assert slicing["resources"] == [{"name": "nvidia.com/gpu", "replicas": 8}]
    assert slicing["renameByDefault"] is False


def test_mig_config_uses_single_strategy() -> None:
    assert sharing_config(GpuSharingSpec(mode="mig", mig_profile="all-1g.10gb")) == {"version": "v1", "flags": {"migStrategy": "single"}}


@pytest.mark.parametrize(
    ("driver", "plugin_needed", "sharing", "mode", "configmap"),
    [
        ("cloud", True, "none", "device-plugin", False),
        ("cloud", True, "time-slicing", "device-plugin", True),
        ("cloud", False, "none", "cloud-managed", False),
        ("cloud", False, "time-slicing", "cloud-managed", False),
        ("operator", True, "time-slicing", "operator", True),
        ("operator", False, "time-slicing", "operator", False),
        ("operator", True, "mig", "operator", False),
    ],
)
def test_gpu_plan(driver: str, plugin_needed: bool, sharing: str, mode: str, configmap: bool) -> None:
    cluster = SimpleNamespace(needs_device_plugin=plugin_needed)
    spec = GpuPlatformSpec(driver=driver, sharing=GpuSharingSpec(mode=sharing, mig_profile="all-1g.10gb" if sharing == "mig" else None))
    plan = gpu_plan(GpuEnablementArgs(env=ENV, gpu=spec, gpu_pools=(POOL,), cluster=cluster))
    assert (plan.mode, plan.sharing_configmap) == (mode, configmap)
    assert bool(plan.warnings) == (not plugin_needed and (sharing != "none" or driver == "operator"))


def test_needs_device_plugin_defaults_to_true() -> None:
    assert needs_device_plugin(object()) is True
    assert needs_device_plugin(SimpleNamespace(needs_device_plugin=False)) is False


def test_operator_values_keep_the_node_image_driver() -> None:
    values = gpu_operator_values(GpuSharingSpec(), dcgm=False, device_plugin=True)
    assert values["driver"] == {"enabled": False} and values["toolkit"] == {"enabled": False}
    assert values["dcgmExporter"] == {"enabled": False}
    assert values["migManager"] == {"enabled": False}
    assert values["daemonsets"]["tolerations"] == [{"key": "nvidia.com/gpu", "operator": "Exists", "effect": "NoSchedule"}]


def test_chart_overrides_merge_deeply_and_replace_lists() -> None:
    cluster = SimpleNamespace(k8s_chart_overrides={"gpu-operator": {"driver": {"enabled": True}, "daemonsets": {"tolerations": []}}})
    merged = deep_merge(gpu_operator_values(GpuSharingSpec(), dcgm=True, device_plugin=True), chart_overrides(cluster, charts.GPU_OPERATOR))
    assert merged["driver"] == {"enabled": True}
    assert merged["daemonsets"] == {"tolerations": [], "priorityClassName": "system-node-critical"}
    assert merged["dcgmExporter"]["enabled"] is True
    assert chart_overrides(object(), charts.GPU_OPERATOR) == {}


def test_deep_merge_never_copies_leaves() -> None:
    leaf = object()
    base = {"a": {"b": leaf, "c": [leaf]}}
    merged = deep_merge(base, {"a": {"d": 1}})
    assert merged["a"]["b"] is leaf and merged["a"]["c"][0] is leaf and merged["a"]["d"] == 1
    assert "d" not in base["a"]


def test_grafana_public_is_a_load_balancer_and_storage_class_optional() -> None:
    values = kube_prometheus_values(
        ENV, MonitoringSpec(grafana_public=True, storage_gb=100), storage_class=None, admin_secret="grafana-admin", rule_groups=[]
    )
    assert values["grafana"]["service"]["type"] == "LoadBalancer"
    assert "additionalPrometheusRulesMap" not in values
    claim = values["prometheus"]["prometheusSpec"]["storageSpec"]["volumeClaimTemplate"]["spec"]
    assert "storageClassName" not in claim  # the cluster's default class
    assert values["prometheus"]["prometheusSpec"]["retentionSize"] == "85GB"
    assert "storageClassName" not in values["grafana"]["persistence"]


def test_quota_and_policies() -> None:
    assert quota_hard(NamespaceSpec(name="team-a", gpu_quota=2)) == {
        "requests.nvidia.com/gpu": "2",
        "requests.cpu": "64",
        "requests.memory": "256Gi",
    }
    assert set(network_policies("team-a", "monitoring")) == {"default-deny", "allow-dns", "allow-same-namespace", "allow-monitoring"}
    assert set(network_policies("team-a", None)) == {"default-deny", "allow-dns", "allow-same-namespace"}


def test_reserved_namespaces() -> None:
    check_namespaces([NamespaceSpec(name="team-a")])
    with pytest.raises(ConfigError) as err:
        check_namespaces([NamespaceSpec(name="team-a"), NamespaceSpec(name="monitoring")])
    assert err.value.path == "namespaces[1].name"
