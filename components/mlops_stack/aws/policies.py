"""Pure builders for the AWS policy documents and names the components use.

Everything here takes plain strings and returns plain data (or JSON text), so each
document is unit-tested on its own. Least privilege throughout: no ``*`` action, and
``*`` resources only for the read-only/describe calls AWS does not scope by resource.
"""

from __future__ import annotations

import ipaddress
import json
from collections.abc import Sequence
from typing import Any

#: Zone IDs where EKS does not place a control plane: a cluster with a subnet there fails
#: with UnsupportedAvailabilityZoneException (EKS user guide, network-reqs, "Subnet
#: requirements for clusters"). By ID, not name: names map to different IDs per account.
#: The network leaves them out (and Local/Wavelength zones, by zone type); so does preflight.
EKS_UNSUPPORTED_ZONE_IDS = ("use1-az3", "usw1-az2", "cac1-az3")

VERSION = "2012-10-17"

#: Control-plane log types EKS knows; all are enabled.
EKS_LOG_TYPES = ("api", "audit", "authenticator", "controllerManager", "scheduler")

#: Managed policies the EKS service roles need (AWS-managed, by name).
EKS_CLUSTER_POLICIES = ("AmazonEKSClusterPolicy",)
EKS_NODE_POLICIES = ("AmazonEKSWorkerNodePolicy", "AmazonEKS_CNI_Policy", "AmazonEC2ContainerRegistryPullOnly")
EBS_CSI_POLICY = "service-role/AmazonEBSCSIDriverPolicy"
EKS_ADMIN_ACCESS_POLICY = "AmazonEKSClusterAdminPolicy"

#: Interface VPC endpoints the private subnets need (plus the S3 gateway endpoint).
INTERFACE_ENDPOINTS = ("ecr.api", "ecr.dkr", "sts", "sagemaker.runtime")


def dumps(doc: dict[str, Any]) -> str:
    return json.dumps(doc, sort_keys=True, separators=(",", ":"))


def managed_policy_arn(partition: str, name: str) -> str:
    return f"arn:{partition}:iam::aws:policy/{name}"


def assume_role_policy(service: str) -> str:
    return dumps(
        {
            "Version": VERSION,
            "Statement": [{"Effect": "Allow", "Principal": {"Service": service}, "Action": "sts:AssumeRole"}],
        }
    )


def irsa_assume_role_policy(oidc_provider_arn: str, issuer: str, namespace: str, service_account: str) -> str:
    """Trust policy for an IAM role assumed by one Kubernetes service account (IRSA)."""
    host = issuer.removeprefix("https://")
    return dumps(
        {
            "Version": VERSION,
            "Statement": [
                {
                    "Effect": "Allow",
                    "Principal": {"Federated": oidc_provider_arn},
                    "Action": "sts:AssumeRoleWithWebIdentity",
                    "Condition": {
                        "StringEquals": {
                            f"{host}:sub": f"system:serviceaccount:{namespace}:{service_account}",
                            f"{host}:aud": "sts.amazonaws.com",
                        }
                    },
                }
            ],
        }
    )


def service_assume_role_policy(service: str, account_id: str, *, if_exists: bool = False) -> str:
    """Trust policy for an AWS service acting for this account only (``aws:SourceAccount``
    guards against the confused deputy). ``if_exists``: for a service not documented to
    send the key (an absent key would make ``StringEquals`` deny the AssumeRole), a
    request that carries it must still name this account."""
    operator = "StringEqualsIfExists" if if_exists else "StringEquals"
    return dumps(
        {
            "Version": VERSION,
            "Statement": [
                {
                    "Effect": "Allow",
                    "Principal": {"Service": service},
                    "Action": "sts:AssumeRole",
                    "Condition": {operator: {"aws:SourceAccount": account_id}},
                }
            ],
        }
    )


def flow_log_delivery_policy(log_group_arn: str) -> str:
    """What VPC Flow Logs may do to deliver into one log group (AWS VPC user guide,
    "IAM role for publishing flow logs to CloudWatch Logs"), scoped to that group."""
    return dumps(
        {
            "Version": VERSION,
            "Statement": [
                {
                    "Sid": "DeliverFlowLogs",
                    "Effect": "Allow",
                    "Action": ["logs:CreateLogStream", "logs:PutLogEvents", "logs:DescribeLogGroups", "logs:DescribeLogStreams"],
                    "Resource": [log_group_arn, f"{log_group_arn}:*"],
                }
            ],
        }
    )


