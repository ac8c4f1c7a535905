"""The AWS WorkloadIdentity planned on its own: an IRSA role that one ServiceAccount may
assume, with exactly the granted S3 prefixes and the stack key through S3."""

from __future__ import annotations

import json
from types import SimpleNamespace
from typing import Any

import pulumi
import pytest

from mlops_stack.args import BucketGrant, Env, WorkloadIdentityArgs
from mlops_stack.aws.workload_identity import ResolvedGrant, workload_policy
from mlops_stack.errors import ConfigError
from mlops_stack.aws.mocks import ACCOUNT_ID
from mlops_stack.offline.engine import Plan, run_program

ISSUER = "https://oidc.eks.eu-west-1.amazonaws.com/id/0123456789ABCDEF0123456789ABCDEF"
HOST = ISSUER.removeprefix("https://")
PROVIDER_ARN = f"arn:aws:iam::{ACCOUNT_ID}:oidc-provider/{HOST}"
KEY_ARN = f"arn:aws:kms:eu-west-1:{ACCOUNT_ID}:key/11111111-2222-3333-4444-555555555555"
CLUSTER = SimpleNamespace(oidc_provider_arn=PROVIDER_ARN, oidc_issuer=ISSUER)
STORE = SimpleNamespace(bucket_names={"artifacts": "mlops-dev-artifacts-x1", "models": "mlops-dev-models-x2"})
KEYS = SimpleNamespace(key_arn=KEY_ARN)
TRACKING = (BucketGrant(bucket="artifacts", prefix="mlflow/", write=True), BucketGrant(bucket="models", prefix="registry/"))

ROLE, POLICY = "aws:iam/role:Role", "aws:iam/rolePolicy:RolePolicy"


def plan(grants: tuple[BucketGrant, ...] = TRACKING, **overrides: Any) -> Plan:
    from mlops_stack.aws import WorkloadIdentity

    def program() -> None:
        values: dict[str, Any] = {
            "env": Env(region="eu-west-1"), "name": "tracking", "cluster": CLUSTER, "namespace": "mlflow",
            "service_account": "mlflow-server", "store": STORE, "grants": grants, "keys": KEYS,
        }
        values.update(overrides)
        wi = WorkloadIdentity("tracking", WorkloadIdentityArgs(**values))
        pulumi.export("annotations", wi.service_account_annotations)
        pulumi.export("pod_labels", wi.pod_labels)
        pulumi.export("identity", wi.identity)

    return run_program(program, stack="wi", config={"aws:region": "eu-west-1"})


@pytest.fixture(scope="module")
def tracking() -> Plan:
    return plan()


def test_one_role_and_one_inline_policy_nothing_else(tracking: Plan) -> None:
    assert tracking.type_counts() == {"mlops:aws:WorkloadIdentity": 1, ROLE: 1, POLICY: 1}
    role, policy = tracking.one(ROLE), tracking.one(POLICY)
    assert (role.name, policy.name) == ("tracking-role", "tracking-policy")
    assert policy.inputs["role"] == role.outputs["name"]
    assert "managedPolicyArns" not in role.inputs


def test_trust_names_exactly_one_service_account_and_the_sts_audience(tracking: Plan) -> None:
    trust = json.loads(tracking.one(ROLE).inputs["assumeRolePolicy"])
    assert trust == {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": {"Federated": PROVIDER_ARN},
                "Action": "sts:AssumeRoleWithWebIdentity",
                "Condition": {
                    "StringEquals": {f"{HOST}:sub": "system:serviceaccount:mlflow:mlflow-server", f"{HOST}:aud": "sts.amazonaws.com"}
                },
            }
        ],
    }


