"""Mocked IDs are real-shaped, and everything the stacks derive from them fits its limit.

Issue 27: a mock that invents an ID the API never returns (a 10-digit Vertex endpoint ID)
hides a derived value that a real apply refuses (a 66-character DNS label). This walks
every example plan, the inputs the program sent and the outputs the mocks returned, and
checks (a) every name the targets' ``AUTONAMES`` list against its limit and Pulumi's
autoname shape, (b) every DNS name against RFC 1035 / 1123 (labels of at most 63
characters, names of at most 253), (c) every Kubernetes object name and label against the
API server's rules, and (d) the mocked IDs against their documented shapes
(``tests/fixtures/mock_id_shapes.csv``, each with its source).
"""

from __future__ import annotations

import csv
import importlib
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from badstacks import example_config, pulumi_config
from mlops_stack import targets
from mlops_stack.errors import ConfigError
from mlops_stack.offline.engine import Plan, Registration, run_program, short_hash
from mlops_stack.program import main as stack_program
from mlops_stack.spec import load_spec, raw_from_config_values
from planning import example_stacks, plan_example

FIXTURES = Path(__file__).parent / "fixtures"

#: A host name inside a string: two or more dot-separated labels ending in a public suffix
#: or a cluster-internal one the stacks use.
HOST = re.compile(
    r"(?<![\w.@-])((?:[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?\.)+"
    r"(?:com|net|io|goog|aws|ms|azure|local|internal|invalid|dev|cloud))(?![\w-])"
)

#: Kubernetes kinds whose names are DNS-1035 labels (Service) or DNS-1123 labels (Namespace):
#: at most 63 characters; every other object's name is a DNS-1123 subdomain (253).
LABEL_NAMED = {"Service", "Namespace"}


def _strings(node: Any) -> Iterator[str]:
    if isinstance(node, str):
        yield node
    elif isinstance(node, dict):
        for v in node.values():
            yield from _strings(v)
    elif isinstance(node, list):
        for v in node:
            yield from _strings(v)


def _autonames() -> dict[str, Any]:
    out: dict[str, Any] = {}
    for module in sorted(set(targets.mock_modules().values())):
        out.update(getattr(importlib.import_module(module), "AUTONAMES", {}))
    return out


def _accepted(cfg: dict[str, Any]) -> bool:
    try:
        targets.check(load_spec(raw_from_config_values(pulumi_config(cfg))))
    except ConfigError:
        return False
    return True


def _longest_names(stack: str) -> dict[str, Any]:
    """The example with the longest names its checks accept: a 16-character stack name, then
    each endpoint and GPU pool name as long as the spec and the target's checks let it be
    (everything derived from them is then at its longest)."""
    cfg = example_config(stack)
    cfg["mlops-stack:name"] = "abcdefghijklmnop"
    for i, ep in enumerate(cfg.get("mlops-stack:endpoints", [])):
        for n in range(32, 0, -1):
            ep["name"] = (f"e{i}" + "x" * 32)[:n]
            if _accepted(cfg):
                break
    pools = cfg["mlops-stack:cluster"].get("gpuPools", [])
    endpoints = cfg.get("mlops-stack:endpoints", [])
    for i, pool in enumerate(pools):
        for n in range(32, 0, -1):
            users = [ep for ep in endpoints if ep.get("gpuPool") == pool["name"]]
            pool["name"] = (f"p{i}" + "y" * 32)[:n]
            for ep in users:
                ep["gpuPool"] = pool["name"]
            if _accepted(cfg):
                break
    assert _accepted(cfg)
    return cfg


@pytest.fixture(scope="module", params=[*example_stacks(), "longest-names-dev-aws", "longest-names-dev-gcp", "longest-names-dev-azure"])
def plan(request: pytest.FixtureRequest) -> Plan:
    if request.param.startswith("longest-names-"):
        stack = request.param.removeprefix("longest-names-")
        return run_program(stack_program, stack=stack, config=pulumi_config(_longest_names(stack)))
    return plan_example(request.param)