def autoscaling_role_arn(account_id: str, partition: str) -> str:
    return f"arn:{partition}:iam::{account_id}:role/aws-service-role/autoscaling.amazonaws.com/AWSServiceRoleForAutoScaling"


def autoscaling_role_condition(account_id: str, partition: str) -> dict[str, Any]:
    """Only the EC2 Auto Scaling service-linked role of this account (by ARN, at request time)."""
    return {"StringEquals": {"kms:CallerAccount": account_id}, "ArnEquals": {"aws:PrincipalArn": autoscaling_role_arn(account_id, partition)}}


def ebs_csi_kms_policy(key_arn: str) -> str:
    """What the EBS CSI driver needs to create volumes encrypted with the stack key (the
    managed AmazonEBSCSIDriverPolicy covers no customer-managed key)."""
    return dumps(
        {
            "Version": VERSION,
            "Statement": [
                {
                    "Sid": "GrantsForVolumes",
                    "Effect": "Allow",
                    "Action": ["kms:CreateGrant", "kms:ListGrants", "kms:RevokeGrant"],
                    "Resource": key_arn,
                    "Condition": {"Bool": {"kms:GrantIsForAWSResource": "true"}},
                },
                {
                    "Sid": "UseStackKey",
                    "Effect": "Allow",
                    "Action": ["kms:Encrypt", "kms:Decrypt", "kms:ReEncrypt*", "kms:GenerateDataKey*", "kms:DescribeKey"],
                    "Resource": key_arn,
                },
            ],
        }
    )


def cluster_autoscaler_policy(cluster_name: str, *, partition: str, region: str, account_id: str) -> str:
    """Cluster Autoscaler on EKS: read what AWS only lets it read account-wide, read only
    this cluster's managed node groups (``eks:DescribeNodegroup``, for the labels and taints
    of a group at zero nodes), and change only the Auto Scaling groups of this cluster (EKS
    tags a managed node group's ASG with ``k8s.io/cluster-autoscaler/<cluster>: owned``).
    Actions from kubernetes/autoscaler cluster-autoscaler/cloudprovider/aws/README.md."""
    return dumps(
        {
            "Version": VERSION,
            "Statement": [
                {
                    "Sid": "Discover",
                    "Effect": "Allow",
                    "Action": [
                        "autoscaling:DescribeAutoScalingGroups",
                        "autoscaling:DescribeAutoScalingInstances",
                        "autoscaling:DescribeLaunchConfigurations",
                        "autoscaling:DescribeScalingActivities",
                        "autoscaling:DescribeTags",
                        "ec2:DescribeImages",
                        "ec2:DescribeInstanceTypes",
                        "ec2:DescribeLaunchTemplateVersions",
                        "ec2:GetInstanceTypesFromInstanceRequirements",
                    ],
                    # These Describe/Get calls support no resource-level permissions in IAM.
                    "Resource": "*",
                },
                {
                    "Sid": "DescribeOwnNodegroups",
                    "Effect": "Allow",
                    "Action": "eks:DescribeNodegroup",
                    "Resource": f"arn:{partition}:eks:{region}:{account_id}:nodegroup/{cluster_name}/*/*",
                },
                {
                    "Sid": "ScaleOwnGroups",
                    "Effect": "Allow",
                    "Action": ["autoscaling:SetDesiredCapacity", "autoscaling:TerminateInstanceInAutoScalingGroup"],
                    "Resource": "*",
                    "Condition": {"StringEquals": {f"aws:ResourceTag/k8s.io/cluster-autoscaler/{cluster_name}": "owned"}},
                },
            ],
        }
    )


