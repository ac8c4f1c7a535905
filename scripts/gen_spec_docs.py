"""Regenerate docs/spec.md from the spec models: python scripts/gen_spec_docs.py"""

from pathlib import Path

from mlops_stack.spec_reference import render

target = Path(__file__).resolve().parents[1] / "docs" / "spec.md"
target.write_text(render(), encoding="utf-8")
print(f"wrote {target}")
