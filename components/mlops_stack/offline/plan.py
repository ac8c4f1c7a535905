"""Planning a stack offline: stack file -> spec check -> program run -> plan document.

The plan document is the contract of ``mlops-stack plan --format json``::

    {"project", "stack", "cloud",
     "resources": [{"urn", "type", "name", "parent", "custom", "inputs",
                    "protect", "retainOnDelete", ...}],
     "outputs": {...}}

Later additions add keys; they never rename or remove these.
"""

from __future__ import annotations

import runpy
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from mlops_stack.offline.engine import Plan, run_program
from mlops_stack.offline.stackfile import PROJECT, StackFile, read_stack_file


@dataclass
class StackPlan:
    stack_file: StackFile
    plan: Plan
    cloud: str

    def document(self) -> dict[str, Any]:
        return {
            "project": self.plan.project,
            "stack": self.plan.stack,
            "cloud": self.cloud,
            "resources": [r.to_dict() for r in self.plan.resources],
            "outputs": self.plan.outputs,
        }


def _program_from_file(path: Path) -> Callable[[], Any]:
    """A Pulumi program given as a file or a folder with ``__main__.py``, run like the CLI runs it."""
    target = path / "__main__.py" if path.is_dir() else path

    def program() -> None:
        folder = str(target.parent)
        sys.path.insert(0, folder)
        try:
            runpy.run_path(str(target), run_name="__main__")
        finally:
            if sys.path and sys.path[0] == folder:
                sys.path.pop(0)

    return program


def project_name(program: Path | None) -> str:
    """The project name from the ``Pulumi.yaml`` beside a program (default: ours)."""
    if program is None:
        return PROJECT
    folder = program if program.is_dir() else program.parent
    for candidate in (folder / "Pulumi.yaml", folder.parent / "Pulumi.yaml"):
        if candidate.is_file():
            doc = yaml.safe_load(candidate.read_text(encoding="utf-8")) or {}
            return str(doc.get("name") or PROJECT)
    return PROJECT


def plan_stack_file(path: str | Path, *, program: Path | None = None, stack: str | None = None) -> StackPlan:
    """Plan one stack file with the bundled stack program (or ``program``)."""
    sf = read_stack_file(path, stack=stack, project=project_name(program))
    if program is None:
        from mlops_stack.program import main as bundled

        fn: Callable[[], Any] = bundled
    else:
        fn = _program_from_file(program)
    plan = run_program(fn, project=project_name(program), stack=sf.stack, config=sf.config, secret_keys=sf.secret_keys)
    cloud = str(plan.outputs.get("cloud") or sf.config.get(f"{PROJECT}:cloud", "") or _cloud_from_resources(plan))
    return StackPlan(stack_file=sf, plan=plan, cloud=cloud)


def _cloud_from_resources(plan: Plan) -> str:
    from mlops_stack.registry import PROVIDER_PACKAGE

    package_cloud = {pkg: cloud for cloud, pkg in PROVIDER_PACKAGE.items()}
    for r in plan.resources:
        cloud = package_cloud.get(r.type.split(":", 1)[0])
        if cloud:
            return cloud
    return ""
