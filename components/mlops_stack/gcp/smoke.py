"""``mlops-stack smoke`` on GCP: after ``pulumi up``, is the environment what the spec
says, and does it serve?

From the stack outputs (``bucket_uris``, ``repository_urls``, ``cluster_name``,
``oidc_issuer``, ``endpoints``), read-only REST calls plus one request per endpoint:

- every bucket exists (Cloud Storage ``buckets.get``), has versioning enabled (unless the
  spec turned it off for that bucket), a default Cloud KMS key (CMEK) and public access
  prevention ``enforced``;
- every Artifact Registry repository exists;
- the GKE cluster is ``RUNNING`` (its location from the ``oidc_issuer`` output);
- every Vertex AI endpoint has a deployed model and answers the spec's
  ``sampleRequest`` with a 2xx at its exported ``invoke_url``: a JSON body with
  ``instances`` goes to ``:predict``, any other body to ``:rawPredict`` (same URL, the
  other method). GCP endpoints serve the user's own image, so there is no framework
  default: without a ``sampleRequest`` the request is ``skip``.

A private endpoint's ``invoke_url`` is its Private Service Connect URL
(``https://<id>-<region>-<project number>.prediction.p.vertexai.goog/v1/...``), which
resolves and answers only inside the stack's VPC (or a network connected to it). From
anywhere else the request gets no response; that is reported ``skip`` ("private endpoint:
run smoke from inside the VPC"), not a failure. A response (any status) is judged as
for a public endpoint.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from mlops_stack.gcp.preflight import BASE_URLS, ApiError, Rest
from mlops_stack.ops_report import ClientFactory, SampleRequest, post_sample, smoke_buckets, smoke_endpoints
from mlops_stack.ops_report import SmokeReport as Report

__all__ = ["Report", "run_smoke"]


def _found(err: Exception) -> str:
    return str(err.status) if isinstance(err, ApiError) else type(err).__name__


def check_bucket(storage: Rest, logical: str, uri: str, want_versioning: bool, report: Report) -> None:
    name = uri.removeprefix("gs://").split("/", 1)[0]
    label = f"{logical} ({name})"
    try:
        bucket = storage.get(f"b/{name}", projection="full")
    except Exception as err:  # noqa: BLE001
        report.add("bucket exists", label, "exists", _found(err), False)
        return
    report.add("bucket exists", label, "exists", "exists", True)
    key = (bucket.get("encryption") or {}).get("defaultKmsKeyName")
    report.add("bucket encryption", label, "Cloud KMS key (CMEK)", key or "Google-managed", bool(key))
    versioning = bool((bucket.get("versioning") or {}).get("enabled"))
    found = "enabled" if versioning else "disabled"
    if want_versioning:
        report.add("bucket versioning", label, "enabled", found, versioning)
    else:
        report.add("bucket versioning", label, "(not required by the spec)", found, None)
    iam = bucket.get("iamConfiguration") or {}
    prevention = str(iam.get("publicAccessPrevention") or "unspecified")
    report.add("bucket public access prevention", label, "enforced", prevention, prevention == "enforced")


def check_repository(ar: Rest, logical: str, url: str, report: Report) -> None:
    """``us-central1-docker.pkg.dev/<project>/<repo>``."""
    host, _, rest = url.partition("/")
    project, _, repo = rest.partition("/")
    location = host.removesuffix("-docker.pkg.dev")
    label = f"{logical} ({repo})"
    try:
        found = ar.get(f"projects/{project}/locations/{location}/repositories/{repo}")
    except Exception as err:  # noqa: BLE001
        report.add("repository exists", label, "DOCKER", _found(err), False)
        return
    fmt = str(found.get("format", "?"))
    report.add("repository exists", label, "DOCKER", fmt, fmt == "DOCKER")


def cluster_path(outputs: Mapping[str, Any], spec: Any) -> str:
    """``projects/<p>/locations/<loc>/clusters/<name>`` from the ``oidc_issuer`` output."""
    issuer = str(outputs.get("oidc_issuer") or "")
    if "/projects/" in issuer:
        return "projects/" + issuer.split("/projects/", 1)[1]
    location = spec.region if spec.is_prod else (spec.gcp.zone or f"{spec.region}-a")
    return f"projects/{spec.gcp.project}/locations/{location}/clusters/{outputs['cluster_name']}"


def check_cluster(container: Rest, path: str, name: str, report: Report) -> None:
    try:
        status = str(container.get(path).get("status", "?"))
    except Exception as err:  # noqa: BLE001
        status = _found(err)
    report.add("cluster status", name, "RUNNING", status, status == "RUNNING")


#: The skip detail of a private endpoint that gave no response from where smoke ran.
PRIVATE_UNREACHABLE = "private endpoint: run smoke from inside the VPC"
#: ... and the one of a TLS failure (reached, but Vertex's certificate is not trusted).
PRIVATE_UNTRUSTED = "private endpoint: TLS failed; trust Vertex's PSC certificate (REQUESTS_CA_BUNDLE)"


def request_url(vertex: Rest, endpoint_id: str, invoke_url: str | None, verb: str, region: str) -> str:
    """Where the sample request goes: the exported ``invoke_url`` with the method ``verb``
    (``predict`` / ``rawPredict``); without one, the regional API's. A URL on the regional
    API goes through ``vertex`` (its root), a Private Service Connect URL as it is."""
    if not invoke_url:
        return vertex.url(f"{endpoint_id}:{verb}")
    target = invoke_url.rsplit(":", 1)[0] + f":{verb}"
    api = BASE_URLS["aiplatform"].format(region=region)
    return vertex.url(target.removeprefix(api)) if target.startswith(api) else target


def check_endpoint(
    vertex: Rest,
    logical: str,
    endpoint_id: str,
    request: SampleRequest | None,
    report: Report,
    *,
    invoke_url: str | None = None,
    private: bool = False,
    region: str = "",
) -> None:
    label = f"{logical} ({endpoint_id.rsplit('/', 1)[-1]})"
    try:
        endpoint = vertex.get(endpoint_id)
        deployed = endpoint.get("deployedModels") or []
        found = f"{len(deployed)} deployed model{'s' if len(deployed) != 1 else ''}"
    except Exception as err:  # noqa: BLE001
        deployed, found = [], _found(err)
    serving = bool(deployed)
    report.add("endpoint deployed", label, "a deployed model", found, serving)
    if request is None:
        report.add("endpoint request", label, "2xx", "-", None, f"no sampleRequest for {logical} in the spec")
        return
    if not serving:
        report.add("endpoint request", label, "2xx", "-", False, "not sent: no model is deployed")
        return
    body = request.json
    verb = "predict" if isinstance(body, dict) and "instances" in body else "rawPredict"
    url = request_url(vertex, endpoint_id, invoke_url, verb, region)
    code, detail = post_sample(vertex.session, url, request)
    if code == 0 and private:
        # No response: a PSC URL does not resolve or connect outside the VPC; inside it, TLS
        # fails until Vertex's self-signed certificate is trusted (docs/gcp.md).
        why = PRIVATE_UNTRUSTED if detail.startswith("SSLError") else PRIVATE_UNREACHABLE
        report.add("endpoint request", label, "2xx", "no response", None, f"{why} ({url}; {detail})")
        return
    report.add("endpoint request", label, "2xx", str(code or "no response"), 200 <= code < 300, f":{verb}" + (f" {detail}" if detail else ""))


def run_smoke(spec: Any, outputs: Mapping[str, Any], client: ClientFactory, stack: str = "") -> Report:
    """Check the deployed stack described by ``outputs``; ``client(name)`` returns a ``Rest``."""
    report = Report(stack=stack, region=spec.region)
    buckets = smoke_buckets(spec, outputs)
    if buckets:
        storage = client("storage")
        for logical, uri, versioned in buckets:
            check_bucket(storage, logical, uri, versioned, report)
    repos = outputs.get("repository_urls") or {}
    if repos:
        ar = client("artifactregistry")
        for logical, url in sorted(repos.items()):
            check_repository(ar, logical, str(url), report)
    if outputs.get("cluster_name"):
        check_cluster(client("container"), cluster_path(outputs, spec), str(outputs["cluster_name"]), report)
    endpoints = smoke_endpoints(spec, outputs)
    if endpoints:
        vertex = client("aiplatform")
        exported = outputs.get("endpoints") or {}
        private = {ep.name for ep in spec.endpoints if ep.private}
        for logical, endpoint_name, request in endpoints:
            url = (exported.get(logical) or {}).get("invoke_url")
            check_endpoint(vertex, logical, endpoint_name, request, report, invoke_url=str(url) if url else None,
                           private=logical in private, region=spec.region)
    return report
