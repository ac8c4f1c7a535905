"""Realistic outputs for the AWS resource types the toolkit registers, and mocks for the
AWS functions it calls. Every output has the shape the real provider returns (ARNs,
IDs with the right prefixes, endpoints, OIDC issuers) so downstream code runs as it
would; values are deterministic, so a plan is the same on every run."""

from __future__ import annotations

import base64
from collections.abc import Callable
from typing import Any

from pulumi.runtime.mocks import MockCallArgs, MockResourceArgs

from mlops_stack import catalog
from mlops_stack.aws import checks
from mlops_stack.offline.engine import AutoNameRule, MockContext, auto_name, short_hash

#: The deterministic fake account every offline plan runs as.
ACCOUNT_ID = "123456789012"


def aws_region(ctx: MockContext, provider_ref: str | None = None) -> str:
    """The region of a resource: its provider's, else the stack's ``aws:region``, else us-east-1."""
    return str(ctx.provider_inputs(provider_ref).get("region") or ctx.config.get("aws:region") or "us-east-1")


def _arn(service: str, region: str, resource: str, account: str = ACCOUNT_ID) -> str:
    return f"arn:aws:{service}:{region}:{account}:{resource}"


def _hex_id(prefix: str, name: str, length: int = 17) -> str:
    return f"{prefix}-{short_hash(name, length=length)}"


def _base(ctx: MockContext, args: MockResourceArgs) -> tuple[dict[str, Any], str]:
    state = dict(args.inputs)
    if "tags" in state:
        state.setdefault("tagsAll", state["tags"])
    return state, aws_region(ctx, args.provider)


Rule = Callable[[MockContext, MockResourceArgs], tuple[str, dict[str, Any]]]


def _vpc_like(prefix: str, arn_kind: str) -> Rule:
    def rule(ctx: MockContext, args: MockResourceArgs) -> tuple[str, dict[str, Any]]:
        state, region = _base(ctx, args)
        id_ = _hex_id(prefix, args.name)
        state["arn"] = _arn("ec2", region, f"{arn_kind}/{id_}")
        state["ownerId"] = ACCOUNT_ID
        return id_, state

    return rule


def _bucket(ctx: MockContext, args: MockResourceArgs) -> tuple[str, dict[str, Any]]:
    state, region = _base(ctx, args)
    name = state.get("bucket") or (state["bucketPrefix"] + short_hash(args.name, length=12) if state.get("bucketPrefix") else auto_name(args.name, lower=True))
    state.update(
        bucket=name,
        arn=f"arn:aws:s3:::{name}",
        bucketDomainName=f"{name}.s3.amazonaws.com",
        bucketRegionalDomainName=f"{name}.s3.{region}.amazonaws.com",
        region=region,
        hostedZoneId="Z3AQBSTGFYJSTF",
    )
    return name, state


def _kms_key(ctx: MockContext, args: MockResourceArgs) -> tuple[str, dict[str, Any]]:
    state, region = _base(ctx, args)
    h = short_hash(args.name, length=32)
    key_id = f"{h[:8]}-{h[8:12]}-4{h[13:16]}-8{h[17:20]}-{h[20:32]}"
    state.update(keyId=key_id, arn=_arn("kms", region, f"key/{key_id}"))
    return key_id, state


def _kms_alias(ctx: MockContext, args: MockResourceArgs) -> tuple[str, dict[str, Any]]:
    state, region = _base(ctx, args)
    name = state.get("name") or f"alias/{auto_name(args.name)}"
    state.update(name=name, arn=_arn("kms", region, name), targetKeyArn=_arn("kms", region, f"key/{state.get('targetKeyId', '')}"))
    return name, state


def _ecr_repo(ctx: MockContext, args: MockResourceArgs) -> tuple[str, dict[str, Any]]:
    state, region = _base(ctx, args)
    name = state.get("name") or auto_name(args.name, lower=True)
    state.update(
        name=name,
        arn=_arn("ecr", region, f"repository/{name}"),
        registryId=ACCOUNT_ID,
        repositoryUrl=f"{ACCOUNT_ID}.dkr.ecr.{region}.amazonaws.com/{name}",
    )
    return name, state


