"""The CLI as a user runs it: a subprocess, exit codes, one-line errors, the JSON contract."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from planning import ROOT

pytestmark = pytest.mark.slow


def run(*args: str, cwd: Path = ROOT) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "mlops_stack.cli", *args], cwd=cwd, capture_output=True, text=True, timeout=300)


def test_plan_json_has_the_contract_shape() -> None:
    res = run("plan", "--stack", "dev-aws", "--format", "json")
    assert res.returncode == 0, res.stderr
    doc = json.loads(res.stdout)
    assert {"project", "stack", "cloud", "resources", "outputs"} <= set(doc)
    assert (doc["project"], doc["stack"], doc["cloud"]) == ("mlops-stack", "dev-aws", "aws")
    for r in doc["resources"]:
        assert {"urn", "type", "name", "parent", "custom", "inputs", "protect", "retainOnDelete"} <= set(r)
        assert r["parent"] is None or r["parent"].startswith("urn:pulumi:dev-aws::mlops-stack::")
    urns = {r["urn"] for r in doc["resources"]}
    assert all(r["parent"] in urns for r in doc["resources"] if r["parent"])
    assert doc["outputs"]["kubeconfig"] == "[secret]"
    # Inputs are wire names as the engine received them.
    cluster = next(r for r in doc["resources"] if r["type"] == "aws:eks/cluster:Cluster")
    assert "enabledClusterLogTypes" in cluster["inputs"]


def test_plan_text_shows_the_tree() -> None:
    res = run("plan", "--stack", "prod-aws")
    assert res.returncode == 0, res.stderr
    assert "mlops-stack / prod-aws (aws)" in res.stdout
    assert "mlops:aws:GpuNodePool  mlops-gpu-infer" in res.stdout
    assert "aws:s3/bucket:Bucket" in res.stdout and "(protected, retained)" in res.stdout


def test_plan_a_stack_file_from_elsewhere(tmp_path: Path) -> None:
    src = (ROOT / "stacks" / "Pulumi.dev-aws.yaml").read_text()
    (tmp_path / "Pulumi.team-a.yaml").write_text(src.replace("mlops-stack:name: mlops", "mlops-stack:name: teama"))
    res = run("plan", "--config", str(tmp_path / "Pulumi.team-a.yaml"), "--format", "json", cwd=tmp_path)
    assert res.returncode == 0, res.stderr
    doc = json.loads(res.stdout)
    assert doc["stack"] == "team-a" and doc["outputs"]["cluster_name"] == "teama-dev"


BAD = {
    "unknown GPU": ("cluster:\n    gpuPools:\n      - {name: a, gpu: nvidia-l5, maxNodes: 1}", "error: cluster.gpuPools[0].gpu: 'nvidia-l5' is not a GPU name"),
    "min > max": ("cluster:\n    gpuPools:\n      - {name: a, gpu: nvidia-l4, minNodes: 3, maxNodes: 1}", "error: cluster.gpuPools[0].minNodes: 3 is greater than maxNodes (1)"),
    "misspelt key": ("clustr: {}", "error: clustr: is not a known key (did you mean 'cluster'?)"),
    "name too long": ("name: machinelearningplatformteam", "error: name: 'machinelearningplatformteam' must be 2-16 lower-case letters"),
    "S3 prefix too long": (
        "storage: {buckets: [{name: datasets-for-the-vision-team}]}",
        "error: storage.buckets[0].name: 'datasets-for-the-vision-team' makes the S3 bucket prefix 'mlops-dev-datasets-for-the-vision-team-' 39 characters long; AWS allows 37",
    ),
    "wrong type": ("cluster:\n    gpuPools:\n      - {name: a, gpu: nvidia-l4, maxNodes: lots}", "error: cluster.gpuPools[0].maxNodes: 'lots' must be a whole number"),
    "replica in the same region": ("storage: {replicaRegion: us-west-2}", "error: storage.replicaRegion: 'us-west-2' must differ from region"),
    "GPU the region lacks": (
        "cluster:\n    gpuPools:\n      - {name: a, gpu: nvidia-b200, gpusPerNode: 8, maxNodes: 1}",
        "error: cluster.gpuPools[0].gpu: 'nvidia-b200' is not offered on aws for node pools in region us-west-2",
    ),
}


@pytest.mark.parametrize("case", sorted(BAD))
def test_bad_specs_exit_2_with_one_line(case: str, tmp_path: Path) -> None:
    body, expected = BAD[case]
    stack = tmp_path / "Pulumi.bad.yaml"
    stack.write_text("config:\n  mlops-stack:cloud: aws\n  mlops-stack:region: us-west-2\n  mlops-stack:" + body + "\n")
    res = run("plan", "--config", str(stack))
    assert res.returncode == 2
    assert res.stdout == ""
    lines = res.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(expected), res.stderr
    assert "Traceback" not in res.stderr


def test_unknown_stack_name_suggests_one() -> None:
    res = run("plan", "--stack", "dev-awss")
    assert res.returncode == 2
    assert res.stderr.strip() == "error: --stack: 'dev-awss' no stack file Pulumi.dev-awss.yaml in stacks (did you mean 'dev-aws'?)"


def test_empty_stack_file_says_what_is_missing(tmp_path: Path) -> None:
    stack = tmp_path / "Pulumi.empty.yaml"
    stack.write_text("")
    res = run("plan", "--config", str(stack))
    assert res.returncode == 2
    assert res.stderr.strip() == f"error: {stack}: has no config: section (a stack file starts with config: and then mlops-stack:cloud, mlops-stack:region, ...)"


def test_broken_yaml_is_a_spec_error(tmp_path: Path) -> None:
    stack = tmp_path / "Pulumi.broken.yaml"
    stack.write_text("config:\n  mlops-stack:cloud: [aws\n")
    res = run("plan", "--config", str(stack))
    assert res.returncode == 2 and res.stderr.startswith("error: ") and "is not valid YAML at line" in res.stderr


def test_platform_repo_example_plans() -> None:
    example = ROOT / "examples" / "platform-repo"
    res = run("plan", "--config", str(example / "Pulumi.dev.yaml"), "--program", str(example), "--format", "json")
    assert res.returncode == 0, res.stderr
    doc = json.loads(res.stdout)
    assert doc["project"] == "ml-platform"
    types = [r["type"] for r in doc["resources"]]
    assert types.count("mlops:aws:GpuNodePool") == 1 and types.count("mlops:aws:ArtifactStore") == 1
    assert "aws:eks/cluster:Cluster" not in types  # the cluster exists already: only the pool is added
    ng = next(r for r in doc["resources"] if r["type"] == "aws:eks/nodeGroup:NodeGroup")
    assert ng["inputs"]["clusterName"] == "platform-dev"
    assert ng["inputs"]["instanceTypes"] == ["g6.xlarge"]
    assert len(ng["inputs"]["subnetIds"]) == 3  # looked up from the existing cluster
    assert ng["inputs"]["taints"] == [{"key": "nvidia.com/gpu", "value": "true", "effect": "NO_SCHEDULE"}]
    # Used alone, the store brings its own customer-managed key.
    assert types.count("aws:kms/key:Key") == 1
    assert doc["outputs"]["bucket_uris"]["features"].startswith("s3://platform-dev-features-")


def test_aws_plan_imports_no_other_cloud_sdk() -> None:
    code = (
        "import sys\n"
        "from mlops_stack.offline.plan import plan_stack_file\n"
        "plan_stack_file('stacks/Pulumi.prod-aws.yaml')\n"
        "print(sorted(m for m in ('pulumi_gcp', 'pulumi_azure_native', 'sagemaker') if m in sys.modules))\n"
    )
    res = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert res.returncode == 0, res.stderr
    assert res.stdout.strip() == "[]"
