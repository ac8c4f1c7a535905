"""The Vertex AI deployment dynamic provider against a local fake of the REST API:
create, update (replica count, image, machine shape, traffic) and delete, asserting
every request sent."""

from __future__ import annotations

from typing import Any

import pytest

from fake_vertex import ENDPOINT, PARENT, PROJECT, REGION, TOKEN, FakeServer
from mlops_stack.gcp.vertex_provider import (
    BASE_URL_ENV,
    CPU_METRIC,
    GPU_METRIC,
    VertexApiError,
    VertexClient,
    VertexDeploymentProvider,
)


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
    }
    base.update(over)
    return base


@pytest.fixture
def server():
    with FakeServer() as s:
        yield s


@pytest.fixture
def provider(server: FakeServer) -> VertexDeploymentProvider:
    return VertexDeploymentProvider(base_url=server.url, token=lambda: TOKEN, poll_interval=0)


def calls(server: FakeServer) -> list[tuple[str, str]]:
    return [(r.method, r.path) for r in server.fake.requests]


def test_create_uploads_then_deploys(server: FakeServer, provider: VertexDeploymentProvider) -> None:
    result = provider.create(props())
    model = f"{PARENT}/models/101"
    assert calls(server) == [
        ("POST", f"/v1/{PARENT}/models:upload"),
        ("GET", f"/v1/{PARENT}/operations/2"),
        ("GET", f"/v1/{ENDPOINT}"),
        ("POST", f"/v1/{ENDPOINT}:deployModel"),
    ]
    assert all(r.authorization == f"Bearer {TOKEN}" for r in server.fake.requests)
    upload = server.fake.requests[0].body
    assert upload == {
        "model": {
            "displayName": "mlops-dev-sentiment",
            "artifactUri": "gs://mlops-dev-models-abc1234/sentiment/v1",
            "containerSpec": {
                "imageUri": "us-central1-docker.pkg.dev/p/serving/sentiment:1.0.0",
                "env": [{"name": "LOG_LEVEL", "value": "info"}, {"name": "MODEL_NAME", "value": "sentiment"}],
            },
            "labels": {"environment": "dev"},
            "encryptionSpec": {"kmsKeyName": f"{PARENT}/keyRings/r/cryptoKeys/vertex"},
        }
    }
    deploy = server.fake.requests[3].body
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
    assert calls(server) == [("GET", f"/v1/{ENDPOINT}"), ("PATCH", f"/v1/{ENDPOINT}?updateMask=trafficSplit")]
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
    client = VertexClient(REGION, base_url=server.url, token=lambda: TOKEN, poll_interval=0)
    with pytest.raises(VertexApiError, match="quota"):
        client.wait({"name": "op", "done": True, "error": {"code": 8, "message": "quota exceeded"}})


def test_base_url_from_environment(monkeypatch: pytest.MonkeyPatch, server: FakeServer) -> None:
    monkeypatch.setenv(BASE_URL_ENV, server.url)
    assert VertexClient(REGION, token=lambda: TOKEN).base == server.url
    monkeypatch.delenv(BASE_URL_ENV)
    assert VertexClient(REGION, token=lambda: TOKEN).base == "https://us-central1-aiplatform.googleapis.com"
