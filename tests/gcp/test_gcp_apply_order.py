"""What a fresh GCP project needs in order at `pulumi up`, read from the offline plans:
the Vertex deployment after the stack repository its image lives in (and checking that
the image was pushed), service-agent grants after the agents exist."""

from __future__ import annotations

import pytest

from mlops_stack.offline.stackfile import read_stack_file
from planning import STACKS, plan_config, plan_example

DEPLOYMENT = "pulumi-python:dynamic/mlops:VertexModelDeployment"
REPOSITORY = "gcp:artifactregistry/repository:Repository"


@pytest.mark.parametrize("stack", ["dev-gcp", "prod-gcp"])
def test_deployment_of_a_stack_registry_image_waits_for_the_repository(stack: str) -> None:
    plan = plan_example(stack)
    deployment = plan.one(DEPLOYMENT)
    serving = plan.one(REPOSITORY, "mlops-registry-serving")
    # The example images are <region>-docker.pkg.dev/<project>/<prefix>-serving/...
    assert deployment.inputs["image"].split("/")[2] == serving.inputs["repositoryId"]
    assert serving.urn in deployment.dependencies
    assert plan.one(REPOSITORY, "mlops-registry-training").urn not in deployment.dependencies
    assert deployment.inputs["check_image"] is True
    assert deployment.inputs["deployment_key"].startswith("d") and len(deployment.inputs["deployment_key"]) == 21


def test_deployment_of_an_image_elsewhere_is_not_checked() -> None:
    sf = read_stack_file(STACKS / "Pulumi.dev-gcp.yaml")
    own = "us-central1-docker.pkg.dev/mlops-dev-123456/mlops-dev-serving/sentiment"
    assert own in sf.config["mlops-stack:endpoints"]
    config = {**sf.config, "mlops-stack:endpoints": sf.config["mlops-stack:endpoints"].replace(own, "us-docker.pkg.dev/vendor/public/sentiment")}
    plan = plan_config(config, stack="dev-gcp")
    deployment = plan.one(DEPLOYMENT)
    assert deployment.inputs["check_image"] is False
    assert not {r.urn for r in plan.of_type(REPOSITORY)} & set(deployment.dependencies)


IDENTITY = "gcp:projects/serviceIdentity:ServiceIdentity"
SERVICE = "gcp:projects/service:Service"
AGENT_GRANTS = ("gcp:kms/cryptoKeyIAMMember:CryptoKeyIAMMember", "gcp:bigquery/datasetIamMember:DatasetIamMember")


@pytest.mark.parametrize("stack", ["dev-gcp", "prod-gcp"])
def test_service_agent_grants_wait_for_the_agent(stack: str) -> None:
    """A fresh project: a service agent exists only after its API is enabled and its
    identity generated. Each ServiceIdentity waits for the enablement of its own API, and
    each grant to an agent waits for that identity (or, for the agents named from the
    project number, for the agent's API)."""
    plan = plan_example(stack)
    identities = {r.urn: r for r in plan.of_type(IDENTITY)}
    assert {r.inputs["service"] for r in identities.values()} >= {"artifactregistry.googleapis.com", "aiplatform.googleapis.com"}
    for identity in identities.values():
        own_api = {s.urn for s in plan.of_type(SERVICE) if s.inputs["service"] == identity.inputs["service"]}
        assert own_api & set(identity.dependencies), identity.name
    grants = [g for t in AGENT_GRANTS for g in plan.of_type(t)]
    by_identity = [g for g in grants if set(g.property_dependencies.get("member", ())) & set(identities)]
    # The registry and Vertex key grants, plus the capture-dataset grant where capture is on.
    assert len(by_identity) >= 2
    for grant in by_identity:
        assert set(grant.property_dependencies["member"]) & set(identities) <= set(grant.dependencies), grant.name
    fixed = {"mlops-keys-cluster-agent": "container.googleapis.com", "mlops-keys-disks-agent": "compute.googleapis.com"}
    for grant in grants:
        if grant.name in fixed:
            api = {s.urn for s in plan.of_type(SERVICE) if s.inputs["service"] == fixed[grant.name]}
            assert api & set(grant.dependencies), grant.name


@pytest.mark.parametrize("stack", ["dev-gcp", "prod-gcp"])
def test_the_gke_agent_is_generated_before_its_key_grant_and_compute_waits_for_its_api(stack: str) -> None:
    """GKE's agent (service-<number>@container-engine-robot) is generated explicitly
    (ServiceIdentity for container.googleapis.com, after that API), and the cluster key's
    grant waits for it; Compute Engine cannot generate its agent that way, so the disks
    key's grant waits for the compute API only (preflight checks the agent exists)."""
    plan = plan_example(stack)
    gke = [r for r in plan.of_type(IDENTITY) if r.inputs["service"] == "container.googleapis.com"]
    assert len(gke) == 1
    assert not [r for r in plan.of_type(IDENTITY) if r.inputs["service"] == "compute.googleapis.com"]
    container_api = {s.urn for s in plan.of_type(SERVICE) if s.inputs["service"] == "container.googleapis.com"}
    assert container_api & set(gke[0].dependencies)
    grant = plan.one("gcp:kms/cryptoKeyIAMMember:CryptoKeyIAMMember", "mlops-keys-cluster-agent")
    assert gke[0].urn in grant.dependencies
    number = grant.inputs["member"].split("service-", 1)[1].split("@", 1)[0]
    assert grant.inputs["member"] == f"serviceAccount:service-{number}@container-engine-robot.iam.gserviceaccount.com"


WI_USER = "roles/iam.workloadIdentityUser"
CLUSTER = "gcp:container/cluster:Cluster"


@pytest.mark.parametrize("stack", ["dev-gcp", "prod-gcp"])
def test_every_workload_identity_binding_waits_for_the_gke_cluster(stack: str) -> None:
    """Issue 25 item 2: the <project>.svc.id.goog pool exists only once the first Workload
    Identity cluster does; a binding on its members made earlier is refused (IAM 400
    "Identity Pool does not exist"). Every workloadIdentityUser binding, on every resource
    type that grants it, depends on the cluster (explicitly and through its member), and
    its pool is the cluster's own."""
    plan = plan_example(stack)
    cluster = plan.one(CLUSTER)
    pool = cluster.inputs["workloadIdentityConfig"]["workloadPool"]
    bindings = [r for r in plan.resources if r.custom and r.inputs.get("role") == WI_USER]
    assert len(bindings) == (2 if stack == "dev-gcp" else 1)
    for binding in bindings:
        assert cluster.urn in binding.dependencies, binding.name
        assert cluster.urn in binding.property_dependencies["member"], binding.name
        assert binding.inputs["member"].startswith(f"serviceAccount:{pool}["), binding.name
