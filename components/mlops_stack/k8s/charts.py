"""The Helm charts the Kubernetes layer installs, each pinned to one version.

Every pin is a named constant with where it comes from and why it is this version.
Bump deliberately: read the chart's release notes and values.yaml, then review the plan
diff (`mlops-stack plan`). The chart repository URLs are the projects' own.
"""

from __future__ import annotations

from dataclasses import dataclass

from mlops_stack.errors import ConfigError


@dataclass(frozen=True)
class Chart:
    """A pinned Helm chart: name in its repository, exact version, repository URL."""

    name: str
    version: str
    repo: str


#: kube-prometheus-stack (Prometheus Operator, Prometheus, Alertmanager, Grafana,
#: kube-state-metrics, node-exporter). Pinned to 88.5.3 (prometheus-community/helm-charts,
#: tag kube-prometheus-stack-88.5.3, commit ea930ba, 2026-08-21; subcharts grafana 12.11.1
#: from grafana-community/helm-charts and kube-state-metrics 8.4.0): the newest release whose
#: source we could read at its tag. 89.x exists but could not be checked, and every key the
#: layer sets is tested against the chart's own values and templates at the pinned tag
#: (tests/fixtures/charts/kube-prometheus-stack-88.5.3.json, tests/k8s/test_chart_keys.py).
KUBE_PROMETHEUS_STACK = Chart("kube-prometheus-stack", "88.5.3", "https://prometheus-community.github.io/helm-charts")

#: NVIDIA DCGM exporter. Pinned to chart 4.8.2 (image 4.5.3-4.8.2; NVIDIA/dcgm-exporter tag
#: 4.5.3-4.8.2, commit 691c927, 2026-05-06), the newest 4.8.x whose source we could read at
#: its tag. Not 4.9+: it renames the default DCGM_FI_* metrics and changes units and the
#: Helm values format, which would silently break every alert and dashboard here. The
#: metric names alerts.py and the dashboards use are checked against the counters this
#: chart deploys (its exporter-metrics-config-map) in tests/k8s/test_gpu_metrics.py.
#: Moving on means rewriting alerts.py + dashboards/ together with this pin.
DCGM_EXPORTER = Chart("dcgm-exporter", "4.8.2", "https://nvidia.github.io/dcgm-exporter/helm-charts")

#: NVIDIA device plugin (driver strategy "cloud"). Pinned 2026-11-27 to 0.19.2 (chart
#: nvidia-device-plugin-0.19.2.tgz, released 2026-05-27, NVIDIA/k8s-device-plugin).
#: Values checked against deployments/helm/nvidia-device-plugin/values.yaml: config.name /
#: config.default (external ConfigMap with time-slicing or MIG flags), tolerations,
#: nodeSelector, affinity (overridden: the chart's default affinity expects NFD/GFD labels
#: that our clusters do not run), priorityClassName.
NVIDIA_DEVICE_PLUGIN = Chart("nvidia-device-plugin", "0.19.2", "https://nvidia.github.io/k8s-device-plugin")

#: NVIDIA GPU Operator (driver strategy "operator"). Pinned 2026-11-27 to v25.10.1
#: (NVIDIA/gpu-operator release notes). Not the 26.x line yet: its bundled DCGM exporter
#: has to be reviewed against the DCGM 4.9 metric renames first (see DCGM_EXPORTER).
#: Values checked against deployments/gpu-operator/values.yaml: driver.enabled,
#: toolkit.enabled, devicePlugin.config, dcgmExporter.serviceMonitor, mig.strategy,
#: migManager.config.default, daemonsets.tolerations, node-feature-discovery.worker.
GPU_OPERATOR = Chart("gpu-operator", "v25.10.1", "https://helm.ngc.nvidia.com/nvidia")

#: KServe (cluster endpoints, ``endpoints[].runsOn: cluster``): the newest stable release,
#: v0.20.0 (kserve/kserve tag v0.20.0, commit 1fb7810, 2026-08-06; v0.20.0 is newer than the
#: v0.18.1 / v0.17.1 patch releases tagged after it). Three charts of that tag, published as
#: OCI artefacts (the ``helm install ... oci://.../kserve-resources --version v0.20.0`` of
#: the charts' READMEs): ``kserve-crd`` (the CRDs; it has no values), ``kserve-resources``
#: (controller and webhooks; ``kserve.controller.deploymentMode: Standard``, the v0.20 name of
#: RawDeployment: plain Deployments, Services and HPAs, no Knative or Istio) and
#: ``kserve-runtime-configs`` (the built-in ClusterServingRuntimes). Key paths, runtime
#: names, CRD schema paths: tests/fixtures/charts/kserve-*-v0.20.0.json and
#: tests/fixtures/kserve-v0.20.0.json (scripts/kserve_facts.py), tests/k8s/test_serving.py.
KSERVE_REPO = "oci://ghcr.io/kserve/charts"
KSERVE_CRD = Chart("kserve-crd", "v0.20.0", KSERVE_REPO)
KSERVE_RESOURCES = Chart("kserve-resources", "v0.20.0", KSERVE_REPO)
KSERVE_RUNTIME_CONFIGS = Chart("kserve-runtime-configs", "v0.20.0", KSERVE_REPO)

