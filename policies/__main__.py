"""The mlops-stack CrossGuard policy pack: `pulumi preview --policy-pack policies`."""

from mlops_policies.pack import PACK_DESCRIPTION, PACK_NAME, build_policies
from pulumi_policy import EnforcementLevel, PolicyPack

PolicyPack(
    name=PACK_NAME,
    description=PACK_DESCRIPTION,
    display_name="mlops-stack guardrails",
    provider="multi-cloud",
    tags=["mlops", "aws", "gcp", "azure", "kubernetes"],
    enforcement_level=EnforcementLevel.ADVISORY,  # each policy sets its own level
    policies=build_policies(),
)
