"""A custom model on a Vertex AI endpoint, as a Pulumi dynamic resource.

pulumi-gcp has a resource for the endpoint (``gcp.vertex.AiEndpoint``) but none that
uploads a custom-container model and deploys it. ``VertexDeploymentProvider`` does both
through the Vertex AI REST API (v1), with a real create / diff / update / delete:

* create: ``models:upload`` (container image + artifact URI, CMEK, labels), wait for the
  operation; then ``endpoints/<id>:deployModel`` (machine type + accelerator, min/max
  replicas, an autoscaling target, the serving service account, a traffic split).
* update: a new image, artifact, environment or labels uploads a new model, deploys it
  next to the old one with the traffic moved to it, undeploys the old deployment and
  deletes the old model (no downtime); a new machine shape redeploys the same model the
  same way; new replica counts or autoscaling targets only ``mutateDeployedModel``.
* delete: ``undeployModel`` then delete the model; both tolerate "already gone" (404).
* a different project, region or endpoint replaces the resource.

Credentials are application default credentials (``google-auth``: workload identity
federation, the metadata server or ``gcloud auth application-default login``); no
key file is ever read or written. ``base_url`` (or ``MLOPS_STACK_VERTEX_BASE_URL``)
points the provider at another API root; the tests use a local fake server.
"""

from __future__ import annotations

import json
import os
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Mapping
from typing import Any

import pulumi
from pulumi.dynamic import CreateResult, DiffResult, ResourceProvider, UpdateResult

API_VERSION = "v1"
BASE_URL_ENV = "MLOPS_STACK_VERTEX_BASE_URL"
CLOUD_PLATFORM_SCOPE = "https://www.googleapis.com/auth/cloud-platform"
#: Autoscaling metrics Vertex AI accepts for dedicated resources.
GPU_METRIC = "aiplatform.googleapis.com/prediction/online/accelerator/duty_cycle"
CPU_METRIC = "aiplatform.googleapis.com/prediction/online/cpu/utilization"

#: Inputs whose change replaces the resource (it lives in another place).
REPLACE_FIELDS = ("project", "region", "endpoint")
#: Inputs that make a new model (upload, then redeploy).
MODEL_FIELDS = ("display_name", "image", "artifact_uri", "env", "labels", "kms_key_name", "predict_route", "health_route")
#: Inputs that need a new deployment of the same model.
MACHINE_FIELDS = ("machine_type", "accelerator_type", "accelerator_count", "service_account")
#: Inputs ``mutateDeployedModel`` changes in place.
SCALE_FIELDS = ("min_replicas", "max_replicas", "autoscaling_metric", "autoscaling_target")
TRAFFIC_FIELDS = ("traffic_percent",)
INPUT_FIELDS = REPLACE_FIELDS + MODEL_FIELDS + MACHINE_FIELDS + SCALE_FIELDS + TRAFFIC_FIELDS
OUTPUT_FIELDS = ("model", "model_version_id", "deployed_model_id")
#: The placeholder ID ``deployModel`` uses for the model being deployed in a traffic split.
NEW = "0"


class VertexApiError(RuntimeError):
    def __init__(self, status: int, method: str, url: str, message: str) -> None:
        super().__init__(f"Vertex AI {method} {url} failed ({status}): {message}")
        self.status = status


def adc_token() -> str:
    """An OAuth access token from application default credentials."""
    try:
        import google.auth
        import google.auth.transport.requests
    except ImportError as err:  # pragma: no cover - depends on the environment
        raise RuntimeError("the Vertex AI deployment needs google-auth: pip install 'mlops-stack[gcp]'") from err
    credentials, _project = google.auth.default(scopes=[CLOUD_PLATFORM_SCOPE])
    credentials.refresh(google.auth.transport.requests.Request())
    return str(credentials.token)


# ---------------------------------------------------------------------------------
# Pure request builders (tested directly).


