"""preflight/smoke: one command, one table of per-cloud modules with the same functions,
and the example pipeline deploying every cloud with OIDC credentials."""

from __future__ import annotations

import inspect
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml
from mlops_stack import cli_ops
from planning import ROOT


@pytest.mark.parametrize("cloud", sorted(cli_ops.ops_packages()))
def test_every_cloud_module_has_the_same_functions(cloud: str) -> None:
    pre, smoke = cli_ops.ops_module(cloud, "preflight"), cli_ops.ops_module(cloud, "smoke")
    params = inspect.signature(pre.run_preflight).parameters
    # ``outputs`` (``preflight --outputs``, after the first apply): the managed endpoints'
    # artifacts and images; optional, so a target may add it later.
    assert list(params) in (["spec", "client", "stack"], ["spec", "client", "stack", "outputs"])
    assert "outputs" not in params or params["outputs"].default is None
    assert list(inspect.signature(pre.default_clients).parameters) == ["spec", "profile"]
    assert list(inspect.signature(smoke.run_smoke).parameters) == ["spec", "outputs", "client", "stack"]
    assert callable(pre.sdk_error) and pre.OPS_EXTRA == f"{cloud}-ops" and pre.SDK_MODULES and pre.SDK_LABEL


def test_the_ops_extras_exist_and_dev_installs_them() -> None:
    import tomllib

    extras = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["optional-dependencies"]
    for cloud in cli_ops.ops_packages():
        assert f"{cloud}-ops" in extras
        assert f"{cloud}-ops" in extras["all"][0]
    assert "mlops-stack[all" in extras["dev"][0]


def test_importing_the_command_imports_no_cloud_sdk() -> None:
    code = ("import sys, argparse\nfrom mlops_stack import cli_ops\np = argparse.ArgumentParser()\n"
            "cli_ops.add_parsers(p.add_subparsers(dest='command'))\n"
            "print(sorted(m for m in sys.modules if m.split('.')[0] in ('boto3', 'azure', 'google', 'requests', 'pulumi_gcp', 'pulumi_azure_native')))\n")
    res = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=60, check=False)
    assert (res.returncode, res.stdout.strip()) == (0, "[]"), res.stderr


