"""The stack program: load the spec from Pulumi config, build the stack, export outputs.

``stacks/__main__.py`` calls ``main()``; the offline engine runs the same function, and
so do the platform-repository templates (``mlops-stack init``).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pulumi

from mlops_stack import targets
from mlops_stack.spec import load_spec, raw_from_config_values, spec_from_pulumi_config
from mlops_stack.stack import MlopsStack


def _under(defaults: Mapping[str, Any], raw: Mapping[str, Any]) -> dict[str, Any]:
    """``raw`` over ``defaults``, section by section (the stack file always wins)."""
    out = dict(defaults)
    for key, value in raw.items():
        base = out.get(key)
        out[key] = _under(base, value) if isinstance(base, Mapping) and isinstance(value, Mapping) else value
    return out


def main(defaults: Mapping[str, Any] | None = None, namespace: str = "mlops-stack") -> MlopsStack:
    """Build the whole environment from the ``<namespace>:*`` config of the running stack.

    ``defaults`` are spec values (camelCase keys, as in a stack file) used where the stack
    file has none, e.g. ``{"region": pulumi.Config("mlops-defaults").require("region")}`` (a
    platform repo's own default for a spec key).
    """
    if defaults:
        from pulumi.runtime import config as runtime_config

        raw = raw_from_config_values(dict(runtime_config.CONFIG.get()), namespace)
        spec = load_spec(_under(defaults, raw))
    else:
        spec = spec_from_pulumi_config(namespace)
    targets.check(spec)
    stack = MlopsStack(spec.name, spec)
    for key, value in stack.outputs.items():
        pulumi.export(key, value)
    return stack
