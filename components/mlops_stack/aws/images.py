"""Framework serving images: ``model.framework`` (name + version) -> an ECR image URI.

An endpoint may name a framework and version instead of an image URI::

    model:
      framework: {name: huggingface-llm, version: "3.3.6"}

The URI is resolved for the stack's region and the endpoint's SageMaker instance type
(CPU or GPU image) by the SageMaker SDK's own image-URI lookup
(``sagemaker.core.image_uris.retrieve``, from the ``sagemaker-core`` package). The SDK
ships the registry accounts, repositories and tags as JSON files, so the lookup is
offline: no AWS call, no credentials. The SDK is imported here, and only here, on the
first framework endpoint: a stack whose endpoints all give an image URI never imports
it (``tests/test_cli.py`` asserts that).

Why ``sagemaker-core`` and not ``sagemaker``: the v3 ``sagemaker`` package is a
meta-package that adds the training, serving and MLOps stacks on top of
``sagemaker-core``; the lookup lives in ``sagemaker-core``. Measured 2026-11-27 in a
fresh Python 3.11 venv: ``sagemaker-core`` 2.27.0 adds 422 MB / 51 packages in 19 s;
``sagemaker`` 3.27.0 adds 974 MB / 134 packages in 86 s (see docs/operations.md).

``resolve_image`` is cached: ``mlops_stack.aws.checks`` calls it for every framework
endpoint before any resource is registered (so a bad name or version is a
``ConfigError`` with zero resources), and ``ModelEndpoint`` gets the same answer from
the cache.
"""

from __future__ import annotations

import functools
import re
from typing import Any

from mlops_stack.errors import ConfigError, did_you_mean, one_of

#: The image scope of every lookup: endpoints serve.
IMAGE_SCOPE = "inference"

#: Frameworks an endpoint may name: the SDK's serving images whose URI depends only on
#: (version, python version, region, CPU/GPU). Left out on purpose: ``huggingface``
#: (needs a base framework version as well; use huggingface-llm, -tei or -vllm, or an
#: image URI) and the Neuron / Neo / Inferentia variants (instance types the catalog
#: does not have).
FRAMEWORKS: tuple[str, ...] = (
    "djl-lmi",
    "djl-tensorrtllm",
    "huggingface-llm",
    "huggingface-sglang",
    "huggingface-tei",
    "huggingface-tei-cpu",
    "huggingface-vllm",
    "llama-cpp",
    "pytorch",
    "sagemaker-tritonserver",
    "sglang",
    "sklearn",
    "tensorflow",
    "vllm",
    "xgboost",
)

#: Common names for the same images.
ALIASES: dict[str, str] = {
    "tgi": "huggingface-llm",
    "tei": "huggingface-tei",
    "lmi": "djl-lmi",
    "triton": "sagemaker-tritonserver",
    "scikit-learn": "sklearn",
}

#: Newest versions shown in an error message.
_SHOWN_VERSIONS = 12


class _Unresolved(Exception):
    """A lookup failure before it gets the spec path of the endpoint (see resolve_image)."""

    def __init__(self, field: str, reason: str, hint: str | None, value: Any) -> None:
        super().__init__(reason)
        self.field, self.reason, self.hint, self.value = field, reason, hint, value


def canonical_name(name: str) -> str:
    return ALIASES.get(name.strip().lower(), name.strip().lower())


def _sdk() -> Any:
    """``sagemaker.core.image_uris``, imported on first use."""
    try:
        from sagemaker.core import image_uris
    except ImportError:
        raise _Unresolved(
            "",
            "needs the sagemaker-core package to resolve framework images",
            "pip install sagemaker-core (or set model.image to an image URI)",
            None,
        ) from None
    return image_uris


def _py_key(tag: str) -> tuple[int, str]:
    digits = re.sub(r"\D", "", tag)
    return (int(digits) if digits else 0, tag)


def _version_key(version: str) -> tuple[tuple[int, ...], str]:
    """``"2.10"`` after ``"2.9"``: numeric parts first, the text as the tie-break."""
    return (tuple(int(p) for p in re.findall(r"\d+", version)), version)