#: cert-manager: KServe v0.20.0 needs it. kserve-resources renders its webhook Certificate
#: (cert-manager.io/v1) unconditionally and its webhook configurations take their CA through
#: ``cert-manager.io/inject-ca-from`` (charts/kserve-resources/files/kserve/resources.yaml at
#: the tag), so without cert-manager the webhooks have no certificate. Pinned to v1.21.1
#: (cert-manager/cert-manager tag v1.21.1, commit 24e3319, 2026-07-29: the newest release;
#: KServe documents 1.15.0 as the minimum), from the OCI location its README installs from. Key paths: tests/fixtures/charts/cert-manager-v1.21.1.json.
CERT_MANAGER = Chart("cert-manager", "v1.21.1", "oci://quay.io/jetstack/charts")

#: metrics-server (the ``metrics.k8s.io`` API KServe's CPU HPAs read), installed only on a
#: cluster that does not serve that API itself (``cluster.provides_metrics_api`` False).
#: Pinned to chart 3.13.1 (kubernetes-sigs/metrics-server tag metrics-server-helm-chart-3.13.1,
#: commit 842dcc8, 2026-06-11; appVersion 0.8.1, image registry.k8s.io/metrics-server/metrics-server:v0.8.1),
#: the newest chart release. Its defaults are kept: container port 10250, the
#: v1beta1.metrics.k8s.io APIService, non-root read-only container
#: (tests/fixtures/charts/metrics-server-3.13.1.pods.json).
METRICS_SERVER = Chart("metrics-server", "3.13.1", "https://kubernetes-sigs.github.io/metrics-server/")

ALL = (KUBE_PROMETHEUS_STACK, DCGM_EXPORTER, NVIDIA_DEVICE_PLUGIN, GPU_OPERATOR)
#: The charts of cluster serving (installed only when a spec has a ``runsOn: cluster`` endpoint).
SERVING = (CERT_MANAGER, KSERVE_CRD, KSERVE_RESOURCES, KSERVE_RUNTIME_CONFIGS)

CLUSTER_AUTOSCALER_REPO = "https://kubernetes.github.io/autoscaler"


@dataclass(frozen=True)
class AutoscalerRelease:
    """The Cluster Autoscaler for one Kubernetes minor: the chart built for that minor
    (its appVersion is that minor) and the newest autoscaler image of that minor."""

    chart: Chart
    image_tag: str
    #: Where the facts come from (chart tag and commit, image release tag).
    source: str


def _autoscaler(chart_version: str, image_tag: str, source: str) -> AutoscalerRelease:
    return AutoscalerRelease(Chart("cluster-autoscaler", chart_version, CLUSTER_AUTOSCALER_REPO), image_tag, source)


#: Kubernetes minor -> Cluster Autoscaler chart + image. The autoscaler supports exactly one
#: Kubernetes minor per release, and each chart's RBAC is written for its appVersion: chart
#: 9.38.0 (autoscaler 1.31) lacks the ``volumeattachments`` rule autoscaler >= 1.32 waits on
#: before its first loop, so it never scaled (kubernetes/autoscaler issue 7663, PR 7904).
#: Rule: the newest chart whose appVersion is the minor, and the newest image patch release
#: of that minor. Read from kubernetes/autoscaler (tags cluster-autoscaler-chart-*, Chart.yaml
#: appVersion; image tags cluster-autoscaler-1.x.y), snapshot of 2026-08-22. 1.36: the
#: autoscaler 1.36 image is released (1.36.1) but no chart with appVersion 1.36 is yet, so
#: 1.36 is not offered where the autoscaler is installed. Chart key paths of each version:
#: tests/fixtures/charts/cluster-autoscaler-<version>.json.
CLUSTER_AUTOSCALER = {
    "1.33": _autoscaler("9.51.0", "v1.33.6", "chart tag cluster-autoscaler-chart-9.51.0 @9befb31 (appVersion 1.33.0); image cluster-autoscaler-1.33.6"),
    "1.34": _autoscaler("9.53.0", "v1.34.5", "chart tag cluster-autoscaler-chart-9.53.0 @a2db9eb (appVersion 1.34.2); image cluster-autoscaler-1.34.5"),
    "1.35": _autoscaler("9.59.0", "v1.35.2", "chart tag cluster-autoscaler-chart-9.59.0 @5a0b98e (appVersion 1.35.0); image cluster-autoscaler-1.35.2"),
}


#: Minors with an autoscaler image but no chart built for them yet (why each is refused).
CLUSTER_AUTOSCALER_PENDING = {
    "1.36": "autoscaler 1.36.1 is released (2026-07-22) but no chart has appVersion 1.36 yet (newest: 9.59.0, built for 1.35)",
}


def cluster_autoscaler(version: str, path: str = "cluster.version") -> AutoscalerRelease:
    """The autoscaler release for Kubernetes ``version`` (a minor, e.g. ``1.35``), or a
    ``ConfigError`` on ``path`` listing the minors there is one for."""
    found = CLUSTER_AUTOSCALER.get(version)
    if found is None:
        supported = ", ".join(CLUSTER_AUTOSCALER)
        pending = CLUSTER_AUTOSCALER_PENDING.get(version)
        raise ConfigError(
            path,
            "has no Cluster Autoscaler release built for it (the autoscaler supports one Kubernetes minor per release"
            + (f"; {pending})" if pending else ")"),
            f"supported: {supported}",
            value=version,
        )
    return found
