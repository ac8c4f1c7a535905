"""Generated docs stay in step with the code."""

from pathlib import Path

from mlops_stack.spec_reference import render

ROOT = Path(__file__).resolve().parents[1]


def test_spec_reference_is_current() -> None:
    current = (ROOT / "docs" / "spec.md").read_text(encoding="utf-8")
    assert current == render(), "docs/spec.md is stale: run python scripts/gen_spec_docs.py"


def test_every_spec_key_is_documented() -> None:
    text = render()
    assert "|  |" not in text, "a spec field has no description"
