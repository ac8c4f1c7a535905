"""Endpoint data capture on GCP: Vertex AI request-response logging into a CMEK BigQuery
dataset the Vertex AI service agent may write to, and the policy pack over both GCP
example stacks through the Analyzer protocol."""

from __future__ import annotations

import json
from types import SimpleNamespace

import pytest

from planning import STACKS, plan_example
from mlops_stack.args import Env, ModelEndpointArgs
from mlops_stack.gcp import endpoint as gcp_endpoint
from mlops_stack.offline.analyzer import mandatory, run_policy_pack
from mlops_stack.offline.engine import Plan, Registration, run_program
from mlops_stack.offline.stackfile import read_stack_file
from mlops_stack.program import main as stack_program
from mlops_stack.spec import EndpointSpec

ENDPOINT = "gcp:vertex/aiEndpoint:AiEndpoint"
DATASET = "gcp:bigquery/dataset:Dataset"
DATASET_IAM = "gcp:bigquery/datasetIamMember:DatasetIamMember"
KEY = "gcp:kms/cryptoKey:CryptoKey"
IDENTITY = "gcp:projects/serviceIdentity:ServiceIdentity"
PROD_PROJECT = "mlops-prod-123456"
PROD_URI = f"bq://{PROD_PROJECT}.mlops_prod_sentiment_capture.request_response_logging"


def prod() -> Plan:
    return plan_example("prod-gcp")


def bigquery_key(plan: Plan) -> Registration:
    return next(r for r in plan.of_type(KEY) if r.inputs["labels"]["mlops-stack-key"] == "bigquery")


def vertex_agent(plan: Plan) -> Registration:
    return next(r for r in plan.of_type(IDENTITY) if r.inputs["service"] == "aiplatform.googleapis.com")


# --- pure helpers ---------------------------------------------------------------


@pytest.mark.parametrize(("prefix", "endpoint", "dataset"), [
    ("mlops-prod", "sentiment", "mlops_prod_sentiment_capture"),
    ("team-a-dev", "fraud-v2", "team_a_dev_fraud_v2_capture"),
])
def test_capture_dataset_id_is_a_valid_bigquery_id(prefix: str, endpoint: str, dataset: str) -> None:
    assert gcp_endpoint.capture_dataset_id(prefix, endpoint) == dataset


@pytest.mark.parametrize(("percent", "rate"), [(1, 0.01), (20, 0.2), (100, 1.0)])
def test_sampling_rate_is_a_fraction(percent: int, rate: float) -> None:
    assert gcp_endpoint.sampling_rate(percent) == rate


def test_capture_uri_names_project_dataset_and_table() -> None:
    assert gcp_endpoint.capture_uri("p-1", "ds") == "bq://p-1.ds.request_response_logging"


# --- prod-gcp: capture on ------------------------------------------------------------


def test_prod_endpoint_logs_requests_and_responses_to_bigquery() -> None:
    ep = prod().one(ENDPOINT)
    assert ep.inputs["predictRequestResponseLoggingConfig"] == {
        "enabled": True,
        "samplingRate": 0.2,
        "bigqueryDestination": {"outputUri": PROD_URI},
    }


def test_prod_capture_dataset_is_cmek_regional_labelled_and_never_emptied() -> None:
    plan = prod()
    ds = plan.one(DATASET)
    assert ds.inputs["datasetId"] == "mlops_prod_sentiment_capture"
    assert ds.inputs["location"] == "us-central1"
    assert ds.inputs["defaultEncryptionConfiguration"] == {"kmsKeyName": bigquery_key(plan).id}
    assert ds.inputs["deleteContentsOnDestroy"] is False
    assert ds.inputs["labels"] == {
        "environment": "prod",
        "managed-by": "mlops-stack",
        "mlops-stack-name": "mlops",
        "owner": "ml-platform",
        "cost-center": "ml-1234",
        "mlops-stack-endpoint": "sentiment",
        "mlops-stack-role": "data-capture",
    }
    assert "access" not in ds.inputs  # the grant below is the only access we manage (IAM members and access blocks fight)


def test_prod_capture_dataset_is_protected_and_retained() -> None:
    ds = prod().one(DATASET)
    assert ds.protect is True and ds.retain_on_delete is True


def test_only_the_vertex_agent_may_write_the_capture_dataset() -> None:
    plan = prod()
    (grant,) = plan.of_type(DATASET_IAM)
    agent = vertex_agent(plan)
    assert grant.inputs == {
        "datasetId": "mlops_prod_sentiment_capture",
        "role": "roles/bigquery.dataEditor",
        "member": agent.outputs["member"],
    }
    assert grant.inputs["member"].endswith("@gcp-sa-aiplatform.iam.gserviceaccount.com")
    assert plan.one(DATASET).urn in grant.dependencies


