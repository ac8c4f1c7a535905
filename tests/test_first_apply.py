"""The first apply of a private cluster (docs/first-apply.md), tested as plans.

prod's API endpoints are private: the in-cluster layer (Helm releases, namespaces, ...)
cannot be reached from a runner outside the network. Two ways work on a fresh account:

* runner access: ``cluster.runnerCidrs`` (+ ``aws.runnerSecurityGroupIds``) become the
  ingress / authorized networks a runner in a connected network needs;
* a two-phase apply: ``cluster.inCluster: false`` (cloud layer only), then the same stack
  with ``inCluster: true`` from a runner inside the network.
"""

from __future__ import annotations

import json

import pytest

from mlops_stack.errors import ConfigError
from mlops_stack.offline.engine import Plan
from planning import plan_config, plan_example

RUNNER = "10.50.0.0/24"
RUNNER_SG = "sg-0123456789abcdef0"
INGRESS = "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule"


def plan_with(stack: str, cluster: dict | None = None, **top: object) -> Plan:  # type: ignore[type-arg]
    config = dict(plan_example(stack).config)
    if cluster:
        doc = json.loads(config["mlops-stack:cluster"])
        doc.update(cluster)
        config["mlops-stack:cluster"] = json.dumps(doc)
    for key, value in top.items():
        config[f"mlops-stack:{key}"] = json.dumps(value)
    return plan_config(config, stack=stack)


def k8s_resources(plan: Plan) -> list[str]:
    return [r.name for r in plan.resources if r.type.startswith("kubernetes:")]


# --- runner access -------------------------------------------------------------------


def test_without_runner_access_nothing_is_admitted_on_443() -> None:
    assert plan_with("prod-aws", {"runnerCidrs": []}).of_type(INGRESS) == []


def test_prod_aws_admits_a_runner_inside_its_vpc() -> None:
    (rule,) = plan_example("prod-aws").of_type(INGRESS)
    assert (rule.inputs["cidrIpv4"], rule.inputs["fromPort"], rule.inputs["toPort"]) == ("10.30.0.0/16", 443, 443)


def test_eks_runner_cidrs_and_groups_become_443_ingress_on_the_cluster_security_group() -> None:
    plan = plan_with("prod-aws", {"runnerCidrs": [RUNNER]}, aws={"runnerSecurityGroupIds": [RUNNER_SG]})
    eks = plan.one("aws:eks/cluster:Cluster")
    cluster_sg = eks.outputs["vpcConfig"]["clusterSecurityGroupId"]
    rules = sorted(plan.of_type(INGRESS), key=lambda r: r.name)
    assert [r.name for r in rules] == ["mlops-cluster-runner-cidr-0", "mlops-cluster-runner-sg-0"]
    for r in rules:
        assert (r.inputs["ipProtocol"], r.inputs["fromPort"], r.inputs["toPort"]) == ("tcp", 443, 443)
        assert r.inputs["securityGroupId"] == cluster_sg
    assert rules[0].inputs["cidrIpv4"] == RUNNER and "referencedSecurityGroupId" not in rules[0].inputs
    assert rules[1].inputs["referencedSecurityGroupId"] == RUNNER_SG and "cidrIpv4" not in rules[1].inputs
    # The Kubernetes provider (and so every in-cluster resource) waits for the rules.
    provider = next(r for r in plan.resources if r.type == "pulumi:providers:kubernetes" and r.name == "mlops-cluster-k8s")
    assert {r.urn for r in rules} <= set(provider.dependencies)
    # The endpoint stays private.
    assert eks.inputs["vpcConfig"]["endpointPublicAccess"] is False


def test_gke_runner_cidrs_join_the_authorized_networks() -> None:
    plan = plan_with("prod-gcp", {"runnerCidrs": [RUNNER]})
    gke = plan.one("gcp:container/cluster:Cluster")
    blocks = gke.inputs["masterAuthorizedNetworksConfig"]["cidrBlocks"]
    assert {"cidrBlock": RUNNER, "displayName": "runner-0"} in blocks
    assert gke.inputs["privateClusterConfig"]["enablePrivateEndpoint"] is True


