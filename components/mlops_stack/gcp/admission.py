"""GKE Binary Authorization: the project's admission policy (a project singleton).

Every GKE cluster of the stack evaluates the project policy
(``PROJECT_SINGLETON_POLICY_ENFORCE``; CIS GKE 5.10.5). The policy denies every image
that is not allowlisted: the stack's own Artifact Registry repositories and the public
registries the pinned Helm charts of the Kubernetes layer pull from
(``mlops_stack.k8s.charts``). Google-maintained system images are admitted by the global
policy (``globalPolicyEvaluationMode: ENABLE``).

Prod blocks and audit-logs (``ENFORCED_BLOCK_AND_AUDIT_LOG``); dev and staging only
audit-log (``DRYRUN_AUDIT_LOG_ONLY``), so an image missing from the allowlist shows up
in Cloud Audit Logs of a lower environment before prod would reject it.

The policy is one per project: a second stack in the same project manages the same
resource (use one project per environment, as docs/gcp.md recommends), and deleting the
stack resets the project to Google's default policy (allow all).
"""

from __future__ import annotations

from collections.abc import Iterable

import pulumi
import pulumi_gcp as gcp

from mlops_stack.args import Env, child_opts

#: How the cluster evaluates images: against the project singleton policy.
CLUSTER_EVALUATION_MODE = "PROJECT_SINGLETON_POLICY_ENFORCE"
#: Enforcement of the default rule per environment (Binary Authorization API enum).
ENFORCEMENT = {"prod": "ENFORCED_BLOCK_AND_AUDIT_LOG"}
DRY_RUN = "DRYRUN_AUDIT_LOG_ONLY"

#: Public images the stack installs on GKE, by where they come from. Each pattern is checked
#: against every image the pinned charts render by default with the layer's values (hook
#: jobs, subcharts and the containers KServe injects included: tests/fixtures/charts/
#: <chart>-<version>.pods.json, each fact with its chart tag) and every image in the example
#: plans (tests/k8s/test_k8s_validation.py), so a chart bump that moves an image fails a test
#: instead of a prod apply. A trailing ``*`` matches within one path part, ``**`` across
#: parts (Binary Authorization admission allowlist patterns, ``registry/path``).
#: GKE's own system images (its device plugin, its metrics-server) are Google-maintained and
#: admitted by the global policy (``globalPolicyEvaluationMode: ENABLE``).
CHART_IMAGE_PATTERNS = (
    # kube-prometheus-stack 88.5.3: Prometheus, Alertmanager, node-exporter; the operator and
    # its config reloader; the admission webhook certificate jobs (pre-/post-install hooks,
    # ghcr.io/jkroepke/kube-webhook-certgen since the chart left registry.k8s.io/ingress-nginx);
    # Grafana 12.11.1 and its dashboard/datasource sidecars; kube-state-metrics 8.4.0.
    "quay.io/prometheus/**",
    "quay.io/prometheus-operator/**",
    "ghcr.io/jkroepke/kube-webhook-certgen*",
    "docker.io/grafana/grafana*",
    "quay.io/kiwigrid/k8s-sidecar*",
    "registry.k8s.io/kube-state-metrics/**",
    # dcgm-exporter 4.8.2 (nvcr.io/nvidia/k8s/dcgm-exporter) and KServe's Triton runtime.
    "nvcr.io/nvidia/**",
    # The self-hosted MLflow tracking server (k8s/tracking.py MLFLOW_IMAGE).
    "ghcr.io/mlflow/mlflow*",
    # Cluster endpoints (charts.SERVING): cert-manager v1.21.1 (controller, webhook,
    # cainjector, startupapicheck hook); KServe v0.20.0 controller, its kube-rbac-proxy, the
    # storage initializer it injects and its model-server runtimes (written docker.io/...
    # by the layer); the third-party runtimes the runtimes chart names.
    "quay.io/jetstack/**",
    "docker.io/kserve/**",
    "quay.io/brancz/kube-rbac-proxy*",
    "docker.io/tensorflow/serving*",
    "docker.io/pytorch/torchserve-kfs*",
    "docker.io/seldonio/mlserver*",
)


def enforcement_mode(env: Env) -> str:
    return ENFORCEMENT.get(env.environment, DRY_RUN)


def registry_patterns(region: str, project: str, repositories: Iterable[str]) -> list[str]:
    """One allowlist pattern per Artifact Registry repository of the stack."""
    return [f"{region}-docker.pkg.dev/{project}/{repo}/**" for repo in repositories]


def allowlist(region: str, project: str, repositories: Iterable[str]) -> list[str]:
    return [*registry_patterns(region, project, repositories), *CHART_IMAGE_PATTERNS]


def project_policy(
    parent: pulumi.Resource,
    name: str,
    env: Env,
    *,
    project: pulumi.Output[str],
    repositories: pulumi.Input[list[str]],
    depends_on: list[pulumi.Resource],
) -> gcp.binaryauthorization.Policy:
    """The project's Binary Authorization policy: deny by default, allowlisted images admitted."""
    patterns = pulumi.Output.all(project, repositories).apply(lambda v: allowlist(env.region, v[0], v[1]))
    return gcp.binaryauthorization.Policy(
        f"{name}-binauthz-policy",
        description=f"mlops-stack {env.prefix}: only the stack's registries and the pinned charts' images",
        global_policy_evaluation_mode="ENABLE",
        admission_whitelist_patterns=patterns.apply(
            lambda ps: [gcp.binaryauthorization.PolicyAdmissionWhitelistPatternArgs(name_pattern=p) for p in ps]
        ),
        default_admission_rule=gcp.binaryauthorization.PolicyDefaultAdmissionRuleArgs(
            evaluation_mode="ALWAYS_DENY", enforcement_mode=enforcement_mode(env)
        ),
        opts=child_opts(parent, depends_on=depends_on),
    )
