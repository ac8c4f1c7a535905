"""Cluster endpoints on any cluster: KServe in Standard (raw Deployment) mode.

``Serving`` (``mlops:k8s:Serving``) is built when the spec has an endpoint with
``runsOn: cluster``. It installs, each pinned in ``charts.py``:

- cert-manager (namespace ``cert-manager``): KServe v0.20.0's webhooks take their
  certificate from it (see ``charts.CERT_MANAGER``);
- KServe (namespace ``kserve``): ``kserve-crd``, then ``kserve-resources`` with
  ``deploymentMode: Standard`` (Deployments, Services and HPAs: no Knative, no Istio) and
  no Ingress creation (in-cluster addresses only), then ``kserve-runtime-configs`` with
  the ClusterServingRuntimes the spec uses switched on and every other one disabled;
- the namespace ``serving`` (Pod Security ``restricted`` enforced) and, per endpoint:
  a ServiceAccount annotated for the endpoint's own cloud identity (``WorkloadIdentity``,
  read-only on exactly the model's prefix), and one ``InferenceService``: GPU requests =
  limits, the pool's tolerations and node selector, HPA between min and max replicas, the
  model pulled from the stack bucket by KServe's storage initializer;
- a PodMonitor (the stack's Prometheus scrapes every predictor's ``/metrics``) and a
  Grafana dashboard with one row per endpoint (requests, latency, GPU use).

Outputs: ``endpoints`` (spec name -> ``{"endpoint_name", "invoke_url"}``: the in-cluster URL),
``namespace``.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import pulumi
import pulumi_kubernetes as k8s

from mlops_stack import catalog
from mlops_stack.args import POOL_LABEL, BucketGrant, Env, WorkloadIdentityArgs, child_opts, merge_opts
from mlops_stack.constants import CERT_MANAGER_NAMESPACE, KSERVE_NAMESPACE, SERVING_NAMESPACE
from mlops_stack.contracts import ArtifactStore, Keys, KubernetesCluster, WorkloadIdentity
from mlops_stack.errors import ConfigError
from mlops_stack.k8s import charts
from mlops_stack.k8s._common import GPU_RESOURCE, gpu_tolerations, helm_release, k8s_labels, namespace, with_overrides
from mlops_stack.k8s.monitoring import DASHBOARD_LABEL, DASHBOARD_LABEL_VALUE
from mlops_stack.serving_runtimes import RUNTIMES
from mlops_stack.spec import ClusterSpec, EndpointSpec, GpuPoolSpec, endpoint_pool

#: KServe v0.20.0 names (pkg/constants/constants.go at the tag; tests/fixtures/kserve-v0.20.0.json).
DEPLOYMENT_MODE_ANNOTATION = "serving.kserve.io/deploymentMode"
AUTOSCALER_CLASS_ANNOTATION = "serving.kserve.io/autoscalerClass"
#: v0.20's name of RawDeployment: Deployment + Service + HPA, no Knative.
DEPLOYMENT_MODE = "Standard"
AUTOSCALER_CLASS = "hpa"
ISVC_POD_LABEL = "serving.kserve.io/inferenceservice"
PREDICTOR_SUFFIX = "-predictor"
#: The predictor Service's port (80) and the model server's container port (8080).
SERVICE_PORT = 80
CONTAINER_PORT = 8080
CONTAINER_PORT_NAME = "http1"
#: A custom image gets its model through this env var (KServe's storage initializer reads it).
STORAGE_URI_ENV = "STORAGE_URI"
#: Request latency histogram of KServe's own model servers (python/kserve/kserve/metrics.py).
PREDICT_HISTOGRAM = "request_predict_seconds"
#: The label every object of the serving layer carries with its endpoint's spec name.
ENDPOINT_LABEL = "mlops-stack/endpoint"

#: Helm release names (KServe's webhooks and services are named from the chart, not the release).
CERT_MANAGER_RELEASE = "cert-manager"
KSERVE_CRD_RELEASE = "kserve-crd"
KSERVE_RELEASE = "kserve"
KSERVE_RUNTIMES_RELEASE = "kserve-runtime-configs"
METRICS_SERVER_RELEASE = "metrics-server"
#: metrics-server runs where the clouds run theirs (system-cluster-critical, the chart's default).
METRICS_SERVER_NAMESPACE = "kube-system"
#: What each endpoint's HPA scales on (``scaleMetric: cpu``): CPU utilisation of the predictor
#: pods, read by the HPA controller from the resource metrics API (Kubernetes docs "Horizontal
#: Pod Autoscaling": resource metrics come from metrics.k8s.io, served by metrics-server).
HPA_METRICS_API = "metrics.k8s.io"

#: Requests (= limits) of a CPU endpoint by ``cpuSize``: it runs on the cluster's general nodes.
CPU_SIZES = {"small": ("500m", "1Gi"), "medium": ("1", "2Gi"), "large": ("2", "4Gi")}
#: Share of a GPU node's CPU and memory (per GPU asked for) a GPU endpoint requests: the
#: rest is for the node's daemonsets (device plugin, DCGM exporter, CNI, kube-proxy).
NODE_SHARE = 0.75

#: Pod hardening of every predictor pod (Pod Security ``restricted`` in ``serving``).
POD_SECURITY = {"runAsNonRoot": True, "runAsUser": 1000, "runAsGroup": 1000, "fsGroup": 1000, "seccompProfile": {"type": "RuntimeDefault"}}
CONTAINER_SECURITY = {"allowPrivilegeEscalation": False, "runAsNonRoot": True, "capabilities": {"drop": ["ALL"]}}

DASHBOARD_NAME = "mlops-dashboard-serving"
DASHBOARD_FILE = "serving-endpoints.json"


@dataclass(frozen=True, kw_only=True)
class ServingArgs:
    env: Env
    #: The target's name: the catalog row of each GPU pool (node CPU and memory) is looked up on it.
    cloud: str
    #: The spec's ``runsOn: cluster`` endpoints.
    endpoints: Sequence[EndpointSpec]
    #: The spec's cluster section (the pools the endpoints land on).
    cluster_spec: ClusterSpec
    #: The ArtifactStore holding the models (``bucket_uris``).
    store: ArtifactStore
    #: Endpoint name -> its WorkloadIdentity (``identity_args``): read-only on the model's prefix;
    #: serving reads its ServiceAccount annotations and pod labels.
    identities: Mapping[str, WorkloadIdentity] = field(default_factory=dict)
    #: The cluster component (its ``gpu_node_tolerations``, ``k8s_chart_overrides``).
    cluster: Any = None
    #: The Monitoring component, if any: its release brings the PodMonitor CRD, its namespace the dashboard.
    monitoring: Any = None

    def __post_init__(self) -> None:
        for ep in self.endpoints:
            if not ep.on_cluster:
                raise ConfigError(f"ServingArgs.endpoints.{ep.name}.runsOn", "must be cluster here", value=ep.runs_on)
        missing = [ep.name for ep in self.endpoints if ep.name not in self.identities]
        if missing:
            raise ConfigError("ServingArgs.identities", f"has no identity for endpoint {missing[0]!r}", "one WorkloadIdentity per cluster endpoint")


# --------------------------------------------------------------------------- pure helpers


def service_account_name(ep: EndpointSpec) -> str:
    """The Kubernetes ServiceAccount an endpoint's pods run as (bound to its cloud identity)."""
    return f"{ep.name}-model"


