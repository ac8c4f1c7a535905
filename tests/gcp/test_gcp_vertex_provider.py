"""The Vertex AI deployment dynamic provider against a local fake of the REST API:
create (idempotent, cleaned up on failure), read, update (replica count, image, machine
shape, traffic) and delete, asserting every request sent, its token and its quota
project header."""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest

from fake_vertex import ENDPOINT, PARENT, PROJECT, REGION, TOKEN, FakeCredentials, FakeServer
from mlops_stack.gcp.vertex_provider import (
    BASE_URL_ENV,
    CPU_METRIC,
    DEPLOYMENT_LABEL,
    GPU_METRIC,
    VertexApiError,
    VertexClient,
    VertexDeploymentProvider,
    ImageMissing,
    artifact_registry_image,
    deployment_key,
    quota_project,
)

KEY = deployment_key("mlops-stack", "dev", "sentiment-deployment")


def props(**over: Any) -> dict[str, Any]:
    base = {
        "project": PROJECT,
        "region": REGION,
        "endpoint": ENDPOINT,
        "display_name": "mlops-dev-sentiment",
        "image": "us-central1-docker.pkg.dev/p/serving/sentiment:1.0.0",
        "artifact_uri": "gs://mlops-dev-models-abc1234/sentiment/v1",
        "env": {"MODEL_NAME": "sentiment", "LOG_LEVEL": "info"},
        "labels": {"environment": "dev"},
        "kms_key_name": f"{PARENT}/keyRings/r/cryptoKeys/vertex",
        "predict_route": None,
        "health_route": None,
        "machine_type": "g2-standard-4",
        "accelerator_type": "NVIDIA_L4",
        "accelerator_count": 1,
        "service_account": "mlops-dev-ep-sentiment@mlops-test-123456.iam.gserviceaccount.com",
        "min_replicas": 1,
        "max_replicas": 2,
        "autoscaling_metric": GPU_METRIC,
        "autoscaling_target": 70,
        "traffic_percent": 100,
        "deployment_key": KEY,
    }
    base.update(over)
    return base


@pytest.fixture
def server():
    with FakeServer() as s:
        yield s


@pytest.fixture
def provider(server: FakeServer) -> VertexDeploymentProvider:
    return VertexDeploymentProvider(base_url=server.url, credentials=FakeCredentials(), poll_interval=0)


def calls(server: FakeServer) -> list[tuple[str, str]]:
    """``(method, path)`` of every request, the query string left out (see ``queries``)."""
    return [(r.method, r.path.split("?", 1)[0]) for r in server.fake.requests]


def queries(server: FakeServer) -> list[dict[str, list[str]]]:
    return [parse_qs(urlsplit(r.path).query) for r in server.fake.requests]


def test_create_uploads_then_deploys(server: FakeServer, provider: VertexDeploymentProvider) -> None:
    result = provider.create(props())
    model = f"{PARENT}/models/101"
    assert calls(server) == [
        ("GET", f"/v1/{PARENT}/models"),
        ("POST", f"/v1/{PARENT}/models:upload"),
        ("GET", f"/v1/{PARENT}/operations/2"),
        ("GET", f"/v1/{ENDPOINT}"),
        ("POST", f"/v1/{ENDPOINT}:deployModel"),
    ]
    # First a lookup of what an interrupted earlier create may have left.
    assert queries(server)[0] == {"filter": [f'labels.{DEPLOYMENT_LABEL}="{KEY}"']}
    assert all(r.authorization == f"Bearer {TOKEN}-1" for r in server.fake.requests)
    assert all(r.user_project == PROJECT for r in server.fake.requests)
    upload = server.fake.requests[1].body
    assert upload == {
        "model": {
            "displayName": "mlops-dev-sentiment",
            "artifactUri": "gs://mlops-dev-models-abc1234/sentiment/v1",
            "containerSpec": {
                "imageUri": "us-central1-docker.pkg.dev/p/serving/sentiment:1.0.0",
                "env": [{"name": "LOG_LEVEL", "value": "info"}, {"name": "MODEL_NAME", "value": "sentiment"}],
            },
            "labels": {"environment": "dev", DEPLOYMENT_LABEL: KEY},
            "encryptionSpec": {"kmsKeyName": f"{PARENT}/keyRings/r/cryptoKeys/vertex"},
        }
    }
    deploy = server.fake.requests[4].body
    assert deploy == {
        "deployedModel": {
            "model": model,
            "displayName": "mlops-dev-sentiment",
            "serviceAccount": "mlops-dev-ep-sentiment@mlops-test-123456.iam.gserviceaccount.com",
            "dedicatedResources": {
                "machineSpec": {"machineType": "g2-standard-4", "acceleratorType": "NVIDIA_L4", "acceleratorCount": 1},
                "minReplicaCount": 1,
                "maxReplicaCount": 2,
                "autoscalingMetricSpecs": [{"metricName": GPU_METRIC, "target": 70}],
            },
        },
        "trafficSplit": {"0": 100},
    }
    assert result.id == f"{ENDPOINT}/deployedModels/mlops-dev-sentiment"
    assert result.outs["model"] == model
    assert result.outs["model_version_id"] == "1"
    assert result.outs["deployed_model_id"] == "dm3"
    assert server.fake.traffic == {"dm3": 100}


