"""The dev-aws and prod-aws plans contain every resource of the AWS environment, with
the inputs a security reviewer checks. Exact types, counts and wire-level inputs."""

from __future__ import annotations

import json

import pytest

from planning import plan_example
from mlops_stack.offline.engine import Plan, Registration
from mlops_stack.k8s import charts

KEY_TYPE = "aws:kms/key:Key"


def dev() -> Plan:
    return plan_example("dev-aws")


def prod() -> Plan:
    return plan_example("prod-aws")


def key_arn(plan: Plan) -> str:
    return plan.one(KEY_TYPE, "mlops-keys-key").outputs["arn"]


def by_bucket(plan: Plan, type_: str) -> dict[str, Registration]:
    return {r.inputs["bucket"]: r for r in plan.of_type(type_)}


def buckets(plan: Plan) -> dict[str, Registration]:
    """Physical bucket name -> bucket registration."""
    return {r.outputs["bucket"]: r for r in plan.of_type("aws:s3/bucket:Bucket")}


def data_buckets(plan: Plan) -> dict[str, Registration]:
    return {n: r for n, r in buckets(plan).items() if r.inputs["tags"]["mlops-stack-role"] == "data"}


def log_bucket(plan: Plan) -> Registration:
    (only,) = [r for r in plan.of_type("aws:s3/bucket:Bucket") if r.name == "mlops-store-access-logs"]
    return only


# --- counts per type ---------------------------------------------------------------

EXPECTED_DEV = {
    "aws:ec2/vpc:Vpc": 1,
    "aws:ec2/subnet:Subnet": 4,
    "aws:ec2/natGateway:NatGateway": 1,
    "aws:ec2/eip:Eip": 1,
    "aws:ec2/internetGateway:InternetGateway": 1,
    "aws:ec2/vpcEndpoint:VpcEndpoint": 5,
    "aws:ec2/defaultSecurityGroup:DefaultSecurityGroup": 1,
    "aws:kms/key:Key": 1,
    "aws:kms/alias:Alias": 1,
    "aws:s3/bucket:Bucket": 4,  # artifacts, models, datasets + access logs
    "aws:s3/bucketVersioning:BucketVersioning": 4,
    "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration": 4,
    "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock": 4,
    "aws:s3/bucketOwnershipControls:BucketOwnershipControls": 4,
    "aws:s3/bucketPolicy:BucketPolicy": 4,
    "aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration": 4,
    "aws:s3/bucketLogging:BucketLogging": 3,
    "aws:ecr/repository:Repository": 2,
    "aws:ecr/lifecyclePolicy:LifecyclePolicy": 2,
    "aws:eks/cluster:Cluster": 1,
    "aws:eks/nodeGroup:NodeGroup": 3,  # system + train + infer
    "aws:ec2/launchTemplate:LaunchTemplate": 3,
    "aws:eks/addon:Addon": 2,  # vpc-cni (network policy on) + EBS CSI
    "aws:iam/openIdConnectProvider:OpenIdConnectProvider": 1,
    "aws:cloudwatch/logGroup:LogGroup": 2,  # EKS control plane + VPC flow logs
    "aws:ec2/flowLog:FlowLog": 1,
    "aws:eks/accessEntry:AccessEntry": 0,
    "aws:sagemaker/modelPackageGroup:ModelPackageGroup": 1,
    "aws:sagemaker/model:Model": 1,
    "aws:sagemaker/endpointConfiguration:EndpointConfiguration": 1,
    "aws:sagemaker/endpoint:Endpoint": 1,
    "aws:appautoscaling/target:Target": 1,
    "aws:appautoscaling/policy:Policy": 1,
    # cluster, nodes, EBS CSI (IRSA), Cluster Autoscaler (IRSA), endpoint execution, flow logs,
    # the cluster endpoint's model reader (IRSA), the MLflow tracking server's execution role
    "aws:iam/role:Role": 8,
    # EBS CSI use of the key, autoscaler, endpoint, flow-log delivery, cluster endpoint's model prefix, MLflow server
    "aws:iam/rolePolicy:RolePolicy": 6,
    "aws:sagemaker/mlflowTrackingServer:MlflowTrackingServer": 1,
    "mlops:aws:Network": 1,
    "mlops:aws:Keys": 1,
    "mlops:aws:ArtifactStore": 1,
    "mlops:aws:ContainerRegistry": 1,
    "mlops:aws:ModelRegistry": 1,
    "mlops:aws:KubernetesCluster": 1,
    "mlops:aws:GpuNodePool": 2,
    "mlops:aws:ModelEndpoint": 1,
}


@pytest.mark.parametrize(("type_", "count"), sorted(EXPECTED_DEV.items()))
def test_dev_counts(type_: str, count: int) -> None:
    assert dev().type_counts().get(type_, 0) == count


PROD_DIFF = {
    "aws:ec2/subnet:Subnet": 6,
    "aws:ec2/natGateway:NatGateway": 3,
    "aws:ec2/eip:Eip": 3,
    "aws:ec2/routeTable:RouteTable": 4,  # public + one private per zone
    "aws:eks/accessEntry:AccessEntry": 1,
    "aws:eks/accessPolicyAssociation:AccessPolicyAssociation": 1,
}


@pytest.mark.parametrize(("type_", "count"), sorted(PROD_DIFF.items()))
def test_prod_counts(type_: str, count: int) -> None:
    assert prod().type_counts().get(type_, 0) == count


