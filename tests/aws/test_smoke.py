"""``mlops-stack smoke`` against a moto account built to match the plan's outputs: the
outputs come from planning tests/fixtures/aws/Pulumi.smoke-aws.yaml offline (the same
realistic names ``pulumi stack output --json`` would print), and each bucket,
repository, cluster and endpoint is then created in moto under those names. Where moto
cannot show a state (an endpoint that is not InService), botocore's Stubber answers in
the real shape."""

from __future__ import annotations

import argparse
import datetime as dt
import functools
import json
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.stub import ANY, Stubber
from mlops_stack import cli_ops
from mlops_stack.aws import preflight, smoke
from mlops_stack.aws.smoke import FAIL, OK, SKIP
from mlops_stack.offline.plan import plan_stack_file
from mlops_stack.offline.stackfile import read_stack_file
from mlops_stack.spec import load_spec
from moto import mock_aws
from planning import ROOT, write_outputs

REGION = "us-east-1"
FIXTURE = ROOT / "tests" / "fixtures" / "aws" / "Pulumi.smoke-aws.yaml"
ROLE = "arn:aws:iam::123456789012:role/smoke"


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


@functools.cache
def plan_outputs() -> dict[str, Any]:
    """The stack outputs as `pulumi stack output --json` prints them (secrets masked)."""
    outputs = dict(plan_stack_file(FIXTURE).plan.outputs)
    outputs["kubeconfig"] = "[secret]"
    return json.loads(json.dumps(outputs))


def spec() -> Any:
    return load_spec(read_stack_file(FIXTURE).raw_spec)