@functools.cache
def available_versions(name: str) -> tuple[str, ...]:
    """Serving-image versions the pinned SDK knows for ``name`` (aliases included), oldest first."""
    # The SDK builds the list from a set on some paths: sort, so every message is the same on every run.
    return tuple(sorted({str(v) for v in _sdk().list_versions(canonical_name(name), IMAGE_SCOPE)}, key=_version_key))


@functools.cache
def _resolve(name: str, version: str, py_version: str | None, region: str, instance_type: str) -> str:
    fw = canonical_name(name)
    if fw not in FRAMEWORKS:
        known = sorted({*FRAMEWORKS, *ALIASES})
        hint = did_you_mean(name, known)
        raise _Unresolved("name", "is not a framework with SageMaker serving images", f"{hint + ' ' if hint else ''}frameworks: {one_of(FRAMEWORKS, limit=20)}", name)
    sdk = _sdk()
    versions = available_versions(fw)
    if version not in versions:
        newest = list(versions[-_SHOWN_VERSIONS:])
        shown = ", ".join(newest) + (f" ({len(versions)} in all)" if len(versions) > len(newest) else "")
        hint = did_you_mean(version, versions)
        raise _Unresolved("version", f"is not a {fw} serving-image version", f"{hint + ' ' if hint else ''}newest: {shown}", version)
    py_versions = sorted((str(p) for p in sdk.list_py_versions(fw, version, IMAGE_SCOPE) or ()), key=_py_key)
    if py_version is not None and py_versions and py_version not in py_versions:
        raise _Unresolved("pyVersion", f"is not offered for {fw} {version}", f"python versions: {', '.join(py_versions)}", py_version)
    if py_version is None and py_versions:
        # The SDK insists on a python version when there are several: take the newest.
        py_version = py_versions[-1]
    try:
        return str(sdk.retrieve(fw, region, version=version, py_version=py_version, instance_type=instance_type, image_scope=IMAGE_SCOPE))
    except ValueError as err:
        text = str(err)
        supported = text.split("Supported", 1)[-1].split(":", 1)[-1].strip().rstrip(".") if "Supported" in text else ""
        if text.startswith("Unsupported region"):
            raise _Unresolved("@region", f"has no {fw} {version} serving image", f"regions: {one_of(supported.split(', '))}" if supported else None, region) from None
        if text.startswith("Unsupported processor"):
            raise _Unresolved(
                "@instance",
                f"is a {'CPU' if 'gpu' in supported else 'GPU'} instance type, but {fw} {version} has {(supported or 'no').upper()} images only",
                "use gpu: for a GPU-only framework, or cpuSize: for a CPU-only one",
                instance_type,
            ) from None
        raise _Unresolved("", f"cannot be resolved to an image: {text.split(' You may need')[0]}", None, fw) from None
    except Exception as err:  # noqa: BLE001 - an SDK surprise is still the spec's problem, never a traceback
        raise _Unresolved("", f"cannot be resolved to an image ({type(err).__name__}: {err})", "set model.image to an image URI", fw) from None


def resolve_image(framework: Any, region: str, instance_type: str, path: str = "model.framework", instance_path: str = "gpu") -> str:
    """The serving image URI of ``framework`` (a ``FrameworkSpec``) in ``region`` for a
    SageMaker ``instance_type`` (``ml.g5.xlarge``). Cached.

    Raises ``ConfigError`` naming ``<path>.name`` / ``.version`` / ``.pyVersion`` (the
    spec path of the framework), ``region``, or ``instance_path`` (where the endpoint's
    instance type comes from: ``endpoints[0].gpu`` / ``endpoints[0].cpuSize``).
    """
    try:
        return _resolve(framework.name, str(framework.version), framework.py_version, region, instance_type)
    except _Unresolved as err:
        if err.field == "@region":
            where = "region"
        elif err.field == "@instance":
            where = instance_path
        else:
            where = f"{path}.{err.field}" if err.field else path
        kwargs = {"value": err.value} if err.value is not None else {}
        raise ConfigError(where, err.reason, err.hint, **kwargs) from None


def cache_clear() -> None:
    """Forget resolved images (tests)."""
    _resolve.cache_clear()
    available_versions.cache_clear()
