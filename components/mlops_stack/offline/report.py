"""Rendering a plan for people: the resource tree and counts per type."""

from __future__ import annotations

from collections import Counter
from typing import Any

from rich.console import Console
from rich.table import Table
from rich.tree import Tree


def resource_tree(doc: dict[str, Any]) -> Tree:
    """Component -> children, each line ``type  name`` (protected resources marked)."""
    title = f"[bold]{doc['project']}[/] / [bold]{doc['stack']}[/] ({doc.get('cloud') or '?'}): {len(doc['resources'])} resources"
    root = Tree(title)
    nodes: dict[str | None, Tree] = {None: root}
    for r in doc["resources"]:
        parent = nodes.get(r["parent"], root)
        flags = []
        if r.get("protect"):
            flags.append("protected")
        if r.get("retainOnDelete"):
            flags.append("retained")
        suffix = f" [dim]({', '.join(flags)})[/]" if flags else ""
        style = "cyan" if not r["custom"] else ""
        label = f"[{style}]{r['type']}[/]  {r['name']}{suffix}" if style else f"{r['type']}  {r['name']}{suffix}"
        nodes[r["urn"]] = parent.add(label)
    return root


def type_counts_table(doc: dict[str, Any]) -> Table:
    counts = Counter(r["type"] for r in doc["resources"] if r["custom"])
    table = Table(title="resources per type", show_lines=False)
    table.add_column("type")
    table.add_column("count", justify="right")
    for type_, n in sorted(counts.items()):
        table.add_row(type_, str(n))
    table.add_row("[bold]total[/]", f"[bold]{sum(counts.values())}[/]")
    return table


def print_text(doc: dict[str, Any], console: Console) -> None:
    console.print(resource_tree(doc))
    console.print(type_counts_table(doc))
