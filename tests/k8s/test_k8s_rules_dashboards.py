"""Alert rules and dashboards: present, parseable, and naming only metrics the exporters
actually export (or the layer's own recording rules built from them)."""

from __future__ import annotations

import json
import re
from pathlib import Path

import promql_parser
import pytest

from k8s_helpers import release, serves_on_cluster, spec_value
from planning import example_stacks, plan_example
from mlops_stack.k8s import alerts, charts
from mlops_stack.k8s.monitoring import DASHBOARD_FILES, DASHBOARD_LABEL, DASHBOARD_LABEL_VALUE, load_dashboard

#: DCGM metrics every exporter the layer can run exports by default: the counters the
#: pinned chart deploys AND those of the exporter image the pinned GPU Operator deploys
#: (tests/fixtures/dcgm-counters.json, read from NVIDIA/dcgm-exporter at those tags).
DCGM_COUNTERS = json.loads((Path(__file__).resolve().parents[1] / "fixtures" / "dcgm-counters.json").read_text())
DCGM_DEFAULT_METRICS = frozenset(DCGM_COUNTERS["chart"]["metrics"]) & frozenset(DCGM_COUNTERS["image"]["metrics"])
#: kube-state-metrics: kubernetes/kube-state-metrics docs/metrics/cluster/node-metrics.md and
#: docs/metrics/workload/pod-metrics.md (STABLE metrics).
KSM_METRICS = frozenset(
    {
        "kube_node_labels",
        "kube_node_info",
        "kube_node_status_allocatable",
        "kube_node_status_capacity",
        "kube_node_spec_taint",
        "kube_pod_status_phase",
        "kube_pod_info",
        "kube_pod_container_resource_requests",
        "kube_pod_container_resource_limits",
    }
)
EXPORTED = DCGM_DEFAULT_METRICS | KSM_METRICS

#: Grafana template variables, as a query sees them once Grafana has substituted them.
_GRAFANA_VARS = re.compile(r"\$\{?(\w+)\}?")


def parse(expr: str) -> promql_parser.Expr:
    """The PromQL AST of ``expr`` (Grafana ``$var`` replaced by a regex that matches all)."""
    return promql_parser.parse(_GRAFANA_VARS.sub(".*", expr))


def metric_names(expr: str) -> set[str]:
    """The metric (series) names a PromQL expression reads, from its parsed AST."""
    names: set[str] = set()

    def visit(node: object) -> bool:
        if isinstance(node, promql_parser.VectorSelector) and node.name:
            names.add(node.name)
        return True

    promql_parser.walk(parse(expr), visit)
    return names


def test_metric_name_parser() -> None:
    expr = 'sum by (pool) (rate(DCGM_FI_DEV_GPU_UTIL{node=~"$node"}[5m]) * on (node) group_left (pool) mlops:node_pool) > 0.5'
    assert metric_names(expr) == {"DCGM_FI_DEV_GPU_UTIL", "mlops:node_pool"}
    with pytest.raises(ValueError):
        parse("sum by (pool (DCGM_FI_DEV_GPU_UTIL)")


def test_dcgm_counters_are_from_the_pinned_exporters() -> None:
    """The counters file is the pinned chart's and the operator's exporter image's."""
    assert DCGM_COUNTERS["chart"]["tag"].endswith("-" + charts.DCGM_EXPORTER.version)
    assert re.fullmatch(r"[0-9a-f]{40}", DCGM_COUNTERS["chart"]["commit"]) and re.fullmatch(r"[0-9a-f]{40}", DCGM_COUNTERS["image"]["commit"])
    operator = json.loads((Path(__file__).resolve().parents[1] / "fixtures" / "charts" / f"gpu-operator-{charts.GPU_OPERATOR.version}.json").read_text())
    assert DCGM_COUNTERS["image"]["tag"] in operator["keys"]["dcgmExporter.version"]["default"]
    assert {"DCGM_FI_DEV_GPU_UTIL", "DCGM_FI_DEV_FB_USED", "DCGM_FI_DEV_XID_ERRORS"} <= DCGM_DEFAULT_METRICS


