"""``mlops-stack preflight`` against moto (EC2 zones and instance-type offerings, moto's
real per-zone data) and botocore's Stubber for Service Quotas (moto has no EC2 or
SageMaker quota values), with responses in the real shape."""

from __future__ import annotations

import argparse
import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import boto3
import pytest
import yaml
from botocore.stub import Stubber
from mlops_stack import cli_ops
from mlops_stack.aws import preflight
from mlops_stack.aws.preflight import FAIL, OK, WARN, failing_lines, quota_family
from moto import mock_aws
from planning import ROOT

REGION = "us-east-1"
#: The preflight tests' own stacks (the example stacks change with the examples).
STACKS = ROOT / "tests" / "fixtures" / "aws"
G_OD, G_SPOT, P_OD, P_SPOT, STD_OD = "L-DB2E81BA", "L-3819A6DF", "L-417A185B", "L-7212CCBC", "L-1216C47A"
NAMES = {
    G_OD: "Running On-Demand G and VT instances",
    G_SPOT: "All G and VT Spot Instance Requests",
    P_OD: "Running On-Demand P instances",
    P_SPOT: "All P Spot Instance Requests",
    STD_OD: "Running On-Demand Standard (A, C, D, H, I, M, R, T, Z) instances",
}


@pytest.fixture(autouse=True)
def fake_credentials(monkeypatch: pytest.MonkeyPatch) -> None:
    for key, value in {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_SESSION_TOKEN": "testing",
        "AWS_DEFAULT_REGION": REGION,
        "AWS_EC2_METADATA_DISABLED": "true",
    }.items():
        monkeypatch.setenv(key, value)
    monkeypatch.delenv("AWS_PROFILE", raising=False)


def quota(code: str, name: str, value: float, service: str = "ec2") -> dict[str, Any]:
    """A ServiceQuota as Service Quotas returns it."""
    return {
        "ServiceCode": service,
        "ServiceName": "Amazon Elastic Compute Cloud (Amazon EC2)" if service == "ec2" else "Amazon SageMaker",
        "QuotaArn": f"arn:aws:servicequotas:{REGION}:123456789012:{service}/{code}",
        "QuotaCode": code,
        "QuotaName": name,
        "Value": float(value),
        "Unit": "None",
        "Adjustable": True,
        "GlobalQuota": False,
    }


def sagemaker_quotas(values: dict[str, float]) -> list[dict[str, Any]]:
    """SageMaker quotas by name. Their codes differ per instance type and use (the ones
    here are placeholders in the real format); preflight matches them by name."""
    out = [quota(f"L-{abs(hash(t)) % 16**8:08X}", f"{t} for endpoint usage", v, "sagemaker") for t, v in values.items()]
    out.append(quota("L-2F5B1DA1", "ml.g5.xlarge for training job usage", 50, "sagemaker"))
    return out


def quotas_client(ec2_calls: list[tuple[str, float | None, float | None]], sagemaker: dict[str, float], *, error: str | None = None) -> Any:
    """A service-quotas client that answers the calls preflight makes, in order:
    GetServiceQuota per EC2 quota (``(code, applied, default)``; applied None ->
    NoSuchResourceException, then GetAWSDefaultServiceQuota), then ListServiceQuotas and
    ListAWSDefaultServiceQuotas for sagemaker."""
    client = boto3.client("service-quotas", region_name=REGION)
    stub = Stubber(client)
    for code, applied, default in ec2_calls:
        params = {"ServiceCode": "ec2", "QuotaCode": code}
        if error:
            stub.add_client_error("get_service_quota", service_error_code=error, service_message="denied", http_status_code=400, expected_params=params)
            continue
        if applied is None:
            stub.add_client_error("get_service_quota", service_error_code="NoSuchResourceException", http_status_code=400, expected_params=params)
            stub.add_response("get_aws_default_service_quota", {"Quota": quota(code, NAMES[code], default or 0)}, params)
        else:
            stub.add_response("get_service_quota", {"Quota": quota(code, NAMES[code], applied)}, params)
    if sagemaker:
        stub.add_response("list_service_quotas", {"Quotas": sagemaker_quotas(sagemaker)}, {"ServiceCode": "sagemaker"})
        stub.add_response("list_aws_default_service_quotas", {"Quotas": sagemaker_quotas(sagemaker)}, {"ServiceCode": "sagemaker"})
    stub.activate()
    client._stubber = stub  # keep it alive; assert_no_pending_responses in tests
    return client


