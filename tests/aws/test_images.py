"""Framework endpoints: the serving image is resolved offline by the SageMaker SDK's
image-URI lookup (sagemaker-core) for the region and the endpoint's instance type; bad
names and versions are ConfigErrors with the key path, before any resource exists."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
from mlops_stack import targets
from mlops_stack.aws import images
from mlops_stack.aws.images import resolve_image
from mlops_stack.errors import ConfigError
from mlops_stack.offline.plan import plan_stack_file
from mlops_stack.spec import FrameworkSpec, load_spec
from planning import ROOT, plan_config

FIXTURE = ROOT / "tests" / "fixtures" / "aws" / "Pulumi.smoke-aws.yaml"

# Two frameworks (TGI on a GPU type, XGBoost on a CPU type) x two regions. The registry
# accounts differ per region: the Deep Learning Containers account is 763104351884 in
# most regions but 871362719292 in the opt-in region ap-east-1; the first-party
# algorithm images (xgboost, sklearn) have an account per region.
EXPECTED = {
    ("huggingface-llm", "3.3.6", "us-east-1", "ml.g5.xlarge"): "763104351884.dkr.ecr.us-east-1.amazonaws.com/"
    "huggingface-pytorch-tgi-inference:2.7.0-tgi3.3.6-gpu-py311-cu124-ubuntu22.04",
    ("huggingface-llm", "3.3.6", "ap-east-1", "ml.g5.xlarge"): "871362719292.dkr.ecr.ap-east-1.amazonaws.com/"
    "huggingface-pytorch-tgi-inference:2.7.0-tgi3.3.6-gpu-py311-cu124-ubuntu22.04",
    ("xgboost", "1.7-1", "us-east-1", "ml.m5.large"): "683313688378.dkr.ecr.us-east-1.amazonaws.com/sagemaker-xgboost:1.7-1",
    ("xgboost", "1.7-1", "ap-east-1", "ml.m5.large"): "651117190479.dkr.ecr.ap-east-1.amazonaws.com/sagemaker-xgboost:1.7-1",
}


@pytest.mark.parametrize(("name", "version", "region", "instance_type"), sorted(EXPECTED))
def test_two_frameworks_in_two_regions_resolve_to_the_exact_uri(name: str, version: str, region: str, instance_type: str) -> None:
    uri = resolve_image(FrameworkSpec(name=name, version=version), region, instance_type)
    assert uri == EXPECTED[(name, version, region, instance_type)]
    account, _, host_rest = uri.partition(".dkr.ecr.")
    assert host_rest.startswith(f"{region}.amazonaws.com/")
    assert account == {"us-east-1": {"huggingface-llm": "763104351884", "xgboost": "683313688378"},
                       "ap-east-1": {"huggingface-llm": "871362719292", "xgboost": "651117190479"}}[region][name]


def test_the_instance_type_picks_the_cpu_or_gpu_image_and_py_version_is_honoured() -> None:
    fw = FrameworkSpec(name="pytorch", version="2.3", py_version="py311")
    assert resolve_image(fw, "eu-west-1", "ml.g5.xlarge") == "763104351884.dkr.ecr.eu-west-1.amazonaws.com/pytorch-inference:2.3-gpu-py311"
    assert resolve_image(fw, "eu-west-1", "ml.m5.large") == "763104351884.dkr.ecr.eu-west-1.amazonaws.com/pytorch-inference:2.3-cpu-py311"


def test_aliases_name_the_same_images() -> None:
    tgi = resolve_image(FrameworkSpec(name="tgi", version="3.3.6"), "us-east-1", "ml.g5.xlarge")
    assert tgi == EXPECTED[("huggingface-llm", "3.3.6", "us-east-1", "ml.g5.xlarge")]
    assert resolve_image(FrameworkSpec(name="scikit-learn", version="1.2-1"), "us-east-1", "ml.m5.large") == (
        "683313688378.dkr.ecr.us-east-1.amazonaws.com/sagemaker-scikit-learn:1.2-1-cpu-py3"
    )


def test_results_are_cached() -> None:
    images.cache_clear()
    fw = FrameworkSpec(name="xgboost", version="1.7-1")
    resolve_image(fw, "us-east-1", "ml.m5.large", path="endpoints[3].model.framework")
    resolve_image(fw, "us-east-1", "ml.m5.large")
    assert images._resolve.cache_info().hits == 1


# --- errors: the key path, the value, what exists -------------------------------------


def _spec(framework: dict, *, gpu: str | None = "nvidia-a10g", cpu: str | None = None, region: str = "us-east-1") -> object:
    ep: dict = {"name": "chat", "model": {"artifact": {"bucket": "models", "key": "chat/model.tar.gz"}, "framework": framework}}
    if gpu:
        ep["gpu"] = gpu
    if cpu:
        ep["cpuSize"] = cpu
    return load_spec({"cloud": "aws", "region": region, "endpoints": [{"name": "other", "cpuSize": "small", "model": {
        "artifact": {"bucket": "models", "key": "o/model.tar.gz"}, "image": "123456789012.dkr.ecr.us-east-1.amazonaws.com/x:1"}}, ep]})


def _error(framework: dict, **kw: object) -> ConfigError:
    with pytest.raises(ConfigError) as info:
        targets.check(_spec(framework, **kw))
    return info.value


def test_unknown_framework_names_the_key_and_lists_what_exists() -> None:
    err = _error({"name": "pytorh", "version": "2.3"})
    assert err.path == "endpoints[1].model.framework.name"
    assert str(err) == (
        "endpoints[1].model.framework.name: 'pytorh' is not a framework with SageMaker serving images (did you mean 'pytorch'? "
        "frameworks: djl-lmi, djl-tensorrtllm, huggingface-llm, huggingface-sglang, huggingface-tei, huggingface-tei-cpu, "
        "huggingface-vllm, llama-cpp, pytorch, sagemaker-tritonserver, sglang, sklearn, tensorflow, vllm, xgboost)"
    )
    err = _error({"name": "onnx", "version": "1"})
    assert str(err).startswith("endpoints[1].model.framework.name: 'onnx' is not a framework with SageMaker serving images (frameworks: djl-lmi, ")
    for name in ("huggingface-llm", "pytorch", "sklearn", "xgboost"):
        assert name in str(err)


def test_unknown_version_names_the_key_and_lists_the_newest_versions() -> None:
    err = _error({"name": "huggingface-llm", "version": "3.3.7"})
    assert err.path == "endpoints[1].model.framework.version"
    text = str(err)
    assert text.startswith("endpoints[1].model.framework.version: '3.3.7' is not a huggingface-llm serving-image version (did you mean ")
    assert "newest: " in text and "3.3.6" in text and "in all)" in text
    err = _error({"name": "xgboost", "version": "9.9-9"}, gpu=None, cpu="small")
    assert err.path == "endpoints[1].model.framework.version" and "1.7-1" in str(err)


def test_unknown_python_version_lists_the_offered_ones() -> None:
    err = _error({"name": "pytorch", "version": "2.3", "pyVersion": "py27"})
    assert str(err) == "endpoints[1].model.framework.pyVersion: 'py27' is not offered for pytorch 2.3 (python versions: py311)"


def test_a_gpu_only_framework_on_a_cpu_endpoint_points_at_cpu_size() -> None:
    err = _error({"name": "huggingface-llm", "version": "3.3.6"}, gpu=None, cpu="small")
    assert err.path == "endpoints[1].cpuSize"
    assert "is a CPU instance type, but huggingface-llm 3.3.6 has GPU images only" in str(err)
    err = _error({"name": "sklearn", "version": "1.2-1"})
    assert err.path == "endpoints[1].gpu" and "has CPU images only" in str(err)


def test_a_bad_framework_registers_no_resource() -> None:
    config = {
        "mlops-stack:cloud": "aws",
        "mlops-stack:region": "us-east-1",
        "mlops-stack:cluster": json.dumps({"enabled": False}),
        "mlops-stack:monitoring": json.dumps({"enabled": False}),
        "mlops-stack:endpoints": json.dumps(
            [{"name": "chat", "gpu": "nvidia-a10g", "model": {"artifact": {"bucket": "models", "key": "c/model.tar.gz"},
                                                              "framework": {"name": "huggingface-llm", "version": "0.0.1"}}}]
        ),
    }
    with pytest.raises(ConfigError) as info:
        plan_config(config)
    assert info.value.path == "endpoints[0].model.framework.version"


# --- the plan uses the resolved image; image-only stacks never import the SDK ----------


def test_the_plan_serves_the_resolved_image() -> None:
    plan = plan_stack_file(FIXTURE).plan
    images_by_model = sorted(r.inputs["primaryContainer"]["image"] for r in plan.of_type("aws:sagemaker/model:Model"))
    assert images_by_model == [
        "123456789012.dkr.ecr.us-east-1.amazonaws.com/smoke-dev/serving:scorer-1.0.0",
        EXPECTED[("huggingface-llm", "3.3.6", "us-east-1", "ml.g5.xlarge")],
    ]


def test_image_only_stacks_import_neither_the_sdk_nor_the_resolver() -> None:
    code = (
        "import sys\n"
        "from mlops_stack import targets\n"
        "from mlops_stack.offline.stackfile import read_stack_file\n"
        "from mlops_stack.spec import load_spec\n"
        "for s in ('dev-aws', 'prod-aws'):\n"
        "    targets.check(load_spec(read_stack_file(f'stacks/Pulumi.{s}.yaml').raw_spec))\n"
        "print(sorted(m for m in ('sagemaker', 'mlops_stack.aws.images', 'boto3') if m in sys.modules))\n"
    )
    res = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120, check=False)
    assert res.returncode == 0, res.stderr
    assert res.stdout.strip() == "[]"
