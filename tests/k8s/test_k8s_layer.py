"""The k8s layer in the example plans of every cloud that has landed: components, pinned
charts, the values that matter, and the common monitoring outputs."""

from __future__ import annotations

import json

import pytest

from k8s_helpers import RELEASE, SERVING_NAMESPACES, release, releases, serves_on_cluster, spec_value
from planning import example_stacks, plan_example
from mlops_stack.args import GPU_TAINT_EFFECT, GPU_TAINT_KEY, gpu_pool_labels
from mlops_stack.k8s import charts
from mlops_stack.k8s._common import ACCELERATOR_LABEL, ACCELERATOR_VALUE, KSM_POOL_LABEL
from mlops_stack.k8s.monitoring import GRAFANA_ADMIN_SECRET, KPS_RELEASE
from mlops_stack.offline.engine import Plan

STACKS = example_stacks()
GPU_TOLERATION = {"key": GPU_TAINT_KEY, "operator": "Exists", "effect": GPU_TAINT_EFFECT}


@pytest.fixture(params=STACKS)
def stack(request: pytest.FixtureRequest) -> str:
    return request.param


def kps_values(plan: Plan) -> dict:
    return release(plan, charts.KUBE_PROMETHEUS_STACK.name).inputs["values"]


def assert_gpu_nodes_only(values: dict) -> None:
    """Tolerates the GPU taint and is pinned to GPU pool nodes."""
    assert GPU_TOLERATION in values["tolerations"]
    assert values["nodeSelector"] == {ACCELERATOR_LABEL: ACCELERATOR_VALUE}
    terms = values["affinity"]["nodeAffinity"]["requiredDuringSchedulingIgnoredDuringExecution"]["nodeSelectorTerms"]
    assert terms == [{"matchExpressions": [{"key": ACCELERATOR_LABEL, "operator": "In", "values": [ACCELERATOR_VALUE]}]}]


def test_gpu_pools_carry_the_label_the_layer_selects_on() -> None:
    assert gpu_pool_labels("train", "nvidia-l4", 1)[ACCELERATOR_LABEL] == ACCELERATOR_VALUE
    assert KSM_POOL_LABEL == "label_mlops_stack_pool"


def test_components_and_provider(stack: str) -> None:
    plan = plan_example(stack)
    assert len(plan.of_type("mlops:k8s:Monitoring")) == 1
    assert len(plan.of_type("mlops:k8s:GpuEnablement")) == 1
    # Every Kubernetes object goes through the cluster component's own provider.
    providers = plan.of_type("pulumi:providers:kubernetes")
    assert len(providers) == 1
    cluster = plan.by_urn()[providers[0].parent]
    assert cluster.type.endswith(":KubernetesCluster")
    k8s_objects = [r for r in plan.resources if r.type.startswith("kubernetes:")]
    assert k8s_objects
    assert all(r.provider.startswith(providers[0].urn + "::") for r in k8s_objects)
    # ... and the layer's components hang under the stack, not under a cloud component.
    stack_urn = plan.one("mlops:index:MlopsStack").urn
    for kind in ("Monitoring", "GpuEnablement"):
        assert plan.one(f"mlops:k8s:{kind}").parent == stack_urn


def test_charts_are_pinned(stack: str) -> None:
    plan = plan_example(stack)
    found = releases(plan)
    assert {charts.KUBE_PROMETHEUS_STACK.name, charts.DCGM_EXPORTER.name} <= set(found)
    # The device plugin only where the cloud does not run its own (cluster.needs_device_plugin).
    # Cluster serving's charts exactly when the stack has a runsOn: cluster endpoint.
    serving = {c.name for c in charts.SERVING}
    assert (serving <= set(found)) is serves_on_cluster(plan)
    # metrics-server only with cluster endpoints on a cluster that lacks metrics.k8s.io.
    assert set(found) - {charts.KUBE_PROMETHEUS_STACK.name, charts.DCGM_EXPORTER.name} - serving <= {charts.NVIDIA_DEVICE_PLUGIN.name, charts.METRICS_SERVER.name}
    if charts.METRICS_SERVER.name in found:
        assert serves_on_cluster(plan)
    by_name = {c.name: c for c in (*charts.ALL, *charts.SERVING, charts.METRICS_SERVER)}
    for name, reg in found.items():
        chart = by_name[name]
        assert reg.inputs["version"] == chart.version
        if chart.repo.startswith("oci://"):
            assert reg.inputs["chart"] == f"{chart.repo}/{chart.name}" and "repositoryOpts" not in reg.inputs
        else:
            assert reg.inputs["repositoryOpts"]["repo"] == chart.repo
        assert reg.inputs["atomic"] is True
        assert reg.inputs.get("createNamespace") is False
        assert reg.outputs["status"]["status"] == "deployed"


