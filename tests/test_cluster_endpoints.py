"""A cluster endpoint (``runsOn: cluster``) planned on every cloud: the InferenceService the
example dev stacks get, the ``endpoints`` output, the estimate and ``--compare``."""

from __future__ import annotations

import json
from types import SimpleNamespace

import pytest

from planning import example_stacks, plan_config, plan_example
from mlops_stack.offline.compare import _instances
from mlops_stack.offline.cost import HOURS_PER_MONTH, estimate
from mlops_stack.offline.stackfile import read_stack_file
from mlops_stack.spec import load_spec, nodes_kept, raw_from_config_values

ISVC = "kubernetes:serving.kserve.io/v1beta1:InferenceService"
DEV = sorted(s for s in example_stacks() if s.startswith("dev-"))
PROD = sorted(s for s in example_stacks() if s.startswith("prod-"))
#: The pool node each dev example's cluster endpoint lands on: (CPUs, memory) = 75 % of the
#: node (catalog rows: g4dn.xlarge 4/16, g2-standard-4 4/16, Standard_NC4as_T4_v3 4/28).
NODE_SHARE = {"dev-aws": ("3", "12Gi"), "dev-gcp": ("3", "12Gi"), "dev-azure": ("3", "21Gi")}


def _spec(stack: str):
    sf = read_stack_file(__import__("planning").STACKS / f"Pulumi.{stack}.yaml")
    return load_spec(raw_from_config_values(sf.config))


@pytest.mark.parametrize("stack", DEV)
def test_dev_stack_serves_its_model_on_the_inference_pool(stack: str) -> None:
    plan = plan_example(stack)
    (isvc,) = plan.of_type(ISVC)
    meta, predictor = isvc.inputs["metadata"], isvc.inputs["spec"]["predictor"]
    assert (meta["name"], meta["namespace"]) == ("sentiment-oss", "serving")
    cpu, memory = NODE_SHARE[stack]
    expected = {"cpu": cpu, "memory": memory, "nvidia.com/gpu": "1"}
    assert predictor["model"]["resources"] == {"requests": expected, "limits": expected}
    assert predictor["tolerations"][0] == {"key": "nvidia.com/gpu", "operator": "Exists", "effect": "NoSchedule"}
    assert predictor["nodeSelector"] == {"mlops-stack/pool": "infer"}
    assert (predictor["minReplicas"], predictor["maxReplicas"]) == (1, 2)
    models = plan.outputs["bucket_uris"]["models"]
    assert predictor["model"]["storageUri"] == f"{models}/distilbert-sst2/v1/"
    assert predictor["model"]["runtime"] == "kserve-huggingfaceserver"
    assert predictor["serviceAccountName"] == "sentiment-oss-model"
    # The same output entry as a managed endpoint, with the in-cluster address.
    assert plan.outputs["endpoints"]["sentiment-oss"] == {
        "endpoint_name": "sentiment-oss",
        "invoke_url": "http://sentiment-oss-predictor.serving.svc.cluster.local",
    }
    assert "sentiment" in plan.outputs["endpoints"]  # the managed one is still there
    # Built by the serving slot only: no managed endpoint component for it.
    cloud = plan.outputs["cloud"]
    assert [r.name for r in plan.of_type(f"mlops:{cloud}:ModelEndpoint")] == ["mlops-endpoint-sentiment"]


def test_aks_spot_taint_is_tolerated_on_azure() -> None:
    (isvc,) = plan_example("dev-azure").of_type(ISVC)
    assert {"key": "kubernetes.azure.com/scalesetpriority", "operator": "Equal", "value": "spot", "effect": "NoSchedule"} in isvc.inputs["spec"]["predictor"]["tolerations"]


@pytest.mark.parametrize("stack", PROD)
def test_prod_keeps_managed_endpoints(stack: str) -> None:
    plan = plan_example(stack)
    assert not plan.of_type(ISVC) and not [r for r in plan.resources if r.type == "mlops:k8s:Serving"]


@pytest.mark.parametrize("stack", DEV)
def test_estimate_says_a_cluster_endpoint_costs_nothing_beyond_its_pool(stack: str) -> None:
    plan = plan_example(stack)
    cost = estimate([r.to_dict() for r in plan.resources], _spec(stack))
    (line,) = [i for i in cost.items if i.component == "Serving"]
    assert line.item == "endpoint sentiment-oss (runsOn: cluster): no cost beyond GPU pool infer, which it keeps at >= 1 node (minInstances 1)"
    assert (line.monthly_min, line.monthly_max) == (0, 0)
    # The pool it runs on is priced (at its min and max nodes).
    assert [i.item for i in cost.items if i.component == "GpuNodePool infer"]


