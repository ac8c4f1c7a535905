"""Names every target and the Kubernetes layer share, defined once (neutral; no imports).

The policy pack cannot import this package, so ``scripts/gen_policy_tables.py`` copies
the taint key into ``policies/mlops_policies/generated.py`` (a sync test checks it).
"""

#: The taint every GPU pool carries on every cloud, so only pods that tolerate it
#: (GPU workloads, the device plugin, DCGM) are scheduled on GPU nodes.
GPU_TAINT_KEY = "nvidia.com/gpu"
GPU_TAINT_VALUE = "true"
GPU_TAINT_EFFECT = "NoSchedule"
#: Node label keys every pool carries on every cloud (the k8s layer selects on them).
POOL_LABEL = "mlops-stack/pool"
GPU_LABEL = "mlops-stack/gpu"

#: Namespaces the Kubernetes layer owns, and with Kubernetes' own: names a team
#: namespace from the spec may not take.
MONITORING_NAMESPACE = "monitoring"
DEVICE_PLUGIN_NAMESPACE = "nvidia-device-plugin"
GPU_OPERATOR_NAMESPACE = "gpu-operator"
#: Cluster serving (``endpoints[].runsOn: cluster``): KServe's controller, its certificates, the models.
KSERVE_NAMESPACE = "kserve"
CERT_MANAGER_NAMESPACE = "cert-manager"
SERVING_NAMESPACE = "serving"
#: The self-hosted MLflow server's namespace (``k8s/tracking.py``).
TRACKING_NAMESPACE = "mlflow"
RESERVED_NAMESPACES = frozenset(
    {
        MONITORING_NAMESPACE,
        DEVICE_PLUGIN_NAMESPACE,
        GPU_OPERATOR_NAMESPACE,
        KSERVE_NAMESPACE,
        CERT_MANAGER_NAMESPACE,
        SERVING_NAMESPACE,
        TRACKING_NAMESPACE,
        "default",
        "kube-system",
        "kube-public",
        "kube-node-lease",
    }
)

#: Pulumi auto-naming appends "-" and 7 hex characters to a logical name.
AUTONAME_SUFFIX = 8

#: The longest bucket name of the strictest built-in target (S3 and GCS: 63 characters).
MAX_BUCKET_NAME = 63
#: The longest ``<name>-<environment>-<bucket>`` base: auto-naming appends its suffix.
MAX_BUCKET_BASE = MAX_BUCKET_NAME - AUTONAME_SUFFIX

#: Ports the in-cluster layer's admission webhooks and aggregated APIs listen on (the pod's
#: container port: the API server calls the endpoint pod IP, not the Service port), at the
#: pinned chart versions (tests/fixtures/charts/*.pods.json carry each with its source):
#: KServe v0.20.0 controller webhook 9443; cert-manager v1.21.1 webhook 10250; Prometheus
#: Operator (kube-prometheus-stack 88.5.3) 10250; metrics-server chart 3.13.1 10250. A
#: target whose nodes are private opens these from the control plane (GKE: a firewall rule;
#: GKE's own rule admits only 443 and 10250).
CONTROL_PLANE_WEBHOOK_PORTS = (9443, 10250)

#: The neutral names of the system components a cluster may or may not let Prometheus
#: scrape (a cluster component's ``scrape_targets``; absent = every one is scrapeable, but
#: for kube-dns, which a cluster runs only when it says so: CoreDNS is the default DNS).
SCRAPE_TARGETS = ("scheduler", "controller-manager", "etcd", "kube-proxy", "coredns", "kube-dns")
