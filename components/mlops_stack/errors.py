"""The one error type a user sees for a mistake in their spec.

A ``ConfigError`` names the key path (``cluster.gpuPools[0].gpu``), the offending
value, the reason and, where we can guess, a hint. ``str(err)`` is a single line:
the CLI prints it and exits 2, and ``pulumi up`` shows the same text.
"""

from __future__ import annotations

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


def _distance(a: str, b: str) -> int:
    """Edit distance with adjacent transpositions (``modles`` -> ``models`` is one edit)."""
    prev2: list[int] = []
    prev = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        cur = [i]
        for j, cb in enumerate(b, 1):
            cost = 0 if ca == cb else 1
            best = min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + cost)
            if i > 1 and j > 1 and ca == b[j - 2] and a[i - 2] == cb:
                best = min(best, prev2[j - 2] + 1)
            cur.append(best)
        prev2, prev = prev, cur
    return prev[-1]


def close_matches(value: Any, choices: Iterable[str]) -> list[str]:
    """The choices nearest to ``value``, if any is near enough to be a plausible typo.

    Near enough: at most one edit per three characters of the shorter word (at least
    one), compared case-insensitively. A far-fetched guess is worse than none, so
    ``us-east-9`` gets no Azure location suggested. All equally near matches are
    returned, sorted (deterministic).
    """
    if not isinstance(value, str) or not value:
        return []
    wanted = value.lower()
    scored: dict[int, list[str]] = {}
    for choice in sorted(set(choices)):
        limit = max(1, min(len(wanted), len(choice)) // 3)
        d = _distance(wanted, choice.lower())
        if d <= limit:
            scored.setdefault(d, []).append(choice)
    return scored[min(scored)] if scored else []


def did_you_mean(value: Any, choices: Iterable[str]) -> str | None:
    """``"did you mean 'nvidia-l4'?"`` when ``value`` is a plausible typo of one or two of
    ``choices``; ``None`` when nothing is close, or too many are equally close."""
    matches = close_matches(value, choices)
    if not matches or len(matches) > 2 or matches == [value]:
        return None
    return "did you mean " + " or ".join(repr(m) for m in matches) + "?"


def one_of(choices: Iterable[str], limit: int = 12) -> str:
    items = sorted(set(choices))
    shown = ", ".join(items[:limit])
    if len(items) > limit:
        shown += f", ... ({len(items) - limit} more)"
    return shown