def _iam_role(ctx: MockContext, args: MockResourceArgs) -> tuple[str, dict[str, Any]]:
    state, _ = _base(ctx, args)
    name = state.get("name") or auto_name(args.name, max_length=64)
    state.update(name=name, arn=f"arn:aws:iam::{ACCOUNT_ID}:role/{name}", uniqueId="AROA" + short_hash(name, length=17).upper())
    return name, state


def _role_policy(ctx: MockContext, args: MockResourceArgs) -> tuple[str, dict[str, Any]]:
    """An inline role policy: its ID is ``<role name>:<policy name>``, and it has no ARN."""
    state, _ = _base(ctx, args)
    name = state.get("name") or auto_name(args.name, max_length=128)
    state["name"] = name
    return f"{state.get('role', '')}:{name}", state


def _oidc_provider(ctx: MockContext, args: MockResourceArgs) -> tuple[str, dict[str, Any]]:
    state, _ = _base(ctx, args)
    host = str(state.get("url", "")).removeprefix("https://")
    arn = f"arn:aws:iam::{ACCOUNT_ID}:oidc-provider/{host}"
    state["arn"] = arn
    return arn, state


def _eks_cluster(ctx: MockContext, args: MockResourceArgs) -> tuple[str, dict[str, Any]]:
    state, region = _base(ctx, args)
    name = state.get("name") or auto_name(args.name, max_length=100)
    ident = short_hash(name, length=32).upper()
    ca = base64.b64encode(f"-----BEGIN CERTIFICATE-----\nMOCK{ident}\n-----END CERTIFICATE-----\n".encode()).decode()
    vpc = dict(state.get("vpcConfig") or {})
    vpc.update(clusterSecurityGroupId=_hex_id("sg", name + "-cluster"), vpcId=_hex_id("vpc", "network-vpc"))
    state.update(
        name=name,
        arn=_arn("eks", region, f"cluster/{name}"),
        endpoint=f"https://{ident}.gr7.{region}.eks.amazonaws.com",
        certificateAuthority={"data": ca},
        identities=[{"oidcs": [{"issuer": f"https://oidc.eks.{region}.amazonaws.com/id/{ident}"}]}],
        platformVersion="eks.1",
        status="ACTIVE",
        vpcConfig=vpc,
        version=state.get("version") or "1.35",
    )
    return name, state


def _eks_node_group(ctx: MockContext, args: MockResourceArgs) -> tuple[str, dict[str, Any]]:
    state, region = _base(ctx, args)
    name = state.get("nodeGroupName") or auto_name(args.name)
    cluster = state.get("clusterName", "cluster")
    # The node group's UUID ends its ARN and its Auto Scaling group's name (EKS DescribeNodegroup).
    h = short_hash(cluster, name, length=32)
    uuid = f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:32]}"
    state.update(
        nodeGroupName=name,
        arn=_arn("eks", region, f"nodegroup/{cluster}/{name}/{uuid}"),
        status="ACTIVE",
        resources=[{"autoscalingGroups": [{"name": f"eks-{name}-{uuid}"}]}],
    )
    return f"{cluster}:{name}", state


def _named(service: str, kind: str, name_key: str = "name", lower: bool = False) -> Rule:
    def rule(ctx: MockContext, args: MockResourceArgs) -> tuple[str, dict[str, Any]]:
        state, region = _base(ctx, args)
        name = state.get(name_key) or auto_name(args.name, lower=lower)
        state[name_key] = name
        state["arn"] = _arn(service, region, f"{kind}/{name.lower() if service == 'sagemaker' else name}")
        return name, state

    return rule


def _log_group(ctx: MockContext, args: MockResourceArgs) -> tuple[str, dict[str, Any]]:
    state, region = _base(ctx, args)
    name = state.get("name") or auto_name(args.name)
    state.update(name=name, arn=_arn("logs", region, f"log-group:{name}"))
    return name, state


