"""All rules; importing this package registers them in ``RULES``.

Rule modules are discovered, not listed: every module in this package (``pkgutil``, in
name order) is imported, so a new capability's rule module is one new file here and no
edit to this one. Modules that register nothing (``_registry``, helpers such as ``_iam``)
are imported too, harmlessly.

The pack order (``RULES``, what the pack serves and the plan reports in) is by the module
that defines each rule's check: its ``PACK_ORDER`` (an int, default 0), then its name;
within a module, definition order. The per-cloud and common modules leave ``PACK_ORDER``
at 0; the cross-cloud capability modules set 1, 2, 3 ... so they come after them in the
order they were added (cluster endpoints, workload identities, experiment tracking).
"""

from __future__ import annotations

import importlib
import pkgutil
import sys

from ._registry import RULES

__all__ = ["RULES", "rule_modules"]


def rule_modules() -> list[str]:
    """The fully qualified names of this package's modules, in name order."""
    return [f"{__name__}.{m.name}" for m in sorted(pkgutil.iter_modules(__path__), key=lambda m: m.name)]


def _pack_key(module: str) -> tuple[int, str]:
    mod = sys.modules[module]
    return (int(getattr(mod, "PACK_ORDER", 0)), module.rsplit(".", 1)[-1])


def _load() -> None:
    for name in rule_modules():
        importlib.import_module(name)
    # sort() is stable: rules of one module keep their definition order.
    RULES.sort(key=lambda r: _pack_key((r.check or r.stack_check).__module__))


_load()
