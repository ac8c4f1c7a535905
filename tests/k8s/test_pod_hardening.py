"""The pod-level hardening a reviewer checks is stated in the kube-prometheus-stack values of
every example plan (plan scanners do not read Helm charts); the keys are checked against the
pinned chart by test_chart_keys.py."""

from __future__ import annotations

import pytest

from k8s_helpers import RELEASE
from planning import example_stacks, plan_example

NON_ROOT = {"runAsNonRoot": True}


def kps_values(stack: str) -> dict:
    (release,) = [r for r in plan_example(stack).of_type(RELEASE) if r.inputs["chart"] == "kube-prometheus-stack"]
    return release.inputs["values"]


@pytest.mark.parametrize("stack", example_stacks())
def test_monitoring_pods_are_non_root_locked_down_and_memory_limited(stack: str) -> None:
    v = kps_values(stack)
    pods = {
        "prometheus": v["prometheus"]["prometheusSpec"],
        "alertmanager": v["alertmanager"]["alertmanagerSpec"],
        "operator": v["prometheusOperator"],
        "kube-state-metrics": v["kube-state-metrics"],
        "grafana": v["grafana"],
    }
    for name, pod in pods.items():
        ctx = pod["securityContext"]
        assert ctx["runAsNonRoot"] is True and ctx["runAsUser"] != 0, name
        assert pod["resources"]["limits"]["memory"], name
        assert pod["resources"]["requests"]["cpu"] and pod["resources"]["requests"]["memory"], name
    for name in ("operator", "kube-state-metrics"):
        c = pods[name]["containerSecurityContext"]
        assert c == {"allowPrivilegeEscalation": False, "readOnlyRootFilesystem": True, "capabilities": {"drop": ["ALL"]}}, name
    g = pods["grafana"]["containerSecurityContext"]
    assert g["allowPrivilegeEscalation"] is False and g["privileged"] is False and g["capabilities"] == {"drop": ["ALL"]}
    assert pods["grafana"]["initChownData"] == {"enabled": False}  # no root init container
    for name in ("prometheus", "alertmanager", "operator", "kube-state-metrics"):
        assert pods[name]["securityContext"]["seccompProfile"] == {"type": "RuntimeDefault"}, name
    # No host namespaces for these workloads.
    for name in ("prometheus", "operator", "kube-state-metrics"):
        assert not pods[name].get("hostNetwork") and not pods[name].get("hostPID"), name
