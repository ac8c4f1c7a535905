"""Turning things on and off in the spec: exactly those resources come and go. Plus the
GPU Operator strategy, tenancy, and the Grafana password never leaking."""

from __future__ import annotations

import json
from collections import Counter

import pytest

from k8s_helpers import count_diff, descendants, plan_variant, release, releases, serves_on_cluster, spec_value, type_counts
from planning import example_stacks, plan_config, plan_example
from mlops_stack.errors import ConfigError
from mlops_stack.k8s import charts
from mlops_stack.k8s.gpu import SHARING_CONFIGMAP
from mlops_stack.k8s.monitoring import GRAFANA_PASSWORD_LENGTH
from mlops_stack.k8s import mocks as outputs_k8s
from mlops_stack.offline.engine import SECRET, Plan, run_program

STACKS = example_stacks()
#: Variant plans (each a full plan) run on one example stack per cloud: dev where present.
VARIANT_STACKS = sorted({s.rsplit("-", 1)[-1]: s for s in sorted(STACKS, reverse=True)}.values())
GPU_TOLERATION = {"key": "nvidia.com/gpu", "operator": "Exists", "effect": "NoSchedule"}


def everything(plan: Plan) -> str:
    """Every recorded input, output and stack output of a plan, as one text."""
    return json.dumps(
        {"resources": [{"inputs": r.inputs, "outputs": r.outputs} for r in plan.resources], "outputs": plan.outputs}, sort_keys=True
    )


GRAFANA_PASSWORD = "mlops-k8s-monitoring-grafana-admin-password"


def grafana_password(plan: Plan, name: str = GRAFANA_PASSWORD) -> str:
    reg = plan.one("random:index/randomPassword:RandomPassword", name)
    return outputs_k8s.mock_password(reg.name, int(reg.inputs["length"]), reg.inputs["overrideSpecial"])


# --------------------------------------------------------------------------- secrets


@pytest.mark.parametrize("stack", STACKS)
def test_grafana_password_never_in_plain_text(stack: str) -> None:
    plan = plan_example(stack)
    password = grafana_password(plan)
    assert len(password) == GRAFANA_PASSWORD_LENGTH and password.startswith("Mk-")
    assert password not in everything(plan)
    assert plan.one("random:index/randomPassword:RandomPassword", GRAFANA_PASSWORD).outputs["result"] == SECRET
    assert plan.one("kubernetes:core/v1:Secret", "mlops-k8s-monitoring-grafana-admin").outputs["stringData"] == SECRET


def test_the_leak_search_finds_a_leak() -> None:
    """Negative control: the mock password does flow, and the search above would see it."""
    import pulumi
    import pulumi_kubernetes as k8s
    import pulumi_random as random

    def leaky() -> None:
        pw = random.RandomPassword("leaky", length=24, special=True, override_special="-_.~")
        k8s.core.v1.ConfigMap("oops", data={"password": pulumi.Output.unsecret(pw.result)})

    plan = run_program(leaky, stack="leak")
    assert grafana_password(plan, "leaky") in everything(plan)


# --------------------------------------------------------------------------- toggles


@pytest.mark.parametrize("stack", VARIANT_STACKS)
def test_monitoring_off_removes_exactly_monitoring(stack: str) -> None:
    base = plan_example(stack)
    off = plan_variant(stack, monitoring={"enabled": False})
    monitoring = base.one("mlops:k8s:Monitoring")
    expected = type_counts([monitoring, *descendants(base, monitoring.urn)])
    # Each team namespace's allowance for scraping goes with it.
    teams = len(spec_value(stack, "namespaces", []))
    if teams:
        expected["kubernetes:networking.k8s.io/v1:NetworkPolicy"] += teams
    # So do the cluster endpoints' PodMonitor and dashboard (the endpoints themselves stay).
    if serves_on_cluster(base):
        expected["kubernetes:monitoring.coreos.com/v1:PodMonitor"] += 1
        expected["kubernetes:core/v1:ConfigMap"] += 1
        assert len(off.of_type("kubernetes:serving.kserve.io/v1beta1:InferenceService")) == len(base.of_type("kubernetes:serving.kserve.io/v1beta1:InferenceService"))
    # So does self-hosted MLflow's ServiceMonitor (no Prometheus Operator to read it).
    if base.of_type("mlops:k8s:Tracking"):
        expected["kubernetes:monitoring.coreos.com/v1:ServiceMonitor"] = expected.get("kubernetes:monitoring.coreos.com/v1:ServiceMonitor", 0) + 1
    assert count_diff(base, off) == expected
    assert expected["kubernetes:helm.sh/v3:Release"] == 2  # kube-prometheus-stack + DCGM exporter
    assert "grafana_url" not in off.outputs and "prometheus_url" not in off.outputs
    assert charts.KUBE_PROMETHEUS_STACK.name not in releases(off)