def model_prefix(ep: EndpointSpec) -> str:
    """The bucket prefix a cluster endpoint may read: its artifact key as a folder (``a/b/``)."""
    return ep.model.artifact.key.strip("/") + "/"


def identity_args(env: Env, ep: EndpointSpec, cluster: KubernetesCluster, store: ArtifactStore, keys: Keys | None) -> WorkloadIdentityArgs:
    """The args of an endpoint's WorkloadIdentity: bound to its ServiceAccount in ``serving``,
    allowed to read exactly the model's prefix (and nothing else: no write, no other prefix),
    with the bucket check KServe's storage initializer makes first (``bucket_check``: S3
    HeadBucket)."""
    return WorkloadIdentityArgs(
        env=env,
        name=f"endpoint-{ep.name}",
        cluster=cluster,
        namespace=SERVING_NAMESPACE,
        service_account=service_account_name(ep),
        store=store,
        grants=(BucketGrant(bucket=ep.model.artifact.bucket, prefix=model_prefix(ep), write=False, bucket_check=True),),
        keys=keys,
    )


def storage_uri(bucket_uri: pulumi.Input[str], ep: EndpointSpec) -> pulumi.Output[str]:
    """``<bucket uri>/<key>/``: s3://, gs:// or https://<account>.blob.core.windows.net/<container>,
    the forms KServe's storage initializer accepts. The trailing slash makes the download list
    exactly the granted prefix."""
    return pulumi.Output.concat(bucket_uri, "/", model_prefix(ep))