def test_only_one_private_route_table_in_dev() -> None:
    assert dev().type_counts()["aws:ec2/routeTable:RouteTable"] == 2


# --- network -------------------------------------------------------------------------


@pytest.mark.parametrize(("plan", "days"), [(dev, 30), (prod, 365)])
def test_vpc_flow_logs_all_traffic_to_a_key_encrypted_group(plan, days: int) -> None:
    p = plan()
    vpc = p.one("aws:ec2/vpc:Vpc")
    fl = p.one("aws:ec2/flowLog:FlowLog").inputs
    group = p.one("aws:cloudwatch/logGroup:LogGroup", "mlops-network-flow-logs")
    assert fl["vpcId"] == vpc.id and vpc.id.startswith("vpc-")
    assert fl["trafficType"] == "ALL"
    assert fl["logDestinationType"] == "cloud-watch-logs"
    assert fl["logDestination"] == group.outputs["arn"]
    assert group.inputs["kmsKeyId"] == key_arn(p)
    assert group.inputs["retentionInDays"] == days
    role = p.one("aws:iam/role:Role", "mlops-network-flow-logs-role")
    assert fl["iamRoleArn"] == role.outputs["arn"]
    trust = json.loads(role.inputs["assumeRolePolicy"])["Statement"][0]
    assert trust["Principal"] == {"Service": "vpc-flow-logs.amazonaws.com"}
    assert trust["Condition"] == {"StringEquals": {"aws:SourceAccount": "123456789012"}}
    (stmt,) = json.loads(p.one("aws:iam/rolePolicy:RolePolicy", "mlops-network-flow-logs-delivery").inputs["policy"])["Statement"]
    assert stmt["Resource"] == [group.outputs["arn"], group.outputs["arn"] + ":*"]
    assert "*" not in json.dumps(stmt["Action"])


def test_vpc_endpoints_cover_s3_ecr_sts_and_sagemaker_runtime() -> None:
    eps = {r.inputs["serviceName"]: r.inputs for r in dev().of_type("aws:ec2/vpcEndpoint:VpcEndpoint")}
    assert set(eps) == {f"com.amazonaws.us-east-1.{s}" for s in ("s3", "ecr.api", "ecr.dkr", "sts", "sagemaker.runtime")}
    assert eps["com.amazonaws.us-east-1.s3"]["vpcEndpointType"] == "Gateway"
    for name, inputs in eps.items():
        if not name.endswith(".s3"):
            assert inputs["vpcEndpointType"] == "Interface"
            assert inputs["privateDnsEnabled"] is True
            assert len(inputs["subnetIds"]) == 2


def test_subnets_span_distinct_zones_and_tag_for_load_balancers() -> None:
    subnets = prod().of_type("aws:ec2/subnet:Subnet")
    private = [s.inputs for s in subnets if "private" in s.name]
    public = [s.inputs for s in subnets if "public" in s.name]
    assert len({s["availabilityZone"] for s in private}) == 3
    assert all(s["tags"]["kubernetes.io/role/internal-elb"] == "1" for s in private)
    assert all(s["tags"]["kubernetes.io/role/elb"] == "1" and s["mapPublicIpOnLaunch"] is False for s in public)
    assert [s["cidrBlock"] for s in private] == ["10.30.0.0/18", "10.30.64.0/18", "10.30.128.0/18"]


def test_default_security_group_has_no_rules() -> None:
    sg = dev().one("aws:ec2/defaultSecurityGroup:DefaultSecurityGroup").inputs
    assert not sg.get("ingress") and not sg.get("egress")


# --- keys ------------------------------------------------------------------------------


@pytest.mark.parametrize("plan", [dev, prod])
def test_kms_key_rotates_and_is_administered_by_the_account(plan) -> None:
    key = plan().one(KEY_TYPE, "mlops-keys-key")
    assert key.inputs["enableKeyRotation"] is True
    assert key.inputs["rotationPeriodInDays"] == 365
    assert key.inputs["deletionWindowInDays"] == 30
    policy = json.loads(key.inputs["policy"])
    sids = {s["Sid"]: s for s in policy["Statement"]}
    assert sids["AccountAdministers"]["Principal"] == {"AWS": "arn:aws:iam::123456789012:root"}
    assert sids["CloudWatchLogsEncrypt"]["Principal"] == {"Service": "logs.us-east-1.amazonaws.com"}


def test_key_lets_ec2_auto_scaling_launch_encrypted_nodes() -> None:
    """Node root volumes use the stack key; the Auto Scaling service-linked role launches them."""
    policy = json.loads(dev().one(KEY_TYPE, "mlops-keys-key").inputs["policy"])
    sids = {s["Sid"]: s for s in policy["Statement"]}
    role = "arn:aws:iam::123456789012:role/aws-service-role/autoscaling.amazonaws.com/AWSServiceRoleForAutoScaling"
    only_the_role = {"StringEquals": {"kms:CallerAccount": "123456789012"}, "ArnEquals": {"aws:PrincipalArn": role}}
    assert sids["AutoScalingUsesKey"]["Condition"] == only_the_role
    assert set(sids["AutoScalingUsesKey"]["Action"]) >= {"kms:Decrypt", "kms:GenerateDataKey*", "kms:ReEncrypt*"}
    assert sids["AutoScalingGrants"]["Action"] == "kms:CreateGrant"
    assert sids["AutoScalingGrants"]["Condition"] == {**only_the_role, "Bool": {"kms:GrantIsForAWSResource": "true"}}


