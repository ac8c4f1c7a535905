"""The capability slot table (composition.SLOTS) drives MlopsStack.

The main test adds a capability the package has never heard of, the way a new one is
added (a kind in ``KIND_MODULES``, its ``Protocol`` and its ``Need`` in contracts.py, a
``Slot`` in composition.py),
plus its class in a target, and plans a stack that builds it: stack.py is not edited.
The toy target (tests/toy_target) is the target; the new class lives in this file.
"""

from __future__ import annotations

import dataclasses
import inspect
from pathlib import Path
from collections.abc import Iterator, Mapping
from typing import Any, Protocol, runtime_checkable

import pulumi
import pytest
from test_toy_target import toy_target  # noqa: F401 - the fixture

from mlops_stack import composition, contracts, stack, targets
from mlops_stack.errors import ConfigError
from mlops_stack.offline.engine import run_program
from mlops_stack.program import main as stack_program

ROOT_DIR = Path(__file__).resolve().parents[1]


@runtime_checkable
class Gauge(Protocol):
    """The fake capability's contract: a reading per bucket."""

    reading: pulumi.Output[str]


class _Probe(pulumi.CustomResource):
    def __init__(self, name: str, props: dict[str, Any], opts: pulumi.ResourceOptions) -> None:
        super().__init__("toy:index:Probe", name, props, opts)