def predictor_service(name: str) -> str:
    return f"{name}{PREDICTOR_SUFFIX}"


def invoke_url(name: str, namespace_name: str = SERVING_NAMESPACE) -> str:
    """The in-cluster address of an endpoint's predictor Service (no Ingress, no load balancer)."""
    return f"http://{predictor_service(name)}.{namespace_name}.svc.cluster.local"


def endpoint_resources(cloud: str, ep: EndpointSpec, pool: GpuPoolSpec | None) -> dict[str, dict[str, str]]:
    """requests = limits: CPU endpoints by ``cpuSize``; GPU endpoints their GPUs and a share of
    the pool's node CPU and memory per GPU (catalog row of the pool's instance type)."""
    if pool is None:
        cpu, memory = CPU_SIZES[ep.cpu_size or "small"]
        amounts = {"cpu": cpu, "memory": memory}
    else:
        offer = catalog.gpu_offer(cloud, pool.gpu, pool.gpus_per_node, "nodepool")
        vcpus = (offer.vcpus if offer and offer.vcpus else 4) / pool.gpus_per_node * ep.gpus_per_instance
        mem = (offer.memory_gib if offer and offer.memory_gib else 16) / pool.gpus_per_node * ep.gpus_per_instance
        amounts = {
            "cpu": str(max(1, int(vcpus * NODE_SHARE))),
            "memory": f"{max(2, int(mem * NODE_SHARE))}Gi",
            GPU_RESOURCE: str(ep.gpus_per_instance),
        }
    return {"requests": dict(amounts), "limits": dict(amounts)}


def pool_scheduling(cluster: Any, pool: GpuPoolSpec | None) -> tuple[list[dict[str, Any]], dict[str, str]]:
    """(tolerations, nodeSelector) of a predictor: the GPU taint (any value: GKE's is
    ``present``) plus the cloud's own GPU node taints, and the pool's ``mlops-stack/pool``
    label; nothing for a CPU endpoint (it stays off the tainted GPU nodes)."""
    if pool is None:
        return [], {}
    return gpu_tolerations(cluster), {POOL_LABEL: pool.name}


def inference_service_spec(
    cloud: str,
    ep: EndpointSpec,
    pool: GpuPoolSpec | None,
    *,
    uri: pulumi.Input[str],
    cluster: Any = None,
    pod_labels: Mapping[str, str] | None = None,
) -> dict[str, Any]:
    """The ``spec`` of an endpoint's InferenceService (pure; every path is in the pinned CRD
    schema, tests/k8s/test_serving.py)."""
    tolerations, node_selector = pool_scheduling(cluster, pool)
    resources = endpoint_resources(cloud, ep, pool)
    env = [{"name": k, "value": v} for k, v in sorted(ep.model.environment.items())]
    container: dict[str, Any] = {
        "resources": resources,
        "securityContext": dict(CONTAINER_SECURITY),
        "ports": [{"name": CONTAINER_PORT_NAME, "containerPort": CONTAINER_PORT, "protocol": "TCP"}],
    }
    predictor: dict[str, Any] = {
        "minReplicas": ep.min_instances,
        "maxReplicas": ep.max_instances,
        "scaleMetric": "cpu",
        "scaleTarget": ep.autoscaling.utilization_percent,
        "serviceAccountName": service_account_name(ep),
        "securityContext": dict(POD_SECURITY),
        "labels": {ENDPOINT_LABEL: ep.name, **dict(pod_labels or {})},
    }
    if tolerations:
        predictor["tolerations"] = tolerations
    if node_selector:
        predictor["nodeSelector"] = node_selector
    fw = ep.model.framework
    if fw is not None:
        runtime = RUNTIMES[fw.name]
        predictor["model"] = {
            "modelFormat": {"name": runtime.model_format},
            "runtime": runtime.runtime,
            "storageUri": uri,
            **({"env": env} if env else {}),
            **container,
        }
    else:
        predictor["containers"] = [
            {"name": "kserve-container", "image": ep.model.image, "env": [{"name": STORAGE_URI_ENV, "value": uri}, *env], **container}
        ]
    return {"predictor": predictor}


