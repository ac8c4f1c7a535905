"""The spec of cluster endpoints (``endpoints[].runsOn: cluster``): one line naming the key
for every bad combination, on the stack-file path and for a model built in Python."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest
import yaml

from mlops_stack import contracts
from mlops_stack.errors import ConfigError
from mlops_stack.ops_report import managed_outputs
from mlops_stack.spec import EndpointSpec, endpoint_pool, load_spec

ROOT = Path(__file__).resolve().parents[1]
RAW = {k.split(":", 1)[1]: v for k, v in yaml.safe_load((ROOT / "stacks" / "Pulumi.dev-aws.yaml").read_text())["config"].items()}


def ep(**changes: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "name": "llm",
        "gpu": "nvidia-t4",
        "runsOn": "cluster",
        "model": {"artifact": {"bucket": "models", "key": "m/v1"}, "framework": {"name": "huggingface", "version": "1"}},
    }
    base.update(changes)
    return base


def spec_with(*endpoints: dict[str, Any], **top: Any) -> Any:
    raw = copy.deepcopy(RAW)
    raw["endpoints"] = list(endpoints)
    raw.update(top)
    return load_spec(raw)


def error(*endpoints: dict[str, Any], **top: Any) -> str:
    with pytest.raises(ConfigError) as err:
        spec_with(*endpoints, **top)
    return str(err.value)


def test_managed_is_the_default_and_one_line_switches() -> None:
    spec = spec_with(ep(runsOn="managed", gpu=None, cpuSize="small", model={"artifact": {"bucket": "models", "key": "m"}, "image": "r/s:1"}))
    assert spec.endpoints[0].runs_on == "managed" and spec.cluster_endpoints == []
    spec = spec_with(ep())
    assert [e.name for e in spec.cluster_endpoints] == ["llm"] and spec.managed_endpoints == []


def test_default_pool_is_the_first_offering_the_gpu_and_gpu_pool_picks_another() -> None:
    spec = spec_with(ep())
    assert endpoint_pool(spec.cluster, spec.endpoints[0]).name == "train"  # dev-aws: train (4x T4) comes first
    spec = spec_with(ep(gpuPool="infer"))
    assert endpoint_pool(spec.cluster, spec.endpoints[0]).name == "infer"
    spec = spec_with(ep(gpu=None, cpuSize="small"))
    assert endpoint_pool(spec.cluster, spec.endpoints[0]) is None


BAD = {
    "pool typo": (ep(gpuPool="inferr"), "endpoints[0].gpuPool: 'inferr' is not one of cluster.gpuPools (did you mean 'infer'?)"),
    "no pool with the gpu": (
        ep(gpu="nvidia-l4"),
        "endpoints[0].gpu: 'nvidia-l4' is offered by no cluster.gpuPools entry (add a pool with gpu: nvidia-l4, or set runsOn: managed; pool GPUs: nvidia-t4)",
    ),
    "pool with another gpu": (
        ep(gpu="nvidia-a100-80gb", gpuPool="infer"),
        "endpoints[0].gpuPool: 'infer' has nvidia-t4 GPUs, but the endpoint asks for nvidia-a100-80gb (name a pool with that gpu, or change gpu)",
    ),
    "more gpus than a node": (
        ep(gpusPerInstance=2, gpuPool="infer"),
        "endpoints[0].gpusPerInstance: 2 is more than pool infer has per node (1) (use at most 1, or a pool with more GPUs per node)",
    ),
    "replicas beyond the pool": (
        ep(maxInstances=5, gpuPool="infer"),
        "endpoints[0].maxInstances: 5 replicas can never all be scheduled: pool infer holds at most 2 (2 nodes x 1 per node) (use at most 2, or raise the pool's maxNodes)",
    ),
    "min above max": (ep(minInstances=3, maxInstances=2), "endpoints[0].minInstances: 3 is greater than maxInstances (2)"),
    "vllm": (
        ep(model={"artifact": {"bucket": "models", "key": "m"}, "framework": {"name": "vllm", "version": "0.6"}}),
        "endpoints[0].model.framework.name: 'vllm' is not a serving runtime for runsOn: cluster (KServe's vLLM runtime image is not pinned upstream (tag latest); use framework huggingface, which runs vLLM for generative models)",
    ),
    "unknown runtime": (
        ep(model={"artifact": {"bucket": "models", "key": "m"}, "framework": {"name": "sklearnn", "version": "1"}}),
        "endpoints[0].model.framework.name: 'sklearnn' is not a serving runtime for runsOn: cluster (did you mean 'sklearn'?)",
    ),
    "data capture": (
        ep(dataCapture={"enabled": True}),
        "endpoints[0].dataCapture.enabled: True is not available for runsOn: cluster (the cluster endpoint captures nothing to a bucket; set dataCapture.enabled: false, or runsOn: managed)",
    ),
    "public": (
        ep(private=False),
        "endpoints[0].private: False is not allowed for runsOn: cluster: a cluster endpoint has an in-cluster address only (set private: true, or runsOn: managed)",
    ),
    "gpuPool on managed": (ep(runsOn="managed", gpuPool="infer"), "endpoints[0].gpuPool: 'infer' is only for runsOn: cluster (remove gpuPool, or set runsOn: cluster)"),
    "gpuPool on cpu": (
        ep(gpu=None, cpuSize="small", gpuPool="infer"),
        "endpoints[0].gpuPool: 'infer' needs gpu: a CPU endpoint runs on the cluster's general nodes (remove gpuPool or set gpu)",
    ),
    "runsOn typo": (ep(runsOn="clusterr"), "endpoints[0].runsOn: 'clusterr' must be one of managed, cluster (did you mean 'cluster'?)"),
    "bucket": (
        ep(model={"artifact": {"bucket": "modelz", "key": "m"}, "framework": {"name": "sklearn", "version": "1"}}),
        "endpoints[0].model.artifact.bucket: 'modelz' is not one of storage.buckets (did you mean 'models'?)",
    ),
}


@pytest.mark.parametrize("case", sorted(BAD))
def test_bad_cluster_endpoints_are_one_line(case: str) -> None:
    endpoint, line = BAD[case]
    assert error(endpoint) == line


def test_cluster_endpoint_needs_a_cluster_and_the_in_cluster_layer() -> None:
    assert error(ep(), cluster={**RAW["cluster"], "inCluster": False}) == (
        "endpoints[0].runsOn: 'cluster' needs the in-cluster layer, but cluster.inCluster is false "
        "(set runsOn: managed until the second phase of the first apply (docs/first-apply.md))"
    )
    assert error(ep(), cluster={"enabled": False}, monitoring={"enabled": False}, namespaces=[]) == (
        "endpoints[0].runsOn: 'cluster' needs a cluster, but cluster.enabled is false (set runsOn: managed, or enable the cluster)"
    )


def test_the_second_endpoint_is_named_in_the_path() -> None:
    managed = ep(name="tabular", runsOn="managed", gpu=None, cpuSize="small", model={"artifact": {"bucket": "models", "key": "m"}, "image": "r/s:1"})
    assert error(managed, ep(gpuPool="nope")).startswith("endpoints[1].gpuPool: 'nope' is not one of cluster.gpuPools")


def test_the_model_alone_gives_the_same_line_in_python() -> None:
    with pytest.raises(ConfigError) as err:
        EndpointSpec(**ep(private=False))
    assert str(err.value).startswith("EndpointSpec.private: False is not allowed for runsOn: cluster")


def test_only_managed_endpoints_ask_the_target_for_a_model_endpoint_service() -> None:
    need = next(n for n in contracts.NEEDS if n.kind == "ModelEndpoint")
    assert need.asks(spec_with(ep())) is False
    mixed = spec_with(ep(), ep(name="tabular", runsOn="managed", gpu=None, cpuSize="small", model={"artifact": {"bucket": "models", "key": "m"}, "image": "r/s:1"}))
    assert need.asks(mixed) is True and need.value(mixed) == ["tabular"]


def test_smoke_skips_cluster_endpoints() -> None:
    spec = spec_with(ep(), ep(name="tabular", runsOn="managed", gpu=None, cpuSize="small", model={"artifact": {"bucket": "models", "key": "m"}, "image": "r/s:1"}))
    outputs = {"endpoints": {"llm": {"endpoint_name": "llm", "invoke_url": "http://llm-predictor.serving.svc.cluster.local"}, "tabular": {"endpoint_name": "t"}}}
    assert managed_outputs(outputs, spec) == {"tabular": {"endpoint_name": "t"}}


@pytest.mark.parametrize("key", ["models/my model/v1", "a//b", "a/../b"])
def test_a_cluster_model_key_must_be_a_grantable_prefix(key: str) -> None:
    line = error(ep(model={"artifact": {"bucket": "models", "key": key}, "framework": {"name": "sklearn", "version": "1"}}))
    assert line.startswith(f"endpoints[0].model.artifact.key: {key!r} cannot be a cluster endpoint's model folder: its read access is granted on exactly this prefix (")


def _model(key: str, bucket: str = "models") -> dict[str, Any]:
    return {"artifact": {"bucket": bucket, "key": key}, "framework": {"name": "huggingface", "version": "1"}}


@pytest.mark.parametrize(("first", "second"), [("m/v1", "m/v10"), ("m/v1", "m/v1/extra"), ("m/v1", "m/v1.old")])
def test_a_model_folder_that_is_a_string_prefix_of_another_key_is_one_line(first: str, second: str) -> None:
    """Issue 26 #13: KServe v0.20.0 lists an Azure Blob folder without its trailing '/', so the
    listing of ``m/v1`` returns ``m/v10``'s blobs, which the exact grant refuses: the download
    fails. Refused on every cloud, naming both keys, in either order."""
    reason = "in bucket 'models': KServe lists a model folder on Azure Blob without its trailing '/' and would download the other folder's files too"
    hint = "(rename one folder so that neither name starts with the other: v01 and v10, not v1 and v10)"
    line = error(ep(model=_model(first)), ep(name="llm2", model=_model(second)))
    assert line == f"endpoints[0].model.artifact.key: {first!r} is a string prefix of endpoints[1].model.artifact.key {second!r} {reason} {hint}"
    line = error(ep(name="llm2", model=_model(second)), ep(model=_model(first)))
    assert line.startswith(f"endpoints[1].model.artifact.key: {first!r} is a string prefix of endpoints[0].model.artifact.key {second!r} ")


def test_model_folders_apart_or_in_other_buckets_are_fine() -> None:
    spec = spec_with(ep(model=_model("m/v1")), ep(name="llm2", model=_model("m/v2")), ep(name="llm3", model=_model("m/v10", bucket="artifacts")))
    assert [e.model.artifact.key for e in spec.endpoints] == ["m/v1", "m/v2", "m/v10"]
    # Two endpoints may serve the very same folder.
    assert len(spec_with(ep(model=_model("m/v1")), ep(name="llm2", model=_model("m/v1"))).endpoints) == 2


def test_a_model_folder_that_is_a_prefix_of_the_mlflow_artifacts_is_refused() -> None:
    line = error(ep(model=_model("ml", bucket="artifacts")))  # dev-aws: tracking on, default bucket artifacts
    assert line.startswith("endpoints[0].model.artifact.key: 'ml' is a string prefix of tracking (MLflow artifacts) 'mlflow' in bucket 'artifacts': ")
