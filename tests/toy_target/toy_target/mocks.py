"""Offline outputs for the toy package's resources (read by mlops_stack.offline.engine)."""

from __future__ import annotations

from typing import Any


def _bucket(ctx: Any, args: Any) -> tuple[str, dict[str, Any]]:
    return f"toy-{args.name}", {**args.inputs, "id": f"toy-{args.name}"}


RESOURCES = {"toy:index:Bucket": _bucket}
