"""The Azure target: registered through the ``mlops_stack.targets`` entry point.

Imports nothing but ``mlops_stack.targets``: the provider SDK loads in ``make_provider``,
capability modules when a stack uses them (by convention, ``mlops_stack.azure.<module>``).
"""

from __future__ import annotations

from typing import Any

from mlops_stack.targets import ProviderRequest, Target


def make_provider(req: ProviderRequest) -> Any:
    import pulumi_azure_native as azure_native

    options = req.spec.azure
    return azure_native.Provider(
        req.name, location=req.spec.region, subscription_id=options.subscription_id, tenant_id=options.tenant_id, opts=req.opts
    )


TARGET = Target(
    name="azure",
    display_name="Azure",
    package="mlops_stack.azure",
    order=30,
    provider_package="azure-native",
    sdk_module="pulumi_azure_native",
    extra="azure",
    provider="mlops_stack.azure.target:make_provider",
    checks="mlops_stack.azure.checks:check",
    mock_outputs={"azure-native": "mlops_stack.offline.outputs_azure"},
    price_region="eastus",
    ops="mlops_stack.azure",
    region_config_key="azure-native:location",
)