def test_policy_allows_exactly_the_granted_prefixes_and_the_key_through_s3(tracking: Plan) -> None:
    doc = json.loads(tracking.one(POLICY).inputs["policy"])
    art, mod = "arn:aws:s3:::mlops-dev-artifacts-x1", "arn:aws:s3:::mlops-dev-models-x2"
    via = {"kms:ViaService": "s3.eu-west-1.amazonaws.com"}
    assert doc["Statement"] == [
        {
            "Sid": "Objects0",
            "Effect": "Allow",
            "Action": ["s3:GetObject", "s3:PutObject", "s3:AbortMultipartUpload", "s3:ListMultipartUploadParts", "s3:DeleteObject"],
            "Resource": f"{art}/mlflow/*",
        },
        {"Sid": "List0", "Effect": "Allow", "Action": "s3:ListBucket", "Resource": art, "Condition": {"StringLike": {"s3:prefix": ["mlflow/*"]}}},
        {"Sid": "Objects1", "Effect": "Allow", "Action": "s3:GetObject", "Resource": f"{mod}/registry/*"},
        {"Sid": "List1", "Effect": "Allow", "Action": "s3:ListBucket", "Resource": mod, "Condition": {"StringLike": {"s3:prefix": ["registry/*"]}}},
        {
            "Sid": "DecryptGrantedObjects",
            "Effect": "Allow",
            "Action": "kms:Decrypt",
            "Resource": KEY_ARN,
            "Condition": {"StringEquals": via, "StringLike": {"kms:EncryptionContext:aws:s3:arn": [art, f"{art}/mlflow/*", mod, f"{mod}/registry/*"]}},
        },
        {
            "Sid": "EncryptGrantedObjects",
            "Effect": "Allow",
            "Action": "kms:GenerateDataKey",
            "Resource": KEY_ARN,
            "Condition": {"StringEquals": via, "StringLike": {"kms:EncryptionContext:aws:s3:arn": [art, f"{art}/mlflow/*"]}},
        },
    ]


def test_a_reader_gets_no_write_action_and_no_data_key() -> None:
    doc = json.loads(workload_policy(partition="aws", region="us-east-1", key=KEY_ARN, grants=[ResolvedGrant("b", "models/scorer/", False)]))
    actions = [s["Action"] for s in doc["Statement"]]
    assert actions == ["s3:GetObject", "s3:ListBucket", "kms:Decrypt"]
    assert doc["Statement"][0]["Resource"] == "arn:aws:s3:::b/models/scorer/*"


def test_no_statement_is_unscoped(tracking: Plan) -> None:
    for stmt in json.loads(tracking.one(POLICY).inputs["policy"])["Statement"]:
        assert stmt["Resource"] != "*" and "*" not in (stmt["Action"] if isinstance(stmt["Action"], list) else [stmt["Action"]])


def test_service_account_annotation_is_the_role_arn_and_pods_need_no_label(tracking: Plan) -> None:
    arn = tracking.one(ROLE).outputs["arn"]
    assert tracking.outputs["annotations"] == {"eks.amazonaws.com/role-arn": arn}
    assert tracking.outputs["identity"] == arn
    assert tracking.outputs["pod_labels"] == {}


def test_without_the_stack_key_it_is_a_config_error() -> None:
    with pytest.raises(ConfigError) as info:
        plan(keys=None)
    assert str(info.value) == (
        "WorkloadIdentityArgs.keys: is required on AWS: the buckets are SSE-KMS encrypted with the stack key, "
        "and reading them needs kms:Decrypt on it (pass the stack's Keys component)"
    )


def test_a_cluster_without_an_oidc_provider_is_a_config_error() -> None:
    with pytest.raises(ConfigError) as info:
        plan(cluster=SimpleNamespace(oidc_issuer=ISSUER))
    assert str(info.value) == (
        "WorkloadIdentityArgs.cluster: has no IAM OIDC provider (oidc_provider_arn) (pass the stack's EKS KubernetesCluster, which creates one)"
    )


def test_every_resource_it_plans_is_free_in_the_pricing_rules(tracking: Plan) -> None:
    from mlops_stack.aws import pricing

    custom = {r.type for r in tracking.resources if r.custom}
    assert custom <= set(pricing.FREE)
    assert not custom & set(pricing.RULES)
