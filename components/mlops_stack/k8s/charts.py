"""The Helm charts the Kubernetes layer installs, each pinned to one version.

Every pin is a named constant with where it comes from and why it is this version.
Bump deliberately: read the chart's release notes and values.yaml, then review the plan
diff (`mlops-stack plan`). The chart repository URLs are the projects' own.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Chart:
    """A pinned Helm chart: name in its repository, exact version, repository URL."""

    name: str
    version: str
    repo: str


#: kube-prometheus-stack (Prometheus Operator, Prometheus, Alertmanager, Grafana,
#: kube-state-metrics, node-exporter). Pinned 2026-11-27 to the newest release seen in
#: the upstream release notes (prometheus-community/helm-charts, tag
#: kube-prometheus-stack-89.1.0). Values used here (prometheus.prometheusSpec.{retention,
#: retentionSize,storageSpec,*SelectorNilUsesHelmValues}, grafana.admin.existingSecret,
#: grafana.sidecar.dashboards, kube-state-metrics.metricLabelsAllowlist,
#: additionalPrometheusRulesMap) were checked against charts/kube-prometheus-stack/values.yaml
#: and the grafana chart README (admin.existingSecret/userKey/passwordKey).
KUBE_PROMETHEUS_STACK = Chart("kube-prometheus-stack", "89.1.0", "https://prometheus-community.github.io/helm-charts")

#: NVIDIA DCGM exporter. Pinned 2026-11-27 to 4.8.4 (image 4.6.1-4.8.4), the last 4.8.x
#: release, ON PURPOSE: 4.9.0 renames the default DCGM_FI_* metrics and changes units
#: (memory MiB -> bytes, utilisation % -> ratio) and the Helm values format, which would
#: silently break every alert and dashboard here. Metric names used by alerts.py and the
#: dashboards are the ones in NVIDIA/dcgm-exporter etc/default-counters.csv (4.8.x).
#: Moving to 4.9+ means rewriting alerts.py + dashboards/ together with this pin.
DCGM_EXPORTER = Chart("dcgm-exporter", "4.8.4", "https://nvidia.github.io/dcgm-exporter/helm-charts")

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

ALL = (KUBE_PROMETHEUS_STACK, DCGM_EXPORTER, NVIDIA_DEVICE_PLUGIN, GPU_OPERATOR)
