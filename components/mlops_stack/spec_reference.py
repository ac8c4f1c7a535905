"""Render the spec reference (docs/spec.md) from the pydantic models themselves, so the
reference cannot drift from the code (a test compares the file with this output)."""

from __future__ import annotations

import json
import typing
from typing import Any

from pydantic import BaseModel
from pydantic.alias_generators import to_camel
from pydantic_core import PydanticUndefined

from mlops_stack import spec as spec_module
from mlops_stack import constants, targets
from mlops_stack.spec import spec_model

HEADER = """# Spec reference

Generated from `components/mlops_stack/spec.py` and each target's `options.py` by `python scripts/gen_spec_docs.py`; do
not edit by hand. Every key lives under the `mlops-stack:` namespace of a stack file
(`stacks/Pulumi.<stack>.yaml`), e.g. `mlops-stack:cluster: {gpuPools: [...]}`. Keys are
camelCase; unknown keys are errors. Cross-field rules (min <= max, a GPU offered on the
cloud and in the region, prod endpoints with >= 2 instances, ...) are listed at the end.
"""

RULES = """## Rules checked across keys

Checked before any resource is registered; the first failure is reported as one line
`<key path>: <value> <reason> (<hint>)` and `mlops-stack plan` exits 2.

- `region` must be a region of `cloud` (a misspelling gets a suggestion).
{required}- `network.cidr` is a private (RFC 1918) /16 to /20 range.
- Bucket, GPU pool, endpoint and namespace names are unique; repositories are listed once.
- `<name>-<environment>-<bucket>` fits in {max_bucket_base} characters (S3 names are at most {max_bucket_name} and Pulumi
  appends an 8-character suffix).
- In prod: every bucket is versioned; every endpoint has `minInstances` >= 2.
- `cluster.publicAccessCidrs` never contains `0.0.0.0/0` (leave it empty for a private endpoint).
- `minNodes` <= `maxNodes` (system pool and GPU pools); `minInstances` <= `maxInstances`.
- A GPU (`gpu` + `gpusPerNode` / `gpusPerInstance`) must be offered by the cloud for that use
  (node pool or endpoint) and, unless `regionCheck: off`, listed for the region in the
  catalog; the error lists what is offered.
- An endpoint sets exactly one of `gpu` and `cpuSize`, and exactly one of `model.image` and
  `model.framework`; `model.artifact.bucket` and `dataCapture.bucket` name buckets of
  `storage.buckets`.
- GPU pools need `cluster.enabled`; monitoring needs a cluster.
- `gpu.sharing.mode: mig` needs MIG-capable GPUs in every pool.
- Cloud-specific rules run after these (for example, framework images are AWS-only).
"""


def _type_name(annotation: Any) -> str:
    origin = typing.get_origin(annotation)
    args = typing.get_args(annotation)
    if origin is typing.Literal:
        return " \\| ".join(json.dumps(a) for a in args)
    if origin is typing.Annotated:
        return _type_name(args[0])
    if origin in (list, tuple):
        return f"list of {_type_name(args[0])}"
    if origin is dict:
        return f"map of {_type_name(args[0])} to {_type_name(args[1])}"
    if origin in (typing.Union, getattr(__import__('types'), 'UnionType', None)):
        names = [_type_name(a) for a in args if a is not type(None)]
        suffix = " or null" if type(None) in args else ""
        return " or ".join(names) + suffix
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return f"[{annotation.__name__}](#{annotation.__name__.lower()})"
    if isinstance(annotation, type):
        return {"str": "string", "int": "integer", "float": "number", "bool": "boolean", "IPv4Network": "IPv4 CIDR"}.get(
            annotation.__name__, annotation.__name__
        )
    return str(annotation)


def _default(field: Any) -> str:
    if field.is_required():
        return "**required**"
    if field.default_factory is not None:
        value = field.default_factory()
    else:
        value = field.default
    if value is PydanticUndefined:
        return ""
    if isinstance(value, BaseModel):
        return "see below"
    if isinstance(value, list) and value and isinstance(value[0], BaseModel):
        return json.dumps([v.model_dump(mode="json", by_alias=True, exclude_defaults=True) for v in value])
    if hasattr(value, "compressed"):
        return f"`{value}`"
    return f"`{json.dumps(value)}`"


def _models(root: type[BaseModel]) -> list[type[BaseModel]]:
    seen: list[type[BaseModel]] = []

    def visit(model: type[BaseModel]) -> None:
        if model in seen:
            return
        seen.append(model)
        for field in model.model_fields.values():
            for inner in _inner_models(field.annotation):
                visit(inner)

    visit(root)
    return seen


def _inner_models(annotation: Any) -> list[type[BaseModel]]:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return [annotation]
    out: list[type[BaseModel]] = []
    for arg in typing.get_args(annotation):
        out += _inner_models(arg)
    return out


def render() -> str:
    parts = [HEADER]
    root = spec_model()
    for model in _models(root):
        title = "MlopsSpec (top-level keys)" if model is root else model.__name__
        parts.append(f"## {title}\n")
        if model.__doc__ and model is not root:
            parts.append(model.__doc__.strip().splitlines()[0] + "\n")
        parts.append("| key | type | default | description |\n| --- | --- | --- | --- |")
        for name, field in model.model_fields.items():
            key = field.alias or name
            desc = (field.description or "").replace("|", "\\|")
            parts.append(f"| `{key}` | {_type_name(field.annotation)} | {_default(field)} | {desc} |")
        parts.append("")
    required = "".join(
        f"- `{t.name}.{to_camel(key)}` is required when `cloud` is `{t.name}`.\n" for t in targets.all() for key in t.required_options
    )
    limits = {"{max_bucket_base}": str(constants.MAX_BUCKET_BASE), "{max_bucket_name}": str(constants.MAX_BUCKET_NAME)}
    rules = RULES.replace("{required}", required)
    for key, value in limits.items():
        rules = rules.replace(key, value)
    parts.append(rules)
    return "\n".join(parts).rstrip() + "\n"


__all__ = ["render", "spec_module"]
