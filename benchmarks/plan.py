"""Plan benchmarks: prints figures, asserts nothing.

    python benchmarks/plan.py                 # every example stack + scaling
    python benchmarks/plan.py --stacks dev-aws --repeat 5

For each stack: wall time and peak memory of a plan in a fresh process (what a user or
a PR pipeline pays), next to a floor measured in the same run: a bare program that
registers the same number of resources with Pulumi's stock mocks, in a fresh process
too. Then all stacks serial vs parallel (the CLI's process pool), per-resource cost
against the floor, and scaling with 1, 10 and 100 endpoints in one spec.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "components"))

PLAN_CODE = """
import json, resource, sys, time
t0 = time.perf_counter()
from mlops_stack.offline.plan import plan_stack_file
sp = plan_stack_file(sys.argv[1])
dt = time.perf_counter() - t0
n = len(sp.plan.resources)
sdk = sorted(m for m in sys.modules if m.split(".")[0] in ("pulumi_aws", "pulumi_gcp", "pulumi_azure_native", "pulumi_kubernetes", "pulumi_random"))
print(json.dumps({"seconds": dt, "peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, "resources": n, "sdk": sdk}))
"""

FLOOR_CODE = """
import importlib, json, resource, sys, time
t0 = time.perf_counter()
import pulumi
from pulumi.runtime import mocks
n = int(sys.argv[1])
# Floor B: also import the provider SDK modules the real plan imported (argv[2], JSON).
for name in json.loads(sys.argv[2]) if len(sys.argv) > 2 else []:
    importlib.import_module(name)

class Stock(mocks.Mocks):
    def new_resource(self, args):
        return args.name + "-id", dict(args.inputs)
    def call(self, args):
        return {}

class Res(pulumi.CustomResource):
    def __init__(self, name, props, opts=None):
        super().__init__("bench:index:Res", name, props, opts)

mocks.set_mocks(Stock(), project="bench", stack="floor", preview=False)
from pulumi.runtime.stack import run_pulumi_func
from pulumi.runtime.sync_await import _sync_await

def program():
    for i in range(n):
        Res(f"r{i}", {"name": f"r{i}", "tags": {"a": "b"}, "value": i})

_sync_await(run_pulumi_func(program))
dt = time.perf_counter() - t0
print(json.dumps({"seconds": dt, "peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, "resources": n}))
"""


def fresh(code: str, *args: str) -> dict:
    t0 = time.perf_counter()
    res = subprocess.run([sys.executable, "-c", code, *args], cwd=ROOT, capture_output=True, text=True, check=True)
    out = json.loads(res.stdout.strip().splitlines()[-1])
    out["process_seconds"] = time.perf_counter() - t0
    return out


def median_of(runs: list[dict], key: str) -> float:
    return statistics.median(r[key] for r in runs)


def bench_stack(stack: str, repeat: int) -> dict:
    path = str(ROOT / "stacks" / f"Pulumi.{stack}.yaml")
    ours = [fresh(PLAN_CODE, path) for _ in range(repeat)]
    n = ours[0]["resources"]
    floor = [fresh(FLOOR_CODE, str(n)) for _ in range(repeat)]
    floor_sdk = [fresh(FLOOR_CODE, str(n), json.dumps(ours[0]["sdk"])) for _ in range(repeat)]
    return {
        "floor_sdk_s": median_of(floor_sdk, "seconds"),
        "stack": stack,
        "resources": n,
        "plan_s": median_of(ours, "seconds"),
        "process_s": median_of(ours, "process_seconds"),
        "peak_mb": max(r["peak_mb"] for r in ours),
        "floor_s": median_of(floor, "seconds"),
        "floor_process_s": median_of(floor, "process_seconds"),
        "floor_peak_mb": max(r["peak_mb"] for r in floor),
    }


def endpoints_stack(n: int, tmp: Path) -> Path:
    eps = [
        {
            "name": f"ep{i}",
            "cpuSize": "small",
            "model": {"artifact": {"bucket": "models", "key": f"m{i}/model.tar.gz"}, "image": "123456789012.dkr.ecr.us-east-1.amazonaws.com/s:1"},
            "minInstances": 1,
            "maxInstances": 2,
        }
        for i in range(n)
    ]
    text = "config:\n  mlops-stack:cloud: aws\n  mlops-stack:region: us-east-1\n"
    text += "  mlops-stack:cluster: {enabled: false}\n  mlops-stack:monitoring: {enabled: false}\n"
    text += f"  mlops-stack:endpoints: {json.dumps(eps)}\n"
    path = tmp / f"Pulumi.endpoints-{n}.yaml"
    path.write_text(text)
    return path


def cli_seconds(*args: str) -> float:
    t0 = time.perf_counter()
    subprocess.run([sys.executable, "-m", "mlops_stack.cli", *args], cwd=ROOT, capture_output=True, check=False)
    return time.perf_counter() - t0


def main() -> None:
    from mlops_stack.offline.stackfile import list_stacks
    from mlops_stack import targets

    ap = argparse.ArgumentParser()
    ap.add_argument("--stacks", nargs="*")
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--skip-cli", action="store_true")
    args = ap.parse_args()
    clouds = targets.names()
    stacks = args.stacks or [s for s in list_stacks(ROOT / "stacks") if s.rsplit("-", 1)[-1] in clouds]

    print(f"# plan benchmark (median of {args.repeat}; fresh process each; python {sys.version.split()[0]})")
    print("floor A: bare program, same resource count, stock mocks; floor B: A + importing the same provider SDK modules")
    print(
        f"{'stack':<12} {'res':>4} {'plan s':>7} {'floor A':>8} {'ratio A':>7} {'floor B':>8} {'ratio B':>7} {'proc s':>7} {'floor proc':>10} "
        f"{'peak MB':>8} {'floor MB':>9} {'us/res':>7} {'floor us/res':>12}"
    )
    for stack in stacks:
        r = bench_stack(stack, args.repeat)
        ratio = r["plan_s"] / r["floor_s"]
        ratio_b = r["plan_s"] / r["floor_sdk_s"]
        print(
            f"{r['stack']:<12} {r['resources']:>4} {r['plan_s']:>7.2f} {r['floor_s']:>8.2f} {ratio:>7.2f} {r['floor_sdk_s']:>8.2f} {ratio_b:>7.2f} "
            f"{r['process_s']:>7.2f} "
            f"{r['floor_process_s']:>10.2f} {r['peak_mb']:>8.0f} {r['floor_peak_mb']:>9.0f} "
            f"{1e6 * r['plan_s'] / r['resources']:>7.0f} {1e6 * r['floor_s'] / r['resources']:>12.0f}"
        )

    with tempfile.TemporaryDirectory() as tmp:
        print("\n# scaling: AWS spec with N CPU endpoints (no cluster), fresh process")
        print(f"{'endpoints':>9} {'res':>5} {'plan s':>7} {'floor s':>8} {'peak MB':>8}")
        for n in (1, 10, 100):
            path = endpoints_stack(n, Path(tmp))
            ours = [fresh(PLAN_CODE, str(path)) for _ in range(max(1, args.repeat - 1))]
            floor = fresh(FLOOR_CODE, str(ours[0]["resources"]))
            print(f"{n:>9} {ours[0]['resources']:>5} {median_of(ours, 'seconds'):>7.2f} {floor['seconds']:>8.2f} {max(r['peak_mb'] for r in ours):>8.0f}")

    if not args.skip_cli:
        all_args = ["plan", "--all", "--format", "json", "--output", "/dev/null"]
        print("\n# CLI, all example stacks (plan + policy + cost), wall seconds")
        print(f"serial   (--jobs 1): {cli_seconds(*all_args, '--jobs', '1'):.2f}")
        print(f"parallel (default) : {cli_seconds(*all_args):.2f}")
        print(f"one stack dev-aws  : {cli_seconds('plan', '--stack', 'dev-aws', '--format', 'json', '--output', '/dev/null'):.2f}")


if __name__ == "__main__":
    main()
