"""What ships and how it is versioned: the pack directories, the templates, the version in
one place, --policy-pack-config as pulumi accepts it, stack files beside a program, and
one line (exit 2 or 3) for every failure of the CLI."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import pytest
import yaml

from mlops_stack import __version__, policy_pack, templates
from mlops_stack.cli import EXIT_CONFIG, EXIT_INTERNAL, main, parse_policy_pack_config
from mlops_stack.errors import ConfigError

ROOT = Path(__file__).resolve().parents[1]


# --- the policy pack -------------------------------------------------------------------


def test_the_repository_pack_is_what_export_writes(tmp_path: Path) -> None:
    written = policy_pack.export(tmp_path / "pack")
    for name in policy_pack.PACK_FILES:
        assert (tmp_path / "pack" / name).read_text() == (ROOT / "policies" / name).read_text(), name
    # Every module of the rules package is in the export (new rule modules included).
    source = sorted(p.relative_to(ROOT / "policies").as_posix() for p in (ROOT / "policies" / "mlops_policies").rglob("*.py")
                    if "pulumi_pack" not in p.parts)
    exported = sorted(p.relative_to(tmp_path / "pack").as_posix() for p in written if p.suffix == ".py" and p.name != "__main__.py")
    assert exported == source
    assert not (tmp_path / "pack" / "mlops_policies" / "pulumi_pack").exists()


def test_the_installed_pack_runs_in_the_current_environment() -> None:
    d = policy_pack.installed_pack_dir()
    doc = yaml.safe_load((d / "PulumiPolicy.yaml").read_text())
    exported = yaml.safe_load(policy_pack.pulumi_policy_yaml())
    assert doc == {**exported, "runtime": "python"}  # no virtualenv: the Python on PATH
    assert doc["version"] == __version__
    assert (d / "__main__.py").read_text() == (ROOT / "policies" / "__main__.py").read_text()
    assert sorted(p.name for p in d.iterdir() if p.name != "__pycache__") == ["PulumiPolicy.yaml", "__main__.py"]


def test_export_refuses_a_non_empty_directory(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    Path("pack").mkdir()
    Path("pack", "notes.txt").write_text("mine")
    with pytest.raises(ConfigError) as err:
        policy_pack.export(Path("pack"))
    assert str(err.value) == "DIR: 'pack' is not empty (pass --force to overwrite the pack files in it)"
    assert len(policy_pack.export(Path("pack"), force=True)) > 10 and Path("pack", "notes.txt").read_text() == "mine"


def test_a_pack_override_that_is_not_a_pack_is_one_line(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                       capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("MLOPS_POLICY_PACK", "/tmp")
    assert main(["policies", "--stack", "dev-aws"]) == EXIT_CONFIG
    err = capsys.readouterr().err
    assert err == ("error: MLOPS_POLICY_PACK: '/tmp' is not a policy pack directory (needs PulumiPolicy.yaml and "
                   "__main__.py) (point it at the output of `mlops-stack policy-pack export DIR`, or unset it)\n")


def test_pack_requirements_match_the_package_pins() -> None:
    deps = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["dependencies"]
    constraints = dict(line.split("==") for line in (ROOT / "constraints.txt").read_text().splitlines() if "==" in line)
    norm = {k.lower().replace("_", "-"): v for k, v in constraints.items()}
    for req in policy_pack.POLICY_REQUIREMENTS:
        if "==" not in req:
            continue
        name, version = req.split("==")
        assert norm[name] == version, req
        if name in ("pulumi", "pulumi-policy"):
            assert req in deps, req


# --- --policy-pack-config: what pulumi preview accepts -------------------------------------

PULUMI_REJECTS = {
    '{"allowedRegions": ["eu-west-1"]}': "error: --policy-pack-config: allowedRegions: must be an enforcement level or an object (as for pulumi preview)",
    '{"all": "strict"}': "error: --policy-pack-config: all: 'strict' is not an enforcement level (one of advisory, mandatory, remediate, disabled)",
    '{"required-tags": {"enforcementLevel": 1}}': "error: --policy-pack-config: required-tags: 1 is not an enforcement level",
    '["all"]': "error: --policy-pack-config: must be a JSON object of policy names",
    '{"all": ': "error: --policy-pack-config: is not valid JSON",
}


@pytest.mark.parametrize("text", sorted(PULUMI_REJECTS))
def test_policy_config_pulumi_would_reject_is_rejected(text: str) -> None:
    with pytest.raises(ConfigError) as err:
        parse_policy_pack_config(text)
    assert f"error: {err.value}".startswith(PULUMI_REJECTS[text])


@pytest.mark.parametrize("text", ['', '{"all": "advisory"}', '{"required-tags": "disabled"}',
                                  '{"allowed-regions": {"enforcementLevel": "mandatory", "allowedRegions": ["eu-west-1"]}}',
                                  '{"allowed-regions": {"allowedRegions": ["eu-west-1"]}}'])
def test_policy_config_pulumi_accepts_is_accepted(text: str) -> None:
    assert isinstance(parse_policy_pack_config(text), dict)


# --- version in one place --------------------------------------------------------------


def test_the_version_is_written_once() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())
    assert "version" not in project["project"] and project["project"]["dynamic"] == ["version"]
    assert project["tool"]["setuptools"]["dynamic"]["version"] == {"attr": "mlops_stack.__version__"}
    assert yaml.safe_load((ROOT / "policies" / "PulumiPolicy.yaml").read_text())["version"] == __version__
    for cloud in templates.CLOUDS:
        pins = [line for line in (templates.template_dir(cloud) / "requirements.txt").read_text().splitlines() if not line.startswith("#")]
        assert pins == [f"mlops-stack[{cloud}]=={__version__}"]
    changelog = (ROOT / "CHANGELOG.md").read_text()
    assert re.search(r"^## \[Unreleased\]$", changelog, re.M) and f"released as {__version__}" in changelog
    assert f'"mlops-stack[aws]=={__version__}"' in (ROOT / "README.md").read_text()
    assert f"mlops-stack[aws]=={__version__}" in (ROOT / "examples" / "platform-repo" / "requirements.txt").read_text()


# --- templates -------------------------------------------------------------------------


@pytest.mark.parametrize("cloud", ["aws", "gcp", "azure"])
def test_templates_follow_pulumi_new(cloud: str, tmp_path: Path) -> None:
    doc = yaml.safe_load((templates.template_dir(cloud) / "Pulumi.yaml").read_text())
    assert doc["name"] == "${PROJECT}" and doc["description"] == "${DESCRIPTION}" and doc["runtime"]["name"] == "python"
    prompts = doc["template"]["config"]
    assert prompts["mlops-stack:cloud"]["default"] == cloud
    assert all(p.get("description") for p in prompts.values())
    answers = {"gcp:project": "ml-platform-dev"} if cloud == "gcp" else {}
    written = templates.render(cloud, tmp_path / "repo", answers=answers)
    names = sorted(p.relative_to(tmp_path / "repo").as_posix() for p in written)
    assert names == [".github/workflows/mlops-stack.yml", ".gitignore", "Pulumi.dev.yaml", "Pulumi.yaml", "__main__.py", "requirements.txt"]
    project = yaml.safe_load((tmp_path / "repo" / "Pulumi.yaml").read_text())
    assert project == {"name": "repo", "description": doc["template"]["description"], "runtime": doc["runtime"]}
    stack = yaml.safe_load((tmp_path / "repo" / "Pulumi.dev.yaml").read_text())["config"]
    assert set(stack) == set(prompts)
    assert stack["mlops-stack:tags"] == {"owner": "ml-platform", "cost-center": "ml-0000"}
    assert not re.search(r"\$\{(PROJECT|DESCRIPTION)\}", "".join(p.read_text() for p in written))


def test_init_names_a_missing_answer() -> None:
    with pytest.raises(ConfigError) as err:
        templates.stack_config("gcp", {})
    assert str(err.value) == ("--config: the gcp template needs gcp:project: The GCP project ID to deploy into "
                              "(pass --config gcp:project=VALUE)")


# --- stack files beside a program ----------------------------------------------------------


def _program(tmp_path: Path, stacks: list[str], stack_dir: str | None = None) -> Path:
    prog = tmp_path / "prog"
    prog.mkdir()
    (prog / "Pulumi.yaml").write_text("name: p\nruntime: python\n" + (f"stackConfigDir: {stack_dir}\n" if stack_dir else ""))
    (prog / "__main__.py").write_text("")
    d = prog / stack_dir if stack_dir else prog
    d.mkdir(exist_ok=True)
    for s in stacks:
        (d / f"Pulumi.{s}.yaml").write_text("config:\n  p:team: ml\n")
    return prog


def _files(argv: list[str]) -> list[Path]:
    from mlops_stack.cli import _parser, stack_files

    return stack_files(_parser().parse_args(argv))


def test_program_stack_files_are_found_like_the_pulumi_cli(tmp_path: Path) -> None:
    prog = _program(tmp_path, ["dev"], stack_dir="envs")
    assert _files(["plan", "--program", str(prog)]) == [prog / "envs" / "Pulumi.dev.yaml"]


def test_all_with_a_program_means_its_stacks(tmp_path: Path) -> None:
    prog = _program(tmp_path, ["dev", "prod"])
    assert _files(["plan", "--program", str(prog), "--all"]) == [prog / "Pulumi.dev.yaml", prog / "Pulumi.prod.yaml"]


def test_every_rule_module_registers() -> None:
    import importlib
    import pkgutil
    import sys

    rules = importlib.import_module("mlops_policies.rules")
    modules = [m.name for m in pkgutil.iter_modules(rules.__path__) if not m.name.startswith("_")]
    assert modules and all(f"mlops_policies.rules.{m}" in sys.modules for m in modules)
    assert {r.check.__module__ if r.check else r.stack_check.__module__ for r in rules.RULES} >= {f"mlops_policies.rules.{m}" for m in modules}


def test_program_with_several_stacks_says_what_to_pass(tmp_path: Path) -> None:
    prog = _program(tmp_path, ["dev", "prod"])
    with pytest.raises(ConfigError) as err:
        _files(["plan", "--program", str(prog)])
    assert str(err.value) == f"--stack: {prog} has several stacks (dev, prod) (pass --stack NAME or --config FILE)"
    assert _files(["plan", "--program", str(prog), "--stack", "prod"]) == [prog / "Pulumi.prod.yaml"]


def test_no_stack_outside_this_repository_says_what_to_pass(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    with pytest.raises(ConfigError) as err:
        _files(["plan"])
    assert str(err.value) == ("--config: no stack given and no Pulumi.<stack>.yaml in stacks "
                              "(pass --config path/to/Pulumi.<stack>.yaml, or --stack NAME --stacks-dir DIR)")


# --- one line, the right exit code --------------------------------------------------------


def test_usage_errors_are_one_line(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_:
        main(["plan", "--bogus"])
    assert exit_.value.code == EXIT_CONFIG
    assert capsys.readouterr().err == "error: unrecognized arguments: --bogus (see `mlops-stack --help`)\n"


def test_version(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_:
        main(["--version"])
    assert exit_.value.code == 0 and capsys.readouterr().out == f"mlops-stack {__version__}\n"


def test_an_unwritable_output_is_the_users(capsys: pytest.CaptureFixture[str]) -> None:
    args = ["plan", "--config", str(ROOT / "stacks" / "Pulumi.dev-aws.yaml"), "--no-policy", "--no-cost"]
    assert main([*args, "--output", "/nonexistent/plan.json"]) == EXIT_CONFIG
    assert capsys.readouterr().err == "error: --output: '/nonexistent/plan.json' cannot be written: No such file or directory\n"


def test_an_error_in_the_users_program_names_its_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    prog = _program(tmp_path, ["dev"])
    (prog / "__main__.py").write_text("import pulumi\n\nbuckets = {}\nbuckets['x']\n")
    assert main(["plan", "--program", str(prog), "--no-policy"]) == EXIT_CONFIG
    assert capsys.readouterr().err == "error: --program: __main__.py:4 raised KeyError: 'x'\n"


def test_a_missing_provider_sdk_names_the_extra() -> None:
    from mlops_stack.targets import missing_sdk

    err = missing_sdk(ModuleNotFoundError("No module named 'pulumi_gcp'", name="pulumi_gcp"))
    assert str(err) == "cloud: 'gcp' needs the gcp provider SDK (pulumi_gcp), which is not installed here (pip install 'mlops-stack[gcp]')"
    assert missing_sdk(ModuleNotFoundError("No module named 'numpy'", name="numpy")) is None


def test_a_bug_is_one_line_with_exit_3(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    import mlops_stack.cli as cli

    def broken(args: object) -> int:
        raise ValueError("first line\nsecond line")

    monkeypatch.setattr(cli, "_policies", broken)
    assert main(["policies", "--stack", "dev-aws"]) == EXIT_INTERNAL
    assert capsys.readouterr().err == (f"internal error (a bug in mlops-stack {__version__}, exit 3): ValueError: first line "
                                       "(rerun with --debug and report the traceback)\n")


def test_the_compatibility_table_lists_the_pins() -> None:
    readme = (ROOT / "README.md").read_text()
    section = readme[readme.index("## Versions and compatibility"):readme.index("## Layout")]
    rows = dict(re.findall(r"^\| (pulumi[a-z-]*)(?: \(Python SDK\))? \| ([0-9.]+) \|$", section, re.M))
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    pins = dict(d.split("==") for d in [*project["dependencies"], *sum(project["optional-dependencies"].values(), [])]
                if d.startswith("pulumi") and "==" in d)
    assert rows == pins


def test_a_bad_value_in_the_users_program_is_theirs(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    prog = _program(tmp_path, ["dev"])
    (prog / "__main__.py").write_text("from mlops_stack.spec import BucketSpec\n\nBucketSpec(name='Bad_Name')\n")
    assert main(["plan", "--program", str(prog), "--no-policy"]) == EXIT_CONFIG
    assert capsys.readouterr().err.startswith(
        "error: --program: __main__.py:3: BucketSpec.name: 'Bad_Name' must be 1-32 lower-case letters, digits and dashes"
    )


@pytest.mark.parametrize("cloud", ["aws", "gcp", "azure"])
def test_the_template_workflow_runs_real_commands(cloud: str) -> None:
    import shlex

    from mlops_stack.cli import _parser

    text = (templates.template_dir(cloud) / ".github" / "workflows" / "mlops-stack.yml").read_text()
    workflow = yaml.safe_load(text)
    assert set(workflow["jobs"]) == {"plan", "deploy"}
    commands = [line.strip().split(" || ")[0] for line in text.splitlines() if line.strip().startswith("mlops-stack ")]
    commands += re.findall(r"\$\((mlops-stack [^)]*)\)", text)
    assert len(commands) == 3
    for command in commands:
        _parser().parse_args(shlex.split(command)[1:])  # exits 2 on an unknown option