def runtimes_used(endpoints: Sequence[EndpointSpec]) -> set[str]:
    """The ``kserve.servingruntime.<key>`` values keys of the runtimes the endpoints name."""
    return {RUNTIMES[ep.model.framework.name].values_key for ep in endpoints if ep.model.framework is not None}


#: Every ``kserve.servingruntime.<key>.disabled`` switch of kserve-runtime-configs v0.20.0.
RUNTIME_KEYS = (
    "autogluonserver",
    "huggingfaceserver",
    "huggingfaceserver_multinode",
    "lgbserver",
    "mlserver",
    "paddleserver",
    "pmmlserver",
    "predictiveserver",
    "sklearnserver",
    "tensorflow",
    "torchserve",
    "tritonserver",
    "vllmserver",
    "xgbserver",
)


#: Docker Hub's registry host. KServe's charts name Docker Hub images without it
#: (``kserve/kserve-controller``); the layer writes every such image fully qualified, so an
#: admission policy that matches image paths (GKE Binary Authorization allowlist patterns are
#: ``registry/path``) sees the registry it allowlists.
DOCKER_HUB = "docker.io"
#: The chart's default image repositories (kserve-resources v0.20.0 values.yaml
#: ``kserve.{controller,storage,agent,router}.image``), qualified.
KSERVE_IMAGES = {part: f"{DOCKER_HUB}/kserve/{name}" for part, name in
                 (("controller", "kserve-controller"), ("storage", "storage-initializer"), ("agent", "agent"), ("router", "router"))}
#: Each runtime's default image repository (kserve-runtime-configs v0.20.0 values.yaml
#: ``kserve.servingruntime.<key>.image``; tests/fixtures/charts/kserve-runtime-configs-v0.20.0.json).
RUNTIME_IMAGES = {
    "sklearnserver": "kserve/sklearnserver",
    "xgbserver": "kserve/xgbserver",
    "lgbserver": "kserve/lgbserver",
    "mlserver": "docker.io/seldonio/mlserver",
    "tensorflow": "tensorflow/serving",
    "torchserve": "pytorch/torchserve-kfs",
    "tritonserver": "nvcr.io/nvidia/tritonserver",
    "huggingfaceserver": "kserve/huggingfaceserver",
    "pmmlserver": "kserve/pmmlserver",
    "paddleserver": "kserve/paddleserver",
}


def qualified_image(repository: str) -> str:
    """``kserve/x`` -> ``docker.io/kserve/x``; a repository whose first part is a host stays."""
    first = repository.split("/", 1)[0]
    return repository if "." in first or ":" in first or first == "localhost" else f"{DOCKER_HUB}/{repository}"


def runtime_values(endpoints: Sequence[EndpointSpec]) -> dict[str, Any]:
    """kserve-runtime-configs values: the runtimes the spec uses on (their images fully
    qualified), every other one disabled."""
    used = runtimes_used(endpoints)
    switches: dict[str, Any] = {key: {"disabled": key not in used} for key in RUNTIME_KEYS}
    for key in sorted(used):
        switches[key]["image"] = qualified_image(RUNTIME_IMAGES[key])
    return {"kserve": {"servingruntime": {"enabled": True, **switches}}}