class ToyGauge(pulumi.ComponentResource):
    """The toy target's class for the fake kind: one probe on one bucket of the store."""

    reading: pulumi.Output[str]

    def __init__(self, name: str, args: GaugeArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("mlops:toy:Gauge", name, None, opts)
        probe = _Probe(f"{name}-probe", {"bucket": args.bucket_name}, pulumi.ResourceOptions(parent=self))
        self.reading = pulumi.Output.concat("gauge:", args.bucket_name, ":", probe.urn.apply(lambda _: "ok"))
        self.register_outputs({"reading": self.reading})


@dataclasses.dataclass(frozen=True, kw_only=True)
class GaugeArgs:
    bucket: str
    bucket_name: pulumi.Input[str]


GAUGE_NEED = contracts.Need("Gauge", lambda s: bool(s.storage.buckets), "storage.buckets", lambda s: [b.name for b in s.storage.buckets], "list no buckets")
GAUGE_SLOT = composition.Slot(
    key="gauges",
    kind="Gauge",
    # One per spec bucket; reads the ArtifactStore built by an earlier slot.
    each=lambda s: enumerate(s.storage.buckets),
    role=lambda bucket: f"gauge-{bucket.name}",
    args=lambda b, bucket, i: GaugeArgs(bucket=bucket.name, bucket_name=b.get("store").bucket_names[bucket.name]),
    outputs=lambda b, made: {"gauges": {m.entry.name: m.value.reading for m in made}},
)


@pytest.fixture
def gauge_kind(toy_target: Any, monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:  # noqa: F811
    """The fake kind in contracts.py and composition.py (as a new capability adds it) and in the toy target."""
    monkeypatch.setitem(contracts.KIND_MODULES, "Gauge", "gauge")
    monkeypatch.setitem(contracts.PROTOCOLS, "Gauge", Gauge)
    monkeypatch.setattr(composition, "SLOTS", (*composition.SLOTS, GAUGE_SLOT))
    monkeypatch.setattr(contracts, "NEEDS", (*contracts.NEEDS, GAUGE_NEED))
    toy = targets.get("toy")
    with_gauge = dataclasses.replace(toy, capabilities={**(toy.capabilities or {}), "Gauge": f"{__name__}:ToyGauge"})
    registry = {**targets._registry(), "toy": with_gauge}  # noqa: SLF001 - the installed targets, toy with one more class
    monkeypatch.setattr(targets, "_registry", lambda: registry)
    yield toy_target


def test_a_new_capability_is_built_from_its_slot_without_editing_the_stack(gauge_kind: Any) -> None:
    built: dict[str, Any] = {}

    def program() -> None:
        built["stack"] = stack_program()

    plan = run_program(program, stack="lab", config=gauge_kind.SAMPLE_CONFIG)
    assert plan.type_counts() == {
        "mlops:index:MlopsStack": 1,
        "mlops:toy:Network": 1,
        "toy:index:Vlan": 1,
        "mlops:toy:ArtifactStore": 1,
        "toy:index:Bucket": 2,
        "mlops:toy:Gauge": 2,
        "toy:index:Probe": 2,
    }
    gauges = {r.name: r for r in plan.resources if r.type == "mlops:toy:Gauge"}
    assert sorted(gauges) == ["mlops-gauge-artifacts", "mlops-gauge-models"]
    stack_urn = next(r.urn for r in plan.resources if r.type == "mlops:index:MlopsStack")
    assert {r.parent for r in gauges.values()} == {stack_urn}
    # Each probe got its bucket's name from the sibling ArtifactStore.
    probes = sorted(r.inputs["bucket"] for r in plan.resources if r.type == "toy:index:Probe")
    assert probes == ["toy-mlops-store-artifacts", "toy-mlops-store-models"]
    # Its outputs come after the earlier slots' (slot order).
    assert list(plan.outputs) == ["cloud", "region", "environment", "bucket_uris", "gauges"]
    assert plan.outputs["gauges"] == {"artifacts": "gauge:toy-mlops-store-artifacts:ok", "models": "gauge:toy-mlops-store-models:ok"}
    stack_obj = built["stack"]
    assert [type(g).__name__ for g in stack_obj.gauges] == ["ToyGauge", "ToyGauge"]
    assert stack_obj.components["Gauge"] == stack_obj.gauges
    assert all(isinstance(g, Gauge) for g in stack_obj.gauges)


def test_a_target_lacking_the_new_capability_is_one_config_error(gauge_kind: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    registry = {**targets._registry(), "toy": gauge_kind.TARGET}  # noqa: SLF001 - the toy as installed: no Gauge
    monkeypatch.setattr(targets, "_registry", lambda: registry)
    with pytest.raises(ConfigError) as err:
        run_program(stack_program, stack="lab", config=gauge_kind.SAMPLE_CONFIG)
    assert str(err.value) == (
        "storage.buckets: ['artifacts', 'models'] needs a Gauge, which the Toy target does not offer "
        "(list no buckets; Toy offers: ArtifactStore, Network)"
    )


class _Mirror(pulumi.ComponentResource):
    def __init__(self, name: str, opts: pulumi.ResourceOptions) -> None:
        super().__init__("mlops:test:Mirror", name, None, opts)
        self.register_outputs({})


def _mirror_slot(outputs: Mapping[str, Any]) -> composition.Slot:
    # A slot with no kind of its own (as the Kubernetes layer): ``create`` makes it.
    return composition.Slot(
        key="mirror",
        kind=None,
        args=lambda b: None,
        create=lambda b, role, args: _Mirror(f"{b.name}-{role}", pulumi.ResourceOptions(parent=b.stack)),
        outputs=lambda b, made: outputs,
    )


def test_two_slots_adding_one_mapping_output_are_merged(toy_target: Any, monkeypatch: pytest.MonkeyPatch) -> None:  # noqa: F811
    # How cluster-served endpoints join the managed ones in ``endpoints``.
    monkeypatch.setattr(composition, "SLOTS", (*composition.SLOTS, _mirror_slot({"bucket_uris": {"mirror": "toy://mirror"}})))
    plan = run_program(stack_program, stack="lab", config=toy_target.SAMPLE_CONFIG)
    assert list(plan.outputs["bucket_uris"]) == ["artifacts", "models", "mirror"]
    assert plan.outputs["bucket_uris"]["mirror"] == "toy://mirror"
    assert plan.type_counts()["mlops:test:Mirror"] == 1


def test_two_slots_setting_one_plain_output_is_an_error(toy_target: Any, monkeypatch: pytest.MonkeyPatch) -> None:  # noqa: F811
    monkeypatch.setattr(composition, "SLOTS", (*composition.SLOTS, _mirror_slot({"cloud": "elsewhere"})))
    with pytest.raises(Exception, match="slot 'mirror' sets output 'cloud', which an earlier slot set to a non-mapping"):
        run_program(stack_program, stack="lab", config=toy_target.SAMPLE_CONFIG)


def test_the_stack_names_no_capability() -> None:
    source = inspect.getsource(stack)
    body = source[source.index("class MlopsStack") :]
    code = body[body.index("def __init__") :]
    for kind in contracts.KIND_MODULES:
        assert kind not in code, kind
    for word in ("ArtifactStoreArgs", "k8s_layer", "gpu_pools", "endpoints"):
        assert word not in code, word


def test_slot_keys_are_unique_and_do_not_shadow_the_component() -> None:
    keys = [s.key for s in composition.SLOTS]
    assert len(keys) == len(set(keys))
    for key in keys:
        assert not hasattr(pulumi.ComponentResource, key), key
    assert [s.key for s in composition.SLOTS] == [
        "network", "keys", "store", "registry", "model_registry", "cluster", "gpu_pools", "k8s", "endpoints", "serving",
        "tracking_server", "tracking_database", "tracking",
    ]  # fmt: skip
    assert [n.kind for n in contracts.NEEDS] == [
        "ArtifactStore", "ContainerRegistry", "ModelRegistry", "KubernetesCluster", "GpuNodePool", "ModelEndpoint", "WorkloadIdentity",
        "TrackingServer", "PostgresDatabase",
    ]  # fmt: skip
    # Every kind a spec can ask for is a kind a slot builds, in slot order.
    slot_kinds = [s.kind for s in composition.SLOTS]
    assert [slot_kinds.index(n.kind) for n in contracts.NEEDS] == sorted(slot_kinds.index(n.kind) for n in contracts.NEEDS)


def test_the_stack_attributes_users_rely_on_are_kept(toy_target: Any) -> None:  # noqa: F811
    # Every slot is an attribute: None / [] when not built (the toy offers a network and a store).
    built: dict[str, Any] = {}

    def program() -> None:
        built["stack"] = stack_program()

    run_program(program, stack="lab", config=toy_target.SAMPLE_CONFIG)
    s = built["stack"]
    assert type(s.network).__name__ == "Network" and type(s.store).__name__ == "ArtifactStore"
    assert (s.keys, s.registry, s.model_registry, s.cluster, s.k8s) == (None, None, None, None, None)
    assert (s.gpu_pools, s.endpoints) == ([], [])
    assert s.components == {"Network": [s.network], "ArtifactStore": [s.store]}
    assert list(s.outputs) == ["cloud", "region", "environment", "bucket_uris"]


@pytest.mark.parametrize("stack_file", sorted((ROOT_DIR / "stacks").glob("Pulumi.*.yaml")), ids=lambda p: p.stem.split(".", 1)[1])
def test_every_kind_a_spec_asks_for_is_built_by_a_slot_the_same_spec_wants(stack_file: Any) -> None:
    """``contracts.NEEDS`` is written out (the spec, below the composition, reads it), so it
    must not drift from the slots: on every example stack, each kind the spec asks for is
    the kind of a slot that the same spec wants and that builds at least one instance, and
    a kind that only one slot builds is built only when its Need asks."""
    from mlops_stack.offline.stackfile import read_stack_file
    from mlops_stack.spec import load_spec

    spec = load_spec(read_stack_file(stack_file).raw_spec)
    built = {s.kind for s in composition.SLOTS if s.kind and s.wanted(spec) and (s.each is None or list(s.each(spec)))}
    asked = {n.kind for n in contracts.NEEDS if n.asks(spec)}
    assert asked <= built, asked - built
    # A kind only one slot builds is built only when its Need asks (WorkloadIdentity is also
    # built by self-hosted tracking for its own server, which no spec key asks for).
    kinds = [s.kind for s in composition.SLOTS if s.kind]
    single = {n.kind for n in contracts.NEEDS if kinds.count(n.kind) == 1}
    assert (built & single) <= asked, (built & single) - asked
