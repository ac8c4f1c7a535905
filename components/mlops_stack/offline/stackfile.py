"""Read a ``Pulumi.<stack>.yaml`` the way the Pulumi CLI hands it to a program.

Keys without a namespace belong to the project (``cloud`` -> ``mlops-stack:cloud``);
structured values become JSON text; ``secure:`` values cannot be decrypted offline, so
they become a placeholder and their keys are marked secret.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from mlops_stack.errors import ConfigError

PROJECT = "mlops-stack"
OFFLINE_SECRET = "offline-placeholder-secret"
_STACK_FILE = re.compile(r"^Pulumi\.(?P<stack>[^/]+)\.ya?ml$")


@dataclass(frozen=True)
class StackFile:
    path: Path
    stack: str
    config: dict[str, str]
    secret_keys: list[str]

    @property
    def raw_spec(self) -> dict[str, Any]:
        from mlops_stack.spec import raw_from_config_values

        return raw_from_config_values(self.config, PROJECT)


def _flatten(value: Any, key: str, secrets: list[str]) -> str:
    if isinstance(value, dict) and set(value) == {"secure"}:
        secrets.append(key)
        return OFFLINE_SECRET
    if isinstance(value, str):
        return value
    if _has_secure(value):
        secrets.append(key)
        value = _strip_secure(value)
    return json.dumps(value, sort_keys=True)


def _has_secure(value: Any) -> bool:
    if isinstance(value, dict):
        return set(value) == {"secure"} or any(_has_secure(v) for v in value.values())
    if isinstance(value, list):
        return any(_has_secure(v) for v in value)
    return False


def _strip_secure(value: Any) -> Any:
    if isinstance(value, dict):
        if set(value) == {"secure"}:
            return OFFLINE_SECRET
        return {k: _strip_secure(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_strip_secure(v) for v in value]
    return value


def read_stack_file(path: str | Path, stack: str | None = None, project: str = PROJECT) -> StackFile:
    p = Path(path)
    if not p.is_file():
        raise ConfigError(str(p), "stack file not found")
    if stack is None:
        m = _STACK_FILE.match(p.name)
        stack = m.group("stack") if m else p.stem
    try:
        doc = yaml.safe_load(p.read_text(encoding="utf-8")) or {}
    except yaml.YAMLError as err:
        mark = getattr(err, "problem_mark", None)
        where = f" at line {mark.line + 1}" if mark else ""
        raise ConfigError(str(p), f"is not valid YAML{where}") from None
    if not isinstance(doc, dict):
        raise ConfigError(str(p), "must be a YAML mapping with a config: section")
    raw = doc.get("config")
    if not raw:
        raise ConfigError(str(p), "has no config: section", "a stack file starts with config: and then mlops-stack:cloud, mlops-stack:region, ...")
    if not isinstance(raw, dict):
        raise ConfigError(f"{p.name}: config", "must be a mapping of keys to values")
    config: dict[str, str] = {}
    secrets: list[str] = []
    for key, value in raw.items():
        full = key if ":" in str(key) else f"{project}:{key}"
        config[full] = _flatten(value, full, secrets)
    return StackFile(path=p, stack=stack, config=config, secret_keys=secrets)


def find_stack_file(stack: str, stacks_dir: str | Path) -> Path:
    d = Path(stacks_dir)
    for ext in ("yaml", "yml"):
        candidate = d / f"Pulumi.{stack}.{ext}"
        if candidate.is_file():
            return candidate
    known = sorted(m.group("stack") for f in d.glob("Pulumi.*.y*ml") if (m := _STACK_FILE.match(f.name)))
    from mlops_stack.errors import did_you_mean, one_of

    raise ConfigError("--stack", f"no stack file Pulumi.{stack}.yaml in {d}", did_you_mean(stack, known) or (f"stacks: {one_of(known)}" if known else "pass --stacks-dir DIR or --config FILE"), value=stack)


def list_stacks(stacks_dir: str | Path) -> list[str]:
    d = Path(stacks_dir)
    return sorted(m.group("stack") for f in d.glob("Pulumi.*.y*ml") if (m := _STACK_FILE.match(f.name)))
