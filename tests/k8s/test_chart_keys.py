"""Every Helm value the plans set is a value the pinned chart reads, with the chart's type,
without dropping a chart default by accident, and - where Helm merges maps - stating the
whole map it means.

The chart facts are test data derived from each chart's source at its release tag
(``tests/fixtures/charts/<chart>-<version>.json``, written by ``scripts/chart_keys.py``:
values.yaml of the chart and its subcharts, and the ``.Values`` paths its templates read).
The plans walked: every example stack, plus per cloud the variants that change chart
values (time-slicing, MIG, the GPU Operator, GPU Operator with MIG, every Kubernetes minor
of the Cluster Autoscaler table).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from datetime import UTC, datetime
from functools import cache
from pathlib import Path
from typing import Any

import pytest

from k8s_helpers import RELEASE, plan_variant, spec_value
from planning import example_stacks, plan_example
from mlops_stack import catalog
from mlops_stack.aws.cluster import cluster_autoscaler_values
from mlops_stack.catalog.mig import MIG_PROFILES
from mlops_stack.errors import ConfigError
from mlops_stack.k8s import charts
from mlops_stack.offline.engine import Plan

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "charts"
STACKS = example_stacks()
#: Maps whose every key we mean when we set any: Helm merges our map into the chart's, so a
#: chart default we do not repeat (the DCGM chart's CPU limit, the autoscaler's ``v: 4``) stays.
OWNED_MAPS = ("resources", "resources.limits", "resources.requests", "extraArgs")
#: Lists where replacing the chart's non-empty default is the point, with the reason.
REPLACED_ON_PURPOSE = {
    ("dcgm-exporter", "tolerations"): "the chart tolerates control-plane nodes; the exporter belongs on GPU pool nodes only",
    ("gpu-operator", "daemonsets.tolerations"): "the chart's default is the nvidia.com/gpu taint alone; ours adds the cloud's GPU node taints",
    ("gpu-operator", "node-feature-discovery.worker.tolerations"): "the worker runs on GPU pool nodes only (nodeSelector), with their taints",
    ("nvidia-device-plugin", "affinity.nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution.nodeSelectorTerms"): (
        "the chart's terms select on NFD/GFD labels our clusters do not run; ours select the GPU pool label"
    ),
}


@cache
def chart_facts(chart: str, version: str) -> dict[str, Any]:
    path = FIXTURES / f"{chart}-{version}.json"
    assert path.exists(), f"no key-path data for {chart} {version}: run scripts/chart_keys.py at the chart's release tag"
    return json.loads(path.read_text(encoding="utf-8"))


def pinned_charts() -> list[charts.Chart]:
    return [*charts.ALL, *charts.SERVING, charts.METRICS_SERVER, *(r.chart for r in charts.CLUSTER_AUTOSCALER.values())]


def chart_name(reference: str) -> str:
    """The chart's name in a Release's ``chart`` input (an OCI chart is its full reference)."""
    return reference.rsplit("/", 1)[-1]


@pytest.mark.parametrize("chart", pinned_charts(), ids=lambda c: f"{c.name}-{c.version}")
def test_every_pinned_chart_has_key_data_from_its_release_tag(chart: charts.Chart) -> None:
    facts = chart_facts(chart.name, chart.version)
    assert (facts["chart"], facts["version"]) == (chart.name, chart.version)
    main = facts["sources"][0]
    assert re.fullmatch(r"[\w.-]+/[\w.-]+", main["repo"]) and re.fullmatch(r"[0-9a-f]{40}", main["commit"])
    assert main["tag"].endswith(chart.version.lstrip("v")), main["tag"]
    # kserve-crd is CRDs only: its values.yaml is empty (the plans pass it no values).
    assert len(facts["keys"]) > 20 or (chart == charts.KSERVE_CRD and facts["keys"] == {})


# --------------------------------------------------------------------------- the walk


def leaves(values: Any, prefix: str = "") -> Iterator[tuple[str, Any]]:
    """``(path, value)`` of every key the values set (maps recursed, lists and scalars leaves)."""
    for key, value in values.items():
        path = f"{prefix}{key}"
        yield path, value
        if isinstance(value, dict):
            yield from leaves(value, path + ".")


def _type_ok(expected: str, value: Any) -> bool:
    return {
        "map": lambda v: isinstance(v, dict),
        "list": lambda v: isinstance(v, list),
        "str": lambda v: isinstance(v, str),
        "bool": lambda v: isinstance(v, bool),
        "int": lambda v: isinstance(v, int) and not isinstance(v, bool),
        "float": lambda v: isinstance(v, (int, float)) and not isinstance(v, bool),
    }.get(expected, lambda v: True)(value)


def _under_free(path: str, free: set[str]) -> bool:
    parts = path.split(".")
    return any(".".join(parts[:i]) in free for i in range(1, len(parts)))


def problems(chart: str, version: str, values: dict[str, Any]) -> list[str]:
    """What is wrong with ``values`` for the chart at ``version`` (empty: nothing)."""
    facts = chart_facts(chart, version)
    keys, free = facts["keys"], set(facts["free"])
    out: list[str] = []
    unknown: list[str] = []
    for path, value in leaves(values):
        known = keys.get(path)
        if known is None:
            if not _under_free(path, free) and not any(path.startswith(u + ".") for u in unknown):
                unknown.append(path)
                out.append(f"{path}: the chart does not read this key")
            continue
        if not _type_ok(known["type"], value):
            out.append(f"{path}: the chart's default is a {known['type']}, the plan sets {type(value).__name__}")
        default = known.get("default")
        if isinstance(value, list) and isinstance(default, list) and default:
            missing = [d for d in default if d not in value]
            if missing and (chart, path) not in REPLACED_ON_PURPOSE:
                out.append(f"{path}: replaces the chart's default list and drops {missing}")
        if isinstance(value, dict) and (path in OWNED_MAPS or path.endswith(tuple("." + m for m in OWNED_MAPS))):
            children = {k[len(path) + 1 :].split(".")[0] for k in keys if k.startswith(path + ".")}
            defaults = {c for c in children if keys[f"{path}.{c}"].get("default") is not None or keys[f"{path}.{c}"]["type"] == "map"}
            kept = sorted(defaults - set(value))
            if kept:
                out.append(f"{path}: Helm keeps the chart's {kept} under the map set here; state them")
    return out


def helm_values(plan: Plan) -> Iterator[tuple[str, str, str, dict[str, Any]]]:
    for r in plan.of_type(RELEASE):
        yield r.name, chart_name(r.inputs["chart"]), r.inputs["version"], r.inputs.get("values") or {}


def _dev(cloud: str) -> str:
    found = [s for s in STACKS if s.endswith("-" + cloud)]
    return sorted(found)[0]


def _mig_cluster(stack: str) -> dict[str, Any]:
    cluster = spec_value(stack, "cluster")
    return {**cluster, "gpuPools": [{"name": "mig", "gpu": "nvidia-a100-80gb", "gpusPerNode": 1 if not stack.endswith("-aws") else 8, "maxNodes": 2}]}


def variants() -> list[tuple[str, dict[str, Any]]]:
    """(stack, spec changes) of every plan the walk covers besides the example stacks."""
    out: list[tuple[str, dict[str, Any]]] = []
    clouds = sorted({s.rsplit("-", 1)[-1] for s in STACKS})
    for cloud in clouds:
        stack = _dev(cloud)
        out.append((stack, {"gpu": {"sharing": {"mode": "time-slicing", "replicas": 4}}}))
        mig = {"mode": "mig", "migProfile": "all-1g.10gb"}
        if cloud != "aws":  # EKS partitions only through the operator (ConfigError otherwise)
            out.append((stack, {"cluster": _mig_cluster(stack), "gpu": {"sharing": mig}}))
        if cloud != "gcp":  # GKE refuses the operator (ConfigError)
            out.append((stack, {"gpu": {"driver": "operator"}}))
            out.append((stack, {"gpu": {"driver": "operator", "sharing": {"mode": "time-slicing", "replicas": 2}}}))
            out.append((stack, {"cluster": _mig_cluster(stack), "gpu": {"driver": "operator", "sharing": mig}}))
    if "aws" in clouds:
        for minor in planned_minors():
            out.append((_dev("aws"), {"cluster": {**spec_value(_dev("aws"), "cluster"), "version": minor}}))
    return out


def planned_minors() -> list[str]:
    """Minors of the autoscaler table a plan accepts today (the others are past their
    standard support on EKS: the spec refuses them before the autoscaler is looked up)."""
    today = datetime.now(UTC).date()
    return [m for m in charts.CLUSTER_AUTOSCALER if m in {v.minor for v in catalog.standard_support_minors("aws", today)}]


def _plans() -> Iterator[tuple[str, Plan]]:
    for stack in STACKS:
        yield stack, plan_example(stack)
    for stack, changes in variants():
        yield f"{stack} {json.dumps(changes, sort_keys=True)}", plan_variant(stack, **changes)


def test_variants_cover_every_chart_version() -> None:
    seen = {(chart, version) for _label, plan in _plans() for _n, chart, version, _v in helm_values(plan)}
    planned = {charts.CLUSTER_AUTOSCALER[m].chart for m in planned_minors()}
    assert seen == {(c.name, c.version) for c in pinned_charts() if c.name != "cluster-autoscaler" or c in planned}


@pytest.mark.parametrize("minor", sorted(charts.CLUSTER_AUTOSCALER))
def test_autoscaler_values_of_every_table_row_fit_its_chart(minor: str) -> None:
    """Every row, also one no plan reaches today (a minor past EKS standard support)."""
    release = charts.CLUSTER_AUTOSCALER[minor]
    values = cluster_autoscaler_values("mlops-dev", "us-east-1", release, "arn:aws:iam::123456789012:role/ca")
    assert problems(release.chart.name, release.chart.version, values) == []


def test_every_key_the_plans_set_is_read_by_the_pinned_chart() -> None:
    found: list[str] = []
    for label, plan in _plans():
        for name, chart, version, values in helm_values(plan):
            found += [f"{label}: {name} ({chart} {version}) {p}" for p in problems(chart, version, values)]
    assert not found, "\n".join(sorted(set(found)))


# --------------------------------------------------------------------------- the checker itself


def test_the_checker_finds_each_kind_of_mistake() -> None:
    """Negative controls on the real chart data: a misspelt key, a wrong type, a dropped
    default list item, a partly stated owned map - and what the old code set."""
    dcgm = charts.DCGM_EXPORTER.version
    assert problems("dcgm-exporter", dcgm, {"serviceMonitr": {"enabled": True}}) == ["serviceMonitr: the chart does not read this key"]
    assert problems("dcgm-exporter", dcgm, {"serviceMonitor": {"enabled": "true"}}) == [
        "serviceMonitor.enabled: the chart's default is a bool, the plan sets str"
    ]
    assert problems("dcgm-exporter", dcgm, {"extraVolumeMounts": [{"name": "x", "mountPath": "/x"}]})[0].startswith(
        "extraVolumeMounts: replaces the chart's default list and drops"
    )
    # The old DCGM resources: the chart's 200m CPU limit stayed under them (issue 11.8).
    old = {"resources": {"requests": {"cpu": "100m", "memory": "256Mi"}, "limits": {"memory": "1Gi"}}}
    assert problems("dcgm-exporter", dcgm, old) == ["resources.limits: Helm keeps the chart's ['cpu'] under the map set here; state them"]
    # The old autoscaler extraArgs: the chart's v: 4 stayed (issue 11.8).
    ca = charts.CLUSTER_AUTOSCALER["1.35"].chart.version
    old_args = {"extraArgs": {"balance-similar-node-groups": True, "expander": "least-waste", "skip-nodes-with-system-pods": False}}
    assert problems("cluster-autoscaler", ca, old_args) == [
        "extraArgs: Helm keeps the chart's ['logtostderr', 'stderrthreshold', 'v'] under the map set here; state them"
    ]
    # Subcharts are checked with their own values (grafana, kube-state-metrics, node-feature-discovery).
    kps = charts.KUBE_PROMETHEUS_STACK.version
    assert problems("kube-prometheus-stack", kps, {"grafana": {"admin": {"existingSecrett": "x"}}, "prometheus": {"prometheusSpec": {"retentionn": "1d"}}}) == [
        "grafana.admin.existingSecrett: the chart does not read this key",
        "prometheus.prometheusSpec.retentionn: the chart does not read this key",
    ]
    assert problems("gpu-operator", charts.GPU_OPERATOR.version, {"node-feature-discovery": {"workerr": {}}}) == [
        "node-feature-discovery.workerr: the chart does not read this key"
    ]
    # Free-form maps accept any key; keys under a chart default list are not checked.
    assert problems("dcgm-exporter", dcgm, {"nodeSelector": {"anything/at-all": "x"}, "podAnnotations": {"a": "b"}}) == []


def test_old_gke_dcgm_override_would_drop_the_counters_mount() -> None:
    """Issue 11.3: the GKE driver mount replaced the chart's counters mount."""
    gke_old = {"extraVolumeMounts": [{"name": "nvidia-install-dir-host", "mountPath": "/usr/local/nvidia", "readOnly": True}]}
    (problem,) = problems("dcgm-exporter", charts.DCGM_EXPORTER.version, gke_old)
    assert "exporter-metrics-volume" in problem


