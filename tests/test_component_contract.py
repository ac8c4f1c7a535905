"""The contract at component level: every capability of every registered target is an
instance of its kind's Protocol (contracts.py), and the values of the Protocol's outputs
resolve to the documented shapes. Runs over the built-in targets' dev example stacks and
over the toy target from outside the package (tests/toy_target)."""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import pulumi
import pytest
from planning import STACKS
from test_toy_target import toy_target  # noqa: F401 - the fixture

from mlops_stack import contracts, targets
from mlops_stack.args import BucketGrant, Env, PostgresDatabaseArgs, WorkloadIdentityArgs
from mlops_stack.offline.engine import SECRET, Plan, run_program
from mlops_stack.offline.stackfile import read_stack_file
from mlops_stack.program import main as stack_program


def _workload_identity(stack: Any) -> list[Any]:
    """WorkloadIdentity is built by the capabilities that run on the cluster, never by the
    stack itself: build one here, the way they do (the stack's cluster, store and keys; a
    read grant on the first bucket)."""
    target = stack.target
    if stack.cluster is None or stack.store is None or not target.offers("WorkloadIdentity"):
        return []
    cls = target.component("WorkloadIdentity")
    args = WorkloadIdentityArgs(
        env=Env.from_spec(stack.spec),
        name="contract",
        cluster=stack.cluster,
        namespace="contract",
        service_account="reader",
        store=stack.store,
        grants=(BucketGrant(bucket=next(iter(stack.store.bucket_names)), prefix="contract/"),),
        keys=stack.keys,
    )
    return [cls("contract-identity", args)]


def _components(stack: Any) -> dict[str, list[Any]]:
    """Every target component the stack made, by kind (each kind with a contract), plus a
    WorkloadIdentity built here when the stack built none."""
    found = {kind: list(stack.components.get(kind, ())) for kind in contracts.PROTOCOLS}
    if "WorkloadIdentity" in found and not found["WorkloadIdentity"]:
        found["WorkloadIdentity"] = _workload_identity(stack)
    if not found.get("PostgresDatabase") and stack.network is not None and stack.target.offers("PostgresDatabase"):
        # Built by self-hosted tracking only: build one here on the stack's network and key.
        cls = stack.target.component("PostgresDatabase")
        found["PostgresDatabase"] = [cls("contract-db", PostgresDatabaseArgs(env=Env.from_spec(stack.spec), network=stack.network, keys=stack.keys))]
    return found


def _plan(config: dict[str, str], stack: str) -> tuple[Plan, dict[str, list[str]]]:
    """The plan, with every component's contract outputs exported as
    ``contract.<kind>.<i>.<member>``, and the Protocol failures seen at construction."""
    seen: dict[str, list[str]] = {}

    def program() -> None:
        built = stack_program()
        for kind, comps in _components(built).items():
            protocol = contracts.PROTOCOLS[kind]
            seen[kind] = []
            for i, comp in enumerate(comps):
                if not isinstance(comp, protocol):
                    seen[kind].append(f"{type(comp).__module__}.{type(comp).__name__} is not a contracts.{kind}")
                if isinstance(comp, pulumi.Resource):
                    seen[kind].append(f"type:{comp._type}")  # noqa: SLF001 - the registered type token
                for member in contracts.COMMON_OUTPUTS[kind]:
                    value = getattr(comp, member)
                    if member == "k8s_provider":
                        if not isinstance(value, pulumi.ProviderResource):
                            seen[kind].append(f"k8s_provider is {type(value).__name__}")
                        continue
                    pulumi.export(f"contract.{kind}.{i}.{member}", value)
                for child in getattr(type(comp), "CHILDREN", ()):
                    value = getattr(comp, child, None)
                    resources = dict(value) if isinstance(value, Mapping) else {"": value}
                    if not resources:
                        seen[kind].append(f"child {child} is empty")
                    for key, res in resources.items():
                        if not isinstance(res, pulumi.CustomResource):
                            seen[kind].append(f"child {child}{key} is {type(res).__name__}")
                            continue
                        pulumi.export(f"child.{kind}.{i}.{child}.{key}", res.urn)

    plan = run_program(program, stack=stack, config=config)
    return plan, seen


@functools.cache
def _example(target: str) -> tuple[Plan, dict[str, list[str]]]:
    sf = read_stack_file(STACKS / f"Pulumi.dev-{target}.yaml")
    return _plan(dict(sf.config), sf.stack)


def _nonempty_text(v: Any) -> bool:
    return isinstance(v, str) and v.strip() != ""


