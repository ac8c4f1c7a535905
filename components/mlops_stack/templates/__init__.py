"""Platform-repository templates, one per cloud, in the ``pulumi new`` layout.

Each folder is a Pulumi template: ``Pulumi.yaml`` with a ``template:`` section (its
description and the config prompts), the program (``__main__.py``, reusing
``MlopsStack``), ``requirements.txt`` pinned to this version, and a PR workflow.
``pulumi new <this folder>`` uses them as they are; :func:`render` (``mlops-stack init``)
does what ``pulumi new`` does, without the Pulumi CLI: copy the files with
``${PROJECT}`` and ``${DESCRIPTION}`` replaced, drop the ``template:`` section, and
write the prompts' answers (or defaults) to ``Pulumi.<stack>.yaml``.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import yaml

HERE = Path(__file__).resolve().parent

#: One template per folder here (the clouds with a template).
CLOUDS: tuple[str, ...] = tuple(sorted(p.name for p in HERE.iterdir() if (p / "Pulumi.yaml").is_file()))

#: What ``pulumi new`` accepts as a project name.
_PROJECT_NAME = re.compile(r"^[A-Za-z0-9_.-]{1,100}$")


def template_dir(cloud: str) -> Path:
    return HERE / cloud


def template_section(cloud: str) -> dict[str, Any]:
    """The ``template:`` section of a template's ``Pulumi.yaml`` (description, config prompts)."""
    doc = yaml.safe_load((template_dir(cloud) / "Pulumi.yaml").read_text(encoding="utf-8"))
    return dict(doc.get("template") or {})


def _files(root: Path) -> list[Path]:
    return sorted(p for p in root.rglob("*") if p.is_file() and "__pycache__" not in p.parts and p.suffix != ".pyc")


def _strip_template_section(text: str) -> str:
    """``Pulumi.yaml`` without its ``template:`` section (and the comment just above it)."""
    lines = text.splitlines(keepends=True)
    at = next(i for i, line in enumerate(lines) if line.startswith("template:"))
    start, end = at, at + 1
    while start > 0 and lines[start - 1].startswith("#"):
        start -= 1
    while end < len(lines) and (lines[end].startswith((" ", "\t")) or not lines[end].strip()):
        end += 1
    return "".join(lines[:start] + lines[end:])


def stack_config(cloud: str, answers: dict[str, str]) -> dict[str, str]:
    """The prompts' answers, defaults where none was given; extra answers are kept (as with
    ``pulumi new --config``). A prompt without a default needs an answer."""
    from mlops_stack.errors import ConfigError  # lazy: errors loads pulumi; the CLI parser reads CLOUDS without it

    config: dict[str, str] = {}
    for key, prompt in (template_section(cloud).get("config") or {}).items():
        prompt = prompt or {}
        if key in answers:
            config[key] = answers[key]
        elif "default" in prompt:
            config[key] = str(prompt["default"])
        else:
            raise ConfigError("--config", f"the {cloud} template needs {key}: {prompt.get('description', '')}".rstrip(": "),
                              f"pass --config {key}=VALUE")
    for key, value in answers.items():
        config.setdefault(key, value)
    return config


def _structured(value: str) -> Any:
    """A JSON object or list answer as YAML structure (the Pulumi CLI keeps it as JSON text,
    which the program reads the same way)."""
    if value.lstrip().startswith(("{", "[")):
        try:
            return json.loads(value)
        except ValueError:
            return value
    return value


def render(
    cloud: str,
    dest: Path,
    *,
    project: str | None = None,
    stack: str = "dev",
    answers: dict[str, str] | None = None,
    force: bool = False,
) -> list[Path]:
    """Write the ``cloud`` template to ``dest`` as ``pulumi new`` would; return the files written."""
    from mlops_stack.errors import ConfigError, one_of  # lazy: errors loads pulumi; the CLI parser reads CLOUDS without it

    if cloud not in CLOUDS:
        raise ConfigError("--cloud", "has no template", f"templates: {one_of(list(CLOUDS))}", value=cloud)
    dest = Path(dest)
    project = project or dest.resolve().name
    if not _PROJECT_NAME.match(project):
        raise ConfigError("--name", "is not a valid Pulumi project name (letters, digits, '_', '.', '-')", value=project)
    if not re.match(r"^[A-Za-z0-9_.-]+$", stack):
        raise ConfigError("--stack", "is not a valid stack name (letters, digits, '_', '.', '-')", value=stack)
    if dest.exists() and not dest.is_dir():
        raise ConfigError("DIR", "exists and is not a directory", value=str(dest))
    if dest.is_dir() and any(dest.iterdir()) and not force:
        raise ConfigError("DIR", "is not empty", "pass --force to write into it", value=str(dest))
    config = stack_config(cloud, dict(answers or {}))
    description = str(template_section(cloud).get("description") or project)
    root = template_dir(cloud)
    written: list[Path] = []
    try:
        for src in _files(root):
            text = src.read_text(encoding="utf-8").replace("${PROJECT}", project).replace("${DESCRIPTION}", description)
            if src.relative_to(root) == Path("Pulumi.yaml"):
                text = _strip_template_section(text)
            target = dest / src.relative_to(root)
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(text, encoding="utf-8")
            written.append(target)
        stack_file = dest / f"Pulumi.{stack}.yaml"
        header = (f"# Stack '{stack}' of {project}, written by `mlops-stack init --cloud {cloud}`.\n"
                  "# Every mlops-stack:* key, its type and default: mlops-stack's docs/spec.md.\n")
        values = {k: _structured(v) for k, v in config.items()}
        stack_file.write_text(header + yaml.safe_dump({"config": values}, sort_keys=False), encoding="utf-8")
        written.append(stack_file)
    except OSError as err:
        raise ConfigError("DIR", f"cannot be written: {err.strerror or err}", value=str(dest)) from None
    return written
