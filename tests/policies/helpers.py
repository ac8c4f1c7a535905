"""Small builders for rule tests and synthetic plans."""

from __future__ import annotations

from typing import Any

from mlops_policies.model import Ctx, Res

PROD = Ctx(stack="prod-aws")
DEV = Ctx(stack="dev-aws")
TAGS = {"owner": "ml-platform", "environment": "dev", "cost-center": "cc-1"}


def res(type_: str, name: str = "r", **props: Any) -> Res:
    opts = {k: props.pop(k) for k in ("protect", "dependencies", "property_dependencies", "provider_props") if k in props}
    return Res(type=type_, name=name, props=props, **opts)


def plan_resource(type_: str, name: str, inputs: dict[str, Any], *, stack: str = "dev-aws", custom: bool = True,
                  protect: bool = False, parent: str | None = None, dependencies: list[str] | None = None,
                  property_dependencies: dict[str, list[str]] | None = None, provider: str = "") -> dict[str, Any]:
    out = {
        "urn": f"urn:pulumi:{stack}::mlops-stack::{type_}::{name}",
        "type": type_,
        "name": name,
        "parent": parent,
        "custom": custom,
        "inputs": inputs,
        "protect": protect,
        "retainOnDelete": protect,
        "dependencies": dependencies or [],
        "provider": provider,
    }
    if property_dependencies:
        out["propertyDependencies"] = property_dependencies
    return out


def plan(stack: str, resources: list[dict[str, Any]], **extra: Any) -> dict[str, Any]:
    return {"project": "mlops-stack", "stack": stack, "cloud": extra.pop("cloud", "aws"), "resources": resources,
            "outputs": {}, **extra}