def _launch_template(ctx: MockContext, args: MockResourceArgs) -> tuple[str, dict[str, Any]]:
    state, region = _base(ctx, args)
    id_ = _hex_id("lt", args.name)
    state.update(arn=_arn("ec2", region, f"launch-template/{id_}"), latestVersion=1, defaultVersion=1, name=state.get("name") or auto_name(args.name))
    return id_, state


def _scaling_target(ctx: MockContext, args: MockResourceArgs) -> tuple[str, dict[str, Any]]:
    state, region = _base(ctx, args)
    rid = str(state.get("resourceId", args.name))
    state["arn"] = _arn("application-autoscaling", region, f"scalable-target/{short_hash(rid, length=20)}")
    return rid, state


def _scaling_policy(ctx: MockContext, args: MockResourceArgs) -> tuple[str, dict[str, Any]]:
    state, region = _base(ctx, args)
    name = state.get("name") or auto_name(args.name)
    state.update(name=name, arn=_arn("autoscaling", region, f"scalingPolicy:{short_hash(name)}:resource/{name}"))
    return name, state


def _bucket_child(ctx: MockContext, args: MockResourceArgs) -> tuple[str, dict[str, Any]]:
    state, _ = _base(ctx, args)
    return str(state.get("bucket", args.name)), state


def _rds_instance(ctx: MockContext, args: MockResourceArgs) -> tuple[str, dict[str, Any]]:
    """An RDS instance: identifier, ``address`` (the private DNS name RDS gives a private
    instance), ``endpoint`` (address:port), ARN, resource ID; the password stays as sent."""
    state, region = _base(ctx, args)
    ident = state.get("identifier") or auto_name(args.name, lower=True)
    host = f"{ident}.c{short_hash(ACCOUNT_ID + region, length=12)}.{region}.rds.amazonaws.com"
    port = int(state.get("port") or 5432)
    state.update(
        identifier=ident,
        address=host,
        endpoint=f"{host}:{port}",
        port=port,
        arn=_arn("rds", region, f"db:{ident}"),
        resourceId="db-" + short_hash(ident, length=26).upper(),
        hostedZoneId="Z2R2ITUGPM61AM",
        status="available",
    )
    return ident, state


def _rds_subnet_group(ctx: MockContext, args: MockResourceArgs) -> tuple[str, dict[str, Any]]:
    state, region = _base(ctx, args)
    name = state.get("name") or auto_name(args.name, lower=True)
    state.update(name=name, arn=_arn("rds", region, f"subgrp:{name}"))
    return name, state


def _mlflow_tracking_server(ctx: MockContext, args: MockResourceArgs) -> tuple[str, dict[str, Any]]:
    """A SageMaker MLflow tracking server: its ARN (the tracking URI clients use with the
    sagemaker-mlflow plugin) and its UI URL (``https://t-<id>.<region>.experiments.sagemaker.aws``)."""
    state, region = _base(ctx, args)
    name = state.get("trackingServerName") or auto_name(args.name)
    state.update(
        trackingServerName=name,
        arn=_arn("sagemaker", region, f"mlflow-tracking-server/{name}"),
        trackingServerUrl=f"https://t-{short_hash(name, length=12)}.{region}.experiments.sagemaker.aws",
    )
    return name, state


def default_resource(ctx: MockContext, args: MockResourceArgs) -> tuple[str, dict[str, Any]]:
    state, region = _base(ctx, args)
    id_ = auto_name(args.name)
    service = args.typ.split(":")[1].split("/")[0]
    state.setdefault("arn", _arn(service, region, id_))
    return id_, state


#: Where the AWS API sets the limit: botocore 1.44.8 service models (``botocore/data/<service>/
#: <version>/service-2.json``, the ``max`` of the name shape), read 2026-12-08.
_BOTO = "botocore 1.44.8 {}"

