"""The Azure target's own spec section (``mlops-stack:azure``), ignored on other targets.

Registered as ``Target.options_model``; ``spec.spec_model()`` adds it to the spec.
"""

from __future__ import annotations

from typing import Annotated

from pydantic import Field

from mlops_stack.spec import RESOURCE_GROUP, Guid, _Model, _pattern


class AzureSpec(_Model):
    """Azure-only settings (``mlops-stack:azure``)."""

    subscription_id: Guid | None = Field(default=None, description="Subscription ID (a GUID); default: the provider's.")
    tenant_id: Guid | None = Field(default=None, description="Entra tenant ID (a GUID); default: the provider's.")
    resource_group_name: Annotated[
        str,
        _pattern(RESOURCE_GROUP, "is not a resource group name Azure accepts: 1-90 letters, digits, '_', '-', '.', '(' and ')', not ending in '.'"),
    ] | None = Field(default=None, description="Existing resource group to use instead of creating one.")
    admin_group_object_ids: list[Guid] = Field(default_factory=list, description="Entra group object IDs that administer the AKS cluster.")
    defender_for_containers: bool = Field(
        default=False,
        description="Turn on Microsoft Defender for Containers for the whole subscription (ACR image scanning, AKS runtime "
        "protection; billed per vCore). Off: leave it to the subscription's security baseline.",
    )
