"""The one error type a user sees for a mistake in their spec.

A ``ConfigError`` names the key path (``cluster.gpuPools[0].gpu``), the offending
value, the reason and, where we can guess, a hint. ``str(err)`` is a single line:
the CLI prints it and exits 2, and ``pulumi up`` shows the same text.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable
from typing import Any

from pulumi.errors import RunError

_MISSING = object()


def _short(value: Any, limit: int = 60) -> str:
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


class ConfigError(RunError):
    """A spec value is wrong. Raised before any resource is registered.

    It is a ``pulumi.RunError``, so ``pulumi up`` prints the message without a traceback.
    """

    def __init__(self, path: str, reason: str, hint: str | None = None, value: Any = _MISSING) -> None:
        self.path = path
        self.reason = reason
        self.hint = hint
        self.value = None if value is _MISSING else value
        self.has_value = value is not _MISSING
        #: How many further problems the same check found (reported as a count).
        self.more = 0
        super().__init__(path, reason)

    @property
    def message(self) -> str:
        parts = [f"{self.path}: "]
        if self.has_value:
            parts.append(f"{_short(self.value)} ")
        parts.append(self.reason)
        if self.hint:
            parts.append(f" ({self.hint})")
        if self.more:
            parts.append(f"; {self.more} more problem{'s' if self.more > 1 else ''} after this one")
        # One line, whatever the parts contained.
        return " ".join("".join(parts).split())

    def __str__(self) -> str:
        return self.message


def did_you_mean(value: Any, choices: Iterable[str]) -> str | None:
    """``"did you mean 'nvidia-l4'?"`` when ``value`` is close to one of ``choices``."""
    if not isinstance(value, str):
        return None
    matches = difflib.get_close_matches(value, sorted(choices), n=1, cutoff=0.6)
    return f"did you mean {matches[0]!r}?" if matches else None


def one_of(choices: Iterable[str], limit: int = 12) -> str:
    items = sorted(set(choices))
    shown = ", ".join(items[:limit])
    if len(items) > limit:
        shown += f", ... ({len(items) - limit} more)"
    return shown