#: How pulumi-aws names a resource whose name input is left out (pulumi-terraform-bridge
#: ``info.AutoName``: ``<logical name>-<7 hex>``, lower-cased where the API only takes lower
#: case) and the longest name the API takes. A name over it is refused, as ``pulumi preview``
#: refuses it, never cut. Each row names the limit's source.
AUTONAMES: dict[str, AutoNameRule] = {
    "aws:s3/bucket:Bucket": AutoNameRule("bucket", 63, lower=True, conflicts=("bucketPrefix",), source="S3 bucket names are 3-63 characters (S3 user guide, bucket naming rules)"),
    "aws:iam/role:Role": AutoNameRule("name", checks.MAX_IAM_ROLE_NAME, conflicts=("namePrefix",), source=checks.IAM_ROLE_NAME_SOURCE),
    "aws:iam/rolePolicy:RolePolicy": AutoNameRule("name", 128, conflicts=("namePrefix",), source=_BOTO.format("iam 2010-05-08 policyNameType max 128")),
    "aws:eks/cluster:Cluster": AutoNameRule("name", 100, source=_BOTO.format("eks 2017-11-01 ClusterName max 100")),
    "aws:eks/nodeGroup:NodeGroup": AutoNameRule("nodeGroupName", checks.MAX_NODE_GROUP_NAME, conflicts=("nodeGroupNamePrefix",), source=checks.NODE_GROUP_NAME_SOURCE),
    "aws:sagemaker/model:Model": AutoNameRule("name", checks.MAX_SAGEMAKER_NAME, source=checks.SAGEMAKER_MODEL_NAME_SOURCE),
    "aws:sagemaker/endpointConfiguration:EndpointConfiguration": AutoNameRule("name", checks.MAX_SAGEMAKER_NAME, conflicts=("namePrefix",), source=checks.SAGEMAKER_CONFIG_NAME_SOURCE),
    "aws:sagemaker/endpoint:Endpoint": AutoNameRule("name", 63, source=_BOTO.format("sagemaker 2017-07-24 EndpointName max 63")),
    "aws:sagemaker/modelPackageGroup:ModelPackageGroup": AutoNameRule("modelPackageGroupName", 63, source=_BOTO.format("sagemaker 2017-07-24 EntityName max 63")),
    "aws:sagemaker/mlflowTrackingServer:MlflowTrackingServer": AutoNameRule("trackingServerName", 256, source=_BOTO.format("sagemaker 2017-07-24 TrackingServerName max 256")),
    "aws:ecr/repository:Repository": AutoNameRule("name", 256, lower=True, source=_BOTO.format("ecr 2015-09-21 RepositoryName max 256")),
    "aws:kms/alias:Alias": AutoNameRule("name", 256, prefix="alias/", conflicts=("namePrefix",), source=_BOTO.format("kms 2014-11-01 AliasNameType max 256")),
    "aws:cloudwatch/logGroup:LogGroup": AutoNameRule("name", 512, conflicts=("namePrefix",), source=_BOTO.format("logs 2014-03-28 LogGroupName max 512")),
    "aws:ec2/launchTemplate:LaunchTemplate": AutoNameRule("name", 128, conflicts=("namePrefix",), source="EC2 CreateLaunchTemplate: LaunchTemplateName 3-128 characters (EC2 API reference)"),
    "aws:ec2/securityGroup:SecurityGroup": AutoNameRule("name", 255, conflicts=("namePrefix",), source="EC2 security group names: up to 255 characters (EC2 user guide)"),
    "aws:rds/instance:Instance": AutoNameRule("identifier", 63, lower=True, conflicts=("identifierPrefix",), source="RDS DB instance identifier: 1-63 letters, digits or hyphens (RDS user guide, naming constraints)"),
    "aws:rds/subnetGroup:SubnetGroup": AutoNameRule("name", 255, lower=True, conflicts=("namePrefix",), source="RDS DB subnet group name: up to 255 characters (RDS API reference)"),
    "aws:appautoscaling/policy:Policy": AutoNameRule("name", 255, source=_BOTO.format("application-autoscaling 2016-02-06 PolicyName max 256; pulumi autoname 255")),
}


