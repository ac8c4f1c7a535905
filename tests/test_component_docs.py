"""docs/components.md is generated from the sources and covers every target x kind."""

from __future__ import annotations

from pathlib import Path

from mlops_stack import component_reference, targets
from mlops_stack.contracts import COMMON_OUTPUTS, KIND_MODULES

ROOT = Path(__file__).resolve().parents[1]


def test_components_md_is_current() -> None:
    text = (ROOT / "docs" / "components.md").read_text(encoding="utf-8")
    assert text == component_reference.render(), "run python scripts/gen_component_docs.py"


def test_every_target_and_kind_is_documented_with_its_type_token() -> None:
    text = (ROOT / "docs" / "components.md").read_text(encoding="utf-8")
    for t in targets.all():
        for kind in t.kinds():
            assert f"### {t.display_name}: `{t.package}.{KIND_MODULES[kind]}.{kind}`" in text
            assert f"- type token: `mlops:{t.name}:{kind}`" in text


def test_every_class_declares_the_common_outputs_of_its_kind() -> None:
    for t in targets.all():
        for kind in t.kinds():
            node = component_reference._class(component_reference._source(f"{t.package}.{KIND_MODULES[kind]}"), kind)
            assert node is not None, (t.name, kind)
            declared = {n for n, _, _ in component_reference._fields(node)}
            assert set(COMMON_OUTPUTS[kind]) <= declared, (t.name, kind, set(COMMON_OUTPUTS[kind]) - declared)