def test_cpu_deployment_has_no_accelerator(server: FakeServer, provider: VertexDeploymentProvider) -> None:
    provider.create(props(machine_type="n1-standard-2", accelerator_type=None, accelerator_count=0, autoscaling_metric=CPU_METRIC))
    machine = server.fake.requests[-1].body["deployedModel"]["dedicatedResources"]["machineSpec"]
    assert machine == {"machineType": "n1-standard-2"}


def test_diff(provider: VertexDeploymentProvider) -> None:
    old = {**props(), "model": "m", "deployed_model_id": "dm"}
    assert provider.diff("id", old, props()).changes is False
    scaled = provider.diff("id", old, props(max_replicas=4))
    assert scaled.changes is True and scaled.replaces == []
    moved = provider.diff("id", old, props(endpoint=f"{PARENT}/endpoints/999"))
    assert moved.replaces == ["endpoint"] and moved.delete_before_replace is False


def test_update_replica_count_mutates_in_place(server: FakeServer, provider: VertexDeploymentProvider) -> None:
    created = provider.create(props())
    server.fake.requests.clear()
    result = provider.update(created.id, created.outs, props(min_replicas=2, max_replicas=5))
    assert calls(server) == [("POST", f"/v1/{ENDPOINT}:mutateDeployedModel")]
    assert server.fake.requests[0].body == {
        "deployedModel": {
            "id": "dm3",
            "dedicatedResources": {"minReplicaCount": 2, "maxReplicaCount": 5, "autoscalingMetricSpecs": [{"metricName": GPU_METRIC, "target": 70}]},
        },
        "updateMask": "dedicatedResources.minReplicaCount,dedicatedResources.maxReplicaCount,dedicatedResources.autoscalingMetricSpecs",
    }
    assert result.outs["deployed_model_id"] == "dm3"
    assert result.outs["model"] == created.outs["model"]
    assert server.fake.deployed["dm3"]["dedicatedResources"]["maxReplicaCount"] == 5


def test_update_image_uploads_swaps_traffic_then_removes_the_old_model(server: FakeServer, provider: VertexDeploymentProvider) -> None:
    created = provider.create(props())
    old_model = created.outs["model"]
    server.fake.requests.clear()
    result = provider.update(created.id, created.outs, props(image="us-central1-docker.pkg.dev/p/serving/sentiment:1.1.0"))
    new_model = f"{PARENT}/models/105"
    assert calls(server) == [
        ("POST", f"/v1/{PARENT}/models:upload"),
        ("GET", f"/v1/{PARENT}/operations/6"),
        ("GET", f"/v1/{ENDPOINT}"),
        ("POST", f"/v1/{ENDPOINT}:deployModel"),
        ("GET", f"/v1/{ENDPOINT}"),
        ("POST", f"/v1/{ENDPOINT}:undeployModel"),
        ("DELETE", f"/v1/{old_model}"),
    ]
    reqs = server.fake.requests
    assert reqs[0].body["model"]["containerSpec"]["imageUri"].endswith(":1.1.0")
    assert reqs[3].body["deployedModel"]["model"] == new_model
    # The new deployment takes all traffic before the old one is undeployed.
    assert reqs[3].body["trafficSplit"] == {"0": 100}
    # The old deployment has no traffic left, so no split is sent with the undeploy.
    assert reqs[5].body == {"deployedModelId": "dm3"}
    assert result.outs["model"] == new_model
    assert result.outs["deployed_model_id"] == "dm7"
    assert set(server.fake.models) == {new_model}
    assert server.fake.traffic == {"dm7": 100}