def test_endpoint_waits_for_the_dataset_and_the_grant() -> None:
    plan = prod()
    ep = plan.one(ENDPOINT)
    assert plan.one(DATASET_IAM).urn in ep.dependencies
    assert plan.one(DATASET).urn in ep.dependencies


def test_bigquery_key_is_usable_only_by_the_bigquery_encryption_account() -> None:
    plan = prod()
    key = bigquery_key(plan)
    (grant,) = [r for r in plan.of_type("gcp:kms/cryptoKeyIAMMember:CryptoKeyIAMMember") if r.inputs["cryptoKeyId"] == key.id]
    assert grant.inputs["role"] == "roles/cloudkms.cryptoKeyEncrypterDecrypter"
    assert grant.inputs["member"].startswith("serviceAccount:bq-")
    assert grant.inputs["member"].endswith("@bigquery-encryption.iam.gserviceaccount.com")
    assert key.protect and key.retain_on_delete


def test_bigquery_api_is_enabled_by_the_endpoint_and_never_disabled() -> None:
    services = [r for r in prod().of_type("gcp:projects/service:Service") if r.inputs["service"] == "bigquery.googleapis.com"]
    assert len(services) == 2  # Keys (its key) and the endpoint (its dataset)
    assert all(s.inputs["disableOnDestroy"] is False for s in services)


# --- dev-gcp: capture off; a dev stack that turns it on ------------------------------


def test_dev_endpoint_captures_nothing() -> None:
    plan = plan_example("dev-gcp")
    assert "predictRequestResponseLoggingConfig" not in plan.one(ENDPOINT).inputs
    assert not plan.of_type(DATASET) and not plan.of_type(DATASET_IAM)


def test_dev_capture_dataset_is_not_protected_and_samples_everything() -> None:
    sf = read_stack_file(STACKS / "Pulumi.dev-gcp.yaml")
    config = dict(sf.config)
    endpoints = json.loads(config["mlops-stack:endpoints"])
    endpoints[0]["dataCapture"] = {"enabled": True, "samplingPercent": 100}
    config["mlops-stack:endpoints"] = json.dumps(endpoints)
    plan = run_program(stack_program, stack="dev-gcp", config=config, secret_keys=sf.secret_keys)
    ds = plan.one(DATASET)
    assert ds.inputs["datasetId"] == "mlops_dev_sentiment_capture"
    assert ds.inputs["deleteContentsOnDestroy"] is False
    assert not ds.protect and not ds.retain_on_delete
    logging = plan.one(ENDPOINT).inputs["predictRequestResponseLoggingConfig"]
    assert logging["samplingRate"] == 1.0
    assert logging["bigqueryDestination"]["outputUri"] == "bq://mlops-dev-123456.mlops_dev_sentiment_capture.request_response_logging"


# --- the component on its own (no Keys component) ------------------------------------


def test_endpoint_on_its_own_creates_the_vertex_agent_and_no_cmek() -> None:
    import pulumi

    from mlops_stack.gcp import ModelEndpoint

    spec = EndpointSpec.model_validate({
        "name": "scorer",
        "cpuSize": "small",
        "model": {"artifact": {"bucket": "models", "key": "scorer/v1"}, "image": "us-docker.pkg.dev/p/r/scorer:1"},
        "dataCapture": {"enabled": True, "samplingPercent": 5},
        # Without a network: a private (PSC) endpoint would need one (tests/gcp/test_gcp_psc.py).
        "private": False,
    })

    def program() -> None:
        ep = ModelEndpoint(
            "solo",
            ModelEndpointArgs(env=Env(region="europe-west4"), endpoint=spec, store=SimpleNamespace(bucket_names={"models": "shared-models"})),
        )
        pulumi.export("capture_uri", ep.capture_uri)

    plan = run_program(program, stack="solo", config={"gcp:project": "solo-proj-42"})
    (agent,) = plan.of_type(IDENTITY)
    assert agent.inputs["service"] == "aiplatform.googleapis.com"
    (grant,) = plan.of_type(DATASET_IAM)
    assert grant.inputs["member"] == agent.outputs["member"]
    ds = plan.one(DATASET)
    assert "defaultEncryptionConfiguration" not in ds.inputs
    assert ds.inputs["location"] == "europe-west4"
    assert plan.outputs["capture_uri"] == "bq://solo-proj-42.mlops_dev_scorer_capture.request_response_logging"
    assert plan.one(ENDPOINT).inputs["predictRequestResponseLoggingConfig"]["samplingRate"] == 0.05


# --- the policy pack over both GCP stacks ------------------------------------------


@pytest.mark.slow
@pytest.mark.parametrize("stack", ["dev-gcp", "prod-gcp"])
def test_gcp_stacks_pass_the_policy_pack(stack: str) -> None:
    violations = run_policy_pack(plan_example(stack))
    assert mandatory(violations) == [], [f"{v.policy}: {v.message}" for v in mandatory(violations)]
    assert not [v for v in violations if v.policy == "endpoint-prod-data-capture"]