RESOURCES: dict[str, Rule] = {
    "aws:ec2/vpc:Vpc": _vpc_like("vpc", "vpc"),
    "aws:ec2/subnet:Subnet": _vpc_like("subnet", "subnet"),
    "aws:ec2/internetGateway:InternetGateway": _vpc_like("igw", "internet-gateway"),
    "aws:ec2/natGateway:NatGateway": _vpc_like("nat", "natgateway"),
    "aws:ec2/eip:Eip": _vpc_like("eipalloc", "elastic-ip"),
    "aws:ec2/routeTable:RouteTable": _vpc_like("rtb", "route-table"),
    "aws:ec2/route:Route": _vpc_like("r-rtb", "route"),
    "aws:ec2/routeTableAssociation:RouteTableAssociation": _vpc_like("rtbassoc", "route-table-association"),
    "aws:ec2/securityGroup:SecurityGroup": _vpc_like("sg", "security-group"),
    "aws:ec2/defaultSecurityGroup:DefaultSecurityGroup": _vpc_like("sg", "security-group"),
    "aws:ec2/vpcEndpoint:VpcEndpoint": _vpc_like("vpce", "vpc-endpoint"),
    "aws:ec2/flowLog:FlowLog": _vpc_like("fl", "vpc-flow-log"),
    "aws:ec2/launchTemplate:LaunchTemplate": _launch_template,
    "aws:s3/bucket:Bucket": _bucket,
    "aws:s3/bucketVersioning:BucketVersioning": _bucket_child,
    "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration": _bucket_child,
    "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock": _bucket_child,
    "aws:s3/bucketOwnershipControls:BucketOwnershipControls": _bucket_child,
    "aws:s3/bucketPolicy:BucketPolicy": _bucket_child,
    "aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration": _bucket_child,
    "aws:s3/bucketLogging:BucketLogging": _bucket_child,
    "aws:s3/bucketReplicationConfig:BucketReplicationConfig": _bucket_child,
    "aws:kms/key:Key": _kms_key,
    "aws:kms/alias:Alias": _kms_alias,
    "aws:ecr/repository:Repository": _ecr_repo,
    "aws:iam/role:Role": _iam_role,
    "aws:iam/rolePolicy:RolePolicy": _role_policy,
    "aws:iam/openIdConnectProvider:OpenIdConnectProvider": _oidc_provider,
    "aws:eks/cluster:Cluster": _eks_cluster,
    "aws:eks/nodeGroup:NodeGroup": _eks_node_group,
    "aws:cloudwatch/logGroup:LogGroup": _log_group,
    "aws:sagemaker/model:Model": _named("sagemaker", "model"),
    "aws:sagemaker/endpointConfiguration:EndpointConfiguration": _named("sagemaker", "endpoint-config"),
    "aws:sagemaker/endpoint:Endpoint": _named("sagemaker", "endpoint"),
    "aws:sagemaker/modelPackageGroup:ModelPackageGroup": _named("sagemaker", "model-package-group", "modelPackageGroupName"),
    "aws:appautoscaling/target:Target": _scaling_target,
    "aws:rds/instance:Instance": _rds_instance,
    "aws:rds/subnetGroup:SubnetGroup": _rds_subnet_group,
    "aws:sagemaker/mlflowTrackingServer:MlflowTrackingServer": _mlflow_tracking_server,
    "aws:appautoscaling/policy:Policy": _scaling_policy,
}


_DIRECTIONS = {"east": "e", "west": "w", "north": "n", "south": "s", "central": "c",
               "northeast": "ne", "northwest": "nw", "southeast": "se", "southwest": "sw"}


