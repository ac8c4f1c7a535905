"""Rule registration: ``@resource_rule(...)`` / ``@stack_rule(...)`` add to ``RULES``."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from ..model import Rule

RULES: list[Rule] = []


def _add(rule: Rule) -> Rule:
    if any(r.name == rule.name for r in RULES):
        raise ValueError(f"duplicate policy name {rule.name}")
    RULES.append(rule)
    return rule


def resource_rule(
    name: str,
    *,
    description: str,
    severity: str,
    enforcement: str,
    remediation: str,
    clouds: tuple[str, ...],
    types: Iterable[str] | None,
    benchmarks: tuple[str, ...] = (),
    config: tuple[str, ...] = (),
    prod_only: bool = False,
    remediate: Callable[..., Any] | None = None,
) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    def wrap(fn: Callable[..., Any]) -> Callable[..., Any]:
        _add(
            Rule(
                name=name,
                description=description,
                severity=severity,
                enforcement=enforcement,
                remediation=remediation,
                clouds=clouds,
                benchmarks=benchmarks,
                types=frozenset(types) if types is not None else None,
                check=fn,
                remediate=remediate,
                config=tuple(dict.fromkeys(("environment",) + config)),
                prod_only=prod_only,
            )
        )
        return fn

    return wrap


def stack_rule(
    name: str,
    *,
    description: str,
    severity: str,
    enforcement: str,
    remediation: str,
    clouds: tuple[str, ...],
    benchmarks: tuple[str, ...] = (),
    config: tuple[str, ...] = (),
    prod_only: bool = False,
) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    def wrap(fn: Callable[..., Any]) -> Callable[..., Any]:
        _add(
            Rule(
                name=name,
                description=description,
                severity=severity,
                enforcement=enforcement,
                remediation=remediation,
                clouds=clouds,
                benchmarks=benchmarks,
                types=None,
                stack_check=fn,
                config=tuple(dict.fromkeys(("environment",) + config)),
                prod_only=prod_only,
            )
        )
        return fn

    return wrap
