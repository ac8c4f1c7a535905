"""A custom model on a Vertex AI endpoint, as a Pulumi dynamic resource.

pulumi-gcp has a resource for the endpoint (``gcp.vertex.AiEndpoint``) but none that
uploads a custom-container model and deploys it. ``VertexDeploymentProvider`` does both
through the Vertex AI REST API (v1), with a real create / diff / update / delete:

* create: ``models:upload`` (container image + artifact URI, CMEK, labels), wait for the
  operation; then ``endpoints/<id>:deployModel`` (machine type + accelerator, min/max
  replicas, an autoscaling target, the serving service account, a traffic split).
* update: a new image, artifact or environment uploads a new model, deploys it
  next to the old one with the traffic moved to it, undeploys the old deployment and
  deletes the old model (no downtime); a new machine shape redeploys the same model the
  same way; new replica counts or autoscaling targets only ``mutateDeployedModel``; new
  labels (a spec tag change) only ``models.patch`` the model's labels (no redeploy).
* delete: ``undeployModel`` then delete the model; both tolerate "already gone" (404).
* read (``pulumi refresh``): the deployment's replicas, machine, traffic share and the
  model's container as the API reports them; a deployment no longer on the endpoint (or
  an endpoint that is gone) reads as deleted.
* a different project, region or endpoint replaces the resource.

Create is idempotent: every model it uploads carries the label ``mlops-stack-deployment``
with a key derived from the Pulumi project, stack and resource name
(``deployment_key``). Before uploading, create lists the models with that label
(``models.list`` with ``filter=labels.mlops-stack-deployment="<key>"``) and reuses one
with the same image and artifact (and its deployment on the endpoint, if there is one),
so a retry after an interrupted apply neither duplicates the model nor leaves one
Pulumi does not know. If anything fails after this call uploaded a model, create
undeploys and deletes that model before raising (so the retry starts clean).

Images in the stack's own Artifact Registry (``check_image``): before an upload, the
provider asks Artifact Registry for the image's tag (``packages.tags.get``) or digest
(``packages.versions.get``) and, when it is missing, fails with one line that says to
push the image first (on a first apply the repository was just created and is empty).

Credentials are application default credentials (``google-auth``: workload identity
federation, the metadata server or ``gcloud auth application-default login``) used
through ``AuthorizedSession``, which refreshes the token whenever it expires (a GPU
deployment can take longer than a token lives) and retries once on 401. Every request
carries ``x-goog-user-project``: the credentials' quota project, else the stack's
project; user credentials without one get 403 from the regional Vertex AI endpoints.
No key file is ever read or written. ``base_url`` (or ``MLOPS_STACK_VERTEX_BASE_URL``)
points the provider at another API root; the tests use a local fake server.
"""

from __future__ import annotations

import hashlib
import os
import time
from collections.abc import Mapping
from typing import Any

import pulumi
from pulumi.dynamic import CreateResult, DiffResult, ReadResult, ResourceProvider, UpdateResult

API_VERSION = "v1"
BASE_URL_ENV = "MLOPS_STACK_VERTEX_BASE_URL"
#: Artifact Registry's API root (its REST v1 has the repositories' packages, tags, versions).
ARTIFACT_REGISTRY_URL = "https://artifactregistry.googleapis.com"
ARTIFACT_REGISTRY_URL_ENV = "MLOPS_STACK_ARTIFACT_REGISTRY_BASE_URL"
CLOUD_PLATFORM_SCOPE = "https://www.googleapis.com/auth/cloud-platform"
#: Autoscaling metrics Vertex AI accepts for dedicated resources.
GPU_METRIC = "aiplatform.googleapis.com/prediction/online/accelerator/duty_cycle"
CPU_METRIC = "aiplatform.googleapis.com/prediction/online/cpu/utilization"

