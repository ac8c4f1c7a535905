"""Read a ``Pulumi.<stack>.yaml`` the way the Pulumi CLI hands it to a program.

Keys without a namespace belong to the project (``cloud`` -> ``mlops-stack:cloud``);
structured values become JSON text; ``secure:`` values cannot be decrypted offline, so
they become a placeholder and their keys are marked secret.

The YAML is read the way Pulumi's own reader (Go, YAML 1.2 core schema) reads it, not
with PyYAML's YAML 1.1 defaults: ``off``/``yes``/``on``/``no`` stay text (only
``true``/``false`` are booleans), an unquoted date such as ``2024-01-01`` stays text,
``1e30`` is a number and ``1:30`` is text. So the offline plan and ``pulumi up`` see the
same values. Anything Pulumi config cannot hold as JSON (``!!binary``, ``!!set``, keys
that are not text, ``.inf``), a file that is not UTF-8 and a key with an empty name are
``ConfigError``s naming the key.
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from mlops_stack.errors import ConfigError, did_you_mean, one_of

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
        from mlops_stack.spec import raw_from_config_values  # lazy: the spec (pydantic) only when values are parsed

        return raw_from_config_values(self.config, PROJECT)


class _PulumiYamlLoader(yaml.SafeLoader):
    """PyYAML's safe loader with YAML 1.2 core-schema scalars (what Pulumi's reader does)."""


# Start from no implicit resolvers, then add the YAML 1.2 core schema's.
_PulumiYamlLoader.yaml_implicit_resolvers = {}
_PulumiYamlLoader.add_implicit_resolver(
    "tag:yaml.org,2002:bool", re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"), list("tTfF")
)
_PulumiYamlLoader.add_implicit_resolver("tag:yaml.org,2002:null", re.compile(r"^(?:~|null|Null|NULL|)$"), ["~", "n", "N", ""])
_PulumiYamlLoader.add_implicit_resolver(
    "tag:yaml.org,2002:int", re.compile(r"^(?:[-+]?[0-9]+|0o[0-7]+|0x[0-9a-fA-F]+)$"), list("-+0123456789")
)
_PulumiYamlLoader.add_implicit_resolver(
    "tag:yaml.org,2002:float",
    re.compile(r"^(?:[-+]?(?:\.[0-9]+|[0-9]+(?:\.[0-9]*)?)(?:[eE][-+]?[0-9]+)?|[-+]?\.(?:inf|Inf|INF)|\.(?:nan|NaN|NAN))$"),
    list("-+0123456789."),
)
_PulumiYamlLoader.add_implicit_resolver("tag:yaml.org,2002:merge", re.compile(r"^(?:<<)$"), ["<"])


def _construct_bool(loader: yaml.SafeLoader, node: yaml.Node) -> bool:
    return str(loader.construct_scalar(node)).lower() == "true"  # type: ignore[arg-type]


def _construct_int(loader: yaml.SafeLoader, node: yaml.Node) -> int:
    text = str(loader.construct_scalar(node))  # type: ignore[arg-type]
    if text.startswith("0o"):
        return int(text[2:], 8)
    if text.startswith("0x"):
        return int(text[2:], 16)
    return int(text)


def _construct_float(loader: yaml.SafeLoader, node: yaml.Node) -> float:
    text = str(loader.construct_scalar(node)).lower()  # type: ignore[arg-type]
    if text.endswith(".nan"):
        return math.nan
    if text.endswith(".inf"):
        return -math.inf if text.startswith("-") else math.inf
    return float(text)


def _construct_timestamp(loader: yaml.SafeLoader, node: yaml.Node) -> str:
    # An explicit !!timestamp: Pulumi config holds text, so keep what was written.
    return str(loader.construct_scalar(node))  # type: ignore[arg-type]


_PulumiYamlLoader.add_constructor("tag:yaml.org,2002:bool", _construct_bool)
_PulumiYamlLoader.add_constructor("tag:yaml.org,2002:int", _construct_int)
_PulumiYamlLoader.add_constructor("tag:yaml.org,2002:float", _construct_float)
_PulumiYamlLoader.add_constructor("tag:yaml.org,2002:timestamp", _construct_timestamp)


def load_yaml(text: str) -> Any:
    """Parse stack-file YAML as Pulumi does (see the module docstring)."""
    return yaml.load(text, Loader=_PulumiYamlLoader)  # noqa: S506 - a SafeLoader subclass


def _json_path(base: str, key: Any) -> str:
    return f"{base}[{key}]" if isinstance(key, int) and not isinstance(key, bool) else f"{base}.{key}"


def _check_json(value: Any, path: str) -> None:
    """Raise ``ConfigError`` unless ``value`` is what Pulumi config can hold (JSON)."""
    if value is None or isinstance(value, (str, bool, int)):
        return
    if isinstance(value, float):
        if not math.isfinite(value):
            raise ConfigError(path, "must be a finite number", value=value)
        return
    if isinstance(value, dict):
        for k, v in value.items():
            if not isinstance(k, str):
                raise ConfigError(_json_path(path, str(k)), "has a key that is not text; quote the key", value=k)
            _check_json(v, _json_path(path, k))
        return
    if isinstance(value, (list, tuple)):
        for i, v in enumerate(value):
            _check_json(v, f"{path}[{i}]")
        return
    kind = {bytes: "!!binary", set: "!!set"}.get(type(value), type(value).__name__)
    raise ConfigError(path, f"is a YAML {kind} value, which Pulumi config cannot hold; write it as text, a number, a list or a mapping")


def _spec_path(full_key: str, project: str) -> str:
    """``mlops-stack:cluster`` -> ``cluster`` (the spec's key path); other namespaces stay whole."""
    prefix = project + ":"
    return full_key[len(prefix) :] if full_key.startswith(prefix) else full_key


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


def _where(err: yaml.YAMLError) -> str:
    """`` at line L, column C: <what the parser found>`` (1-based, as editors count)."""
    mark = getattr(err, "problem_mark", None)
    if mark is None:
        return ""
    problem = " ".join(str(getattr(err, "problem", "") or "").split())
    return f" at line {mark.line + 1}, column {mark.column + 1}" + (f": {problem}" if problem else "")


def read_stack_file(path: str | Path, stack: str | None = None, project: str = PROJECT) -> StackFile:
    p = Path(path)
    if not p.is_file():
        raise ConfigError(str(p), "stack file not found")
    if stack is None:
        m = _STACK_FILE.match(p.name)
        stack = m.group("stack") if m else p.stem
    try:
        data = p.read_bytes()
    except OSError as err:
        raise ConfigError(str(p), f"cannot be read ({err.strerror or type(err).__name__})") from None
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as err:
        raise ConfigError(str(p), f"is not UTF-8 text (byte {err.start} cannot be decoded); save the file as UTF-8") from None
    try:
        doc = load_yaml(text) or {}
    except yaml.YAMLError as err:
        raise ConfigError(str(p), f"is not valid YAML{_where(err)}") from None
    except RecursionError:
        raise ConfigError(str(p), "is nested too deeply to be a stack file") from None
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
        if not isinstance(key, str):
            raise ConfigError(str(key), "is a config key that is not text; quote it", value=key)
        full = key if ":" in key else f"{project}:{key}"
        try:
            _check_json(value, _spec_path(full, project))
        except RecursionError:
            raise ConfigError(_spec_path(full, project), "is nested too deeply") from None
        config[full] = _flatten(value, full, secrets)
    return StackFile(path=p, stack=stack, config=config, secret_keys=secrets)


def find_stack_file(stack: str, stacks_dir: str | Path) -> Path:
    d = Path(stacks_dir)
    for ext in ("yaml", "yml"):
        candidate = d / f"Pulumi.{stack}.{ext}"
        if candidate.is_file():
            return candidate
    known = sorted(m.group("stack") for f in d.glob("Pulumi.*.y*ml") if (m := _STACK_FILE.match(f.name)))
    raise ConfigError("--stack", f"no stack file Pulumi.{stack}.yaml in {d}", did_you_mean(stack, known) or (f"stacks: {one_of(known)}" if known else "pass --stacks-dir DIR or --config FILE"), value=stack)


def list_stacks(stacks_dir: str | Path) -> list[str]:
    d = Path(stacks_dir)
    return sorted(m.group("stack") for f in d.glob("Pulumi.*.y*ml") if (m := _STACK_FILE.match(f.name)))