def test_a_tag_change_relabels_the_model_in_place_and_never_redeploys(server: FakeServer, provider: VertexDeploymentProvider) -> None:
    # Issue 25 item 5: a redeploy runs the new model next to the old one (twice the serving
    # quota); labels are a model field models.patch changes in place.
    created = provider.create(props())
    server.fake.requests.clear()
    result = provider.update(created.id, created.outs, props(labels={"environment": "dev", "owner": "ml-platform"}))
    model = created.outs["model"]
    assert calls(server) == [("PATCH", f"/v1/{model}")]
    assert queries(server) == [{"updateMask": ["labels"]}]
    assert server.fake.requests[0].body == {"labels": {"environment": "dev", "owner": "ml-platform", DEPLOYMENT_LABEL: KEY}}
    assert server.fake.uploads == 1
    assert (result.outs["model"], result.outs["deployed_model_id"]) == (model, created.outs["deployed_model_id"])
    assert server.fake.models[model]["labels"]["owner"] == "ml-platform"
    assert provider.diff("id", created.outs, props(labels={"x": "y"})).replaces == []


def test_update_machine_type_redeploys_the_same_model(server: FakeServer, provider: VertexDeploymentProvider) -> None:
    created = provider.create(props())
    server.fake.requests.clear()
    result = provider.update(created.id, created.outs, props(machine_type="g2-standard-24", accelerator_count=2))
    assert calls(server) == [
        ("GET", f"/v1/{ENDPOINT}"),
        ("POST", f"/v1/{ENDPOINT}:deployModel"),
        ("GET", f"/v1/{ENDPOINT}"),
        ("POST", f"/v1/{ENDPOINT}:undeployModel"),
    ]
    assert server.fake.requests[1].body["deployedModel"]["dedicatedResources"]["machineSpec"] == {
        "machineType": "g2-standard-24",
        "acceleratorType": "NVIDIA_L4",
        "acceleratorCount": 2,
    }
    assert result.outs["model"] == created.outs["model"]
    assert result.outs["deployed_model_id"] != created.outs["deployed_model_id"]


def test_update_traffic_percent_patches_the_split(server: FakeServer, provider: VertexDeploymentProvider) -> None:
    server.fake.deployed["other"] = {"id": "other", "model": "m"}
    server.fake.traffic = {"other": 100}
    created = provider.create(props(traffic_percent=10))
    assert server.fake.requests[-1].body["trafficSplit"] == {"0": 10, "other": 90}
    dm = created.outs["deployed_model_id"]
    server.fake.requests.clear()
    provider.update(created.id, created.outs, props(traffic_percent=50))
    assert calls(server) == [("GET", f"/v1/{ENDPOINT}"), ("PATCH", f"/v1/{ENDPOINT}")]
    assert queries(server)[1] == {"updateMask": ["trafficSplit"]}
    assert server.fake.requests[1].body == {"trafficSplit": {dm: 50, "other": 50}}


def test_delete_undeploys_then_deletes_the_model(server: FakeServer, provider: VertexDeploymentProvider) -> None:
    created = provider.create(props())
    server.fake.requests.clear()
    provider.delete(created.id, created.outs)
    assert calls(server) == [("GET", f"/v1/{ENDPOINT}"), ("POST", f"/v1/{ENDPOINT}:undeployModel"), ("DELETE", f"/v1/{created.outs['model']}")]
    assert server.fake.requests[1].body == {"deployedModelId": "dm3"}
    assert server.fake.models == {} and server.fake.deployed == {}


def test_delete_tolerates_what_is_already_gone(server: FakeServer, provider: VertexDeploymentProvider) -> None:
    provider.delete("id", {**props(), "model": f"{PARENT}/models/42", "deployed_model_id": "gone"})
    assert calls(server) == [("GET", f"/v1/{ENDPOINT}"), ("POST", f"/v1/{ENDPOINT}:undeployModel"), ("DELETE", f"/v1/{PARENT}/models/42")]


def test_delete_hands_its_traffic_to_the_other_deployments(server: FakeServer, provider: VertexDeploymentProvider) -> None:
    server.fake.deployed["other"] = {"id": "other", "model": "m"}
    server.fake.traffic = {"other": 100}
    created = provider.create(props(traffic_percent=30))
    server.fake.requests.clear()
    provider.delete(created.id, created.outs)
    assert server.fake.requests[1].body == {"deployedModelId": created.outs["deployed_model_id"], "trafficSplit": {"other": 100}}
    assert server.fake.traffic == {"other": 100}


