"""Helpers for the bad-stack tests: write a stack file, run it through the CLI (in
process) and through the stack program the way ``pulumi up`` hands it config.

Import as ``from badstacks import ...`` (like ``planning``)."""

from __future__ import annotations

import contextlib
import copy
import io
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml

from mlops_stack import cli
from mlops_stack.errors import ConfigError
from mlops_stack.offline.engine import run_program
from mlops_stack.offline.stackfile import PROJECT, load_yaml
from mlops_stack.program import main as stack_program
from planning import STACKS

EXAMPLES = ("dev-aws", "dev-gcp", "dev-azure", "prod-aws", "prod-gcp", "prod-azure")


def example_config(stack: str) -> dict[str, Any]:
    """The ``config:`` section of an example stack file, as data (``mlops-stack:cloud``, ...)."""
    return copy.deepcopy(_example(stack))


_CACHE: dict[str, dict[str, Any]] = {}


def _example(stack: str) -> dict[str, Any]:
    if stack not in _CACHE:
        _CACHE[stack] = load_yaml((STACKS / f"Pulumi.{stack}.yaml").read_text(encoding="utf-8"))["config"]
    return _CACHE[stack]


@dataclass(frozen=True)
class Raw:
    """A value written into the YAML as is (``2024-01-01``, ``1.30``, ``!!binary ...``),
    and what Pulumi's YAML reader hands the program for it."""

    yaml: str
    pulumi: Any


def _collect_raw(node: Any, found: list[Raw]) -> Any:
    if isinstance(node, Raw):
        found.append(node)
        return f"RAWTOKEN{len(found) - 1}X"
    if isinstance(node, dict):
        return {k: _collect_raw(v, found) for k, v in node.items()}
    if isinstance(node, list):
        return [_collect_raw(v, found) for v in node]
    return node


def _pulumi_value(node: Any) -> Any:
    if isinstance(node, Raw):
        return node.pulumi
    if isinstance(node, dict):
        return {k: _pulumi_value(v) for k, v in node.items()}
    if isinstance(node, list):
        return [_pulumi_value(v) for v in node]
    return node


def stack_yaml(config: dict[str, Any]) -> str:
    """A stack file for ``config`` (``Raw`` values written literally)."""
    raws: list[Raw] = []
    data = _collect_raw(config, raws)
    text = yaml.safe_dump({"config": data}, sort_keys=False, allow_unicode=True, width=100_000)
    for i, raw in enumerate(raws):
        text = text.replace(f"RAWTOKEN{i}X", raw.yaml)
    return text


def pulumi_config(config: dict[str, Any]) -> dict[str, str]:
    """What the Pulumi CLI hands the program: plain values as text, structured ones as JSON."""
    out = {}
    for key, value in config.items():
        value = _pulumi_value(value)
        full = key if ":" in key else f"{PROJECT}:{key}"
        out[full] = value if isinstance(value, str) else json.dumps(value)
    return out


def cli_plan(path: Path) -> tuple[int, str, str]:
    """``mlops-stack plan --config <path>`` in this process: (exit code, stdout, stderr)."""
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = cli.main(["plan", "--config", str(path), "--no-policy", "--no-cost"])
    return code, out.getvalue(), err.getvalue()


def program_error(config: dict[str, str]) -> str:
    """Run the stack program on ``config`` like ``pulumi up``; the ConfigError it raises
    (asserting nothing was registered)."""
    with pytest.raises(ConfigError) as info:
        run_program(stack_program, stack="bad", config=config)
    assert info.value.offline_registrations == []  # type: ignore[attr-defined]
    msg = str(info.value)
    assert "\n" not in msg
    return msg


#: What pydantic or Python wording looks like: none of it may reach a user.
LEAKS = (
    "should be",
    "Input should",
    "instance of",
    "valid string",
    "Value error",
    "Traceback",
    "[key]",
    "function-after",
    "^",
    "$",
    "\\d",
    "pydantic",
    "Spec",
)


def assert_plain(msg: str) -> None:
    for leak in LEAKS:
        assert leak not in msg, f"{leak!r} in {msg!r}"
