"""The package as a platform team gets it: the wheel, installed with one cloud's extra into
a fresh virtualenv, used in an empty directory outside this repository.

The commands are the README's ("Reusing components in your platform repo"), read from
it and run in order; the same for [aws], [gcp] and [azure]. The wheel is built once per
test process, each extra's virtualenv once (pip's cache makes the installs cheap; no
bytecode is compiled).
"""

from __future__ import annotations

import json
import os
import re
import shlex
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from mlops_policies import RULES
from mlops_stack import __version__

ROOT = Path(__file__).resolve().parents[1]

pytestmark = pytest.mark.slow

#: What the README's commands need for each cloud besides `--cloud <cloud>`.
INIT_ANSWERS = {"aws": [], "gcp": ["--config", "gcp:project=ml-platform-dev"], "azure": []}


def readme_section() -> str:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    start = text.index("## Reusing components in your platform repo")
    return text[start : text.index("\n## ", start + 3)]


def readme_block(lang: str, index: int = 0) -> str:
    return re.findall(rf"```{lang}\n(.*?)```", readme_section(), re.S)[index]


def readme_commands() -> list[list[str]]:
    """The first shell block: one command per line, comments dropped."""
    out = []
    for line in readme_block("sh").splitlines():
        line = line.split("  #", 1)[0].strip()
        if line:
            out.append(shlex.split(line))
    return out


@pytest.fixture(scope="session")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("dist")
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "-w", str(out), str(ROOT)],
                   check=True, capture_output=True, timeout=600)
    return next(out.glob("mlops_stack-*.whl"))


@pytest.fixture(scope="session")
def venvs(tmp_path_factory: pytest.TempPathFactory, wheel: Path) -> dict[str, Path]:
    return {}


def venv_for(extra: str, wheel: Path, cache: dict[str, Path], base: Path) -> Path:
    if extra not in cache:
        where = base / f"venv-{extra}"
        subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(where)], check=True, timeout=300)
        # This interpreter's pip installs into the new environment; constraints.txt as in `make`.
        subprocess.run([sys.executable, "-m", "pip", "--python", str(where / "bin" / "python"), "install", "--quiet",
                        "--no-compile", "-c", str(ROOT / "constraints.txt"), f"{wheel}[{extra}]"],
                       check=True, capture_output=True, timeout=1200)
        cache[extra] = where
    return cache[extra]


def clean_env(venv: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("MLOPS_POLICY_PACK", "PYTHONPATH", "VIRTUAL_ENV")}
    env["PATH"] = f"{venv / 'bin'}{os.pathsep}{env.get('PATH', '')}"
    return env


def mlops(venv: Path, args: list[str], cwd: Path, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(venv / "bin" / "mlops-stack"), *args], cwd=cwd, env=env or clean_env(venv),
                          capture_output=True, text=True, timeout=600)


def test_readme_installs_one_cloud_and_pins_this_version() -> None:
    cmds = readme_commands()
    assert cmds[0][:2] == ["pip", "install"] and cmds[0][2] == f"mlops-stack[aws]=={__version__}"
    assert [c for c in cmds if c[:2] == ["mlops-stack", "init"]] == [["mlops-stack", "init", "--cloud", "aws", "ml-platform"]]


def test_wheel_carries_every_targets_catalog_tables(wheel: Path) -> None:
    """Each target's catalog (``<target>/catalog/*.csv`` and its SOURCES.md) is package data."""
    package = ROOT / "components" / "mlops_stack"
    tables = {p.relative_to(package.parent).as_posix() for p in package.glob("*/catalog/*") if p.suffix in (".csv", ".md")}
    assert {"mlops_stack/aws/catalog/gpus.csv", "mlops_stack/gcp/catalog/SOURCES.md", "mlops_stack/azure/catalog/mig_excluded.csv"} <= tables
    with zipfile.ZipFile(wheel) as whl:
        assert tables <= set(whl.namelist())