def test_api_errors_surface_with_status_and_message(server: FakeServer, provider: VertexDeploymentProvider) -> None:
    server.fake.fail_status[("POST", f"/v1/{PARENT}/models:upload")] = 403
    with pytest.raises(VertexApiError, match=r"\(403\): injected") as err:
        provider.create(props())
    assert err.value.status == 403


def test_failed_operation_raises(server: FakeServer) -> None:
    client = VertexClient(REGION, PROJECT, base_url=server.url, credentials=FakeCredentials(), poll_interval=0)
    with pytest.raises(VertexApiError, match="quota"):
        client.wait({"name": "op", "done": True, "error": {"code": 8, "message": "quota exceeded"}})


def test_base_url_from_environment(monkeypatch: pytest.MonkeyPatch, server: FakeServer) -> None:
    monkeypatch.setenv(BASE_URL_ENV, server.url)
    assert VertexClient(REGION, PROJECT, credentials=FakeCredentials()).base == server.url
    monkeypatch.delenv(BASE_URL_ENV)
    assert VertexClient(REGION, PROJECT, credentials=FakeCredentials()).base == "https://us-central1-aiplatform.googleapis.com"


# -- authentication ------------------------------------------------------------


def test_token_is_refreshed_during_a_long_operation(server: FakeServer) -> None:
    """A token that expires mid-create is refreshed by the authorized session, not reused."""
    credentials = FakeCredentials(lifetime=2)
    provider = VertexDeploymentProvider(base_url=server.url, credentials=credentials, poll_interval=0)
    provider.create(props())
    tokens = [r.authorization for r in server.fake.requests]
    assert credentials.refreshes >= 2
    assert len(set(tokens)) == credentials.refreshes
    assert tokens[0] == f"Bearer {TOKEN}-1" and tokens[-1] == f"Bearer {TOKEN}-{credentials.refreshes}"


def test_quota_project_header(server: FakeServer) -> None:
    """User ADC without a quota project: the stack's project is sent (the fake answers 403
    without it, as Vertex does); credentials with their own quota project send that one."""
    assert quota_project(object(), PROJECT) == PROJECT
    assert quota_project(FakeCredentials(quota_project_id="billing-123"), PROJECT) == "billing-123"
    other = VertexDeploymentProvider(base_url=server.url, credentials=FakeCredentials(quota_project_id="billing-123"), poll_interval=0)
    with pytest.raises(VertexApiError, match=r"\(403\): .*requires a quota project"):
        other.create(props())
    assert [r.user_project for r in server.fake.requests] == ["billing-123"]


# -- idempotent create, clean-up on failure --------------------------------------


def test_retry_after_an_interrupted_create_reuses_the_uploaded_model(server: FakeServer, provider: VertexDeploymentProvider) -> None:
    """The first apply died after the upload: the retry deploys that model, uploads nothing."""
    client = provider._client(props())
    model, _version = provider._upload(client, props())
    server.fake.requests.clear()
    result = provider.create(props())
    assert server.fake.uploads == 1
    assert calls(server) == [("GET", f"/v1/{PARENT}/models"), ("GET", f"/v1/{ENDPOINT}"), ("GET", f"/v1/{ENDPOINT}"), ("POST", f"/v1/{ENDPOINT}:deployModel")]
    assert result.outs["model"] == model
    assert list(server.fake.models) == [model]
    assert server.fake.deployed[result.outs["deployed_model_id"]]["model"] == model


def test_retry_after_an_interrupted_create_reuses_the_deployment(server: FakeServer, provider: VertexDeploymentProvider) -> None:
    """The first apply died after the deployment: the retry adopts it, creates nothing."""
    first = provider.create(props())
    server.fake.requests.clear()
    again = provider.create(props())
    assert calls(server) == [("GET", f"/v1/{PARENT}/models"), ("GET", f"/v1/{ENDPOINT}")]
    assert server.fake.uploads == 1 and len(server.fake.deployed) == 1
    assert (again.outs["model"], again.outs["deployed_model_id"]) == (first.outs["model"], first.outs["deployed_model_id"])


def test_lookup_reads_every_page_and_skips_other_images_and_deployments(server: FakeServer, provider: VertexDeploymentProvider) -> None:
    server.fake.page_size = 1
    client = provider._client(props())
    stale, _ = provider._upload(client, props(image="us-central1-docker.pkg.dev/p/serving/sentiment:0.9.0"))
    other, _ = provider._upload(client, props(deployment_key=deployment_key("mlops-stack", "prod", "sentiment-deployment")))
    mine, _ = provider._upload(client, props())
    server.fake.requests.clear()
    result = provider.create(props())
    assert result.outs["model"] == mine
    assert server.fake.uploads == 3
    assert [q.get("pageToken") for q in queries(server)[:2]] == [None, ["1"]]
    assert {stale, other} < set(server.fake.models)


