"""The workload identity rules over what the WorkloadIdentity components really plan (one
per cloud, on doubles of their siblings): no violation as built, and a violation as soon as
the trust or the storage grant is widened."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import replace
from types import SimpleNamespace
from typing import Any

import pytest
from mlops_policies import RULES, Ctx, Res, res_from_plan

from mlops_stack.args import BucketGrant, Env, WorkloadIdentityArgs
from mlops_stack.offline.engine import Plan, run_program

ONE = next(r for r in RULES if r.name == "workload-identity-one-service-account")
PREFIX = next(r for r in RULES if r.name == "workload-identity-storage-prefix-scoped")
GRANTS = (BucketGrant(bucket="artifacts", prefix="mlflow/", write=True), BucketGrant(bucket="models", prefix="scorer/", bucket_check=True))
NAMES = {"artifacts": "mlops-dev-artifacts-1", "models": "mlops-dev-models-1"}


def _siblings(cloud: str) -> tuple[Any, Any, Any, str, dict[str, str]]:
    if cloud == "aws":
        issuer = "https://oidc.eks.us-east-1.amazonaws.com/id/ABC"
        cluster = SimpleNamespace(oidc_provider_arn="arn:aws:iam::1:oidc-provider/oidc.eks.us-east-1.amazonaws.com/id/ABC", oidc_issuer=issuer)
        return cluster, SimpleNamespace(bucket_names=NAMES), SimpleNamespace(key_arn="arn:aws:kms:us-east-1:1:key/k"), "us-east-1", {}
    if cloud == "gcp":
        return SimpleNamespace(oidc_issuer="https://container.googleapis.com/x"), SimpleNamespace(bucket_names=NAMES), None, "us-central1", {"gcp:project": "p-1"}
    store = SimpleNamespace(bucket_names=NAMES, container_ids={k: f"/subscriptions/s/c/{v}" for k, v in NAMES.items()},
                            network=SimpleNamespace(resource_group_name="rg", location="eastus"))
    return SimpleNamespace(oidc_issuer="https://eastus.oic.prod-aks.azure.com/t/g/"), store, None, "eastus", {}


def _plan(cloud: str) -> Plan:
    from mlops_stack import targets

    component = targets.get(cloud).component("WorkloadIdentity")
    cluster, store, keys, region, config = _siblings(cloud)

    def program() -> None:
        component("tracking", WorkloadIdentityArgs(env=Env(region=region), name="tracking", cluster=cluster, namespace="mlflow",
                                                   service_account="mlflow", store=store, grants=GRANTS, keys=keys))

    return run_program(program, stack="dev-wi", config=config)


@pytest.fixture(scope="module", params=["aws", "gcp", "azure"])
def planned(request: pytest.FixtureRequest) -> tuple[str, list[Res]]:
    return request.param, [res_from_plan(r.to_dict()) for r in _plan(request.param).resources]


def violations(resources: list[Res]) -> list[str]:
    found = [m for r in resources if ONE.applies_to(r.type) for m in ONE.check(r, Ctx())]  # type: ignore[misc]
    found += [m for _, m in PREFIX.stack_check(resources, Ctx())]  # type: ignore[misc]
    return found


def test_the_components_pass_both_rules(planned: tuple[str, list[Res]]) -> None:
    _cloud, resources = planned
    assert violations(resources) == []


def _edit(resources: list[Res], type_: str, change: Callable[[dict[str, Any]], dict[str, Any]]) -> list[Res]:
    return [replace(r, props=change(dict(r.props))) if r.type == type_ else r for r in resources]


def _aws_trust_wildcard(p: dict[str, Any]) -> dict[str, Any]:
    return {**p, "assumeRolePolicy": p["assumeRolePolicy"].replace("system:serviceaccount:mlflow:mlflow", "system:serviceaccount:mlflow:*")}


def _aws_whole_bucket(p: dict[str, Any]) -> dict[str, Any]:
    return {**p, "policy": p["policy"].replace("/mlflow/*", "/*")}


def _aws_list_anything(p: dict[str, Any]) -> dict[str, Any]:
    doc = json.loads(p["policy"])
    for s in doc["Statement"]:
        s.pop("Condition", None) if s["Action"] == "s3:ListBucket" else None
    return {**p, "policy": json.dumps(doc)}


def _aws_bucket_check(change: Callable[[dict[str, Any]], None]) -> Callable[[dict[str, Any]], dict[str, Any]]:
    def edit(p: dict[str, Any]) -> dict[str, Any]:
        doc = json.loads(p["policy"])
        checks = [s for s in doc["Statement"] if s["Sid"].startswith("BucketCheck")]
        assert len(checks) == 1
        change(checks[0])
        return {**p, "policy": json.dumps(doc)}

    return edit


WIDENED: dict[str, list[tuple[str, str, Callable[[dict[str, Any]], dict[str, Any]], str]]] = {
    "aws": [
        ("trust any ServiceAccount of the namespace", "aws:iam/role:Role", _aws_trust_wildcard, "is not one ServiceAccount"),
        ("every object of the bucket", "aws:iam/rolePolicy:RolePolicy", _aws_whole_bucket, "(not one object prefix)"),
        ("list the whole bucket", "aws:iam/rolePolicy:RolePolicy", _aws_list_anything, "without an s3:prefix condition"),
        ("bucket check with more than ListBucket", "aws:iam/rolePolicy:RolePolicy",
         _aws_bucket_check(lambda st: st.update(Action=["s3:ListBucket", "s3:GetObject"])), "without an s3:prefix condition"),
        ("bucket check that also admits a prefix", "aws:iam/rolePolicy:RolePolicy",
         _aws_bucket_check(lambda st: st.update(Condition={"Null": {"s3:prefix": "false"}})), "without an s3:prefix condition"),
    ],
    "gcp": [
        ("namespace-wide principal set", "gcp:serviceaccount/iAMMember:IAMMember",
         lambda p: {**p, "member": "principalSet://iam.googleapis.com/projects/1/locations/global/workloadIdentityPools/p-1.svc.id.goog/namespace/mlflow"},
         "is not one Kubernetes ServiceAccount"),
        ("binding without its condition", "gcp:storage/bucketIAMMember:BucketIAMMember", lambda p: {k: v for k, v in p.items() if k != "condition"},
         "no IAM condition"),
        ("condition that also allows the bucket", "gcp:storage/bucketIAMMember:BucketIAMMember",
         lambda p: {**p, "condition": {**p["condition"], "expression": p["condition"]["expression"] + ' || resource.type == "storage.googleapis.com/Bucket"'}},
         "which is not an object prefix"),
    ],
    "azure": [
        ("wildcard subject", "azure-native:managedidentity:FederatedIdentityCredential", lambda p: {**p, "subject": "system:serviceaccount:mlflow:*"},
         "is not one ServiceAccount"),
        ("extra audience", "azure-native:managedidentity:FederatedIdentityCredential", lambda p: {**p, "audiences": [*p["audiences"], "api://other"]},
         "are not exactly"),
        ("role without its condition", "azure-native:authorization:RoleAssignment", lambda p: {k: v for k, v in p.items() if k != "condition"},
         "has no condition"),
        ("path condition dropped", "azure-native:authorization:RoleAssignment",
         lambda p: {**p, "condition": re.sub(r"@Resource\[[^\]]*blobs:path\] StringStartsWith '[^']*'", "true", p["condition"])},
         "does not limit blob paths"),
    ],
}


def test_a_widened_trust_or_grant_is_a_violation(planned: tuple[str, list[Res]]) -> None:
    cloud, resources = planned
    for what, type_, change, expected in WIDENED[cloud]:
        found = violations(_edit(resources, type_, change))
        assert found and any(expected in m for m in found), (cloud, what, found)