def upload_body(props: Mapping[str, Any]) -> dict[str, Any]:
    container: dict[str, Any] = {"imageUri": props["image"]}
    env = props.get("env") or {}
    if env:
        container["env"] = [{"name": k, "value": str(v)} for k, v in sorted(env.items())]
    if props.get("predict_route"):
        container["predictRoute"] = props["predict_route"]
    if props.get("health_route"):
        container["healthRoute"] = props["health_route"]
    model: dict[str, Any] = {"displayName": props["display_name"], "containerSpec": container}
    if props.get("artifact_uri"):
        model["artifactUri"] = props["artifact_uri"]
    if props.get("labels"):
        model["labels"] = dict(props["labels"])
    if props.get("kms_key_name"):
        model["encryptionSpec"] = {"kmsKeyName": props["kms_key_name"]}
    return {"model": model}


def dedicated_resources(props: Mapping[str, Any]) -> dict[str, Any]:
    machine: dict[str, Any] = {"machineType": props["machine_type"]}
    if props.get("accelerator_type"):
        machine["acceleratorType"] = props["accelerator_type"]
        machine["acceleratorCount"] = int(props.get("accelerator_count") or 1)
    return {
        "machineSpec": machine,
        "minReplicaCount": int(props["min_replicas"]),
        "maxReplicaCount": int(props["max_replicas"]),
        "autoscalingMetricSpecs": [{"metricName": props["autoscaling_metric"], "target": int(props["autoscaling_target"])}],
    }


def traffic_split(current: Mapping[str, int], percent: int, drop: str | None = None) -> dict[str, int]:
    """The endpoint's traffic split after deploying a new model with ``percent`` of it.

    The rest is shared by the models already deployed (except ``drop``) in proportion
    to their current shares (largest remainder, so it sums to 100); with none left, the
    new model gets everything.
    """
    others = {k: int(v) for k, v in current.items() if k != drop}
    rest = 100 - percent
    total = sum(others.values())
    if rest <= 0 or not others:
        return {NEW: 100, **dict.fromkeys(others, 0)}
    if total == 0:
        shares = {k: rest / len(others) for k in others}
    else:
        shares = {k: rest * v / total for k, v in others.items()}
    floors = {k: int(s) for k, s in shares.items()}
    left = rest - sum(floors.values())
    for k in sorted(shares, key=lambda k: (-(shares[k] - floors[k]), k))[:left]:
        floors[k] += 1
    return {NEW: percent, **floors}


def remaining_split(current: Mapping[str, int], drop: str) -> dict[str, int]:
    """The traffic split once ``drop`` is gone: its share spread over the others
    (empty when no other deployment remains)."""
    split = traffic_split(current, 0, drop)
    split.pop(NEW)
    return split if any(k != NEW for k in split) else {}


def deploy_body(props: Mapping[str, Any], model: str, split: Mapping[str, int]) -> dict[str, Any]:
    deployed: dict[str, Any] = {
        "model": model,
        "displayName": props["display_name"],
        "dedicatedResources": dedicated_resources(props),
    }
    if props.get("service_account"):
        deployed["serviceAccount"] = props["service_account"]
    return {"deployedModel": deployed, "trafficSplit": dict(split)}


def mutate_body(props: Mapping[str, Any], deployed_model_id: str) -> dict[str, Any]:
    resources = dedicated_resources(props)
    resources.pop("machineSpec")
    return {
        "deployedModel": {"id": deployed_model_id, "dedicatedResources": resources},
        "updateMask": "dedicatedResources.minReplicaCount,dedicatedResources.maxReplicaCount,dedicatedResources.autoscalingMetricSpecs",
    }


def changed(olds: Mapping[str, Any], news: Mapping[str, Any], fields: tuple[str, ...]) -> list[str]:
    return [f for f in fields if olds.get(f) != news.get(f)]


# ---------------------------------------------------------------------------------
# The REST client.