def all_expressions(stack: str) -> list[tuple[str, str]]:
    """Every PromQL expression a stack ships: rule expressions and dashboard queries."""
    out = [(r.get("alert") or r["record"], r["expr"]) for g in rule_groups(stack) for r in g["rules"]]
    for role in DASHBOARD_FILES:
        board = json.loads(load_dashboard(role))
        out += [(f"{role}/{p['title']}", t["expr"]) for p in board["panels"] for t in p.get("targets", [])]
        out += [(f"{role}/${v['name']}", re.fullmatch(r"label_values\((.*),\s*\w+\)", v["query"]["query"]).group(1))
                for v in board["templating"]["list"] if v["type"] == "query"]
    return out


@pytest.mark.parametrize("stack", example_stacks())
def test_every_expression_parses_and_reads_only_exported_dcgm_metrics(stack: str) -> None:
    for name, expr in all_expressions(stack):
        names = metric_names(expr)  # raises on a PromQL syntax error
        dcgm = {n for n in names if n.startswith("DCGM_")}
        assert dcgm <= DCGM_DEFAULT_METRICS, f"{name}: {sorted(dcgm - DCGM_DEFAULT_METRICS)} not exported by default"


def test_node_pool_rule_counts_gpu_pools_only() -> None:
    """The system pool carries mlops-stack/pool too: the pool series select GPU nodes only."""
    groups = alerts.rule_groups([alerts.PoolFacts("train", 4)], gpu_metrics=True)
    (node_pool,) = [r for r in alerts.records(groups) if r["record"] == alerts.NODE_POOL]
    selectors: list[promql_parser.VectorSelector] = []
    promql_parser.walk(parse(node_pool["expr"]), lambda n: selectors.append(n) if isinstance(n, promql_parser.VectorSelector) else None)
    (labels,) = selectors
    assert labels.name == "kube_node_labels"
    assert 'label_mlops_stack_accelerator="nvidia"' in str(labels)


def rule_groups(stack: str) -> list[dict]:
    values = release(plan_example(stack), charts.KUBE_PROMETHEUS_STACK.name).inputs["values"]
    return values["additionalPrometheusRulesMap"]["mlops-gpu"]["groups"]


@pytest.mark.parametrize("stack", example_stacks())
def test_alerts_present(stack: str) -> None:
    names = {r["alert"] for r in alerts.alerts(rule_groups(stack))}
    assert names == {"GpuXidError", "GpuXidFatal", "GpuTemperatureHigh", "GpuMemoryPressure", "GpuPodPendingTooLong", "GpuPoolAtMaximum"}
    for rule in alerts.alerts(rule_groups(stack)):
        assert rule["labels"]["severity"] in {"warning", "critical"}
        assert rule["annotations"]["summary"]


@pytest.mark.parametrize("stack", example_stacks())
def test_every_rule_names_exported_metrics(stack: str) -> None:
    groups = rule_groups(stack)
    recorded = {r["record"] for r in alerts.records(groups)}
    for rule in (r for g in groups for r in g["rules"]):
        names = metric_names(rule["expr"])
        unknown = names - EXPORTED - recorded
        assert not unknown, f"{rule.get('alert') or rule.get('record')}: {unknown}"
    # Recording rules bottom out in exporter metrics (or are constants: pool maxima).
    for rule in alerts.records(groups):
        if rule["record"] != alerts.POOL_MAX_NODES:
            assert _resolves(rule["record"], groups), rule


def _resolves(name: str, groups: list[dict], seen: frozenset[str] = frozenset()) -> bool:
    rules = [r for r in alerts.records(groups) if r["record"] == name]
    for rule in rules:
        names = metric_names(rule["expr"])
        if names & EXPORTED:
            return True
        if any(_resolves(n, groups, seen | {name}) for n in names - seen - {name}):
            return True
    return False


