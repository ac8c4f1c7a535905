"""The offline engine names resources as Pulumi does and refuses what Pulumi refuses
(issue 27): ``<logical name>-<7 hex>``, never cut to fit; a name over the API's limit is
one ``ConfigError`` line naming the spec keys it was built from, up front (nothing
registered) where a target's checks can tell from the spec. Also: one failed plan does
not break the next plan in the same process; zones beyond the catalog with
``regionCheck: off``; a stack file that is not YAML names the line and column."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pulumi
import pulumi_aws as aws
import pytest

from badstacks import example_config, program_error, pulumi_config
from test_bad_stacks import both, put
from mlops_stack.errors import ConfigError
from mlops_stack.aws.network import zone_name
from mlops_stack.offline.engine import AutoNameRule, NameTooLong, auto_name, run_program, short_hash
from mlops_stack.offline.stackfile import read_stack_file
from mlops_stack.program import main as stack_program


# --- Pulumi's autonaming -----------------------------------------------------------------


def test_an_autoname_is_the_logical_name_a_dash_and_seven_hex() -> None:
    name = AutoNameRule("name", 64).name("mlops-endpoint-sentiment-role")
    assert name == "mlops-endpoint-sentiment-role-" + short_hash("mlops-endpoint-sentiment-role")
    assert re.fullmatch(r"mlops-endpoint-sentiment-role-[0-9a-f]{7}", name)
    assert AutoNameRule("bucket", 63, lower=True).name("Mlops-Store") == "mlops-store-" + short_hash("Mlops-Store")
    assert AutoNameRule("name", 256, prefix="alias/").name("k") == "alias/k-" + short_hash("k")


def test_a_name_one_over_is_refused_with_pulumis_words_not_cut() -> None:
    rule = AutoNameRule("name", 64)
    assert len(rule.name("a" * 56)) == 64  # 56 + "-" + 7 = 64: fits exactly
    with pytest.raises(NameTooLong) as info:
        rule.name("a" * 57)
    # resource.NewUniqueName's text (pulumi/sdk/go/common/resource).
    assert str(info.value) == f"name '{'a' * 57}-' plus 7 random chars is longer than maximum length 64"
    with pytest.raises(NameTooLong):
        auto_name("x" * 248)  # the bridge's SetAutonaming default, 255
    assert auto_name("x" * 247) == "x" * 247 + "-" + short_hash("x" * 247)


def _role_program() -> None:
    cfg = pulumi.Config()
    aws.iam.Role(f"{cfg.require('name')}-endpoint-{cfg.require('team')}-exec-role", assume_role_policy="{}")


def test_the_engine_refuses_an_autoname_over_the_limit_naming_the_spec_keys() -> None:
    config = {"mlops-stack:name": "platform-ml", "mlops-stack:team": "recommendations-ranking-v2", "aws:region": "us-east-1"}
    with pytest.raises(ConfigError) as info:
        run_program(_role_program, config=config)
    assert str(info.value) == (
        "team: 'recommendations-ranking-v2' makes the aws:iam/role:Role name "
        "'platform-ml-endpoint-recommendations-ranking-v2-exec-role-' 58 characters long; Pulumi adds 7 random "
        "characters and the limit is 64 (botocore 1.44.8 iam 2010-05-08 roleNameType max 64) (shorten team or name by 1 character)"
    )
    ok = run_program(_role_program, config={**config, "mlops-stack:team": "recommendations-ranking-v"})
    role = ok.one("aws:iam/role:Role")
    assert role.outputs["name"] == "platform-ml-endpoint-recommendations-ranking-v-exec-role-" + short_hash(role.name)
    assert len(role.outputs["name"]) == 64


def _explicit_program() -> None:
    aws.sagemaker.Endpoint("ep", name="e" * 64, endpoint_config_name="c")


def test_an_explicit_name_over_the_api_limit_is_refused() -> None:
    with pytest.raises(ConfigError) as info:
        run_program(_explicit_program, config={"aws:region": "us-east-1"})
    assert "makes the aws:sagemaker/endpoint:Endpoint name" in str(info.value)
    assert "64 characters long; the limit is 63 (botocore 1.44.8 sagemaker 2017-07-24 EndpointName max 63)" in str(info.value)


# --- refused up front, from the spec -------------------------------------------------------

LONG = "abcdefghijklmnop"  # the longest stack name (16)


def test_stack_name_plus_endpoint_name_too_long_for_sagemaker_is_refused_up_front(tmp_path: Path) -> None:
    cfg = example_config("dev-aws")
    put(cfg, "name", LONG)
    put(cfg, "endpoints.0.name", "sentiment-classifier-v23")  # 16 + 24 = 40 > 38
    assert both(cfg, tmp_path) == (
        "endpoints[0].name: 'sentiment-classifier-v23' makes the aws:sagemaker/endpointConfiguration:EndpointConfiguration name "
        "'abcdefghijklmnop-endpoint-sentiment-classifier-v23-config-' 58 characters long; Pulumi adds 7 random characters and "
        "the limit is 63 (botocore 1.44.8 sagemaker 2017-07-24 EndpointConfigName max 63) (shorten endpoints[0].name or name by 2 characters)"
    )


def test_a_cluster_endpoints_identity_role_too_long_for_iam_is_refused_up_front(tmp_path: Path) -> None:
    cfg = example_config("dev-aws")
    put(cfg, "name", LONG)
    put(cfg, "endpoints.1.name", "sentiment-oss-v1-x")  # 16 + 18 = 34 > 32
    assert both(cfg, tmp_path) == (
        "endpoints[1].name: 'sentiment-oss-v1-x' makes the aws:iam/role:Role name "
        "'abcdefghijklmnop-endpoint-sentiment-oss-v1-x-identity-role-' 59 characters long; Pulumi adds 7 random characters and "
        "the limit is 64 (botocore 1.44.8 iam 2010-05-08 roleNameType max 64) (shorten endpoints[1].name or name by 2 characters)"
    )


def test_a_gpu_pool_name_too_long_for_an_eks_node_group_is_refused_up_front(tmp_path: Path) -> None:
    cfg = example_config("dev-aws")
    put(cfg, "name", LONG)
    put(cfg, "cluster.gpuPools.0.name", "training-" + "x" * 20)  # 16 + 29 = 45 > 44
    put(cfg, "endpoints.1.gpuPool", "infer")
    assert both(cfg, tmp_path).startswith(
        "cluster.gpuPools[0].name: 'training-xxxxxxxxxxxxxxxxxxxx' makes the aws:eks/nodeGroup:NodeGroup nodeGroupName "
        "'abcdefghijklmnop-gpu-training-xxxxxxxxxxxxxxxxxxxx-nodes-' 57 characters long; Pulumi adds 7 random characters and the limit is 63"
    )


def test_a_private_vertex_endpoints_psc_zone_name_too_long_is_refused_up_front(tmp_path: Path) -> None:
    cfg = example_config("dev-gcp")
    put(cfg, "name", LONG)
    endpoint = next(i for i, e in enumerate(cfg["mlops-stack:endpoints"]) if e.get("runsOn") != "cluster" and e.get("private", True))
    put(cfg, f"endpoints.{endpoint}.name", "s" * 22)  # 16 + 22 = 38 > 37
    assert both(cfg, tmp_path).startswith(
        f"endpoints[{endpoint}].name: '{'s' * 22}' makes the gcp:dns/managedZone:ManagedZone name "
        f"'abcdefghijklmnop-endpoint-{'s' * 22}-psc-dns-' 57 characters long; Pulumi adds 7 random characters and the limit is 63"
    )


def test_names_at_the_limit_plan_and_every_autoname_fits() -> None:
    """The longest names the checks let through plan cleanly on AWS: 16 + 22 for a managed
    endpoint (SageMaker's 63), 16 + 16 for a cluster endpoint (IAM's 64)."""
    cfg = example_config("dev-aws")
    put(cfg, "name", LONG)
    put(cfg, "endpoints.0.name", "s" * 22)
    put(cfg, "endpoints.1.name", "o" * 16)
    plan = run_program(stack_program, stack="limits", config=pulumi_config(cfg))
    config = plan.one("aws:sagemaker/endpointConfiguration:EndpointConfiguration")
    assert len(config.outputs["name"]) == 63
    role = plan.one("aws:iam/role:Role", f"{LONG}-endpoint-{'o' * 16}-identity-role")
    assert len(role.outputs["name"]) == 64


# --- one failed plan does not break the next ----------------------------------------------


def _failing_apply_program() -> None:
    zones = pulumi.Output.from_input(["us-east-2a", "us-east-2b"])
    aws.ec2.Subnet("s", vpc_id="vpc-1", cidr_block="10.0.0.0/24", availability_zone=zones.apply(lambda names: names[5]))


def test_a_plan_after_a_failed_plan_gets_its_own_error() -> None:
    """Pulumi's mock settings share one set of pending outputs between runs; the tasks a
    failed run left behind failed the next run with the old IndexError (what ``mlops-stack
    plan`` saw for the second of two stacks planned in one worker)."""
    with pytest.raises(IndexError):
        run_program(_failing_apply_program, config={"aws:region": "us-east-2"})
    cfg = example_config("dev-aws")
    put(cfg, "gpu.sharing.mode", "mig")
    assert program_error(pulumi_config(cfg)).startswith("gpu.sharing.mode: 'mig' needs MIG-capable GPUs, but pool GPU 'nvidia-t4' is not one")


# --- zones -----------------------------------------------------------------------------------


def test_zones_beyond_the_catalog_with_region_check_off_plan_on_as_many_zones() -> None:
    cfg = example_config("dev-aws")
    put(cfg, "region", "us-east-2")
    put(cfg, "regionCheck", "off")
    put(cfg, "network.zones", 4)
    put(cfg, "endpoints.0.model.image", "123456789012.dkr.ecr.us-east-2.amazonaws.com/mlops-dev/serving:sentiment-1.0.0")
    plan = run_program(stack_program, stack="zones", config=pulumi_config(cfg))
    private = sorted((r.name, r.inputs["availabilityZone"]) for r in plan.of_type("aws:ec2/subnet:Subnet") if "-private-" in r.name)
    assert private == [(f"mlops-network-private-{i}", f"us-east-2{c}") for i, c in enumerate("abcd")]


def test_an_account_with_fewer_zones_than_asked_is_a_config_error_at_apply() -> None:
    assert zone_name(["us-east-2a", "us-east-2b", "us-east-2c"], 2, 4) == "us-east-2c"
    with pytest.raises(ConfigError) as info:
        zone_name(["us-east-2a", "us-east-2b", "us-east-2c"], 3, 4)
    assert str(info.value) == (
        "network.zones: 4 asks for 4 zones, but this account has 3 available in the region that EKS supports (set network.zones: 3)"
    )


# --- a stack file that is not YAML ------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "where"),
    [
        ("config:\n  mlops-stack:cloud: aws\n   mlops-stack:region: x\n", "at line 3, column 22: mapping values are not allowed here"),
        ("config:\n\tmlops-stack:cloud: aws\n", "at line 2, column 1: found character '\\t' that cannot start any token"),
        ("config:\n  mlops-stack:tags:\n    owner: [a, b\n", "at line 4, column 1: expected ',' or ']', but got '<stream end>'"),
    ],
)
def test_a_stack_file_that_is_not_yaml_names_line_and_column(text: str, where: str, tmp_path: Path) -> None:
    path = tmp_path / "Pulumi.bad.yaml"
    path.write_text(text)
    with pytest.raises(ConfigError) as info:
        read_stack_file(path)
    assert str(info.value) == f"{path}: is not valid YAML {where}"
    assert "\n" not in str(info.value)
