"""Cluster endpoints (``runsOn: cluster``): KServe's charts, the InferenceService and the
PodMonitor checked against the pinned upstream facts, and the ``Serving`` component's plan.

Upstream facts: tests/fixtures/kserve-v0.20.0.json (scripts/kserve_facts.py: the
InferenceService v1beta1 schema, the built-in ClusterServingRuntimes, controller
constants, storage URI forms, model-server metrics; the PodMonitor schema of
kube-prometheus-stack 88.5.3) and tests/fixtures/charts/{kserve-*,cert-manager}-*.json
(scripts/chart_keys.py at the release tags)."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import promql_parser
import pulumi
import pulumi_kubernetes as k8s
import pytest
import yaml

from test_chart_keys import chart_facts, problems
from test_k8s_rules_dashboards import DCGM_DEFAULT_METRICS, metric_names
from mlops_stack import serving_runtimes
from mlops_stack.args import Env
from mlops_stack.constants import RESERVED_NAMESPACES
from mlops_stack.errors import ConfigError
from mlops_stack.k8s import charts, serving
from mlops_stack.offline.engine import Plan, run_program
from mlops_stack.spec import EndpointSpec, load_spec

ROOT = Path(__file__).resolve().parents[2]
FACTS = json.loads((ROOT / "tests" / "fixtures" / "kserve-v0.20.0.json").read_text())
ISVC = FACTS["inferenceService"]["paths"]
PODMONITOR = FACTS["podMonitor"]["paths"]
CONSTANTS = FACTS["constants"]
ISVC_TYPE = "kubernetes:serving.kserve.io/v1beta1:InferenceService"
PODMONITOR_TYPE = "kubernetes:monitoring.coreos.com/v1:PodMonitor"
RELEASE = "kubernetes:helm.sh/v3:Release"


# --------------------------------------------------------------------------- upstream facts


def test_facts_are_from_the_pinned_release() -> None:
    source = FACTS["sources"][0]
    assert (source["repo"], source["tag"]) == ("kserve/kserve", charts.KSERVE_RESOURCES.version)
    assert re.fullmatch(r"[0-9a-f]{40}", source["commit"])
    for chart in charts.SERVING:
        facts = chart_facts(chart.name, chart.version)
        main = facts["sources"][0]
        assert main["tag"] == chart.version and re.fullmatch(r"[0-9a-f]{40}", main["commit"]), chart
        if chart.name.startswith("kserve"):
            assert main["commit"] == source["commit"]
    # kserve-crd has no values at all; the others are real values files.
    assert chart_facts("kserve-crd", charts.KSERVE_CRD.version)["keys"] == {}
    assert len(chart_facts("kserve-resources", charts.KSERVE_RESOURCES.version)["keys"]) > 100


def test_controller_constants_match_the_pinned_release() -> None:
    assert serving.DEPLOYMENT_MODE_ANNOTATION == CONSTANTS["deploymentModeAnnotation"]
    assert serving.AUTOSCALER_CLASS_ANNOTATION == CONSTANTS["autoscalerClassAnnotation"]
    assert serving.DEPLOYMENT_MODE in CONSTANTS["deploymentModes"] and serving.AUTOSCALER_CLASS in CONSTANTS["autoscalerClasses"]
    assert serving.ISVC_POD_LABEL == CONSTANTS["inferenceServicePodLabel"]
    assert serving.PREDICTOR_SUFFIX == CONSTANTS["predictorServiceSuffix"]
    assert (serving.SERVICE_PORT, serving.CONTAINER_PORT) == (CONSTANTS["servicePort"], CONSTANTS["containerPort"])
    assert serving.STORAGE_URI_ENV == CONSTANTS["customStorageUriEnv"]
    assert serving.PREDICT_HISTOGRAM in CONSTANTS["modelServerHistograms"]


def test_every_offered_runtime_is_a_built_in_cluster_serving_runtime() -> None:
    upstream = FACTS["clusterServingRuntimes"]
    for framework, runtime in serving_runtimes.RUNTIMES.items():
        assert runtime.runtime in upstream, framework
        facts = upstream[runtime.runtime]
        assert runtime.model_format in {f["name"] for f in facts["formats"]}, framework
        assert runtime.values_key == facts["valuesKey"], framework
    # Every disable switch of the chart is set (so a runtime the spec does not use is off).
    keys = chart_facts("kserve-runtime-configs", charts.KSERVE_RUNTIME_CONFIGS.version)["keys"]
    switches = {k.split(".")[2] for k in keys if re.fullmatch(r"kserve\.servingruntime\.\w+\.disabled", k)}
    assert set(serving.RUNTIME_KEYS) == switches
    # vLLM is not offered: the chart's image tag for it is not a version.
    assert keys["kserve.servingruntime.vllmserver.tag"]["default"] == "latest"
    assert "vllm" not in serving_runtimes.RUNTIMES


def test_storage_uris_are_forms_the_storage_initializer_accepts() -> None:
    ep = _endpoint()
    for bucket in ("s3://mlops-dev-models-1a2b3c4", "gs://mlops-dev-models-1a2b3c4", "https://mlopsdev1a2b.blob.core.windows.net/models"):
        uri = f"{bucket}/{serving.model_prefix(ep)}"  # what storage_uri concatenates (the plans check it)
        assert uri == f"{bucket}/distilbert/v1/"
        assert any(uri.startswith(p) for p in CONSTANTS["storageUriPrefixes"]) or any(
            re.match(p, uri) for p in CONSTANTS["azureBlobPatterns"]
        ), uri


# --------------------------------------------------------------------------- values and specs vs schema


def _leaves(value: Any, paths: dict[str, Any], prefix: str = "") -> list[tuple[str, Any]]:
    """``(schema path, value)`` of everything set; a free-form map (labels, nodeSelector,
    resource amounts) is one leaf: its keys are the user's, not the schema's."""
    out: list[tuple[str, Any]] = []
    if isinstance(value, dict) and not (prefix in paths and paths[prefix].get("free")):
        for k, v in value.items():
            path = f"{prefix}.{k}" if prefix else k
            out.append((path, v))
            out += _leaves(v, paths, path)
    elif isinstance(value, list):
        for v in value:
            out += _leaves(v, paths, prefix + "[]")
    return out


_TYPES = {
    "string": lambda v: isinstance(v, str) or isinstance(v, pulumi.Output),
    "integer": lambda v: isinstance(v, int) and not isinstance(v, bool),
    "boolean": lambda v: isinstance(v, bool),
    "object": lambda v: isinstance(v, dict),
    "array": lambda v: isinstance(v, list),
    "int-or-string": lambda v: isinstance(v, (int, str)) and not isinstance(v, bool),
}


def schema_problems(doc: dict[str, Any], paths: dict[str, Any], prefix: str) -> list[str]:
    """Paths of ``doc`` (below ``prefix``) the CRD schema does not have, or with the wrong type/enum."""
    out: list[str] = []
    for path, value in _leaves(doc, paths, prefix):
        known = paths.get(path)
        if known is None:
            out.append(f"{path}: not in the schema")
            continue
        check = _TYPES.get(known["type"])
        if check is not None and not check(value):
            out.append(f"{path}: schema type {known['type']}, set {type(value).__name__}")
        if "enum" in known and value not in known["enum"]:
            out.append(f"{path}: {value!r} not in {known['enum']}")
    return out


def _endpoint(**changes: Any) -> EndpointSpec:
    base: dict[str, Any] = {
        "name": "sentiment",
        "runsOn": "cluster",
        "gpu": "nvidia-t4",
        "model": {"artifact": {"bucket": "models", "key": "distilbert/v1"}, "framework": {"name": "huggingface", "version": "1"}},
        "minInstances": 1,
        "maxInstances": 2,
    }
    base.update(changes)
    return EndpointSpec.model_validate(base)


def _pool(**changes: Any) -> Any:
    from mlops_stack.spec import GpuPoolSpec

    return GpuPoolSpec.model_validate({"name": "infer", "gpu": "nvidia-t4", "maxNodes": 2, **changes})


VARIANTS = {
    f"framework-{name}": _endpoint(model={"artifact": {"bucket": "models", "key": "m/v1"}, "framework": {"name": name, "version": "1"}, "environment": {"LOG_LEVEL": "info"}})
    for name in serving_runtimes.RUNTIMES
}
VARIANTS["image"] = _endpoint(model={"artifact": {"bucket": "models", "key": "m/v1"}, "image": "registry.example/serve:1.0.0", "environment": {"A": "b"}})
VARIANTS["cpu"] = _endpoint(gpu=None, cpuSize="medium")


@pytest.mark.parametrize("name", sorted(VARIANTS))
def test_inference_service_spec_fits_the_pinned_crd_schema(name: str) -> None:
    ep = VARIANTS[name]
    pool = None if ep.gpu is None else _pool()
    spec = serving.inference_service_spec("aws", ep, pool, uri="s3://b/m/v1/", cluster=None, pod_labels={"azure.workload.identity/use": "true"})
    assert schema_problems({"spec": spec}, ISVC, "") == []


def test_the_schema_check_finds_mistakes() -> None:
    bad = {"spec": {"predictor": {"minReplica": 1, "scaleMetric": "gpu", "maxReplicas": "2", "model": {"storageUri": "x"}, "nodeSelector": {"any/key": "v"}}}}
    assert schema_problems(bad, ISVC, "") == [
        "spec.predictor.minReplica: not in the schema",
        "spec.predictor.scaleMetric: 'gpu' not in ['cpu', 'memory', 'concurrency', 'rps']",
        "spec.predictor.maxReplicas: schema type integer, set str",
    ]


def test_pod_monitor_fits_the_pinned_crd_schema() -> None:
    assert schema_problems({"spec": serving.pod_monitor_spec()}, PODMONITOR, "") == []


@pytest.mark.parametrize(
    ("chart", "values"),
    [
        (charts.KSERVE_RESOURCES, serving.kserve_values()),
        (charts.KSERVE_RUNTIME_CONFIGS, serving.runtime_values(list(VARIANTS.values()))),
        (charts.CERT_MANAGER, serving.cert_manager_values()),
    ],
    ids=lambda c: getattr(c, "name", ""),
)
def test_chart_values_are_read_by_the_pinned_charts(chart: charts.Chart, values: dict[str, Any]) -> None:
    assert problems(chart.name, chart.version, values) == []


def test_kserve_runs_in_standard_mode_without_ingress() -> None:
    keys = chart_facts("kserve-resources", charts.KSERVE_RESOURCES.version)["keys"]
    # The chart's default is Knative (needs Knative + Istio): we override it.
    assert keys["kserve.controller.deploymentMode"]["default"] == "Knative"
    controller = serving.kserve_values()["kserve"]["controller"]
    assert controller["deploymentMode"] == "Standard"
    assert controller["gateway"]["disableIngressCreation"] is True
    # cert-manager brings the CRDs KServe's Certificate and Issuer need.
    assert serving.cert_manager_values()["crds"]["enabled"] is True


def test_only_the_runtimes_the_spec_uses_are_switched_on() -> None:
    values = serving.runtime_values([VARIANTS["framework-sklearn"], VARIANTS["framework-huggingface"], VARIANTS["image"]])["kserve"]["servingruntime"]
    assert values["enabled"] is True
    assert {k for k, v in values.items() if k != "enabled" and not v["disabled"]} == {"sklearnserver", "huggingfaceserver"}
    assert values["vllmserver"] == {"disabled": True}


def test_dashboard_queries_parse_and_name_exported_metrics() -> None:
    board = serving.serving_dashboard(["sentiment", "llm"])
    exprs = [t["expr"] for p in board["panels"] for t in p.get("targets", [])]
    assert len(exprs) == 6
    hist = serving.PREDICT_HISTOGRAM
    allowed = DCGM_DEFAULT_METRICS | {f"{hist}_count", f"{hist}_bucket"}
    for expr in exprs:
        promql_parser.parse(expr)
        assert metric_names(expr) <= allowed, expr
        assert 'namespace="serving"' in expr
    assert {p["title"] for p in board["panels"] if p["type"] == "row"} == {"endpoint sentiment", "endpoint llm"}


def test_serving_namespaces_are_reserved() -> None:
    assert {"serving", "kserve", "cert-manager"} <= RESERVED_NAMESPACES


# --------------------------------------------------------------------------- the component, planned


@dataclass
class _Store:
    bucket_uris: dict[str, Any]
    bucket_names: dict[str, Any] = field(default_factory=dict)


@dataclass
class _Identity:
    service_account_annotations: dict[str, str]
    pod_labels: dict[str, str]


@dataclass
class _Monitoring:
    release: Any
    namespace: str = "monitoring"


def _spec(endpoints: list[dict[str, Any]]) -> Any:
    raw = {k.split(":", 1)[1]: v for k, v in yaml.safe_load((ROOT / "stacks" / "Pulumi.dev-aws.yaml").read_text())["config"].items()}
    raw["endpoints"] = endpoints
    return load_spec(raw)


def _plan(endpoints: list[dict[str, Any]], *, monitoring: bool = True, cluster: Any = None) -> Plan:
    spec = _spec(endpoints)

    def program() -> None:
        store = _Store(bucket_uris={"models": pulumi.Output.from_input("s3://mlops-dev-models-1a2b3c4")})
        ids = {
            ep.name: _Identity({"eks.amazonaws.com/role-arn": f"arn:aws:iam::123456789012:role/{ep.name}"}, {"example/pod": "label"})
            for ep in spec.cluster_endpoints
        }
        mon = _Monitoring(k8s.core.v1.ConfigMap("kps-stand-in")) if monitoring else None
        serving.Serving(
            "t-serving",
            serving.ServingArgs(
                env=Env.from_spec(spec), cloud="aws", endpoints=spec.cluster_endpoints, cluster_spec=spec.cluster,
                store=store, identities=ids, cluster=cluster, monitoring=mon,
            ),
        )

    return run_program(program, stack="test")


def _cluster_endpoint(**changes: Any) -> dict[str, Any]:
    return {
        "name": "sentiment",
        "runsOn": "cluster",
        "gpu": "nvidia-t4",
        "gpuPool": "infer",
        "model": {"artifact": {"bucket": "models", "key": "distilbert/v1"}, "framework": {"name": "huggingface", "version": "1"}},
        "minInstances": 1,
        "maxInstances": 2,
        **changes,
    }


@dataclass
class _AksLike:
    gpu_node_tolerations: list[dict[str, str]]


def test_serving_plan_installs_kserve_and_one_inference_service_per_endpoint() -> None:
    plan = _plan([_cluster_endpoint(), _cluster_endpoint(name="tabular", gpu=None, gpuPool=None, cpuSize="small",
                                                          model={"artifact": {"bucket": "models", "key": "tabular/v3"}, "framework": {"name": "sklearn", "version": "1.5"}})])
    releases = {r.inputs["chart"].rsplit("/", 1)[-1]: r for r in plan.of_type(RELEASE)}
    # The test's cluster does not say it serves metrics.k8s.io: the layer installs metrics-server
    # for the endpoints' HPAs, in kube-system, and the InferenceServices wait for it.
    assert set(releases) == {"cert-manager", "kserve-crd", "kserve-resources", "kserve-runtime-configs", "metrics-server"}
    metrics = releases["metrics-server"]
    assert (metrics.inputs["version"], metrics.inputs["namespace"]) == (charts.METRICS_SERVER.version, "kube-system")
    assert all(metrics.urn in i.dependencies for i in plan.of_type(ISVC_TYPE))
    for chart in charts.SERVING:
        r = releases[chart.name]
        assert r.inputs["chart"] == f"{chart.repo}/{chart.name}" and r.inputs["version"] == chart.version
        assert problems(chart.name, chart.version, r.inputs.get("values") or {}) == []
    assert releases["kserve-resources"].inputs["namespace"] == "kserve"
    assert releases["cert-manager"].inputs["namespace"] == "cert-manager"
    assert len(plan.of_type(ISVC_TYPE)) == 2
    assert len(plan.of_type("kubernetes:core/v1:ServiceAccount")) == 2
    assert len(plan.of_type(PODMONITOR_TYPE)) == 1
    # No way in from outside the cluster: no Service of type LoadBalancer, no Ingress.
    assert not plan.of_type("kubernetes:networking.k8s.io/v1:Ingress")
    assert not [s for s in plan.of_type("kubernetes:core/v1:Service") if (s.inputs.get("spec") or {}).get("type") == "LoadBalancer"]
    (ns,) = [n for n in plan.of_type("kubernetes:core/v1:Namespace") if n.inputs["metadata"]["name"] == "serving"]
    assert ns.inputs["metadata"]["labels"]["pod-security.kubernetes.io/enforce"] == "restricted"


def test_gpu_endpoint_inference_service_inputs() -> None:
    plan = _plan([_cluster_endpoint()])
    (isvc,) = plan.of_type(ISVC_TYPE)
    meta, spec = isvc.inputs["metadata"], isvc.inputs["spec"]["predictor"]
    assert (meta["name"], meta["namespace"]) == ("sentiment", "serving")
    assert meta["annotations"] == {"serving.kserve.io/deploymentMode": "Standard", "serving.kserve.io/autoscalerClass": "hpa"}
    # g4dn.xlarge (4 vCPU, 16 GiB, 1 T4): 3 CPUs, 12 GiB and the GPU, requests = limits.
    resources = spec["model"]["resources"]
    assert resources["requests"] == resources["limits"] == {"cpu": "3", "memory": "12Gi", "nvidia.com/gpu": "1"}
    assert spec["tolerations"] == [{"key": "nvidia.com/gpu", "operator": "Exists", "effect": "NoSchedule"}]
    assert spec["nodeSelector"] == {"mlops-stack/pool": "infer"}
    assert (spec["minReplicas"], spec["maxReplicas"], spec["scaleMetric"], spec["scaleTarget"]) == (1, 2, "cpu", 70)
    assert spec["model"]["storageUri"] == "s3://mlops-dev-models-1a2b3c4/distilbert/v1/"
    assert spec["model"]["modelFormat"] == {"name": "huggingface"} and spec["model"]["runtime"] == "kserve-huggingfaceserver"
    assert spec["serviceAccountName"] == "sentiment-model"
    assert spec["labels"] == {"mlops-stack/endpoint": "sentiment", "example/pod": "label"}
    assert spec["securityContext"]["runAsNonRoot"] is True and spec["securityContext"]["seccompProfile"] == {"type": "RuntimeDefault"}
    (sa,) = plan.of_type("kubernetes:core/v1:ServiceAccount")
    assert sa.inputs["metadata"]["name"] == "sentiment-model" and sa.inputs["metadata"]["namespace"] == "serving"
    assert sa.inputs["metadata"]["annotations"] == {"eks.amazonaws.com/role-arn": "arn:aws:iam::123456789012:role/sentiment"}


def test_cloud_gpu_node_taints_are_tolerated() -> None:
    spot = {"key": "kubernetes.azure.com/scalesetpriority", "operator": "Equal", "value": "spot", "effect": "NoSchedule"}
    plan = _plan([_cluster_endpoint()], cluster=_AksLike([spot]))
    (isvc,) = plan.of_type(ISVC_TYPE)
    assert isvc.inputs["spec"]["predictor"]["tolerations"] == [{"key": "nvidia.com/gpu", "operator": "Exists", "effect": "NoSchedule"}, spot]


def test_cpu_endpoint_stays_off_gpu_nodes_and_custom_image_gets_the_storage_uri() -> None:
    ep = _cluster_endpoint(gpu=None, gpuPool=None, cpuSize="small", model={"artifact": {"bucket": "models", "key": "tab/v1"}, "image": "registry.example/serve:1.0.0"})
    plan = _plan([ep], monitoring=False)
    (isvc,) = plan.of_type(ISVC_TYPE)
    spec = isvc.inputs["spec"]["predictor"]
    assert "tolerations" not in spec and "nodeSelector" not in spec
    (container,) = spec["containers"]
    assert container["image"] == "registry.example/serve:1.0.0"
    assert {"name": "STORAGE_URI", "value": "s3://mlops-dev-models-1a2b3c4/tab/v1/"} in container["env"]
    assert container["resources"]["limits"] == {"cpu": "500m", "memory": "1Gi"}
    assert not plan.of_type(PODMONITOR_TYPE) and not [c for c in plan.of_type("kubernetes:core/v1:ConfigMap") if "dashboard" in c.name]


def test_serving_args_refuse_a_managed_endpoint_or_a_missing_identity() -> None:
    spec = _spec([_cluster_endpoint()])
    store = _Store(bucket_uris={})
    with pytest.raises(ConfigError) as err:
        serving.ServingArgs(env=Env.from_spec(spec), cloud="aws", endpoints=spec.cluster_endpoints, cluster_spec=spec.cluster, store=store)
    assert str(err.value) == "ServingArgs.identities: has no identity for endpoint 'sentiment' (one WorkloadIdentity per cluster endpoint)"
    managed = _endpoint(runsOn="managed", gpu=None, cpuSize="small", model={"artifact": {"bucket": "models", "key": "m"}, "image": "x:1"})
    with pytest.raises(ConfigError) as err:
        serving.ServingArgs(env=Env.from_spec(spec), cloud="aws", endpoints=[managed], cluster_spec=spec.cluster, store=store)
    assert str(err.value) == "ServingArgs.endpoints.sentiment.runsOn: 'managed' must be cluster here"



def test_restricted_namespaces_hold_pods_the_pinned_charts_make_compliant() -> None:
    """cert-manager, kserve and serving enforce Pod Security restricted: the charts' own
    defaults (which we do not override) must satisfy it, and so must the storage
    initializer and every runtime we offer; our pod context adds non-root + seccomp."""
    cm = chart_facts("cert-manager", charts.CERT_MANAGER.version)["keys"]
    for part in ("", "cainjector.", "webhook.", "startupapicheck."):
        assert cm[f"{part}securityContext.runAsNonRoot"]["default"] is True, part
        assert cm[f"{part}securityContext.seccompProfile.type"]["default"] == "RuntimeDefault", part
        assert cm[f"{part}containerSecurityContext.allowPrivilegeEscalation"]["default"] is False, part
        assert cm[f"{part}containerSecurityContext.capabilities.drop"]["default"] == ["ALL"], part
    ks = chart_facts("kserve-resources", charts.KSERVE_RESOURCES.version)["keys"]
    assert ks["kserve.controller.securityContext.runAsNonRoot"]["default"] is True
    assert ks["kserve.controller.securityContext.seccompProfile.type"]["default"] == "RuntimeDefault"
    for ctx in ("kserve.controller.containerSecurityContext", "kserve.controller.rbacProxy.securityContext", "kserve.storage.containerSecurityContext"):
        assert ks[f"{ctx}.allowPrivilegeEscalation"]["default"] is False, ctx
        assert ks[f"{ctx}.capabilities.drop"]["default"] == ["ALL"], ctx
    rt = chart_facts("kserve-runtime-configs", charts.KSERVE_RUNTIME_CONFIGS.version)["keys"]
    for runtime in serving_runtimes.RUNTIMES.values():
        ctx = f"kserve.servingruntime.{runtime.values_key}.securityContext"
        assert rt[f"{ctx}.allowPrivilegeEscalation"]["default"] is False, runtime
        assert rt[f"{ctx}.capabilities.drop"]["default"] == ["ALL"], runtime
        assert rt[f"{ctx}.runAsNonRoot"]["default"] is True, runtime
    assert serving.POD_SECURITY["runAsNonRoot"] is True and serving.POD_SECURITY["seccompProfile"] == {"type": "RuntimeDefault"}