def _estimate_with(stack: str, min_nodes: int, min_instances: int | None):  # type: ignore[no-untyped-def]
    """The dev example's estimate with pool ``infer`` at ``min_nodes`` and its cluster endpoint
    at ``min_instances`` replicas (None: the cluster endpoint removed)."""
    config = dict(read_stack_file(__import__("planning").STACKS / f"Pulumi.{stack}.yaml").config)
    cluster = json.loads(config["mlops-stack:cluster"])
    (pool,) = [p for p in cluster["gpuPools"] if p["name"] == "infer"]
    assert pool["gpusPerNode"] == 1
    pool["minNodes"] = min_nodes
    config["mlops-stack:cluster"] = json.dumps(cluster)
    endpoints = [e for e in json.loads(config["mlops-stack:endpoints"]) if min_instances is not None or e["name"] != "sentiment-oss"]
    for e in endpoints:
        if e["name"] == "sentiment-oss":
            assert e.get("gpusPerInstance", 1) == 1
            e["minInstances"] = min_instances
    config["mlops-stack:endpoints"] = json.dumps(endpoints)
    plan = plan_config(config, stack)
    cost = estimate([r.to_dict() for r in plan.resources], load_spec(raw_from_config_values(config)))
    (line,) = [i for i in cost.items if i.component == "GpuNodePool infer"]
    return cost, line


@pytest.mark.parametrize("stack", DEV)
def test_pool_minimum_counts_the_nodes_cluster_endpoints_keep(stack: str) -> None:
    # minNodes 0, but two 1-GPU replicas on 1-GPU nodes keep 2 nodes running.
    cost, line = _estimate_with(stack, 0, 2)
    base, base_line = _estimate_with(stack, 0, None)
    assert (base_line.quantity_min, base_line.monthly_min) == (0, 0)
    assert (line.quantity_min, line.quantity_max) == (2, 2)
    assert line.monthly_min == pytest.approx(2 * line.unit_price * HOURS_PER_MONTH)
    assert line.item.endswith("; at minimum 2 nodes: kept by cluster endpoints' minInstances")
    assert cost.monthly_min == pytest.approx(base.monthly_min + 2 * line.unit_price * HOURS_PER_MONTH, abs=0.01)
    assert cost.monthly_max == base.monthly_max
    (serving,) = [i for i in cost.items if i.component == "Serving"]
    assert serving.item.endswith("GPU pool infer, which it keeps at >= 2 nodes (minInstances 2)")


@pytest.mark.parametrize("stack", DEV)
def test_an_endpoint_within_the_pool_minimum_changes_nothing(stack: str) -> None:
    cost, line = _estimate_with(stack, 2, 2)
    base, base_line = _estimate_with(stack, 2, None)
    assert line == base_line and line.quantity_min == 2
    assert (cost.monthly_min, cost.monthly_max) == (base.monthly_min, base.monthly_max)


def test_nodes_kept_packs_replicas_by_gpus() -> None:
    spec = _spec("dev-aws")
    (train,) = [p for p in spec.cluster.gpu_pools if p.name == "train"]  # 4 GPUs a node
    (ep,) = [e for e in spec.cluster_endpoints]
    assert nodes_kept(train, [ep.model_copy(update={"min_instances": 5})]) == 2
    assert nodes_kept(train, [ep.model_copy(update={"min_instances": 3, "gpus_per_instance": 2})]) == 2
    # 3 + 3 + 2 + 2 GPUs into 4-GPU nodes: 3 nodes (3, 3, 2+2), not one per replica.
    three, two = ep.model_copy(update={"min_instances": 2, "gpus_per_instance": 3}), ep.model_copy(update={"min_instances": 2, "gpus_per_instance": 2})
    assert nodes_kept(train, [two, three]) == 3
    assert nodes_kept(train, []) == 0


def test_compare_shows_the_same_endpoint_on_the_cluster_and_managed() -> None:
    spec = _spec("dev-aws")
    rows = _instances(spec)
    assert rows["endpoint sentiment-oss (cluster)"] == "pool infer, no cost beyond its nodes"
    assert rows["endpoint sentiment-oss if managed"].startswith("ml.g4dn.xlarge x1, $")
    assert rows["endpoint sentiment"] == "ml.m5.large"


# --------------------------------------------------------------------------- the model's identity

SA = "system:serviceaccount:serving:sentiment-oss-model"
PREFIX = "distilbert-sst2/v1/"


def _identity_children(plan):  # type: ignore[no-untyped-def]
    # The endpoint's identity (dev-gcp also runs self-hosted MLflow, with an identity of its own).
    (comp,) = [r for r in plan.resources if r.type.endswith(":WorkloadIdentity") and r.name == "mlops-endpoint-sentiment-oss-identity"]
    todo, out = [comp.urn], []
    while todo:
        urn = todo.pop()
        for child in plan.children(urn):
            out.append(child)
            todo.append(child.urn)
    return out