def kserve_values() -> dict[str, Any]:
    """kserve-resources values: Standard (raw Deployment) mode, no Ingress, no Istio virtual
    hosts; the controller's resources stated in full."""
    return {
        "kserve": {
            **{part: {"image": KSERVE_IMAGES[part]} for part in ("storage", "agent", "router")},
            "controller": {
                "image": KSERVE_IMAGES["controller"],
                "deploymentMode": DEPLOYMENT_MODE,
                "gateway": {"disableIngressCreation": True, "disableIstioVirtualHost": True},
                "resources": {"requests": {"cpu": "100m", "memory": "300Mi"}, "limits": {"cpu": "500m", "memory": "500Mi"}},
            },
        }
    }


def needs_metrics_server(cluster: Any) -> bool:
    """Whether the layer must install metrics-server: the cluster does not serve
    ``metrics.k8s.io`` itself (``cluster.provides_metrics_api``; absent: assume it does not)."""
    return not bool(getattr(cluster, "provides_metrics_api", False))


def metrics_server_values() -> dict[str, Any]:
    """metrics-server chart values: the chart's defaults (APIService, port 10250, non-root
    read-only container) with resources stated in full."""
    return {
        "apiService": {"create": True},
        "resources": {"requests": {"cpu": "100m", "memory": "200Mi"}, "limits": {"memory": "500Mi"}},
    }


def cert_manager_values() -> dict[str, Any]:
    """cert-manager values: its CRDs with the chart (KServe's Certificate and Issuer need them)."""
    return {
        "crds": {"enabled": True},
        "resources": {"requests": {"cpu": "50m", "memory": "128Mi"}, "limits": {"memory": "512Mi"}},
    }


def pod_monitor_spec() -> dict[str, Any]:
    """The PodMonitor of every predictor pod: ``/metrics`` on the model server's port."""
    return {
        "selector": {"matchExpressions": [{"key": ISVC_POD_LABEL, "operator": "Exists"}]},
        "podMetricsEndpoints": [{"port": CONTAINER_PORT_NAME, "path": "/metrics", "interval": "30s"}],
        "podTargetLabels": [ENDPOINT_LABEL],
    }


def _selector(name: str, namespace_name: str) -> str:
    return f'namespace="{namespace_name}", pod=~"{predictor_service(name)}-.*"'


def dashboard_queries(name: str, namespace_name: str = SERVING_NAMESPACE) -> dict[str, str]:
    """The PromQL of an endpoint's three panels (requests, latency, GPU use)."""
    sel = _selector(name, namespace_name)
    return {
        "requests": f"sum(rate({PREDICT_HISTOGRAM}_count{{{sel}}}[5m]))",
        "latency": f"histogram_quantile(0.95, sum by (le) (rate({PREDICT_HISTOGRAM}_bucket{{{sel}}}[5m])))",
        "gpu": f"avg(DCGM_FI_DEV_GPU_UTIL{{{sel}}})",
    }


_UNITS = {"requests": "reqps", "latency": "s", "gpu": "percent"}
_TITLES = {"requests": "requests / s", "latency": "p95 predict latency", "gpu": "GPU utilisation"}


def serving_dashboard(names: Sequence[str], namespace_name: str = SERVING_NAMESPACE) -> dict[str, Any]:
    """A Grafana dashboard: one row per cluster endpoint with its three panels."""
    ds = {"type": "prometheus", "uid": "${datasource}"}
    panels: list[dict[str, Any]] = []
    y = 0
    for name in names:
        panels.append({"id": len(panels) + 1, "type": "row", "title": f"endpoint {name}", "collapsed": False, "gridPos": {"h": 1, "w": 24, "x": 0, "y": y}, "panels": []})
        y += 1
        for i, (kind, expr) in enumerate(dashboard_queries(name, namespace_name).items()):
            panels.append(
                {
                    "id": len(panels) + 1,
                    "type": "timeseries",
                    "title": f"{name}: {_TITLES[kind]}",
                    "datasource": ds,
                    "gridPos": {"h": 8, "w": 8, "x": 8 * i, "y": y},
                    "fieldConfig": {"defaults": {"unit": _UNITS[kind]}, "overrides": []},
                    "targets": [{"refId": "A", "datasource": ds, "expr": expr, "legendFormat": name}],
                }
            )
        y += 8
    return {
        "uid": "mlops-serving",
        "title": "mlops-stack / cluster endpoints",
        "description": "Requests, p95 latency and GPU utilisation of each runsOn: cluster endpoint (KServe).",
        "tags": ["mlops-stack", "serving"],
        "editable": False,
        "schemaVersion": 39,
        "version": 1,
        "refresh": "1m",
        "time": {"from": "now-6h", "to": "now"},
        "templating": {"list": [{"name": "datasource", "label": "Data source", "type": "datasource", "query": "prometheus", "current": {}, "hide": 0, "refresh": 1}]},
        "annotations": {"list": []},
        "panels": panels,
    }