#: How each contract output must resolve (after planning), by member.
CHECKS: dict[str, Callable[[Any, targets.Target], bool]] = {
    "bucket_uris": lambda v, t: isinstance(v, dict) and bool(v) and all(_nonempty_text(u) and u.startswith(t.uri_scheme) for u in v.values()),
    "bucket_names": lambda v, t: isinstance(v, dict) and bool(v) and all(_nonempty_text(n) for n in v.values()),
    "registry_url": lambda v, t: _nonempty_text(v),
    "repository_urls": lambda v, t: isinstance(v, dict) and all(_nonempty_text(u) for u in v.values()),
    "model_registry_id": lambda v, t: _nonempty_text(v),
    "cluster_name": lambda v, t: _nonempty_text(v),
    "endpoint": lambda v, t: isinstance(v, str) and v.startswith("https://"),
    "kubeconfig": lambda v, t: v == SECRET,
    "oidc_issuer": lambda v, t: isinstance(v, str) and v.startswith("https://"),
    "pool_name": lambda v, t: _nonempty_text(v),
    "instance_type": lambda v, t: _nonempty_text(v),
    "gpu": lambda v, t: _nonempty_text(v),
    "gpus_per_node": lambda v, t: isinstance(v, int) and v >= 1,
    "min_nodes": lambda v, t: isinstance(v, int) and v >= 0,
    "max_nodes": lambda v, t: isinstance(v, int) and v >= 1,
    "endpoint_name": lambda v, t: _nonempty_text(v),
    "invoke_url": lambda v, t: isinstance(v, str) and v.startswith("https://"),
    # One ServiceAccount annotation naming the identity; pod labels are plain text.
    "service_account_annotations": lambda v, t: isinstance(v, dict) and len(v) == 1 and all(_nonempty_text(x) for x in v.values()),
    "pod_labels": lambda v, t: isinstance(v, dict) and all(_nonempty_text(k) and _nonempty_text(x) for k, x in v.items()),
    "identity": lambda v, t: _nonempty_text(v),
    "host": lambda v, t: _nonempty_text(v),
    "port": lambda v, t: v == 5432,
    # Each connection URI holds the generated password: secret.
    "connection_uris": lambda v, t: v == SECRET or (isinstance(v, dict) and bool(v) and all(x == SECRET for x in v.values())),
    # SageMaker: the server's ARN (sagemaker-mlflow plugin); Azure ML: azureml://; self-hosted: the in-cluster URL.
    "mlflow_tracking_uri": lambda v, t: isinstance(v, str) and v.startswith(("arn:aws:sagemaker:", "azureml://", "http://mlflow.mlflow.svc.cluster.local:")),
}


def _check(plan: Plan, seen: dict[str, list[str]], t: targets.Target, kind: str) -> None:
    problems = [s for s in seen[kind] if not s.startswith("type:")]
    assert problems == []
    types = {s for s in seen[kind] if s.startswith("type:")}
    assert types == {f"type:mlops:{t.name}:{kind}"}, types
    n = len(seen[kind]) - len(problems)
    assert n >= 1
    for member in contracts.COMMON_OUTPUTS[kind]:
        if member == "k8s_provider":
            continue
        values = [v for k, v in plan.outputs.items() if k.startswith(f"contract.{kind}.") and k.endswith(f".{member}")]
        assert values, member
        for value in values:
            assert CHECKS[member](value, t), (member, value)
    # Exposed child resources: real resources registered inside this component.
    component_urns = {r.urn for r in plan.resources if r.type == f"mlops:{t.name}:{kind}"}
    for key, urn in plan.outputs.items():
        if key.startswith(f"child.{kind}."):
            resource = next(r for r in plan.resources if r.urn == urn)
            assert _ancestors(plan, resource.parent) & component_urns, (key, urn)
    if kind == "GpuNodePool":
        for i in range(sum(1 for k in plan.outputs if k.startswith("contract.GpuNodePool.") and k.endswith(".pool_name"))):
            assert plan.outputs[f"contract.GpuNodePool.{i}.min_nodes"] <= plan.outputs[f"contract.GpuNodePool.{i}.max_nodes"]


def _ancestors(plan: Plan, urn: str | None) -> set[str]:
    found: set[str] = set()
    by_urn = {r.urn: r for r in plan.resources}
    while urn and urn not in found:
        found.add(urn)
        urn = by_urn[urn].parent if urn in by_urn else None
    return found


