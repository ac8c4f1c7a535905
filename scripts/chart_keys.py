"""Derive the value key paths a Helm chart reads, at one release tag, as test data.

Usage (a local git mirror of the chart's source repository; nothing is downloaded):

    python scripts/chart_keys.py --git /path/to/repo.git --repo owner/name --tag TAG \
        --chart charts/foo [--sub alias=/path/to/repo.git:owner/name:TAG:charts/bar ...] \
        --name foo --version 1.2.3 --out tests/fixtures/charts/foo-1.2.3.json

What is recorded (see tests/k8s/test_chart_keys.py for how it is used):

- ``keys``: every key path of the chart's values.yaml (and of each subchart's, under its
  alias), with its type (map, list, str, int, float, bool, null) and, for everything but
  maps, its default (a list's default items must not be dropped by accident);
- paths the templates read (``.Values.a.b``) that values.yaml does not declare (type any),
  and the dependencies' ``condition`` paths Helm reads from Chart.yaml;
- ``free``: paths whose children the chart passes through as they are (an empty map
  default, or ``toYaml`` / ``range`` / ``with ... toYaml .`` over the path in a template):
  any key below them is accepted;
- ``sources``: repository, tag, commit and date of every chart read, with the chart's
  ``appVersion`` and the resources its ClusterRole template names (RBAC it can grant).

Only facts are kept (key names, types, default lists), never the chart's text.
"""

from __future__ import annotations

import argparse
import json
import re
import subprocess
from pathlib import Path
from typing import Any

import yaml

_VALUES_REF = re.compile(r"\$?\.Values((?:\.[A-Za-z_][A-Za-z0-9_-]*)+)")
_FREE_REFS = (
    re.compile(r"toYaml\s+\(?\s*\$?\.Values((?:\.[A-Za-z_][A-Za-z0-9_-]*)+)"),
    re.compile(r"toJson\s+\(?\s*\$?\.Values((?:\.[A-Za-z_][A-Za-z0-9_-]*)+)"),
    re.compile(r"range\s+\$[A-Za-z_]*\s*,\s*\$[A-Za-z_]*\s*:=\s*\$?\.Values((?:\.[A-Za-z_][A-Za-z0-9_-]*)+)"),
    re.compile(r"range\s+\$?\.Values((?:\.[A-Za-z_][A-Za-z0-9_-]*)+)"),
    re.compile(r"\$?\.Values((?:\.[A-Za-z_][A-Za-z0-9_-]*)+)\s*\|\s*toYaml"),
)
_WITH_REF = re.compile(r"with\s+\$?\.Values((?:\.[A-Za-z_][A-Za-z0-9_-]*)+)\s*\}\}(.{0,200}?)\{\{-?\s*end", re.S)


def git(repo: str, *args: str) -> str:
    return subprocess.run(["git", "--git-dir", repo, *args], check=True, capture_output=True, text=True).stdout


def kind(value: Any) -> str:
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, int):
        return "int"
    if isinstance(value, float):
        return "float"
    if isinstance(value, str):
        return "str"
    if isinstance(value, dict):
        return "map"
    if isinstance(value, list):
        return "list"
    return "null"


def walk(value: Any, prefix: str, keys: dict[str, Any], free: set[str]) -> None:
    for key, child in value.items():
        path = f"{prefix}{key}"
        entry: dict[str, Any] = {"type": kind(child)}
        if not isinstance(child, dict):
            entry["default"] = child
        if isinstance(child, list):
            free.add(path)
        keys[path] = entry
        if isinstance(child, dict):
            if child:
                walk(child, path + ".", keys, free)
            else:
                free.add(path)


def read_chart(repo: str, tag: str, chart: str, prefix: str, keys: dict[str, Any], free: set[str]) -> dict[str, str]:
    commit = git(repo, "rev-list", "-n1", tag).strip()
    date = git(repo, "log", "-1", "--format=%cs", commit).strip()
    values = yaml.safe_load(git(repo, "show", f"{commit}:{chart}/values.yaml")) or {}
    meta = yaml.safe_load(git(repo, "show", f"{commit}:{chart}/Chart.yaml")) or {}
    # Helm itself reads the dependencies' ``condition`` paths (e.g. ``nfd.enabled``).
    for dep in meta.get("dependencies") or []:
        for cond in str(dep.get("condition") or "").split(","):
            if cond.strip():
                keys.setdefault(prefix + cond.strip(), {"type": "bool"})
    walk(values, prefix, keys, free)
    # KServe's charts keep their manifests under files/ and render them with ``tpl``: read both.
    files = [
        f
        for folder in ("templates", "files")
        for f in git(repo, "ls-tree", "-r", "--name-only", commit, f"{chart}/{folder}").split()
        if f.endswith((".yaml", ".yml", ".tpl", ".txt"))
    ]
    for name in files:
        text = git(repo, "show", f"{commit}:{name}")
        for match in _VALUES_REF.finditer(text):
            path = prefix + match.group(1)[1:]
            parts = path.split(".")
            for i in range(1, len(parts) + 1):
                sub = ".".join(parts[:i])
                keys.setdefault(sub, {"type": "any" if i == len(parts) else "map"})
        for pattern in _FREE_REFS:
            for match in pattern.finditer(text):
                free.add(prefix + match.group(1)[1:])
        for match in _WITH_REF.finditer(text):
            if re.search(r"toYaml\s+\.\s", match.group(2)):
                free.add(prefix + match.group(1)[1:])
    rbac: set[str] = set()
    if f"{chart}/templates/clusterrole.yaml" in files:
        text = git(repo, "show", f"{commit}:{chart}/templates/clusterrole.yaml")
        rbac = {m.group(1) for m in re.finditer(r"^\s*-\s*([a-z][a-z0-9]*)\s*$", text, re.M)}
    return {
        "chart": chart,
        "tag": tag,
        "commit": commit,
        "date": date,
        "appVersion": str(meta.get("appVersion", "")),
        "clusterRoleResources": sorted(rbac),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--git", required=True)
    parser.add_argument("--repo", required=True)
    parser.add_argument("--tag", required=True)
    parser.add_argument("--chart", required=True)
    parser.add_argument("--sub", action="append", default=[], help="alias=GITDIR:owner/name:TAG:chart/path")
    parser.add_argument("--name", required=True)
    parser.add_argument("--version", required=True)
    parser.add_argument("--out", required=True)
    a = parser.parse_args()
    keys: dict[str, Any] = {}
    free: set[str] = set()
    sources = [{"repo": a.repo, **read_chart(a.git, a.tag, a.chart, "", keys, free)}]
    for sub in a.sub:
        alias, spec = sub.split("=", 1)
        gitdir, repo, tag, chart = spec.split(":")
        sources.append({"repo": repo, "alias": alias, **read_chart(gitdir, tag, chart, alias + ".", keys, free)})
    doc = {"chart": a.name, "version": a.version, "sources": sources, "free": sorted(free), "keys": dict(sorted(keys.items()))}
    Path(a.out).write_text(json.dumps(doc, indent=1, sort_keys=False) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
