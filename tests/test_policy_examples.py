"""The policy pack over the real example stacks, through the Analyzer protocol (the pack
runs as a subprocess, as under `pulumi preview --policy-pack policies`): every example
passes with no mandatory violation, and a real plan with one thing broken fails with the
specific policy."""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

import pytest

from planning import example_stacks, plan_example
from mlops_stack.offline.analyzer import mandatory, run_policy_pack

pytestmark = pytest.mark.slow


def document(stack: str) -> dict[str, Any]:
    plan = plan_example(stack)
    return {
        "project": plan.project,
        "stack": plan.stack,
        "cloud": plan.outputs.get("cloud"),
        "resources": [r.to_dict() for r in plan.resources],
        "outputs": plan.outputs,
        "config": dict(plan.config),
    }


@pytest.mark.parametrize("stack", example_stacks())
def test_example_stack_passes_the_pack(stack: str) -> None:
    violations = run_policy_pack(plan_example(stack))
    assert mandatory(violations) == [], [f"{v.policy}: {v.message}" for v in mandatory(violations)]


def _first(doc: dict[str, Any], type_: str, pred: Callable[[dict[str, Any]], bool] = lambda r: True) -> dict[str, Any]:
    return next(r for r in doc["resources"] if r["type"] == type_ and pred(r))


def public_bucket(doc: dict[str, Any]) -> None:
    _first(doc, "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock")["inputs"]["blockPublicPolicy"] = False


def untainted_gpu_pool(doc: dict[str, Any]) -> None:
    del _first(doc, "aws:eks/nodeGroup:NodeGroup", lambda r: "taints" in r["inputs"])["inputs"]["taints"]


ISVC = "kubernetes:serving.kserve.io/v1beta1:InferenceService"


def model_server_without_toleration(doc: dict[str, Any]) -> None:
    del _first(doc, ISVC)["inputs"]["spec"]["predictor"]["tolerations"]


def model_server_without_limits(doc: dict[str, Any]) -> None:
    del _first(doc, ISVC)["inputs"]["spec"]["predictor"]["model"]["resources"]["limits"]


def kserve_with_ingress(doc: dict[str, Any]) -> None:
    release = _first(doc, "kubernetes:helm.sh/v3:Release", lambda r: r["inputs"]["chart"].endswith("/kserve-resources"))
    release["inputs"]["values"]["kserve"]["controller"]["gateway"]["disableIngressCreation"] = False


def mutable_registry(doc: dict[str, Any]) -> None:
    _first(doc, "aws:ecr/repository:Repository")["inputs"]["imageTagMutability"] = "MUTABLE"


def one_instance_prod_endpoint(doc: dict[str, Any]) -> None:
    cfg = _first(doc, "aws:sagemaker/endpointConfiguration:EndpointConfiguration")
    cfg["inputs"]["productionVariants"][0]["initialInstanceCount"] = 1
    _first(doc, "aws:appautoscaling/target:Target")["inputs"]["minCapacity"] = 1


def unprotected_prod_bucket(doc: dict[str, Any]) -> None:
    _first(doc, "aws:s3/bucket:Bucket")["protect"] = False


MUTATIONS = {
    "public bucket": ("dev-aws", public_bucket, None, "aws-s3-public-access-block"),
    # dev-aws serves a model on that pool: the cluster endpoint's rule fails with it.
    "untainted GPU pool": ("dev-aws", untainted_gpu_pool, None, ("gpu-pool-tainted", "kserve-gpu-on-tainted-pool")),
    "GPU model server without the taint's toleration": ("dev-aws", model_server_without_toleration, None, "kserve-gpu-on-tainted-pool"),
    "model server without limits": ("dev-aws", model_server_without_limits, None, "kserve-resource-limits"),
    "KServe creating ingresses": ("dev-aws", kserve_with_ingress, None, "kserve-internal-only"),
    "mutable registry": ("dev-aws", mutable_registry, None, "aws-ecr-immutable-tags"),
    "one-instance prod endpoint": ("prod-aws", one_instance_prod_endpoint, None, "endpoint-prod-min-instances"),
    "unprotected prod bucket": ("prod-aws", unprotected_prod_bucket, None, "stateful-resources-protected-in-prod"),
    "region outside the allowed list": ("dev-aws", lambda doc: None, {"allowed-regions": {"allowedRegions": ["eu-west-1"]}}, "allowed-regions"),
}


@pytest.mark.parametrize("case", sorted(MUTATIONS))
def test_a_broken_real_plan_fails_with_the_specific_policy(case: str) -> None:
    stack, mutate, config, policy = MUTATIONS[case]
    doc = copy.deepcopy(document(stack))
    mutate(doc)
    found = mandatory(run_policy_pack(doc, config=config))
    assert {v.policy for v in found} == ({policy} if isinstance(policy, str) else set(policy)), [f"{v.policy}: {v.message}" for v in found]