def test_chart_versions_are_exact() -> None:
    for chart in charts.ALL:
        assert chart.version.lstrip("v").replace(".", "").isdigit(), chart
        assert chart.repo.startswith("https://")
    # DCGM exporter 4.9 renames the metrics alerts.py and the dashboards use.
    major, minor, _ = (int(x) for x in charts.DCGM_EXPORTER.version.split("."))
    assert (major, minor) < (4, 9)


def test_prometheus_retention_storage_and_discovery(stack: str) -> None:
    plan = plan_example(stack)
    mon = spec_value(stack, "monitoring", {})
    spec = kps_values(plan)["prometheus"]["prometheusSpec"]
    assert spec["retention"] == f"{mon.get('retentionDays', 15)}d"
    size = mon.get("storageGb", 50)
    claim = spec["storageSpec"]["volumeClaimTemplate"]["spec"]
    assert claim["resources"]["requests"]["storage"] == f"{size}Gi"
    assert int(spec["retentionSize"].removesuffix("GB")) < size
    # The PVCs use the StorageClass the layer created from the cluster's storage_class.
    storage_class = plan.one("kubernetes:storage.k8s.io/v1:StorageClass", "mlops-k8s-monitoring-storage-class")
    assert claim["storageClassName"] == storage_class.inputs["metadata"]["name"]
    assert storage_class.inputs["provisioner"]
    assert storage_class.inputs["volumeBindingMode"] == "WaitForFirstConsumer"
    assert storage_class.inputs["reclaimPolicy"] == ("Retain" if stack.startswith("prod") else "Delete")
    values = kps_values(plan)
    assert values["grafana"]["persistence"]["storageClassName"] == claim["storageClassName"]
    assert values["alertmanager"]["alertmanagerSpec"]["storage"]["volumeClaimTemplate"]["spec"]["storageClassName"] == claim["storageClassName"]
    # ServiceMonitors, PodMonitors, rules and probes from every namespace and release.
    for kind in ("serviceMonitor", "podMonitor", "rule", "probe", "scrapeConfig"):
        assert spec[f"{kind}SelectorNilUsesHelmValues"] is False
    for kind in ("serviceMonitor", "podMonitor", "rule"):
        assert spec[f"{kind}NamespaceSelector"] == {}
        assert spec[f"{kind}Selector"] == {}


def test_grafana_private_with_secret_password(stack: str) -> None:
    plan = plan_example(stack)
    grafana = kps_values(plan)["grafana"]
    assert grafana["service"]["type"] == "ClusterIP"
    assert "adminPassword" not in grafana
    assert grafana["admin"] == {"existingSecret": GRAFANA_ADMIN_SECRET, "userKey": "admin-user", "passwordKey": "admin-password"}
    (secret,) = [r for r in plan.of_type("kubernetes:core/v1:Secret") if r.inputs["metadata"]["name"] == GRAFANA_ADMIN_SECRET]
    assert secret.inputs["metadata"]["namespace"] == "monitoring"
    assert secret.inputs["stringData"] == "[secret]"
    assert grafana["sidecar"]["dashboards"]["enabled"] is True
    assert plan.one("random:index/randomPassword:RandomPassword", "mlops-k8s-monitoring-grafana-admin-password").inputs["length"] >= 24


