"""The real pack, through the Analyzer gRPC protocol, over small synthetic plans."""

from __future__ import annotations

from pathlib import Path

import pytest
from helpers import plan, plan_resource
from mlops_policies import RULES
from mlops_stack.offline.analyzer import PolicyPackError, Violation, analyzer_info, mandatory, run_policy_pack

TAGS = {"owner": "ml-platform", "environment": "prod", "cost-center": "cc-42"}


def _children() -> set[int]:
    out: set[int] = set()
    for task in Path("/proc/self/task").iterdir():
        try:
            out.update(int(p) for p in (task / "children").read_text().split())
        except OSError:
            pass
    return out


def _urn(stack: str, type_: str, name: str) -> str:
    return f"urn:pulumi:{stack}::mlops-stack::{type_}::{name}"


def good_bucket(stack: str, name: str = "artifacts", protect: bool = True, **inputs: object) -> list[dict]:
    b = _urn(stack, "aws:s3/bucket:Bucket", name)
    deps = {"dependencies": [b], "property_dependencies": {"bucket": [b]}}
    policy = ('{"Statement":[{"Effect":"Deny","Principal":"*","Action":"s3:*","Resource":"*",'
              '"Condition":{"Bool":{"aws:SecureTransport":"false"}}}]}')
    return [
        plan_resource("aws:s3/bucket:Bucket", name, {"tags": TAGS, **inputs}, stack=stack, protect=protect),
        plan_resource("aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock", f"{name}-pab",
                      {"bucket": "[unknown]", "blockPublicAcls": True, "blockPublicPolicy": True,
                       "ignorePublicAcls": True, "restrictPublicBuckets": True}, stack=stack, **deps),
        plan_resource("aws:s3/bucketVersioning:BucketVersioning", f"{name}-versioning",
                      {"bucket": "[unknown]", "versioningConfiguration": {"status": "Enabled"}}, stack=stack, **deps),
        plan_resource("aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration",
                      f"{name}-sse", {"bucket": "[unknown]", "rules": [{"applyServerSideEncryptionByDefault": {
                          "sseAlgorithm": "aws:kms", "kmsMasterKeyId": "arn:aws:kms:us-east-1:1:key/k"}}]},
                      stack=stack, **deps),
        plan_resource("aws:s3/bucketPolicy:BucketPolicy", f"{name}-tls", {"bucket": "[unknown]", "policy": policy},
                      stack=stack, **deps),
    ]


def _policies(vs: list[Violation], level: str = "mandatory") -> set[str]:
    return {v.policy for v in vs if v.level == level}


#: A prod bucket that is single-region on purpose says so (storage.replicaRegion: none).
SINGLE_REGION_TAGS = {**TAGS, "mlops-stack-replication": "single-region"}


def test_a_good_prod_bucket_has_no_mandatory_violations() -> None:
    before = _children()
    vs = run_policy_pack(plan("prod-aws", good_bucket("prod-aws", tags=SINGLE_REGION_TAGS), config={"aws:region": "us-east-1"}))
    assert mandatory(vs) == [], [str(v) for v in vs]
    assert _children() <= before, "the pack subprocess was not reaped"
    assert all(set(v.to_dict()) == {"policy", "level", "severity", "urn", "message"} for v in vs)


GPU_NG = {"clusterName": "c", "nodeRoleArn": "arn:r", "subnetIds": ["s"], "instanceTypes": ["g6.xlarge"],
          "scalingConfig": {"minSize": 0, "maxSize": 2, "desiredSize": 0}, "tags": TAGS}

MUTATIONS = {
    "public bucket": (
        "dev-aws", good_bucket("dev-aws", acl="public-read"), {}, "aws-s3-no-public-acl"),
    "untainted GPU pool": (
        "dev-aws", [plan_resource("aws:eks/nodeGroup:NodeGroup", "gpu", GPU_NG, stack="dev-aws")], {},
        "gpu-pool-tainted"),
    "mutable ECR repository": (
        "dev-aws", [plan_resource("aws:ecr/repository:Repository", "models",
                                  {"imageTagMutability": "MUTABLE", "imageScanningConfiguration": {"scanOnPush": True},
                                   "tags": TAGS}, stack="dev-aws")], {}, "aws-ecr-immutable-tags"),
    "one-instance prod SageMaker endpoint": (
        "prod-aws", [plan_resource("aws:sagemaker/endpointConfiguration:EndpointConfiguration", "ep-config",
                                   {"productionVariants": [{"variantName": "primary", "modelName": "m",
                                                            "initialInstanceCount": 1, "instanceType": "ml.g5.xlarge"}],
                                    "kmsKeyArn": "arn:k", "tags": TAGS,
                                    "dataCaptureConfig": {"enableCapture": True, "initialSamplingPercentage": 10,
                                                          "destinationS3Uri": "s3://b/capture"}},
                                   stack="prod-aws")], {}, "endpoint-prod-min-instances"),
    "unreplicated prod bucket": ("prod-aws", good_bucket("prod-aws"), {}, "aws-s3-cross-region-replication"),
    "unprotected prod bucket": (
        "prod-aws", good_bucket("prod-aws", protect=False), {}, "stateful-resources-protected-in-prod"),
    "region outside the allowed list": (
        "dev-aws", good_bucket("dev-aws"), {"allowedRegions": ["eu-west-1"]}, "allowed-regions"),
}


