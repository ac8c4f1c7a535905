"""The serving runtimes a cluster endpoint (``endpoints[].runsOn: cluster``) may name
(neutral data; no imports, so the spec can check names before any resource exists).

A cluster endpoint's ``model.framework`` picks one of KServe's built-in
ClusterServingRuntimes, installed by the pinned ``kserve-runtime-configs`` chart
(``k8s/charts.py`` ``KSERVE_RUNTIME_CONFIGS``); ``model.image`` runs your own container
instead. The table is derived from that chart at its release tag: runtime names, model
format names and major versions are checked against
``tests/fixtures/kserve-v0.20.0.json`` (``clusterServingRuntimes``) by
``tests/k8s/test_serving.py``.

``framework.version`` does not choose an image on the cluster: the runtime's image is the
one the pinned chart sets, and KServe is given the format name and the runtime by name
(no ``modelFormat.version``, which would make KServe reject e.g. PyTorch 2 models against
TorchServe's declared format version 1).

Not offered: ``kserve-vllmserver`` (the chart's image tag is ``latest``, so nothing we
set would be pinned; KServe's Hugging Face server runs vLLM itself for generative models
on a GPU: use ``framework: {name: huggingface}``), ``kserve-huggingfaceserver-multinode``,
``kserve-predictiveserver`` (not auto-selected by the chart) and ``kserve-autogluonserver``.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Runtime:
    """A KServe ClusterServingRuntime serving one model format."""

    #: The ``ClusterServingRuntime`` name (``spec.predictor.model.runtime``).
    runtime: str
    #: The model format name KServe matches (``spec.predictor.model.modelFormat.name``).
    model_format: str
    #: The ``kserve.servingruntime.<key>`` values key of the chart (its ``disabled`` switch).
    values_key: str


#: ``model.framework.name`` of a cluster endpoint -> the runtime that serves it.
RUNTIMES: dict[str, Runtime] = {
    "sklearn": Runtime("kserve-sklearnserver", "sklearn", "sklearnserver"),
    "xgboost": Runtime("kserve-xgbserver", "xgboost", "xgbserver"),
    "lightgbm": Runtime("kserve-lgbserver", "lightgbm", "lgbserver"),
    "mlflow": Runtime("kserve-mlserver", "mlflow", "mlserver"),
    "tensorflow": Runtime("kserve-tensorflow-serving", "tensorflow", "tensorflow"),
    "pytorch": Runtime("kserve-torchserve", "pytorch", "torchserve"),
    "onnx": Runtime("kserve-tritonserver", "onnx", "tritonserver"),
    "tensorrt": Runtime("kserve-tritonserver", "tensorrt", "tritonserver"),
    "triton": Runtime("kserve-tritonserver", "triton", "tritonserver"),
    "huggingface": Runtime("kserve-huggingfaceserver", "huggingface", "huggingfaceserver"),
    "pmml": Runtime("kserve-pmmlserver", "pmml", "pmmlserver"),
    "paddle": Runtime("kserve-paddleserver", "paddle", "paddleserver"),
}

#: Names people reach for that are not offered, and what to use instead.
NOT_OFFERED: dict[str, str] = {
    "vllm": "KServe's vLLM runtime image is not pinned upstream (tag latest); use framework huggingface, which runs vLLM for generative models",
    "scikit-learn": "the framework is called sklearn",
    "torch": "the framework is called pytorch",
}

