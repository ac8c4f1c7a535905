"""Tenancy for ML teams: one namespace per spec entry, with its guard rails.

``Tenancy`` (``mlops:k8s:Tenancy``) creates, for each ``spec.namespaces[]``:

- the Namespace (Pod Security ``baseline`` enforced, ``restricted`` warned);
- a ResourceQuota: ``requests.nvidia.com/gpu``, ``requests.cpu``, ``requests.memory``
  (GPU quota 0 means the namespace cannot use GPUs);
- a LimitRange giving containers default requests (the quota requires requests) and no
  default limit: a default limit would make a container that requests more than it and
  sets no limit of its own invalid (request > limit) - the usual shape of a training pod;
- NetworkPolicies: default-deny (ingress and egress), then the allowances: DNS to
  kube-system, ingress from the monitoring namespace (scraping), and traffic between
  the namespace's own pods (distributed training, services).

NetworkPolicies are enforced only where the cluster runs a policy engine (GKE Dataplane
V2, AKS network policy, EKS VPC CNI with network policy enabled).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import pulumi
import pulumi_kubernetes as k8s

from mlops_stack.args import Env, child_opts, merge_opts
from mlops_stack.errors import ConfigError
from mlops_stack.k8s._common import GPU_RESOURCE, MONITORING_NAMESPACE, RESERVED_NAMESPACES, k8s_labels
from mlops_stack.spec import NamespaceSpec

#: Container defaults of the LimitRange (requests are what the quota counts). No default
#: limit: Kubernetes rejects a container whose request exceeds its (defaulted) limit.
DEFAULT_REQUEST = {"cpu": "250m", "memory": "512Mi"}
TENANT_LABEL = "mlops-stack/tenant"


@dataclass(frozen=True, kw_only=True)
class TenancyArgs:
    env: Env
    namespaces: Sequence[NamespaceSpec] = ()
    #: The namespace whose Prometheus scrapes team workloads (None: no scrape allowance).
    monitoring_namespace: str | None = MONITORING_NAMESPACE


def check_namespaces(namespaces: Sequence[NamespaceSpec]) -> None:
    """Reject a team namespace the layer or Kubernetes already owns."""
    for i, ns in enumerate(namespaces):
        if ns.name in RESERVED_NAMESPACES:
            raise ConfigError(
                f"namespaces[{i}].name", "is reserved for the platform", f"reserved: {', '.join(sorted(RESERVED_NAMESPACES))}", value=ns.name
            )


def quota_hard(ns: NamespaceSpec) -> dict[str, str]:
    return {
        f"requests.{GPU_RESOURCE}": str(ns.gpu_quota),
        "requests.cpu": str(ns.cpu_quota),
        "requests.memory": f"{ns.memory_quota_gb}Gi",
    }


def network_policies(ns_name: str, monitoring_namespace: str | None) -> dict[str, dict[str, Any]]:
    """The NetworkPolicy specs of a team namespace, by policy name (pure)."""
    same_namespace = [{"podSelector": {}}]
    policies: dict[str, dict[str, Any]] = {
        "default-deny": {"podSelector": {}, "policyTypes": ["Ingress", "Egress"]},
        "allow-dns": {
            "podSelector": {},
            "policyTypes": ["Egress"],
            "egress": [
                {
                    "to": [
                        {
                            "namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "kube-system"}},
                            "podSelector": {"matchLabels": {"k8s-app": "kube-dns"}},
                        }
                    ],
                    "ports": [{"protocol": "UDP", "port": 53}, {"protocol": "TCP", "port": 53}],
                }
            ],
        },
        "allow-same-namespace": {
            "podSelector": {},
            "policyTypes": ["Ingress", "Egress"],
            "ingress": [{"from": same_namespace}],
            "egress": [{"to": same_namespace}],
        },
    }
    if monitoring_namespace:
        policies["allow-monitoring"] = {
            "podSelector": {},
            "policyTypes": ["Ingress"],
            "ingress": [{"from": [{"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": monitoring_namespace}}}]}],
        }
    return policies


class Tenancy(pulumi.ComponentResource):
    """``mlops:k8s:Tenancy``. Outputs: ``namespaces`` (spec name -> namespace name)."""

    namespaces: dict[str, pulumi.Output[str]]

    def __init__(self, name: str, args: TenancyArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        check_namespaces(args.namespaces)
        super().__init__("mlops:k8s:Tenancy", name, None, merge_opts(opts))
        env = args.env
        self.namespaces = {}
        for spec in args.namespaces:
            role = f"{name}-{spec.name}"
            labels = k8s_labels(
                env,
                "tenancy",
                **{
                    TENANT_LABEL: spec.name,
                    "pod-security.kubernetes.io/enforce": "baseline",
                    "pod-security.kubernetes.io/warn": "restricted",
                },
            )
            ns = k8s.core.v1.Namespace(
                f"{role}-namespace", metadata=k8s.meta.v1.ObjectMetaArgs(name=spec.name, labels=labels), opts=child_opts(self)
            )
            ns_name = ns.metadata.name

            def meta(object_name: str) -> k8s.meta.v1.ObjectMetaArgs:
                return k8s.meta.v1.ObjectMetaArgs(name=object_name, namespace=ns_name, labels=k8s_labels(env, "tenancy"))

            k8s.core.v1.ResourceQuota(
                f"{role}-quota", metadata=meta("team-quota"), spec=k8s.core.v1.ResourceQuotaSpecArgs(hard=quota_hard(spec)), opts=child_opts(self)
            )
            k8s.core.v1.LimitRange(
                f"{role}-limits",
                metadata=meta("team-defaults"),
                spec=k8s.core.v1.LimitRangeSpecArgs(
                    limits=[k8s.core.v1.LimitRangeItemArgs(type="Container", default_request=dict(DEFAULT_REQUEST))]
                ),
                opts=child_opts(self),
            )
            for policy, policy_spec in network_policies(spec.name, args.monitoring_namespace).items():
                k8s.networking.v1.NetworkPolicy(f"{role}-{policy}", metadata=meta(policy), spec=policy_spec, opts=child_opts(self))
            self.namespaces[spec.name] = ns_name
        self.register_outputs({"namespaces": self.namespaces})