@pytest.mark.parametrize("cloud", ["aws", "gcp", "azure"])
def test_installed_wheel_outside_the_repository(cloud: str, wheel: Path, venvs: dict[str, Path],
                                                tmp_path_factory: pytest.TempPathFactory) -> None:
    venv = venv_for(cloud, wheel, venvs, tmp_path_factory.getbasetemp())
    work = tmp_path_factory.mktemp(f"platform-{cloud}")
    assert not work.resolve().is_relative_to(ROOT)
    env = clean_env(venv)
    installed = subprocess.run([str(venv / "bin" / "python"), "-c",
                                "import importlib.util as u; print(sorted(m for m in ('pulumi_aws', 'pulumi_gcp', "
                                "'pulumi_azure_native', 'boto3', 'moto', 'pytest', 'hypothesis') if u.find_spec(m)))"],
                               capture_output=True, text=True, env=env, check=True)
    sdk = {"aws": "pulumi_aws", "gcp": "pulumi_gcp", "azure": "pulumi_azure_native"}[cloud]
    assert installed.stdout.strip() == str([sdk])  # not the other clouds' SDKs, not boto3, no test tools
    # The installed pack discovers every rule module (rules/__init__.py lists none): the
    # repository's rules, in the same order.
    pack_rules = subprocess.run([str(venv / "bin" / "python"), "-c",
                                 "import json, mlops_policies as m; print(json.dumps([r.name for r in m.RULES]))"],
                                capture_output=True, text=True, env=env, cwd=work, check=True)
    assert json.loads(pack_rules.stdout) == [r.name for r in RULES]

    (work / "single-components.py").write_text(readme_block("python"), encoding="utf-8")
    cwd = work
    template_program = ""
    for cmd in readme_commands():
        if cmd[0] == "pip":
            continue  # the fixture installed the wheel with this cloud's extra
        if cmd[0] == "cd":
            cwd = cwd / cmd[1]
            continue
        if cmd[0] == "cp":
            shutil.copy(cwd / cmd[1], cwd / cmd[2])
            continue
        assert cmd[0] == "mlops-stack", cmd
        args = cmd[1:]
        if args[:1] == ["init"]:
            args = ["init", "--cloud", cloud, *args[3:], *INIT_ANSWERS[cloud]]
        res = mlops(venv, args, cwd, env)
        if args[:1] == ["plan"] and cloud != "aws" and (cwd / "__main__.py").read_text().startswith("import pulumi\nfrom mlops_stack import ArtifactStoreArgs"):
            # The README's single-component program is AWS's: in a gcp/azure install it
            # says which extra to install, in one line, exit 2.
            assert res.returncode == 2, res.stderr
            assert res.stderr.strip() == (f"error: cloud: 'aws' needs the aws provider SDK (pulumi_aws), which is not "
                                          "installed here (pip install 'mlops-stack[aws]')")
            continue
        assert res.returncode == 0, (cmd, res.stdout[-2000:], res.stderr)
        assert res.stderr == "", (cmd, res.stderr)
        if args == ["--version"]:
            assert res.stdout == f"mlops-stack {__version__}\n"
        elif args[:1] == ["init"]:
            assert (cwd / "ml-platform" / "Pulumi.dev.yaml").is_file()
            assert (cwd / "ml-platform" / ".github" / "workflows" / "mlops-stack.yml").is_file()
            template_program = (cwd / "ml-platform" / "__main__.py").read_text()
        elif args[:1] in (["plan"], ["policies"]):
            assert "policy dev: 0 mandatory" in res.stdout
        elif args[:2] == ["policy-pack", "export"]:
            pack = cwd / args[2]
            assert sorted(p.name for p in pack.iterdir()) == ["PulumiPolicy.yaml", "__main__.py", "mlops_policies", "requirements.txt"]
            # The wheel carries every module of the rules package (new rule modules too).
            source = ROOT / "policies" / "mlops_policies"
            assert ({p.relative_to(pack / "mlops_policies").as_posix() for p in (pack / "mlops_policies").rglob("*.py")}
                    == {p.relative_to(source).as_posix() for p in source.rglob("*.py") if "pulumi_pack" not in p.parts})
    repo = work / "ml-platform"
    assert (repo / "__main__.py").read_text().startswith("import pulumi\nfrom mlops_stack import ArtifactStoreArgs")

    # The template's own program, its stack file and the pack, in JSON: what was planned.
    (repo / "__main__.py").write_text(template_program)
    res = mlops(venv, ["plan", "--program", ".", "--format", "json"], repo, env)
    assert res.returncode == 0, res.stderr
    doc = json.loads(res.stdout)
    assert (doc["project"], doc["stack"], doc["cloud"]) == ("ml-platform", "dev", cloud)
    assert any(r["type"].startswith("mlops:") for r in doc["resources"])
    assert doc["policy"]["violations"] is not None and not [v for v in doc["policy"]["violations"] if v["level"] == "mandatory"]

    # A copy of an example stack, planned with the bundled program and a policy config in
    # pulumi's format; the exported pack gives the same findings as the installed one.
    shutil.copy(ROOT / "stacks" / f"Pulumi.dev-{cloud}.yaml", work / f"Pulumi.dev-{cloud}.yaml")
    (work / "policy.json").write_text(json.dumps({"allowed-regions": {"allowedRegions": ["antarctica-1"]}}))
    base = ["policies", "--config", f"Pulumi.dev-{cloud}.yaml", "--policy-pack-config", "policy.json", "--format", "json"]
    res = mlops(venv, base, work, env)
    assert res.returncode == 1, res.stderr  # the region is not allowed: mandatory
    installed_findings = json.loads(res.stdout)
    assert any(v["policy"] == "allowed-regions" and v["level"] == "mandatory" for v in installed_findings[f"dev-{cloud}"]["violations"])
    exported = mlops(venv, base, work, {**env, "MLOPS_POLICY_PACK": str(repo / "policy-pack")})
    assert exported.returncode == 1 and json.loads(exported.stdout) == installed_findings

    if cloud == "aws":  # preflight needs the aws-ops extra, and says so
        for command in (["preflight"], ["smoke", "--outputs", "policy.json"]):
            res = mlops(venv, [*command, "--config", "Pulumi.dev-aws.yaml"], work, env)
            assert (res.returncode, res.stderr) == (2, f"error: {command[0]} needs boto3, which is not installed here "
                                                       "(pip install 'mlops-stack[aws-ops]')\n")
    if cloud == "azure":  # and so does Azure's, with the azure-ops extra
        res = mlops(venv, ["preflight", "--config", "Pulumi.dev-azure.yaml"], work, env)
        assert (res.returncode, res.stderr) == (2, "error: preflight needs the Azure SDKs (azure-identity, azure-mgmt-*), which is not "
                                                   "installed here (pip install 'mlops-stack[azure-ops]')\n")

    path = mlops(venv, ["policy-pack", "path"], work, env)
    assert path.returncode == 0 and Path(path.stdout.strip()).resolve().is_relative_to(venv.resolve())
    assert (Path(path.stdout.strip()) / "PulumiPolicy.yaml").is_file()