def test_without_a_key_create_does_not_look_up(server: FakeServer, provider: VertexDeploymentProvider) -> None:
    provider.create(props(deployment_key=None))
    assert calls(server)[0] == ("POST", f"/v1/{PARENT}/models:upload")
    assert DEPLOYMENT_LABEL not in server.fake.requests[0].body["model"]["labels"]


def test_failed_deploy_deletes_the_model_it_uploaded(server: FakeServer, provider: VertexDeploymentProvider) -> None:
    server.fake.failing_operations.add("deployModel")
    with pytest.raises(VertexApiError, match="quota exceeded"):
        provider.create(props())
    assert server.fake.uploads == 1
    assert server.fake.models == {} and server.fake.deployed == {}
    assert calls(server)[-1] == ("DELETE", f"/v1/{PARENT}/models/101")


def test_failed_deploy_keeps_a_model_it_did_not_upload(server: FakeServer, provider: VertexDeploymentProvider) -> None:
    client = provider._client(props())
    model, _ = provider._upload(client, props())
    server.fake.failing_operations.add("deployModel")
    with pytest.raises(VertexApiError, match="quota exceeded"):
        provider.create(props())
    assert list(server.fake.models) == [model]


def test_failed_cleanup_is_noted_on_the_original_error(server: FakeServer, provider: VertexDeploymentProvider) -> None:
    server.fake.failing_operations.add("deployModel")
    server.fake.fail_status[("DELETE", f"/v1/{PARENT}/models/101")] = 500
    with pytest.raises(VertexApiError, match="quota exceeded") as err:
        provider.create(props())
    assert any("delete it by hand" in note and f"{PARENT}/models/101" in note for note in err.value.__notes__)


def test_failed_update_deploy_deletes_the_new_model_and_keeps_the_old(server: FakeServer, provider: VertexDeploymentProvider) -> None:
    created = provider.create(props())
    server.fake.failing_operations.add("deployModel")
    with pytest.raises(VertexApiError, match="quota exceeded"):
        provider.update(created.id, created.outs, props(image="us-central1-docker.pkg.dev/p/serving/sentiment:1.1.0"))
    assert list(server.fake.models) == [created.outs["model"]]
    assert server.fake.traffic == {created.outs["deployed_model_id"]: 100}


# -- read ------------------------------------------------------------------------


def test_read_reports_the_live_deployment(server: FakeServer, provider: VertexDeploymentProvider) -> None:
    created = provider.create(props())
    same = provider.read(created.id, created.outs)
    assert same.id == created.id and same.outs == created.outs
    dm = server.fake.deployed[created.outs["deployed_model_id"]]
    dm["dedicatedResources"]["maxReplicaCount"] = 7  # changed out of band
    server.fake.models[created.outs["model"]]["containerSpec"]["imageUri"] = "elsewhere/sentiment:2"
    drifted = provider.read(created.id, created.outs)
    assert drifted.outs["max_replicas"] == 7 and drifted.inputs["max_replicas"] == 7
    assert drifted.outs["image"] == "elsewhere/sentiment:2"
    assert drifted.outs["traffic_percent"] == 100
    assert provider.diff(created.id, drifted.inputs, props()).changes is True


def test_read_of_a_deployment_removed_out_of_band_is_gone(server: FakeServer, provider: VertexDeploymentProvider) -> None:
    created = provider.create(props())
    server.fake.deployed.clear()
    server.fake.traffic.clear()
    assert provider.read(created.id, created.outs).id is None
    server.fake.fail_status[("GET", f"/v1/{ENDPOINT}")] = 404
    assert provider.read(created.id, created.outs).id is None


# -- the image in the stack's own registry -----------------------------------------

STACK_IMAGE = f"us-central1-docker.pkg.dev/{PROJECT}/mlops-dev-serving/team/sentiment:1.0.0"
STACK_TAG = f"projects/{PROJECT}/locations/us-central1/repositories/mlops-dev-serving/packages/team%2Fsentiment/tags/1.0.0"


