"""The AWS target: registered through the ``mlops_stack.targets`` entry point.

Imports nothing but ``mlops_stack.targets``: the provider SDK loads in ``make_provider``,
capability modules when a stack uses them (by convention, ``mlops_stack.aws.<module>``).
"""

from __future__ import annotations

from typing import Any

from mlops_stack.targets import ProviderRequest, Target, sdk_provider


def make_provider(req: ProviderRequest) -> Any:
    provider = sdk_provider(req, "pulumi_aws")
    if req.spec.cluster.enabled and req.spec.aws.cluster_admin_arns:
        # Before any cloud resource: the identity this provider applies as must not be
        # listed in aws.clusterAdminArns (EKS answers 409 for its second access entry).
        from mlops_stack.aws.cluster import refuse_listed_creator  # lazy: discovery imports target.py only; cluster loads the provider SDK

        refuse_listed_creator(req.spec, provider)
    return provider


TARGET = Target(
    name="aws",
    display_name="AWS",
    package="mlops_stack.aws",
    order=10,
    provider_package="aws",
    sdk_module="pulumi_aws",
    extra="aws",
    options_model="mlops_stack.aws.options:AwsSpec",
    provider="mlops_stack.aws.target:make_provider",
    spec_provider_keys={"region": ("region", lambda spec: spec.region)},
    checks="mlops_stack.aws.checks:check",
    mock_outputs={"aws": "mlops_stack.aws.mocks"},
    price_region="us-east-1",
    uri_scheme="s3://",
    ops="mlops_stack.aws",
    region_config_key="aws:region",
)