class VertexClient:
    def __init__(
        self,
        region: str,
        *,
        base_url: str | None = None,
        token: Callable[[], str] | None = None,
        poll_interval: float = 5.0,
        timeout: float = 3600.0,
    ) -> None:
        self.base = (base_url or os.environ.get(BASE_URL_ENV) or f"https://{region}-aiplatform.googleapis.com").rstrip("/")
        self._token = token or adc_token
        self._bearer: str | None = None
        self.poll_interval = poll_interval
        self.timeout = timeout

    def call(self, method: str, path: str, body: Mapping[str, Any] | None = None) -> dict[str, Any]:
        url = f"{self.base}/{API_VERSION}/{path.lstrip('/')}"
        if self._bearer is None:
            self._bearer = self._token()
        data = json.dumps(body).encode() if body is not None else None
        request = urllib.request.Request(url, data=data, method=method)
        request.add_header("Authorization", f"Bearer {self._bearer}")
        request.add_header("Accept", "application/json")
        if data is not None:
            request.add_header("Content-Type", "application/json")
        try:
            with urllib.request.urlopen(request, timeout=60) as response:  # noqa: S310 - https or the test server
                text = response.read().decode() or "{}"
        except urllib.error.HTTPError as err:
            detail = err.read().decode(errors="replace")
            try:
                detail = json.loads(detail).get("error", {}).get("message", detail)
            except ValueError:
                pass
            raise VertexApiError(err.code, method, url, detail) from None
        return json.loads(text)

    def wait(self, operation: Mapping[str, Any]) -> dict[str, Any]:
        """Poll a long-running operation until it is done; its ``response``, or raise its error."""
        op = dict(operation)
        deadline = time.monotonic() + self.timeout
        while not op.get("done"):
            if time.monotonic() > deadline:
                raise TimeoutError(f"Vertex AI operation {op.get('name')} not done after {self.timeout:.0f}s")
            time.sleep(self.poll_interval)
            op = self.call("GET", op["name"])
        if "error" in op:
            err = op["error"]
            raise VertexApiError(int(err.get("code", 500)), "operation", str(op.get("name")), str(err.get("message", err)))
        return dict(op.get("response") or {})


# ---------------------------------------------------------------------------------
# The provider.


