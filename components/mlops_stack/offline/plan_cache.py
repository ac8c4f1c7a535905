"""A cache of plan results, keyed by a hash of everything a result depends on.

``mlops-stack plan`` looks each stack up before planning it; a stack whose inputs are
unchanged since the last run (the usual case for most stacks of a pull request) is read
from the cache instead of being planned, checked and priced again. ``--no-cache`` (or
``MLOPS_STACK_NO_CACHE=1``) skips the cache both ways.

The key is a SHA-256 of:

- the stack file's bytes and its file name (the stack name comes from it);
- what is asked of it (the plan document, or one cloud of ``--compare``) and the options
  (policy, cost, ``--policy-pack-config``);
- the ``mlops-stack`` version and a hash of every file of the installed package
  (code, catalog prices, templates), so an edited checkout is never served an old plan;
- the policy pack: a hash of the ``mlops_policies`` package and of the pack directory
  (``$MLOPS_POLICY_PACK`` included);
- the versions of Python and of the libraries the plan runs on (Pulumi, the provider
  SDKs, pulumi-policy, pydantic, PyYAML, protobuf);
- the environment variables a plan may read: those starting ``ARM_``, ``AZURE_``,
  ``AWS_``, ``GOOGLE_``, ``CLOUDSDK_``, ``PULUMI_``, ``MLOPS_`` (the Azure deployer's
  principal type follows ``ARM_CLIENT_ID``, for one).

A plan run with ``--program`` (any user code) is never cached.

Where: ``$MLOPS_STACK_CACHE_DIR`` if set, else ``$XDG_CACHE_HOME/mlops-stack/plans``,
else ``~/.cache/mlops-stack/plans``. One JSON file per entry, written atomically; an
entry that cannot be read, is not JSON, or carries another key is ignored (planned
again and overwritten). Deleting the folder is always safe.
"""

from __future__ import annotations

import hashlib
import json
import os
import sys
import tempfile
from collections.abc import Iterable
from functools import lru_cache
from pathlib import Path
from typing import Any

import mlops_stack

#: Bump when the cached result's shape changes.
FORMAT = 1

#: Libraries whose version is part of the key (absent ones count as "absent").
LIBRARIES = (
    "pulumi",
    "pulumi-policy",
    "pulumi-aws",
    "pulumi-gcp",
    "pulumi-azure-native",
    "pulumi-kubernetes",
    "pulumi-random",
    "pydantic",
    "PyYAML",
    "protobuf",
    "grpcio",
)

#: Environment variables with these prefixes are part of the key.
ENV_PREFIXES = ("ARM_", "AZURE_", "AWS_", "GOOGLE_", "CLOUDSDK_", "PULUMI_", "MLOPS_")

#: Set to 1/true to disable the cache (as ``--no-cache``).
DISABLE_ENV = "MLOPS_STACK_NO_CACHE"
DIR_ENV = "MLOPS_STACK_CACHE_DIR"


def disabled_by_env() -> bool:
    return os.environ.get(DISABLE_ENV, "").strip().lower() not in ("", "0", "false", "no")


def cache_dir() -> Path:
    """Where entries live (see the module docstring)."""
    explicit = os.environ.get(DIR_ENV)
    if explicit:
        return Path(explicit)
    xdg = os.environ.get("XDG_CACHE_HOME")
    base = Path(xdg) if xdg and Path(xdg).is_absolute() else Path.home() / ".cache"
    return base / "mlops-stack" / "plans"


def _hash_tree(h: Any, root: Path) -> None:
    """Every file under ``root`` (bytecode caches excluded): relative path and content."""
    files = sorted(p for p in root.rglob("*") if p.is_file() and "__pycache__" not in p.parts and p.suffix != ".pyc")
    for p in files:
        h.update(p.relative_to(root).as_posix().encode() + b"\0")
        h.update(hashlib.sha256(p.read_bytes()).digest())


def _version(name: str) -> str:
    from importlib import metadata

    try:
        return metadata.version(name)
    except metadata.PackageNotFoundError:
        return "absent"


@lru_cache(maxsize=1)
def environment_fingerprint() -> str:
    """The part of every key that does not depend on the stack: code, pack, libraries."""
    import importlib.util

    h = hashlib.sha256()
    h.update(f"format={FORMAT}\0python={sys.version}\0mlops-stack={mlops_stack.__version__}\0".encode())
    _hash_tree(h, Path(mlops_stack.__file__).resolve().parent)
    spec = importlib.util.find_spec("mlops_policies")
    if spec is not None and spec.submodule_search_locations:
        h.update(b"mlops_policies\0")
        _hash_tree(h, Path(next(iter(spec.submodule_search_locations))).resolve())
    pack = os.environ.get("MLOPS_POLICY_PACK")
    if pack and Path(pack).is_dir():
        h.update(f"pack={Path(pack).resolve()}\0".encode())
        _hash_tree(h, Path(pack))
    for name in LIBRARIES:
        h.update(f"{name}={_version(name)}\0".encode())
    return h.hexdigest()


def _env_items() -> list[tuple[str, str]]:
    return sorted((k, v) for k, v in os.environ.items() if k.startswith(ENV_PREFIXES) and k not in (DISABLE_ENV, DIR_ENV))


def key(path: str, task: Iterable[Any], options: Any) -> str | None:
    """The cache key of one task of one stack file; None if it cannot be cached (a
    ``--program`` run, or a stack file that cannot be read: planning reports that)."""
    if options.program is not None:
        return None
    try:
        content = Path(path).read_bytes()
    except OSError:
        return None
    material = {
        "fingerprint": environment_fingerprint(),
        "file": Path(path).name,
        "content": hashlib.sha256(content).hexdigest(),
        "task": list(task),
        "options": {"policy": options.policy, "cost": options.cost, "policyConfig": options.policy_config},
        "env": _env_items(),
    }
    return hashlib.sha256(json.dumps(material, sort_keys=True, default=str).encode()).hexdigest()


class PlanCache:
    """Entries under ``root``: ``<key>.json`` = ``{"key": ..., "result": ...}``."""

    def __init__(self, root: Path | None = None) -> None:
        self.root = root if root is not None else cache_dir()
        self.hits = 0
        self.misses = 0

    def _file(self, k: str) -> Path:
        return self.root / k[:2] / f"{k}.json"

    def get(self, k: str | None) -> Any | None:
        """The cached result for ``k``, or None (absent, unreadable, corrupt, another key)."""
        if k is None:
            return None
        try:
            entry = json.loads(self._file(k).read_text(encoding="utf-8"))
        except (OSError, ValueError, UnicodeDecodeError):
            self.misses += 1
            return None
        if not isinstance(entry, dict) or entry.get("key") != k or "result" not in entry:
            self.misses += 1
            return None
        self.hits += 1
        return entry["result"]

    def put(self, k: str | None, result: Any) -> None:
        """Store ``result`` (best effort: a read-only or full disk only loses the speed-up)."""
        if k is None:
            return
        target = self._file(k)
        try:
            target.parent.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=".tmp-", suffix=".json")
            try:
                with os.fdopen(fd, "w", encoding="utf-8") as f:
                    json.dump({"key": k, "result": result}, f)
                os.replace(tmp, target)
            except BaseException:
                Path(tmp).unlink(missing_ok=True)
                raise
        except OSError:
            pass
