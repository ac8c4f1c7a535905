"""The Azure target: registered through the ``mlops_stack.targets`` entry point.

Imports nothing but ``mlops_stack.targets``: the provider SDK loads in ``make_provider``,
capability modules when a stack uses them (by convention, ``mlops_stack.azure.<module>``).
"""

from __future__ import annotations

from typing import Any

from mlops_stack.targets import ProviderRequest, Target, sdk_provider


def make_provider(req: ProviderRequest) -> Any:
    return sdk_provider(req, "pulumi_azure_native")


TARGET = Target(
    name="azure",
    display_name="Azure",
    package="mlops_stack.azure",
    order=30,
    provider_package="azure-native",
    sdk_module="pulumi_azure_native",
    extra="azure",
    options_model="mlops_stack.azure.options:AzureSpec",
    provider="mlops_stack.azure.target:make_provider",
    spec_provider_keys={
        "location": ("region", lambda spec: spec.region),
        "subscription_id": ("azure.subscriptionId", lambda spec: spec.azure.subscription_id),
        "tenant_id": ("azure.tenantId", lambda spec: spec.azure.tenant_id),
    },
    checks="mlops_stack.azure.checks:check",
    mock_outputs={"azure-native": "mlops_stack.azure.mocks"},
    price_region="eastus",
    uri_scheme="https://",
    ops="mlops_stack.azure",
    region_config_key="azure-native:location",
)
