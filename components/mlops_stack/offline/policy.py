"""The policy section of a plan document: the pack's findings over the planned resources.

Below both ``offline/pipeline.py`` (one stack) and ``offline/compare.py`` (the same spec on
other clouds), which each add it to what they plan.
"""

from __future__ import annotations

from typing import Any

from mlops_stack.errors import ConfigError


def policy_section(plan_doc: dict[str, Any], config: dict[str, Any]) -> dict[str, Any]:
    """``{"violations": [...]}`` of the policy pack over ``plan_doc``; a bad pack config is a
    ConfigError on ``--policy-pack-config``."""
    # lazy: the Analyzer gRPC client loads only when a plan runs the pack (--no-policy skips it).
    from mlops_stack.offline.analyzer import PolicyConfigError, run_policy_pack

    try:
        violations = run_policy_pack(plan_doc, config=config)
    except PolicyConfigError as err:
        raise ConfigError("--policy-pack-config", str(err).removeprefix("policy config").lstrip(" :"),
                          "the format is pulumi's: see mlops-stack's docs/policies.md") from None
    return {"violations": [v.to_dict() for v in violations]}