def test_aks_runner_cidrs_reach_the_private_endpoints() -> None:
    # A runner in a peered VNet (issue 26): the private-endpoint NSG admits its range on 443.
    nsg = "azure-native:network:NetworkSecurityGroup"
    rules = {r["name"]: r for r in plan_with("prod-azure", {"runnerCidrs": [RUNNER]}).one(nsg, "mlops-network-endpoints-nsg").inputs["securityRules"]}
    runner = rules["allow-https-from-runners"]
    assert (runner["sourceAddressPrefixes"], runner["destinationPortRange"], runner["priority"], runner["access"]) == ([RUNNER], "443", 110, "Allow")
    assert rules["allow-https-from-vnet"]["destinationPortRanges"] == ["443", "5432"]
    # Without runner ranges, the VNet only.
    plain = plan_example("prod-azure").one(nsg, "mlops-network-endpoints-nsg").inputs["securityRules"]
    assert [r["name"] for r in plain] == ["allow-https-from-vnet", "deny-all-inbound"]


def test_a_public_runner_cidr_is_rejected() -> None:
    with pytest.raises(ConfigError, match=r"^cluster.runnerCidrs\[0\]: '203.0.113.0/24' must be a private \(RFC 1918\) range"):
        plan_with("prod-aws", {"runnerCidrs": ["203.0.113.0/24"]})


def test_a_malformed_runner_security_group_is_rejected() -> None:
    with pytest.raises(ConfigError, match=r"^aws.runnerSecurityGroupIds\[0\]: 'default' is not a security group ID"):
        plan_with("prod-aws", aws={"runnerSecurityGroupIds": ["default"]})


# --- two-phase apply -----------------------------------------------------------------


@pytest.mark.parametrize("stack", ["prod-aws", "prod-gcp", "prod-azure"])
def test_phase_one_has_no_in_cluster_resource_and_phase_two_only_adds(stack: str) -> None:
    full = plan_example(stack)
    assert k8s_resources(full), "the example has an in-cluster layer"
    phase1 = plan_with(stack, {"inCluster": False})
    assert k8s_resources(phase1) == []
    # Phase 2 (the stack as it is) keeps every phase-1 resource with the same inputs:
    # the second `pulumi up` only adds the in-cluster layer, it replaces nothing.
    full_by_urn = full.by_urn()
    for r in phase1.resources:
        assert r.urn in full_by_urn, r.urn
        assert r.inputs == full_by_urn[r.urn].inputs, r.urn
    added = [full_by_urn[u] for u in set(full_by_urn) - {r.urn for r in phase1.resources}]
    assert added, "phase 2 adds the in-cluster layer"
    # Only the in-cluster layer: Kubernetes objects, their components, the Grafana
    # password (random) and (EKS) the
    # Cluster Autoscaler's IRSA role, which comes with its Helm release.
    cloud_side = sorted((r.type, r.name) for r in added if not r.type.startswith(("kubernetes:", "mlops:", "random:")))
    # Self-hosted MLflow (prod-gcp): phase 1 creates its database with the cloud layer;
    # phase 2 adds the server's workload identity with the server.
    identity = plan_example(stack).of_type(f"mlops:{stack.split('-')[1]}:WorkloadIdentity")
    from_identity = sorted((r.type, r.name) for r in added if identity and r.parent == identity[0].urn)
    assert cloud_side == sorted(
        ([("aws:iam/role:Role", "mlops-cluster-autoscaler-role"), ("aws:iam/rolePolicy:RolePolicy", "mlops-cluster-autoscaler-policy")] if stack == "prod-aws" else [])
        + from_identity
    )
    assert bool(from_identity) == (stack == "prod-gcp")
    if stack == "prod-gcp":
        assert phase1.of_type("gcp:sql/databaseInstance:DatabaseInstance") and "mlflow_tracking_uri" not in phase1.outputs
    # The cluster and its pools are all there in phase 1.
    assert "grafana_url" not in phase1.outputs and phase1.outputs["cluster_name"]


# --- the example pipeline does exactly this ------------------------------------------


def test_the_example_pipeline_applies_in_two_phases() -> None:
    import yaml

    from planning import ROOT

    jobs = yaml.safe_load((ROOT / "examples/pipelines/github-actions.yml").read_text())["jobs"]
    phase1 = [s for s in jobs["cloud-layer"]["steps"] if "pulumi up" in s.get("run", "")]
    assert len(phase1) == 1
    assert "--config-path -c mlops-stack:cluster.inCluster=false" in phase1[0]["run"]
    assert phase1[0]["if"] == "steps.state.outputs.bootstrap == 'true'"  # only before the in-cluster layer exists
    assert jobs["cloud-layer"]["runs-on"] == "ubuntu-latest"
    deploy = jobs["deploy"]
    assert deploy["needs"] == "cloud-layer" and "self-hosted" in deploy["runs-on"]
    phase2 = [s["run"] for s in deploy["steps"] if "pulumi up" in s.get("run", "")]
    assert len(phase2) == 1 and "inCluster" not in phase2[0] and "-c " not in phase2[0]
    # Every AWS stack the pipeline deploys admits a runner inside the network on 443.
    for stack in deploy["strategy"]["matrix"]["stack"]:
        if stack.endswith("-aws"):
            assert plan_example(stack).of_type(INGRESS), stack


