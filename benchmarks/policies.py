#!/usr/bin/env python3
"""Wall time of the whole policy pack over N synthetic resources, through the Analyzer protocol.

    python benchmarks/policies.py            # N = 50, 200, 500
    python benchmarks/policies.py 1000 --repeat 3
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "components"))

from mlops_stack.offline.analyzer import run_policy_pack  # noqa: E402

TAGS = {"owner": "ml-platform", "environment": "prod", "cost-center": "cc-42"}


def synthetic_plan(n: int, stack: str = "prod-aws") -> dict:
    """A realistic mix: buckets with their S3 settings, repos, keys, roles, GPU pools, endpoints, k8s workloads."""
    kinds = [
        ("aws:s3/bucket:Bucket", {"tags": TAGS}),
        ("aws:s3/bucketVersioning:BucketVersioning", {"bucket": "b", "versioningConfiguration": {"status": "Enabled"}}),
        ("aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock", {"bucket": "b", "blockPublicAcls": True,
                                                                    "blockPublicPolicy": True, "ignorePublicAcls": True,
                                                                    "restrictPublicBuckets": True}),
        ("aws:ecr/repository:Repository", {"imageTagMutability": "IMMUTABLE", "tags": TAGS,
                                           "imageScanningConfiguration": {"scanOnPush": True}}),
        ("aws:kms/key:Key", {"enableKeyRotation": True, "tags": TAGS}),
        ("aws:iam/role:Role", {"assumeRolePolicy": '{"Statement": []}', "tags": TAGS}),
        ("aws:eks/nodeGroup:NodeGroup", {"instanceTypes": ["g6.xlarge"], "tags": TAGS,
                                         "taints": [{"key": "nvidia.com/gpu", "effect": "NO_SCHEDULE"}],
                                         "scalingConfig": {"minSize": 1, "maxSize": 4, "desiredSize": 1}}),
        ("aws:sagemaker/endpointConfiguration:EndpointConfiguration",
         {"kmsKeyArn": "arn:k", "tags": TAGS, "productionVariants": [{"variantName": "a", "initialInstanceCount": 2}],
          "dataCaptureConfig": {"initialSamplingPercentage": 10, "destinationS3Uri": "s3://b/c"}}),
        ("kubernetes:apps/v1:Deployment", {"spec": {"template": {"spec": {"containers": [
            {"name": "c", "image": "app:1.0", "resources": {"requests": {"cpu": "1", "memory": "1Gi"},
                                                            "limits": {"memory": "1Gi"}}}]}}}}),
        ("aws:ec2/subnet:Subnet", {"vpcId": "vpc-1", "cidrBlock": "10.0.0.0/24", "tags": TAGS}),
    ]
    resources = []
    for i in range(n):
        t, inputs = kinds[i % len(kinds)]
        name = f"r{i}"
        resources.append({"urn": f"urn:pulumi:{stack}::mlops-stack::{t}::{name}", "type": t, "name": name,
                          "parent": None, "custom": True, "inputs": inputs, "protect": True, "retainOnDelete": True,
                          "dependencies": [], "provider": ""})
    return {"project": "mlops-stack", "stack": stack, "cloud": "aws", "resources": resources, "outputs": {},
            "config": {"aws:region": "us-east-1"}}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("sizes", nargs="*", type=int, default=[50, 200, 500])
    ap.add_argument("--repeat", type=int, default=1)
    args = ap.parse_args()
    for n in args.sizes:
        plan = synthetic_plan(n)
        times = []
        for _ in range(args.repeat):
            t0 = time.perf_counter()
            found = run_policy_pack(plan)
            times.append(time.perf_counter() - t0)
        print(f"N={n:5d} resources: best {min(times):.2f}s (of {args.repeat}), {len(found)} findings")
    # The real example stacks, planned offline first (planning time not counted).
    from mlops_stack.offline.plan import plan_stack_file
    from mlops_stack.offline.stackfile import list_stacks

    for stack in list_stacks(ROOT / "stacks"):
        sp = plan_stack_file(ROOT / "stacks" / f"Pulumi.{stack}.yaml")
        doc = {**sp.document(), "config": sp.stack_file.config}
        times = []
        for _ in range(args.repeat):
            t0 = time.perf_counter()
            found = run_policy_pack(doc)
            times.append(time.perf_counter() - t0)
        print(f"{stack:<11} {len(doc['resources']):4d} resources: best {min(times):.2f}s (of {args.repeat}), {len(found)} findings")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
