"""Deprecated: use ``mlops_stack.targets``. Kept so branches written against the old name
still import; removed once ``git grep mlops_stack.registry`` finds no caller
(docs/decisions.md, "Targets")."""

from mlops_stack.targets import check, missing_sdk, reject_frameworks, require_sdk

__all__ = ["check", "missing_sdk", "reject_frameworks", "require_sdk"]
