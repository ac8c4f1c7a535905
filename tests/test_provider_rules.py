"""The stack's provider: the caller's wins; otherwise it carries the stack's whole provider
config, and a provider key that contradicts the spec is one line."""

from __future__ import annotations

import json

import pulumi
import pytest
from planning import plan_config

from mlops_stack.errors import ConfigError
from mlops_stack.offline.engine import run_program
from mlops_stack.spec import spec_from_pulumi_config
from mlops_stack.stack import MlopsStack

SMALL = {
    "mlops-stack:cloud": "aws",
    "mlops-stack:region": "us-east-1",
    "mlops-stack:cluster": json.dumps({"enabled": False}),
    "mlops-stack:monitoring": json.dumps({"enabled": False}),
}


def test_the_callers_provider_is_used_and_none_is_created() -> None:
    def program() -> None:
        import pulumi_aws as aws

        mine = aws.Provider("mine", region="us-east-1", default_tags={"tags": {"team": "platform"}})
        spec = spec_from_pulumi_config()
        MlopsStack(spec.name, spec, pulumi.ResourceOptions(providers={"aws": mine}))

    plan = run_program(program, stack="dev", config=SMALL)
    providers = plan.of_type("pulumi:providers:aws")
    assert [p.name for p in providers] == ["mine"]
    aws_resources = [r for r in plan.resources if r.custom and r.type.startswith("aws:")]
    assert len(aws_resources) > 10
    assert all(r.provider.startswith(providers[0].urn + "::") for r in aws_resources)


def test_the_stacks_provider_config_reaches_the_provider() -> None:
    config = {
        **SMALL,
        "aws:region": "us-east-1",
        "aws:defaultTags": json.dumps({"tags": {"team": "platform"}}),
        "aws:assumeRoles": json.dumps([{"roleArn": "arn:aws:iam::123456789012:role/deploy"}]),
        "aws:skipCredentialsValidation": "true",
    }
    plan = plan_config(config)
    (provider,) = plan.of_type("pulumi:providers:aws")
    assert provider.name == "mlops-aws"
    inputs = provider.inputs
    assert inputs["region"] == "us-east-1"
    assert json.loads(inputs["defaultTags"]) == {"tags": {"team": "platform"}}
    assert json.loads(inputs["assumeRoles"]) == [{"roleArn": "arn:aws:iam::123456789012:role/deploy"}]
    assert inputs["skipCredentialsValidation"] == "true"


def test_a_provider_region_other_than_the_specs_is_one_line() -> None:
    with pytest.raises(ConfigError) as err:
        plan_config({**SMALL, "aws:region": "eu-west-1"})
    assert str(err.value) == "aws:region: 'eu-west-1' differs from mlops-stack:region (us-east-1) (remove aws:region or make them equal)"


def test_an_unknown_provider_key_is_one_line() -> None:
    with pytest.raises(ConfigError) as err:
        plan_config({**SMALL, "aws:defaultTag": json.dumps({"tags": {}})})
    assert str(err.value) == "aws:defaultTag: is not a setting of this provider (did you mean 'defaultTags'?)"
