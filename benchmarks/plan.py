"""Plan benchmarks: prints figures, asserts nothing.

    python benchmarks/plan.py                 # every example stack + scaling
    python benchmarks/plan.py --stacks dev-aws --repeat 5

For each stack: wall time and peak memory of a plan in a fresh process (what a user or
a PR pipeline pays), next to a floor measured in the same run: a bare program that
registers the same number of resources with Pulumi's stock mocks, in a fresh process
too. Then per-resource cost against the floor, scaling with 1, 10 and 100 endpoints in
one spec, and the CLI's `plan --all` and `plan --all --compare` (cold with --no-cache,
and with a warm plan cache): wall and CPU seconds (user+sys of the whole process tree:
on a shared machine CPU time is the steadier figure) and the tree's peak memory.

    python benchmarks/plan.py --cli-only --repeat 3   # just the --all figures
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
    return cli_run(*args)["wall"]


def _tree_rss_kb(pid: int) -> int:
    """Proportional set size (PSS: pages shared by forked workers counted once overall)
    of ``pid`` and all its descendants (Linux /proc), in KiB."""
    total, todo = 0, [pid]
    while todo:
        p = todo.pop()
        try:
            with open(f"/proc/{p}/smaps_rollup") as f:
                total += next((int(line.split()[1]) for line in f if line.startswith("Pss:")), 0)
            with open(f"/proc/{p}/task/{p}/children") as f:
                todo += [int(c) for c in f.read().split()]
        except (OSError, ValueError):
            continue
    return total


def cli_run(*args: str, env: dict | None = None) -> dict:
    """One CLI run: wall seconds, CPU seconds (user+sys of the whole process tree) and the
    peak of the tree's summed PSS (sampled every 20 ms)."""
    import os
    import resource

    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    proc = subprocess.Popen([sys.executable, "-m", "mlops_stack.cli", *args], cwd=ROOT, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL, env={**os.environ, **(env or {})})
    peak = 0
    while proc.poll() is None:
        peak = max(peak, _tree_rss_kb(proc.pid))
        time.sleep(0.02)
    wall = time.perf_counter() - t0
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return {"wall": wall, "cpu": cpu, "tree_mb": peak / 1024, "rc": proc.returncode}


def bench_all(repeat: int) -> None:
    """`plan --all` and `plan --all --compare`: cold (--no-cache) and with a warm cache."""
    import tempfile as _tf

    print(f"\n# CLI, all example stacks (plan + policy + cost), median of {repeat}; CPU = user+sys of the process tree")
    print(f"{'command':<40} {'wall s':>7} {'cpu s':>7} {'tree PSS MB':>11}")
    with _tf.TemporaryDirectory() as cache:
        env = {"MLOPS_STACK_CACHE_DIR": cache}
        base = ["plan", "--all", "--format", "json", "--output", "/dev/null"]
        for label, extra, warm in (
            ("--all --no-cache", ["--no-cache"], False),
            ("--all (warm cache)", [], True),
            ("--all --compare --no-cache", ["--compare", "--no-cache"], False),
            ("--all --compare (warm cache)", ["--compare"], True),
            ("--all --jobs 1 --no-cache", ["--jobs", "1", "--no-cache"], False),
        ):
            if warm:
                cli_run(*base, *extra, env=env)  # fill the cache
            runs = [cli_run(*base, *extra, env=env) for _ in range(repeat)]
            print(f"{label:<40} {median_of(runs, 'wall'):>7.2f} {median_of(runs, 'cpu'):>7.2f} {max(r['tree_mb'] for r in runs):>11.0f}")


def main() -> None:
    from mlops_stack.offline.stackfile import list_stacks
    from mlops_stack import targets

    ap = argparse.ArgumentParser()
    ap.add_argument("--stacks", nargs="*")
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--skip-cli", action="store_true")
    ap.add_argument("--cli-only", action="store_true", help="only the `plan --all [--compare]` figures")
    args = ap.parse_args()
    clouds = targets.names()
    stacks = args.stacks or [s for s in list_stacks(ROOT / "stacks") if s.rsplit("-", 1)[-1] in clouds]

    if args.cli_only:
        bench_all(args.repeat)
        return
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
        bench_all(args.repeat)
        one = ["plan", "--stack", "dev-aws", "--format", "json", "--output", "/dev/null", "--no-cache"]
        print(f"one stack dev-aws --no-cache: {cli_seconds(*one):.2f} s")


if __name__ == "__main__":
    main()