class VertexDeploymentProvider(ResourceProvider):
    """CRUD for one custom model deployed on one Vertex AI endpoint."""

    def __init__(
        self, base_url: str | None = None, token: Callable[[], str] | None = None, poll_interval: float = 5.0, timeout: float = 3600.0
    ) -> None:
        super().__init__()
        self.base_url = base_url
        self.token = token
        self.poll_interval = poll_interval
        self.timeout = timeout

    def _client(self, props: Mapping[str, Any]) -> VertexClient:
        return VertexClient(props["region"], base_url=self.base_url, token=self.token, poll_interval=self.poll_interval, timeout=self.timeout)

    # -- steps ----------------------------------------------------------------

    @staticmethod
    def _upload(client: VertexClient, props: Mapping[str, Any]) -> tuple[str, str]:
        parent = f"projects/{props['project']}/locations/{props['region']}"
        done = client.wait(client.call("POST", f"{parent}/models:upload", upload_body(props)))
        return str(done["model"]), str(done.get("modelVersionId", "1"))

    @staticmethod
    def _deploy(client: VertexClient, props: Mapping[str, Any], model: str, drop: str | None = None) -> str:
        endpoint = client.call("GET", props["endpoint"])
        split = traffic_split(endpoint.get("trafficSplit") or {}, int(props.get("traffic_percent") or 100), drop)
        done = client.wait(client.call("POST", f"{props['endpoint']}:deployModel", deploy_body(props, model, split)))
        return str(done["deployedModel"]["id"])

    @staticmethod
    def _undeploy(client: VertexClient, endpoint: str, deployed_model_id: str) -> None:
        """Undeploy; if the deployment still has traffic and others remain, hand its share
        to them (Vertex refuses to undeploy a model with traffic unless it is the last)."""
        try:
            current = client.call("GET", endpoint).get("trafficSplit") or {}
            body: dict[str, Any] = {"deployedModelId": deployed_model_id}
            rest = remaining_split(current, deployed_model_id)
            if current.get(deployed_model_id) and rest:
                body["trafficSplit"] = rest
            client.wait(client.call("POST", f"{endpoint}:undeployModel", body))
        except VertexApiError as err:
            if err.status != 404:
                raise

    @staticmethod
    def _delete_model(client: VertexClient, model: str) -> None:
        try:
            client.wait(client.call("DELETE", model))
        except VertexApiError as err:
            if err.status != 404:
                raise

    # -- CRUD -----------------------------------------------------------------

    def create(self, props: dict[str, Any]) -> CreateResult:
        client = self._client(props)
        model, version = self._upload(client, props)
        deployed = self._deploy(client, props, model)
        outs = {**props, "model": model, "model_version_id": version, "deployed_model_id": deployed}
        return CreateResult(id_=f"{props['endpoint']}/deployedModels/{props['display_name']}", outs=outs)

    def diff(self, _id: str, olds: dict[str, Any], news: dict[str, Any]) -> DiffResult:
        changes = changed(olds, news, INPUT_FIELDS)
        replaces = [f for f in changes if f in REPLACE_FIELDS]
        return DiffResult(changes=bool(changes), replaces=replaces, stables=list(REPLACE_FIELDS), delete_before_replace=False)

    def update(self, _id: str, olds: dict[str, Any], news: dict[str, Any]) -> UpdateResult:
        client = self._client(news)
        model, version, deployed = olds["model"], olds.get("model_version_id", "1"), olds["deployed_model_id"]
        if changed(olds, news, MODEL_FIELDS):
            model, version = self._upload(client, news)
        if model != olds["model"] or changed(olds, news, MACHINE_FIELDS):
            deployed = self._deploy(client, news, model, drop=olds["deployed_model_id"])
            self._undeploy(client, news["endpoint"], olds["deployed_model_id"])
            if model != olds["model"]:
                self._delete_model(client, olds["model"])
        else:
            if changed(olds, news, SCALE_FIELDS):
                client.wait(client.call("POST", f"{news['endpoint']}:mutateDeployedModel", mutate_body(news, deployed)))
            if changed(olds, news, TRAFFIC_FIELDS):
                endpoint = client.call("GET", news["endpoint"])
                split = traffic_split(endpoint.get("trafficSplit") or {}, int(news.get("traffic_percent") or 100), drop=deployed)
                split[deployed] = split.pop(NEW)
                # endpoints.patch answers with the endpoint itself, not an operation.
                client.call("PATCH", f"{news['endpoint']}?updateMask=trafficSplit", {"trafficSplit": split})
        return UpdateResult(outs={**news, "model": model, "model_version_id": version, "deployed_model_id": deployed})

    def delete(self, _id: str, props: dict[str, Any]) -> None:
        client = self._client(props)
        if props.get("deployed_model_id"):
            self._undeploy(client, props["endpoint"], props["deployed_model_id"])
        if props.get("model"):
            self._delete_model(client, props["model"])


class VertexModelDeployment(pulumi.dynamic.Resource, module="mlops", name="VertexModelDeployment"):
    """``pulumi-python:dynamic/mlops:VertexModelDeployment``: a custom model uploaded to
    the Vertex AI Model Registry and deployed on an endpoint. ``props`` are the input
    fields above (``INPUT_FIELDS``); outputs add ``model``, ``model_version_id`` and
    ``deployed_model_id``."""

    model: pulumi.Output[str]
    model_version_id: pulumi.Output[str]
    deployed_model_id: pulumi.Output[str]

    def __init__(
        self, name: str, props: Mapping[str, Any], opts: pulumi.ResourceOptions | None = None, provider: VertexDeploymentProvider | None = None
    ) -> None:
        unknown = set(props) - set(INPUT_FIELDS)
        if unknown:
            raise ValueError(f"unknown VertexModelDeployment inputs: {', '.join(sorted(unknown))}")
        super().__init__(provider or VertexDeploymentProvider(), name, {**props, **dict.fromkeys(OUTPUT_FIELDS)}, opts)