def build_account(outputs: dict[str, Any], *, unversioned: str | None = None) -> None:
    """Create in moto what `pulumi up` would have created, named as in ``outputs``."""
    s3 = boto3.client("s3", region_name=REGION)
    for logical, uri in outputs["bucket_uris"].items():
        name = uri.removeprefix("s3://")
        s3.create_bucket(Bucket=name)
        s3.put_bucket_encryption(
            Bucket=name,
            ServerSideEncryptionConfiguration={
                "Rules": [{"ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "aws:kms", "KMSMasterKeyID": "alias/smoke-dev"}, "BucketKeyEnabled": True}]
            },
        )
        if logical != unversioned:
            s3.put_bucket_versioning(Bucket=name, VersioningConfiguration={"Status": "Enabled"})
        s3.put_public_access_block(
            Bucket=name,
            PublicAccessBlockConfiguration={f: True for f in smoke.PUBLIC_ACCESS_FLAGS},
        )
    ecr = boto3.client("ecr", region_name=REGION)
    for url in outputs["repository_urls"].values():
        ecr.create_repository(repositoryName=url.split("/", 1)[1], imageScanningConfiguration={"scanOnPush": True}, imageTagMutability="IMMUTABLE")
    eks = boto3.client("eks", region_name=REGION)
    eks.create_cluster(name=outputs["cluster_name"], roleArn=ROLE, resourcesVpcConfig={"subnetIds": []})
    sm = boto3.client("sagemaker", region_name=REGION)
    for logical, ep in outputs["endpoints"].items():
        sm.create_model(ModelName=f"{logical}-model", ExecutionRoleArn=ROLE, PrimaryContainer={"Image": "123456789012.dkr.ecr.us-east-1.amazonaws.com/x:1"})
        sm.create_endpoint_config(
            EndpointConfigName=f"{logical}-config",
            ProductionVariants=[{"VariantName": "primary", "ModelName": f"{logical}-model", "InitialInstanceCount": 1, "InstanceType": "ml.m5.large"}],
        )
        sm.create_endpoint(EndpointName=ep["endpoint_name"], EndpointConfigName=f"{logical}-config")


def factory(overrides: dict[str, Any] | None = None) -> Any:
    return preflight.session_clients(boto3.Session(region_name=REGION), REGION, overrides)


def run_cli(argv: list[str], client: Any, capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    parser = argparse.ArgumentParser(prog="mlops-stack")
    cli_ops.add_parsers(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(argv)
    code = args.handler(args, client=client)
    out, err = capsys.readouterr()
    return code, out, err


class RecordingRuntime:
    """sagemaker-runtime over moto, recording the requests it is sent."""

    def __init__(self) -> None:
        self.client = boto3.client("sagemaker-runtime", region_name=REGION)
        self.calls: list[dict[str, Any]] = []

    def invoke_endpoint(self, **kwargs: Any) -> Any:
        self.calls.append(kwargs)
        return self.client.invoke_endpoint(**kwargs)


# --- passing -------------------------------------------------------------------------


@mock_aws
def test_passes_on_an_account_built_from_the_plan_outputs(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    outputs = plan_outputs()
    build_account(outputs)
    runtime = RecordingRuntime()
    code, out, err = run_cli(
        ["smoke", "--config", str(FIXTURE), "--outputs", str(write_outputs(tmp_path, outputs))], factory({"sagemaker-runtime": runtime}), capsys
    )
    assert (code, err) == (0, ""), out
    assert "smoke: all 15 checks passed" in out
    # One request per endpoint: the framework default for TGI, the spec's sampleRequest for the other.
    assert sorted((c["EndpointName"], c["ContentType"], c["Body"]) for c in runtime.calls) == [
        ("smoke-dev-chat", "application/json", b'{"inputs": "Hello", "parameters": {"max_new_tokens": 8}}'),
        ("smoke-dev-scorer", "text/csv", b"5.1,3.5,1.4,0.2"),
    ]


@mock_aws
def test_every_check_is_reported() -> None:
    outputs = plan_outputs()
    build_account(outputs)
    report = smoke.run_smoke(spec(), outputs, factory(), stack="smoke-aws")
    rows = [(r.check, r.resource.split(" ")[0], r.found, r.status) for r in report.results]
    buckets = [row for row in rows if row[0].startswith("bucket")]
    assert buckets == [
        (check, logical, found, OK)
        for logical in ("artifacts", "models")
        for check, found in (("bucket exists", "exists"), ("bucket encryption", "aws:kms"), ("bucket versioning", "Enabled"),
                             ("bucket public access block", "all four"))
    ]
    assert [row for row in rows if not row[0].startswith("bucket")] == [
        ("repository scan on push", "serving", "true", OK),
        ("repository scan on push", "training", "true", OK),
        ("cluster status", "smoke-dev", "ACTIVE", OK),
        ("endpoint status", "chat", "InService", OK),
        ("endpoint request", "chat", "200", OK),
        ("endpoint status", "scorer", "InService", OK),
        ("endpoint request", "scorer", "200", OK),
    ]


# --- failing -------------------------------------------------------------------------


@mock_aws
def test_fails_on_a_bucket_without_versioning(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    outputs = plan_outputs()
    build_account(outputs, unversioned="models")
    code, out, _ = run_cli(
        ["smoke", "--config", str(FIXTURE), "--outputs", str(write_outputs(tmp_path, outputs)), "--format", "json"], factory(), capsys
    )
    assert code == 1
    failed = [r for r in json.loads(out)["results"] if r["status"] == FAIL]
    bucket = outputs["bucket_uris"]["models"].removeprefix("s3://")
    assert failed == [
        {"check": "bucket versioning", "resource": f"models ({bucket})", "expected": "Enabled", "found": "never enabled", "status": FAIL, "detail": ""}
    ]


@mock_aws
def test_fails_on_an_endpoint_that_is_not_in_service(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    outputs = plan_outputs()
    build_account(outputs)
    sm = boto3.client("sagemaker", region_name=REGION)
    stub = Stubber(sm)
    now = dt.datetime(2026, 11, 27, tzinfo=dt.UTC)
    stub.add_response(
        "describe_endpoint",
        {
            "EndpointName": "smoke-dev-chat",
            "EndpointArn": "arn:aws:sagemaker:us-east-1:123456789012:endpoint/smoke-dev-chat",
            "EndpointConfigName": "chat-config",
            "EndpointStatus": "Failed",
            "FailureReason": "The primary container for production variant primary did not pass the ping health check.",
            "CreationTime": now,
            "LastModifiedTime": now,
        },
        {"EndpointName": "smoke-dev-chat"},
    )
    stub.add_response(
        "describe_endpoint",
        {
            "EndpointName": "smoke-dev-scorer",
            "EndpointArn": "arn:aws:sagemaker:us-east-1:123456789012:endpoint/smoke-dev-scorer",
            "EndpointConfigName": "scorer-config",
            "EndpointStatus": "InService",
            "CreationTime": now,
            "LastModifiedTime": now,
        },
        {"EndpointName": ANY},
    )
    runtime = RecordingRuntime()
    with stub:
        code, out, _ = run_cli(
            ["smoke", "--config", str(FIXTURE), "--outputs", str(write_outputs(tmp_path, outputs)), "--format", "json"],
            factory({"sagemaker": sm, "sagemaker-runtime": runtime}),
            capsys,
        )
        stub.assert_no_pending_responses()
    assert code == 1
    failed = [(r["check"], r["resource"], r["found"], r["detail"]) for r in json.loads(out)["results"] if r["status"] == FAIL]
    assert failed == [
        ("endpoint status", "chat (smoke-dev-chat)", "Failed", "The primary container for production variant primary did not pass the ping health check."),
        ("endpoint request", "chat (smoke-dev-chat)", "-", "not sent: the endpoint is not InService"),
    ]
    assert [c["EndpointName"] for c in runtime.calls] == ["smoke-dev-scorer"]


@mock_aws
def test_a_request_that_gets_a_model_error_fails_with_its_status() -> None:
    outputs = plan_outputs()
    build_account(outputs)
    runtime = boto3.client("sagemaker-runtime", region_name=REGION)
    stub = Stubber(runtime)
    stub.add_client_error(
        "invoke_endpoint",
        service_error_code="ModelError",
        service_message="Received client error (400) from primary with message \"bad input\"",
        http_status_code=424,
        modeled_fields={"OriginalStatusCode": 400, "OriginalMessage": "bad input"},
    )
    stub.add_response("invoke_endpoint", {"Body": b"0.93", "ContentType": "text/csv"})
    with stub:
        report = smoke.run_smoke(spec(), outputs, factory({"sagemaker-runtime": runtime}))
    requests = [(r.resource, r.found, r.status, r.detail) for r in report.results if r.check == "endpoint request"]
    assert requests == [("chat (smoke-dev-chat)", "400", FAIL, "ModelError: bad input"), ("scorer (smoke-dev-scorer)", "200", OK, "")]


@mock_aws
def test_missing_resources_fail_and_an_endpoint_without_a_request_is_skipped() -> None:
    outputs = plan_outputs()  # nothing built: every lookup fails
    from mlops_stack.spec import EndpointSpec

    s = spec()
    scorer = s.endpoints[1].model_copy(update={"sample_request": None})
    assert isinstance(scorer, EndpointSpec)
    s = s.model_copy(update={"endpoints": [s.endpoints[0], scorer]})
    report = smoke.run_smoke(s, outputs, factory())
    found = {(r.check, r.resource.split(" ")[0]): (r.found, r.status) for r in report.results}
    assert found[("bucket exists", "artifacts")] == ("404", FAIL)
    assert found[("repository scan on push", "serving")] == ("RepositoryNotFoundException", FAIL)
    assert found[("cluster status", "smoke-dev")] == ("ResourceNotFoundException", FAIL)
    assert found[("endpoint status", "chat")][1] == FAIL
    assert found[("endpoint request", "scorer")] == ("-", SKIP)


def test_bad_outputs_are_a_usage_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    bad = tmp_path / "out.json"
    bad.write_text("Current stack outputs (3):")
    code, out, err = run_cli(["smoke", "--config", str(FIXTURE), "--outputs", str(bad)], factory(), capsys)
    assert (code, out) == (2, "")
    assert err.startswith("error: --outputs: '") and err.rstrip().endswith(
        "is not JSON (Expecting value at line 1) (pass the output of `pulumi stack output --json`)"
    )
    other = write_outputs(tmp_path, {**plan_outputs(), "region": "eu-west-1"})
    code, _, err = run_cli(["smoke", "--config", str(FIXTURE), "--outputs", str(other)], factory(), capsys)
    assert code == 2 and "are of a stack with region eu-west-1, but the spec's region is us-east-1" in err
