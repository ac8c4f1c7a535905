"""Planning helpers shared by the test suites: plan the example stacks once per process.

Import as ``from planning import plan_example`` (not ``from conftest``: several test
folders have a conftest.py of their own)."""

from __future__ import annotations

import functools
from pathlib import Path
from typing import Any

from mlops_stack.offline.engine import Plan, run_program
from mlops_stack.offline.stackfile import list_stacks, read_stack_file
from mlops_stack.program import main as stack_program
from mlops_stack import targets

ROOT = Path(__file__).resolve().parents[1]
STACKS = ROOT / "stacks"


def example_stacks() -> list[str]:
    """Example stacks of every installed target (``dev-aws``, ...)."""
    clouds = targets.names()
    return [s for s in list_stacks(STACKS) if s.rsplit("-", 1)[-1] in clouds]


@functools.cache
def plan_example(stack: str) -> Plan:
    sf = read_stack_file(STACKS / f"Pulumi.{stack}.yaml")
    return run_program(stack_program, stack=sf.stack, config=sf.config, secret_keys=sf.secret_keys)


def plan_config(config: dict[str, str], stack: str = "test") -> Plan:
    """Plan an ad-hoc flat Pulumi config (``{"mlops-stack:cloud": "aws", ...}``)."""
    return run_program(stack_program, stack=stack, config=config)


def set_path(node: Any, path: str, value: Any) -> None:
    """``set_path(raw, "cluster.gpuPools.0.gpu", "x")``: set one value in nested dicts and
    lists, in place (numbers index lists; missing dicts are created)."""
    parts = path.split(".")
    for p in parts[:-1]:
        node = node[int(p)] if isinstance(node, list) else node.setdefault(p, {})
    last = parts[-1]
    if isinstance(node, list):
        node[int(last)] = value
    else:
        node[last] = value


def write_outputs(tmp_path: Path, outputs: dict[str, Any]) -> str:
    """Stack outputs as ``pulumi stack output --json`` writes them, in ``tmp_path``: the path
    to pass as ``smoke --outputs``."""
    import json

    path = tmp_path / "outputs.json"
    path.write_text(json.dumps(outputs, indent=2))
    return str(path)
