"""IAM policy-document helpers (AWS JSON policy language)."""

from __future__ import annotations

from typing import Any

from ..values import UNKNOWN, as_list, parse_json_document


def statements(document: Any) -> Any:
    """The statements of a policy document (string or dict); UNKNOWN if not knowable."""
    doc = parse_json_document(document)
    if doc is UNKNOWN:
        return UNKNOWN
    if not isinstance(doc, dict):
        return []
    stmts = as_list(doc.get("Statement"))
    if stmts is UNKNOWN:
        return UNKNOWN
    return [s for s in stmts if isinstance(s, dict) or s is UNKNOWN]


def _is_star(values: Any) -> Any:
    vals = as_list(values)
    if vals is UNKNOWN:
        return UNKNOWN
    if any(v == "*" for v in vals):
        return True
    if any(v is UNKNOWN for v in vals):
        return UNKNOWN
    return False


def _allow_statements(document: Any, *, unconditioned: bool = False) -> list[tuple[Any, dict[str, Any]]]:
    """``(label, statement)`` of each known Allow statement (only those without a Condition
    when ``unconditioned``); the label is the statement's Sid, else its index. Empty when the
    statements are not knowable."""
    stmts = statements(document)
    if stmts is UNKNOWN:
        return []
    return [
        (s.get("Sid") or i, s)
        for i, s in enumerate(stmts)
        if s is not UNKNOWN and s.get("Effect") == "Allow" and not (unconditioned and s.get("Condition"))
    ]


def admin_wildcard_statements(document: Any) -> list[str]:
    """Descriptions of Allow statements granting Action '*' (or '*:*') on Resource '*'."""
    found: list[str] = []
    for label, s in _allow_statements(document):
        actions = as_list(s.get("Action"))
        if actions is UNKNOWN:
            continue
        star_action = any(a in ("*", "*:*") for a in actions)
        star_resource = _is_star(s.get("Resource"))
        if star_action and star_resource is True:
            found.append(f"statement {label} allows Action '*' on Resource '*'")
        if s.get("NotAction") is not None and star_resource is True:
            found.append(f"statement {label} allows everything but NotAction on Resource '*'")
    return found


def public_principal_statements(document: Any) -> list[str]:
    """Allow statements whose principal is everyone ('*') without a narrowing Condition."""
    found: list[str] = []
    for label, s in _allow_statements(document, unconditioned=True):
        principal = s.get("Principal")
        if principal is UNKNOWN:
            continue
        everyone = principal == "*" or (
            isinstance(principal, dict) and any(v == "*" or (isinstance(v, list) and "*" in v) for v in principal.values())
        )
        if everyone:
            found.append(f"statement {label} allows Principal '*'")
    return found


def denies_insecure_transport(document: Any) -> Any:
    """True if a Deny statement covers every principal when aws:SecureTransport is false."""
    stmts = statements(document)
    if stmts is UNKNOWN:
        return UNKNOWN
    for s in stmts:
        if s is UNKNOWN or s.get("Effect") != "Deny":
            continue
        cond = s.get("Condition")
        if not isinstance(cond, dict):
            continue
        bool_cond = cond.get("Bool") or cond.get("BoolIfExists")
        if not isinstance(bool_cond, dict):
            continue
        val = bool_cond.get("aws:SecureTransport")
        if val is UNKNOWN:
            return UNKNOWN
        vals = as_list(val)
        if not any(str(v).lower() == "false" for v in vals):
            continue
        principal = s.get("Principal")
        if principal == "*" or (isinstance(principal, dict) and principal.get("AWS") in ("*", ["*"])):
            actions = as_list(s.get("Action"))
            if actions is not UNKNOWN and any(a in ("*", "s3:*") for a in actions):
                return True
    return False


#: EC2 network-interface actions that let a principal place interfaces in a network.
ENI_WRITE_ACTIONS = frozenset(
    a.lower()
    for a in (
        "ec2:CreateNetworkInterface",
        "ec2:CreateNetworkInterfacePermission",
        "ec2:DeleteNetworkInterface",
        "ec2:DeleteNetworkInterfacePermission",
    )
)


def unscoped_eni_statements(document: Any) -> list[str]:
    """Allow statements granting network-interface writes on Resource '*' with no Condition."""
    found: list[str] = []
    for label, s in _allow_statements(document, unconditioned=True):
        actions = as_list(s.get("Action"))
        if actions is UNKNOWN:
            continue
        hits = sorted(
            a for a in actions if isinstance(a, str) and (a.lower() in ENI_WRITE_ACTIONS or a in ("*", "ec2:*", "ec2:*NetworkInterface*"))
        )
        if hits and _is_star(s.get("Resource")) is True:
            found.append(f"statement {label} allows {', '.join(hits)} on Resource '*' without a condition")
    return found