# --------------------------------------------------------------------------- the autoscaler table


def test_autoscaler_table_matches_the_charts_it_pins() -> None:
    """Each minor's chart was built for that minor (appVersion), grants the RBAC autoscaler
    >= 1.32 waits on (volumeattachments: kubernetes/autoscaler issue 7663), and the image is
    a patch release of that minor."""
    assert {"1.33", "1.34", "1.35"} <= set(charts.CLUSTER_AUTOSCALER)
    for minor, release in charts.CLUSTER_AUTOSCALER.items():
        source = chart_facts(release.chart.name, release.chart.version)["sources"][0]
        assert source["appVersion"].startswith(minor + "."), (minor, source["appVersion"])
        assert "volumeattachments" in source["clusterRoleResources"], minor
        assert re.fullmatch(rf"v{re.escape(minor)}\.\d+", release.image_tag), release.image_tag
        assert release.chart.version in release.source and release.image_tag.lstrip("v") in release.source


def test_every_supported_eks_minor_has_an_autoscaler_or_a_stated_reason() -> None:
    """Every minor EKS supports today (the version table, aws/catalog) plans with the
    autoscaler built for it, or is refused with the reason in CLUSTER_AUTOSCALER_PENDING."""
    if not any(s.endswith("-aws") for s in STACKS):
        pytest.skip("no aws example")
    stack = _dev("aws")
    minors = [v.minor for v in catalog.standard_support_minors("aws", datetime.now(UTC).date())]
    assert minors
    for minor in minors:
        assert minor in charts.CLUSTER_AUTOSCALER or minor in charts.CLUSTER_AUTOSCALER_PENDING, minor
        changes = {"cluster": {**spec_value(stack, "cluster"), "version": minor}}
        if minor in charts.CLUSTER_AUTOSCALER_PENDING:
            with pytest.raises(ConfigError) as err:
                plan_variant(stack, **changes)
            assert str(err.value).startswith(f"cluster.version: '{minor}' has no Cluster Autoscaler release built for it")
            continue
        plan = plan_variant(stack, **changes)
        (ca,) = [r for r in plan.of_type(RELEASE) if r.inputs["chart"] == "cluster-autoscaler"]
        expected = charts.CLUSTER_AUTOSCALER[minor]
        assert (ca.inputs["version"], ca.inputs["values"]["image"]["tag"]) == (expected.chart.version, expected.image_tag)
        assert plan.one("aws:eks/cluster:Cluster").inputs["version"] == minor


@pytest.mark.parametrize("minor", ["1.31", "1.32", "1.36", "1.99"])
def test_a_minor_without_an_autoscaler_release_is_a_config_error(minor: str) -> None:
    """The rule itself (the version table may refuse a minor earlier in a plan)."""
    with pytest.raises(ConfigError) as err:
        charts.cluster_autoscaler(minor)
    message = str(err.value)
    assert message.startswith(f"cluster.version: '{minor}' has no Cluster Autoscaler release built for it")
    assert message.endswith(f"(supported: {', '.join(charts.CLUSTER_AUTOSCALER)})")


def test_mig_profiles_known_for_the_variants() -> None:
    assert "1g.10gb" in MIG_PROFILES["nvidia-a100-80gb"]
