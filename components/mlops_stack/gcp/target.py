"""The GCP target: registered through the ``mlops_stack.targets`` entry point.

Imports nothing but ``mlops_stack.targets``: the provider SDK loads in ``make_provider``,
capability modules when a stack uses them (by convention, ``mlops_stack.gcp.<module>``).
"""

from __future__ import annotations

from typing import Any

from mlops_stack.targets import ProviderRequest, Target, sdk_provider


def make_provider(req: ProviderRequest) -> Any:
    return sdk_provider(req, "pulumi_gcp")


TARGET = Target(
    name="gcp",
    display_name="GCP",
    package="mlops_stack.gcp",
    order=20,
    provider_package="gcp",
    sdk_module="pulumi_gcp",
    extra="gcp",
    options_model="mlops_stack.gcp.options:GcpSpec",
    provider="mlops_stack.gcp.target:make_provider",
    spec_provider_keys={"project": ("gcp.project", lambda spec: spec.gcp.project), "region": ("region", lambda spec: spec.region)},
    required_options=("project",),
    checks="mlops_stack.gcp.checks:check",
    mock_outputs={"gcp": "mlops_stack.gcp.mocks"},
    price_region="us-central1",
    # A spec written for another cloud names no project; --compare fills a placeholder.
    compare_defaults={"gcp": {"project": "compare-placeholder"}},
    uri_scheme="gs://",
    ops="mlops_stack.gcp",
    region_config_key="gcp:region",
)