def eks_versions(minor: str = "1.35", status: str | None = "STANDARD_SUPPORT", end: str = "2027-03-27") -> Any:
    """An EKS client answering DescribeClusterVersions (moto has no such operation) in the
    real shape (botocore's model); ``status=None``: the minor is not listed."""
    client = boto3.client("eks", region_name=REGION)
    stub = Stubber(client)
    versions = []
    if status is not None:
        versions.append({
            "clusterVersion": minor,
            "clusterType": "eks",
            "defaultPlatformVersion": "eks.3",
            "defaultVersion": False,
            "releaseDate": datetime(2026, 1, 27, tzinfo=UTC),
            "endOfStandardSupportDate": datetime.fromisoformat(end).replace(tzinfo=UTC),
            "endOfExtendedSupportDate": datetime(2028, 3, 27, tzinfo=UTC),
            "status": status.lower().replace("_", "-"),
            "versionStatus": status,
            "kubernetesPatchVersion": f"{minor}.2",
        })
    stub.add_response("describe_cluster_versions", {"clusterVersions": versions},
                      {"clusterType": "eks", "clusterVersions": [minor], "includeAll": True})
    stub.activate()
    client._stubber = stub
    return client


def clients(sq: Any, eks: Any = None, *, slr: bool = True) -> Any:
    """Clients for a run under moto: EC2, IAM and STS from moto; Service Quotas and EKS
    stubbed. ``slr``: the account has the EC2 Auto Scaling service-linked role (an account
    that never had an Auto Scaling group does not)."""
    if slr:
        boto3.client("iam", region_name=REGION).create_service_linked_role(AWSServiceName="autoscaling.amazonaws.com")
    return preflight.session_clients(boto3.Session(region_name=REGION), REGION, {"service-quotas": sq, "eks": eks or eks_versions()})