@pytest.mark.parametrize("stack", ["dev-aws", "prod-aws"])
def test_no_key_policy_names_a_principal_that_may_not_exist_yet(stack: str) -> None:
    """KMS CreateKey refuses a policy naming a missing principal; the Auto Scaling
    service-linked role exists only after the account's first Auto Scaling group, so the
    apply must not need it (nor a preflight that checks it)."""
    for key in plan_example(stack).of_type(KEY_TYPE):
        for statement in json.loads(key.inputs["policy"])["Statement"]:
            principal = statement["Principal"]
            aws = principal.get("AWS") if isinstance(principal, dict) else principal
            for arn in [aws] if isinstance(aws, str) else (aws or []):
                assert arn == "*" or arn.endswith(":root"), (key.name, statement["Sid"], arn)


def test_key_is_protected_in_prod_only() -> None:
    assert (prod().one(KEY_TYPE, "mlops-keys-key").protect, prod().one(KEY_TYPE, "mlops-keys-key").retain_on_delete) == (True, True)
    assert (dev().one(KEY_TYPE, "mlops-keys-key").protect, dev().one(KEY_TYPE, "mlops-keys-key").retain_on_delete) == (False, False)


# --- storage ---------------------------------------------------------------------------


@pytest.mark.parametrize("plan", [dev, prod])
def test_every_bucket_is_versioned_private_and_tls_only(plan) -> None:
    p = plan()
    names = set(buckets(p))
    versioning = by_bucket(p, "aws:s3/bucketVersioning:BucketVersioning")
    blocks = by_bucket(p, "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock")
    owners = by_bucket(p, "aws:s3/bucketOwnershipControls:BucketOwnershipControls")
    policies = by_bucket(p, "aws:s3/bucketPolicy:BucketPolicy")
    assert set(versioning) == set(blocks) == set(owners) == set(policies) == names
    for name in names:
        assert versioning[name].inputs["versioningConfiguration"] == {"status": "Enabled"}
        assert {k: blocks[name].inputs[k] for k in ("blockPublicAcls", "blockPublicPolicy", "ignorePublicAcls", "restrictPublicBuckets")} == dict.fromkeys(
            ("blockPublicAcls", "blockPublicPolicy", "ignorePublicAcls", "restrictPublicBuckets"), True
        )
        assert owners[name].inputs["rule"] == {"objectOwnership": "BucketOwnerEnforced"}
        statements = json.loads(policies[name].inputs["policy"])["Statement"]
        deny = next(s for s in statements if s["Sid"] == "DenyInsecureTransport")
        assert deny["Effect"] == "Deny" and deny["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}
        assert buckets(p)[name].inputs["forceDestroy"] is False


@pytest.mark.parametrize("plan", [dev, prod])
def test_data_buckets_use_the_stack_key_with_a_bucket_key(plan) -> None:
    p = plan()
    sse = by_bucket(p, "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration")
    for name in data_buckets(p):
        (rule,) = sse[name].inputs["rules"]
        assert rule["applyServerSideEncryptionByDefault"] == {"sseAlgorithm": "aws:kms", "kmsMasterKeyId": key_arn(p)}
        assert rule["bucketKeyEnabled"] is True
    # S3 access logging cannot deliver to an SSE-KMS bucket: the log bucket uses SSE-S3.
    (rule,) = sse[log_bucket(p).outputs["bucket"]].inputs["rules"]
    assert rule["applyServerSideEncryptionByDefault"] == {"sseAlgorithm": "AES256"}


def test_data_buckets_log_to_the_log_bucket_and_it_admits_log_delivery() -> None:
    p = dev()
    logs = log_bucket(p).outputs["bucket"]
    logging = by_bucket(p, "aws:s3/bucketLogging:BucketLogging")
    assert set(logging) == set(data_buckets(p))
    assert {r.inputs["targetBucket"] for r in logging.values()} == {logs}
    policy = json.loads(by_bucket(p, "aws:s3/bucketPolicy:BucketPolicy")[logs].inputs["policy"])
    delivery = next(s for s in policy["Statement"] if s["Sid"] == "S3ServerAccessLogs")
    assert delivery["Principal"] == {"Service": "logging.s3.amazonaws.com"}
    assert delivery["Condition"]["StringEquals"] == {"aws:SourceAccount": "123456789012"}


def test_lifecycle_follows_the_spec() -> None:
    p = dev()
    rules = {
        buckets(p)[name].inputs["tags"]["mlops-stack-bucket"]: {r["id"]: r for r in reg.inputs["rules"]}
        for name, reg in by_bucket(p, "aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration").items()
    }
    assert rules["models"]["expire-noncurrent-versions"]["noncurrentVersionExpiration"] == {"noncurrentDays": 90}
    assert rules["artifacts"]["expire-noncurrent-versions"]["noncurrentVersionExpiration"] == {"noncurrentDays": 30}
    for bucket_rules in rules.values():
        assert bucket_rules["abort-incomplete-multipart-uploads"]["abortIncompleteMultipartUpload"] == {"daysAfterInitiation": 7}
    assert rules["access-logs"]["expire-current-objects"]["expiration"] == {"days": 365}


def test_buckets_are_protected_and_retained_in_prod_only() -> None:
    assert all(r.protect and r.retain_on_delete for r in prod().of_type("aws:s3/bucket:Bucket"))
    assert not any(r.protect or r.retain_on_delete for r in dev().of_type("aws:s3/bucket:Bucket"))


# --- container registry ------------------------------------------------------------------


@pytest.mark.parametrize("plan", [dev, prod])
def test_repositories_are_immutable_scanned_and_encrypted(plan) -> None:
    p = plan()
    repos = p.of_type("aws:ecr/repository:Repository")
    assert sorted(r.inputs["name"] for r in repos) == sorted(f"mlops-{p.stack.split('-')[0]}/{n}" for n in ("training", "serving"))
    for r in repos:
        assert r.inputs["imageTagMutability"] == "IMMUTABLE"
        assert r.inputs["imageScanningConfiguration"] == {"scanOnPush": True}
        assert r.inputs["encryptionConfigurations"] == [{"encryptionType": "KMS", "kmsKey": key_arn(p)}]
        assert r.inputs["forceDelete"] is False
    expiry = {"dev-aws": 7, "prod-aws": 14}[p.stack]
    for lc in p.of_type("aws:ecr/lifecyclePolicy:LifecyclePolicy"):
        (rule,) = json.loads(lc.inputs["policy"])["rules"]
        assert rule["selection"] == {"tagStatus": "untagged", "countType": "sinceImagePushed", "countUnit": "days", "countNumber": expiry}
        assert rule["action"] == {"type": "expire"}


# --- cluster -----------------------------------------------------------------------------


@pytest.mark.parametrize("plan", [dev, prod])
def test_eks_encrypts_secrets_logs_everything_and_uses_access_entries(plan) -> None:
    p = plan()
    c = p.one("aws:eks/cluster:Cluster").inputs
    assert c["encryptionConfig"] == {"provider": {"keyArn": key_arn(p)}, "resources": ["secrets"]}
    assert c["enabledClusterLogTypes"] == ["api", "audit", "authenticator", "controllerManager", "scheduler"]
    assert c["accessConfig"]["authenticationMode"] == "API"
    assert c["vpcConfig"]["endpointPrivateAccess"] is True
    assert c["version"] == "1.35"
    log_group = p.one("aws:cloudwatch/logGroup:LogGroup", "mlops-cluster-control-plane-logs").inputs
    assert log_group["name"] == f"/aws/eks/{c['name']}/cluster"
    assert log_group["kmsKeyId"] == key_arn(p)


def test_api_endpoint_public_only_through_the_allowlist() -> None:
    d = dev().one("aws:eks/cluster:Cluster").inputs["vpcConfig"]
    assert d["endpointPublicAccess"] is True and d["publicAccessCidrs"] == ["203.0.113.0/24"]
    pr = prod().one("aws:eks/cluster:Cluster").inputs["vpcConfig"]
    assert pr["endpointPublicAccess"] is False and "publicAccessCidrs" not in pr


def test_vpc_cni_enforces_network_policies() -> None:
    addons = {r.inputs["addonName"]: r.inputs for r in dev().of_type("aws:eks/addon:Addon")}
    assert json.loads(addons["vpc-cni"]["configurationValues"]) == {"enableNetworkPolicy": "true"}
    assert addons["aws-ebs-csi-driver"]["serviceAccountRoleArn"].startswith("arn:aws:iam::123456789012:role/")


def test_ebs_csi_driver_may_use_the_key_of_its_storage_class() -> None:
    p = dev()
    policy = json.loads(p.one("aws:iam/rolePolicy:RolePolicy", "mlops-cluster-ebs-csi-kms").inputs["policy"])
    assert {s["Resource"] for s in policy["Statement"]} == {key_arn(p)}
    grants = next(s for s in policy["Statement"] if s["Sid"] == "GrantsForVolumes")
    assert grants["Condition"] == {"Bool": {"kms:GrantIsForAWSResource": "true"}}


def test_cluster_autoscaler_scales_only_this_clusters_groups() -> None:
    p = dev()
    release = p.one("kubernetes:helm.sh/v3:Release", "mlops-cluster-autoscaler").inputs
    version = p.one("aws:eks/cluster:Cluster").inputs["version"]
    expected = charts.CLUSTER_AUTOSCALER[version]  # the chart and image built for the cluster's minor
    assert (release["chart"], release["version"], release["namespace"]) == ("cluster-autoscaler", expected.chart.version, "kube-system")
    values = release["values"]
    assert values["autoDiscovery"] == {"clusterName": "mlops-dev"} and values["awsRegion"] == "us-east-1"
    assert values["image"]["tag"] == expected.image_tag and expected.image_tag.startswith(f"v{version}.")
    role = p.one("aws:iam/role:Role", "mlops-cluster-autoscaler-role")
    assert values["rbac"]["serviceAccount"]["annotations"] == {"eks.amazonaws.com/role-arn": role.outputs["arn"]}
    trust = json.loads(role.inputs["assumeRolePolicy"])["Statement"][0]["Condition"]["StringEquals"]
    assert any(v == "system:serviceaccount:kube-system:cluster-autoscaler" for v in trust.values())
    policy = json.loads(p.one("aws:iam/rolePolicy:RolePolicy", "mlops-cluster-autoscaler-policy").inputs["policy"])
    scale = next(s for s in policy["Statement"] if s["Sid"] == "ScaleOwnGroups")
    assert scale["Condition"] == {"StringEquals": {"aws:ResourceTag/k8s.io/cluster-autoscaler/mlops-dev": "owned"}}
    assert "autoscaling:SetDesiredCapacity" not in next(s for s in policy["Statement"] if s["Sid"] == "Discover")["Action"]
    # Reading node groups is limited to this cluster's (issue 12: no wildcard autoscaler grant).
    describe = [s for s in policy["Statement"] if "eks:DescribeNodegroup" in json.dumps(s["Action"])]
    assert [s["Resource"] for s in describe] == ["arn:aws:eks:us-east-1:123456789012:nodegroup/mlops-dev/*/*"]


def test_oidc_provider_for_irsa_uses_the_cluster_issuer() -> None:
    p = dev()
    issuer = p.one("aws:eks/cluster:Cluster").outputs["identities"][0]["oidcs"][0]["issuer"]
    oidc = p.one("aws:iam/openIdConnectProvider:OpenIdConnectProvider").inputs
    assert oidc == {**oidc, "url": issuer, "clientIdLists": ["sts.amazonaws.com"]}
    ebs = next(r for r in p.of_type("aws:iam/role:Role") if r.name.endswith("ebs-csi-role"))
    cond = json.loads(ebs.inputs["assumeRolePolicy"])["Statement"][0]["Condition"]["StringEquals"]
    host = issuer.removeprefix("https://")
    assert cond[f"{host}:sub"] == "system:serviceaccount:kube-system:ebs-csi-controller-sa"


def test_prod_admins_come_from_access_entries() -> None:
    entry = prod().one("aws:eks/accessEntry:AccessEntry").inputs
    assoc = prod().one("aws:eks/accessPolicyAssociation:AccessPolicyAssociation").inputs
    assert entry["principalArn"] == assoc["principalArn"] == "arn:aws:iam::123456789012:role/platform-admins"
    assert assoc["policyArn"] == "arn:aws:eks::aws:cluster-access-policy/AmazonEKSClusterAdminPolicy"


def node_groups(plan: Plan) -> dict[str, Registration]:
    return {r.inputs["labels"]["mlops-stack/pool"]: r for r in plan.of_type("aws:eks/nodeGroup:NodeGroup")}


def test_system_node_group_is_on_demand_and_untainted() -> None:
    sys_ng = node_groups(dev())["system"]
    assert sys_ng.inputs["amiType"] == "AL2023_x86_64_STANDARD"
    assert sys_ng.inputs["capacityType"] == "ON_DEMAND"
    assert sys_ng.inputs["instanceTypes"] == ["m7i.large"]
    assert "taints" not in sys_ng.inputs
    assert sys_ng.ignore_changes == ["scalingConfig.desiredSize"]


@pytest.mark.parametrize(
    ("plan", "pool", "instance", "capacity", "scaling"),
    [
        (dev, "train", "g4dn.12xlarge", "SPOT", {"minSize": 0, "maxSize": 2, "desiredSize": 0}),
        (dev, "infer", "g4dn.xlarge", "ON_DEMAND", {"minSize": 0, "maxSize": 2, "desiredSize": 0}),
        (prod, "train", "p4d.24xlarge", "ON_DEMAND", {"minSize": 0, "maxSize": 2, "desiredSize": 0}),
        (prod, "infer", "g4dn.xlarge", "ON_DEMAND", {"minSize": 2, "maxSize": 8, "desiredSize": 2}),
    ],
)
def test_gpu_pools(plan, pool: str, instance: str, capacity: str, scaling: dict) -> None:
    ng = node_groups(plan())[pool]
    assert ng.inputs["amiType"] == "AL2023_x86_64_NVIDIA"
    assert ng.inputs["instanceTypes"] == [instance]
    assert ng.inputs["capacityType"] == capacity
    assert ng.inputs["scalingConfig"] == scaling
    assert ng.inputs["taints"] == [{"key": "nvidia.com/gpu", "value": "true", "effect": "NO_SCHEDULE"}]
    assert ng.inputs["labels"]["mlops-stack/gpu"] in ("nvidia-t4", "nvidia-a100-40gb")
    assert ng.ignore_changes == ["scalingConfig.desiredSize"]


@pytest.mark.parametrize("plan", [dev, prod])
def test_nodes_require_imdsv2_and_encrypt_their_disks(plan) -> None:
    p = plan()
    for lt in p.of_type("aws:ec2/launchTemplate:LaunchTemplate"):
        assert lt.inputs["metadataOptions"] == {"httpEndpoint": "enabled", "httpTokens": "required", "httpPutResponseHopLimit": 1}
        (bdm,) = lt.inputs["blockDeviceMappings"]
        assert bdm["ebs"]["encrypted"] == "true" and bdm["ebs"]["kmsKeyId"] == key_arn(p) and bdm["ebs"]["volumeType"] == "gp3"


# --- model registry and endpoints ---------------------------------------------------------


def test_model_registry_is_a_protected_package_group_in_prod() -> None:
    g = prod().one("aws:sagemaker/modelPackageGroup:ModelPackageGroup")
    assert g.inputs["modelPackageGroupName"] == "mlops-prod-models"
    assert (g.protect, g.retain_on_delete) == (True, True)


def test_endpoint_role_reads_only_its_model_prefix() -> None:
    p = prod()
    policy = json.loads(p.one("aws:iam/rolePolicy:RolePolicy", "mlops-endpoint-sentiment-role-policy").inputs["policy"])
    sids = {s["Sid"]: s for s in policy["Statement"]}
    models = next(n for n, r in data_buckets(p).items() if r.inputs["tags"]["mlops-stack-bucket"] == "models")
    artifacts = next(n for n, r in data_buckets(p).items() if r.inputs["tags"]["mlops-stack-bucket"] == "artifacts")
    assert sids["ReadModelArtifact"] == {**sids["ReadModelArtifact"], "Action": "s3:GetObject", "Resource": f"arn:aws:s3:::{models}/sentiment/v3/*"}
    assert sids["UseStackKey"]["Resource"] == key_arn(p)
    assert sids["WriteDataCapture"]["Resource"] == f"arn:aws:s3:::{artifacts}/data-capture/sentiment/*"
    for s in policy["Statement"]:
        assert s["Action"] != "*" and "*" not in (s["Action"] if isinstance(s["Action"], list) else [s["Action"]])


@pytest.mark.parametrize("plan", [dev, prod])
def test_endpoint_role_attaches_only_to_the_stack_vpc_and_private_subnets(plan) -> None:
    p = plan()
    if not p.of_type("aws:sagemaker/model:Model")[0].inputs.get("vpcConfig"):
        pytest.skip("endpoint not in the VPC")
    policy = json.loads(p.one("aws:iam/rolePolicy:RolePolicy", "mlops-endpoint-sentiment-role-policy").inputs["policy"])
    sids = {s["Sid"]: s for s in policy["Statement"]}
    vpc_id = p.one("aws:ec2/vpc:Vpc").id
    private = sorted(r.id for r in p.of_type("aws:ec2/subnet:Subnet") if "private" in r.name)
    subnet_arns = [f"arn:aws:ec2:us-east-1:123456789012:subnet/{s}" for s in private]
    vpc_arn = f"arn:aws:ec2:us-east-1:123456789012:vpc/{vpc_id}"
    eni = sids["NetworkInterfacesInStackSubnets"]
    assert eni["Resource"] == "arn:aws:ec2:us-east-1:123456789012:network-interface/*"
    assert eni["Condition"]["ArnEquals"]["ec2:Vpc"] == vpc_arn
    assert sorted(eni["Condition"]["ArnEquals"]["ec2:Subnet"]) == subnet_arns
    assert sorted(sids["CreateInStackSubnets"]["Resource"]) == subnet_arns
    assert sids["SecurityGroupsInStackVpc"]["Condition"] == {"ArnEquals": {"ec2:Vpc": vpc_arn}}
    # Only describe calls remain on "*".
    for s in policy["Statement"]:
        if s["Resource"] == "*" and not s.get("Condition"):
            actions = s["Action"] if isinstance(s["Action"], list) else [s["Action"]]
            assert all(a.startswith(("ec2:Describe", "ecr:GetAuthorizationToken")) for a in actions), s


def test_no_iam_document_grants_star_on_star() -> None:
    for plan in (dev(), prod()):
        docs = [r.inputs["policy"] for r in plan.of_type("aws:iam/rolePolicy:RolePolicy")]
        docs += [r.inputs["assumeRolePolicy"] for r in plan.of_type("aws:iam/role:Role")]
        for doc in docs:
            for s in json.loads(doc)["Statement"]:
                actions = s["Action"] if isinstance(s["Action"], list) else [s["Action"]]
                assert "*" not in actions


def test_dev_cpu_endpoint() -> None:
    p = dev()
    cfg = p.one("aws:sagemaker/endpointConfiguration:EndpointConfiguration").inputs
    (variant,) = cfg["productionVariants"]
    assert variant["instanceType"] == "ml.m5.large" and variant["initialInstanceCount"] == 1
    assert cfg["kmsKeyArn"] == key_arn(p)  # EBS-backed: the ML volume takes the stack key
    assert "dataCaptureConfig" not in cfg


def test_prod_gpu_endpoint_with_data_capture() -> None:
    p = prod()
    cfg = p.one("aws:sagemaker/endpointConfiguration:EndpointConfiguration").inputs
    (variant,) = cfg["productionVariants"]
    assert variant["instanceType"] == "ml.g4dn.xlarge" and variant["initialInstanceCount"] == 2
    # g4dn has local NVMe storage, hardware-encrypted; SageMaker rejects a KmsKeyId for it.
    assert "kmsKeyArn" not in cfg
    capture = cfg["dataCaptureConfig"]
    artifacts = next(n for n, r in data_buckets(p).items() if r.inputs["tags"]["mlops-stack-bucket"] == "artifacts")
    assert capture["enableCapture"] is True and capture["initialSamplingPercentage"] == 20
    assert capture["destinationS3Uri"] == f"s3://{artifacts}/data-capture/sentiment/"
    assert capture["kmsKeyId"] == key_arn(p)
    assert [o["captureMode"] for o in capture["captureOptions"]] == ["Input", "Output"]


def test_prod_model_runs_in_the_vpc_isolated() -> None:
    m = prod().one("aws:sagemaker/model:Model").inputs
    assert m["enableNetworkIsolation"] is True
    assert len(m["vpcConfig"]["subnets"]) == 3 and len(m["vpcConfig"]["securityGroupIds"]) == 1
    assert m["primaryContainer"]["modelDataUrl"].endswith("/sentiment/v3/model.tar.gz")


@pytest.mark.parametrize(("plan", "lo", "hi"), [(dev, 1, 2), (prod, 2, 6)])
def test_endpoint_autoscaling(plan, lo: int, hi: int) -> None:
    p = plan()
    target = p.one("aws:appautoscaling/target:Target").inputs
    env = p.stack.split("-")[0]
    assert target["resourceId"] == f"endpoint/mlops-{env}-sentiment/variant/primary"
    assert (target["minCapacity"], target["maxCapacity"]) == (lo, hi)
    assert target["scalableDimension"] == "sagemaker:variant:DesiredInstanceCount"
    policy = p.one("aws:appautoscaling/policy:Policy").inputs["targetTrackingScalingPolicyConfiguration"]
    assert policy["predefinedMetricSpecification"] == {"predefinedMetricType": "SageMakerVariantInvocationsPerInstance"}
    assert policy["targetValue"] == 100


def test_endpoint_changes_never_delete_the_live_config_first() -> None:
    """The config and model are auto-named and replaced create-before-delete; the
    endpoint has a stable name and follows the config by reference."""
    p = prod()
    cfg = p.one("aws:sagemaker/endpointConfiguration:EndpointConfiguration")
    model = p.one("aws:sagemaker/model:Model")
    endpoint = p.one("aws:sagemaker/endpoint:Endpoint")
    for r in (cfg, model):
        assert "name" not in r.inputs
        assert r.delete_before_replace is False
    assert endpoint.inputs["endpointConfigName"] == cfg.outputs["name"]
    assert cfg.urn in endpoint.dependencies
    assert endpoint.inputs["name"] == "mlops-prod-sentiment"


def test_a_new_image_replaces_config_and_model_but_keeps_the_endpoint() -> None:
    """Plan the same stack with a new image: the model and config keep their logical
    names (so Pulumi replaces them, create-before-delete, auto-naming the new ones) and
    the endpoint keeps its physical name and only follows the new config."""
    from planning import plan_config

    before = prod()
    config = dict(before.config)
    eps = json.loads(config["mlops-stack:endpoints"])
    eps[0]["model"]["image"] = eps[0]["model"]["image"].replace("3.2.0", "3.3.0")
    config["mlops-stack:endpoints"] = json.dumps(eps)
    after = plan_config(config, stack="prod-aws")
    for type_ in ("aws:sagemaker/model:Model", "aws:sagemaker/endpointConfiguration:EndpointConfiguration", "aws:sagemaker/endpoint:Endpoint"):
        assert before.one(type_).urn == after.one(type_).urn
    assert after.one("aws:sagemaker/model:Model").inputs["primaryContainer"]["image"].endswith(":sentiment-3.3.0")
    assert before.one("aws:sagemaker/endpoint:Endpoint").inputs["name"] == after.one("aws:sagemaker/endpoint:Endpoint").inputs["name"]
    for type_ in ("aws:sagemaker/model:Model", "aws:sagemaker/endpointConfiguration:EndpointConfiguration"):
        # No physical name: the replacement gets a fresh auto-name, so both can exist at once.
        assert "name" not in after.one(type_).inputs
        assert type_ not in [r.type for r in after.resources if r.delete_before_replace]


# --- tags ------------------------------------------------------------------------------------


@pytest.mark.parametrize("plan", [dev, prod])
def test_every_taggable_resource_carries_owner_environment_and_cost_center(plan) -> None:
    p = plan()
    tagged = [r for r in p.resources if r.custom and "tags" in r.inputs]
    assert len(tagged) > 40
    for r in tagged:
        assert {"owner", "environment", "cost-center", "managed-by"} <= set(r.inputs["tags"]), r.name


def test_uncompressed_model_prefix_is_served_from_s3_prefix() -> None:
    """An artifact key that is a folder (LLM weights) is read as an uncompressed S3 prefix."""
    from planning import plan_config

    config = dict(plan_example("dev-aws").config)
    eps = json.loads(config["mlops-stack:endpoints"])
    eps[0]["model"]["artifact"]["key"] = "llm/v1"
    config["mlops-stack:endpoints"] = json.dumps(eps)
    model = plan_config(config, stack="dev-aws").one("aws:sagemaker/model:Model").inputs["primaryContainer"]
    assert "modelDataUrl" not in model
    (source,) = model["modelDataSource"]["s3DataSources"]
    assert source["s3DataType"] == "S3Prefix" and source["compressionType"] == "None"
    assert source["s3Uri"].startswith("s3://mlops-dev-models-") and source["s3Uri"].endswith("/llm/v1/")


# --- cross-region replication (storage.replicaRegion) ---------------------------------------


def test_dev_is_single_region_and_says_so_on_every_data_bucket() -> None:
    p = dev()
    assert p.of_type("aws:s3/bucketReplicationConfig:BucketReplicationConfig") == []
    assert [r for r in p.of_type("pulumi:providers:aws") if r.inputs.get("region") != "us-east-1"] == []
    assert {r.inputs["tags"]["mlops-stack-replication"] for r in data_buckets(p).values()} == {"single-region"}


def test_prod_replicates_every_data_bucket_to_its_paired_region_with_its_own_key() -> None:
    p = prod()
    (replica_provider,) = [r for r in p.of_type("pulumi:providers:aws") if r.name == "mlops-store-replica-provider"]
    assert replica_provider.inputs["region"] == "us-west-2"
    replica_key = p.one(KEY_TYPE, "mlops-store-replica-key")
    assert replica_key.provider.startswith(replica_provider.urn)
    assert replica_key.outputs["arn"].startswith("arn:aws:kms:us-west-2:123456789012:key/")
    assert replica_key.inputs["enableKeyRotation"] is True
    assert (replica_key.protect, replica_key.retain_on_delete) == (True, True)

    by_name = {r.name: r for r in p.of_type("aws:s3/bucket:Bucket")}
    sources = {n: r for n, r in data_buckets(p).items()}
    assert {r.inputs["tags"]["mlops-stack-replication"] for r in sources.values()} == {"us-west-2"}
    configs = {r.inputs["bucket"]: r for r in p.of_type("aws:s3/bucketReplicationConfig:BucketReplicationConfig")}
    assert set(configs) == set(sources)
    sse = by_bucket(p, "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration")
    versioning = by_bucket(p, "aws:s3/bucketVersioning:BucketVersioning")
    for logical in ("artifacts", "models", "datasets"):
        src = by_name[f"mlops-store-{logical}"]
        dst = by_name[f"mlops-store-{logical}-replica"]
        assert dst.provider.startswith(replica_provider.urn)
        assert dst.outputs["arn"] == f"arn:aws:s3:::{dst.outputs['bucket']}" and dst.outputs["region"] == "us-west-2"
        assert (dst.protect, dst.retain_on_delete) == (True, True)
        assert versioning[dst.outputs["bucket"]].inputs["versioningConfiguration"]["status"] == "Enabled"
        (rule,) = sse[dst.outputs["bucket"]].inputs["rules"]
        assert rule["applyServerSideEncryptionByDefault"] == {"sseAlgorithm": "aws:kms", "kmsMasterKeyId": replica_key.outputs["arn"]}
        cfg = configs[src.outputs["bucket"]].inputs
        (r,) = cfg["rules"]
        assert r["status"] == "Enabled" and r["filter"] == {"prefix": ""}
        assert r["deleteMarkerReplication"] == {"status": "Enabled"}
        assert r["sourceSelectionCriteria"] == {"sseKmsEncryptedObjects": {"status": "Enabled"}}
        assert r["destination"]["bucket"] == dst.outputs["arn"]
        assert r["destination"]["encryptionConfiguration"] == {"replicaKmsKeyId": replica_key.outputs["arn"]}
        assert cfg["role"] == p.one("aws:iam/role:Role", "mlops-store-replication-role").outputs["arn"]
    # The replicas log access to a log bucket in their own region.
    replica_logs = by_name["mlops-store-replica-access-logs"]
    assert replica_logs.provider.startswith(replica_provider.urn)
    targets = {r.inputs["bucket"]: r.inputs["targetBucket"] for r in p.of_type("aws:s3/bucketLogging:BucketLogging")}
    for logical in ("artifacts", "models", "datasets"):
        assert targets[by_name[f"mlops-store-{logical}-replica"].outputs["bucket"]] == replica_logs.outputs["bucket"]


def test_replication_role_is_least_privilege() -> None:
    p = prod()
    role = p.one("aws:iam/role:Role", "mlops-store-replication-role")
    trust = json.loads(role.inputs["assumeRolePolicy"])["Statement"][0]
    assert trust["Principal"] == {"Service": "s3.amazonaws.com"}
    assert trust["Condition"] == {"StringEquals": {"aws:SourceAccount": "123456789012"}}
    doc = json.loads(p.one("aws:iam/rolePolicy:RolePolicy", "mlops-store-replication-policy").inputs["policy"])
    sids = {s["Sid"]: s for s in doc["Statement"]}
    by_name = {r.name: r.outputs["arn"] for r in p.of_type("aws:s3/bucket:Bucket")}
    src = sorted(by_name[f"mlops-store-{b}"] for b in ("artifacts", "models", "datasets"))
    dst = sorted(by_name[f"mlops-store-{b}-replica"] for b in ("artifacts", "models", "datasets"))
    assert sorted(sids["ReadReplicationConfig"]["Resource"]) == src
    assert sorted(sids["ReadSourceVersions"]["Resource"]) == [f"{a}/*" for a in src]
    assert sorted(sids["WriteReplicas"]["Resource"]) == [f"{a}/*" for a in dst]
    assert sids["DecryptSource"]["Resource"] == key_arn(p)
    assert sids["DecryptSource"]["Condition"]["StringEquals"] == {"kms:ViaService": "s3.us-east-1.amazonaws.com"}
    assert sids["EncryptReplica"]["Resource"] == p.one(KEY_TYPE, "mlops-store-replica-key").outputs["arn"]
    assert sids["EncryptReplica"]["Condition"]["StringEquals"] == {"kms:ViaService": "s3.us-west-2.amazonaws.com"}
    for s in doc["Statement"]:
        resources = s["Resource"] if isinstance(s["Resource"], list) else [s["Resource"]]
        assert "*" not in resources and not any(a.endswith(":*") for a in s["Action"]), s