def test_every_listed_name_fits_and_autonames_are_pulumis(plan: Plan) -> None:
    rules = _autonames()
    if not any(r.type in rules for r in plan.resources):
        pytest.skip("this target lists no AUTONAMES yet (docs/decisions.md, offline vs real)")
    checked = 0
    for r in plan.resources:
        rule = rules.get(r.type)
        if rule is None or not r.custom:
            continue
        name = r.outputs.get(rule.property)
        if not isinstance(name, str):
            continue
        checked += 1
        assert len(name) <= rule.max_length, (r.type, r.name, name)
        if rule.property not in r.inputs and not any(r.inputs.get(k) for k in rule.conflicts):
            logical = r.name.lower() if rule.lower else r.name
            assert name == f"{rule.prefix}{logical}{rule.separator}{short_hash(r.name, length=rule.randlen)}", (r.type, name)
    assert checked >= 10


def _hosts(r: Registration) -> Iterator[str]:
    for text in _strings([r.inputs, r.outputs]):
        for m in HOST.finditer(text):
            yield m.group(1)


def test_every_dns_name_the_stacks_build_fits_rfc_1035(plan: Plan) -> None:
    hosts = {(h, r.type) for r in plan.resources for h in _hosts(r)}
    hosts |= {(h, "output") for text in _strings(plan.outputs) for h in (m.group(1) for m in HOST.finditer(text))}
    assert len(hosts) >= 5
    for host, where in sorted(hosts):
        assert len(host) <= 253, (where, host)
        for label in host.split("."):
            assert 1 <= len(label) <= 63, (where, host, label, len(label))
            assert not label.startswith("-") and not label.endswith("-"), (where, host)


def test_every_kubernetes_name_and_label_fits(plan: Plan) -> None:
    for r in plan.resources:
        if not r.type.startswith("kubernetes:") or r.type.startswith("kubernetes:helm"):
            continue
        meta = r.outputs.get("metadata") or r.inputs.get("metadata") or {}
        name = meta.get("name")
        kind = r.type.rsplit(":", 1)[-1]
        if isinstance(name, str):
            limit = 63 if kind in LABEL_NAMED else 253
            assert len(name) <= limit and re.fullmatch(r"[a-z0-9]([-a-z0-9.]*[a-z0-9])?", name), (r.type, name)
        for key, value in (meta.get("labels") or {}).items():
            prefix, _, short = key.rpartition("/")
            assert len(short) <= 63 and len(prefix) <= 253, (r.type, key)
            assert isinstance(value, str) and len(value) <= 63, (r.type, key, value)
            assert value == "" or re.fullmatch(r"[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?", value), (r.type, key, value)


def _shapes() -> list[dict[str, str]]:
    with (FIXTURES / "mock_id_shapes.csv").open(encoding="utf-8") as f:
        return list(csv.DictReader(f))


def test_mocked_ids_have_their_documented_shape(plan: Plan) -> None:
    seen = 0
    for row in _shapes():
        for r in plan.of_type(row["type"]):
            value = r.id if row["field"] == "id" else _dig(r.outputs, row["field"])
            if value is None:
                continue
            seen += 1
            assert re.fullmatch(row["pattern"], str(value)), (row["type"], row["field"], value, row["source"])
    assert seen >= 3


def _dig(node: Any, path: str) -> Any:
    for part in path.split("."):
        if isinstance(node, list):
            node = node[int(part)] if part.isdigit() and int(part) < len(node) else None
        elif isinstance(node, dict):
            node = node.get(part)
        else:
            return None
    return node


def test_every_shape_row_names_its_source() -> None:
    rows = _shapes()
    assert len(rows) >= 20
    for row in rows:
        assert row["source"].strip() and re.compile(row["pattern"]), row
