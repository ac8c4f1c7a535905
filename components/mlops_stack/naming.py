"""Pulumi's autonaming and the one-line error for a name a provider would refuse.

Pulumi names a resource whose name input is left out ``<logical name>-<7 hex>``
(pulumi-terraform-bridge ``info.AutoName``: separator ``-``, ``Randlen: 7``; the random
part comes from ``resource.NewUniqueName``) and refuses, never cuts, a name whose prefix
plus the 7 characters is longer than the property's maximum ("name '<prefix>' plus 7
random chars is longer than maximum length N"). The offline engine applies the same rule
to every type its targets list (``AUTONAMES`` in each target's ``mocks.py``); a target's
checks use ``check_autoname`` to refuse such a name up front, before anything is
registered, where the logical name follows from the spec. Both say the same line.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from mlops_stack.errors import ConfigError

AUTONAME_RANDLEN = 7
AUTONAME_SEPARATOR = "-"


def too_long(
    keys: Sequence[tuple[str, Any]],
    type_: str,
    name: str,
    max_length: int,
    *,
    auto: bool,
    what: str = "name",
    source: str = "",
    randlen: int = AUTONAME_RANDLEN,
) -> ConfigError:
    """The ``ConfigError`` for ``name`` (an autoname's prefix when ``auto``) over
    ``max_length``: on the longest spec key that made it (``keys``: (path, value), longest
    value first), naming every key in the hint."""
    path, value = keys[0]
    limit = f"the limit is {max_length}" + (f" ({source})" if source else "")
    if auto:
        reason = f"makes the {type_} {what} {name!r} {len(name)} characters long; Pulumi adds {randlen} random characters and {limit}"
        over = len(name) + randlen - max_length
    else:
        reason = f"makes the {type_} {what} {name!r} {len(name)} characters long; {limit}"
        over = len(name) - max_length
    names = " or ".join(k for k, _ in keys)
    return ConfigError(path, reason, f"shorten {names} by {over} character{'s' if over != 1 else ''}", value=value)


def check_autoname(
    keys: Sequence[tuple[str, Any]], type_: str, logical: str, max_length: int, *, what: str = "name", source: str = "", lower: bool = False
) -> None:
    """Raise ``too_long`` unless the autoname of ``logical`` fits ``max_length``."""
    prefix = (logical.lower() if lower else logical) + AUTONAME_SEPARATOR
    if len(prefix) + AUTONAME_RANDLEN > max_length:
        ordered = sorted(keys, key=lambda kv: -len(str(kv[1])))
        raise too_long(ordered, type_, prefix, max_length, auto=True, what=what, source=source)