#: Inputs whose change replaces the resource (it lives in another place).
REPLACE_FIELDS = ("project", "region", "endpoint")
#: Inputs that make a new model (upload, then redeploy).
MODEL_FIELDS = ("display_name", "image", "artifact_uri", "env", "kms_key_name", "predict_route", "health_route")
#: Inputs ``models.patch`` changes on the deployed model in place (``updateMask=labels``):
#: a spec tag change relabels the model and never redeploys it (a redeploy runs the new
#: model next to the old one, which needs twice the serving quota).
LABEL_FIELDS = ("labels",)
#: Inputs that need a new deployment of the same model.
MACHINE_FIELDS = ("machine_type", "accelerator_type", "accelerator_count", "service_account")
#: Inputs ``mutateDeployedModel`` changes in place.
SCALE_FIELDS = ("min_replicas", "max_replicas", "autoscaling_metric", "autoscaling_target")
TRAFFIC_FIELDS = ("traffic_percent",)
#: The idempotency key (``deployment_key``) and whether to check the image exists: only
#: create and uploads use them, a change needs no call.
KEY_FIELDS = ("deployment_key", "check_image")
INPUT_FIELDS = REPLACE_FIELDS + MODEL_FIELDS + LABEL_FIELDS + MACHINE_FIELDS + SCALE_FIELDS + TRAFFIC_FIELDS + KEY_FIELDS
#: ``service_attachment``: the Private Service Connect service attachment of the deployed
#: model (``deployedModels[].privateEndpoints.serviceAttachment``) on a PSC endpoint, the
#: target of the consumer's forwarding rule; None on a public endpoint.
OUTPUT_FIELDS = ("model", "model_version_id", "deployed_model_id", "service_attachment")
#: The placeholder ID ``deployModel`` uses for the model being deployed in a traffic split.
NEW = "0"
#: The model label create looks models up by (value: ``deployment_key``).
DEPLOYMENT_LABEL = "mlops-stack-deployment"
#: The header that names the project billed and checked for quota. Vertex AI's regional
#: endpoints answer 403 to user credentials without it.
QUOTA_HEADER = "x-goog-user-project"


class ImageMissing(RuntimeError):
    """The endpoint's image is not in the stack's Artifact Registry (yet)."""


class VertexApiError(RuntimeError):
    def __init__(self, status: int, method: str, url: str, message: str) -> None:
        super().__init__(f"Vertex AI {method} {url} failed ({status}): {message}")
        self.status = status


def adc_credentials() -> Any:
    """Application default credentials with the cloud-platform scope."""
    try:
        import google.auth
    except ImportError as err:  # pragma: no cover - depends on the environment
        raise RuntimeError("the Vertex AI deployment needs google-auth: pip install 'mlops-stack[gcp]'") from err
    credentials, _project = google.auth.default(scopes=[CLOUD_PLATFORM_SCOPE])
    return credentials


def quota_project(credentials: Any, project: str) -> str:
    """The ``x-goog-user-project`` value: the credentials' own quota project (what
    ``gcloud auth application-default set-quota-project`` set), else the stack's project."""
    return str(getattr(credentials, "quota_project_id", None) or project)


def deployment_key(*parts: str) -> str:
    """A label value that names one deployment for good: ``d`` + 20 hex digits of a hash of
    the Pulumi project, stack and resource name (what its URN is made of). Label values
    allow lowercase letters, digits, ``-`` and ``_`` (at most 63 characters)."""
    return "d" + hashlib.sha256("/".join(parts).encode()).hexdigest()[:20]


def artifact_registry_image(image: str) -> tuple[str, str] | None:
    """``(package resource name, tag or digest path)`` of an Artifact Registry Docker image
    reference ``<location>-docker.pkg.dev/<project>/<repository>/<image>[:tag|@digest]``:
    ``("projects/p/locations/l/repositories/r/packages/<image, / as %2F>", "tags/1.0")``
    (``versions/sha256:...`` for a digest, ``tags/latest`` without either); ``None`` when
    the reference is not an Artifact Registry Docker image."""
    host, _, rest = image.partition("/")
    if not host.endswith("-docker.pkg.dev") or rest.count("/") < 2:
        return None
    location = host[: -len("-docker.pkg.dev")]
    project, repository, path = rest.split("/", 2)
    if "@" in path:
        path, digest = path.split("@", 1)
        ref = f"versions/{digest}"
    else:
        last = path.rsplit("/", 1)[-1]
        tag = last.split(":", 1)[1] if ":" in last else "latest"
        path = path[: len(path) - len(last)] + last.split(":", 1)[0]
        ref = f"tags/{tag}"
    package = path.replace("/", "%2F")
    return f"projects/{project}/locations/{location}/repositories/{repository}/packages/{package}", ref


# ---------------------------------------------------------------------------------
# Pure request builders (tested directly).


def model_labels(props: Mapping[str, Any]) -> dict[str, str]:
    """The model's labels: the spec's tags plus the idempotency label (``deployment_key``)."""
    out = dict(props.get("labels") or {})
    if props.get("deployment_key"):
        out[DEPLOYMENT_LABEL] = props["deployment_key"]
    return out


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
    labels_ = model_labels(props)
    if labels_:
        model["labels"] = labels_
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