def test_kube_state_metrics_exports_pool_labels(stack: str) -> None:
    allow = kps_values(plan_example(stack))["kube-state-metrics"]["metricLabelsAllowlist"]
    assert allow == ["nodes=[mlops-stack/pool,mlops-stack/gpu,mlops-stack/accelerator]"]


def tracking_namespace(plan: Plan) -> set[str]:
    """The self-hosted MLflow server's namespace, when the stack runs one (docs/tracking.md)."""
    return {"mlflow"} if plan.of_type("mlops:k8s:Tracking") else set()


def device_plugin_or_skip(plan: Plan):
    found = releases(plan).get(charts.NVIDIA_DEVICE_PLUGIN.name)
    if found is None:
        # The cloud runs the plugin: then the layer installs no GPU namespace at all.
        serving = SERVING_NAMESPACES if serves_on_cluster(plan) else set()
        assert {r.inputs["metadata"]["name"] for r in plan.of_type("kubernetes:core/v1:Namespace")} == {"monitoring"} | serving | tracking_namespace(plan)
        pytest.skip("this cluster's cloud runs the NVIDIA device plugin (needs_device_plugin=False)")
    return found


def test_device_plugin_runs_on_gpu_nodes_only(stack: str) -> None:
    values = device_plugin_or_skip(plan_example(stack)).inputs["values"]
    assert_gpu_nodes_only(values)
    assert values["priorityClassName"] == "system-node-critical"
    assert "config" not in values  # sharing "none" in the example stacks


def test_dcgm_exporter_on_gpu_nodes_with_service_monitor(stack: str) -> None:
    plan = plan_example(stack)
    dcgm = release(plan, charts.DCGM_EXPORTER.name)
    values = dcgm.inputs["values"]
    assert_gpu_nodes_only(values)
    monitor = values["serviceMonitor"]
    assert monitor["enabled"] is True
    assert monitor["honorLabels"] is True  # keep the GPU workload's namespace/pod labels
    assert {"sourceLabels": ["__meta_kubernetes_pod_node_name"], "targetLabel": "node", "action": "replace"} in monitor["relabelings"]
    assert dcgm.inputs["namespace"] == "monitoring"
    # Its ServiceMonitor needs the Prometheus Operator CRDs: installed after the stack.
    assert release(plan, charts.KUBE_PROMETHEUS_STACK.name).urn in dcgm.dependencies


def test_namespaces(stack: str) -> None:
    plan = plan_example(stack)
    device_plugin_or_skip(plan)
    names = {r.inputs["metadata"]["name"]: r for r in plan.of_type("kubernetes:core/v1:Namespace")}
    teams = {n["name"] for n in json.loads(plan.config.get("mlops-stack:namespaces", "[]"))}
    serving = SERVING_NAMESPACES if serves_on_cluster(plan) else set()
    assert set(names) == {"monitoring", "nvidia-device-plugin"} | teams | serving | tracking_namespace(plan)
    assert names["monitoring"].inputs["metadata"]["labels"]["pod-security.kubernetes.io/enforce"] == "privileged"
    quota = next(q for q in plan.of_type("kubernetes:core/v1:ResourceQuota") if q.inputs["metadata"]["namespace"] == "nvidia-device-plugin")
    scope = quota.inputs["spec"]["scopeSelector"]["matchExpressions"][0]
    assert scope["scopeName"] == "PriorityClass" and "system-node-critical" in scope["values"]


def test_monitoring_outputs(stack: str) -> None:
    out = plan_example(stack).outputs
    assert out["grafana_url"] == "http://grafana.monitoring.svc.cluster.local:80"
    assert out["prometheus_url"] == f"http://{KPS_RELEASE}-prometheus.monitoring.svc.cluster.local:9090"


def test_every_release_is_a_child_of_a_layer_component(stack: str) -> None:
    plan = plan_example(stack)
    urns = plan.by_urn()
    for reg in plan.of_type(RELEASE):
        parent = urns[reg.parent].type
        # The layer's releases, or a cloud cluster's own add-on (EKS: the Cluster Autoscaler).
        assert parent.startswith("mlops:k8s:") or parent.endswith(":KubernetesCluster"), (reg.name, parent)
