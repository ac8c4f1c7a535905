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

from mlops_stack import targets
from mlops_stack.errors import ConfigError
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


def project_file(program: Path) -> Path | None:
    """The ``Pulumi.yaml`` of a program: in its folder, else the folder above (``main: src/``)."""
    folder = program if program.is_dir() else program.parent
    for candidate in (folder / "Pulumi.yaml", folder.parent / "Pulumi.yaml"):
        if candidate.is_file():
            return candidate
    return None


def _project_doc(project: Path) -> dict[str, Any]:
    try:
        doc = yaml.safe_load(project.read_text(encoding="utf-8")) or {}
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as err:
        raise ConfigError(str(project), f"cannot be read as YAML ({type(err).__name__})") from None
    return doc if isinstance(doc, dict) else {}


def program_stacks_dir(program: Path) -> Path:
    """Where the Pulumi CLI looks for a program's stack files: its ``Pulumi.yaml``'s
    ``stackConfigDir``, else the folder of that ``Pulumi.yaml`` (else the program's folder)."""
    project = project_file(program)
    if project is None:
        return program if program.is_dir() else program.parent
    sub = _project_doc(project).get("stackConfigDir")
    return project.parent / str(sub) if sub else project.parent


def program_entry(program: Path) -> Path:
    """The file to run for ``program``: a .py file itself, else ``__main__.py`` in the folder,
    or in the ``main:`` folder its ``Pulumi.yaml`` names."""
    if not program.is_dir():
        return program
    if not (program / "__main__.py").is_file() and (program / "Pulumi.yaml").is_file():
        main = _project_doc(program / "Pulumi.yaml").get("main")
        if main:
            target = program / str(main)
            return target / "__main__.py" if target.is_dir() or not str(main).endswith(".py") else target
    return program / "__main__.py"


def _program_from_file(path: Path) -> Callable[[], Any]:
    """A Pulumi program given as a file or a folder with ``__main__.py``, run like the CLI runs it."""
    target = program_entry(path)

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
    project = project_file(program)
    return str(_project_doc(project).get("name") or PROJECT) if project is not None else PROJECT


def plan_stack_file(path: str | Path, *, program: Path | None = None, stack: str | None = None) -> StackPlan:
    """Plan one stack file with the bundled stack program (or ``program``)."""
    sf = read_stack_file(path, stack=stack, project=project_name(program))
    if program is None:
        from mlops_stack.program import main as bundled  # lazy: the bundled program (spec, stack) only when it is planned

        fn: Callable[[], Any] = bundled
    else:
        fn = _program_from_file(program)
    plan = run_program(fn, project=project_name(program), stack=sf.stack, config=sf.config, secret_keys=sf.secret_keys)
    cloud = str(plan.outputs.get("cloud") or sf.config.get(f"{PROJECT}:cloud", "") or _cloud_from_resources(plan))
    return StackPlan(stack_file=sf, plan=plan, cloud=cloud)


def _cloud_from_resources(plan: Plan) -> str:
    for r in plan.resources:
        target = targets.by_provider_package(r.type.split(":", 1)[0])
        if target is not None:
            return target.name
    return ""
