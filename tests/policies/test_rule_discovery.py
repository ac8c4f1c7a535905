"""Rule modules are discovered: a module dropped into ``mlops_policies/rules/`` is in the
pack without editing ``rules/__init__.py``, and the pack order of the existing rules is
unchanged by discovery."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

from mlops_policies import RULES

ROOT = Path(__file__).resolve().parents[2]

#: The pack's module order: the per-cloud and common modules by name, then the cross-cloud
#: capability modules by their PACK_ORDER (the order docs/policies.md and the plan use).
MODULE_ORDER = ["aws", "azure", "common", "gcp", "k8s", "_serving", "_identity", "_tracking"]

NEW_MODULE = '''
from ._registry import resource_rule

PACK_ORDER = 9


@resource_rule(
    "example-dropped-in",
    description="A rule in a module nobody imports by name.",
    severity="low",
    enforcement="advisory",
    remediation="None.",
    clouds=("aws",),
    types=["aws:s3/bucket:Bucket"],
)
def check(r, ctx):
    return []
'''

LIST_RULES = "import json, mlops_policies as m; print(json.dumps([m.__file__, [r.name for r in m.RULES]]))"


def _module(rule) -> str:
    return (rule.check or rule.stack_check).__module__.rsplit(".", 1)[-1]


def test_every_module_of_the_package_is_imported() -> None:
    from mlops_policies.rules import rule_modules

    source = ROOT / "policies" / "mlops_policies" / "rules"
    files = sorted(p.stem for p in source.glob("*.py") if p.stem != "__init__")
    assert rule_modules() == [f"mlops_policies.rules.{f}" for f in files]
    assert all(name in sys.modules for name in rule_modules())


def test_pack_order_is_grouped_by_module_in_a_stable_order() -> None:
    modules = [_module(r) for r in RULES]
    firsts = list(dict.fromkeys(modules))
    assert firsts == MODULE_ORDER
    # Each module's rules are contiguous (one block per module, definition order inside).
    assert modules == [m for m in MODULE_ORDER for _ in range(modules.count(m))]


def test_a_module_dropped_into_the_rules_package_is_in_the_pack(tmp_path: Path) -> None:
    copy = tmp_path / "mlops_policies"
    shutil.copytree(ROOT / "policies" / "mlops_policies", copy,
                    ignore=shutil.ignore_patterns("__pycache__", "pulumi_pack"))
    (copy / "rules" / "zz_dropped_in.py").write_text(NEW_MODULE, encoding="utf-8")
    init = (copy / "rules" / "__init__.py").read_text(encoding="utf-8")
    assert "zz_dropped_in" not in init
    env = {**os.environ, "PYTHONPATH": str(tmp_path), "PYTHONDONTWRITEBYTECODE": "1"}
    res = subprocess.run([sys.executable, "-c", LIST_RULES], capture_output=True, text=True, env=env,
                         cwd=tmp_path, check=True)
    path, names = json.loads(res.stdout)
    assert Path(path).parent == copy  # the copy, not the repository's package
    # The new rule comes last (its PACK_ORDER); the existing rules keep their order.
    assert names == [r.name for r in RULES] + ["example-dropped-in"]
