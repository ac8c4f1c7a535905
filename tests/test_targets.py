"""Target discovery (mlops_stack.targets): order, laziness, and the lines a bad plugin gets."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from mlops_stack import targets
from mlops_stack.contracts import KIND_MODULES
from mlops_stack.errors import ConfigError
from mlops_stack.spec import load_spec


def test_built_in_targets_in_order_with_every_capability() -> None:
    assert targets.names() == ("aws", "gcp", "azure")
    for t in targets.all():
        # GCP has no managed MLflow: no TrackingServer (tracking.mode: self-hosted there).
        expected = tuple(k for k in KIND_MODULES if not (t.name == "gcp" and k == "TrackingServer"))
        assert t.kinds() == expected, t.name
        assert t.package == f"mlops_stack.{t.name}"
    assert targets.by_provider_package("azure-native") is targets.get("azure")
    assert targets.by_provider_package("kubernetes") is None


def test_an_unknown_cloud_is_one_line_with_a_guess() -> None:
    with pytest.raises(ConfigError) as err:
        targets.get("awz")
    assert str(err.value) == "cloud: 'awz' must be one of aws, gcp, azure (did you mean 'aws'?)"
    with pytest.raises(ConfigError) as err:
        load_spec({"cloud": "azur", "region": "eastus"})
    assert str(err.value) == "cloud: 'azur' must be one of aws, gcp, azure (did you mean 'azure'?)"


def test_discovery_and_spec_import_no_provider_sdk() -> None:
    code = (
        "import sys\n"
        "from mlops_stack import targets\n"
        "from mlops_stack.spec import load_spec\n"
        "assert targets.names() == ('aws', 'gcp', 'azure')\n"
        "[t.kinds() for t in targets.all()]\n"
        "load_spec({'cloud': 'gcp', 'region': 'us-central1', 'gcp': {'project': 'my-project-1'}})\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] in ('pulumi_aws', 'pulumi_gcp', 'pulumi_azure_native')))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def _found(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, entry: str, module: str) -> ConfigError:
    dist = tmp_path / "bad_target-0.1.dist-info"
    dist.mkdir()
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: bad-target\nVersion: 0.1\n")
    (dist / "entry_points.txt").write_text(f"[mlops_stack.targets]\n{entry}\n")
    mod = entry.split("=")[1].strip().split(":")[0]
    (tmp_path / f"{mod}.py").write_text(module)
    monkeypatch.syspath_prepend(str(tmp_path))
    targets.reset()
    try:
        with pytest.raises(ConfigError) as err:
            targets.names()
    finally:
        monkeypatch.undo()
        sys.modules.pop(mod, None)
        targets.reset()
    return err.value


def test_a_plugin_object_that_is_not_a_target(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    err = _found(tmp_path, monkeypatch, "bad = bad_target:TARGET", "TARGET = {'name': 'bad'}\n")
    assert str(err) == "cloud: 'dict' target 'bad' from bad_target:TARGET (bad-target) is not a mlops_stack.targets.Target"


def test_a_plugin_registered_under_another_name(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    module = "from mlops_stack.targets import Target\nTARGET = Target(name='other', display_name='Other', package='bad_target')\n"
    err = _found(tmp_path, monkeypatch, "bad = bad_target2:TARGET", module)
    assert str(err) == "cloud: target registered as 'bad' from bad_target2:TARGET (bad-target) calls itself 'other' (make the names equal)"


def test_a_second_aws(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    module = "from mlops_stack.targets import Target\nTARGET = Target(name='aws', display_name='AWS 2', package='bad_target')\n"
    err = _found(tmp_path, monkeypatch, "aws = bad_target3:TARGET", module)
    assert "target 'aws' is registered twice" in str(err) and "(uninstall one of them)" in str(err)


def test_missing_sdk_names_the_extra() -> None:
    err = targets.missing_sdk(ModuleNotFoundError("No module named 'pulumi_gcp'", name="pulumi_gcp.compute"))
    assert err is not None
    assert str(err) == "cloud: 'gcp' needs the gcp provider SDK (pulumi_gcp), which is not installed here (pip install 'mlops-stack[gcp]')"
    assert targets.missing_sdk(ModuleNotFoundError("x", name="yaml")) is None


def test_the_offline_engine_names_no_target() -> None:
    """The per-target mock helpers and fake identities live in the targets' mock modules."""
    import re
    from pathlib import Path

    from mlops_stack.offline import engine

    text = Path(engine.__file__).read_text()
    for name in targets.names():
        assert not re.search(rf"\b{name}\b", text, re.I), name


def test_moved_mock_names_still_resolve_through_the_engine() -> None:
    """Deprecated spellings kept until the open branches rebase: ``engine.ACCOUNT_ID`` and
    ``ctx.aws_region(...)`` find the target mock module's constant and helper."""
    from mlops_stack.aws import mocks as aws_mocks
    from mlops_stack.gcp import mocks as gcp_mocks
    from mlops_stack.offline import engine

    assert engine.ACCOUNT_ID == aws_mocks.ACCOUNT_ID == "123456789012"
    ctx = engine.MockContext(project="p", stack="s", config={"aws:region": "eu-west-1", "gcp:project": "proj"})
    assert ctx.aws_region() == aws_mocks.aws_region(ctx) == "eu-west-1"
    assert ctx.gcp_project({}) == gcp_mocks.gcp_project(ctx, {}) == "proj"
    with pytest.raises(AttributeError):
        ctx.no_such_helper  # noqa: B018
    with pytest.raises(AttributeError):
        engine.NO_SUCH_CONSTANT  # noqa: B018