def kms_key_policy(account_id: str, partition: str, region: str) -> str:
    """The account administers the key (AWS's default statement); CloudWatch Logs may use
    it only for this account's log groups."""
    return dumps(
        {
            "Version": VERSION,
            "Statement": [
                {
                    "Sid": "AccountAdministers",
                    "Effect": "Allow",
                    "Principal": {"AWS": f"arn:{partition}:iam::{account_id}:root"},
                    "Action": "kms:*",
                    "Resource": "*",
                },
                {
                    # EC2 Auto Scaling launches the node groups' instances with root volumes
                    # encrypted by this key; its service-linked role needs the key and grants
                    # (AWS EC2 Auto Scaling guide, "Required AWS KMS key policy for use with
                    # encrypted volumes"). The role is matched by condition, not named as the
                    # principal: KMS CreateKey refuses a policy whose principal does not exist,
                    # and AWS creates this role only with the account's first Auto Scaling
                    # group (the stack's own node groups), after the key.
                    "Sid": "AutoScalingUsesKey",
                    "Effect": "Allow",
                    "Principal": {"AWS": "*"},
                    "Action": ["kms:Encrypt", "kms:Decrypt", "kms:ReEncrypt*", "kms:GenerateDataKey*", "kms:DescribeKey"],
                    "Resource": "*",
                    "Condition": autoscaling_role_condition(account_id, partition),
                },
                {
                    "Sid": "AutoScalingGrants",
                    "Effect": "Allow",
                    "Principal": {"AWS": "*"},
                    "Action": "kms:CreateGrant",
                    "Resource": "*",
                    "Condition": {**autoscaling_role_condition(account_id, partition), "Bool": {"kms:GrantIsForAWSResource": "true"}},
                },
                {
                    "Sid": "CloudWatchLogsEncrypt",
                    "Effect": "Allow",
                    "Principal": {"Service": f"logs.{region}.amazonaws.com"},
                    "Action": ["kms:Encrypt*", "kms:Decrypt*", "kms:ReEncrypt*", "kms:GenerateDataKey*", "kms:Describe*"],
                    "Resource": "*",
                    "Condition": {
                        "ArnLike": {"kms:EncryptionContext:aws:logs:arn": f"arn:{partition}:logs:{region}:{account_id}:log-group:*"}
                    },
                },
            ],
        }
    )


def tls_only_statement(bucket_arn: str) -> dict[str, Any]:
    return {
        "Sid": "DenyInsecureTransport",
        "Effect": "Deny",
        "Principal": "*",
        "Action": "s3:*",
        "Resource": [bucket_arn, f"{bucket_arn}/*"],
        "Condition": {"Bool": {"aws:SecureTransport": "false"}},
    }


def bucket_policy(bucket_arn: str) -> str:
    """Deny any request not made over TLS."""
    return dumps({"Version": VERSION, "Statement": [tls_only_statement(bucket_arn)]})


def log_bucket_policy(log_bucket_arn: str, account_id: str, partition: str) -> str:
    """TLS only, and S3 server access logging from this account's buckets may write."""
    return dumps(
        {
            "Version": VERSION,
            "Statement": [
                tls_only_statement(log_bucket_arn),
                {
                    "Sid": "S3ServerAccessLogs",
                    "Effect": "Allow",
                    "Principal": {"Service": "logging.s3.amazonaws.com"},
                    "Action": "s3:PutObject",
                    "Resource": f"{log_bucket_arn}/*",
                    "Condition": {
                        "StringEquals": {"aws:SourceAccount": account_id},
                        "ArnLike": {"aws:SourceArn": f"arn:{partition}:s3:::*"},
                    },
                },
            ],
        }
    )


def ecr_lifecycle_policy(untagged_days: int) -> str:
    return dumps(
        {
            "rules": [
                {
                    "rulePriority": 1,
                    "description": f"Expire untagged images after {untagged_days} days",
                    "selection": {
                        "tagStatus": "untagged",
                        "countType": "sinceImagePushed",
                        "countUnit": "days",
                        "countNumber": untagged_days,
                    },
                    "action": {"type": "expire"},
                }
            ]
        }
    )


def model_prefix(key: str) -> str:
    """The prefix an endpoint may read: the artifact's folder (``a/b/model.tar.gz`` -> ``a/b/``)."""
    return key.rsplit("/", 1)[0] + "/" if "/" in key else key


