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
