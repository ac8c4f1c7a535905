"""Where the CrossGuard policy pack lives once installed, and how to export it.

The pack's rules are the importable package ``mlops_policies`` (shipped in the same
wheel as ``mlops_stack``). Two pack directories exist around it:

- the installed one, ``mlops_policies/pulumi_pack/`` (``mlops-stack policy-pack path``):
  ``PulumiPolicy.yaml`` without a virtualenv and a ``__main__.py`` that imports the
  installed rules, so ``pulumi preview --policy-pack $(mlops-stack policy-pack path)``
  runs the pack with the Python of the activated environment; the offline plan starts
  the same directory with ``sys.executable``;
- an exported one (``mlops-stack policy-pack export DIR``): a self-contained directory
  (``PulumiPolicy.yaml`` with its own virtualenv, ``requirements.txt``, ``__main__.py``
  and a copy of ``mlops_policies``) to commit into a platform repository or hand to
  ``pulumi preview --policy-pack DIR`` on a machine without mlops-stack. The
  repository's own ``policies/`` folder is exactly such a directory (a test keeps them
  identical).
"""

from __future__ import annotations

import importlib.util
import json
import os
import shutil
from pathlib import Path

from mlops_stack import __version__
from mlops_stack.errors import ConfigError

#: The pack's own environment when it runs outside mlops-stack's (an exported pack, under
#: the Pulumi CLI, which creates DIR/venv from requirements.txt). Same versions as the
#: package's dependencies and constraints.txt, so the pack behaves as under `mlops-stack plan`;
#: pulumi-policy needs setuptools at run time (its metadata declares it).
POLICY_REQUIREMENTS: tuple[str, ...] = (
    "pulumi-policy==1.21.0",
    "pulumi==3.272.0",
    "grpcio==1.85.3",
    "protobuf==5.29.6",
    "setuptools",
)

#: Files of an exported pack besides the ``mlops_policies`` package.
PACK_FILES = ("PulumiPolicy.yaml", "__main__.py", "requirements.txt")


def installed_pack_dir() -> Path:
    """The pack directory shipped inside the installed ``mlops_policies`` package."""
    spec = importlib.util.find_spec("mlops_policies")
    if spec is None or not spec.submodule_search_locations:
        raise ConfigError("policy pack", "the mlops_policies package is not installed", "reinstall mlops-stack")
    return Path(next(iter(spec.submodule_search_locations))) / "pulumi_pack"


def default_pack_dir() -> Path:
    """The pack the offline plan runs: ``$MLOPS_POLICY_PACK`` if set, else the installed one."""
    override = os.environ.get("MLOPS_POLICY_PACK")
    return Path(override) if override else installed_pack_dir()


def check_pack_dir(path: Path, source: str) -> Path:
    """``path`` if it is a policy pack directory, else a ``ConfigError`` naming ``source``."""
    if not (path / "PulumiPolicy.yaml").is_file() or not (path / "__main__.py").is_file():
        raise ConfigError(source, "is not a policy pack directory (needs PulumiPolicy.yaml and __main__.py)",
                          "point it at the output of `mlops-stack policy-pack export DIR`, or unset it", value=str(path))
    return path


def pulumi_policy_yaml() -> str:
    """``PulumiPolicy.yaml`` of an exported pack (the pack's version is the package's)."""
    from mlops_policies.pack import PACK_DESCRIPTION, PACK_NAME

    return (
        f"name: {PACK_NAME}\n"
        "runtime:\n"
        "  name: python\n"
        "  options:\n"
        "    toolchain: pip\n"
        "    virtualenv: venv\n"
        f"version: {__version__}\n"
        f"description: {json.dumps(PACK_DESCRIPTION)}\n"
    )


def requirements_txt() -> str:
    header = (
        "# The policy pack's own environment (the Pulumi CLI creates venv/ here from this file).\n"
        f"# Written by mlops-stack {__version__} (`mlops-stack policy-pack export`); bump together.\n"
    )
    return header + "".join(f"{r}\n" for r in POLICY_REQUIREMENTS)


def main_py() -> str:
    return (installed_pack_dir() / "__main__.py").read_text(encoding="utf-8")


def export(dest: Path, *, force: bool = False) -> list[Path]:
    """Write a complete, self-contained pack directory to ``dest``; return the files written.

    ``dest`` may exist if it is empty or already holds a pack (``force`` to overwrite one).
    """
    dest = Path(dest)
    if dest.exists() and not dest.is_dir():
        raise ConfigError("DIR", "exists and is not a directory", value=str(dest))
    if dest.is_dir() and any(dest.iterdir()) and not force:
        raise ConfigError("DIR", "is not empty", "pass --force to overwrite the pack files in it", value=str(dest))
    source = installed_pack_dir().parent
    try:
        dest.mkdir(parents=True, exist_ok=True)
        written = []
        for name, text in (("PulumiPolicy.yaml", pulumi_policy_yaml()), ("__main__.py", main_py()),
                           ("requirements.txt", requirements_txt())):
            (dest / name).write_text(text, encoding="utf-8")
            written.append(dest / name)
        target = dest / "mlops_policies"
        if target.exists():
            shutil.rmtree(target)
        shutil.copytree(source, target, ignore=shutil.ignore_patterns("__pycache__", "*.pyc", "pulumi_pack"))
    except OSError as err:
        raise ConfigError("DIR", f"cannot be written: {err.strerror or err}", value=str(dest)) from None
    written += sorted(p for p in target.rglob("*") if p.is_file())
    return written