def endpoint_execution_policy(
    *,
    partition: str,
    region: str,
    account_id: str,
    bucket_arn: str,
    model_key: str,
    key_arn: str | None,
    capture_bucket_arn: str | None,
    capture_prefix: str | None,
    vpc: bool,
    vpc_id: str | None = None,
    subnet_ids: Sequence[str] | None = None,
) -> str:
    """What a SageMaker endpoint's execution role may do, and nothing more:
    read its model's prefix, decrypt with the stack key, pull images, write its logs
    and metrics, write data capture to its own prefix, and attach to the stack's VPC
    (network interfaces only in its private subnets: ``vpc_access_statements``)."""
    prefix = model_prefix(model_key)
    statements: list[dict[str, Any]] = [
        {"Sid": "ReadModelArtifact", "Effect": "Allow", "Action": "s3:GetObject", "Resource": f"{bucket_arn}/{prefix}*"},
        {
            "Sid": "ListModelPrefix",
            "Effect": "Allow",
            "Action": "s3:ListBucket",
            "Resource": bucket_arn,
            "Condition": {"StringLike": {"s3:prefix": [f"{prefix}*"]}},
        },
        {
            "Sid": "PullImages",
            "Effect": "Allow",
            "Action": ["ecr:BatchCheckLayerAvailability", "ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer"],
            "Resource": f"arn:{partition}:ecr:{region}:*:repository/*",
        },
        # GetAuthorizationToken is not resource-scoped by AWS.
        {"Sid": "EcrAuth", "Effect": "Allow", "Action": "ecr:GetAuthorizationToken", "Resource": "*"},
        {
            "Sid": "EndpointLogs",
            "Effect": "Allow",
            "Action": ["logs:CreateLogGroup", "logs:CreateLogStream", "logs:PutLogEvents", "logs:DescribeLogStreams"],
            "Resource": f"arn:{partition}:logs:{region}:{account_id}:log-group:/aws/sagemaker/*",
        },
        {
            "Sid": "EndpointMetrics",
            "Effect": "Allow",
            "Action": "cloudwatch:PutMetricData",
            "Resource": "*",
            "Condition": {"StringLike": {"cloudwatch:namespace": ["/aws/sagemaker/*", "AWS/SageMaker*"]}},
        },
    ]
    if key_arn:
        statements.append(
            {"Sid": "UseStackKey", "Effect": "Allow", "Action": ["kms:Decrypt", "kms:GenerateDataKey", "kms:DescribeKey"], "Resource": key_arn}
        )
    if capture_bucket_arn and capture_prefix:
        statements.append(
            {
                "Sid": "WriteDataCapture",
                "Effect": "Allow",
                "Action": "s3:PutObject",
                "Resource": f"{capture_bucket_arn}/{capture_prefix}*",
            }
        )
    if vpc:
        statements.extend(vpc_access_statements(partition, region, account_id, vpc_id or "", list(subnet_ids or ())))
    return dumps({"Version": VERSION, "Statement": statements})


#: The network-interface calls SageMaker makes with the execution role to attach an
#: endpoint to a VPC (SageMaker developer guide, "Give SageMaker AI hosted endpoints
#: access to resources in your Amazon VPC").
ENI_ACTIONS = (
    "ec2:CreateNetworkInterface",
    "ec2:CreateNetworkInterfacePermission",
    "ec2:DeleteNetworkInterface",
    "ec2:DeleteNetworkInterfacePermission",
)