def run_cli(argv: list[str], sq: Any, capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    parser = argparse.ArgumentParser(prog="mlops-stack")
    cli_ops.add_parsers(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args([*argv, "--stacks-dir", str(STACKS)] if "--stack" in argv else argv)
    code = args.handler(args, client=clients(sq) if sq is not None else None)
    out, err = capsys.readouterr()
    return code, out, err


def stack_file(tmp_path: Path, base: str, **changes: Any) -> Path:
    doc = yaml.safe_load((STACKS / f"Pulumi.{base}.yaml").read_text())
    for key, value in changes.items():
        doc["config"][f"mlops-stack:{key}"] = value
    path = tmp_path / f"Pulumi.{base}-x.yaml"
    path.write_text(yaml.safe_dump(doc))
    return path


# preflight-dev: system pool 3 x m7i.large (2 vCPU), train 4 x g5.xlarge spot, infer 2 x
# g6.xlarge on demand (4 vCPU each); one ml.m5.large endpoint with maxInstances 2.
DEV_HEALTHY = [(G_OD, 64, None), (G_SPOT, 64, None), (STD_OD, None, 640)]


# --- pure pieces ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("instance_type", "family"),
    [("g5.xlarge", "G and VT"), ("g6e.12xlarge", "G and VT"), ("vt1.3xlarge", "G and VT"), ("p4d.24xlarge", "P"),
     ("p6-b200.48xlarge", "P"), ("m7i.large", "Standard"), ("inf2.xlarge", None), ("trn1.2xlarge", None)],
)
def test_quota_family(instance_type: str, family: str | None) -> None:
    assert quota_family(instance_type) == family


@mock_aws
def test_planned_zones_are_the_first_available_ones_sorted() -> None:
    ec2 = boto3.client("ec2", region_name=REGION)
    assert preflight.planned_zones(ec2, 3) == ["us-east-1a", "us-east-1b", "us-east-1c"]


# --- the command ---------------------------------------------------------------------


@mock_aws
def test_passes_on_a_healthy_account(capsys: pytest.CaptureFixture[str]) -> None:
    sq = quotas_client(DEV_HEALTHY, {"ml.m5.large": 4})
    code, out, err = run_cli(["preflight", "--stack", "preflight-dev"], sq, capsys)
    assert (code, err) == (0, "")
    assert "preflight: all 13 checks passed" in out
    for text in ("Running On-Demand G and VT instances (L-DB2E81BA)", "8 vCPU", "64 vCPU", "All G and VT Spot Instance Requests",
                 "16 vCPU", "6 vCPU", "640 vCPU", "ml.m5.large for endpoint usage", "2 instances", "4 instances"):
        assert text in out, text
    sq._stubber.assert_no_pending_responses()


@mock_aws
def test_the_findings_have_the_numbers() -> None:
    from mlops_stack.offline.stackfile import read_stack_file
    from mlops_stack.spec import load_spec

    spec = load_spec(read_stack_file(STACKS / "Pulumi.preflight-dev.yaml").raw_spec)
    report = preflight.run_preflight(spec, clients(quotas_client(DEV_HEALTHY, {"ml.m5.large": 4})), stack="preflight-dev")
    rows = [(f.check, f.subject, f.where, f.needed, f.allowed, f.status) for f in report.findings]
    assert rows == [
        ("EKS version", "Kubernetes 1.35 (upgradePolicy STANDARD)", REGION, "STANDARD_SUPPORT", "STANDARD_SUPPORT", OK),
        ("zones", "available zones for the subnets", REGION, "2", "2", OK),
        ("instance offered", "pool system (m7i.large)", "us-east-1a", "offered", "offered", OK),
        ("instance offered", "pool system (m7i.large)", "us-east-1b", "offered", "offered", OK),
        ("instance offered", "pool train (g5.xlarge)", "us-east-1a", "offered", "offered", OK),
        ("instance offered", "pool train (g5.xlarge)", "us-east-1b", "offered", "offered", OK),
        ("instance offered", "pool infer (g6.xlarge)", "us-east-1a", "offered", "offered", OK),
        ("instance offered", "pool infer (g6.xlarge)", "us-east-1b", "offered", "offered", OK),
        ("EC2 vCPU quota", f"{NAMES[G_OD]} ({G_OD})", REGION, "8 vCPU", "64 vCPU", OK),
        ("EC2 vCPU quota", f"{NAMES[G_SPOT]} ({G_SPOT})", REGION, "16 vCPU", "64 vCPU", OK),
        ("EC2 vCPU quota", f"{NAMES[STD_OD]} ({STD_OD})", REGION, "6 vCPU", "640 vCPU", OK),
        ("SageMaker endpoint quota", report.findings[-2].subject, REGION, "2 instances", "4 instances", OK),
        ("endpoint inputs", "model artifacts and images", REGION, "present", "not checked", WARN),
    ]
    assert report.findings[-2].subject.startswith("ml.m5.large for endpoint usage (L-")
    assert report.findings[-1].detail == "pass --outputs (pulumi stack output --json) after the first apply with deployEndpoints: false"
    assert report.ok


@mock_aws
def test_fails_with_the_numbers_on_too_small_quotas(capsys: pytest.CaptureFixture[str]) -> None:
    # preflight-prod: train 2 x p4d.24xlarge (96 vCPU) on demand, infer 8 x g6.xlarge (4 vCPU),
    # system 6 x m7i.xlarge (4 vCPU); endpoint sentiment: up to 6 x ml.g5.xlarge.
    sq = quotas_client([(G_OD, 32, None), (P_OD, 96, None), (STD_OD, 64, None)], {"ml.g5.xlarge": 2})
    code, out, _ = run_cli(["preflight", "--stack", "preflight-prod", "--format", "json"], sq, capsys)
    assert code == 1
    doc = json.loads(out)
    assert doc["ok"] is False
    failed = [(f["subject"], f["needed"], f["allowed"]) for f in doc["findings"] if f["status"] == FAIL]
    assert failed[0] == (f"{NAMES[P_OD]} ({P_OD})", "192 vCPU", "96 vCPU")
    assert failed[1][0].startswith("ml.g5.xlarge for endpoint usage (L-") and failed[1][1:] == ("6 instances", "2 instances")
    assert len(failed) == 2
    ok = {f["subject"]: (f["needed"], f["allowed"]) for f in doc["findings"] if f["status"] == OK}
    assert ok[f"{NAMES[G_OD]} ({G_OD})"] == ("32 vCPU", "32 vCPU")  # exactly at the quota passes
    assert ok[f"{NAMES[STD_OD]} ({STD_OD})"] == ("24 vCPU", "64 vCPU")


@mock_aws
def test_zones_eks_does_not_support_are_left_out_by_id(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    # moto's us-east-1 has six zones; us-east-1e is use1-az3, where EKS places no control
    # plane, so the five zones asked for are a, b, c, d and f. (Six is a spec error.)
    path = stack_file(tmp_path, "preflight-dev", network={"cidr": "10.20.0.0/16", "zones": 5})
    sq = quotas_client(DEV_HEALTHY, {"ml.m5.large": 4})
    code, out, _ = run_cli(["preflight", "--config", str(path), "--format", "json"], sq, capsys)
    assert code == 0, out
    doc = json.loads(out)
    (zones,) = [f for f in doc["findings"] if f["check"] == "zones"]
    assert (zones["needed"], zones["allowed"], zones["status"]) == ("5", "5", OK)
    assert zones["detail"] == "us-east-1a, us-east-1b, us-east-1c, us-east-1d, us-east-1f; left out (EKS does not support them): us-east-1e (use1-az3)"
    assert "us-east-1e" not in {f["where"] for f in doc["findings"] if f["check"] == "instance offered"}


@mock_aws
def test_fails_on_a_zone_without_the_instance_type(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    # Five usable zones: us-east-1f offers no p4d.24xlarge (moto's offering data).
    cluster = {"systemPool": {"size": "small", "maxNodes": 3},
               "gpuPools": [{"name": "train", "gpu": "nvidia-a100-40gb", "gpusPerNode": 8, "maxNodes": 1}]}
    path = stack_file(tmp_path, "preflight-dev", network={"cidr": "10.20.0.0/16", "zones": 5}, cluster=cluster)
    sq = quotas_client([(P_OD, 96, None), (STD_OD, 640, None)], {"ml.m5.large": 4})
    code, out, _ = run_cli(["preflight", "--config", str(path), "--format", "json"], sq, capsys)
    assert code == 1
    doc = json.loads(out)
    offered = [f for f in doc["findings"] if f["check"] == "instance offered"]
    assert len(offered) == 10  # system and train pools x 5 zones, reported per zone
    failed = [(f["subject"], f["where"], f["allowed"]) for f in doc["findings"] if f["status"] == FAIL]
    assert failed == [("pool train (p4d.24xlarge)", "us-east-1f", "not offered")]


@mock_aws
def test_a_missing_autoscaling_service_linked_role_is_no_longer_a_failure() -> None:
    # The stack key's policy matches the role by condition (it no longer names it), so
    # CreateKey succeeds before the account's first Auto Scaling group creates the role:
    # the apply needs no preflight for it, and preflight does not ask for it.
    from mlops_stack.offline.stackfile import read_stack_file
    from mlops_stack.spec import load_spec

    spec = load_spec(read_stack_file(STACKS / "Pulumi.preflight-dev.yaml").raw_spec)
    report = preflight.run_preflight(spec, clients(quotas_client(DEV_HEALTHY, {"ml.m5.large": 4}), slr=False))
    assert report.ok and report.failed == []
    assert "service-linked role" not in {f.check for f in report.findings}


# --- managed endpoints' inputs, after phase 1 (--outputs) ---------------------------------

IMAGE_REPO = "pf-dev/serving"
ARTIFACT_KEY = "sentiment/v1/model.tar.gz"


def _phase1_account(*, artifact: bool, image: bool) -> str:
    """Under moto: the stack bucket (a generated name) and the ECR repository, as phase 1
    leaves them, with or without the model artifact and the image. Returns the bucket name."""
    bucket = "pf-dev-models-20261208abcdef"
    s3 = boto3.client("s3", region_name=REGION)
    s3.create_bucket(Bucket=bucket)
    if artifact:
        s3.put_object(Bucket=bucket, Key=ARTIFACT_KEY, Body=b"model")
    ecr = boto3.client("ecr", region_name=REGION)
    ecr.create_repository(repositoryName=IMAGE_REPO)
    if image:
        manifest = {"schemaVersion": 2, "mediaType": "application/vnd.docker.distribution.manifest.v2+json",
                    "config": {"mediaType": "application/vnd.docker.container.image.v1+json", "size": 7023,
                               "digest": "sha256:" + "a" * 64}, "layers": []}
        ecr.put_image(repositoryName=IMAGE_REPO, imageManifest=json.dumps(manifest), imageTag="sentiment-1.0.0")
    return bucket


def _inputs_rows(report: Any) -> list[tuple[str, str, str, str]]:
    return [(f.subject, f.where, f.allowed, f.status) for f in report.findings if f.check == "endpoint inputs"]


@pytest.mark.parametrize(("artifact", "image"), [(True, True), (False, True), (True, False), (False, False)])
@mock_aws
def test_with_outputs_the_artifact_and_the_image_must_exist(artifact: bool, image: bool) -> None:
    from mlops_stack.offline.stackfile import read_stack_file
    from mlops_stack.spec import load_spec

    bucket = _phase1_account(artifact=artifact, image=image)
    spec = load_spec(read_stack_file(STACKS / "Pulumi.preflight-dev.yaml").raw_spec)
    outputs = {"cloud": "aws", "region": REGION, "bucket_uris": {"models": f"s3://{bucket}"}}
    # The image names the moto account's registry (123456789012).
    report = preflight.run_preflight(spec, clients(quotas_client(DEV_HEALTHY, {"ml.m5.large": 4})), outputs=outputs)
    image_ref = f"123456789012.dkr.ecr.{REGION}.amazonaws.com/{IMAGE_REPO}:sentiment-1.0.0"
    assert _inputs_rows(report) == [
        ("endpoints[0] sentiment: model artifact", f"s3://{bucket}/{ARTIFACT_KEY}", "present" if artifact else "missing", OK if artifact else FAIL),
        ("endpoints[0] sentiment: image", image_ref, "present" if image else "missing", OK if image else FAIL),
    ]
    assert report.ok is (artifact and image)
    if not artifact:
        (row,) = [f for f in report.failed if f.subject.endswith("model artifact")]
        assert row.detail == f"upload the model first (aws s3 cp <file> s3://{bucket}/{ARTIFACT_KEY}); CreateModel fails without it"


@mock_aws
def test_preflight_outputs_flag_checks_the_endpoints_inputs(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    bucket = _phase1_account(artifact=False, image=True)
    outputs = tmp_path / "outputs.json"
    outputs.write_text(json.dumps({"cloud": "aws", "region": REGION, "bucket_uris": {"models": f"s3://{bucket}"}}))
    sq = quotas_client(DEV_HEALTHY, {"ml.m5.large": 4})
    code, out, err = run_cli(["preflight", "--stack", "preflight-dev", "--outputs", str(outputs), "--format", "json"], sq, capsys)
    assert (code, err) == (1, "")
    failed = [(f["subject"], f["allowed"]) for f in json.loads(out)["findings"] if f["status"] == FAIL]
    assert failed == [("endpoints[0] sentiment: model artifact", "missing")]


@mock_aws
def test_preflight_outputs_of_another_region_is_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    outputs = tmp_path / "outputs.json"
    outputs.write_text(json.dumps({"cloud": "aws", "region": "eu-west-1", "bucket_uris": {}}))
    code, out, err = run_cli(["preflight", "--stack", "preflight-dev", "--outputs", str(outputs)], quotas_client([], {}), capsys)
    assert code == 2
    assert err.startswith("error: --outputs: '") and err.count("\n") == 1
    assert err.endswith(" are of a stack with region eu-west-1, but the spec's region is us-east-1\n")


@pytest.mark.parametrize(
    ("admin", "status"),
    [("arn:aws:iam::123456789012:user/moto", FAIL), ("arn:aws:iam::123456789012:role/platform-admins", OK)],
)
@mock_aws
def test_the_creator_listed_as_cluster_admin_fails(tmp_path: Path, admin: str, status: str) -> None:
    from mlops_stack.offline.stackfile import read_stack_file
    from mlops_stack.spec import load_spec

    path = stack_file(tmp_path, "preflight-dev", aws={"clusterAdminArns": [admin]})
    spec = load_spec(read_stack_file(path).raw_spec)
    report = preflight.run_preflight(spec, clients(quotas_client(DEV_HEALTHY, {"ml.m5.large": 4})))
    (row,) = [f for f in report.findings if f.check == "EKS access entries"]
    assert (row.allowed, row.status) == ("arn:aws:sts::123456789012:user/moto", status)  # moto's caller, an IAM user
    if status == FAIL:
        assert row.subject == "aws.clusterAdminArns[0]" and "409" in row.detail


@pytest.mark.parametrize(
    ("caller", "expected"),
    [("arn:aws:sts::123456789012:assumed-role/deploy/gha-run-1", "arn:aws:iam::123456789012:role/deploy"),
     ("arn:aws:iam::123456789012:user/alice", "arn:aws:iam::123456789012:user/alice")],
)
def test_assumed_role_callers_compare_as_their_role(caller: str, expected: str) -> None:
    assert preflight.principal_role_arn(caller) == expected
    assert preflight._same_principal("arn:aws:iam::123456789012:role/ci/deploy", preflight.principal_role_arn("arn:aws:sts::123456789012:assumed-role/deploy/x"))


@mock_aws
def test_the_text_report_names_what_fails(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    sq = quotas_client([(G_OD, 4, None), (G_SPOT, 64, None), (STD_OD, 640, None)], {"ml.m5.large": 4})
    code, out, _ = run_cli(["preflight", "--stack", "preflight-dev"], sq, capsys)
    assert code == 1
    assert "preflight: 1 of 13 checks will fail" in out
    assert "FAIL" in out


@mock_aws
def test_a_quota_that_cannot_be_read_fails_the_run() -> None:
    from mlops_stack.offline.stackfile import read_stack_file
    from mlops_stack.spec import load_spec

    spec = load_spec(read_stack_file(STACKS / "Pulumi.preflight-dev.yaml").raw_spec)
    sq = quotas_client(DEV_HEALTHY, {"ml.m5.large": 4}, error="AccessDeniedException")
    report = preflight.run_preflight(spec, clients(sq))
    errors = [f for f in report.findings if f.status == "error"]
    assert len(errors) == 3 and all(f.detail.startswith("AccessDeniedException") for f in errors)
    assert not report.ok
    assert failing_lines(errors)[0] == f"EC2 vCPU quota: {NAMES[G_OD]} ({G_OD}) in {REGION}: needs 8, allowed ?"


def test_a_spec_error_exits_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    bad = stack_file(tmp_path, "preflight-dev", endpoints=[{"name": "chat", "gpu": "nvidia-a10g", "model": {
        "artifact": {"bucket": "models", "key": "c/model.tar.gz"}, "framework": {"name": "huggingface-llm", "version": "0.1"}}}])
    code, out, err = run_cli(["preflight", "--config", str(bad)], None, capsys)
    assert (code, out) == (2, "")
    assert err.startswith("error: endpoints[0].model.framework.version: '0.1' is not a huggingface-llm serving-image version")
    code, _, err = run_cli(["preflight", "--stack", "preflight-de"], None, capsys)
    assert code == 2 and "did you mean 'preflight-dev'?" in err


def test_no_credentials_exits_2(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    for key in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN"):
        monkeypatch.delenv(key)
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "none"))
    code, _, err = run_cli(["preflight", "--stack", "preflight-dev"], None, capsys)
    assert code == 2 and err.startswith("error: no AWS credentials found")


def test_the_cli_module_is_light_and_has_both_commands() -> None:
    import subprocess
    import sys

    code = (
        "import sys, argparse\n"
        "from mlops_stack import cli_ops\n"
        "p = argparse.ArgumentParser(prog='mlops-stack')\n"
        "cli_ops.add_parsers(p.add_subparsers(dest='command'))\n"
        "print(sorted(m for m in ('boto3', 'botocore', 'sagemaker', 'mlops_stack.aws', 'pulumi') if m in sys.modules))\n"
    )
    res = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=60, check=False)
    assert res.returncode == 0, res.stderr
    assert res.stdout.strip() == "[]"
    res = subprocess.run([sys.executable, "-m", "mlops_stack.cli_ops", "--help"], cwd=ROOT, capture_output=True, text=True, timeout=60, check=False)
    assert res.returncode == 0 and "preflight" in res.stdout and "smoke" in res.stdout


# --- Kubernetes version (DescribeClusterVersions) ------------------------------------


@pytest.mark.parametrize(
    ("status", "allowed", "result"),
    [("STANDARD_SUPPORT", "STANDARD_SUPPORT", OK), ("EXTENDED_SUPPORT", "EXTENDED_SUPPORT", FAIL), (None, "not offered", FAIL)],
)
@mock_aws
def test_the_live_eks_version_must_be_in_standard_support(status: str | None, allowed: str, result: str) -> None:
    from mlops_stack.offline.stackfile import read_stack_file
    from mlops_stack.spec import load_spec

    spec = load_spec(read_stack_file(STACKS / "Pulumi.preflight-dev.yaml").raw_spec)
    eks = eks_versions(status=status)
    report = preflight.run_preflight(spec, clients(quotas_client(DEV_HEALTHY, {"ml.m5.large": 4}), eks))
    (row,) = [f for f in report.findings if f.check == "EKS version"]
    assert (row.check, row.needed, row.allowed, row.status) == ("EKS version", "STANDARD_SUPPORT", allowed, result)
    assert "catalog: standard support until 2027-03-27" in row.detail
    if status:
        assert row.detail.startswith("EKS: standard support until 2027-03-27")
    assert report.ok is (result == OK)
    eks._stubber.assert_no_pending_responses()


@mock_aws
def test_an_unreadable_version_list_fails_the_run() -> None:
    from mlops_stack.offline.stackfile import read_stack_file
    from mlops_stack.spec import load_spec

    spec = load_spec(read_stack_file(STACKS / "Pulumi.preflight-dev.yaml").raw_spec)
    eks = boto3.client("eks", region_name=REGION)
    stub = Stubber(eks)
    stub.add_client_error("describe_cluster_versions", service_error_code="AccessDeniedException", http_status_code=403)
    stub.activate()
    report = preflight.run_preflight(spec, clients(quotas_client(DEV_HEALTHY, {"ml.m5.large": 4}), eks))
    (row,) = [f for f in report.findings if f.check == "EKS version"]
    assert row.status == "error" and row.detail.startswith("AccessDeniedException")
    assert not report.ok
