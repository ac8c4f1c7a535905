"""Plain values for rules: proxies unwrapped, unknowns made explicit.

The pulumi-policy SDK hands a policy its resource properties wrapped in proxies that
raise ``UnknownValueError`` as soon as an unknown value (a value only known after
``pulumi up``) is read; the SDK then turns that into an advisory "can't run policy
during preview" diagnostic. Rules here never see those proxies: ``unwrap`` turns the
properties into plain dicts and lists and every unknown into the :data:`UNKNOWN`
singleton, and the helpers below treat ``UNKNOWN`` as "cannot decide" so a rule skips
instead of reporting a false violation or crashing.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

# The SDK's unknown sentinels (pulumi_policy/proxy.py), copied so the rules stay importable
# and unit-testable without the SDK; a test checks they match the installed SDK.
UNKNOWN_SENTINELS = frozenset(
    {
        "1c4a061d-8072-4f0a-a4cb-0ff528b18fe7",  # boolean
        "3eeb2bf0-c639-47a8-9e75-3b44932eb421",  # number
        "04da6b54-80e4-46f7-96ec-b56ff0331ba9",  # string
        "6a19a0b0-7e62-4c92-b797-7f8e31da9cc2",  # array
        "030794c1-ac77-496b-92df-f27374a8bd58",  # asset
        "e48ece36-62e2-4504-bad9-02848725956a",  # archive
        "dd056dcd-154b-4c76-9bd3-c8f88648b5ff",  # object
    }
)
#: How the offline engine writes an unknown value into a plan.
OFFLINE_UNKNOWN = "[unknown]"


class _Unknown:
    """A value that is not known until the update runs (the preview cannot see it)."""

    _instance: _Unknown | None = None

    def __new__(cls) -> _Unknown:
        if cls._instance is None:
            cls._instance = super().__new__(cls)
        return cls._instance

    def __repr__(self) -> str:
        return "UNKNOWN"

    def __bool__(self) -> bool:
        # "Something will be there": `if not value: <report missing>` never fires on an unknown,
        # and `value or {}` keeps the UNKNOWN for get() to propagate.
        return True


UNKNOWN: Any = _Unknown()


def is_unknown(value: Any) -> bool:
    return value is UNKNOWN


def unwrap(value: Any) -> Any:
    """Deep-copy ``value`` into plain dicts/lists, unknown sentinels -> ``UNKNOWN``.

    Accepts the SDK's ``_DictProxy``/``_ListProxy`` (reads their raw target through the
    documented ``"__target"`` key, which never raises) as well as plain data.
    """
    if isinstance(value, str):
        return UNKNOWN if (value in UNKNOWN_SENTINELS or value == OFFLINE_UNKNOWN) else value
    if isinstance(value, Mapping):
        target = _target(value)
        return {str(k): unwrap(v) for k, v in target.items()}
    if isinstance(value, Sequence) and not isinstance(value, (bytes, bytearray)):
        target = _target(value)
        return [unwrap(v) for v in target]
    return value


def _target(value: Any) -> Any:
    cls = type(value).__name__
    if cls in ("_DictProxy", "_ListProxy", "_DictSecretsProxy", "_ListSecretsProxy"):
        return value["__target"]
    return value


def get(obj: Any, *path: str | int, default: Any = None) -> Any:
    """``obj[p0][p1]...``; ``UNKNOWN`` if any step is unknown; ``default`` if missing."""
    cur = obj
    for p in path:
        if cur is UNKNOWN:
            return UNKNOWN
        if isinstance(p, int):
            if not isinstance(cur, list) or p >= len(cur) or p < -len(cur):
                return default
            cur = cur[p]
        else:
            if not isinstance(cur, dict) or p not in cur:
                return default
            cur = cur[p]
    return cur


def as_list(value: Any) -> Any:
    """A list for list-or-scalar values; ``UNKNOWN`` stays ``UNKNOWN``; ``None`` -> []."""
    if value is UNKNOWN:
        return UNKNOWN
    if value is None:
        return []
    if isinstance(value, list):
        return value
    return [value]


def contains_unknown(value: Any) -> bool:
    if value is UNKNOWN:
        return True
    if isinstance(value, dict):
        return any(contains_unknown(v) for v in value.values())
    if isinstance(value, list):
        return any(contains_unknown(v) for v in value)
    return False


def parse_json_document(value: Any) -> Any:
    """A policy document given as a JSON string or a dict; ``UNKNOWN`` if not knowable."""
    if value is UNKNOWN or value is None:
        return value
    if isinstance(value, dict):
        return value
    if isinstance(value, str):
        try:
            return unwrap(json.loads(value))
        except ValueError:
            return UNKNOWN  # interpolated / templated: cannot judge it
    return UNKNOWN


def truthy(value: Any) -> bool | None:
    """True/False for known booleans (and "true"/"false" strings); None if unknown."""
    if value is UNKNOWN:
        return None
    if isinstance(value, str):
        if value.lower() in ("true", "enabled", "yes"):
            return True
        if value.lower() in ("false", "disabled", "no", ""):
            return False
        return None
    return bool(value)


def to_int(value: Any) -> int | None:
    """An int for known numbers (and numeric strings); None if unknown or missing."""
    if value is UNKNOWN or value is None or isinstance(value, bool):
        return None
    if isinstance(value, (int, float)):
        return int(value)
    if isinstance(value, str):
        try:
            return int(float(value))
        except ValueError:
            return None
    return None


def strings(values: Iterable[Any]) -> list[str]:
    return [v for v in values if isinstance(v, str)]
