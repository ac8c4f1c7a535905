"""``mlops-stack smoke`` on Azure: after ``pulumi up``, is the environment what the spec
says, and does it serve?

From the stack outputs (``bucket_uris``, ``registry_url``, ``cluster_name``,
``endpoints``), read-only ARM calls plus one request per endpoint. Resources are found
by name in the subscription (the outputs carry no resource group):

- every container's storage account exists, encrypts with a customer-managed key
  (``encryption.keySource`` ``Microsoft.Keyvault``), has blob versioning on (an account
  setting: ``blobServices/default`` ``isVersioningEnabled``) and forbids public blob
  access (``allowBlobPublicAccess`` false); the container exists with no public access;
- the container registry (``registry_url``, its login server) exists and is
  ``Succeeded``;
- the AKS cluster is ``Succeeded`` and its power state ``Running``;
- every Azure ML online endpoint (found in the subscription's workspaces) is
  ``Succeeded`` with traffic on a deployment, and answers the spec's ``sampleRequest``
  (there is no framework default on Azure: without one the request is ``skip``) with a
  2xx at its ``scoringUri``: with an Entra token for ``authMode`` ``AADToken``, with the
  primary key (``listKeys``) for ``Key``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit

from mlops_stack.azure.preflight import ML_API_VERSION, ML_DATA_SCOPE, Arm, _text
from mlops_stack.ops_report import ClientFactory, SampleRequest, post_sample, smoke_endpoints
from mlops_stack.ops_report import SmokeReport as Report

__all__ = ["Report", "run_smoke"]


def _resource_group(arm_id: str) -> str:
    parts = arm_id.split("/")
    return parts[parts.index("resourceGroups") + 1] if "resourceGroups" in parts else ""


def _code(err: Exception) -> str:
    return str(getattr(err, "status_code", None) or type(err).__name__)


def check_storage(storage: Any, buckets: Mapping[str, str], report: Report) -> None:
    """One account holds every container (azure/storage.py)."""
    by_account: dict[str, list[tuple[str, str]]] = {}
    for logical, uri in sorted(buckets.items()):
        parts = urlsplit(str(uri))
        by_account.setdefault(parts.netloc.split(".", 1)[0], []).append((logical, parts.path.strip("/")))
    try:
        accounts = {str(a["name"]): a for a in storage.storage_accounts.list()}
    except Exception as err:  # noqa: BLE001
        for logical, _ in sorted(buckets.items()):
            report.add("bucket exists", logical, "exists", _code(err), False, _text(err))
        return
    for account, containers in by_account.items():
        found = accounts.get(account)
        if found is None:
            for logical, container in containers:
                report.add("bucket exists", f"{logical} ({account}/{container})", "exists", "no such storage account", False)
            continue
        rg = _resource_group(str(found["id"]))
        props = found.get("properties") or {}
        key_source = str((props.get("encryption") or {}).get("keySource") or "?")
        public = props.get("allowBlobPublicAccess")
        try:
            versioning = bool((storage.blob_services.get_service_properties(rg, account).get("properties") or {}).get("isVersioningEnabled"))
            found_versioning = "enabled" if versioning else "disabled"
        except Exception as err:  # noqa: BLE001
            versioning, found_versioning = False, _code(err)
        for logical, container in containers:
            label = f"{logical} ({account}/{container})"
            try:
                c = storage.blob_containers.get(rg, account, container)
                access = str((c.get("properties") or {}).get("publicAccess") or "None")
            except Exception as err:  # noqa: BLE001
                report.add("bucket exists", label, "exists", _code(err), False)
                continue
            report.add("bucket exists", label, "exists", "exists", True)
            report.add("bucket encryption", label, "Microsoft.Keyvault (CMK)", key_source, key_source == "Microsoft.Keyvault")
            report.add("bucket versioning", label, "enabled", found_versioning, versioning)
            public_ok = public is False and access == "None"
            report.add("bucket public access", label, "none", f"account {'allows' if public is not False else 'forbids'} public blobs; container {access}", public_ok)


def check_registry(acr: Any, login_server: str, report: Report) -> None:
    try:
        found = next((r for r in acr.registries.list() if str((r.get("properties") or {}).get("loginServer", "")).lower() == login_server.lower()), None)
    except Exception as err:  # noqa: BLE001
        report.add("registry exists", login_server, "Succeeded", _code(err), False, _text(err))
        return
    state = str(((found or {}).get("properties") or {}).get("provisioningState") or "not found")
    report.add("registry exists", login_server, "Succeeded", state, state == "Succeeded")


def check_cluster(aks: Any, name: str, report: Report) -> None:
    try:
        found = next((c for c in aks.managed_clusters.list() if c.get("name") == name), None)
    except Exception as err:  # noqa: BLE001
        report.add("cluster status", name, "Succeeded, Running", _code(err), False, _text(err))
        return
    if found is None:
        report.add("cluster status", name, "Succeeded, Running", "not found", False)
        return
    props = found.get("properties") or {}
    state, power = str(props.get("provisioningState") or "?"), str((props.get("powerState") or {}).get("code") or "?")
    report.add("cluster status", name, "Succeeded, Running", f"{state}, {power}", state == "Succeeded" and power == "Running")


def find_endpoint(arm: Arm, sub: str, region: str, name: str) -> tuple[str, dict[str, Any]] | None:
    """``(ARM ID, endpoint)`` of the online endpoint ``name`` in the subscription's
    workspaces in ``region`` (endpoint names are unique per region)."""
    from azure.core.exceptions import ResourceNotFoundError

    for ws in arm.values(f"/subscriptions/{sub}/providers/Microsoft.MachineLearningServices/workspaces", ML_API_VERSION):
        if str(ws.get("location", "")).lower().replace(" ", "") != region.lower():
            continue
        path = f"{ws['id']}/onlineEndpoints/{name}"
        try:
            return path, arm.get(path, ML_API_VERSION)
        except ResourceNotFoundError:
            continue
    return None


def check_endpoint(client: ClientFactory, sub: str, region: str, logical: str, name: str, request: SampleRequest | None, report: Report) -> None:
    arm: Arm = client("arm")
    label = f"{logical} ({name})"
    try:
        found = find_endpoint(arm, sub, region, name)
    except Exception as err:  # noqa: BLE001
        report.add("endpoint status", label, "Succeeded, traffic", _code(err), False, _text(err))
        found = None
    else:
        if found is None:
            report.add("endpoint status", label, "Succeeded, traffic", "not found", False)
    props = (found[1].get("properties") or {}) if found else {}
    if found:
        state = str(props.get("provisioningState") or "?")
        traffic = sum(int(v) for v in (props.get("traffic") or {}).values())
        serving = state == "Succeeded" and traffic > 0
        report.add("endpoint status", label, "Succeeded, traffic", f"{state}, traffic {traffic}%", serving)
    else:
        serving = False
    if request is None:
        report.add("endpoint request", label, "2xx", "-", None, f"no sampleRequest for {logical} in the spec")
        return
    if not serving or not found:
        report.add("endpoint request", label, "2xx", "-", False, "not sent: the endpoint is not serving")
        return
    auth = str(props.get("authMode") or "AADToken")
    try:
        if auth == "Key":
            token = str(arm.call("POST", f"{found[0]}/listKeys", ML_API_VERSION)["primaryKey"])
        else:
            token = client("credential").get_token(ML_DATA_SCOPE).token
    except Exception as err:  # noqa: BLE001
        report.add("endpoint request", label, "2xx", "-", False, f"no credential for {auth}: {_text(err)}")
        return
    code, detail = post_sample(client("http"), str(props.get("scoringUri")), request, {"Authorization": f"Bearer {token}"})
    report.add("endpoint request", label, "2xx", str(code or "no response"), 200 <= code < 300, detail)


def run_smoke(spec: Any, outputs: Mapping[str, Any], client: ClientFactory, stack: str = "") -> Report:
    """Check the deployed stack described by ``outputs``; ``client(name)`` as ``arm_clients``."""
    report = Report(stack=stack, region=spec.region)
    sub = str(client("subscription"))
    buckets = outputs.get("bucket_uris") or {}
    if buckets:
        check_storage(client("storage"), buckets, report)
    if outputs.get("registry_url"):
        check_registry(client("containerregistry"), str(outputs["registry_url"]), report)
    if outputs.get("cluster_name"):
        check_cluster(client("containerservice"), str(outputs["cluster_name"]), report)
    for logical, endpoint_name, request in smoke_endpoints(spec, outputs):
        check_endpoint(client, sub, spec.region, logical, endpoint_name, request, report)
    return report