# --------------------------------------------------------------------------- the component


class Serving(pulumi.ComponentResource):
    """``mlops:k8s:Serving``. Args: ``ServingArgs``. Outputs: ``endpoints`` (spec name ->
    ``{"endpoint_name", "invoke_url"}``), ``namespace``."""

    endpoints: dict[str, dict[str, pulumi.Output[str]]]
    namespace: pulumi.Output[str]

    def __init__(self, name: str, args: ServingArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("mlops:k8s:Serving", name, None, merge_opts(opts))
        env = args.env
        pools = {ep.name: endpoint_pool(args.cluster_spec, ep, i) for i, ep in enumerate(args.endpoints)}

        crds, runtimes, metrics = self._platform(name, args)

        ns = namespace(
            self,
            f"{name}-namespace",
            SERVING_NAMESPACE,
            k8s_labels(env, "serving", **{"pod-security.kubernetes.io/enforce": "restricted", "pod-security.kubernetes.io/warn": "restricted"}),
        )
        ns_name = ns.metadata.name
        self.endpoints = {}
        for ep in args.endpoints:
            identity = args.identities[ep.name]
            labels = k8s_labels(env, "serving", **{ENDPOINT_LABEL: ep.name})
            sa = k8s.core.v1.ServiceAccount(
                f"{name}-{ep.name}-service-account",
                metadata=k8s.meta.v1.ObjectMetaArgs(
                    name=service_account_name(ep), namespace=ns_name, labels=labels, annotations=identity.service_account_annotations
                ),
                opts=child_opts(self),
            )
            uri = storage_uri(args.store.bucket_uris[ep.model.artifact.bucket], ep)
            isvc = k8s.apiextensions.CustomResource(
                f"{name}-{ep.name}",
                api_version="serving.kserve.io/v1beta1",
                kind="InferenceService",
                metadata=k8s.meta.v1.ObjectMetaArgs(
                    name=ep.name,
                    namespace=ns_name,
                    labels=labels,
                    annotations={DEPLOYMENT_MODE_ANNOTATION: DEPLOYMENT_MODE, AUTOSCALER_CLASS_ANNOTATION: AUTOSCALER_CLASS},
                ),
                spec=inference_service_spec(args.cloud, ep, pools[ep.name], uri=uri, cluster=args.cluster, pod_labels=identity.pod_labels),
                opts=child_opts(self, depends_on=[crds, runtimes, sa, *metrics]),
            )
            self.endpoints[ep.name] = {
                # The resource's ID is <namespace>/<name>: the name once KServe has the object.
                "endpoint_name": isvc.id.apply(lambda i: i.rsplit("/", 1)[-1]),
                "invoke_url": pulumi.Output.concat("http://", predictor_service(ep.name), ".", ns_name, ".svc.cluster.local"),
            }

        if args.monitoring is not None:
            # The PodMonitor CRD comes with kube-prometheus-stack: install after its release.
            k8s.apiextensions.CustomResource(
                f"{name}-pod-monitor",
                api_version="monitoring.coreos.com/v1",
                kind="PodMonitor",
                metadata=k8s.meta.v1.ObjectMetaArgs(name="kserve-predictors", namespace=ns_name, labels=k8s_labels(env, "serving")),
                spec=pod_monitor_spec(),
                opts=child_opts(self, depends_on=[args.monitoring.release]),
            )
            k8s.core.v1.ConfigMap(
                f"{name}-dashboard",
                metadata=k8s.meta.v1.ObjectMetaArgs(
                    name=DASHBOARD_NAME,
                    namespace=args.monitoring.namespace,
                    labels={**k8s_labels(env, "dashboards"), DASHBOARD_LABEL: DASHBOARD_LABEL_VALUE},
                ),
                data={DASHBOARD_FILE: json.dumps(serving_dashboard([ep.name for ep in args.endpoints]), indent=1)},
                opts=child_opts(self),
            )

        self.namespace = ns_name
        self.register_outputs({"endpoints": self.endpoints, "namespace": self.namespace})


    def _platform(self, name: str, args: ServingArgs) -> tuple[pulumi.Resource, pulumi.Resource, list[pulumi.Resource]]:
        """cert-manager, KServe (CRDs, controller, runtimes) and, where the cluster lacks
        metrics.k8s.io, metrics-server: (the CRD release, the runtimes release, [metrics-server])."""
        env = args.env
        cm_ns = namespace(self, f"{name}-cert-manager-namespace", CERT_MANAGER_NAMESPACE, k8s_labels(env, "cert-manager", **{"pod-security.kubernetes.io/enforce": "restricted"}))
        cert_manager = helm_release(
            self, f"{name}-cert-manager", charts.CERT_MANAGER, cm_ns.metadata.name,
            with_overrides(cert_manager_values(), args.cluster, charts.CERT_MANAGER), release_name=CERT_MANAGER_RELEASE,
        )
        ks_ns = namespace(self, f"{name}-kserve-namespace", KSERVE_NAMESPACE, k8s_labels(env, "kserve", **{"pod-security.kubernetes.io/enforce": "restricted"}))
        crds = helm_release(self, f"{name}-kserve-crd", charts.KSERVE_CRD, ks_ns.metadata.name, {}, release_name=KSERVE_CRD_RELEASE)
        controller = helm_release(
            self, f"{name}-kserve", charts.KSERVE_RESOURCES, ks_ns.metadata.name,
            with_overrides(kserve_values(), args.cluster, charts.KSERVE_RESOURCES), release_name=KSERVE_RELEASE,
            depends_on=[crds, cert_manager],
        )
        runtimes = helm_release(
            self, f"{name}-kserve-runtimes", charts.KSERVE_RUNTIME_CONFIGS, ks_ns.metadata.name,
            runtime_values(args.endpoints), release_name=KSERVE_RUNTIMES_RELEASE, depends_on=[crds, controller],
        )

        # The endpoints' HPAs read CPU from metrics.k8s.io: install metrics-server where the
        # cluster does not serve it (a capability the cluster states, see needs_metrics_server).
        metrics: list[pulumi.Resource] = []
        if needs_metrics_server(args.cluster):
            metrics.append(
                helm_release(
                    self, f"{name}-metrics-server", charts.METRICS_SERVER, METRICS_SERVER_NAMESPACE,
                    with_overrides(metrics_server_values(), args.cluster, charts.METRICS_SERVER), release_name=METRICS_SERVER_RELEASE,
                )
            )

        return crds, runtimes, metrics


def build_for_stack(b: Any, role: str, endpoints: Sequence[EndpointSpec]) -> Serving:
    """The cluster-endpoints slot of ``composition.SLOTS``: one WorkloadIdentity per endpoint
    (the target's, through ``b.component`` so the stack records it), then ``Serving`` on the
    cluster's Kubernetes provider, after the GPU pools."""
    cluster, store, keys = b.get("cluster"), b.get("store"), b.get("keys")
    identities = {
        ep.name: b.component("WorkloadIdentity", f"endpoint-{ep.name}-identity", identity_args(b.env, ep, cluster, store, keys))
        for ep in endpoints
    }
    layer = b.get("k8s")
    args = ServingArgs(
        env=b.env,
        cloud=b.spec.cloud,
        endpoints=tuple(endpoints),
        cluster_spec=b.spec.cluster,
        store=store,
        identities=identities,
        cluster=cluster,
        monitoring=getattr(layer, "monitoring", None),
    )
    return Serving(f"{b.name}-{role}", args, b.k8s_opts(depends_on=b.get("gpu_pools")))
