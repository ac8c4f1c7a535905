"""The GCP WorkloadIdentity planned on its own: a Google service account one Kubernetes
ServiceAccount may impersonate, with prefix-conditioned bucket roles and no key."""

from __future__ import annotations

import re
from types import SimpleNamespace
from typing import Any

import pulumi
import pytest

from mlops_stack.args import BucketGrant, Env, WorkloadIdentityArgs
from mlops_stack.gcp.workload_identity import condition_title, prefix_condition, workload_account_id
from mlops_stack.offline.engine import Plan, run_program

PROJECT = "ml-proj-42"
CLUSTER = SimpleNamespace(oidc_issuer=f"https://container.googleapis.com/v1/projects/{PROJECT}/locations/us-central1/clusters/c")
STORE = SimpleNamespace(bucket_names={"artifacts": "mlops-dev-artifacts-1a2b3c4", "models": "mlops-dev-models-1a2b3c4"})
TRACKING = (BucketGrant(bucket="artifacts", prefix="mlflow/", write=True), BucketGrant(bucket="models", prefix="registry/"))
ACCOUNT, SA_IAM, BUCKET_IAM = "gcp:serviceaccount/account:Account", "gcp:serviceaccount/iAMMember:IAMMember", "gcp:storage/bucketIAMMember:BucketIAMMember"
#: GCP service account IDs (IAM API, serviceAccounts.create).
ACCOUNT_ID = re.compile(r"[a-z]([-a-z0-9]{4,28}[a-z0-9])")


def plan(grants: tuple[BucketGrant, ...] = TRACKING, **overrides: Any) -> Plan:
    from mlops_stack.gcp import WorkloadIdentity

    def program() -> None:
        values: dict[str, Any] = {
            "env": Env(region="us-central1"), "name": "tracking", "cluster": CLUSTER, "namespace": "mlflow",
            "service_account": "mlflow-server", "store": STORE, "grants": grants,
        }
        values.update(overrides)
        wi = WorkloadIdentity("tracking", WorkloadIdentityArgs(**values))
        pulumi.export("annotations", wi.service_account_annotations)
        pulumi.export("pod_labels", wi.pod_labels)
        pulumi.export("identity", wi.identity)

    return run_program(program, stack="wi", config={"gcp:project": PROJECT})


@pytest.fixture(scope="module")
def tracking() -> Plan:
    return plan()


def test_a_service_account_its_trust_and_one_binding_per_grant_nothing_else(tracking: Plan) -> None:
    assert tracking.type_counts() == {
        "mlops:gcp:WorkloadIdentity": 1,
        "gcp:projects/service:Service": 2,
        ACCOUNT: 1,
        SA_IAM: 1,
        BUCKET_IAM: 2,
    }
    assert sorted(s.inputs["service"] for s in tracking.of_type("gcp:projects/service:Service")) == ["iam.googleapis.com", "iamcredentials.googleapis.com"]
    # No key of any kind: no service account key, no Cloud KMS grant (the GCS agent uses the CMEK).
    assert not [r for r in tracking.resources if "Key" in r.type or r.type.startswith("gcp:kms/")]


def test_only_the_one_kubernetes_service_account_may_impersonate_it(tracking: Plan) -> None:
    account, trust = tracking.one(ACCOUNT), tracking.one(SA_IAM)
    assert trust.inputs == {
        "serviceAccountId": account.outputs["name"],
        "role": "roles/iam.workloadIdentityUser",
        "member": f"serviceAccount:{PROJECT}.svc.id.goog[mlflow/mlflow-server]",
    }


def test_the_cluster_workload_pool_wins_over_the_project() -> None:
    p = plan(cluster=SimpleNamespace(oidc_issuer="https://x", workload_pool="other-proj.svc.id.goog"))
    assert p.one(SA_IAM).inputs["member"] == "serviceAccount:other-proj.svc.id.goog[mlflow/mlflow-server]"


def test_bucket_roles_are_conditioned_on_the_prefix(tracking: Plan) -> None:
    email = tracking.one(ACCOUNT).outputs["email"]
    bindings = {b.inputs["bucket"]: b.inputs for b in tracking.of_type(BUCKET_IAM)}
    assert bindings["mlops-dev-artifacts-1a2b3c4"] == {
        "bucket": "mlops-dev-artifacts-1a2b3c4",
        "role": "roles/storage.objectUser",
        "member": f"serviceAccount:{email}",
        "condition": {
            "title": "read-write artifacts/mlflow/",
            "description": "Only objects under mlflow/ (and listings of that prefix)",
            "expression": 'resource.name.startsWith("projects/_/buckets/mlops-dev-artifacts-1a2b3c4/objects/mlflow/")'
            ' || api.getAttribute("storage.googleapis.com/objectListPrefix", "").startsWith("mlflow/")',
        },
    }
    assert bindings["mlops-dev-models-1a2b3c4"]["role"] == "roles/storage.objectViewer"
    assert bindings["mlops-dev-models-1a2b3c4"]["condition"]["expression"] == prefix_condition("mlops-dev-models-1a2b3c4", "registry/")


def test_annotation_is_the_account_email_and_pods_need_no_label(tracking: Plan) -> None:
    account = tracking.one(ACCOUNT)
    assert account.inputs["accountId"] == workload_account_id("mlops-dev", "mlflow", "mlflow-server")
    assert tracking.outputs["annotations"] == {"iam.gke.io/gcp-service-account": account.outputs["email"]}
    assert tracking.outputs["identity"] == account.outputs["email"] == f"{account.inputs['accountId']}@{PROJECT}.iam.gserviceaccount.com"
    assert tracking.outputs["pod_labels"] == {}


@pytest.mark.parametrize(
    ("prefix", "namespace", "name"),
    [("mlops-dev", "mlflow", "mlflow"), ("a", "b", "c"), ("platform-team-prod", "kserve-endpoints", "x" * 63), ("9lives-dev", "ns", "sa")],
)
def test_account_ids_fit_gcp_limits(prefix: str, namespace: str, name: str) -> None:
    account = workload_account_id(prefix, namespace, name)
    assert ACCOUNT_ID.fullmatch(account), account
    assert workload_account_id(prefix, namespace, name) == account


def test_account_ids_differ_per_binding_even_when_heads_collide() -> None:
    assert workload_account_id("mlops-dev", "a-b", "c") != workload_account_id("mlops-dev", "a", "b-c")
    long = "serving-" + "x" * 40
    assert workload_account_id("mlops-dev", "ns1", long) != workload_account_id("mlops-dev", "ns2", long)


def test_condition_titles_stay_within_100_characters() -> None:
    title = condition_title(BucketGrant(bucket="models", prefix="a/" * 60))
    assert len(title) == 100
    assert condition_title(BucketGrant(bucket="models", prefix="scorer/")) == "read models/scorer/"


def test_every_resource_it_plans_is_free_in_the_pricing_rules(tracking: Plan) -> None:
    from mlops_stack.gcp import pricing

    custom = {r.type for r in tracking.resources if r.custom}
    assert custom <= set(pricing.FREE)
    assert not custom & set(pricing.RULES)