@pytest.mark.parametrize("case", sorted(MUTATIONS))
def test_mutated_stacks_fail_with_the_specific_policy(case: str) -> None:
    stack, resources, cfg, policy = MUTATIONS[case]
    vs = run_policy_pack(plan(stack, resources, config={"aws:region": "us-east-1"}), config=cfg)
    hits = [v for v in vs if v.policy == policy]
    assert hits, [str(v) for v in vs]
    assert all(v.level == "mandatory" for v in hits)
    assert all(v.urn.startswith("urn:pulumi:") for v in hits)


def test_unknown_values_are_neither_violations_nor_errors() -> None:
    """A preview's unknowns (here '[unknown]' in the plan -> the wire sentinel) never fail a policy."""
    resources = [
        plan_resource("aws:eks/nodeGroup:NodeGroup", "gpu", {**GPU_NG, "taints": "[unknown]",
                                                             "scalingConfig": "[unknown]"}),
        plan_resource("aws:ecr/repository:Repository", "models", {"imageTagMutability": "[unknown]",
                                                                  "imageScanningConfiguration": "[unknown]",
                                                                  "tags": "[unknown]"}),
        plan_resource("aws:s3/bucket:Bucket", "b", {"tags": {"owner": "[unknown]", "environment": "dev",
                                                             "cost-center": "[unknown]"}, "acl": "[unknown]"}),
        plan_resource("aws:s3/bucketVersioning:BucketVersioning", "v",
                      {"bucket": "[unknown]", "versioningConfiguration": "[unknown]"}),
        plan_resource("kubernetes:apps/v1:Deployment", "d", {"spec": "[unknown]"}),
    ]
    vs = run_policy_pack(plan("dev-aws", resources, config={"aws:region": "[unknown]"}),
                         config={"allowedRegions": ["eu-west-1"]})
    noisy = {"gpu-pool-tainted", "gpu-pool-bounded", "gpu-pool-scale-to-zero", "aws-ecr-immutable-tags",
             "aws-ecr-scan-on-push", "required-tags", "aws-s3-no-public-acl", "aws-s3-versioning",
             "aws-s3-versioning-enabled", "allowed-regions", "k8s-resources-requests-limits"}
    assert not [str(v) for v in vs if v.policy in noisy]
    assert not [v for v in vs if "during preview" in v.message]


def test_secrets_reach_the_pack_without_breaking_it() -> None:
    r = plan_resource("aws:ecr/repository:Repository", "models",
                      {"imageTagMutability": "IMMUTABLE", "imageScanningConfiguration": {"scanOnPush": True},
                       "tags": {**TAGS, "owner": "[secret]"}})
    assert "required-tags" not in _policies(run_policy_pack(plan("dev-aws", [r])))


def test_remediate_level_fixes_scan_on_push_instead_of_failing() -> None:
    r = plan_resource("aws:ecr/repository:Repository", "models", {"imageTagMutability": "IMMUTABLE", "tags": TAGS})
    vs = run_policy_pack(plan("dev-aws", [r]), config={"aws-ecr-scan-on-push": "remediate"})
    assert "aws-ecr-scan-on-push" in _policies(vs, "remediate")
    assert "aws-ecr-scan-on-push" not in _policies(vs)


def test_enforcement_levels_follow_the_config() -> None:
    r = plan_resource("aws:ecr/repository:Repository", "models", {"tags": TAGS})
    vs = run_policy_pack(plan("dev-aws", [r]), config={"all": "advisory", "aws-ecr-immutable-tags": {
        "enforcementLevel": "mandatory"}, "aws-ecr-scan-on-push": "disabled"})
    assert _policies(vs) == {"aws-ecr-immutable-tags"}
    assert "aws-ecr-scan-on-push" not in {v.policy for v in vs}


def test_required_tags_come_from_config() -> None:
    r = plan_resource("aws:ecr/repository:Repository", "models", {
        "imageTagMutability": "IMMUTABLE", "imageScanningConfiguration": {"scanOnPush": True}, "tags": {"team": "x"}})
    vs = run_policy_pack(plan("dev-aws", [r]), config={"required-tags": {"requiredTags": ["team"]}})
    assert "required-tags" not in _policies(vs)


@pytest.mark.parametrize("bad", [{"no-such-policy": "mandatory"}, {"required-tags": {"requiredTagz": []}},
                                 {"allowedRegions": "eu-west-1"}, {"required-tags": "sometimes"}])
def test_bad_config_is_a_clear_error(bad: dict) -> None:
    with pytest.raises(PolicyPackError):
        run_policy_pack(plan("dev-aws", []), config=bad)


def test_a_broken_pack_is_a_clear_error(tmp_path: Path) -> None:
    (tmp_path / "PulumiPolicy.yaml").write_text("name: broken\nruntime: python\n")
    (tmp_path / "__main__.py").write_text("raise SystemExit('boom')\n")
    with pytest.raises(PolicyPackError, match="exited"):
        run_policy_pack(plan("dev-aws", []), pack_dir=tmp_path)


def test_analyzer_info_matches_the_rules() -> None:
    info = analyzer_info()
    by_name = {p.name: p for p in info.policies}
    assert sorted(by_name) == sorted(r.name for r in RULES)
    assert info.name == "mlops-stack-guardrails"
    for r in RULES:
        p = by_name[r.name]
        assert p.remediation_steps == r.remediation
        assert list(p.tags)[: len(r.benchmarks)] == list(r.benchmarks)
