"""``mlops-stack smoke``: after ``pulumi up``, is the environment what the spec says, and
does it serve?

Input: the spec and the stack's outputs (``pulumi stack output --json``: ``bucket_uris``,
``repository_urls``, ``cluster_name``, ``endpoints``, ... as exported by
``MlopsStack._collect``). Read-only checks, plus one request per endpoint:

- every bucket exists, has default encryption ``aws:kms``, versioning ``Enabled`` (when
  the spec asks for it, as it does by default) and all four public-access-block flags;
- every repository scans on push;
- the EKS cluster is ``ACTIVE``;
- every endpoint is ``InService`` and answers one sample request with a 2xx
  (``sagemaker-runtime`` InvokeEndpoint). The request is the endpoint's
  ``sampleRequest`` from the spec, else a default for its framework
  (``DEFAULT_REQUESTS``); an endpoint with neither is reported ``skip``.

``ok`` and ``skip`` pass; ``FAIL`` fails and the CLI exits 1.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from mlops_stack.ops_report import FAIL, OK, SKIP, Result, SampleRequest, render_smoke
from mlops_stack.ops_report import SmokeReport as Report
from mlops_stack.ops_report import sample_request as _sample_request

__all__ = ["FAIL", "OK", "SKIP", "Report", "Result", "SampleRequest", "render", "run_smoke", "sample_request"]
render = render_smoke
KMS = "aws:kms"
PUBLIC_ACCESS_FLAGS = ("BlockPublicAcls", "IgnorePublicAcls", "BlockPublicPolicy", "RestrictPublicBuckets")


_TEXT_GENERATION = SampleRequest("application/json", json.dumps({"inputs": "Hello", "parameters": {"max_new_tokens": 8}}).encode())
_EMBEDDING = SampleRequest("application/json", json.dumps({"inputs": "Hello"}).encode())

#: Default requests per framework, for containers whose request schema is fixed by the
#: framework itself (TGI's and LMI's ``inputs``/``parameters``, TEI's ``inputs``). For
#: the rest (pytorch, xgboost, sklearn, ...) the schema belongs to the model: set
#: ``sampleRequest`` in the spec.
DEFAULT_REQUESTS: dict[str, SampleRequest] = {
    "huggingface-llm": _TEXT_GENERATION,
    "djl-lmi": _TEXT_GENERATION,
    "djl-tensorrtllm": _TEXT_GENERATION,
    "huggingface-tei": _EMBEDDING,
    "huggingface-tei-cpu": _EMBEDDING,
}


def sample_request(ep: Any) -> SampleRequest | None:
    """The request the smoke test sends to an ``EndpointSpec``, or ``None``."""
    if ep.sample_request is None and ep.model.framework is not None:
        from mlops_stack.aws.images import canonical_name  # lazy: images loads pulumi; smoke runs without it

        return _sample_request(ep, DEFAULT_REQUESTS, canonical_name)
    return _sample_request(ep)


def _code(err: Exception) -> str:
    resp = getattr(err, "response", None)
    if isinstance(resp, dict):
        return str(resp.get("Error", {}).get("Code", type(err).__name__))
    return type(err).__name__


def _bucket_name(uri: str) -> str:
    return uri.removeprefix("s3://").split("/", 1)[0]


def _repository_name(url: str) -> str:
    """``<acct>.dkr.ecr.<region>.amazonaws.com/mlops-dev/serving`` -> ``mlops-dev/serving``."""
    return url.split("/", 1)[1] if "/" in url else url


# ---------------------------------------------------------------------------------
# The checks.


def check_bucket(s3: Any, logical: str, uri: str, want_versioning: bool, report: Report) -> None:
    name = _bucket_name(uri)
    label = f"{logical} ({name})"
    try:
        s3.head_bucket(Bucket=name)
    except Exception as err:  # noqa: BLE001
        report.add("bucket exists", label, "exists", _code(err), False)
        return
    report.add("bucket exists", label, "exists", "exists", True)

    try:
        rules = s3.get_bucket_encryption(Bucket=name)["ServerSideEncryptionConfiguration"]["Rules"]
        algos = [r.get("ApplyServerSideEncryptionByDefault", {}).get("SSEAlgorithm", "") for r in rules]
        found = ", ".join(a for a in algos if a) or "none"
    except Exception as err:  # noqa: BLE001
        found = _code(err)
    report.add("bucket encryption", label, KMS, found, KMS in found.split(", "))

    status = s3.get_bucket_versioning(Bucket=name).get("Status", "never enabled")
    if want_versioning:
        report.add("bucket versioning", label, "Enabled", status, status == "Enabled")
    else:
        report.add("bucket versioning", label, "(not required by the spec)", status, None)

    try:
        pab = s3.get_public_access_block(Bucket=name)["PublicAccessBlockConfiguration"]
        missing = [f for f in PUBLIC_ACCESS_FLAGS if not pab.get(f)]
        found = "all four" if not missing else f"missing {', '.join(missing)}"
    except Exception as err:  # noqa: BLE001
        missing, found = list(PUBLIC_ACCESS_FLAGS), _code(err)
    report.add("bucket public access block", label, "all four", found, not missing)


def check_repository(ecr: Any, logical: str, url: str, report: Report) -> None:
    name = _repository_name(url)
    label = f"{logical} ({name})"
    try:
        repo = ecr.describe_repositories(repositoryNames=[name])["repositories"][0]
    except Exception as err:  # noqa: BLE001
        report.add("repository scan on push", label, "true", _code(err), False)
        return
    scan = bool(repo.get("imageScanningConfiguration", {}).get("scanOnPush"))
    report.add("repository scan on push", label, "true", str(scan).lower(), scan)


def check_cluster(eks: Any, name: str, report: Report) -> None:
    try:
        status = eks.describe_cluster(name=name)["cluster"]["status"]
    except Exception as err:  # noqa: BLE001
        status = _code(err)
    report.add("cluster status", name, "ACTIVE", status, status == "ACTIVE")


def check_endpoint(sm: Any, runtime: Any, logical: str, endpoint_name: str, request: SampleRequest | None, report: Report) -> None:
    label = f"{logical} ({endpoint_name})"
    try:
        desc = sm.describe_endpoint(EndpointName=endpoint_name)
        status = desc["EndpointStatus"]
        reason = desc.get("FailureReason", "")
    except Exception as err:  # noqa: BLE001
        status, reason = _code(err), ""
    in_service = status == "InService"
    report.add("endpoint status", label, "InService", status, in_service, reason)
    if request is None:
        report.add("endpoint request", label, "2xx", "-", None, f"no sampleRequest for {logical} in the spec and no default for its framework")
        return
    if not in_service:
        report.add("endpoint request", label, "2xx", "-", False, "not sent: the endpoint is not InService")
        return
    kwargs: dict[str, Any] = {"EndpointName": endpoint_name, "ContentType": request.content_type, "Body": request.body}
    if request.accept:
        kwargs["Accept"] = request.accept
    try:
        resp = runtime.invoke_endpoint(**kwargs)
        code = int((resp.get("ResponseMetadata") or {}).get("HTTPStatusCode") or 200)
        detail = ""
    except Exception as err:  # noqa: BLE001
        resp_err = getattr(err, "response", {}) or {}
        # A ModelError carries the container's own status (OriginalStatusCode); SageMaker answers 424.
        code = int(resp_err.get("OriginalStatusCode") or resp_err.get("ResponseMetadata", {}).get("HTTPStatusCode") or 0)
        detail = f"{_code(err)}: {resp_err.get('OriginalMessage') or resp_err.get('Error', {}).get('Message', err)}"
    report.add("endpoint request", label, "2xx", str(code or "no response"), 200 <= code < 300, detail)


from mlops_stack.ops_report import ClientFactory, smoke_buckets, smoke_endpoints  # noqa: E402


def run_smoke(spec: Any, outputs: Mapping[str, Any], client: ClientFactory, stack: str = "") -> Report:
    """Check the deployed stack described by ``outputs``; ``client(name)`` returns a boto3 client."""
    report = Report(stack=stack, region=spec.region)
    buckets = smoke_buckets(spec, outputs)
    if buckets:
        s3 = client("s3")
        for logical, uri, versioned in buckets:
            check_bucket(s3, logical, uri, versioned, report)
    repos = outputs.get("repository_urls") or {}
    if repos:
        ecr = client("ecr")
        for logical, url in sorted(repos.items()):
            check_repository(ecr, logical, str(url), report)
    if outputs.get("cluster_name"):
        check_cluster(client("eks"), str(outputs["cluster_name"]), report)
    endpoints = smoke_endpoints(spec, outputs, sample_request)
    if endpoints:
        sm, runtime = client("sagemaker"), client("sagemaker-runtime")
        for logical, endpoint_name, request in endpoints:
            check_endpoint(sm, runtime, logical, endpoint_name, request, report)
    return report