def _service_account(plan):  # type: ignore[no-untyped-def]
    # The endpoint's (self-hosted MLflow's ServiceAccount lives in the mlflow namespace).
    (sa,) = [r for r in plan.of_type("kubernetes:core/v1:ServiceAccount") if r.inputs["metadata"]["namespace"] != "mlflow"]
    assert (sa.inputs["metadata"]["name"], sa.inputs["metadata"]["namespace"]) == ("sentiment-oss-model", "serving")
    return sa.inputs["metadata"]["annotations"]


def test_aws_identity_reads_exactly_the_model_prefix() -> None:
    plan = plan_example("dev-aws")
    children = _identity_children(plan)
    (role,) = [r for r in children if r.type == "aws:iam/role:Role"]
    (statement,) = json.loads(role.inputs["assumeRolePolicy"])["Statement"]
    assert [v for k, v in statement["Condition"]["StringEquals"].items() if k.endswith(":sub")] == [SA]
    (policy,) = [r for r in children if r.type == "aws:iam/rolePolicy:RolePolicy"]
    statements = json.loads(policy.inputs["policy"])["Statement"]
    bucket = plan.outputs["bucket_uris"]["models"].removeprefix("s3://")
    assert [s["Sid"] for s in statements] == ["Objects0", "List0", "BucketCheck0", "DecryptGrantedObjects"]  # read only: no Put, no Delete
    by_sid = {s["Sid"]: s for s in statements}
    assert by_sid["Objects0"]["Action"] == "s3:GetObject" and by_sid["Objects0"]["Resource"] == f"arn:aws:s3:::{bucket}/{PREFIX}*"
    assert by_sid["List0"]["Condition"] == {"StringLike": {"s3:prefix": [f"{PREFIX}*"]}}
    # KServe's HeadBucket: s3:ListBucket on the bucket only when the request names no prefix.
    assert by_sid["BucketCheck0"] == {
        "Sid": "BucketCheck0", "Effect": "Allow", "Action": "s3:ListBucket", "Resource": f"arn:aws:s3:::{bucket}", "Condition": {"Null": {"s3:prefix": "true"}},
    }
    assert _service_account(plan) == {"eks.amazonaws.com/role-arn": plan.by_urn()[role.urn].outputs["arn"]}


def test_gcp_identity_reads_exactly_the_model_prefix() -> None:
    plan = plan_example("dev-gcp")
    children = _identity_children(plan)
    (grant,) = [r for r in children if r.type == "gcp:storage/bucketIAMMember:BucketIAMMember"]
    assert grant.inputs["role"] == "roles/storage.objectViewer"
    assert grant.inputs["bucket"] == plan.outputs["bucket_uris"]["models"].removeprefix("gs://")
    expr = grant.inputs["condition"]["expression"]
    assert f'/objects/{PREFIX}")' in expr and f'startsWith("{PREFIX}")' in expr
    (binding,) = [r for r in children if r.type == "gcp:serviceaccount/iAMMember:IAMMember"]
    assert binding.inputs["member"].endswith(".svc.id.goog[serving/sentiment-oss-model]")
    (gsa,) = [r for r in children if r.type == "gcp:serviceaccount/account:Account"]
    assert _service_account(plan) == {"iam.gke.io/gcp-service-account": plan.by_urn()[gsa.urn].outputs["email"]}


def test_azure_identity_reads_exactly_the_model_prefix() -> None:
    plan = plan_example("dev-azure")
    children = _identity_children(plan)
    (fic,) = [r for r in children if r.type == "azure-native:managedidentity:FederatedIdentityCredential"]
    assert fic.inputs["subject"] == SA
    (assignment,) = [r for r in children if r.type == "azure-native:authorization:RoleAssignment"]
    assert assignment.inputs["scope"].endswith("/blobServices/default/containers/models")
    # Storage Blob Data Reader, with a path condition on exactly the prefix.
    assert assignment.inputs["roleDefinitionId"].endswith("/2a2b9908-6ea1-4ae2-8e65-a410df84e7d1")
    assert f"'{PREFIX}'" in assignment.inputs["condition"]
    (isvc,) = plan.of_type(ISVC)
    assert isvc.inputs["spec"]["predictor"]["labels"]["azure.workload.identity/use"] == "true"
    (identity,) = [r for r in children if r.type == "azure-native:managedidentity:UserAssignedIdentity"]
    assert _service_account(plan) == {"azure.workload.identity/client-id": plan.by_urn()[identity.urn].outputs["clientId"]}
