"""Adapters from the pure rules to pulumi-policy policies (the only module importing pulumi_policy)."""

from __future__ import annotations

import functools
import json
import os
from typing import Any

from pulumi_policy import (
    EnforcementLevel,
    PolicyComplianceFramework,
    PolicyConfigSchema,
    PolicyPack,
    ResourceValidationArgs,
    ResourceValidationPolicy,
    Severity,
    StackValidationArgs,
    StackValidationPolicy,
)

from .config import schema_for, with_defaults
from .model import Ctx, Res, Rule
from .rules import RULES
from .values import UNKNOWN, unwrap

PACK_NAME = "mlops-stack-guardrails"
PACK_DESCRIPTION = (
    "Guardrails for mlops-stack on AWS, GCP, Azure and Kubernetes: data loss, data leaks and GPU spend."
)
#: The wire-protocol sentinel for an unknown value (any type).
_UNKNOWN_WIRE = "04da6b54-80e4-46f7-96ec-b56ff0331ba9"

_LEVELS = {e.value: e for e in EnforcementLevel}
_SEVERITIES = {s.value: s for s in Severity}


@functools.lru_cache(maxsize=4)
def _stack_config(raw: str) -> dict[str, str]:
    try:
        data = json.loads(raw) if raw else {}
    except ValueError:
        return {}
    return {str(k): str(v) for k, v in data.items()} if isinstance(data, dict) else {}


def _ctx(rule: Rule, config: Any, stack_tags: Any) -> Ctx:
    """The rule's view of the stack: env set by the engine (PULUMI_STACK, PULUMI_CONFIG) plus config."""
    return Ctx(
        stack=os.environ.get("PULUMI_STACK", ""),
        project=os.environ.get("PULUMI_PROJECT", ""),
        stack_config=_stack_config(os.environ.get("PULUMI_CONFIG", "")),
        stack_tags=dict(stack_tags or {}),
        config=with_defaults(rule.config, dict(config) if config else None),
    )


def _plain(value: Any) -> Any:
    """unwrap() plus Secret objects replaced by their values (rules judge content, not secrecy)."""
    value = unwrap(value)
    return _strip_secrets(value)


def _strip_secrets(value: Any) -> Any:
    if type(value).__name__ == "Secret" and hasattr(value, "value"):
        return _strip_secrets(unwrap(value.value))
    if isinstance(value, dict):
        return {k: _strip_secrets(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_strip_secrets(v) for v in value]
    return value


def _rewrap(value: Any) -> Any:
    if value is UNKNOWN:
        return _UNKNOWN_WIRE
    if isinstance(value, dict):
        return {k: _rewrap(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_rewrap(v) for v in value]
    return value


def _res_from_args(args: ResourceValidationArgs) -> Res:
    prov = args.provider
    return Res(
        type=args.resource_type,
        name=args.name,
        urn=args.urn,
        props=_plain(args.props),
        protect=bool(args.opts.protect) if args.opts else False,
        parent=args.opts.parent if args.opts else None,
        provider_type=prov.resource_type if prov else "",
        provider_props=_plain(prov.props) if prov else {},
    )


def _res_from_policy_resource(r: Any) -> Res:
    prov = r.provider
    return Res(
        type=r.resource_type,
        name=r.name,
        urn=r.urn,
        props=_plain(r.props),
        protect=bool(r.opts.protect) if r.opts else False,
        parent=r.parent.urn if r.parent is not None else (r.opts.parent if r.opts else None),
        provider_type=prov.resource_type if prov else "",
        provider_props=_plain(prov.props) if prov else {},
        dependencies=[d.urn for d in r.dependencies],
        property_dependencies={k: [d.urn for d in v] for k, v in r.property_dependencies.items()},
    )


def _validate_resource(rule: Rule):
    def validate(args: ResourceValidationArgs, report_violation) -> None:
        if rule.types is not None and args.resource_type not in rule.types:
            return
        res = _res_from_args(args)
        for message in rule.check(res, _ctx(rule, args.get_config(), args.stack_tags)):  # type: ignore[misc]
            report_violation(message, None)

    return validate


def _remediate_resource(rule: Rule):
    def remediate(args: ResourceValidationArgs) -> Any:
        if rule.types is not None and args.resource_type not in rule.types:
            return None
        res = _res_from_args(args)
        new = rule.remediate(res, _ctx(rule, args.get_config(), args.stack_tags))  # type: ignore[misc]
        if not new:
            return None
        raw = unwrap(args.props) if args.props is not None else {}
        out: dict[str, Any] = {}
        for key, value in new.items():
            if key in raw and key in res.props and res.props[key] == value:
                out[key] = _rewrap(raw[key])  # untouched: keep the original (secrets included)
            else:
                out[key] = _rewrap(value)
        return out

    return remediate


def _validate_stack(rule: Rule):
    def validate(args: StackValidationArgs, report_violation) -> None:
        resources = [_res_from_policy_resource(r) for r in args.resources]
        for urn, message in rule.stack_check(resources, _ctx(rule, args.get_config(), args.stack_tags)):  # type: ignore[misc]
            report_violation(message, urn or None)

    return validate


def _common_kwargs(rule: Rule) -> dict[str, Any]:
    framework = None
    if rule.benchmarks:
        name, _, ref = rule.benchmarks[0].partition(":")
        framework = PolicyComplianceFramework(name=name, reference=ref)
    return dict(
        name=rule.name,
        description=rule.description,
        enforcement_level=_LEVELS[rule.enforcement],
        config_schema=PolicyConfigSchema(properties=schema_for(rule.config)),
        severity=_SEVERITIES[rule.severity],
        framework=framework,
        tags=[*rule.benchmarks, *(f"cloud:{c}" for c in rule.clouds)],
        remediation_steps=rule.remediation,
    )


def build_policies(rules: list[Rule] | None = None) -> list[Any]:
    policies: list[Any] = []
    for rule in rules or RULES:
        if rule.kind == "stack":
            policies.append(StackValidationPolicy(validate=_validate_stack(rule), **_common_kwargs(rule)))
        else:
            policies.append(
                ResourceValidationPolicy(
                    validate=_validate_resource(rule),
                    remediate=_remediate_resource(rule) if rule.remediate else None,
                    **_common_kwargs(rule),
                )
            )
    return policies


def serve() -> None:
    """Serve the pack over the Analyzer protocol (blocks): what every copy of the pack's
    ``__main__.py`` calls, so the repository's ``policies/``, the installed pack and an
    exported one run the same code."""
    PolicyPack(
        name=PACK_NAME,
        description=PACK_DESCRIPTION,
        display_name="mlops-stack guardrails",
        provider="multi-cloud",
        tags=["mlops", "aws", "gcp", "azure", "kubernetes"],
        enforcement_level=EnforcementLevel.ADVISORY,  # each policy sets its own level
        policies=build_policies(),
    )
