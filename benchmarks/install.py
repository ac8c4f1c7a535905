"""What each extra installs: MB in a fresh virtualenv, against the provider-SDK floor.

    python benchmarks/install.py                 # every extra: (none), aws, gcp, azure, all
    python benchmarks/install.py aws gcp         # some of them
    python benchmarks/install.py --wheel dist/mlops_stack-0.2.0-py3-none-any.whl aws

For each extra it builds (or takes) the wheel, installs ``wheel[extra]`` with
``constraints.txt`` into a new virtualenv and sums the files of every installed
distribution (from their RECORD, bytecode included, as a user's install has it). The
floor is a second fresh virtualenv with only the provider SDKs that extra needs (the
``pulumi-*`` pins of pyproject.toml, with their own dependencies): what any Pulumi
program for that cloud installs anyway. The difference is what mlops-stack adds.
Figures, not pass/fail; pip's cache makes reruns fast.
"""

from __future__ import annotations

import argparse
import csv
import re
import subprocess
import sys
import tempfile
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
EXTRAS = ("", "aws", "gcp", "azure", "all")
MB = 1_000_000


def build_wheel(out: Path) -> Path:
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "-w", str(out), str(ROOT)], check=True)
    return next(out.glob("mlops_stack-*.whl"))


def _venv(where: Path) -> Path:
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(where)], check=True)
    return where / "bin" / "python"


def _install(python: Path, requirements: list[str]) -> None:
    # This interpreter's pip installs into the new venv (no pip inside it to count).
    subprocess.run([sys.executable, "-m", "pip", "--python", str(python), "install", "--quiet",
                    "-c", str(ROOT / "constraints.txt"), *requirements], check=True)


def sizes(python: Path) -> dict[str, int]:
    """Bytes per installed distribution, from its RECORD (files that exist)."""
    code = r"""
import json, os, importlib.metadata as md
out = {}
for d in md.distributions():
    total = 0
    for f in d.files or []:
        p = f.locate()
        try:
            total += os.path.getsize(p)
        except OSError:
            pass
    out[d.metadata["Name"]] = total
print(json.dumps(out))
"""
    import json

    return json.loads(subprocess.run([str(python), "-c", code], check=True, capture_output=True, text=True).stdout)


def provider_pins(extra: str) -> list[str]:
    """The pulumi-* provider SDK pins an extra brings (core ones included)."""
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    deps = list(project["dependencies"])
    extras = project["optional-dependencies"]
    names = [e for e in ("aws", "gcp", "azure")] if extra == "all" else ([extra] if extra else [])
    for name in names:
        deps += extras[name]
    return [d for d in deps if re.match(r"^pulumi(-[a-z-]+)?==", d) and not d.startswith("pulumi-policy")]


def measure(wheel: Path, extra: str, tmp: Path) -> dict[str, object]:
    ours = _venv(tmp / f"ours-{extra or 'none'}")
    _install(ours, [f"{wheel}[{extra}]" if extra else str(wheel)])
    floor = _venv(tmp / f"floor-{extra or 'none'}")
    _install(floor, provider_pins(extra))
    s_ours, s_floor = sizes(ours), sizes(floor)
    added = {k: v for k, v in s_ours.items() if k not in s_floor}
    return {
        "extra": extra or "(none)",
        "installed_mb": round(sum(s_ours.values()) / MB, 1),
        "floor_mb": round(sum(s_floor.values()) / MB, 1),
        "added_mb": round((sum(s_ours.values()) - sum(s_floor.values())) / MB, 1),
        "largest_added": ", ".join(f"{k} {v / MB:.1f}" for k, v in sorted(added.items(), key=lambda kv: -kv[1])[:6]),
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("extras", nargs="*", default=list(EXTRAS), help="extras to measure ('' or none for the base install)")
    ap.add_argument("--wheel", type=Path, help="an already built wheel")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory(prefix="mlops-install-") as t:
        tmp = Path(t)
        wheel = args.wheel or build_wheel(tmp / "dist")
        rows = [measure(wheel, "" if e in ("", "none") else e, tmp) for e in args.extras]
    print(f"# {wheel.name}; MB = 10^6 bytes of installed files (bytecode included)")
    w = csv.DictWriter(sys.stdout, fieldnames=list(rows[0]), lineterminator="\n")
    w.writeheader()
    w.writerows(rows)


if __name__ == "__main__":
    main()