@pytest.mark.parametrize("stack", VARIANT_STACKS)
def test_gpu_metrics_off_removes_dcgm_and_dashboards(stack: str) -> None:
    base = plan_example(stack)
    off = plan_variant(stack, monitoring={"gpuMetrics": False})
    # The DCGM exporter release, its critical-pods quota and the two dashboards.
    assert count_diff(base, off) == Counter({"kubernetes:helm.sh/v3:Release": 1, "kubernetes:core/v1:ResourceQuota": 1, "kubernetes:core/v1:ConfigMap": 2})
    groups = release(off, charts.KUBE_PROMETHEUS_STACK.name).inputs["values"]["additionalPrometheusRulesMap"]["mlops-gpu"]["groups"]
    assert [g["name"] for g in groups] == ["mlops-gpu-capacity"]


@pytest.mark.parametrize("stack", VARIANT_STACKS)
def test_time_slicing_adds_exactly_the_plugin_config(stack: str) -> None:
    base = plan_example(stack)
    assert spec_value(stack, "gpu", {}).get("sharing", {}).get("mode", "none") == "none"
    shared = plan_variant(stack, gpu={"sharing": {"mode": "time-slicing", "replicas": 4}})
    plugin = releases(shared).get(charts.NVIDIA_DEVICE_PLUGIN.name)
    if plugin is None:
        # The cloud runs the device plugin: sharing is the cloud node pool's business.
        assert count_diff(shared, base) == Counter()
        return
    assert count_diff(shared, base) == Counter({"kubernetes:core/v1:ConfigMap": 1})
    (config,) = [c for c in shared.of_type("kubernetes:core/v1:ConfigMap") if c.inputs["metadata"]["name"] == SHARING_CONFIGMAP]
    assert config.inputs["metadata"]["namespace"] == plugin.inputs["namespace"]
    assert "replicas: 4" in config.inputs["data"]["default"] and "timeSlicing" in config.inputs["data"]["default"]
    assert plugin.inputs["values"]["config"] == {"name": SHARING_CONFIGMAP, "default": "default"}
    assert config.urn in plugin.dependencies


# --------------------------------------------------------------------------- operator


@pytest.mark.parametrize("stack", VARIANT_STACKS)
def test_gpu_operator_strategy(stack: str) -> None:
    gpu = {"driver": "operator", "sharing": {"mode": "time-slicing", "replicas": 2}}
    if stack.endswith("-gcp"):
        # GKE runs its own driver and device plugin on COS: the operator is refused (issue 11.6).
        with pytest.raises(ConfigError, match=r"^gpu\.driver: .operator. operator is not supported on GKE"):
            plan_variant(stack, gpu=gpu)
        return
    plan = plan_variant(stack, gpu=gpu)
    found = releases(plan)
    assert charts.NVIDIA_DEVICE_PLUGIN.name not in found
    assert charts.DCGM_EXPORTER.name not in found  # the operator runs its own
    op = found[charts.GPU_OPERATOR.name]
    assert op.inputs["version"] == charts.GPU_OPERATOR.version and op.inputs["namespace"] == "gpu-operator"
    values = op.inputs["values"]
    # driver/toolkit: off by default (test_k8s_units), a cloud whose images lack them turns them on.
    assert isinstance(values["driver"]["enabled"], bool) and isinstance(values["toolkit"]["enabled"], bool)
    assert values["daemonsets"]["tolerations"][0] == GPU_TOLERATION  # and the cloud's own GPU node taints
    assert values["node-feature-discovery"]["worker"]["nodeSelector"] == {"mlops-stack/accelerator": "nvidia"}
    assert values["dcgmExporter"]["enabled"] is True
    assert values["dcgmExporter"]["serviceMonitor"]["enabled"] is True and values["dcgmExporter"]["serviceMonitor"]["honorLabels"] is True
    # The operator's ServiceMonitor needs the Prometheus Operator CRDs first.
    assert release(plan, charts.KUBE_PROMETHEUS_STACK.name).urn in op.dependencies
    if values["devicePlugin"]["enabled"]:
        assert values["devicePlugin"]["config"]["name"] == SHARING_CONFIGMAP
    else:  # the cloud's plugin stays; no second one, no sharing config
        assert "config" not in values["devicePlugin"]


