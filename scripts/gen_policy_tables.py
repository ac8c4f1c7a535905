"""Regenerate the policy pack's GPU tables from the catalog: python scripts/gen_policy_tables.py

The pack runs in its own process (under ``pulumi preview`` in its own virtualenv) and
imports nothing from mlops_stack, so the catalog's facts are copied into
policies/mlops_policies/generated.py; tests/policies/test_generated_tables.py fails
when the copy and the catalog differ.
"""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
TARGET = ROOT / "policies" / "mlops_policies" / "generated.py"


def tables() -> tuple[dict[str, tuple[str, int]], dict[str, str]]:
    """(machine type -> (gpu, gpus), accelerator -> gpu) over every target's catalog offers.

    A machine type whose offers disagree (a GCP N1 machine with a T4 or a V100 attached)
    is left out: there the accelerator decides."""
    from mlops_stack import catalog

    machines: dict[str, set[tuple[str, int]]] = {}
    accelerators: dict[str, set[str]] = {}
    for o in catalog.gpu_offers():
        machines.setdefault(o.instance_type.lower(), set()).add((o.gpu, o.gpus))
        for acc in (o.accelerator, o.vertex_accelerator):
            if acc:
                accelerators.setdefault(acc, set()).add(o.gpu)
    return (
        {m: next(iter(v)) for m, v in sorted(machines.items()) if len(v) == 1},
        {a: next(iter(v)) for a, v in sorted(accelerators.items()) if len(v) == 1},
    )


def render() -> str:
    from mlops_stack.constants import GPU_TAINT_KEY, POOL_LABEL

    machines, accelerators = tables()
    lines = [
        '"""Generated from the mlops-stack catalog by scripts/gen_policy_tables.py; do not edit.',
        "",
        "MACHINES: lower-cased instance / VM / machine type -> (cloud-neutral GPU, GPUs per machine).",
        "ACCELERATORS: GKE accelerator type or Vertex AI accelerator enum -> cloud-neutral GPU.",
        "GPU_TAINT_KEY, POOL_LABEL: from mlops_stack.constants.",
        '"""',
        "",
        f"GPU_TAINT_KEY = {GPU_TAINT_KEY!r}".replace("'", '"'),
        f"POOL_LABEL = {POOL_LABEL!r}".replace("'", '"'),
        "",
        "MACHINES: dict[str, tuple[str, int]] = {",
        *(f"    {m!r}: ({g!r}, {n}),".replace("'", '"') for m, (g, n) in machines.items()),
        "}",
        "",
        "ACCELERATORS: dict[str, str] = {",
        *(f"    {a!r}: {g!r},".replace("'", '"') for a, g in accelerators.items()),
        "}",
        "",
    ]
    return "\n".join(lines)


if __name__ == "__main__":
    sys.path.insert(0, str(ROOT / "components"))
    TARGET.write_text(render(), encoding="utf-8")
    print(f"wrote {TARGET}")
