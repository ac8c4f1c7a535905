"""docs/components.md: every component of every installed target, its args and outputs.

Read from the source with ``ast`` (never imported), so rendering needs no provider SDK:
for each target and each kind it offers, the class's type token, the first line of its
docstring, its args class, its annotated outputs (the common contract first, then the
target's own, marked "extra") and the key child resources it exposes (``CHILDREN``). ``scripts/gen_component_docs.py`` writes the file and
``tests/test_component_docs.py`` fails when it drifts.
"""

from __future__ import annotations

import ast
import importlib.util
from pathlib import Path

from mlops_stack import targets
from mlops_stack.contracts import COMMON_OUTPUTS, KIND_MODULES


def _source(module: str) -> ast.Module:
    spec = importlib.util.find_spec(module)
    if spec is None or spec.origin is None:
        raise FileNotFoundError(module)
    return ast.parse(Path(spec.origin).read_text(encoding="utf-8"))


def _class(tree: ast.Module, name: str) -> ast.ClassDef | None:
    return next((n for n in tree.body if isinstance(n, ast.ClassDef) and n.name == name), None)


def _doc(node: ast.ClassDef) -> str:
    text = ast.get_docstring(node) or ""
    return " ".join(text.split("\n\n", 1)[0].split())


def _fields(node: ast.ClassDef) -> list[tuple[str, str, str | None]]:
    """(name, annotation, default) of the class-level annotated attributes."""
    out = []
    for stmt in node.body:
        if isinstance(stmt, ast.AnnAssign) and isinstance(stmt.target, ast.Name) and not stmt.target.id.startswith("_"):
            if "ClassVar" in ast.unparse(stmt.annotation):
                continue
            out.append((stmt.target.id, ast.unparse(stmt.annotation), ast.unparse(stmt.value) if stmt.value is not None else None))
    return out


def _children(node: ast.ClassDef) -> tuple[str, ...]:
    """The class's ``CHILDREN``: the key child resources it exposes as attributes."""
    for stmt in node.body:
        target = stmt.targets[0] if isinstance(stmt, ast.Assign) and len(stmt.targets) == 1 else getattr(stmt, "target", None)
        if isinstance(target, ast.Name) and target.id == "CHILDREN" and isinstance(getattr(stmt, "value", None), ast.Tuple):
            return tuple(e.value for e in stmt.value.elts if isinstance(e, ast.Constant) and isinstance(e.value, str))
    return ()


def _type_token(node: ast.ClassDef) -> str:
    for call in ast.walk(node):
        if (isinstance(call, ast.Call) and isinstance(call.func, ast.Attribute) and call.func.attr == "__init__"
                and call.args and isinstance(call.args[0], ast.Constant) and isinstance(call.args[0].value, str)):
            return call.args[0].value
    return ""


def _args_class(node: ast.ClassDef) -> str:
    init = next((n for n in node.body if isinstance(n, ast.FunctionDef) and n.name == "__init__"), None)
    if init is None:
        return ""
    arg = next((a for a in init.args.args if a.arg == "args"), None)
    return ast.unparse(arg.annotation) if arg is not None and arg.annotation is not None else ""


def _cell(text: str) -> str:
    return text.replace("|", "\\|")


def render() -> str:
    lines = [
        "# Components",
        "",
        "Generated from the source by `scripts/gen_component_docs.py`; do not edit.",
        "Every component is a `pulumi.ComponentResource` with the constructor `(name, args, opts=None)`.",
        "Outputs of the common contract (ARCHITECTURE.md) come first; *extra* marks a target's own.",
        "",
    ]
    args_used: list[str] = []
    for kind in KIND_MODULES:
        lines += [f"## {kind}", ""]
        common = COMMON_OUTPUTS.get(kind, ())
        lines.append("Common outputs: " + (", ".join(f"`{o}`" for o in common) if common else "none (each target documents its own)") + ".")
        lines.append("")
        for t in targets.all():
            if not t.offers(kind) or t.capabilities is not None:
                continue
            module = f"{t.package}.{KIND_MODULES[kind]}"
            node = _class(_source(module), kind)
            if node is None:
                continue
            args_cls = _args_class(node)  # ``KubernetesClusterArgs[AwsSpec]``: parametrised by the target's options
            base = args_cls.split("[", 1)[0]
            if base and base not in args_used:
                args_used.append(base)
            lines += [f"### {t.display_name}: `{module}.{kind}`", "", _doc(node) or "(no docstring)", ""]
            lines += [f"- type token: `{_type_token(node)}`", f"- args: `{args_cls}`", ""]
            fields = _fields(node)
            by_name = {n: a for n, a, _ in fields}
            lines += ["| output | type | |", "| --- | --- | --- |"]
            lines += [f"| `{o}` | `{_cell(by_name.get(o, '?'))}` | |" for o in common]
            children = _children(node)
            lines += [f"| `{n}` | `{_cell(a)}` | extra |" for n, a, _ in fields if n not in common and n not in children]
            if children:
                lines += ["", "Child resources (attributes, for wiring what the stack does not):", ""]
                lines += ["| attribute | resource |", "| --- | --- |"]
                lines += [f"| `{n}` | `{_cell(by_name.get(n, '?'))}` |" for n in children]
            lines.append("")
    args_tree = _source("mlops_stack.args")
    lines += ["## Args", "", "Keyword-only frozen dataclasses in `mlops_stack.args` (also exported by `mlops_stack`).", ""]
    for name in args_used:
        node = _class(args_tree, name)
        if node is None:
            continue
        lines += [f"### `{name}`", "", _doc(node) or "(no docstring)", "", "| field | type | default |", "| --- | --- | --- |"]
        lines += [f"| `{n}` | `{_cell(a)}` | {'`' + _cell(d) + '`' if d is not None else '**required**'} |" for n, a, d in _fields(node)]
        lines.append("")
    return "\n".join(lines).rstrip() + "\n"
