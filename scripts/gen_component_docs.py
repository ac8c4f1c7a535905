"""Regenerate docs/components.md from the component sources: python scripts/gen_component_docs.py"""

from pathlib import Path

from mlops_stack.component_reference import render

target = Path(__file__).resolve().parents[1] / "docs" / "components.md"
target.write_text(render(), encoding="utf-8")
print(f"wrote {target}")