def _zone_id_prefix(region: str) -> str:
    """``us-east-1`` -> ``use1``, ``ap-northeast-1`` -> ``apne1``: the prefix of AWS zone IDs."""
    parts = region.split("-")
    if len(parts) != 3:
        return region.replace("-", "")
    return f"{parts[0]}{_DIRECTIONS.get(parts[1], parts[1][:1])}{parts[2]}"


def _zones(ctx: MockContext, args: MockCallArgs) -> dict[str, Any]:
    region = aws_region(ctx, args.provider)
    # As many zones as the catalog knows for the region (not six everywhere, which hid
    # a network.zones larger than the region); at least 2 for regions it does not list.
    info = catalog.zones("aws", region)
    count = max(2, info.count) if info is not None and info.listed else 3
    if ctx.config.get(f"{ctx.project}:regionCheck") == "off":
        # ``regionCheck: off`` says the account has zones the catalog does not list: answer
        # as many as the largest AWS region has, as an account with them would (a real
        # account with fewer is refused by ``network.zone_name`` at apply time).
        largest = catalog.zones("aws", "*")
        count = max(count, largest.count if largest is not None else 6)
    letters = "abcdef"[:count]
    excluded = set(args.args.get("excludeZoneIds") or [])
    zones = [(f"{region}{c}", f"{_zone_id_prefix(region)}-az{i + 1}") for i, c in enumerate(letters)]
    zones = [(n, z) for n, z in zones if z not in excluded]
    return {
        "names": [n for n, _ in zones],
        "zoneIds": [z for _, z in zones],
        "id": region,
        "groupNames": [region],
    }


def _caller(ctx: MockContext, args: MockCallArgs) -> dict[str, Any]:
    return {"accountId": ACCOUNT_ID, "arn": f"arn:aws:iam::{ACCOUNT_ID}:user/offline", "userId": "AIDAOFFLINE", "id": ACCOUNT_ID}


def _partition(ctx: MockContext, args: MockCallArgs) -> dict[str, Any]:
    return {"partition": "aws", "dnsSuffix": "amazonaws.com", "reverseDnsPrefix": "com.amazonaws", "id": "aws"}


def _region(ctx: MockContext, args: MockCallArgs) -> dict[str, Any]:
    region = aws_region(ctx, args.provider)
    return {"name": region, "region": region, "id": region, "endpoint": f"ec2.{region}.amazonaws.com", "description": region}


def _get_cluster(ctx: MockContext, args: MockCallArgs) -> dict[str, Any]:
    name = str(args.args.get("name", "cluster"))
    region = aws_region(ctx, args.provider)
    ident = short_hash(name, length=32).upper()
    return {
        "name": name,
        "id": name,
        "arn": _arn("eks", region, f"cluster/{name}"),
        "endpoint": f"https://{ident}.gr7.{region}.eks.amazonaws.com",
        "status": "ACTIVE",
        "version": "1.35",
        "vpcConfig": {
            "subnetIds": [_hex_id("subnet", f"{name}-{i}") for i in range(3)],
            "vpcId": _hex_id("vpc", name),
            "clusterSecurityGroupId": _hex_id("sg", name),
            "endpointPrivateAccess": True,
            "endpointPublicAccess": False,
            "publicAccessCidrs": [],
            "securityGroupIds": [],
        },
        "identities": [{"oidcs": [{"issuer": f"https://oidc.eks.{region}.amazonaws.com/id/{ident}"}]}],
        "certificateAuthorities": [{"data": base64.b64encode(b"MOCK").decode()}],
        "roleArn": f"arn:aws:iam::{ACCOUNT_ID}:role/{name}-cluster",
        "tags": {},
    }


CALLS: dict[str, Callable[[MockContext, MockCallArgs], dict[str, Any]]] = {
    "aws:index/getAvailabilityZones:getAvailabilityZones": _zones,
    "aws:index/getCallerIdentity:getCallerIdentity": _caller,
    "aws:index/getPartition:getPartition": _partition,
    "aws:index/getRegion:getRegion": _region,
    "aws:eks/getCluster:getCluster": _get_cluster,
}