@pytest.mark.parametrize("stack", example_stacks())
def test_pool_maximum_is_known_to_prometheus(stack: str) -> None:
    pools = spec_value(stack, "cluster")["gpuPools"]
    maxima = {r["labels"]["pool"]: r["expr"] for r in alerts.records(rule_groups(stack)) if r["record"] == alerts.POOL_MAX_NODES}
    assert maxima == {p["name"]: f"vector({p['maxNodes']})" for p in pools}


def test_pending_and_memory_expressions() -> None:
    groups = alerts.rule_groups([alerts.PoolFacts("train", 4)], gpu_metrics=True)
    by_alert = {r["alert"]: r["expr"] for r in alerts.alerts(groups)}
    pending = by_alert["GpuPodPendingTooLong"]
    assert 'kube_pod_status_phase{phase="Pending"}' in pending
    assert 'kube_pod_container_resource_requests{resource="nvidia_com_gpu"}' in pending
    assert by_alert["GpuMemoryPressure"].startswith("DCGM_FI_DEV_FB_USED / (DCGM_FI_DEV_FB_USED + DCGM_FI_DEV_FB_FREE)")
    assert "DCGM_FI_DEV_XID_ERRORS == 79" in by_alert["GpuXidFatal"]
    # Without DCGM only the capacity rules remain; without pools nothing.
    assert [g["name"] for g in alerts.rule_groups([alerts.PoolFacts("train", 4)], gpu_metrics=False)] == ["mlops-gpu-capacity"]
    assert alerts.rule_groups([], gpu_metrics=True) == []


@pytest.mark.parametrize("role", sorted(DASHBOARD_FILES))
def test_packaged_dashboards(role: str) -> None:
    board = json.loads(load_dashboard(role))
    assert board["uid"].startswith("mlops-") and board["title"].startswith("mlops-stack / ")
    panels = [p for p in board["panels"] if p["type"] != "row"]
    assert panels
    assert len({p["id"] for p in board["panels"]}) == len(board["panels"])
    recorded = {r["record"] for r in alerts.records(alerts.rule_groups([alerts.PoolFacts("x", 1)], gpu_metrics=True))}
    for panel in panels:
        assert panel["datasource"]["uid"] == "${datasource}"
        assert panel["targets"]
        for target in panel["targets"]:
            unknown = metric_names(target["expr"]) - EXPORTED - recorded
            assert not unknown, f"{panel['title']}: {unknown}"
    for var in board["templating"]["list"]:
        if var["type"] == "query":
            selector = re.fullmatch(r"label_values\((.*),\s*\w+\)", var["query"]["query"])
            assert selector, var["query"]
            assert metric_names(selector.group(1)) and not (metric_names(selector.group(1)) - EXPORTED - recorded)


def test_overview_dashboard_covers_the_brief() -> None:
    board = json.loads(load_dashboard("gpu-overview"))
    titles = {p["title"] for p in board["panels"]}
    assert {
        "GPU utilisation by pool",
        "GPU memory used by pool",
        "GPU utilisation by namespace",
        "GPU memory used by namespace",
        "Pending GPU pods by namespace",
        "Nodes against the pool maximum",
    } <= titles
    exprs = " ".join(t["expr"] for p in board["panels"] for t in p.get("targets", []))
    assert alerts.POOL_MAX_NODES in exprs and alerts.POOL_NODES in exprs


@pytest.mark.parametrize("stack", example_stacks())
def test_dashboards_are_configmaps_the_sidecar_loads(stack: str) -> None:
    plan = plan_example(stack)
    maps = plan.of_type("kubernetes:core/v1:ConfigMap")
    dashboards = [m for m in maps if m.inputs["metadata"].get("labels", {}).get(DASHBOARD_LABEL) == DASHBOARD_LABEL_VALUE]
    # The GPU dashboards, and the cluster endpoints' dashboard when the stack has some.
    assert len(dashboards) == len(DASHBOARD_FILES) + (1 if serves_on_cluster(plan) else 0)
    for cm in dashboards:
        assert cm.inputs["metadata"]["namespace"] == "monitoring"
        (text,) = cm.inputs["data"].values()
        assert json.loads(text)["panels"]
