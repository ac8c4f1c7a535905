"""Component args are typed: siblings as their contracts (mlops_stack.contracts), never Any."""

from __future__ import annotations

import dataclasses
import typing

import pytest

from mlops_stack import args as args_module
from mlops_stack import contracts

from mlops_stack.k8s import gpu as k8s_gpu

ARGS = [v for v in vars(args_module).values() if dataclasses.is_dataclass(v) and isinstance(v, type) and v.__module__ == args_module.__name__]
ARGS.append(k8s_gpu.GpuEnablementArgs)


def test_every_args_class_is_checked() -> None:
    names = {a.__name__ for a in ARGS}
    assert {"KeysArgs", "ArtifactStoreArgs", "ModelEndpointArgs", "KubernetesClusterArgs", "GpuNodePoolArgs", "MonitoringArgs"} <= names


@pytest.mark.parametrize("cls", ARGS, ids=lambda c: c.__name__)
def test_no_field_is_typed_any(cls: type) -> None:
    for f in dataclasses.fields(cls):
        annotation = f.type if isinstance(f.type, str) else repr(f.type)
        assert "Any" not in annotation.replace("Mapping[str, Any]", ""), (cls.__name__, f.name, annotation)


@pytest.mark.parametrize("cls", ARGS, ids=lambda c: c.__name__)
def test_annotations_resolve_to_real_types(cls: type) -> None:
    ns = {**vars(args_module), **vars(k8s_gpu), **{n: getattr(contracts, n) for n in contracts.PROTOCOLS}, "ClusterRef": contracts.ClusterRef}
    from pydantic import BaseModel

    ns["BaseModel"] = BaseModel
    hints = typing.get_type_hints(cls, globalns=ns)
    assert set(hints) >= {f.name for f in dataclasses.fields(cls)}


def test_model_endpoint_args_has_no_dead_cloud_options() -> None:
    assert "cloud_options" not in {f.name for f in dataclasses.fields(args_module.ModelEndpointArgs)}


@pytest.mark.parametrize("target", ["aws", "gcp", "azure"])
def test_each_cluster_takes_its_own_targets_options(target: str) -> None:
    # KubernetesClusterArgs[<the target's options model>], not a bare BaseModel.
    from mlops_stack import targets

    t = targets.get(target)
    cls = t.component("KubernetesCluster")
    module = __import__(cls.__module__, fromlist=["_"])
    hints = typing.get_type_hints(cls.__init__, globalns=vars(module))
    assert hints["args"] == args_module.KubernetesClusterArgs[t.options()]
    field = next(f for f in dataclasses.fields(args_module.KubernetesClusterArgs) if f.name == "cloud_options")
    assert field.type == "TargetOptions | None"
    assert args_module.TargetOptions.__bound__ is __import__("pydantic").BaseModel


@pytest.mark.parametrize(("target", "other"), [("aws", "gcp"), ("gcp", "azure"), ("azure", "aws")])
def test_another_targets_cluster_options_are_one_config_error(target: str, other: str) -> None:
    # Before: silently ignored (getattr defaults). Now: one line, nothing registered.
    from types import SimpleNamespace

    from mlops_stack import targets
    from mlops_stack.errors import ConfigError
    from mlops_stack.offline.engine import run_program

    t, o = targets.get(target), targets.get(other)
    wrong = o.options()()

    def program() -> None:
        args = args_module.KubernetesClusterArgs(env=args_module.Env(region="r1"), network=SimpleNamespace(), cloud_options=wrong)
        t.component("KubernetesCluster")("c", args)

    with pytest.raises(ConfigError) as err:
        run_program(program, stack="dev")
    model = t.options()
    assert str(err.value) == (
        f"KubernetesClusterArgs.cloud_options: {type(wrong).__name__!r} must be {model.__module__}.{model.__name__} (this target's own options)"
    )
