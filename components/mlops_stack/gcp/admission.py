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

#: Public image paths the default images of the charts pinned in mlops_stack.k8s.charts
#: live under (kube-prometheus-stack with its grafana, kube-state-metrics and
#: node-exporter sub-charts; dcgm-exporter; nvidia-device-plugin; gpu-operator with
#: node-feature-discovery; KServe and cert-manager for cluster endpoints). Taken from the charts' image registry/repository defaults
#: (e.g. grafana's sidecar: registry quay.io, repository kiwigrid/k8s-sidecar), 2026-11-29;
#: not re-derived from every values.yaml at the pinned versions: an image outside this
#: list is audit-logged by the dry run in dev and staging before prod would block it.
#: A trailing ``**`` matches sub-paths (Binary Authorization AdmissionWhitelistPattern).
CHART_IMAGE_PATTERNS = (
    "quay.io/prometheus/**",
    "quay.io/prometheus-operator/**",
    "quay.io/kiwigrid/**",
    "docker.io/grafana/**",
    "docker.io/library/busybox*",
    "registry.k8s.io/kube-state-metrics/**",
    "registry.k8s.io/ingress-nginx/**",
    "registry.k8s.io/nfd/**",
    "nvcr.io/nvidia/**",
    # Cluster endpoints (charts.SERVING, kserve/kserve v0.20.0 and cert-manager v1.21.1 values):
    # the KServe controller, storage initializer and model servers, its kube-rbac-proxy,
    # cert-manager, and the third-party runtimes the runtimes chart names (Triton is under
    # nvcr.io/nvidia above).
    "docker.io/kserve/**",
    "quay.io/brancz/kube-rbac-proxy*",
    "quay.io/jetstack/**",
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
