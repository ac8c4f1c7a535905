"""A GCP plan imports neither pulumi_aws nor pulumi_azure_native (checked in a fresh
process), and the cluster gives the k8s layer what it reads."""

from __future__ import annotations

import json
import subprocess
import sys

from planning import ROOT, plan_example

SCRIPT = """
import json, sys
from mlops_stack.offline.engine import run_program
from mlops_stack.offline.stackfile import read_stack_file
from mlops_stack.program import main
sf = read_stack_file(sys.argv[1])
plan = run_program(main, stack=sf.stack, config=sf.config, secret_keys=sf.secret_keys)
print(json.dumps({"resources": len(plan.resources), "modules": sorted(m for m in sys.modules if m.split(".")[0] in ("pulumi_aws", "pulumi_azure_native", "boto3", "botocore"))}))
"""


def test_gcp_plan_imports_no_other_cloud_sdk() -> None:
    for stack in ("dev-gcp", "prod-gcp"):
        out = subprocess.run(
            [sys.executable, "-c", SCRIPT, str(ROOT / "stacks" / f"Pulumi.{stack}.yaml")],
            capture_output=True, text=True, check=True, cwd=ROOT, timeout=120,
        )
        result = json.loads(out.stdout.strip().splitlines()[-1])
        assert result["resources"] > 50
        assert result["modules"] == []


def test_cluster_attributes_for_the_k8s_layer() -> None:
    plan = plan_example("dev-gcp")
    # GKE runs the NVIDIA device plugin itself: the layer installs none.
    gpu = plan.one("mlops:k8s:GpuEnablement") if plan.of_type("mlops:k8s:GpuEnablement") else None
    if gpu is not None:
        assert not [r for r in plan.children(gpu.urn) if r.type == "kubernetes:helm.sh/v3:Release"]
    k8s_provider = plan.one("pulumi:providers:kubernetes")
    assert k8s_provider.inputs["kubeconfig"] == "[secret]"