def psc_enabled(endpoint: Mapping[str, Any]) -> bool:
    """Whether an endpoint (as ``endpoints.get`` returns it) serves through Private Service Connect."""
    return bool((endpoint.get("privateServiceConnectConfig") or {}).get("enablePrivateServiceConnect"))


def attachment_of(deployed_model: Mapping[str, Any]) -> str | None:
    """A deployed model's PSC service attachment, if the API reports one."""
    return (deployed_model.get("privateEndpoints") or {}).get("serviceAttachment") or None


def changed(olds: Mapping[str, Any], news: Mapping[str, Any], fields: tuple[str, ...]) -> list[str]:
    return [f for f in fields if olds.get(f) != news.get(f)]


# ---------------------------------------------------------------------------------
# The REST client.


def model_id(name: str) -> str:
    """A model's resource name without a version suffix (``.../models/12@3`` -> ``.../models/12``)."""
    return name.split("@", 1)[0]


class VertexClient:
    """Vertex AI REST calls through an authorized session (``requests``-like: ``request``
    with ``json``/``headers``/``params``/``timeout``, answers with ``status_code``/``text``)."""

    def __init__(
        self,
        region: str,
        project: str,
        *,
        base_url: str | None = None,
        credentials: Any = None,
        session: Any = None,
        poll_interval: float = 5.0,
        timeout: float = 3600.0,
    ) -> None:
        self.base = (base_url or os.environ.get(BASE_URL_ENV) or f"https://{region}-aiplatform.googleapis.com").rstrip("/")
        if session is None:
            from google.auth.transport.requests import AuthorizedSession

            credentials = credentials if credentials is not None else adc_credentials()
            session = AuthorizedSession(credentials)
        self.session = session
        self.quota_project = quota_project(credentials, project)
        self.poll_interval = poll_interval
        self.timeout = timeout

    def call(
        self, method: str, path: str, body: Mapping[str, Any] | None = None, params: Mapping[str, str] | None = None, base: str | None = None
    ) -> dict[str, Any]:
        url = f"{base or self.base}/{API_VERSION}/{path.lstrip('/')}"
        headers = {"Accept": "application/json", QUOTA_HEADER: self.quota_project}
        response = self.session.request(method, url, json=dict(body) if body is not None else None, params=dict(params or {}) or None, headers=headers, timeout=60)
        if response.status_code >= 400:
            detail = response.text
            try:
                detail = response.json().get("error", {}).get("message", detail)
            except ValueError:
                pass
            raise VertexApiError(response.status_code, method, url, detail)
        return dict(response.json()) if response.text else {}

    def list_models(self, parent: str, label: str, value: str) -> list[dict[str, Any]]:
        """Every model of ``parent`` with ``labels.<label> = value`` (all pages)."""
        models: list[dict[str, Any]] = []
        params = {"filter": f'labels.{label}="{value}"'}
        while True:
            page = self.call("GET", f"{parent}/models", params=params)
            models.extend(page.get("models") or [])
            token = page.get("nextPageToken")
            if not token:
                return models
            params = {**params, "pageToken": token}

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
        self,
        base_url: str | None = None,
        credentials: Any = None,
        poll_interval: float = 5.0,
        timeout: float = 3600.0,
        registry_base_url: str | None = None,
    ) -> None:
        super().__init__()
        self.base_url = base_url
        self.registry_base_url = registry_base_url
        self.credentials = credentials
        self.poll_interval = poll_interval
        self.timeout = timeout

    def _client(self, props: Mapping[str, Any]) -> VertexClient:
        return VertexClient(
            props["region"], props["project"], base_url=self.base_url, credentials=self.credentials, poll_interval=self.poll_interval, timeout=self.timeout
        )

    # -- steps ----------------------------------------------------------------

    def _check_image(self, client: VertexClient, props: Mapping[str, Any]) -> None:
        """Fail with one line when an image of the stack's own registry is not there."""
        ref = artifact_registry_image(str(props["image"])) if props.get("check_image") else None
        if ref is None:
            return
        package, version = ref
        base = (self.registry_base_url or os.environ.get(ARTIFACT_REGISTRY_URL_ENV) or ARTIFACT_REGISTRY_URL).rstrip("/")
        try:
            client.call("GET", f"{package}/{version}", base=base)
        except VertexApiError as err:
            if err.status != 404:
                raise
            raise ImageMissing(
                f"endpoint {props['display_name']}: image {props['image']} is not in the stack's Artifact Registry: "
                "push the image first (docs/first-apply.md), then run pulumi up again"
            ) from None

    def _upload(self, client: VertexClient, props: Mapping[str, Any]) -> tuple[str, str]:
        self._check_image(client, props)
        parent = f"projects/{props['project']}/locations/{props['region']}"
        done = client.wait(client.call("POST", f"{parent}/models:upload", upload_body(props)))
        return str(done["model"]), str(done.get("modelVersionId", "1"))

    @staticmethod
    def _deploy(client: VertexClient, props: Mapping[str, Any], model: str, drop: str | None = None) -> tuple[str, str | None]:
        """``(deployed model ID, PSC service attachment or None)``."""
        endpoint = client.call("GET", props["endpoint"])
        split = traffic_split(endpoint.get("trafficSplit") or {}, int(props.get("traffic_percent") or 100), drop)
        done = client.wait(client.call("POST", f"{props['endpoint']}:deployModel", deploy_body(props, model, split)))
        deployed = str(done["deployedModel"]["id"])
        if not psc_enabled(endpoint):
            return deployed, None
        attachment = attachment_of(done["deployedModel"])
        if attachment is None:
            # The operation's DeployedModel may omit output-only fields: read the endpoint.
            after = client.call("GET", props["endpoint"])
            dm = next((d for d in after.get("deployedModels") or [] if str(d.get("id")) == deployed), {})
            attachment = attachment_of(dm)
        return deployed, attachment

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

    @staticmethod
    def _existing(client: VertexClient, props: Mapping[str, Any]) -> tuple[str, str, str | None, str | None] | None:
        """``(model, version, deployed_model_id | None, service attachment | None)`` of what an earlier, interrupted
        create left: a model labelled with this deployment's key, with the same image and
        artifact, preferably one already deployed on the endpoint."""
        key = props.get("deployment_key")
        if not key:
            return None
        parent = f"projects/{props['project']}/locations/{props['region']}"
        models = [
            m
            for m in client.list_models(parent, DEPLOYMENT_LABEL, str(key))
            if (m.get("containerSpec") or {}).get("imageUri") == props["image"] and (m.get("artifactUri") or None) == (props.get("artifact_uri") or None)
        ]
        if not models:
            return None
        versions = {model_id(m["name"]): str(m.get("versionId") or "1") for m in models}
        for dm in client.call("GET", props["endpoint"]).get("deployedModels") or []:
            name = model_id(str(dm.get("model", "")))
            if name in versions:
                return name, versions[name], str(dm["id"]), attachment_of(dm)
        name = sorted(versions)[0]
        return name, versions[name], None, None

    def _clean_up(self, client: VertexClient, endpoint: str, model: str, err: BaseException) -> None:
        """Undeploy and delete a model this call uploaded, after ``err``; a failure here is
        added to ``err`` as a note (the original error is the one raised)."""
        try:
            for dm in client.call("GET", endpoint).get("deployedModels") or []:
                if model_id(str(dm.get("model", ""))) == model:
                    self._undeploy(client, endpoint, str(dm["id"]))
            self._delete_model(client, model)
        except Exception as cleanup:  # noqa: BLE001 - reported on the original error
            err.add_note(f"cleaning up {model} failed too ({cleanup}); delete it by hand")

    # -- CRUD -----------------------------------------------------------------

    def create(self, props: dict[str, Any]) -> CreateResult:
        client = self._client(props)
        found = self._existing(client, props)
        uploaded: str | None = None
        attachment: str | None = None
        if found is None:
            model, version = self._upload(client, props)
            uploaded, deployed = model, None
        else:
            model, version, deployed, attachment = found
        if deployed is None:
            try:
                deployed, attachment = self._deploy(client, props, model)
            except BaseException as err:
                if uploaded is not None:
                    self._clean_up(client, props["endpoint"], uploaded, err)
                raise
        outs = {**props, "model": model, "model_version_id": version, "deployed_model_id": deployed, "service_attachment": attachment}
        return CreateResult(id_=f"{props['endpoint']}/deployedModels/{props['display_name']}", outs=outs)

    def read(self, id_: str, props: dict[str, Any]) -> ReadResult:
        """The deployment as the API has it now; ``ReadResult()`` (no ID) when it is gone."""
        client = self._client(props)
        try:
            endpoint = client.call("GET", props["endpoint"])
        except VertexApiError as err:
            if err.status == 404:
                return ReadResult()
            raise
        deployed = next((d for d in endpoint.get("deployedModels") or [] if str(d.get("id")) == str(props.get("deployed_model_id"))), None)
        if deployed is None:
            return ReadResult()
        state = dict(props)
        state["model"] = model_id(str(deployed.get("model") or props.get("model")))
        state["service_attachment"] = attachment_of(deployed) or props.get("service_attachment")
        resources = deployed.get("dedicatedResources") or {}
        machine = resources.get("machineSpec") or {}
        if machine:
            state["machine_type"] = machine.get("machineType")
            state["accelerator_type"] = machine.get("acceleratorType") or None
            state["accelerator_count"] = int(machine.get("acceleratorCount") or 0) if machine.get("acceleratorType") else props.get("accelerator_count")
        if "minReplicaCount" in resources:
            state["min_replicas"] = int(resources["minReplicaCount"])
        if "maxReplicaCount" in resources:
            state["max_replicas"] = int(resources["maxReplicaCount"])
        metrics = resources.get("autoscalingMetricSpecs") or []
        if metrics:
            state["autoscaling_metric"] = metrics[0].get("metricName")
            state["autoscaling_target"] = int(metrics[0].get("target") or 0)
        if "serviceAccount" in deployed:
            state["service_account"] = deployed["serviceAccount"]
        state["traffic_percent"] = int((endpoint.get("trafficSplit") or {}).get(str(deployed["id"]), 0))
        try:
            model = client.call("GET", state["model"])
        except VertexApiError as err:
            if err.status != 404:
                raise
        else:
            container = model.get("containerSpec") or {}
            state["image"] = container.get("imageUri", props.get("image"))
            state["env"] = {e["name"]: e.get("value", "") for e in container.get("env") or []}
            state["artifact_uri"] = model.get("artifactUri") or None
            state["model_version_id"] = str(model.get("versionId") or props.get("model_version_id") or "1")
        inputs = {k: state.get(k) for k in INPUT_FIELDS if k in props}
        return ReadResult(id_=id_, outs=state, inputs=inputs)

    def diff(self, _id: str, olds: dict[str, Any], news: dict[str, Any]) -> DiffResult:
        changes = changed(olds, news, INPUT_FIELDS)
        replaces = [f for f in changes if f in REPLACE_FIELDS]
        return DiffResult(changes=bool(changes), replaces=replaces, stables=list(REPLACE_FIELDS), delete_before_replace=False)

    def update(self, _id: str, olds: dict[str, Any], news: dict[str, Any]) -> UpdateResult:
        client = self._client(news)
        model, version, deployed = olds["model"], olds.get("model_version_id", "1"), olds["deployed_model_id"]
        attachment: str | None = olds.get("service_attachment")
        uploaded: str | None = None
        if changed(olds, news, MODEL_FIELDS):
            model, version = self._upload(client, news)
            uploaded = model
        elif changed(olds, news, LABEL_FIELDS):
            # models.patch answers with the model itself, not an operation.
            client.call("PATCH", f"{model}?updateMask=labels", {"labels": model_labels(news)})
        if model != olds["model"] or changed(olds, news, MACHINE_FIELDS):
            try:
                deployed, attachment = self._deploy(client, news, model, drop=olds["deployed_model_id"])
            except BaseException as err:
                if uploaded is not None:
                    self._clean_up(client, news["endpoint"], uploaded, err)
                raise
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
        return UpdateResult(outs={**news, "model": model, "model_version_id": version, "deployed_model_id": deployed, "service_attachment": attachment})

    def delete(self, _id: str, props: dict[str, Any]) -> None:
        client = self._client(props)
        if props.get("deployed_model_id"):
            self._undeploy(client, props["endpoint"], props["deployed_model_id"])
        if props.get("model"):
            self._delete_model(client, props["model"])


class VertexModelDeployment(pulumi.dynamic.Resource, module="mlops", name="VertexModelDeployment"):
    """``pulumi-python:dynamic/mlops:VertexModelDeployment``: a custom model uploaded to
    the Vertex AI Model Registry and deployed on an endpoint. ``props`` are the input
    fields above (``INPUT_FIELDS``); outputs add ``model``, ``model_version_id``,
    ``deployed_model_id`` and ``service_attachment`` (PSC endpoints only)."""

    model: pulumi.Output[str]
    model_version_id: pulumi.Output[str]
    deployed_model_id: pulumi.Output[str]
    service_attachment: pulumi.Output[str | None]

    def __init__(
        self, name: str, props: Mapping[str, Any], opts: pulumi.ResourceOptions | None = None, provider: VertexDeploymentProvider | None = None
    ) -> None:
        unknown = set(props) - set(INPUT_FIELDS)
        if unknown:
            raise ValueError(f"unknown VertexModelDeployment inputs: {', '.join(sorted(unknown))}")
        super().__init__(provider or VertexDeploymentProvider(), name, {**props, **dict.fromkeys(OUTPUT_FIELDS)}, opts)
