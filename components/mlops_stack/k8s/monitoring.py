"""Monitoring on any cluster: kube-prometheus-stack, the DCGM exporter, dashboards as code.

``Monitoring`` (``mlops:k8s:Monitoring``) installs, in its own ``monitoring`` namespace:

- the cluster's StorageClass (``cluster.storage_class``) for the Prometheus, Alertmanager
  and Grafana volumes (retained on delete in prod);
- kube-prometheus-stack (pinned, see ``charts.py``): retention and volume size from the
  spec, ServiceMonitors / PodMonitors / PrometheusRules / Probes discovered in every
  namespace (``*SelectorNilUsesHelmValues: false`` and empty namespace selectors), the
  GPU pool node labels exported by kube-state-metrics, the layer's rule groups
  (``alerts.py``), Grafana with its dashboard sidecar and ClusterIP unless
  ``monitoring.grafanaPublic``;
- the Grafana admin password: a ``random.RandomPassword`` (a Pulumi secret) written to a
  Kubernetes Secret that Grafana reads (``admin.existingSecret``) - never a Helm value;
- the DCGM exporter (when GPU metrics are on and the GPU Operator does not run its own):
  on GPU pool nodes only, tolerating the GPU taint, with a ServiceMonitor that keeps the
  workload's ``namespace``/``pod`` labels and adds the ``node`` label;
- the GPU dashboards as ConfigMaps labelled for the Grafana sidecar.

Outputs (common): ``grafana_url``, ``prometheus_url`` (in-cluster service addresses).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from importlib import resources
from typing import Any

import pulumi
import pulumi_kubernetes as k8s
import pulumi_random as random

from mlops_stack.args import Env, MonitoringArgs, child_opts, merge_opts
from mlops_stack.k8s import alerts, charts
from mlops_stack.k8s._common import (
    CRITICAL_POD_HEADROOM,
    GPU_NODE_AFFINITY,
    GPU_NODE_SELECTOR,
    MONITORING_NAMESPACE,
    NODE_LABELS_EXPORTED,
    critical_pods_quota,
    gpu_node_count,
    gpu_tolerations,
    helm_release,
    k8s_labels,
    namespace,
    with_overrides,
)
from mlops_stack.spec import MonitoringSpec

#: Helm release names (service names derive from them, and so do the output URLs).
KPS_RELEASE = "kube-prometheus-stack"
DCGM_RELEASE = "dcgm-exporter"
GRAFANA_FULLNAME = "grafana"
PROMETHEUS_SERVICE = f"{KPS_RELEASE}-prometheus"
PROMETHEUS_PORT = 9090
GRAFANA_PORT = 80
GRAFANA_ADMIN_SECRET = "grafana-admin"
GRAFANA_ADMIN_USER = "admin"
GRAFANA_PASSWORD_LENGTH = 32
#: The label/value the kube-prometheus-stack Grafana sidecar loads dashboards from.
DASHBOARD_LABEL = "grafana_dashboard"
DASHBOARD_LABEL_VALUE = "1"
#: Dashboards shipped with the package (``k8s/dashboards/*.json``), by ConfigMap role.
DASHBOARD_FILES = {"gpu-overview": "gpu-overview.json", "dcgm-gpus": "dcgm-gpus.json"}
GRAFANA_VOLUME_GB = 10
ALERTMANAGER_VOLUME_GB = 10
#: Prometheus stops at this share of its volume (retentionSize) before the disk fills.
RETENTION_SIZE_SHARE = 0.85


@dataclass(frozen=True)
class MonitoringPlan:
    """What a spec asks the Monitoring component for (pure: decided before any resource)."""

    install_dcgm_exporter: bool
    dashboards: tuple[str, ...]
    rule_groups: list[dict[str, Any]] = field(default_factory=list)


def monitoring_plan(args: MonitoringArgs) -> MonitoringPlan:
    gpu_metrics = args.monitoring.gpu_metrics and bool(args.gpu_pools)
    # With the GPU Operator, its own DCGM exporter (and ServiceMonitor) is used instead.
    standalone_dcgm = gpu_metrics and args.gpu.driver != "operator"
    return MonitoringPlan(
        install_dcgm_exporter=standalone_dcgm,
        dashboards=tuple(DASHBOARD_FILES) if gpu_metrics else (),
        rule_groups=alerts.rule_groups(alerts.pool_facts(args.gpu_pools), gpu_metrics=gpu_metrics),
    )


def load_dashboard(role: str) -> str:
    """The JSON text of a packaged dashboard (validated: it must parse)."""
    text = resources.files("mlops_stack.k8s").joinpath("dashboards", DASHBOARD_FILES[role]).read_text(encoding="utf-8")
    json.loads(text)
    return text


def service_url(service: str, namespace_name: str, port: int) -> str:
    return f"http://{service}.{namespace_name}.svc.cluster.local:{port}"


def _volume_claim(storage_class: pulumi.Input[str] | None, size_gb: int) -> dict[str, Any]:
    spec: dict[str, Any] = {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": f"{size_gb}Gi"}}}
    if storage_class is not None:
        spec["storageClassName"] = storage_class
    return {"volumeClaimTemplate": {"spec": spec}}


#: Pod hardening of the kube-prometheus-stack workloads, stated in our values so the plan
#: shows it (plan scanners do not read Helm charts). Every key below is one the pinned chart
#: reads (tests/fixtures/charts/kube-prometheus-stack-<version>.json, tests/k8s/test_chart_keys.py);
#: the IDs are the chart's own defaults. Non-root, RuntimeDefault seccomp, no privilege
#: escalation, every capability dropped, a read-only root filesystem where the process writes
#: only to volumes, and memory limits (no CPU limits: throttling a scraper loses samples).
#: Prometheus and Alertmanager containers get their container security context from the
#: Prometheus Operator (read-only root, no escalation, capabilities dropped), not from values.
#: Exceptions, documented in docs/security.md: Grafana's root filesystem stays writable (the
#: image writes outside its data volume), and node-exporter keeps the chart's hostNetwork /
#: hostPID (it reports the node's own network and process metrics).
PROMETHEUS_POD = {"runAsNonRoot": True, "runAsUser": 1000, "runAsGroup": 2000, "fsGroup": 2000, "seccompProfile": {"type": "RuntimeDefault"}}
NOBODY_POD = {"runAsNonRoot": True, "runAsUser": 65534, "runAsGroup": 65534, "fsGroup": 65534, "seccompProfile": {"type": "RuntimeDefault"}}
GRAFANA_POD = {"runAsNonRoot": True, "runAsUser": 472, "runAsGroup": 472, "fsGroup": 472}
LOCKED_CONTAINER = {"allowPrivilegeEscalation": False, "readOnlyRootFilesystem": True, "capabilities": {"drop": ["ALL"]}}
GRAFANA_CONTAINER = {"allowPrivilegeEscalation": False, "privileged": False, "capabilities": {"drop": ["ALL"]}, "seccompProfile": {"type": "RuntimeDefault"}}


def _resources(cpu: str, memory: str, memory_limit: str) -> dict[str, Any]:
    return {"requests": {"cpu": cpu, "memory": memory}, "limits": {"memory": memory_limit}}


def pod_hardening() -> dict[str, Any]:
    """The hardening part of the kube-prometheus-stack values (pure; merged into them)."""
    return {
        "prometheus": {"prometheusSpec": {"securityContext": dict(PROMETHEUS_POD), "resources": _resources("500m", "2Gi", "8Gi")}},
        "alertmanager": {"alertmanagerSpec": {"securityContext": dict(PROMETHEUS_POD), "resources": _resources("50m", "128Mi", "512Mi")}},
        "prometheusOperator": {
            "securityContext": dict(NOBODY_POD),
            "containerSecurityContext": dict(LOCKED_CONTAINER),
            "resources": _resources("100m", "128Mi", "512Mi"),
        },
        "kube-state-metrics": {
            "securityContext": {"enabled": True, **NOBODY_POD},
            "containerSecurityContext": dict(LOCKED_CONTAINER),
            "resources": _resources("50m", "128Mi", "512Mi"),
        },
        "grafana": {
            "securityContext": dict(GRAFANA_POD),
            "containerSecurityContext": dict(GRAFANA_CONTAINER),
            # The chart's init container chowns the volume as root; fsGroup 472 gives Grafana
            # the volume without it (the EBS, PD and Azure Disk CSI drivers apply fsGroup).
            "initChownData": {"enabled": False},
            "resources": _resources("100m", "256Mi", "1Gi"),
        },
    }


def _deep_merge(base: dict[str, Any], extra: dict[str, Any]) -> dict[str, Any]:
    out = dict(base)
    for k, v in extra.items():
        out[k] = _deep_merge(out[k], v) if isinstance(v, dict) and isinstance(out.get(k), dict) else v
    return out


#: The kube-prometheus-stack 88.5.3 value key of each neutral scrape target
#: (constants.SCRAPE_TARGETS). ``<key>.enabled: false`` drops the Service, the
#: ServiceMonitor and the alert group together: templates/prometheus/rules-1.14/
#: kubernetes-system-scheduler.yaml, kubernetes-system-controller-manager.yaml,
#: kubernetes-system-kube-proxy.yaml and etcd.yaml are each guarded by ``.Values.<key>.enabled``
#: (tag kube-prometheus-stack-88.5.3), so KubeSchedulerDown, KubeControllerManagerDown,
#: KubeProxyDown and the etcd alerts are not installed where nothing can be scraped.
#: The DNS pair is chosen the same way: ``coreDns`` (port 9153 on ``k8s-app=kube-dns`` pods, on
#: by default) and ``kubeDns`` (kube-dns's sidecar 10054 and dnsmasq 10055, off by default),
#: values.yaml of the same tag; a cluster that runs kube-dns instead of CoreDNS would otherwise keep
#: a CoreDNS job whose target never answers and ``TargetDown`` that never clears.
SCRAPE_TARGET_KEYS = {
    "scheduler": "kubeScheduler", "controller-manager": "kubeControllerManager", "etcd": "kubeEtcd", "kube-proxy": "kubeProxy",
    "coredns": "coreDns", "kube-dns": "kubeDns",
}
#: The chart's default for each target's ``enabled`` where it is not on (values.yaml, 88.5.3).
SCRAPE_TARGET_DEFAULT_OFF = frozenset({"kube-dns"})


def scrape_target_values(cluster: Any) -> dict[str, Any]:
    """``{"kubeScheduler": {"enabled": False}, ...}`` for every component the cluster does not
    let Prometheus scrape (``cluster.scrape_targets``; absent: all can be, but kube-dns), and
    ``{"kubeDns": {"enabled": True}}`` where the cluster runs kube-dns."""
    targets = getattr(cluster, "scrape_targets", None) or {}
    values: dict[str, Any] = {}
    for name, key in SCRAPE_TARGET_KEYS.items():
        on = targets.get(name, name not in SCRAPE_TARGET_DEFAULT_OFF)
        if on is not (name not in SCRAPE_TARGET_DEFAULT_OFF):
            values[key] = {"enabled": bool(on)}
    return values


def kube_prometheus_values(
    env: Env,
    spec: MonitoringSpec,
    *,
    storage_class: pulumi.Input[str] | None,
    admin_secret: pulumi.Input[str],
    rule_groups: list[dict[str, Any]],
    cluster: Any = None,
) -> dict[str, Any]:
    """kube-prometheus-stack values (pure). No secret is ever placed in them."""
    grafana_persistence: dict[str, Any] = {"enabled": True, "size": f"{GRAFANA_VOLUME_GB}Gi", "accessModes": ["ReadWriteOnce"]}
    if storage_class is not None:
        grafana_persistence["storageClassName"] = storage_class
    values: dict[str, Any] = {
        "fullnameOverride": KPS_RELEASE,
        "crds": {"enabled": True},
        "prometheus": {
            "service": {"type": "ClusterIP"},
            "prometheusSpec": {
                "retention": f"{spec.retention_days}d",
                "retentionSize": f"{max(1, int(spec.storage_gb * RETENTION_SIZE_SHARE))}GB",
                "storageSpec": _volume_claim(storage_class, spec.storage_gb),
                # Discover monitors and rules of every release, in every namespace.
                "serviceMonitorSelectorNilUsesHelmValues": False,
                "podMonitorSelectorNilUsesHelmValues": False,
                "ruleSelectorNilUsesHelmValues": False,
                "probeSelectorNilUsesHelmValues": False,
                "scrapeConfigSelectorNilUsesHelmValues": False,
                "serviceMonitorSelector": {},
                "serviceMonitorNamespaceSelector": {},
                "podMonitorSelector": {},
                "podMonitorNamespaceSelector": {},
                "ruleSelector": {},
                "ruleNamespaceSelector": {},
                "externalLabels": {"environment": env.environment, "mlops_stack": env.prefix},
            },
        },
        "alertmanager": {"alertmanagerSpec": {"storage": _volume_claim(storage_class, ALERTMANAGER_VOLUME_GB)}},
        "grafana": {
            "fullnameOverride": GRAFANA_FULLNAME,
            # The password lives in a Kubernetes Secret we create from a Pulumi secret.
            "admin": {"existingSecret": admin_secret, "userKey": "admin-user", "passwordKey": "admin-password"},
            "service": {"type": "LoadBalancer" if spec.grafana_public else "ClusterIP"},
            "persistence": grafana_persistence,
            # A ReadWriteOnce volume cannot be attached to two pods during a rolling update.
            "deploymentStrategy": {"type": "Recreate"},
            "sidecar": {"dashboards": {"enabled": True, "label": DASHBOARD_LABEL, "labelValue": DASHBOARD_LABEL_VALUE, "searchNamespace": "ALL"}},
        },
        # kube_node_labels carries only allow-listed labels: export the GPU pool labels.
        "kube-state-metrics": {"metricLabelsAllowlist": [f"nodes=[{','.join(NODE_LABELS_EXPORTED)}]"]},
    }
    values.update(scrape_target_values(cluster))
    if rule_groups:
        values["additionalPrometheusRulesMap"] = {"mlops-gpu": {"groups": rule_groups}}
    return _deep_merge(values, pod_hardening())


#: The ServiceMonitor settings DCGM metrics need, for the standalone chart and the operator:
#: keep the GPU workload's namespace/pod/container labels (honorLabels), add the node name,
#: and drop the exporter pod's own namespace/pod/container target labels - otherwise every
#: idle GPU (no workload labels) is reported under the exporter's namespace ("monitoring").
DCGM_SERVICE_MONITOR = {
    "enabled": True,
    "interval": "30s",
    "honorLabels": True,
    "relabelings": [
        {"sourceLabels": ["__meta_kubernetes_pod_node_name"], "targetLabel": "node", "action": "replace"},
        {"regex": "namespace|pod|container", "action": "labeldrop"},
    ],
}
#: The chart's own mount of its counters ConfigMap (dcgm-exporter chart 4.8.2 values.yaml
#: ``extraVolumeMounts``): set explicitly because a list in our values replaces the chart's.
DCGM_COUNTERS_MOUNT = {"name": "exporter-metrics-volume", "mountPath": "/etc/dcgm-exporter/default-counters.csv", "subPath": "default-counters.csv"}
#: Node daemonset priority (the chart's default too): admitted on GKE through the
#: monitoring namespace's critical-pods quota.
DCGM_PRIORITY_CLASS = "system-node-critical"


def dcgm_exporter_values(tolerations: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    """DCGM exporter chart values (pure): GPU pool nodes only, tolerating the GPU taint (and
    ``tolerations``, the cloud's own GPU node taints). Helm merges maps with the chart's
    defaults, so ``resources`` states every request and limit (the chart's 200m CPU limit
    would otherwise stay and throttle the exporter)."""
    return {
        "serviceMonitor": dict(DCGM_SERVICE_MONITOR),
        "tolerations": list(tolerations) if tolerations is not None else gpu_tolerations(None),
        "nodeSelector": dict(GPU_NODE_SELECTOR),
        "affinity": GPU_NODE_AFFINITY,
        "priorityClassName": DCGM_PRIORITY_CLASS,
        "extraVolumeMounts": [dict(DCGM_COUNTERS_MOUNT)],
        "resources": {"requests": {"cpu": "100m", "memory": "256Mi"}, "limits": {"cpu": "1", "memory": "1Gi"}},
    }


class Monitoring(pulumi.ComponentResource):
    """``mlops:k8s:Monitoring``. Args: ``MonitoringArgs`` (``gpu_pools`` = the spec's
    ``GpuPoolSpec`` list, ``cluster`` = a cluster component with ``storage_class``).

    Outputs: ``grafana_url``, ``prometheus_url``, ``namespace``, ``grafana_admin_secret``
    (the Kubernetes Secret's name), ``grafana_admin_password`` (a Pulumi secret),
    ``storage_class_name``.
    """

    grafana_url: pulumi.Output[str]
    prometheus_url: pulumi.Output[str]
    namespace: pulumi.Output[str]
    grafana_admin_secret: pulumi.Output[str]
    grafana_admin_password: pulumi.Output[str]
    storage_class_name: pulumi.Output[str] | None
    release: k8s.helm.v3.Release

    def __init__(self, name: str, args: MonitoringArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("mlops:k8s:Monitoring", name, None, merge_opts(opts))
        env, spec = args.env, args.monitoring
        plan = monitoring_plan(args)

        ns = namespace(
            self,
            f"{name}-namespace",
            MONITORING_NAMESPACE,
            # node-exporter (host network/PID) and the DCGM exporter (SYS_ADMIN) are privileged.
            k8s_labels(env, "monitoring", **{"pod-security.kubernetes.io/enforce": "privileged"}),
        )
        ns_name = ns.metadata.name

        sc = getattr(args.cluster, "storage_class", None)
        storage_class_name: pulumi.Output[str] | None = None
        if sc:
            keep = env.protect_stateful
            storage_class = k8s.storage.v1.StorageClass(
                f"{name}-storage-class",
                metadata=k8s.meta.v1.ObjectMetaArgs(name=sc["name"], labels=k8s_labels(env, "storage")),
                provisioner=sc["provisioner"],
                parameters=dict(sc.get("parameters") or {}),
                reclaim_policy="Retain" if keep else "Delete",
                volume_binding_mode="WaitForFirstConsumer",
                allow_volume_expansion=True,
                opts=child_opts(self),
            )
            storage_class_name = storage_class.metadata.name

        password = random.RandomPassword(
            f"{name}-grafana-admin-password",
            length=GRAFANA_PASSWORD_LENGTH,
            special=True,
            override_special="-_.~",
            min_upper=2,
            min_lower=2,
            min_numeric=2,
            opts=child_opts(self),
        )
        admin = k8s.core.v1.Secret(
            f"{name}-grafana-admin",
            metadata=k8s.meta.v1.ObjectMetaArgs(name=GRAFANA_ADMIN_SECRET, namespace=ns_name, labels=k8s_labels(env, "grafana")),
            type="Opaque",
            string_data={"admin-user": GRAFANA_ADMIN_USER, "admin-password": password.result},
            opts=child_opts(self),
        )

        values = with_overrides(
            kube_prometheus_values(env, spec, storage_class=storage_class_name, admin_secret=admin.metadata.name, rule_groups=plan.rule_groups, cluster=args.cluster),
            args.cluster,
            charts.KUBE_PROMETHEUS_STACK,
        )
        self.release = helm_release(self, f"{name}-kube-prometheus-stack", charts.KUBE_PROMETHEUS_STACK, ns_name, values, release_name=KPS_RELEASE)

        if plan.install_dcgm_exporter:
            # GKE admits system-node-critical pods outside kube-system only under such a quota.
            quota = critical_pods_quota(
                self, f"{name}-critical-pods", ns_name, k8s_labels(env, "monitoring"), gpu_node_count(args.gpu_pools) + CRITICAL_POD_HEADROOM
            )
            # Its chart renders a ServiceMonitor: install after the Prometheus Operator CRDs.
            helm_release(
                self,
                f"{name}-dcgm-exporter",
                charts.DCGM_EXPORTER,
                ns_name,
                with_overrides(dcgm_exporter_values(gpu_tolerations(args.cluster)), args.cluster, charts.DCGM_EXPORTER),
                release_name=DCGM_RELEASE,
                depends_on=[self.release, quota],
            )
        for role in plan.dashboards:
            k8s.core.v1.ConfigMap(
                f"{name}-dashboard-{role}",
                metadata=k8s.meta.v1.ObjectMetaArgs(
                    name=f"mlops-dashboard-{role}",
                    namespace=ns_name,
                    labels={**k8s_labels(env, "dashboards"), DASHBOARD_LABEL: DASHBOARD_LABEL_VALUE},
                ),
                data={DASHBOARD_FILES[role]: load_dashboard(role)},
                opts=child_opts(self),
            )

        self.namespace = ns_name
        self.storage_class_name = storage_class_name
        self.grafana_admin_secret = admin.metadata.name
        self.grafana_admin_password = password.result
        self.prometheus_url = pulumi.Output.concat("http://", PROMETHEUS_SERVICE, ".", ns_name, f".svc.cluster.local:{PROMETHEUS_PORT}")
        self.grafana_url = pulumi.Output.concat("http://", GRAFANA_FULLNAME, ".", ns_name, f".svc.cluster.local:{GRAFANA_PORT}")
        self.register_outputs(
            {
                "grafana_url": self.grafana_url,
                "prometheus_url": self.prometheus_url,
                "namespace": self.namespace,
                "grafana_admin_secret": self.grafana_admin_secret,
                "grafana_admin_password": self.grafana_admin_password,
            }
        )
