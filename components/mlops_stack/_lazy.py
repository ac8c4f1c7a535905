"""Lazy package exports (PEP 562): ``from mlops_stack.aws import GpuNodePool`` imports
only the module that defines it, so a program that reuses two components does not pay
for the provider modules of the other six."""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping
from typing import Any


def lazy_exports(package: str, exports: Mapping[str, str]) -> tuple[Callable[[str], Any], Callable[[], list[str]], list[str]]:
    """``(__getattr__, __dir__, __all__)`` for a package whose names live in submodules."""
    names = sorted(exports)

    def __getattr__(name: str) -> Any:  # noqa: N807
        module = exports.get(name)
        if module is None:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        return getattr(importlib.import_module(f"{package}.{module}"), name)

    def __dir__() -> list[str]:  # noqa: N807
        return names

    return __getattr__, __dir__, names


def capability_exports(**extra: str) -> dict[str, str]:
    """Name -> module for a cloud package: every capability class (contracts.KIND_MODULES),
    ``ExistingCluster`` (beside ``GpuNodePool``) and the cloud's ``extra`` names."""
    from mlops_stack.contracts import KIND_MODULES  # lazy: ``import mlops_stack`` loads no pulumi (contracts does)

    return {**KIND_MODULES, "ExistingCluster": KIND_MODULES["GpuNodePool"], **extra}