def test_gpu_operator_mig() -> None:
    stack = next((s for s in STACKS if s.startswith("prod-")), None)
    if stack is None:
        pytest.skip("no prod example stack")
    from mlops_stack.spec import MIG_CAPABLE

    mig_pools = [p for p in spec_value(stack, "cluster")["gpuPools"] if p["gpu"] in MIG_CAPABLE]
    if not mig_pools:
        pytest.skip("no MIG-capable pool in the prod example")
    cluster = {**spec_value(stack, "cluster"), "gpuPools": mig_pools}
    plan = plan_variant(stack, cluster=cluster, gpu={"driver": "operator", "sharing": {"mode": "mig", "migProfile": "all-1g.10gb"}})
    values = release(plan, charts.GPU_OPERATOR.name).inputs["values"]
    assert values["mig"] == {"strategy": "single"}
    assert values["migManager"] == {"enabled": True, "config": {"default": "all-1g.10gb"}}


# --------------------------------------------------------------------------- tenancy

TEAMS = [{"name": "team-vision", "gpuQuota": 8, "cpuQuota": 96, "memoryQuotaGb": 512}, {"name": "team-nlp"}]


@pytest.mark.parametrize("stack", VARIANT_STACKS)
def test_tenancy(stack: str) -> None:
    base = plan_variant(stack, namespaces=[])
    plan = plan_variant(stack, namespaces=TEAMS)
    tenancy = plan.one("mlops:k8s:Tenancy")
    assert count_diff(plan, base) == type_counts([tenancy, *descendants(plan, tenancy.urn)])
    assert type_counts(descendants(plan, tenancy.urn)) == Counter(
        {
            "kubernetes:core/v1:Namespace": 2,
            "kubernetes:core/v1:ResourceQuota": 2,
            "kubernetes:core/v1:LimitRange": 2,
            "kubernetes:networking.k8s.io/v1:NetworkPolicy": 8,
        }
    )
    quotas = {q.inputs["metadata"]["namespace"]: q.inputs["spec"]["hard"] for q in descendants(plan, tenancy.urn) if q.type.endswith(":ResourceQuota")}
    assert quotas["team-vision"] == {"requests.nvidia.com/gpu": "8", "requests.cpu": "96", "requests.memory": "512Gi"}
    assert quotas["team-nlp"] == {"requests.nvidia.com/gpu": "0", "requests.cpu": "64", "requests.memory": "256Gi"}
    policies = {
        (p.inputs["metadata"]["namespace"], p.inputs["metadata"]["name"]): p.inputs["spec"]
        for p in plan.of_type("kubernetes:networking.k8s.io/v1:NetworkPolicy")
    }
    deny = policies[("team-nlp", "default-deny")]
    assert deny == {"podSelector": {}, "policyTypes": ["Ingress", "Egress"]}
    dns = policies[("team-nlp", "allow-dns")]["egress"][0]
    assert dns["to"][0]["namespaceSelector"] == {"matchLabels": {"kubernetes.io/metadata.name": "kube-system"}}
    assert {"protocol": "UDP", "port": 53} in dns["ports"]
    scrape = policies[("team-nlp", "allow-monitoring")]["ingress"][0]["from"][0]
    assert scrape == {"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "monitoring"}}}
    limits = [r for r in descendants(plan, tenancy.urn) if r.type.endswith(":LimitRange")][0].inputs["spec"]["limits"][0]
    # Default requests (the quota needs them) and no default limit: a default limit makes a
    # container that requests more memory than it, and sets no limit, invalid (issue 11.7).
    assert limits == {"type": "Container", "defaultRequest": {"cpu": "250m", "memory": "512Mi"}}


@pytest.mark.parametrize("name", ["monitoring", "kube-system", "gpu-operator"])
def test_reserved_namespace_is_a_config_error(name: str) -> None:
    with pytest.raises(ConfigError, match="reserved"):
        plan_variant(STACKS[0], namespaces=[{"name": name}])


def test_no_cluster_no_layer() -> None:
    from k8s_helpers import variant

    config = variant(STACKS[0], cluster={"enabled": False, "gpuPools": []}, monitoring={"enabled": False}, namespaces=[])
    plan = plan_config(config)
    assert not [r for r in plan.resources if r.type.startswith(("kubernetes:", "mlops:k8s:", "random:"))]