#: The key child resources each built-in target's components expose (``CHILDREN``), with
#: the resource type each must be: what platform repos wire to (docs/components.md).
EXPOSED: dict[tuple[str, str], dict[str, str]] = {
    ("aws", "Keys"): {"key": "aws:kms/key:Key"},
    ("aws", "ArtifactStore"): {"buckets": "aws:s3/bucket:Bucket"},
    ("aws", "KubernetesCluster"): {
        "eks_cluster": "aws:eks/cluster:Cluster",
        "node_role": "aws:iam/role:Role",
        "oidc_provider": "aws:iam/openIdConnectProvider:OpenIdConnectProvider",
    },
    ("gcp", "Keys"): {"key_ring": "gcp:kms/keyRing:KeyRing", "crypto_keys": "gcp:kms/cryptoKey:CryptoKey"},
    ("gcp", "ArtifactStore"): {"buckets": "gcp:storage/bucket:Bucket"},
    ("gcp", "KubernetesCluster"): {"gke_cluster": "gcp:container/cluster:Cluster"},
    ("azure", "Keys"): {"key_vault": "azure-native:keyvault:Vault", "key": "azure-native:keyvault:Key", "etcd_key": "azure-native:keyvault:Key"},
    ("azure", "ArtifactStore"): {"storage_account": "azure-native:storage:StorageAccount", "containers": "azure-native:storage:BlobContainer"},
    ("azure", "KubernetesCluster"): {"managed_cluster": "azure-native:containerservice:ManagedCluster"},
    ("aws", "GpuNodePool"): {"node_group": "aws:eks/nodeGroup:NodeGroup"},
    ("gcp", "GpuNodePool"): {"node_pool": "gcp:container/nodePool:NodePool"},
    ("azure", "GpuNodePool"): {"agent_pool": "azure-native:containerservice:AgentPool"},
}


@pytest.mark.parametrize(("target", "kind"), sorted(EXPOSED))
def test_key_child_resources_are_exposed(target: str, kind: str) -> None:
    plan, _seen = _example(target)
    cls = targets.get(target).component(kind)
    assert tuple(cls.CHILDREN) == tuple(EXPOSED[target, kind])
    by_urn = {r.urn: r for r in plan.resources}
    for child, rtype in EXPOSED[target, kind].items():
        urns = [v for k, v in plan.outputs.items() if k.startswith(f"child.{kind}.0.{child}.")]
        assert urns, child
        assert {by_urn[u].type for u in urns} == {rtype}, child
        assert child in cls.__annotations__, child
    # Listed in the generated reference, in this component's section.
    docs = (Path(__file__).resolve().parents[1] / "docs" / "components.md").read_text(encoding="utf-8")
    section = docs.split(f"### {targets.get(target).display_name}: `{cls.__module__}.{kind}`", 1)[1].split("\n### ", 1)[0]
    for child in EXPOSED[target, kind]:
        assert f"| `{child}` |" in section, child


def test_every_contract_output_has_a_check() -> None:
    assert {m for members in contracts.COMMON_OUTPUTS.values() for m in members} - {"k8s_provider"} == set(CHECKS)


@pytest.mark.parametrize(("target", "kind"), [(t.name, k) for t in targets.all() for k in t.kinds()])
def test_built_in_target_component_meets_its_contract(target: str, kind: str) -> None:
    plan, seen = _example(target)
    _check(plan, seen, targets.get(target), kind)


def test_toy_target_components_meet_their_contracts(toy_target: Any) -> None:  # noqa: F811
    plan, seen = _plan(dict(toy_target.SAMPLE_CONFIG), "lab")
    t = targets.get("toy")
    assert t.kinds() == ("Network", "ArtifactStore")
    for kind in t.kinds():
        _check(plan, seen, t, kind)
    assert all(seen[k] == [] for k in contracts.PROTOCOLS if k not in t.kinds())


@pytest.mark.parametrize("target", [t.name for t in targets.all() if t.offers("WorkloadIdentity")])
def test_workload_identity_scopes_the_stacks_own_bucket_to_the_prefix(target: str) -> None:
    """Built from the stack's real siblings, the identity's grants name the store's physical
    bucket and the granted prefix (the per-target suites check the exact documents)."""
    import json

    plan, _seen = _example(target)
    identities = plan.of_type(f"mlops:{target}:WorkloadIdentity")
    assert identities
    names = plan.outputs["contract.ArtifactStore.0.bucket_names"]
    expected = {
        "contract-identity": (next(iter(names.values())), "contract/"),
        # the stack's own: the example's cluster endpoint (runsOn: cluster) reads its model folder
        "mlops-endpoint-sentiment-oss-identity": (names.get("models"), "distilbert-sst2/v1/"),
        # self-hosted MLflow: read-write on mlflow/ of its bucket
        "mlops-tracking-identity": (names.get("artifacts"), "mlflow/"),
    }
    for wi in identities:
        children = json.dumps([c.inputs for c in plan.children(wi.urn)])
        if wi.name in expected:
            bucket, prefix = expected[wi.name]
            assert bucket in children and prefix in children, wi.name
        else:  # another consumer's identity: its grants name one of the store's buckets
            assert any(b in children for b in names.values()), wi.name
    for i in range(len(identities)):
        annotations = plan.outputs[f"contract.WorkloadIdentity.{i}.service_account_annotations"]
        assert list(annotations.values()) == [plan.outputs[f"contract.WorkloadIdentity.{i}.identity"]]