def vpc_access_statements(partition: str, region: str, account_id: str, vpc_id: str, subnet_ids: list[str]) -> list[dict[str, Any]]:
    """Network-interface rights limited to one VPC and its listed subnets.

    The ENI calls are authorised per resource they touch: the network interface (which
    carries the ``ec2:Vpc`` and ``ec2:Subnet`` condition keys), the subnet it is created
    in and the security groups it gets. So: interfaces only with both conditions, the
    subnet only by its ARN, security groups only inside the VPC (``ec2:Vpc``). The
    describe calls are not resource-scoped by EC2 and stay on ``*``.
    """
    vpc_arn = f"arn:{partition}:ec2:{region}:{account_id}:vpc/{vpc_id}"
    subnet_arns = [f"arn:{partition}:ec2:{region}:{account_id}:subnet/{s}" for s in subnet_ids]
    return [
        {
            "Sid": "NetworkInterfacesInStackSubnets",
            "Effect": "Allow",
            "Action": list(ENI_ACTIONS),
            "Resource": f"arn:{partition}:ec2:{region}:{account_id}:network-interface/*",
            "Condition": {"ArnEquals": {"ec2:Vpc": vpc_arn, "ec2:Subnet": subnet_arns}},
        },
        {"Sid": "CreateInStackSubnets", "Effect": "Allow", "Action": "ec2:CreateNetworkInterface", "Resource": subnet_arns},
        {
            "Sid": "SecurityGroupsInStackVpc",
            "Effect": "Allow",
            "Action": "ec2:CreateNetworkInterface",
            "Resource": f"arn:{partition}:ec2:{region}:{account_id}:security-group/*",
            "Condition": {"ArnEquals": {"ec2:Vpc": vpc_arn}},
        },
        {
            "Sid": "DescribeNetwork",
            "Effect": "Allow",
            "Action": [
                "ec2:DescribeNetworkInterfaces",
                "ec2:DescribeVpcs",
                "ec2:DescribeDhcpOptions",
                "ec2:DescribeSubnets",
                "ec2:DescribeSecurityGroups",
            ],
            # EC2 does not scope describe calls by resource.
            "Resource": "*",
        },
    ]


def subnet_plan(cidr: str, zones: int) -> tuple[list[str], list[str]]:
    """Carve the VPC range: one large private subnet per zone (a quarter of the range
    each, room for pods on the VPC CNI) and small public subnets from the last quarter."""
    net = ipaddress.IPv4Network(cidr)
    quarters = list(net.subnets(prefixlen_diff=2))
    if zones > 3:
        # More than three zones: eighths for private subnets, the last eighth for public.
        quarters = list(net.subnets(prefixlen_diff=3))
    private = [str(s) for s in quarters[:zones]]
    public_pool = quarters[-1]
    public = [str(s) for s in list(public_pool.subnets(prefixlen_diff=3))[:zones]]
    return private, public


def kubeconfig(cluster_name: str, endpoint: str, ca_data: str, region: str) -> str:
    """A kubeconfig that authenticates with ``aws eks get-token`` (no static credentials)."""
    doc = {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [{"name": cluster_name, "cluster": {"server": endpoint, "certificate-authority-data": ca_data}}],
        "contexts": [{"name": cluster_name, "context": {"cluster": cluster_name, "user": cluster_name}}],
        "current-context": cluster_name,
        "users": [
            {
                "name": cluster_name,
                "user": {
                    "exec": {
                        "apiVersion": "client.authentication.k8s.io/v1beta1",
                        "command": "aws",
                        "args": ["eks", "get-token", "--cluster-name", cluster_name, "--region", region, "--output", "json"],
                        "interactiveMode": "Never",
                    }
                },
            }
        ],
    }
    return json.dumps(doc, sort_keys=True)


def cidrs(values: Sequence[Any]) -> list[str]:
    return [str(v) for v in values]


#: What automatic model registration does with the tracking server's role: create a model
#: package group per registered MLflow model and a package per version (SageMaker developer
#: guide, "Set up IAM permissions for MLflow", automatic model registration).
MLFLOW_MODEL_REGISTRATION_ACTIONS = (
    "sagemaker:AddTags",
    "sagemaker:CreateModelPackageGroup",
    "sagemaker:CreateModelPackage",
    "sagemaker:DescribeModelPackageGroup",
    "sagemaker:UpdateModelPackage",
)


