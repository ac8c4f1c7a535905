"""Realistic outputs for the Kubernetes (and random) resource types the k8s layer registers.

Objects come back as the API server returns them: ``metadata`` with the (auto-)name,
namespace, uid, resourceVersion and creation timestamp; Namespaces ``Active``; Services
with a cluster IP (and a load balancer address when of that type); Helm v3 releases with
the ``status`` block the provider reports (name, namespace, chart, version, revision,
status ``deployed``). Secret payloads (``data``/``stringData``) and generated passwords
are returned as secrets, as the real providers mark them, so a plan never shows them.

``random:`` resources are served from here too (the k8s layer is their only user):
``RandomPassword`` returns a deterministic, random-looking ``result`` (see
``mock_password``) so tests can search a plan for the value and prove it never leaks.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from typing import Any

from pulumi.runtime import rpc
from pulumi.runtime.mocks import MockCallArgs, MockResourceArgs

from mlops_stack.offline.engine import MockContext, auto_name, short_hash

Rule = Callable[[MockContext, MockResourceArgs], tuple[str, dict[str, Any]]]

#: Kinds that are not namespaced (everything else defaults to namespace "default").
CLUSTER_SCOPED = frozenset(
    {
        "Namespace",
        "Node",
        "PersistentVolume",
        "StorageClass",
        "ClusterRole",
        "ClusterRoleBinding",
        "CustomResourceDefinition",
        "PriorityClass",
        "MutatingWebhookConfiguration",
        "ValidatingWebhookConfiguration",
        "RuntimeClass",
    }
)
CREATED = "2026-01-01T00:00:00Z"


def secret(value: Any) -> dict[str, Any]:
    """``value`` marked secret on the wire, as a provider marks a secret output."""
    return {rpc._special_sig_key: rpc._special_secret_sig, "value": value}


def _uid(*parts: str) -> str:
    h = short_hash(*parts, length=32)
    return f"{h[:8]}-{h[8:12]}-4{h[13:16]}-8{h[17:20]}-{h[20:32]}"


def _kind(token: str) -> str:
    return token.rsplit(":", 1)[-1]


def _object(ctx: MockContext, args: MockResourceArgs) -> tuple[str, dict[str, Any]]:
    state = dict(args.inputs)
    kind = _kind(args.typ)
    meta = dict(state.get("metadata") or {})
    name = meta.get("name") or auto_name(args.name, lower=True)
    meta["name"] = name
    namespaced = kind not in CLUSTER_SCOPED
    if namespaced:
        meta["namespace"] = meta.get("namespace") or "default"
    meta.setdefault("uid", _uid(args.typ, args.name))
    meta.setdefault("resourceVersion", "1")
    meta.setdefault("generation", 1)
    meta.setdefault("creationTimestamp", CREATED)
    state["metadata"] = meta
    # apiVersion/kind as the API server reports them.
    group_version = args.typ.split(":")[1]
    if group_version.startswith("core/"):
        group_version = group_version.removeprefix("core/")
    state.setdefault("apiVersion", group_version)
    state.setdefault("kind", kind)
    return (f"{meta['namespace']}/{name}" if namespaced else name), state


def _namespace(ctx: MockContext, args: MockResourceArgs) -> tuple[str, dict[str, Any]]:
    id_, state = _object(ctx, args)
    state["status"] = {"phase": "Active"}
    labels = dict(state["metadata"].get("labels") or {})
    labels.setdefault("kubernetes.io/metadata.name", state["metadata"]["name"])
    state["metadata"]["labels"] = labels
    return id_, state


def _secret(ctx: MockContext, args: MockResourceArgs) -> tuple[str, dict[str, Any]]:
    id_, state = _object(ctx, args)
    for key in ("data", "stringData"):
        if key in state:
            state[key] = secret(state[key])
    state.setdefault("type", "Opaque")
    return id_, state


def _service(ctx: MockContext, args: MockResourceArgs) -> tuple[str, dict[str, Any]]:
    id_, state = _object(ctx, args)
    spec = dict(state.get("spec") or {})
    h = int(short_hash(args.name, length=4), 16)
    spec.setdefault("type", "ClusterIP")
    spec.setdefault("clusterIP", f"172.20.{h % 250}.{(h >> 8) % 250 + 1}")
    state["spec"] = spec
    status: dict[str, Any] = {"loadBalancer": {}}
    if spec["type"] == "LoadBalancer":
        status["loadBalancer"] = {"ingress": [{"hostname": f"{short_hash(args.name, length=16)}.lb.offline.invalid"}]}
    state["status"] = status
    return id_, state


def _helm_release(ctx: MockContext, args: MockResourceArgs) -> tuple[str, dict[str, Any]]:
    state = dict(args.inputs)
    name = state.get("name") or auto_name(args.name, max_length=53, lower=True)
    namespace = state.get("namespace") or "default"
    chart = str(state.get("chart", ""))
    version = str(state.get("version", ""))
    state.update(name=name, namespace=namespace)
    state["status"] = {
        "name": name,
        "namespace": namespace,
        "chart": chart,
        "version": version,
        "appVersion": version,
        "revision": 1,
        "status": "deployed",
    }
    return f"{namespace}/{name}", state


_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz23456789"


def mock_password(logical_name: str, length: int = 16, specials: str = "-_.~") -> str:
    """The ``result`` an offline ``RandomPassword`` gets: random-looking, deterministic.

    Recognisable on purpose (prefix ``Mk`` + ``specials[0]``) so a test can search a whole
    plan for it; never a real credential (offline plans only).
    """
    digest = hashlib.sha256(f"mlops-offline-password/{logical_name}".encode()).digest()
    body = "".join(_ALPHABET[b % len(_ALPHABET)] for b in digest * 4)
    head = "Mk" + (specials[0] if specials else "") + "7q"
    return (head + body)[: max(length, len(head) + 4)]


def _random_password(ctx: MockContext, args: MockResourceArgs) -> tuple[str, dict[str, Any]]:
    state = dict(args.inputs)
    specials = str(state.get("overrideSpecial") or "!@#$%&*()-_=+[]{}<>:?") if state.get("special", True) else ""
    value = mock_password(args.name, int(state.get("length", 16)), specials)
    state["result"] = secret(value)
    state["bcryptHash"] = secret("$2a$10$" + hashlib.sha256(value.encode()).hexdigest()[:53])
    return "none", state


def _random_string(ctx: MockContext, args: MockResourceArgs) -> tuple[str, dict[str, Any]]:
    state = dict(args.inputs)
    value = mock_password(args.name, int(state.get("length", 16)), "")
    state["result"] = value
    return value, state


def _random_integer(ctx: MockContext, args: MockResourceArgs) -> tuple[str, dict[str, Any]]:
    """A deterministic ``result`` within ``[min, max]`` (the provider's ID is the number too)."""
    state = dict(args.inputs)
    low, high = int(state["min"]), int(state["max"])
    digest = int(hashlib.sha256(f"mlops-offline-integer/{args.name}".encode()).hexdigest(), 16)
    state["result"] = low + digest % (high - low + 1)
    return str(state["result"]), state


def default_resource(ctx: MockContext, args: MockResourceArgs) -> tuple[str, dict[str, Any]]:
    if args.typ.startswith("kubernetes:"):
        return _object(ctx, args)
    return auto_name(args.name), dict(args.inputs)


RESOURCES: dict[str, Rule] = {
    "kubernetes:core/v1:Namespace": _namespace,
    "kubernetes:core/v1:Secret": _secret,
    "kubernetes:core/v1:Service": _service,
    "kubernetes:helm.sh/v3:Release": _helm_release,
    "random:index/randomPassword:RandomPassword": _random_password,
    "random:index/randomString:RandomString": _random_string,
    "random:index/randomInteger:RandomInteger": _random_integer,
}

CALLS: dict[str, Callable[[MockContext, MockCallArgs], dict[str, Any]]] = {}
