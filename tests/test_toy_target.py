"""A target from outside the package: registered through the entry point, planned offline.

The toy target (tests/toy_target/toy_target) offers two capabilities. Installing it
touches no file of mlops_stack: the fixture writes the dist-info a ``pip install`` of
it would write (``entry_points.txt`` in group ``mlops_stack.targets``) and puts it on
``sys.path``; discovery goes through ``importlib.metadata`` unpatched.
"""

from __future__ import annotations

import importlib
import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from mlops_stack import targets
from mlops_stack.errors import ConfigError
from mlops_stack.offline.engine import run_program
from mlops_stack.program import main as stack_program

HERE = Path(__file__).resolve().parent


@pytest.fixture
def toy_target(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[object]:
    dist = tmp_path / "toy_target-0.1.dist-info"
    dist.mkdir()
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: toy-target\nVersion: 0.1\n")
    (dist / "entry_points.txt").write_text("[mlops_stack.targets]\ntoy = toy_target:TARGET\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.syspath_prepend(str(HERE / "toy_target"))
    importlib.invalidate_caches()
    targets.reset()
    import toy_target

    yield toy_target
    monkeypatch.undo()
    importlib.invalidate_caches()
    targets.reset()


def test_toy_is_discovered_through_the_entry_point(toy_target: object) -> None:
    assert targets.names() == ("aws", "gcp", "azure", "toy")
    toy = targets.get("toy")
    assert toy is toy_target.TARGET  # type: ignore[attr-defined]
    assert toy.kinds() == ("Network", "ArtifactStore")
    assert not toy.offers("KubernetesCluster")


def test_toy_is_not_a_target_without_its_distribution() -> None:
    targets.reset()
    assert "toy" not in targets.names()
    with pytest.raises(ConfigError) as err:
        targets.get("toy")
    assert str(err.value) == "cloud: 'toy' must be one of aws, gcp, azure"


def test_a_stack_on_the_toy_target_has_exactly_its_two_capabilities(toy_target: object) -> None:
    plan = run_program(stack_program, stack="lab", config=toy_target.SAMPLE_CONFIG)  # type: ignore[attr-defined]
    assert plan.type_counts() == {
        "mlops:index:MlopsStack": 1,
        "mlops:toy:Network": 1,
        "toy:index:Vlan": 1,
        "mlops:toy:ArtifactStore": 1,
        "toy:index:Bucket": 2,
    }
    assert not [r for r in plan.resources if r.type.startswith("pulumi:providers:")]
    uris = plan.outputs["bucket_uris"]
    assert sorted(uris) == ["artifacts", "models"]
    assert all(u.startswith("toy://toy-") for u in uris.values()), uris
    assert {"registry_url", "cluster_name", "model_registry_id", "endpoints"}.isdisjoint(plan.outputs)
    assert plan.outputs["cloud"] == "toy"


def test_asking_the_toy_target_for_a_cluster_is_one_config_error(toy_target: object) -> None:
    config = {k: v for k, v in toy_target.SAMPLE_CONFIG.items() if k != "mlops-stack:cluster"}  # type: ignore[attr-defined]
    with pytest.raises(ConfigError) as err:
        run_program(stack_program, stack="lab", config=config)
    assert str(err.value) == (
        "cluster.enabled: True needs a KubernetesCluster, which the Toy target does not offer "
        "(set cluster.enabled: false; Toy offers: ArtifactStore, Network)"
    )


def test_asking_the_toy_target_for_repositories_names_the_key(toy_target: object) -> None:
    config = dict(toy_target.SAMPLE_CONFIG)  # type: ignore[attr-defined]
    config["mlops-stack:containerRegistry"] = json.dumps({"repositories": ["serving"]})
    with pytest.raises(ConfigError) as err:
        run_program(stack_program, stack="lab", config=config)
    assert str(err.value) == (
        "containerRegistry.repositories: ['serving'] needs a ContainerRegistry, which the Toy target does not offer "
        "(set containerRegistry.repositories: []; Toy offers: ArtifactStore, Network)"
    )


def test_the_toy_targets_own_spec_section(toy_target: object) -> None:
    from mlops_stack.spec import load_spec

    raw = {"cloud": "toy", "region": "lab-1", "cluster": {"enabled": False}, "modelRegistry": {"enabled": False},
           "monitoring": {"enabled": False}, "containerRegistry": {"repositories": []}}
    spec = load_spec({**raw, "toy": {"rack": "r7"}})
    assert spec.options is not None and spec.options.rack == "r7"  # type: ignore[attr-defined]
    with pytest.raises(ConfigError) as err:
        load_spec({**raw, "toy": {"rak": "r7"}})
    assert str(err.value) == "toy.rak: is not a known key (did you mean 'rack'?)"
