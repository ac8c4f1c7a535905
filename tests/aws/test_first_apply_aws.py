"""AWS apply-time failures a mock accepts (issue 13): replacement of the model package
group, destroy order of node groups and the EBS CSI addon against their IAM grants, and
zones EKS refuses."""

from __future__ import annotations

from planning import plan_example

NODE_ATTACHMENT_NAMES = {
    "mlops-cluster-node-role-amazoneksworkernodepolicy",
    "mlops-cluster-node-role-amazonec2containerregistryreadonly",
    "mlops-cluster-node-role-amazoneks-cni-policy",
}


def test_model_package_group_description_changes_never_replace_it() -> None:
    group = plan_example("prod-aws").one("aws:sagemaker/modelPackageGroup:ModelPackageGroup")
    assert "modelPackageGroupDescription" in group.ignore_changes
    assert (group.protect, group.retain_on_delete) == (True, True)


def test_every_node_group_depends_on_the_node_role_policy_attachments() -> None:
    plan = plan_example("prod-aws")
    attachments = {r.urn for r in plan.of_type("aws:iam/rolePolicyAttachment:RolePolicyAttachment") if "node-role" in r.name}
    assert len(attachments) == 3
    groups = plan.of_type("aws:eks/nodeGroup:NodeGroup")
    assert sorted(g.name for g in groups) == ["mlops-cluster-system", "mlops-gpu-infer-nodes", "mlops-gpu-train-nodes"]
    for g in groups:
        # Through nodeRoleArn: Pulumi deletes/replaces the group before detaching a policy.
        assert attachments <= set(g.property_dependencies["nodeRoleArn"]), g.name
        assert attachments <= set(g.dependencies), g.name


def test_the_ebs_csi_addon_depends_on_its_role_grants() -> None:
    plan = plan_example("prod-aws")
    addon = plan.one("aws:eks/addon:Addon", "mlops-cluster-ebs-csi")
    policy = plan.one("aws:iam/rolePolicyAttachment:RolePolicyAttachment", "mlops-cluster-ebs-csi-policy")
    kms = plan.one("aws:iam/rolePolicy:RolePolicy", "mlops-cluster-ebs-csi-kms")
    assert {policy.urn, kms.urn} <= set(addon.dependencies)


def test_subnets_skip_zone_ids_eks_refuses() -> None:
    # The offline zone list maps us-east-1c to use1-az3 (names map to IDs per account; the
    # network excludes by ID), so prod's three zones are a, b and d.
    plan = plan_example("prod-aws")
    zones = sorted({s.inputs["availabilityZone"] for s in plan.of_type("aws:ec2/subnet:Subnet")})
    assert zones == ["us-east-1a", "us-east-1b", "us-east-1d"]


def test_more_zones_than_eks_supports_in_the_region_is_one_line() -> None:
    import json

    import pytest

    from mlops_stack.errors import ConfigError
    from planning import plan_config

    config = dict(plan_example("prod-aws").config)
    network = json.loads(config["mlops-stack:network"])
    network["zones"] = 6
    config["mlops-stack:network"] = json.dumps(network)
    with pytest.raises(ConfigError) as info:
        plan_config(config, stack="prod-aws")
    assert str(info.value) == (
        "network.zones: 6 asks for 6 zones, but us-east-1 has 5 that EKS supports (use1-az3 is left out by ID) (set network.zones: 5)"
    )
    network["zones"] = 5
    config["mlops-stack:network"] = json.dumps(network)
    plan = plan_config(config, stack="prod-aws")
    assert len({s.inputs["availabilityZone"] for s in plan.of_type("aws:ec2/subnet:Subnet")}) == 5


def test_the_applying_identity_in_cluster_admin_arns_is_refused_before_any_cloud_resource() -> None:
    """EKS gives the creator its own admin access entry; listing it too was a 409 at apply.
    The program asks the provider who applies (the offline caller is user/offline) and
    refuses with one line before registering any cloud resource."""
    import json

    import pytest

    from mlops_stack.errors import ConfigError
    from planning import plan_config

    config = dict(plan_example("prod-aws").config)
    options = json.loads(config["mlops-stack:aws"])
    options["clusterAdminArns"] = [*options["clusterAdminArns"], "arn:aws:iam::123456789012:user/offline"]
    config["mlops-stack:aws"] = json.dumps(options)
    line = (
        "aws.clusterAdminArns[1]: 'arn:aws:iam::123456789012:user/offline' is the identity running pulumi up, which EKS already "
        "makes cluster admin as the cluster's creator; a second access entry for it fails with 409 (remove it from the list, or apply as another identity)"
    )
    with pytest.raises(ConfigError) as err:
        plan_config(config, stack="prod-aws")
    assert str(err.value) == line


def test_other_cluster_admins_still_get_their_access_entries() -> None:
    plan = plan_example("prod-aws")
    (entry,) = plan.of_type("aws:eks/accessEntry:AccessEntry")
    assert entry.inputs["principalArn"] == "arn:aws:iam::123456789012:role/platform-admins"
