"""The consumer side of a private (Private Service Connect) Vertex endpoint: an internal
address in the stack's subnet, a forwarding rule in the stack's network targeting the
deployment's service attachment, a private DNS name, and an ``invoke_url`` that is the
URL serving the endpoint from the VPC (issue 13; gcp/psc.py)."""

from __future__ import annotations

import json

import pytest

from planning import plan_example
from mlops_stack.gcp.mocks import project_number
from mlops_stack.gcp.psc import PSC_DNS_SUFFIX, psc_host, psc_invoke_url
from mlops_stack.offline.engine import Plan, run_program
from mlops_stack.program import main as stack_program
from test_gcp_apply_limits import dev_config

ADDRESS = "gcp:compute/address:Address"
RULE = "gcp:compute/forwardingRule:ForwardingRule"
ZONE = "gcp:dns/managedZone:ManagedZone"
RECORD = "gcp:dns/recordSet:RecordSet"
DYNAMIC = "pulumi-python:dynamic/mlops:VertexModelDeployment"


def test_host_and_url_shapes() -> None:
    # Google's PSC page: DNS_NAME=ENDPOINT_ID-REGION-VERTEX_AI_PROJECT_NUMBER.prediction.p.vertexai.goog and
    # https://<that>/v1/projects/VERTEX_AI_PROJECT_ID/locations/REGION/endpoints/ENDPOINT_ID:predict
    assert psc_host("1234567890", "us-central1", "123456789012") == "1234567890-us-central1-123456789012.prediction.p.vertexai.goog"
    assert psc_invoke_url("h.prediction.p.vertexai.goog", "projects/p/locations/us-central1/endpoints/1234567890") == (
        "https://h.prediction.p.vertexai.goog/v1/projects/p/locations/us-central1/endpoints/1234567890:predict"
    )


@pytest.mark.parametrize("stack", ["dev-gcp", "prod-gcp"])
def test_private_endpoint_gets_address_forwarding_rule_and_private_name_in_the_stack_vpc(stack: str) -> None:
    plan = plan_example(stack)
    project = json.loads(plan.config["mlops-stack:gcp"])["project"]
    region = plan.config["mlops-stack:region"]
    vpc = plan.one("gcp:compute/network:Network")
    subnet = plan.one("gcp:compute/subnetwork:Subnetwork")
    endpoint = plan.one("gcp:vertex/aiEndpoint:AiEndpoint")
    deployment = plan.one(DYNAMIC)

    address = plan.one(ADDRESS)
    assert address.inputs["addressType"] == "INTERNAL"
    assert address.inputs["subnetwork"] == subnet.id
    assert address.inputs["region"] == region

    rule = plan.one(RULE)
    assert rule.inputs["network"] == vpc.id
    assert rule.inputs["ipAddress"] == address.id
    assert rule.inputs["loadBalancingScheme"] == ""
    assert rule.inputs["region"] == region
    # The target is the deployment's service attachment, known only after the deploy.
    assert deployment.urn in rule.dependencies

    host = f"{endpoint.outputs['name']}-{region}-{project_number(project)}.{PSC_DNS_SUFFIX}"
    zone = plan.one(ZONE)
    assert zone.inputs["visibility"] == "private"
    assert zone.inputs["dnsName"] == f"{host}."
    assert zone.inputs["privateVisibilityConfig"] == {"networks": [{"networkUrl": vpc.id}]}
    record = plan.one(RECORD)
    assert (record.inputs["type"], record.inputs["ttl"]) == ("A", 60)
    assert record.inputs["name"] == f"{host}."
    assert record.inputs["managedZone"] == zone.outputs["name"]
    assert record.inputs["rrdatas"] == [address.outputs["address"]]

    ep = next(iter(plan.outputs["endpoints"].values()))
    assert ep["invoke_url"] == f"https://{host}/v1/projects/{project}/locations/{region}/endpoints/{endpoint.outputs['name']}:predict"
    assert not ep["invoke_url"].startswith(f"https://{region}-aiplatform.googleapis.com")


def test_a_public_endpoint_has_no_consumer_side_and_the_regional_url() -> None:
    endpoints = json.loads(dev_config()["mlops-stack:endpoints"])
    endpoints[0]["private"] = False
    plan: Plan = run_program(stack_program, stack="dev-gcp", config=dev_config(endpoints=endpoints))
    assert not plan.of_type(ADDRESS) and not plan.of_type(RULE) and not plan.of_type(ZONE) and not plan.of_type(RECORD)
    endpoint = plan.one("gcp:vertex/aiEndpoint:AiEndpoint")
    assert "privateServiceConnectConfig" not in endpoint.inputs
    ep = plan.outputs["endpoints"]["sentiment"]
    assert ep["invoke_url"] == f"https://us-central1-aiplatform.googleapis.com/v1/{ep['endpoint_name']}:predict"


def test_a_private_endpoint_without_a_network_is_one_config_error() -> None:
    from mlops_stack.args import Env, ModelEndpointArgs
    from mlops_stack.errors import ConfigError
    from mlops_stack.gcp.endpoint import ModelEndpoint
    from mlops_stack.spec import EndpointSpec

    spec = EndpointSpec.model_validate(
        {"name": "sentiment", "cpuSize": "small", "model": {"artifact": {"bucket": "models", "key": "m/v1"}, "image": "example.org/x:1"}}
    )
    registered: list[object] = []

    def program() -> None:
        args = ModelEndpointArgs(env=Env(region="us-central1"), endpoint=spec, store=_Store(), network=None)
        registered.append(ModelEndpoint("ep", args))

    with pytest.raises(ConfigError) as err:
        run_program(program, stack="bad", config={"gcp:project": "mlops-dev-123456"})
    assert registered == []
    assert str(err.value).startswith("endpoint.private: True needs the stack's network on gcp")


