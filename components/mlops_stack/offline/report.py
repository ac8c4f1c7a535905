"""Rendering a plan for people: the resource tree, counts per type, policy findings by
severity, the cost table and the clouds side by side."""

from __future__ import annotations

from collections import Counter
from typing import Any

from rich.console import Console
from rich.table import Table
from rich.tree import Tree

SEVERITY_ORDER = ("critical", "high", "medium", "low")


def resource_tree(doc: dict[str, Any]) -> Tree:
    """Component -> children, each line ``type  name`` (protected resources marked)."""
    custom = sum(1 for r in doc["resources"] if r["custom"])
    root = Tree(f"[bold]{doc['project']}[/] / [bold]{doc['stack']}[/] ({doc.get('cloud') or '?'}): {custom} resources")
    nodes: dict[str | None, Tree] = {None: root}
    for r in doc["resources"]:
        parent = nodes.get(r["parent"], root)
        flags = [f for f, on in (("protected", r.get("protect")), ("retained", r.get("retainOnDelete"))) if on]
        suffix = f" [dim]({', '.join(flags)})[/]" if flags else ""
        label = f"{r['type']}  {r['name']}{suffix}"
        nodes[r["urn"]] = parent.add(f"[cyan]{label}[/]" if not r["custom"] else label)
    return root


def type_counts_table(doc: dict[str, Any]) -> Table:
    counts = Counter(r["type"] for r in doc["resources"] if r["custom"])
    table = Table(title="resources per type")
    table.add_column("type")
    table.add_column("count", justify="right")
    for type_, n in sorted(counts.items()):
        table.add_row(type_, str(n))
    table.add_row("[bold]total[/]", f"[bold]{sum(counts.values())}[/]")
    return table


def print_violations(doc: dict[str, Any], console: Console) -> None:
    vs = (doc.get("policy") or {}).get("violations") or []
    mandatory = sum(1 for v in vs if v["level"] == "mandatory")
    console.print(f"[bold]policy[/] {doc['stack']}: {mandatory} mandatory, {len(vs) - mandatory} advisory")
    if not vs:
        return
    table = Table()
    for col in ("severity", "level", "policy", "resource", "message"):
        table.add_column(col)
    key = {s: i for i, s in enumerate(SEVERITY_ORDER)}
    for v in sorted(vs, key=lambda v: (key.get(v["severity"], 9), v["level"] != "mandatory", v["policy"])):
        style = "red" if v["level"] == "mandatory" else "yellow"
        table.add_row(v["severity"], f"[{style}]{v['level']}[/]", v["policy"], v["urn"].rsplit("::", 1)[-1], v["message"])
    console.print(table)


def cost_table(cost: dict[str, Any]) -> Table:
    table = Table(title=f"monthly cost estimate ({cost['currency']}, on-demand list prices; {cost['hoursPerMonth']} h/month)")
    for col in ("component", "item", "min", "max", "source"):
        table.add_column(col, justify="right" if col in ("min", "max") else "left")
    for i in cost["items"]:
        table.add_row(i["component"], i["item"], f"{i['monthlyMin']:,.2f}", f"{i['monthlyMax']:,.2f}", f"{i['source']} ({i['retrieved']}, {i['verified']})")
    for u in cost["unpriced"]:
        table.add_row(u["component"], u["item"], "unpriced", "unpriced", u["reason"])
    table.add_row("[bold]total[/]", "", f"[bold]{cost['monthlyMin']:,.2f}[/]", f"[bold]{cost['monthlyMax']:,.2f}[/]", "")
    return table


def compare_table(rows: list[dict[str, Any]]) -> Table:
    table = Table(title="the same spec on every cloud")
    table.add_column("")
    for r in rows:
        table.add_column(r["cloud"])
    capabilities = sorted({k for r in rows for k in r.get("capabilities", {})})
    instances = sorted({k for r in rows for k in r.get("instances", {})})
    table.add_row("region", *[str(r.get("region", "")) for r in rows])
    table.add_row("resources", *[str(r.get("resources", "-")) for r in rows])
    for c in capabilities:
        table.add_row(f"  {c}", *[str(r.get("capabilities", {}).get(c, "-")) for r in rows])
    for i in instances:
        table.add_row(i, *[str(r.get("instances", {}).get(i, "-")) for r in rows])
    table.add_row("monthly at pool minimum", *[f"{r['monthlyMin']:,.0f}" if "monthlyMin" in r else "-" for r in rows])
    table.add_row("monthly at pool maximum", *[f"{r['monthlyMax']:,.0f}" if "monthlyMax" in r else "-" for r in rows])
    table.add_row(
        "policy",
        *[f"{r['policy']['mandatory']} mandatory, {r['policy']['advisory']} advisory" if "policy" in r else "-" for r in rows],
    )
    table.add_row("error", *[r.get("error", "") for r in rows])
    return table


def print_text(doc: dict[str, Any], console: Console) -> None:
    console.print(resource_tree(doc))
    console.print(type_counts_table(doc))
    if "policy" in doc:
        print_violations(doc, console)
    if doc.get("cost"):
        console.print(cost_table(doc["cost"]))
    if doc.get("compare"):
        console.print(compare_table(doc["compare"]))
