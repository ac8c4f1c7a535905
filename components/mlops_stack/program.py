"""The stack program: load the spec from Pulumi config, build the stack, export outputs.

``stacks/__main__.py`` calls ``main()``; the offline engine runs the same function.
"""

from __future__ import annotations

import pulumi

from mlops_stack import registry
from mlops_stack.spec import spec_from_pulumi_config
from mlops_stack.stack import MlopsStack


def main() -> MlopsStack:
    spec = spec_from_pulumi_config()
    registry.check(spec)
    stack = MlopsStack(spec.name, spec)
    for key, value in stack.outputs.items():
        pulumi.export(key, value)
    return stack