def tracking_server_policy(
    *, partition: str, region: str, account_id: str, bucket_arn: str, prefix: str, key_arn: str | None, model_registration: bool
) -> str:
    """What a SageMaker MLflow tracking server's role may do, and nothing more: read,
    write and delete objects under ``prefix`` of one bucket (list only that prefix), use
    the stack key, and (with automatic model registration) create model package groups
    and versions in this account and region."""
    statements: list[dict[str, Any]] = [
        {
            "Sid": "ArtifactsUnderPrefix",
            "Effect": "Allow",
            "Action": ["s3:GetObject", "s3:PutObject", "s3:DeleteObject", "s3:AbortMultipartUpload"],
            "Resource": f"{bucket_arn}/{prefix}*",
        },
        {
            "Sid": "ListArtifactsPrefix",
            "Effect": "Allow",
            "Action": "s3:ListBucket",
            "Resource": bucket_arn,
            "Condition": {"StringLike": {"s3:prefix": [f"{prefix}*"]}},
        },
        # The service checks the bucket's region before it starts (bucket metadata only).
        {"Sid": "BucketLocation", "Effect": "Allow", "Action": "s3:GetBucketLocation", "Resource": bucket_arn},
    ]
    if key_arn:
        statements.append(
            {"Sid": "UseStackKey", "Effect": "Allow", "Action": ["kms:Decrypt", "kms:GenerateDataKey", "kms:DescribeKey"], "Resource": key_arn}
        )
    if model_registration:
        statements.append(
            {
                "Sid": "AutomaticModelRegistration",
                "Effect": "Allow",
                "Action": list(MLFLOW_MODEL_REGISTRATION_ACTIONS),
                "Resource": [
                    f"arn:{partition}:sagemaker:{region}:{account_id}:model-package-group/*",
                    f"arn:{partition}:sagemaker:{region}:{account_id}:model-package/*",
                ],
            }
        )
    return dumps({"Version": VERSION, "Statement": statements})


def mlflow_user_policy(*, server_arn: str, bucket_arn: str, prefix: str, key_arn: str | None, region: str) -> str:
    """What a person or job needs to use the managed MLflow with the ``sagemaker-mlflow``
    plugin, which calls the tracking server's API and reads and writes the run artifacts in
    S3 with the caller's own credentials: the server's MLflow API and presigned UI URL, the
    tracking prefix of one bucket, and the stack key only through S3 in the region."""
    statements: list[dict[str, Any]] = [
        {"Sid": "MlflowApi", "Effect": "Allow", "Action": "sagemaker-mlflow:*", "Resource": server_arn},
        {
            "Sid": "MlflowServer",
            "Effect": "Allow",
            "Action": ["sagemaker:DescribeMlflowTrackingServer", "sagemaker:CreatePresignedMlflowTrackingServerUrl"],
            "Resource": server_arn,
        },
        {"Sid": "ArtifactsUnderPrefix", "Effect": "Allow", "Action": ["s3:GetObject", "s3:PutObject"], "Resource": f"{bucket_arn}/{prefix}*"},
        {
            "Sid": "ListArtifactsPrefix",
            "Effect": "Allow",
            "Action": "s3:ListBucket",
            "Resource": bucket_arn,
            "Condition": {"StringLike": {"s3:prefix": [f"{prefix}*"]}},
        },
    ]
    if key_arn:
        statements.append(
            {
                "Sid": "StackKeyThroughS3",
                "Effect": "Allow",
                "Action": ["kms:Decrypt", "kms:GenerateDataKey"],
                "Resource": key_arn,
                "Condition": {"StringEquals": {"kms:ViaService": f"s3.{region}.amazonaws.com"}},
            }
        )
    return dumps({"Version": VERSION, "Statement": statements})


def rds_windows(weekly_start: str) -> tuple[str, str]:
    """``(maintenance window, backup window)`` in RDS's formats for a weekly start such as
    ``Sun:03:00``: maintenance ``sun:03:00-sun:03:30``; the daily backup window is the
    half hour ending one hour before it (``01:30-02:00``), so the two never overlap."""
    day, hour, minute = weekly_start.split(":")
    start = int(hour) * 60 + int(minute)
    end = start + 30
    days = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
    d = days.index(day.lower())
    end_day = days[(d + end // 1440) % 7]
    maintenance = f"{days[d]}:{start // 60:02d}:{start % 60:02d}-{end_day}:{(end % 1440) // 60:02d}:{end % 60:02d}"
    b_end = (start - 60) % 1440
    b_start = (b_end - 30) % 1440
    if b_start > b_end:  # would cross midnight: the half hour before 23:30 instead
        b_start, b_end = 23 * 60, 23 * 60 + 30
    backup = f"{b_start // 60:02d}:{b_start % 60:02d}-{b_end // 60:02d}:{b_end % 60:02d}"
    return maintenance, backup
