"""Plan results as Markdown (a PR comment) and SARIF 2.1.0 (code-scanning upload)."""

from __future__ import annotations

from typing import Any

from mlops_stack import __version__

SARIF_SCHEMA = "https://json.schemastore.org/sarif-2.1.0.json"
SEVERITY_RANK = {"critical": 0, "high": 1, "medium": 2, "low": 3}


def _money(x: float) -> str:
    return f"${x:,.0f}"


def _violations(doc: dict[str, Any]) -> list[dict[str, Any]]:
    return list((doc.get("policy") or {}).get("violations") or [])


def summary_line(results: list[dict[str, Any]]) -> str:
    """The first line of the Markdown: what a reviewer needs before expanding anything."""
    docs = [r["doc"] for r in results if "doc" in r]
    errors = [r for r in results if "error" in r]
    resources = sum(sum(1 for x in d["resources"] if x["custom"]) for d in docs)
    mandatory = sum(1 for d in docs for v in _violations(d) if v["level"] == "mandatory")
    advisory = sum(1 for d in docs for v in _violations(d) if v["level"] == "advisory")
    costs = [d["cost"] for d in docs if d.get("cost")]
    parts = [f"{len(results)} stack{'s' if len(results) != 1 else ''}", f"{resources} resources"]
    if any("policy" in d for d in docs):
        parts.append(f"{mandatory} mandatory / {advisory} advisory policy violations")
    if costs:
        parts.append(f"est. {_money(sum(c['monthlyMin'] for c in costs))}–{_money(sum(c['monthlyMax'] for c in costs))}/month")
    if errors:
        parts.append(f"{len(errors)} spec error{'s' if len(errors) != 1 else ''}")
    status = "❌" if mandatory or errors else "✅"
    return f"{status} **mlops-stack plan**: " + ", ".join(parts)


def markdown(results: list[dict[str, Any]]) -> str:
    lines = [summary_line(results), ""]
    for r in results:
        if "error" in r:
            lines += [f"### `{r['path']}`", "", f"Spec error: `{r['error']}`", ""]
            continue
        d = r["doc"]
        custom = [x for x in d["resources"] if x["custom"]]
        vs = sorted(_violations(d), key=lambda v: (v["level"] != "mandatory", SEVERITY_RANK.get(v["severity"], 9), v["policy"]))
        head = f"### {d['stack']} ({d['cloud']}): {len(custom)} resources"
        if "policy" in d:
            m = sum(1 for v in vs if v["level"] == "mandatory")
            head += f", {m} mandatory violation{'s' if m != 1 else ''}"
        if d.get("cost"):
            head += f", {_money(d['cost']['monthlyMin'])}–{_money(d['cost']['monthlyMax'])}/month"
        lines += [head, ""]
        if vs:
            lines += ["| level | severity | policy | resource | message |", "| --- | --- | --- | --- | --- |"]
            for v in vs:
                name = v["urn"].rsplit("::", 1)[-1]
                msg = v["message"].replace("|", "\\|").replace("\n", " ")
                lines.append(f"| {v['level']} | {v['severity']} | `{v['policy']}` | `{name}` | {msg} |")
            lines.append("")
        counts: dict[str, int] = {}
        for x in custom:
            counts[x["type"]] = counts.get(x["type"], 0) + 1
        lines += ["<details><summary>Resources per type</summary>", "", "| type | count |", "| --- | --- |"]
        lines += [f"| `{t}` | {n} |" for t, n in sorted(counts.items())]
        lines += ["", "</details>", ""]
        if d.get("cost"):
            c = d["cost"]
            lines += ["<details><summary>Cost estimate (monthly, USD, on-demand list prices)</summary>", ""]
            lines += ["| component | item | min | max | source |", "| --- | --- | --- | --- | --- |"]
            for i in c["items"]:
                lines.append(f"| {i['component']} | {i['item']} | {_money(i['monthlyMin'])} | {_money(i['monthlyMax'])} | {i['source']} ({i['retrieved']}, {i['verified']}) |")
            for u in c["unpriced"]:
                lines.append(f"| {u['component']} | {u['item']} | unpriced | unpriced | {u['reason']} |")
            lines += ["", "</details>", ""]
        if d.get("compare"):
            lines += compare_markdown(d["compare"])
    return "\n".join(lines).rstrip() + "\n"


def compare_markdown(rows: list[dict[str, Any]]) -> list[str]:
    clouds = [r["cloud"] for r in rows]
    out = ["<details><summary>Same spec on every cloud</summary>", "", "| | " + " | ".join(clouds) + " |", "|---" * (len(clouds) + 1) + "|"]
    for label, key in (("region", "region"), ("resources", "resources"), ("monthly at pool minimum", "monthlyMin"), ("monthly at pool maximum", "monthlyMax")):
        cells = []
        for r in rows:
            v = r.get(key, r.get("error", "")) if "error" not in r else ("" if key != "region" else r.get("region", ""))
            cells.append(_money(v) if key.startswith("monthly") and isinstance(v, (int, float)) else str(v))
        out.append(f"| {label} | " + " | ".join(cells) + " |")
    out.append("| policy | " + " | ".join(_policy_cell(r) for r in rows) + " |")
    out.append("| error | " + " | ".join(r.get("error", "").replace("|", "\\|") for r in rows) + " |")
    out += ["", "</details>", ""]
    return out


def _policy_cell(row: dict[str, Any]) -> str:
    p = row.get("policy")
    if not p:
        return ""
    return f"{p['mandatory']} mandatory, {p['advisory']} advisory"


def sarif(results: list[dict[str, Any]]) -> dict[str, Any]:
    """Policy findings as one SARIF 2.1.0 run; each result points at the stack file."""
    rules: dict[str, dict[str, Any]] = {}
    out: list[dict[str, Any]] = []
    for r in results:
        if "doc" not in r:
            continue
        d = r["doc"]
        for v in _violations(d):
            rule = rules.setdefault(
                v["policy"],
                {
                    "id": v["policy"],
                    "name": v["policy"],
                    "shortDescription": {"text": v["policy"]},
                    "properties": {"severity": v["severity"]},
                },
            )
            rule["properties"]["severity"] = v["severity"]
            out.append(
                {
                    "ruleId": v["policy"],
                    "level": "error" if v["level"] == "mandatory" else "warning",
                    "message": {"text": v["message"]},
                    "locations": [
                        {
                            "physicalLocation": {"artifactLocation": {"uri": r["path"]}},
                            "logicalLocations": [{"fullyQualifiedName": v["urn"], "kind": "resource"}],
                        }
                    ],
                    "properties": {"stack": d["stack"], "severity": v["severity"], "enforcementLevel": v["level"]},
                }
            )
    ordered = sorted(rules.values(), key=lambda x: x["id"])
    return {
        "$schema": SARIF_SCHEMA,
        "version": "2.1.0",
        "runs": [
            {
                "tool": {"driver": {"name": "mlops-stack", "version": __version__, "rules": ordered}},
                "results": out,
            }
        ],
    }
