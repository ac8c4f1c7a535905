"""docs/policies.md is exactly what scripts/gen_policy_docs.py generates."""

from __future__ import annotations

import importlib.util
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def _generator():
    spec = importlib.util.spec_from_file_location("gen_policy_docs", ROOT / "scripts" / "gen_policy_docs.py")
    mod = importlib.util.module_from_spec(spec)
    assert spec.loader is not None
    spec.loader.exec_module(mod)
    return mod


def test_policy_docs_are_current() -> None:
    gen = _generator()
    current = (ROOT / "docs" / "policies.md").read_text(encoding="utf-8")
    assert current == gen.render(), "docs/policies.md is stale: run python scripts/gen_policy_docs.py"


def test_every_rule_is_documented_with_benchmarks() -> None:
    gen = _generator()
    text = gen.render()
    for rule in gen.RULES:
        assert f"### {rule.name}" in text
        assert rule.benchmarks, f"{rule.name} cites no benchmark"
        assert rule.severity in ("low", "medium", "high", "critical")
        assert rule.enforcement in ("advisory", "mandatory", "remediate", "disabled")
        assert rule.remediation