def test_an_outputs_file_of_another_cloud_is_a_usage_error(tmp_path: object, capsys: pytest.CaptureFixture[str]) -> None:
    import argparse
    import json
    from pathlib import Path

    out = Path(str(tmp_path)) / "outputs.json"
    out.write_text(json.dumps({"cloud": "aws", "region": "us-central1"}))
    parser = argparse.ArgumentParser(prog="mlops-stack")
    cli_ops.add_parsers(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(["smoke", "--config", str(ROOT / "tests/fixtures/gcp/Pulumi.ops-gcp.yaml"), "--outputs", str(out)])
    assert args.handler(args, client=lambda name: None) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: --outputs: '") and "are of a stack with cloud aws, but the spec's cloud is gcp" in err


#: The credentials action each cloud's deploy steps use (GitHub OIDC, no stored secret).
OIDC_ACTIONS = {"aws": "aws-actions/configure-aws-credentials@", "gcp": "google-github-actions/auth@", "azure": "azure/login@"}


@pytest.mark.parametrize("job", ["cloud-layer", "deploy"])
def test_the_example_pipeline_deploys_every_cloud_with_oidc(job: str) -> None:
    spec = yaml.safe_load((ROOT / "examples/pipelines/github-actions.yml").read_text())["jobs"][job]
    assert spec["permissions"]["id-token"] == "write"
    stacks = spec["strategy"]["matrix"]["stack"]
    assert sorted(s.rsplit("-", 1)[1] for s in stacks) == ["aws", "azure", "gcp"]
    for cloud, action in OIDC_ACTIONS.items():
        steps = [s for s in spec["steps"] if str(s.get("uses", "")).startswith(action)]
        assert len(steps) == 1, (job, cloud)
        assert steps[0]["if"] == f"endsWith(matrix.stack, '-{cloud}')"
        assert not any("secret" in str(v).lower() for v in steps[0]["with"].values()), "OIDC: no stored secret"
    assert spec["env"]["ARM_USE_OIDC"] == "true"
    runs = " ".join(s.get("run", "") for s in spec["steps"])
    # cloud-layer: before phase 1; deploy: with the stack outputs, that the managed
    # endpoints' artifacts and images exist before phase 2 (docs/first-apply.md).
    preflights = [line.strip() for s in spec["steps"] for line in s.get("run", "").splitlines() if "mlops-stack preflight" in line]
    suffix = " --outputs outputs.json" if job == "deploy" else ""
    assert preflights == [f".venv/bin/mlops-stack preflight --stack ${{{{ matrix.stack }}}}{suffix}"]
    assert ("mlops-stack smoke --stack ${{ matrix.stack }} --outputs outputs.json" in runs) is (job == "deploy")


def test_preflight_outputs_on_a_target_without_the_check_is_a_warn_row(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    """A target whose run_preflight takes no ``outputs`` still runs (the pipeline passes
    --outputs on every cloud); the report says the endpoints' inputs were not checked."""
    import argparse
    import json as _json
    import types

    from mlops_stack.ops_report import Report

    real = cli_ops.ops_module

    def run_preflight(spec: Any, client: Any, stack: str = "") -> Report:
        return Report(stack=stack, region=spec.region)

    fake = types.SimpleNamespace(run_preflight=run_preflight, sdk_error=lambda err: None, SDK_MODULES=(), OPS_EXTRA="gcp-ops", SDK_LABEL="x")
    monkeypatch.setattr(cli_ops, "ops_module", lambda cloud, kind: fake if kind == "preflight" else real(cloud, kind))
    outputs = tmp_path / "outputs.json"
    outputs.write_text(_json.dumps({"cloud": "gcp", "bucket_uris": {}}))
    parser = argparse.ArgumentParser(prog="mlops-stack")
    cli_ops.add_parsers(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(["preflight", "--stack", "dev-gcp", "--stacks-dir", str(ROOT / "stacks"), "--outputs", str(outputs), "--format", "json"])
    code = args.handler(args, client=object())
    doc = _json.loads(capsys.readouterr().out)
    assert code == 0
    (row,) = doc["findings"]
    assert (row["check"], row["allowed"], row["status"]) == ("endpoint inputs", "not checked", "warn")
    assert row["detail"] == "preflight on gcp does not check the managed endpoints' artifacts and images yet"


def test_preflight_outputs_warns_when_the_stack_file_still_says_deploy_endpoints_false(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """AWS review: `pulumi up -c mlops-stack:deployEndpoints=false` writes the value into the
    stack file; preflight between the phases says so, or phase 2 would create no endpoint."""
    import argparse
    import json as _json
    import types

    from mlops_stack.ops_report import Report

    real = cli_ops.ops_module

    def run_preflight(spec: Any, client: Any, stack: str = "", outputs: Any = None) -> Report:
        return Report(stack=stack, region=spec.region)

    fake = types.SimpleNamespace(run_preflight=run_preflight, sdk_error=lambda err: None, SDK_MODULES=(), OPS_EXTRA="gcp-ops", SDK_LABEL="x")
    monkeypatch.setattr(cli_ops, "ops_module", lambda cloud, kind: fake if kind == "preflight" else real(cloud, kind))
    stack_file = tmp_path / "Pulumi.dev-gcp.yaml"
    stack_file.write_text((ROOT / "stacks" / "Pulumi.dev-gcp.yaml").read_text() + "  mlops-stack:deployEndpoints: false\n")
    outputs = tmp_path / "outputs.json"
    outputs.write_text(_json.dumps({"cloud": "gcp", "bucket_uris": {}}))
    parser = argparse.ArgumentParser(prog="mlops-stack")
    cli_ops.add_parsers(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(["preflight", "--stack", "dev-gcp", "--stacks-dir", str(tmp_path), "--outputs", str(outputs), "--format", "json"])
    code = args.handler(args, client=object())
    doc = _json.loads(capsys.readouterr().out)
    assert code == 0
    (row,) = doc["findings"]
    assert (row["check"], row["subject"], row["allowed"], row["status"]) == ("endpoint inputs", "deployEndpoints", "false", "warn")
    assert row["detail"].startswith("the stack file says deployEndpoints: false; run `pulumi config rm --path mlops-stack:deployEndpoints`")
