"""Small evaluators for the storage grants the workload identities plan, to check them against
the calls real downloaders make (tests/fixtures/storage-downloads.json).

Clearly scoped, not general engines: each refuses (``Unsupported``) any construct outside
what the stack generates, so a new operator in a grant fails the test instead of being
guessed at.

- AWS: an identity policy of ``Allow`` statements only; ``Action``/``Resource`` with ``*``
  and ``?``; condition operators ``StringEquals``, ``StringLike`` (case-sensitive, ``*``/``?``)
  and ``Null``. Several values of one key: any matches; several keys and operators: all must
  hold; a key the request does not carry fails every operator but ``Null: true`` (IAM user
  guide, "IAM JSON policy elements: Condition operators", and "Condition keys that are not
  present in the request"). moto 5.2.5's evaluator (``moto.iam.access_control``) cannot be used:
  it knows ``StringEquals`` only and turns an Allow whose condition fails into an explicit deny.
- GCP: a CEL expression that ORs ``resource.name.startsWith("...")`` and
  ``api.getAttribute("storage.googleapis.com/objectListPrefix", "").startsWith("...")``, over a
  role's permissions.
- Azure: a role assignment condition (version 2.0) built from ``!``/``NOT``, ``AND``, ``OR``,
  parentheses, ``ActionMatches{'...'}``, ``SubOperationMatches{'...'}`` and ``StringEquals`` /
  ``StringStartsWith`` on ``@Resource[...]``/``@Request[...]`` attributes; an attribute the
  request lacks makes its comparison false.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any


class Unsupported(AssertionError):
    """The grant uses something these evaluators do not model."""


# ------------------------------------------------------------------------------ AWS IAM


def _glob(pattern: str, value: str) -> bool:
    regex = "".join(".*" if c == "*" else "." if c == "?" else re.escape(c) for c in pattern)
    return re.fullmatch(regex, value, flags=re.DOTALL) is not None


def _values(v: Any) -> list[str]:
    return [v] if isinstance(v, str) else list(v)


def _condition_holds(condition: dict[str, dict[str, Any]], context: dict[str, str]) -> bool:
    for op, keys in condition.items():
        for key, expected in keys.items():
            present = key in context
            if op == "Null":
                want_absent = {"true": True, "false": False}[str(expected).lower()]
                if present == want_absent:
                    return False
            elif op in ("StringEquals", "StringLike"):
                if not present:
                    return False
                match = (lambda p, v: p == v) if op == "StringEquals" else _glob
                if not any(match(p, context[key]) for p in _values(expected)):
                    return False
            else:
                raise Unsupported(f"condition operator {op}")
    return True


def iam_allows(policy: str | dict[str, Any], action: str, resource: str, context: dict[str, str] | None = None) -> bool:
    """Whether an identity policy of Allow statements allows ``action`` on ``resource``."""
    doc = json.loads(policy) if isinstance(policy, str) else policy
    statements = doc["Statement"] if isinstance(doc["Statement"], list) else [doc["Statement"]]
    allowed = False
    for s in statements:
        if s.get("Effect") != "Allow" or {"NotAction", "NotResource", "Principal"} & set(s):
            raise Unsupported(f"statement {s.get('Sid')}: only Allow with Action and Resource is modelled")
        if not any(_glob(a, action) for a in _values(s["Action"])):
            continue
        if not any(_glob(r, resource) for r in _values(s["Resource"])):
            continue
        if _condition_holds(s.get("Condition", {}), context or {}):
            allowed = True
    return allowed


# ------------------------------------------------------------------------------ GCP IAM conditions

#: Permissions of the Cloud Storage predefined roles that the grants use, for the calls the
#: downloaders make (Cloud IAM docs, "IAM roles for Cloud Storage", read 2026-12-08).
GCS_ROLE_PERMISSIONS = {
    "roles/storage.objectViewer": {"storage.objects.get", "storage.objects.list"},
    "roles/storage.objectUser": {"storage.objects.get", "storage.objects.list", "storage.objects.create", "storage.objects.delete", "storage.objects.update"},
}

_CEL_NAME = re.compile(r'resource\.name\.startsWith\(("(?:[^"\\]|\\.)*")\)')
_CEL_LIST = re.compile(r'api\.getAttribute\("storage\.googleapis\.com/objectListPrefix", ""\)\.startsWith\(("(?:[^"\\]|\\.)*")\)')


def cel_allows(role: str, expression: str, permission: str, resource_name: str, list_prefix: str | None = None) -> bool:
    """Whether a conditioned bucket binding of ``role`` allows ``permission`` on ``resource_name``
    (``projects/_/buckets/<b>`` for a listing, ``.../objects/<name>`` for an object)."""
    if permission not in GCS_ROLE_PERMISSIONS[role]:
        return False
    attribute = list_prefix if list_prefix is not None else ""
    for term in (t.strip() for t in expression.split("||")):
        if m := _CEL_NAME.fullmatch(term):
            if resource_name.startswith(json.loads(m.group(1))):
                return True
        elif m := _CEL_LIST.fullmatch(term):
            if attribute.startswith(json.loads(m.group(1))):
                return True
        else:
            raise Unsupported(f"CEL term {term!r}")
    return False


# ------------------------------------------------------------------------------ Azure ABAC

_BLOBS = "Microsoft.Storage/storageAccounts/blobServices/containers/blobs"
#: Data actions of the built-in roles the grants use (Azure built-in roles, Storage, read 2026-12-08).
AZURE_ROLE_DATA_ACTIONS = {
    "2a2b9908-6ea1-4ae2-8e65-a410df84e7d1": {f"{_BLOBS}/read"},  # Storage Blob Data Reader
    "ba92f5b4-2d11-453d-a403-e96b0029c9fe": {f"{_BLOBS}/read", f"{_BLOBS}/write", f"{_BLOBS}/delete", f"{_BLOBS}/add/action", f"{_BLOBS}/move/action"},
}


@dataclass
class BlobRequest:
    action: str
    container: str
    suboperation: str | None = None
    attributes: dict[str, str] = field(default_factory=dict)  # e.g. "@Request[...blobs:prefix]" -> value


_TOKEN = re.compile(
    r"\s*(?:(?P<lp>\()|(?P<rp>\))|(?P<not>!|NOT\b)|(?P<and>AND\b)|(?P<or>OR\b)"
    r"|(?P<fn>ActionMatches|SubOperationMatches)\{'(?P<fnarg>[^']*)'\}"
    r"|(?P<attr>@(?:Resource|Request)\[[^\]]+\])\s+(?P<op>StringEquals|StringStartsWith)\s+'(?P<val>[^']*)')"
)


def _tokens(text: str) -> list[re.Match[str]]:
    out, pos = [], 0
    while pos < len(text.rstrip()):
        m = _TOKEN.match(text, pos)
        if m is None:
            raise Unsupported(f"condition text at {text[pos:pos + 40]!r}")
        out.append(m)
        pos = m.end()
    return out


def abac_allows(role_guid: str, container_scope: str, condition: str, request: BlobRequest) -> bool:
    """Whether a role assignment (role, container scope, condition) allows ``request``."""
    if request.action not in AZURE_ROLE_DATA_ACTIONS[role_guid] or not container_scope.endswith(f"/containers/{request.container}"):
        return False
    attrs = {"@Resource[Microsoft.Storage/storageAccounts/blobServices/containers:name]": request.container, **request.attributes}
    toks, i = _tokens(condition), 0

    def peek(kind: str) -> bool:
        return i < len(toks) and toks[i].group(kind) is not None

    def expr() -> bool:
        nonlocal i
        value = term()
        while peek("or"):
            i += 1
            value = term() or value
        return value

    def term() -> bool:
        nonlocal i
        value = factor()
        while peek("and"):
            i += 1
            value = factor() and value
        return value

    def factor() -> bool:
        nonlocal i
        t = toks[i]
        i += 1
        if t.group("not"):
            return not factor()
        if t.group("lp"):
            value = expr()
            if not peek("rp"):
                raise Unsupported("unbalanced parentheses")
            i += 1
            return value
        if t.group("fn") == "ActionMatches":
            return request.action == t.group("fnarg")
        if t.group("fn") == "SubOperationMatches":
            return request.suboperation == t.group("fnarg")
        if t.group("attr"):
            actual = attrs.get(t.group("attr"))
            if actual is None:
                return False
            return actual == t.group("val") if t.group("op") == "StringEquals" else actual.startswith(t.group("val"))
        raise Unsupported(f"token {t.group(0)!r}")

    value = expr()
    if i != len(toks):
        raise Unsupported("trailing condition text")
    return value