def test_artifact_registry_image_references() -> None:
    assert artifact_registry_image(STACK_IMAGE) == (STACK_TAG.rsplit("/tags/", 1)[0], "tags/1.0.0")
    assert artifact_registry_image("europe-west4-docker.pkg.dev/p/r/img@sha256:abc") == (
        "projects/p/locations/europe-west4/repositories/r/packages/img",
        "versions/sha256:abc",
    )
    assert artifact_registry_image("us-docker.pkg.dev/p/r/img") == ("projects/p/locations/us/repositories/r/packages/img", "tags/latest")
    assert artifact_registry_image("nvcr.io/nvidia/tritonserver:24.08-py3") is None
    assert artifact_registry_image("us-central1-docker.pkg.dev/p/img:1") is None


@pytest.fixture
def checking(server: FakeServer) -> VertexDeploymentProvider:
    return VertexDeploymentProvider(base_url=server.url, credentials=FakeCredentials(), poll_interval=0, registry_base_url=server.url)


def test_missing_image_in_the_stack_registry_fails_before_upload(server: FakeServer, checking: VertexDeploymentProvider) -> None:
    with pytest.raises(ImageMissing) as err:
        checking.create(props(image=STACK_IMAGE, check_image=True))
    assert str(err.value) == (
        f"endpoint mlops-dev-sentiment: image {STACK_IMAGE} is not in the stack's Artifact Registry: "
        "push the image first (docs/first-apply.md), then run pulumi up again"
    )
    assert "\n" not in str(err.value)
    assert server.fake.uploads == 0 and server.fake.models == {}
    assert calls(server)[-1] == ("GET", f"/v1/{STACK_TAG}")


def test_pushed_image_in_the_stack_registry_is_deployed(server: FakeServer, checking: VertexDeploymentProvider) -> None:
    server.fake.images.add(STACK_TAG)
    checking.create(props(image=STACK_IMAGE, check_image=True))
    assert server.fake.uploads == 1
    assert calls(server)[1] == ("GET", f"/v1/{STACK_TAG}")


def test_update_to_an_unpushed_tag_fails_and_keeps_the_deployment(server: FakeServer, checking: VertexDeploymentProvider) -> None:
    server.fake.images.add(STACK_TAG)
    created = checking.create(props(image=STACK_IMAGE, check_image=True))
    with pytest.raises(ImageMissing, match="push the image first"):
        checking.update(created.id, created.outs, props(image=STACK_IMAGE.replace("1.0.0", "1.1.0"), check_image=True))
    assert list(server.fake.models) == [created.outs["model"]] and server.fake.uploads == 1


def test_images_elsewhere_are_not_checked(server: FakeServer, checking: VertexDeploymentProvider) -> None:
    checking.create(props(check_image=False))
    assert not any("/repositories/" in path for _method, path in calls(server))


# -- Private Service Connect: the service attachment the consumer's forwarding rule targets

ATTACHMENT = "projects/ac74a9f84c2e5f2a1-tp/regions/us-central1/serviceAttachments/gkedpm-c6e6a854a634dc99472bb802f503c1"


def test_a_psc_endpoint_reports_its_service_attachment(server: FakeServer, provider: VertexDeploymentProvider) -> None:
    server.fake.psc_attachment = ATTACHMENT
    result = provider.create(props())
    assert result.outs["service_attachment"] == ATTACHMENT
    # The deploy operation's DeployedModel carries no privateEndpoints here: the endpoint is read once more.
    assert calls(server)[-2:] == [("POST", f"/v1/{ENDPOINT}:deployModel"), ("GET", f"/v1/{ENDPOINT}")]
    assert provider.read(result.id, result.outs).outs["service_attachment"] == ATTACHMENT
    # A retry that adopts the deployment finds the attachment too.
    assert provider.create(props()).outs["service_attachment"] == ATTACHMENT


def test_a_public_endpoint_has_no_service_attachment_and_no_extra_call(server: FakeServer, provider: VertexDeploymentProvider) -> None:
    result = provider.create(props())
    assert result.outs["service_attachment"] is None
    assert calls(server)[-1] == ("POST", f"/v1/{ENDPOINT}:deployModel")


def test_a_redeploy_keeps_reporting_the_attachment(server: FakeServer, provider: VertexDeploymentProvider) -> None:
    server.fake.psc_attachment = ATTACHMENT
    created = provider.create(props())
    moved = provider.update(created.id, created.outs, props(machine_type="g2-standard-8"))
    assert moved.outs["service_attachment"] == ATTACHMENT
    scaled = provider.update(created.id, moved.outs, props(machine_type="g2-standard-8", max_replicas=4))
    assert scaled.outs["service_attachment"] == ATTACHMENT