class _Store:
    bucket_names = {"models": "mlops-dev-models"}


def test_the_forwarding_rule_targets_the_service_attachment_it_is_given() -> None:
    # The plan's mocked deployment has no attachment (it exists after a real deploy), so the
    # wiring is checked here with a known one (the shape Google's page shows).
    from types import SimpleNamespace

    import pulumi
    import pulumi_gcp as gcp

    from mlops_stack.gcp.psc import psc_consumer

    attachment = "projects/ac74a9f84c2e5f2a1-tp/regions/us-central1/serviceAttachments/gkedpm-c6e6a854a634dc99472bb802f503c1"

    def program() -> None:
        parent = pulumi.ComponentResource("test:index:Parent", "p")
        endpoint = gcp.vertex.AiEndpoint("ep", display_name="x", location="us-central1", opts=pulumi.ResourceOptions(parent=parent))
        network = SimpleNamespace(network_id="projects/p/global/networks/n", subnet_id="projects/p/regions/us-central1/subnetworks/s")
        psc_consumer(parent, "x", region="us-central1", network=network, endpoint=endpoint, deployment=endpoint,
                     service_attachment=attachment, project_number="123456789012", labels={}, depends_on=[])

    plan = run_program(program, stack="t", config={"gcp:project": "p"})
    rule = plan.one(RULE)
    assert rule.inputs["target"] == attachment
    assert rule.inputs["network"] == "projects/p/global/networks/n"
    assert plan.one(ADDRESS).inputs["subnetwork"] == "projects/p/regions/us-central1/subnetworks/s"


# --- issue 25 item 1: the endpoint ID the stack sets keeps the PSC host resolvable -----

RANDOM_INTEGER = "random:index/randomInteger:RandomInteger"
#: RFC 1035 section 2.3.4: a label is at most 63 octets.
MAX_DNS_LABEL = 63
#: The longest project number the check assumes (project numbers seen are 12 digits);
#: the label below leaves 29 characters of room past it in the longest region.
PROJECT_NUMBER = "9" * 12


def _regions() -> list[str]:
    import csv
    from pathlib import Path

    import mlops_stack.gcp as gcp_target

    path = Path(gcp_target.__file__).parent / "catalog" / "regions.csv"
    with path.open() as f:
        return [row["region"] for row in csv.DictReader(f)]


def test_the_psc_label_of_the_largest_endpoint_id_fits_dns_in_every_region() -> None:
    from mlops_stack.gcp.endpoint import ENDPOINT_ID_MAX, ENDPOINT_ID_MIN

    regions = _regions()
    assert "northamerica-northeast1" in regions and len(regions) >= 40
    assert (len(str(ENDPOINT_ID_MIN)), len(str(ENDPOINT_ID_MAX))) == (9, 9)  # Vertex: numeric IDs <= 9 digits, no leading zero
    for region in regions:
        host = psc_host(str(ENDPOINT_ID_MAX), region, PROJECT_NUMBER)
        label = host.split(".")[0]
        assert len(label) <= MAX_DNS_LABEL, (region, label)
        assert len(f"{host}.") <= 253  # RFC 1035 name limit (the zone's dnsName ends in a dot)
    longest = max(regions, key=len)
    assert len(psc_host(str(ENDPOINT_ID_MAX), longest, PROJECT_NUMBER).split(".")[0]) == 9 + 1 + len(longest) + 1 + 12 == 46


def test_the_autonamed_id_the_provider_would_pick_does_not_fit() -> None:
    # What the old code got: no name, so pulumi-gcp autonamed it <logical name>-<7 hex>.
    from mlops_stack.offline.engine import auto_name

    autonamed = auto_name("mlops-endpoint-sentiment-endpoint")
    assert len(autonamed) == 41
    assert len(psc_host(autonamed, "us-central1", "123456789012").split(".")[0]) == 66 > MAX_DNS_LABEL


@pytest.mark.parametrize("stack", ["dev-gcp", "prod-gcp"])
def test_the_endpoint_id_is_a_random_nine_digit_number_redrawn_on_replacement(stack: str) -> None:
    plan = plan_example(stack)
    endpoint = plan.one("gcp:vertex/aiEndpoint:AiEndpoint")
    number = plan.one(RANDOM_INTEGER)
    assert (number.inputs["min"], number.inputs["max"]) == (100_000_000, 999_999_999)
    assert endpoint.inputs["name"] == str(number.outputs["result"])
    assert len(endpoint.inputs["name"]) == 9 and endpoint.inputs["name"][0] != "0"
    assert number.urn in endpoint.dependencies
    # Keepers: the endpoint's replace-on-change inputs (a new ID whenever the endpoint is replaced).
    kms = endpoint.inputs["encryptionSpec"]["kmsKeyName"]
    assert number.inputs["keepers"] == {"location": plan.config["mlops-stack:region"], "kms_key_name": kms, "private_service_connect": "true"}
    project = json.loads(plan.config["mlops-stack:gcp"])["project"]
    label = f"{endpoint.inputs['name']}-{endpoint.inputs['region']}-{project_number(project)}"
    assert plan.one(ZONE).inputs["dnsName"] == f"{label}.{PSC_DNS_SUFFIX}."
    assert len(label) <= MAX_DNS_LABEL
