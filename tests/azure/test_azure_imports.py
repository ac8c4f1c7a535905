"""An Azure plan loads neither pulumi_aws nor pulumi_gcp, and only the azure-native
submodules the components use (the package has 260+)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

SCRIPT = """
import importlib.util, json, sys, time
t0 = time.perf_counter()
from mlops_stack.offline.engine import run_program
from mlops_stack.offline.stackfile import read_stack_file
from mlops_stack.program import main
sf = read_stack_file(sys.argv[1])
plan = run_program(main, stack=sf.stack, config=sf.config, secret_keys=sf.secret_keys)
print(json.dumps({
    "seconds": time.perf_counter() - t0,
    "resources": len(plan.resources),
    # The generated SDKs register every submodule lazily: count only those really loaded.
    "modules": sorted(
        m for m, mod in list(sys.modules.items())
        if m.split(".")[0] in ("pulumi_aws", "pulumi_gcp", "pulumi_azure_native")
        and type(mod).__name__ != "_LazyModule"
    ),
}))
"""

#: The azure-native submodules the Azure components import, and nothing else.
ALLOWED = {
    "applicationinsights",
    "authorization",
    "compute",
    "containerregistry",
    "containerservice",
    "keyvault",
    "machinelearningservices",
    "managedidentity",
    "monitor",
    "network",
    "operationalinsights",
    "privatedns",
    "resources",
    "security",
    "storage",
}


def run(stack: str) -> dict:
    out = subprocess.run(
        [sys.executable, "-c", SCRIPT, str(ROOT / "stacks" / f"Pulumi.{stack}.yaml")], check=True, capture_output=True, text=True, cwd=ROOT
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


def test_azure_plan_imports_no_other_cloud_sdk() -> None:
    result = run("prod-azure")
    mods = result["modules"]
    assert not [m for m in mods if m.startswith(("pulumi_aws", "pulumi_gcp"))]
    used = {m.split(".")[1] for m in mods if m.startswith("pulumi_azure_native.") and not m.split(".")[1].startswith("_")}
    assert used - {"provider", "config"} <= ALLOWED, used - ALLOWED
    assert result["resources"] > 80