# --- managed endpoints wait for their artifact and image (deployEndpoints) -----------

#: The managed serving chain of each cloud: what needs the model artifact and the image.
SERVING_TYPES = {
    "aws:sagemaker/model:Model",
    "aws:sagemaker/endpointConfiguration:EndpointConfiguration",
    "aws:sagemaker/endpoint:Endpoint",
    "gcp:vertex/aiEndpoint:AiEndpoint",
    "mlops:gcp:VertexModelDeployment",
    "azure-native:machinelearningservices:OnlineEndpoint",
    "azure-native:machinelearningservices:OnlineDeployment",
    "azure-native:machinelearningservices:ModelVersion",
}


def _subtree(plan: Plan, roots: set[str]) -> set[str]:
    found = set(roots)
    grew = True
    while grew:
        more = {r.urn for r in plan.resources if r.parent in found} - found
        grew = bool(more)
        found |= more
    return found


@pytest.mark.parametrize("stack", ["dev-aws", "prod-aws", "dev-gcp", "prod-gcp", "dev-azure", "prod-azure"])
def test_deploy_endpoints_false_plans_everything_but_the_managed_serving_chain(stack: str) -> None:
    full = plan_example(stack)
    cloud = stack.split("-")[1]
    endpoints = [r for r in full.resources if r.type == f"mlops:{cloud}:ModelEndpoint"]
    assert endpoints, "the example has a managed endpoint"
    chain = _subtree(full, {r.urn for r in endpoints})
    assert {r.type for r in full.resources if r.urn in chain} & SERVING_TYPES
    phase1 = plan_with(stack, deployEndpoints=False)
    # Nothing of the serving chain, on any cloud.
    assert [r.name for r in phase1.resources if r.type in SERVING_TYPES or r.type.endswith(":ModelEndpoint")] == []
    # Everything else exactly as the full plan has it: the second apply only adds the chain.
    full_by_urn = full.by_urn()
    assert {r.urn for r in phase1.resources} == set(full_by_urn) - chain
    for r in phase1.resources:
        assert r.inputs == full_by_urn[r.urn].inputs, r.urn
        assert (r.protect, r.retain_on_delete, r.dependencies) == (full_by_urn[r.urn].protect, full_by_urn[r.urn].retain_on_delete, full_by_urn[r.urn].dependencies), r.urn
    # The bucket and registry the endpoints read from are created in phase 1.
    assert phase1.outputs["bucket_uris"] and phase1.outputs["repository_urls"]
    managed = {r.name.removeprefix("mlops-endpoint-") for r in endpoints}
    assert not managed & set(phase1.outputs.get("endpoints") or {})
    assert managed <= set(full.outputs["endpoints"])


def test_deploy_endpoints_must_be_a_boolean() -> None:
    with pytest.raises(ConfigError, match=r"^deployEndpoints: 'later' must be true or false$"):
        plan_with("dev-aws", deployEndpoints="later")


def test_the_example_pipeline_keeps_the_endpoints_out_of_phase_1_and_checks_their_inputs() -> None:
    import yaml

    from planning import ROOT

    jobs = yaml.safe_load((ROOT / "examples/pipelines/github-actions.yml").read_text())["jobs"]
    (phase1,) = [s["run"] for s in jobs["cloud-layer"]["steps"] if "pulumi up" in s.get("run", "")]
    assert phase1.endswith("--config-path -c mlops-stack:cluster.inCluster=false -c mlops-stack:deployEndpoints=false")
    runs = [s.get("run", "") for s in jobs["deploy"]["steps"]]
    check = next(i for i, r in enumerate(runs) if "preflight" in r)
    up = next(i for i, r in enumerate(runs) if "pulumi up" in r)
    assert check < up
    lines = runs[check].splitlines()
    assert lines[1] == "pulumi stack output --json > outputs.json"
    assert lines[2] == ".venv/bin/mlops-stack preflight --stack ${{ matrix.stack }} --outputs outputs.json"
    assert "deployEndpoints" not in runs[up]
