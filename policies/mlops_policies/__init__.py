"""mlops-stack's CrossGuard rules: pure functions over plain dicts, plus pulumi-policy adapters.

``RULES`` (metadata + check functions) imports without pulumi-policy; ``mlops_policies.pack``
turns them into ``ResourceValidationPolicy`` / ``StackValidationPolicy`` objects.
"""

from .config import SHARED_SCHEMA
from .model import Ctx, Res, Rule, res_from_plan
from .rules import RULES
from .values import UNKNOWN

__all__ = ["RULES", "SHARED_SCHEMA", "Ctx", "Res", "Rule", "UNKNOWN", "res_from_plan"]
