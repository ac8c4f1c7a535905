"""Every rule: at least one resource (or stack) that passes and one that fails, as pure functions."""

from __future__ import annotations

import json
from dataclasses import replace
from typing import Any

import pytest
from helpers import DEV, PROD, TAGS, res
from mlops_policies import RULES, UNKNOWN
from mlops_policies.config import with_defaults
from mlops_policies.model import Ctx, Res, Rule

B = "aws:s3/bucket:Bucket"
RDS = "aws:rds/instance:Instance"
SQL = "gcp:sql/databaseInstance:DatabaseInstance"
AZPG = "azure-native:dbforpostgresql:Server"
SVC = "kubernetes:core/v1:Service"
BURN = f"urn:pulumi:test::mlops-stack::{B}::art"


def bucket(**kw: Any) -> Res:
    return res(B, "art", tags=TAGS, **kw)


def sub(type_: str, name: str, **props: Any) -> Res:
    return res(type_, name, property_dependencies={"bucket": [BURN]}, dependencies=[BURN], **props)


LOG_URN = f"urn:pulumi:test::mlops-stack::{B}::logs"
LOG_TARGET_CASE = [
    res(B, "logs", tags=TAGS),
    res("aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration", "logs-sse",
        property_dependencies={"bucket": [LOG_URN]}, rules=[{"applyServerSideEncryptionByDefault": {"sseAlgorithm": "AES256"}}]),
    res("aws:s3/bucketLogging:BucketLogging", "art-logging", property_dependencies={"bucket": [BURN], "targetBucket": [LOG_URN]}),
]
GOOD_POLICY = json.dumps({"Statement": [{"Effect": "Deny", "Principal": "*", "Action": "s3:*",
                                         "Resource": ["arn:aws:s3:::art", "arn:aws:s3:::art/*"],
                                         "Condition": {"Bool": {"aws:SecureTransport": "false"}}}]})
ADMIN = json.dumps({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]})
SCOPED = json.dumps({"Statement": [{"Effect": "Allow", "Action": ["s3:GetObject"], "Resource": "arn:aws:s3:::art/*"}]})
PUBLIC_REPO_POLICY = json.dumps({"Statement": [{"Effect": "Allow", "Principal": "*", "Action": "ecr:BatchGetImage"}]})
ORG_REPO_POLICY = json.dumps({"Statement": [{"Effect": "Allow", "Principal": "*", "Action": "ecr:BatchGetImage",
                                             "Condition": {"StringEquals": {"aws:PrincipalOrgID": "o-1"}}}]})

ENI_OPEN = json.dumps({"Statement": [{"Effect": "Allow", "Action": ["ec2:CreateNetworkInterface", "ec2:DeleteNetworkInterface"],
                                       "Resource": "*"}]})
ENI_SCOPED = json.dumps({"Statement": [{"Effect": "Allow", "Action": ["ec2:CreateNetworkInterface", "ec2:DeleteNetworkInterface"],
                                         "Resource": "arn:aws:ec2:us-east-1:1:network-interface/*",
                                         "Condition": {"ArnEquals": {"ec2:Vpc": "arn:aws:ec2:us-east-1:1:vpc/vpc-1"}}},
                                        {"Effect": "Allow", "Action": "ec2:DescribeNetworkInterfaces", "Resource": "*"}]})
REPL = "aws:s3/bucketReplicationConfig:BucketReplicationConfig"
GOOD_REPL_RULE = {"id": "all", "status": "Enabled", "filter": {"prefix": ""}, "deleteMarkerReplication": {"status": "Enabled"},
                  "sourceSelectionCriteria": {"sseKmsEncryptedObjects": {"status": "Enabled"}},
                  "destination": {"bucket": "arn:aws:s3:::rep", "encryptionConfiguration": {"replicaKmsKeyId": "arn:k2"}}}
GCS = "gcp:storage/bucket:Bucket"
VPC = "aws:ec2/vpc:Vpc"
VPC_URN = f"urn:pulumi:test::mlops-stack::{VPC}::vpc"
FLOW = "aws:ec2/flowLog:FlowLog"
EKS = "aws:eks/cluster:Cluster"
NG = "aws:eks/nodeGroup:NodeGroup"
GKE = "gcp:container/cluster:Cluster"
GKEPOOL = "gcp:container/nodePool:NodePool"
AKS = "azure-native:containerservice:ManagedCluster"
AKSPOOL = "azure-native:containerservice:AgentPool"
SMCFG = "aws:sagemaker/endpointConfiguration:EndpointConfiguration"
BINAUTHZ = "gcp:binaryauthorization/policy:Policy"
AR = "gcp:artifactregistry/repository:Repository"
SERVICE = "gcp:projects/service:Service"
NET = "gcp:compute/network:Network"
NET_URN = f"urn:pulumi:test::mlops-stack::{NET}::vpc"
FW = "gcp:compute/firewall:Firewall"
ACR = "azure-native:containerregistry:Registry"
PRICING = "azure-native:security:Pricing"
DEP = "kubernetes:apps/v1:Deployment"

GPU_TAINT = [{"key": "nvidia.com/gpu", "value": "present", "effect": "NO_SCHEDULE"}]
GOOD_NG = dict(instanceTypes=["g6.xlarge"], taints=GPU_TAINT, scalingConfig={"minSize": 0, "maxSize": 4, "desiredSize": 0},
               capacityType="ON_DEMAND", labels={"mlops-stack/workload": "serving"})
GOOD_GKE_NC = {"machineType": "g2-standard-8", "guestAccelerators": [{"type": "nvidia-l4", "count": 1}],
               "taints": GPU_TAINT, "workloadMetadataConfig": {"mode": "GKE_METADATA"},
               "serviceAccount": "nodes@p.iam.gserviceaccount.com", "labels": {"mlops-stack/workload": "serving"}}
GOOD_AKSPOOL = dict(vmSize="Standard_NC4as_T4_v3", nodeTaints=["nvidia.com/gpu=present:NoSchedule"],
                    enableAutoScaling=True, minCount=0, maxCount=3, nodeLabels={"mlops-stack/workload": "serving"})


def container(**kw: Any) -> dict[str, Any]:
    c = {"name": "app", "image": "nginx:1.27.0",
         "resources": {"requests": {"cpu": "100m", "memory": "64Mi"}, "limits": {"memory": "64Mi"}}}
    c.update(kw)
    return c


def deployment(*containers: dict[str, Any]) -> Res:
    return res(DEP, "web", spec={"template": {"spec": {"containers": list(containers)}}})


ISVC = "kubernetes:serving.kserve.io/v1beta1:InferenceService"
GPU_TOL = [{"key": "nvidia.com/gpu", "operator": "Exists", "effect": "NoSchedule"}]
SERVE_RES = {"requests": {"cpu": "3", "memory": "12Gi", "nvidia.com/gpu": "1"}, "limits": {"cpu": "3", "memory": "12Gi", "nvidia.com/gpu": "1"}}
INFER_NG = {**GOOD_NG, "labels": {"mlops-stack/pool": "infer"}}


def isvc(resources: Any = None, **predictor: Any) -> Res:
    """A cluster endpoint as the stack plans it, with ``predictor`` keys replaced."""
    spec = {"model": {"modelFormat": {"name": "sklearn"}, "storageUri": "s3://b/m/",
                      "resources": SERVE_RES if resources is None else resources},
            "tolerations": GPU_TOL, "nodeSelector": {"mlops-stack/pool": "infer"}, "minReplicas": 1, "maxReplicas": 2}
    spec.update(predictor)
    return res(ISVC, "sentiment", spec={"predictor": {k: v for k, v in spec.items() if v is not None}})


def kserve_service(**spec: Any) -> Res:
    return res("kubernetes:core/v1:Service", "exposed", spec={"selector": {"serving.kserve.io/inferenceservice": "sentiment"}, **spec})


CPU_RES = {"requests": {"cpu": "1", "memory": "2Gi"}, "limits": {"cpu": "1", "memory": "2Gi"}}


# rule name -> (ctx, passing cases, failing cases); a case is a Res (resource rule) or list[Res] (stack rule)

# ---- workload identity
EKS_ISSUER = "oidc.eks.us-east-1.amazonaws.com/id/ABC"
OIDC_ARN = f"arn:aws:iam::1:oidc-provider/{EKS_ISSUER}"


def irsa_trust(condition: Any) -> str:
    stmt: dict[str, Any] = {"Effect": "Allow", "Principal": {"Federated": OIDC_ARN}, "Action": "sts:AssumeRoleWithWebIdentity"}
    if condition is not None:
        stmt["Condition"] = condition
    return json.dumps({"Version": "2012-10-17", "Statement": [stmt]})


IRSA_ONE = irsa_trust({"StringEquals": {f"{EKS_ISSUER}:sub": "system:serviceaccount:mlflow:mlflow", f"{EKS_ISSUER}:aud": "sts.amazonaws.com"}})
GITHUB_TRUST = json.dumps({"Statement": [{"Effect": "Allow", "Principal": {"Federated": "arn:aws:iam::1:oidc-provider/token.actions.githubusercontent.com"},
                                          "Action": "sts:AssumeRoleWithWebIdentity",
                                          "Condition": {"StringLike": {"token.actions.githubusercontent.com:sub": "repo:o/r:*"}}}]})
ROLE_URN = "urn:pulumi:test::mlops-stack::aws:iam/role:Role::wi-role"
SCOPED_S3 = json.dumps({"Statement": [
    {"Effect": "Allow", "Action": ["s3:GetObject", "s3:PutObject"], "Resource": "arn:aws:s3:::art/mlflow/*"},
    {"Effect": "Allow", "Action": "s3:ListBucket", "Resource": "arn:aws:s3:::art", "Condition": {"StringLike": {"s3:prefix": ["mlflow/*"]}}},
    {"Effect": "Allow", "Action": "kms:Decrypt", "Resource": "arn:aws:kms:us-east-1:1:key/k"}]})


def wi_role(trust: str = IRSA_ONE) -> Res:
    return res("aws:iam/role:Role", "wi-role", assumeRolePolicy=trust)


def wi_policy(document: str, **kw: Any) -> Res:
    return res("aws:iam/rolePolicy:RolePolicy", "wi-policy", policy=document, property_dependencies={"role": [ROLE_URN]}, **kw)


GSA = "gcp:serviceaccount/account:Account"
GSA_URN = f"urn:pulumi:test::mlops-stack::{GSA}::wi-sa"
WIU = "roles/iam.workloadIdentityUser"
GKE_WI_MEMBER = "serviceAccount:p.svc.id.goog[mlflow/mlflow]"
GCS_PREFIX_CONDITION = {"title": "t", "expression": 'resource.name.startsWith("projects/_/buckets/art/objects/mlflow/")'
                        ' || api.getAttribute("storage.googleapis.com/objectListPrefix", "").startsWith("mlflow/")'}


def gcp_wi(binding: Res) -> list[Res]:
    return [res(GSA, "wi-sa", accountId="mlops-dev-mlflow-abc123"),
            res("gcp:serviceaccount/iAMMember:IAMMember", "wi-trust", role=WIU, member=GKE_WI_MEMBER, serviceAccountId="projects/p/serviceAccounts/x",
                property_dependencies={"serviceAccountId": [GSA_URN]}),
            binding]


def gcs_grant(**kw: Any) -> Res:
    return res("gcp:storage/bucketIAMMember:BucketIAMMember", "wi-grant", bucket="art", role="roles/storage.objectViewer",
               member="serviceAccount:mlops-dev-mlflow-abc123@p.iam.gserviceaccount.com", property_dependencies={"member": [GSA_URN]}, **kw)


UAI = "azure-native:managedidentity:UserAssignedIdentity"
UAI_URN = f"urn:pulumi:test::mlops-stack::{UAI}::wi-identity"
FIC = "azure-native:managedidentity:FederatedIdentityCredential"
BLOB_READER = "/subscriptions/s/providers/Microsoft.Authorization/roleDefinitions/2a2b9908-6ea1-4ae2-8e65-a410df84e7d1"
_BLOBS = "Microsoft.Storage/storageAccounts/blobServices/containers/blobs"
AZ_PREFIX_CONDITION = (f"((!(ActionMatches{{'{_BLOBS}/read'}} AND NOT SubOperationMatches{{'Blob.List'}})) OR (@Resource[{_BLOBS}:path] StringStartsWith 'm/'))"
                       f" AND ((!(ActionMatches{{'{_BLOBS}/read'}} AND SubOperationMatches{{'Blob.List'}})) OR (@Request[{_BLOBS}:prefix] StringStartsWith 'm/'))")


def az_wi(**assignment: Any) -> list[Res]:
    return [res(UAI, "wi-identity", resourceGroupName="rg"),
            res(FIC, "wi-federation", subject="system:serviceaccount:mlflow:mlflow", audiences=["api://AzureADTokenExchange"],
                property_dependencies={"resourceName": [UAI_URN]}),
            res("azure-native:authorization:RoleAssignment", "wi-read", principalType="ServicePrincipal", roleDefinitionId=BLOB_READER,
                scope="/subscriptions/s/containers/models", property_dependencies={"principalId": [UAI_URN]}, **assignment)]


CASES: dict[str, tuple[Ctx, list[Any], list[Any]]] = {
    # ---- AWS
    "aws-s3-no-public-acl": (DEV, [bucket(), res("aws:s3/bucketAcl:BucketAcl", acl="private")],
                             [bucket(acl="public-read"), res("aws:s3/bucketAcl:BucketAcl", acl="public-read-write")]),
    "aws-s3-public-access-block": (DEV, [[bucket(), sub("aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock", "pab",
                                                         blockPublicAcls=True, blockPublicPolicy=True,
                                                         ignorePublicAcls=True, restrictPublicBuckets=True)]],
                                   [[bucket()], [bucket(), sub("aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock",
                                                               "pab", blockPublicAcls=True, blockPublicPolicy=False,
                                                               ignorePublicAcls=True, restrictPublicBuckets=True)]]),
    "aws-s3-kms-encryption": (DEV, [LOG_TARGET_CASE, [bucket(), sub("aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration",
                                                   "sse", rules=[{"applyServerSideEncryptionByDefault": {
                                                       "sseAlgorithm": "aws:kms", "kmsMasterKeyId": "arn:aws:kms:k"}}])]],
                              [[bucket()], [bucket(), sub("aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration",
                                                          "sse", rules=[{"applyServerSideEncryptionByDefault": {"sseAlgorithm": "AES256"}}])]]),
    "aws-s3-versioning": (DEV, [[bucket(), sub("aws:s3/bucketVersioning:BucketVersioning", "v",
                                               versioningConfiguration={"status": "Enabled"})]],
                          [[bucket()], [bucket(), sub("aws:s3/bucketVersioning:BucketVersioning", "v",
                                                      versioningConfiguration={"status": "Suspended"})]]),
    "aws-s3-versioning-enabled": (DEV, [res("aws:s3/bucketVersioning:BucketVersioning", versioningConfiguration={"status": "Enabled"})],
                                  [res("aws:s3/bucketVersioning:BucketVersioning", versioningConfiguration={"status": "Suspended"})]),
    "aws-s3-tls-only": (DEV, [[bucket(), sub("aws:s3/bucketPolicy:BucketPolicy", "pol", policy=GOOD_POLICY)]],
                        [[bucket()], [bucket(), sub("aws:s3/bucketPolicy:BucketPolicy", "pol", policy=SCOPED)]]),
    "aws-s3-access-logging": (DEV, [[bucket(), sub("aws:s3/bucketLogging:BucketLogging", "log", targetBucket="logs")]],
                              [[bucket()]]),
    "aws-kms-key-rotation": (DEV, [res("aws:kms/key:Key", enableKeyRotation=True),
                                   res("aws:kms/key:Key", customerMasterKeySpec="RSA_2048")],
                             [res("aws:kms/key:Key"), res("aws:kms/key:Key", enableKeyRotation=False)]),
    "aws-ecr-immutable-tags": (DEV, [res("aws:ecr/repository:Repository", imageTagMutability="IMMUTABLE")],
                               [res("aws:ecr/repository:Repository"), res("aws:ecr/repository:Repository", imageTagMutability="MUTABLE")]),
    "aws-ecr-scan-on-push": (DEV, [res("aws:ecr/repository:Repository", imageScanningConfiguration={"scanOnPush": True})],
                             [res("aws:ecr/repository:Repository")]),
    "aws-ecr-kms-encryption": (DEV, [res("aws:ecr/repository:Repository", encryptionConfigurations=[{"encryptionType": "KMS", "kmsKey": "arn:k"}])],
                               [res("aws:ecr/repository:Repository"),
                                res("aws:ecr/repository:Repository", encryptionConfigurations=[{"encryptionType": "AES256"}])]),
    "aws-ecr-not-public": (DEV, [res("aws:ecr/repositoryPolicy:RepositoryPolicy", policy=ORG_REPO_POLICY)],
                           [res("aws:ecr/repositoryPolicy:RepositoryPolicy", policy=PUBLIC_REPO_POLICY)]),
    "aws-eks-endpoint-not-public": (DEV, [res(EKS, vpcConfig={"endpointPrivateAccess": True, "endpointPublicAccess": False}),
                                          res(EKS, vpcConfig={"endpointPublicAccess": True, "publicAccessCidrs": ["203.0.113.0/24"]})],
                                    [res(EKS, vpcConfig={"subnetIds": ["a"]}),
                                     res(EKS, vpcConfig={"endpointPublicAccess": True, "publicAccessCidrs": ["0.0.0.0/0"]})]),
    "aws-eks-secrets-encryption": (DEV, [res(EKS, encryptionConfig={"provider": {"keyArn": "arn:k"}, "resources": ["secrets"]})],
                                   [res(EKS)]),
    "aws-eks-control-plane-logging": (DEV, [res(EKS, enabledClusterLogTypes=["api", "audit", "authenticator", "controllerManager", "scheduler"])],
                                      [res(EKS, enabledClusterLogTypes=["api"])]),
    "aws-iam-no-admin-wildcard": (DEV, [res("aws:iam/rolePolicy:RolePolicy", policy=SCOPED),
                                        res("aws:iam/role:Role", inlinePolicies=[{"name": "s3", "policy": SCOPED}])],
                                  [res("aws:iam/rolePolicy:RolePolicy", policy=ADMIN),
                                   res("aws:iam/policy:Policy", policy=json.loads(ADMIN)),
                                   res("aws:iam/role:Role", inlinePolicies=[{"name": "x", "policy": ADMIN}])]),
    "aws-iam-no-admin-attachment": (DEV, [res("aws:iam/rolePolicyAttachment:RolePolicyAttachment",
                                              policyArn="arn:aws:iam::aws:policy/AmazonEKSWorkerNodePolicy")],
                                    [res("aws:iam/rolePolicyAttachment:RolePolicyAttachment",
                                         policyArn="arn:aws:iam::aws:policy/AdministratorAccess")]),
    "aws-iam-no-access-keys": (DEV, [res("aws:iam/accessKey:AccessKey", status="Inactive")],
                               [res("aws:iam/accessKey:AccessKey", user="ci")]),
    "aws-s3-replication-kms-and-delete-markers": (DEV, [res(REPL, rules=[GOOD_REPL_RULE]), res(REPL, rules=[{"id": "off", "status": "Disabled"}])],
                                                  [res(REPL, rules=[{**GOOD_REPL_RULE, "sourceSelectionCriteria": {}}]),
                                                   res(REPL, rules=[{**GOOD_REPL_RULE, "destination": {"bucket": "arn:aws:s3:::r"}}]),
                                                   res(REPL, rules=[{**GOOD_REPL_RULE, "deleteMarkerReplication": {"status": "Disabled"}}])]),
    "aws-s3-cross-region-replication": (PROD, [[bucket(), sub(REPL, "repl", rules=[{**GOOD_REPL_RULE, "destination": {
                                                    "bucket": "arn:aws:s3:::rep", "encryptionConfiguration": {"replicaKmsKeyId": "arn:k2"}}}]),
                                                res(B, "rep", arn="arn:aws:s3:::rep", provider_props={"region": "us-west-2"})],
                                               [res(B, "art", tags={**TAGS, "mlops-stack-replication": "single-region"})]],
                                        [[bucket()],
                                         [res(B, "art", tags=TAGS, provider_props={"region": "us-east-1"}),
                                          sub(REPL, "repl", rules=[{**GOOD_REPL_RULE, "destination": {"bucket": "arn:aws:s3:::rep",
                                              "encryptionConfiguration": {"replicaKmsKeyId": "arn:k2"}}}]),
                                          res(B, "rep", arn="arn:aws:s3:::rep", provider_props={"region": "us-east-1"})]]),
    "aws-iam-eni-actions-scoped": (DEV, [res("aws:iam/rolePolicy:RolePolicy", policy=ENI_SCOPED), res("aws:iam/rolePolicy:RolePolicy", policy=SCOPED)],
                                   [res("aws:iam/rolePolicy:RolePolicy", policy=ENI_OPEN),
                                    res("aws:iam/role:Role", inlinePolicies=[{"name": "vpc", "policy": ENI_OPEN}])]),
    "aws-vpc-flow-logs": (DEV, [[res(VPC, "vpc"), res(FLOW, "fl", trafficType="ALL", property_dependencies={"vpcId": [VPC_URN]})]],
                          [[res(VPC, "vpc")],
                           [res(VPC, "vpc"), res(FLOW, "fl", trafficType="REJECT", property_dependencies={"vpcId": [VPC_URN]})],
                           [res(VPC, "vpc"), res(VPC, "other"), res(FLOW, "fl", trafficType="ALL", property_dependencies={"vpcId": [VPC_URN]})]]),
    "aws-log-group-retention-encryption": (DEV, [res("aws:cloudwatch/logGroup:LogGroup", retentionInDays=365, kmsKeyId="arn:k")],
                                           [res("aws:cloudwatch/logGroup:LogGroup")]),
    # ---- GCP
    "gcp-gcs-public-access-prevention": (DEV, [res("gcp:storage/bucket:Bucket", publicAccessPrevention="enforced")],
                                         [res("gcp:storage/bucket:Bucket", publicAccessPrevention="inherited")]),
    "gcp-gcs-uniform-access": (DEV, [res("gcp:storage/bucket:Bucket", uniformBucketLevelAccess=True)],
                               [res("gcp:storage/bucket:Bucket")]),
    "gcp-gcs-no-public-iam": (DEV, [res("gcp:storage/bucketIAMMember:BucketIAMMember", member="serviceAccount:a@p", role="roles/storage.objectViewer")],
                              [res("gcp:storage/bucketIAMMember:BucketIAMMember", member="allUsers", role="roles/storage.objectViewer"),
                               res("gcp:storage/bucketIAMBinding:BucketIAMBinding", members=["allAuthenticatedUsers"], role="r")]),
    "gcp-gcs-cmek": (DEV, [res("gcp:storage/bucket:Bucket", encryption={"defaultKmsKeyName": "projects/p/locations/l/keyRings/r/cryptoKeys/k"})],
                     [res("gcp:storage/bucket:Bucket")]),
    "gcp-gcs-versioning": (DEV, [res("gcp:storage/bucket:Bucket", versioning={"enabled": True})],
                           [res("gcp:storage/bucket:Bucket"), res("gcp:storage/bucket:Bucket", versioning={"enabled": False})]),
    "gcp-gcs-access-logging": (DEV, [res("gcp:storage/bucket:Bucket", logging={"logBucket": "logs"}),
                                     res("gcp:storage/bucket:Bucket", labels={"mlops-stack-role": "access-logs"})],
                               [res("gcp:storage/bucket:Bucket"), res("gcp:storage/bucket:Bucket", labels={"mlops-stack-role": "data"})]),
    "gcp-ar-immutable-tags": (DEV, [res("gcp:artifactregistry/repository:Repository", format="DOCKER", dockerConfig={"immutableTags": True}),
                                    res("gcp:artifactregistry/repository:Repository", format="PYTHON")],
                              [res("gcp:artifactregistry/repository:Repository", format="DOCKER")]),
    "gcp-ar-cmek": (DEV, [res("gcp:artifactregistry/repository:Repository", kmsKeyName="projects/p/k")],
                    [res("gcp:artifactregistry/repository:Repository")]),
    "gcp-ar-not-public": (DEV, [res("gcp:artifactregistry/repositoryIamMember:RepositoryIamMember", member="serviceAccount:n@p", role="roles/artifactregistry.reader")],
                          [res("gcp:artifactregistry/repositoryIamMember:RepositoryIamMember", member="allUsers", role="roles/artifactregistry.reader")]),
    "gcp-ar-vulnerability-scanning": (DEV, [res("gcp:artifactregistry/repository:Repository"),
                                            res("gcp:artifactregistry/repository:Repository", vulnerabilityScanningConfig={"enablementConfig": "INHERITED"})],
                                      [res("gcp:artifactregistry/repository:Repository", vulnerabilityScanningConfig={"enablementConfig": "DISABLED"})]),
    "gcp-gke-private-endpoint": (DEV, [res(GKE, privateClusterConfig={"enablePrivateNodes": True, "enablePrivateEndpoint": True}),
                                       res(GKE, privateClusterConfig={"enablePrivateNodes": True},
                                           masterAuthorizedNetworksConfig={"cidrBlocks": [{"cidrBlock": "10.0.0.0/8"}]})],
                                 [res(GKE), res(GKE, privateClusterConfig={"enablePrivateNodes": True},
                                                masterAuthorizedNetworksConfig={"cidrBlocks": [{"cidrBlock": "0.0.0.0/0"}]})]),
    "gcp-gke-secrets-encryption": (DEV, [res(GKE, databaseEncryption={"state": "ENCRYPTED", "keyName": "projects/p/k"})],
                                   [res(GKE), res(GKE, databaseEncryption={"state": "DECRYPTED"})]),
    "gcp-gke-logging": (DEV, [res(GKE), res(GKE, loggingConfig={"enableComponents": ["SYSTEM_COMPONENTS", "WORKLOADS"]})],
                        [res(GKE, loggingService="none"), res(GKE, loggingConfig={"enableComponents": ["WORKLOADS"]})]),
    "gcp-gke-workload-identity": (DEV, [res(GKE, workloadIdentityConfig={"workloadPool": "p.svc.id.goog"}, removeDefaultNodePool=True),
                                        res(GKEPOOL, nodeConfig={"workloadMetadataConfig": {"mode": "GKE_METADATA"}})],
                                  [res(GKE), res(GKEPOOL, nodeConfig={"machineType": "e2-standard-4"})]),
    "gcp-gke-network-policy": (DEV, [res(GKE, datapathProvider="ADVANCED_DATAPATH"), res(GKE, networkPolicy={"enabled": True})],
                               [res(GKE)]),
    "gcp-gke-no-default-service-account": (DEV, [res(GKE, removeDefaultNodePool=True),
                                                 res(GKEPOOL, nodeConfig={"serviceAccount": "nodes@p.iam.gserviceaccount.com"})],
                                           [res(GKEPOOL, nodeConfig={}),
                                            res(GKEPOOL, nodeConfig={"serviceAccount": "123-compute@developer.gserviceaccount.com"})]),
    "gcp-kms-rotation": (DEV, [res("gcp:kms/cryptoKey:CryptoKey", rotationPeriod="7776000s"),
                               res("gcp:kms/cryptoKey:CryptoKey", purpose="ASYMMETRIC_SIGN")],
                         [res("gcp:kms/cryptoKey:CryptoKey"), res("gcp:kms/cryptoKey:CryptoKey", rotationPeriod="31536000s")]),
    "gcp-no-primitive-roles": (DEV, [res("gcp:projects/iAMMember:IAMMember", role="roles/storage.admin", member="user:a")],
                               [res("gcp:projects/iAMMember:IAMMember", role="roles/editor", member="user:a"),
                                res("gcp:projects/iAMBinding:IAMBinding", role="roles/owner", members=["user:a"])]),
    "gcp-no-service-account-keys": (DEV, [res("gcp:serviceaccount/account:Account", accountId="nodes")],
                                    [res("gcp:serviceaccount/key:Key", serviceAccountId="nodes")]),
    "gcp-gke-binary-authorization": (DEV, [res(GKE, binaryAuthorization={"evaluationMode": "PROJECT_SINGLETON_POLICY_ENFORCE"}),
                                           res(GKE, binaryAuthorization={"enabled": True})],
                                     [res(GKE), res(GKE, binaryAuthorization={"evaluationMode": "DISABLED"})]),
    "gcp-binauthz-policy-enforced": (PROD, [res(BINAUTHZ, defaultAdmissionRule={"evaluationMode": "ALWAYS_DENY",
                                                                                 "enforcementMode": "ENFORCED_BLOCK_AND_AUDIT_LOG"})],
                                     [res(BINAUTHZ, defaultAdmissionRule={"evaluationMode": "ALWAYS_DENY", "enforcementMode": "DRYRUN_AUDIT_LOG_ONLY"}),
                                      res(BINAUTHZ, defaultAdmissionRule={"evaluationMode": "ALWAYS_ALLOW",
                                                                          "enforcementMode": "ENFORCED_BLOCK_AND_AUDIT_LOG"})]),
    "gcp-gke-intranode-visibility": (DEV, [res(GKE, enableIntranodeVisibility=True)],
                                     [res(GKE), res(GKE, enableIntranodeVisibility=False)]),
    "gcp-container-scanning-api": (DEV, [[res(AR, "repo", format="DOCKER"), res(SERVICE, "scan", service="containerscanning.googleapis.com")],
                                         [res(AR, "repo", format="PYTHON")]],
                                   [[res(AR, "repo", format="DOCKER"), res(SERVICE, "ar", service="artifactregistry.googleapis.com")]]),
    "gcp-gke-google-groups-rbac": (DEV, [res(GKE, authenticatorGroupsConfig={"securityGroup": "gke-security-groups@example.com"})],
                                   [res(GKE)]),
    "gcp-vpc-explicit-deny-ingress": (DEV, [[res(NET, "vpc"), res(FW, "deny", property_dependencies={"network": [NET_URN]}, direction="INGRESS",
                                                                 denies=[{"protocol": "all"}], sourceRanges=["0.0.0.0/0"],
                                                                 logConfig={"metadata": "INCLUDE_ALL_METADATA"})]],
                                      [[res(NET, "vpc")],
                                       [res(NET, "vpc"), res(FW, "deny", property_dependencies={"network": [NET_URN]}, direction="INGRESS",
                                                             denies=[{"protocol": "all"}], sourceRanges=["0.0.0.0/0"])],
                                       [res(NET, "vpc"), res(FW, "deny", property_dependencies={"network": [NET_URN]}, direction="INGRESS",
                                                             denies=[{"protocol": "all"}], sourceRanges=["0.0.0.0/0"],
                                                             logConfig={"metadata": "INCLUDE_ALL_METADATA"}),
                                        res(FW, "ssh", property_dependencies={"network": [NET_URN]}, direction="INGRESS",
                                            allows=[{"protocol": "tcp", "ports": ["22"]}], sourceRanges=["0.0.0.0/0"])]]),
    "gcp-gcs-dual-region": (PROD, [res(GCS, location="US", customPlacementConfig={"dataLocations": ["US-CENTRAL1", "US-EAST1"]},
                                       labels={"mlops-stack-role": "data"}),
                                   res(GCS, location="EU"),
                                   res(GCS, location="US-CENTRAL1", labels={"mlops-stack-role": "access-logs"}),
                                   res(GCS, location="US-CENTRAL1", labels={"mlops-stack-replication": "single-region"})],
                            [res(GCS, location="US-CENTRAL1", labels={"mlops-stack-role": "data"}), res(GCS, location="EUROPE-WEST1")]),
    # ---- Azure
    "azure-storage-no-public-blob": (DEV, [res("azure-native:storage:StorageAccount", allowBlobPublicAccess=False),
                                           res("azure-native:storage:BlobContainer", publicAccess="None")],
                                     [res("azure-native:storage:StorageAccount"),
                                      res("azure-native:storage:BlobContainer", publicAccess="Blob")]),
    "azure-storage-secure-transfer": (DEV, [res("azure-native:storage:StorageAccount", minimumTlsVersion="TLS1_2", enableHttpsTrafficOnly=True)],
                                      [res("azure-native:storage:StorageAccount", minimumTlsVersion="TLS1_0"),
                                       res("azure-native:storage:StorageAccount", minimumTlsVersion="TLS1_2", enableHttpsTrafficOnly=False)]),
    "azure-storage-cmk": (DEV, [res("azure-native:storage:StorageAccount", encryption={"keySource": "Microsoft.Keyvault"})],
                          [res("azure-native:storage:StorageAccount")]),
    "azure-storage-versioning": (DEV, [[res("azure-native:storage:StorageAccount", "sa", accountName="sa1"),
                                        res("azure-native:storage:BlobServiceProperties", "bs", accountName="sa1", isVersioningEnabled=True)]],
                                 [[res("azure-native:storage:StorageAccount", "sa", accountName="sa1")],
                                  [res("azure-native:storage:StorageAccount", "sa", accountName="sa1"),
                                   res("azure-native:storage:BlobServiceProperties", "bs", accountName="sa1", isVersioningEnabled=False)]]),
    "azure-acr-admin-disabled": (DEV, [res("azure-native:containerregistry:Registry", adminUserEnabled=False)],
                                 [res("azure-native:containerregistry:Registry", adminUserEnabled=True)]),
    "azure-acr-no-anonymous-pull": (DEV, [res("azure-native:containerregistry:Registry")],
                                    [res("azure-native:containerregistry:Registry", anonymousPullEnabled=True)]),
    "azure-acr-public-network-disabled": (DEV, [res("azure-native:containerregistry:Registry", publicNetworkAccess="Disabled")],
                                          [res("azure-native:containerregistry:Registry")]),
    "azure-aks-private-or-allowlisted": (DEV, [res(AKS, apiServerAccessProfile={"enablePrivateCluster": True}),
                                               res(AKS, apiServerAccessProfile={"authorizedIPRanges": ["203.0.113.0/24"]})],
                                         [res(AKS), res(AKS, apiServerAccessProfile={"authorizedIPRanges": ["0.0.0.0/0"]})]),
    "azure-aks-secrets-encryption": (DEV, [res(AKS, securityProfile={"azureKeyVaultKms": {"enabled": True}})], [res(AKS)]),
    "azure-aks-monitoring": (DEV, [res(AKS, addonProfiles={"omsagent": {"enabled": True}})], [res(AKS)]),
    "azure-aks-workload-identity": (DEV, [res(AKS, oidcIssuerProfile={"enabled": True}, securityProfile={"workloadIdentity": {"enabled": True}})],
                                    [res(AKS)]),
    "azure-aks-network-policy": (DEV, [res(AKS, networkProfile={"networkPolicy": "cilium"})], [res(AKS, networkProfile={})]),
    "azure-aks-local-accounts-disabled": (DEV, [res(AKS, disableLocalAccounts=True)], [res(AKS)]),
    "azure-keyvault-purge-protection": (DEV, [res("azure-native:keyvault:Vault", properties={"enablePurgeProtection": True})],
                                        [res("azure-native:keyvault:Vault", properties={}),
                                         res("azure-native:keyvault:Vault", properties={"enablePurgeProtection": True, "enableSoftDelete": False})]),
    "azure-keyvault-key-rotation": (DEV, [res("azure-native:keyvault:Key", properties={"rotationPolicy": {"lifetimeActions": [
                                        {"action": {"type": "rotate"}, "trigger": {"timeAfterCreate": "P90D"}}]}})],
                                    [res("azure-native:keyvault:Key", properties={})]),
    "azure-ml-workspace-cmk": (DEV, [res("azure-native:machinelearningservices:Workspace", encryption={"status": "Enabled"})],
                               [res("azure-native:machinelearningservices:Workspace")]),
    "azure-ml-workspace-public-network": (DEV, [res("azure-native:machinelearningservices:Workspace", publicNetworkAccess="Disabled")],
                                          [res("azure-native:machinelearningservices:Workspace")]),
    "azure-aks-encryption-at-host": (DEV, [res(AKS, agentPoolProfiles=[{"name": "system", "enableEncryptionAtHost": True}]),
                                           res(AKSPOOL, **GOOD_AKSPOOL, enableEncryptionAtHost=True)],
                                     [res(AKS, agentPoolProfiles=[{"name": "system"}]), res(AKSPOOL, **GOOD_AKSPOOL),
                                      res(AKSPOOL, **GOOD_AKSPOOL, enableEncryptionAtHost=False)]),
    "azure-defender-for-containers": (DEV, [[res(ACR, "acr"), res(PRICING, "def", pricingName="Containers", pricingTier="Standard")],
                                            [res(AKS, "aks")]],
                                      [[res(ACR, "acr")], [res(ACR, "acr"), res(PRICING, "def", pricingName="Containers", pricingTier="Free")]]),
    "azure-storage-geo-redundant": (PROD, [res("azure-native:storage:StorageAccount", sku={"name": "Standard_GZRS"})],
                                    [res("azure-native:storage:StorageAccount", sku={"name": "Standard_LRS"}),
                                     res("azure-native:storage:StorageAccount", sku={"name": "Standard_ZRS"})]),
    # ---- cross-cloud
    "required-tags": (DEV, [bucket(), res("gcp:storage/bucket:Bucket", labels=TAGS),
                            res(B, provider_props={"defaultTags": json.dumps({"tags": TAGS})})],
                      [res(B, tags={"owner": "x"}), res("gcp:storage/bucket:Bucket", labels={"Owner": "x"}),
                       res("azure-native:storage:StorageAccount", tags={"owner": "", "environment": "d", "cost-center": "c"})]),
    "allowed-regions": (Ctx(config={"allowedRegions": ["eu-west-1", "europe-west4", "westeurope"]}, stack_config={"aws:region": "eu-west-1"}),
                        [bucket(), res("gcp:container/cluster:Cluster", location="europe-west4-a"),
                         res("azure-native:storage:StorageAccount", location="West Europe"), res("aws:iam/role:Role")],
                        [bucket(region="us-east-1"), res("gcp:storage/bucket:Bucket", location="US"),
                         res(B, provider_props={"region": "us-west-2"})]),
    # GKE: no declared GPU taint passes (GKE adds nvidia.com/gpu=present:NoSchedule itself and refuses a
    # second one); a declared nvidia.com/gpu taint that does not repel pods fails.
    "gpu-pool-tainted": (DEV, [res(NG, **GOOD_NG), res(NG, instanceTypes=["m6i.large"]), res(GKEPOOL, nodeConfig=GOOD_GKE_NC),
                               res(GKEPOOL, nodeConfig={**GOOD_GKE_NC, "taints": []}), res(AKSPOOL, **GOOD_AKSPOOL)],
                         [res(NG, **{**GOOD_NG, "taints": []}),
                          res(GKEPOOL, nodeConfig={**GOOD_GKE_NC, "taints": [{"key": "nvidia.com/gpu", "value": "present", "effect": "PREFER_NO_SCHEDULE"}]}),
                          res(AKSPOOL, **{**GOOD_AKSPOOL, "nodeTaints": []}),
                          res(AKS, agentPoolProfiles=[{"name": "gpu", "vmSize": "Standard_NC24ads_A100_v4", "count": 1}])]),
    "gpu-pool-bounded": (DEV, [res(NG, **GOOD_NG), res(GKEPOOL, nodeConfig=GOOD_GKE_NC, autoscaling={"minNodeCount": 0, "maxNodeCount": 4})],
                         [res(NG, **{**GOOD_NG, "scalingConfig": {"minSize": 0, "maxSize": 50}}),
                          res(GKEPOOL, nodeConfig=GOOD_GKE_NC, autoscaling={"minNodeCount": 0})]),
    "gpu-pool-scale-to-zero": (DEV, [res(NG, **GOOD_NG), res(AKSPOOL, **GOOD_AKSPOOL)],
                               [res(NG, **{**GOOD_NG, "scalingConfig": {"minSize": 1, "maxSize": 4}}),
                                res(AKSPOOL, **{**GOOD_AKSPOOL, "minCount": 2})]),
    "gpu-allowed-types": (Ctx(config={"allowedGpus": ["nvidia-l4", "Standard_NC4as_T4_v3"]}),
                          [res(NG, **GOOD_NG), res(GKEPOOL, nodeConfig=GOOD_GKE_NC), res(AKSPOOL, **GOOD_AKSPOOL)],
                          [res(NG, **{**GOOD_NG, "instanceTypes": ["p5.48xlarge"]}),
                           res(GKEPOOL, nodeConfig={**GOOD_GKE_NC, "guestAccelerators": [{"type": "nvidia-h100-80gb", "count": 8}]})]),
    "gpu-max-per-pool": (Ctx(config={"maxGpusPerPool": 16}), [res(NG, **GOOD_NG)],
                         [res(NG, **{**GOOD_NG, "instanceTypes": ["g6.48xlarge"], "scalingConfig": {"minSize": 0, "maxSize": 4}})]),
    "endpoint-prod-min-instances": (PROD, [res(SMCFG, productionVariants=[{"variantName": "v", "initialInstanceCount": 2}]),
                                           res("aws:appautoscaling/target:Target", serviceNamespace="sagemaker", minCapacity=2, resourceId="endpoint/e/variant/v"),
                                           res("azure-native:machinelearningservices:OnlineDeployment", sku={"name": "Default", "capacity": 2})],
                                    [res(SMCFG, productionVariants=[{"variantName": "v", "initialInstanceCount": 1}]),
                                     res("aws:appautoscaling/target:Target", serviceNamespace="sagemaker", minCapacity=1, resourceId="endpoint/e/variant/v"),
                                     res("gcp:vertex/aiDeploymentResourcePool:AiDeploymentResourcePool", dedicatedResources={"minReplicaCount": 1}),
                                     res("kubernetes:serving.kserve.io/v1beta1:InferenceService", spec={"predictor": {}})]),
    "endpoint-kms-encryption": (DEV, [res(SMCFG, kmsKeyArn="arn:k"), res("gcp:vertex/aiEndpoint:AiEndpoint", encryptionSpec={"kmsKeyName": "k"}),
                                      res(SMCFG, productionVariants=[{"variantName": "a", "instanceType": "ml.g5.xlarge"}])],
                                [res(SMCFG), res(SMCFG, productionVariants=[{"variantName": "a", "instanceType": "ml.m5.xlarge"}]),
                                 res("gcp:vertex/aiEndpoint:AiEndpoint")]),
    "endpoint-prod-data-capture": (PROD, [res(SMCFG, dataCaptureConfig={"enableCapture": True, "initialSamplingPercentage": 10,
                                                                        "destinationS3Uri": "s3://b/c"}),
                                          res("gcp:vertex/aiEndpoint:AiEndpoint", predictRequestResponseLoggingConfig={"enabled": True, "samplingRate": 0.1}),
                                          res("azure-native:machinelearningservices:OnlineDeployment", properties={
                                              "dataCollector": {"collections": {"model_inputs": {"dataCollectionMode": "Enabled"}}}})],
                                   [res(SMCFG), res(SMCFG, dataCaptureConfig={"enableCapture": False, "initialSamplingPercentage": 10}),
                                    res("gcp:vertex/aiEndpoint:AiEndpoint"),
                                    res("azure-native:machinelearningservices:OnlineDeployment", properties={})]),
    "no-spot-for-prod-serving": (PROD, [res(NG, **GOOD_NG), res(NG, **{**GOOD_NG, "capacityType": "SPOT", "labels": {"mlops-stack/workload": "training"}})],
                                 [res(NG, **{**GOOD_NG, "capacityType": "SPOT"}),
                                  res(GKEPOOL, nodeConfig={**GOOD_GKE_NC, "spot": True}),
                                  res(AKSPOOL, **{**GOOD_AKSPOOL, "scaleSetPriority": "Spot"})]),
    "stateful-resources-protected-in-prod": (PROD, [[bucket(protect=True), res("aws:kms/key:Key", protect=True), res(EKS)]],
                                             [[bucket()], [res("azure-native:keyvault:Vault")]]),
    # ---- Cluster endpoints (KServe)
    "kserve-gpu-on-tainted-pool": (DEV, [[res(NG, **INFER_NG), isvc()],
                                         [res(NG, **INFER_NG), isvc(CPU_RES, tolerations=None, nodeSelector=None)]],
                                   [[res(NG, **INFER_NG), isvc(tolerations=None)],
                                    [res(NG, **INFER_NG), isvc(nodeSelector=None)],
                                    [res(NG, **{**INFER_NG, "taints": []}), isvc()],
                                    [res(NG, **INFER_NG), isvc(nodeSelector={"mlops-stack/pool": "train"})]]),
    "kserve-resource-limits": (DEV, [isvc(), isvc(CPU_RES)],
                               [isvc({"requests": {"cpu": "1", "memory": "2Gi"}}),
                                isvc({**CPU_RES, "requests": {**CPU_RES["requests"], "nvidia.com/gpu": "2"},
                                      "limits": {**CPU_RES["limits"], "nvidia.com/gpu": "1"}}),
                                isvc(model=None, containers=[{"name": "kserve-container", "image": "r/s:1", "resources": {}}])]),
    "kserve-internal-only": (DEV, [res("kubernetes:helm.sh/v3:Release", chart="oci://ghcr.io/kserve/charts/kserve-resources",
                                       values={"kserve": {"controller": {"gateway": {"disableIngressCreation": True}}}}),
                                   kserve_service(type="ClusterIP"),
                                   kserve_service(type="LoadBalancer", loadBalancerSourceRanges=["203.0.113.0/24"]),
                                   res("kubernetes:core/v1:Service", "lb", spec={"type": "LoadBalancer", "selector": {"app": "grafana"}})],
                             [res("kubernetes:helm.sh/v3:Release", chart="oci://ghcr.io/kserve/charts/kserve-resources", values={}),
                              kserve_service(type="LoadBalancer"),
                              kserve_service(type="LoadBalancer", loadBalancerSourceRanges=["0.0.0.0/0"]),
                              kserve_service(type="NodePort")]),
    # ---- Kubernetes
    "k8s-no-privileged-containers": (DEV, [deployment(container()),
                                           res("kubernetes:helm.sh/v3:Release", values={"securityContext": {"privileged": False}})],
                                     [deployment(container(securityContext={"privileged": True})),
                                      res("kubernetes:helm.sh/v3:Release", values={"driver": {"securityContext": {"privileged": True}}})]),
    "k8s-resources-requests-limits": (DEV, [deployment(container())],
                                      [deployment(container(resources={})),
                                       deployment(container(resources={"requests": {"cpu": "1", "memory": "1Gi"}}))]),
    "k8s-no-latest-image-tag": (DEV, [deployment(container()), deployment(container(image="nginx@sha256:abc")),
                                      res("kubernetes:helm.sh/v3:Release", values={"image": {"repository": "r", "tag": "v1.2"}})],
                                [deployment(container(image="nginx")), deployment(container(image="reg:5000/nginx:latest")),
                                 res("kubernetes:helm.sh/v3:Release", values={"image": {"repository": "r", "tag": "latest"}})]),
    # ---- workload identity
    "workload-identity-one-service-account": (
        DEV,
        [wi_role(), res("aws:iam/role:Role", assumeRolePolicy=GITHUB_TRUST),
         res("gcp:serviceaccount/iAMMember:IAMMember", role=WIU, member=GKE_WI_MEMBER),
         res("gcp:serviceaccount/iAMMember:IAMMember", role="roles/iam.serviceAccountUser", member="user:a@example.com"),
         res(FIC, subject="system:serviceaccount:kserve:scorer", audiences=["api://AzureADTokenExchange"])],
        [wi_role(irsa_trust(None)),
         wi_role(irsa_trust({"StringLike": {f"{EKS_ISSUER}:sub": "system:serviceaccount:mlflow:*", f"{EKS_ISSUER}:aud": "sts.amazonaws.com"}})),
         wi_role(irsa_trust({"StringEquals": {f"{EKS_ISSUER}:sub": "system:serviceaccount:mlflow:*", f"{EKS_ISSUER}:aud": "sts.amazonaws.com"}})),
         wi_role(irsa_trust({"StringEquals": {f"{EKS_ISSUER}:sub": ["system:serviceaccount:a:x", "system:serviceaccount:b:y"],
                                              f"{EKS_ISSUER}:aud": "sts.amazonaws.com"}})),
         wi_role(irsa_trust({"StringEquals": {f"{EKS_ISSUER}:sub": "system:serviceaccount:mlflow:mlflow"}})),
         res("gcp:serviceaccount/iAMMember:IAMMember", role=WIU,
             member="principalSet://iam.googleapis.com/projects/1/locations/global/workloadIdentityPools/p.svc.id.goog/namespace/mlflow"),
         res("gcp:serviceaccount/iAMBinding:IAMBinding", role=WIU, members=[GKE_WI_MEMBER, "serviceAccount:p.svc.id.goog[other/sa]"]),
         res("gcp:projects/iAMMember:IAMMember", role=WIU, member=GKE_WI_MEMBER),
         res(FIC, subject="system:serviceaccount:kserve:*", audiences=["api://AzureADTokenExchange"]),
         res(FIC, subject="system:serviceaccount:kserve:scorer", audiences=["api://AzureADTokenExchange", "api://other"]),
         res(FIC, subject="system:serviceaccount:kserve:scorer", audiences=["api://AzureADTokenExchange"], claimsMatchingExpression={"value": "x"})],
    ),
    "workload-identity-storage-prefix-scoped": (
        DEV,
        [[wi_role(), wi_policy(SCOPED_S3)],
         # A role nobody in the cluster can assume is not this rule's business.
         [res("aws:iam/role:Role", "wi-role", assumeRolePolicy=GITHUB_TRUST), wi_policy(ADMIN)],
         gcp_wi(gcs_grant(condition=GCS_PREFIX_CONDITION)),
         az_wi(condition=AZ_PREFIX_CONDITION, conditionVersion="2.0")],
        [[wi_role(), wi_policy(json.dumps({"Statement": [{"Effect": "Allow", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::art/*"}]}))],
         [wi_role(), wi_policy(json.dumps({"Statement": [{"Effect": "Allow", "Action": "s3:*", "Resource": "*"}]}))],
         [wi_role(), wi_policy(json.dumps({"Statement": [{"Effect": "Allow", "Action": "s3:ListBucket", "Resource": "arn:aws:s3:::art"}]}))],
         [wi_role(), res("aws:iam/rolePolicyAttachment:RolePolicyAttachment", "wi-s3", policyArn="arn:aws:iam::aws:policy/AmazonS3ReadOnlyAccess",
                         property_dependencies={"role": [ROLE_URN]})],
         gcp_wi(gcs_grant()),
         gcp_wi(gcs_grant(condition={"title": "t", "expression": 'resource.type == "storage.googleapis.com/Bucket"'
                                     ' || resource.name.startsWith("projects/_/buckets/art/objects/mlflow/")'})),
         gcp_wi(res("gcp:projects/iAMMember:IAMMember", "wi-project", role="roles/storage.objectViewer",
                    member="serviceAccount:mlops-dev-mlflow-abc123@p.iam.gserviceaccount.com", property_dependencies={"member": [GSA_URN]})),
         az_wi(),
         az_wi(condition=AZ_PREFIX_CONDITION.split(" AND ((!")[0], conditionVersion="2.0"),
         az_wi(condition=AZ_PREFIX_CONDITION, conditionVersion="1.0")],
    ),
    # ---- Tracking (managed PostgreSQL, the MLflow server)
    "database-not-public": (DEV, [res(RDS, engine="postgres", publiclyAccessible=False),
                                  res(SQL, databaseVersion="POSTGRES_17", settings={"ipConfiguration": {"ipv4Enabled": False, "privateNetwork": "n"}}),
                                  res(AZPG, network={"publicNetworkAccess": "Disabled"})],
                            [res(RDS, engine="postgres", publiclyAccessible=True),
                             res(SQL, databaseVersion="POSTGRES_17", settings={"ipConfiguration": {"privateNetwork": "n"}}),
                             res(SQL, databaseVersion="POSTGRES_17", settings={"ipConfiguration": {"ipv4Enabled": False, "authorizedNetworks": [{"value": "0.0.0.0/0"}]}}),
                             res(AZPG, network={"publicNetworkAccess": "Enabled"}), res(AZPG)]),
    "database-encrypted": (DEV, [res(RDS, engine="postgres", storageEncrypted=True, kmsKeyId="arn:aws:kms:us-east-1:1:key/k"),
                                 res(SQL, databaseVersion="POSTGRES_17", encryptionKeyName="projects/p/locations/r/keyRings/k/cryptoKeys/sql",
                                     settings={"ipConfiguration": {"sslMode": "ENCRYPTED_ONLY"}}),
                                 res(AZPG, dataEncryption={"type": "AzureKeyVault", "primaryKeyURI": "https://v.vault.azure.net/keys/k/1"})],
                           [res(RDS, engine="postgres", storageEncrypted=True), res(RDS, engine="postgres", kmsKeyId="k"),
                            res(SQL, databaseVersion="POSTGRES_17", settings={"ipConfiguration": {"sslMode": "ENCRYPTED_ONLY"}}),
                            res(SQL, databaseVersion="POSTGRES_17", encryptionKeyName="k", settings={"ipConfiguration": {"sslMode": "ALLOW_UNENCRYPTED_AND_ENCRYPTED"}}),
                            res(AZPG, dataEncryption={"type": "SystemAssigned"})]),
    "database-backups": (DEV, [res(RDS, engine="postgres", backupRetentionPeriod=7),
                               res(SQL, databaseVersion="POSTGRES_17", settings={"backupConfiguration": {"enabled": True, "pointInTimeRecoveryEnabled": True,
                                                                                                         "backupRetentionSettings": {"retainedBackups": 14}}}),
                               res(AZPG, backup={"backupRetentionDays": 35})],
                         [res(RDS, engine="postgres", backupRetentionPeriod=0), res(RDS, engine="postgres"),
                          res(SQL, databaseVersion="POSTGRES_17", settings={"backupConfiguration": {"enabled": True}}),
                          res(SQL, databaseVersion="POSTGRES_17", settings={"backupConfiguration": {"enabled": False, "pointInTimeRecoveryEnabled": True}}),
                          res(AZPG, backup={"backupRetentionDays": 3})]),
    "database-deletion-protection": (PROD, [res(RDS, engine="postgres", deletionProtection=True, skipFinalSnapshot=False, protect=True),
                                            res(SQL, databaseVersion="POSTGRES_17", settings={"deletionProtectionEnabled": True}, protect=True),
                                            res(AZPG, protect=True)],
                                     [res(RDS, engine="postgres", deletionProtection=True, skipFinalSnapshot=False),
                                      res(RDS, engine="postgres", deletionProtection=False, protect=True),
                                      res(RDS, engine="postgres", deletionProtection=True, skipFinalSnapshot=True, protect=True),
                                      res(SQL, databaseVersion="POSTGRES_17", settings={"deletionProtectionEnabled": False}, protect=True),
                                      res(AZPG)]),
    "tracking-server-authenticated": (DEV, [deployment(container(image="ghcr.io/mlflow/mlflow:v3.17.2-full", command=["mlflow"],
                                                                 args=["server", "--app-name=basic-auth"])),
                                            deployment(container()),
                                            res(SVC, spec={"type": "ClusterIP", "selector": {"app.kubernetes.io/name": "mlflow"}}),
                                            res(SVC, spec={"type": "LoadBalancer", "selector": {"app": "web"}})],
                                      [deployment(container(image="ghcr.io/mlflow/mlflow:v3.17.2-full", command=["mlflow"], args=["server", "--port=5000"])),
                                       res(SVC, spec={"type": "LoadBalancer", "selector": {"app.kubernetes.io/name": "mlflow"}}),
                                       res(SVC, spec={"type": "NodePort", "selector": {"app.kubernetes.io/name": "mlflow"}})]),
}


def _run(rule: Rule, case: Any, ctx: Ctx) -> list[str]:
    ctx = replace(ctx, config=with_defaults(rule.config, ctx.config))
    if rule.kind == "stack":
        return [m for _, m in rule.stack_check(case, ctx)]  # type: ignore[misc]
    if not rule.applies_to(case.type):
        return []  # the pack skips types a rule does not look at
    return list(rule.check(case, ctx))  # type: ignore[misc]


RULES_BY_NAME = {r.name: r for r in RULES}


def test_every_rule_has_cases() -> None:
    assert sorted(CASES) == sorted(RULES_BY_NAME)


def _params(which: int) -> list[Any]:
    return [pytest.param(name, i, id=f"{name}-{i}") for name, c in CASES.items() for i in range(len(c[which]))]


@pytest.mark.parametrize(("name", "i"), _params(1))
def test_passes(name: str, i: int) -> None:
    ctx, good, _ = CASES[name]
    assert _run(RULES_BY_NAME[name], good[i], ctx) == []


@pytest.mark.parametrize(("name", "i"), _params(2))
def test_fails(name: str, i: int) -> None:
    ctx, _, bad = CASES[name]
    messages = _run(RULES_BY_NAME[name], bad[i], ctx)
    assert messages and all(isinstance(m, str) and m for m in messages)


def _unknownify(value: Any) -> list[Any]:
    """Variants of value with one leaf/subtree replaced by UNKNOWN at a time."""
    out = [UNKNOWN]
    if isinstance(value, dict):
        for k, v in value.items():
            out.extend({**value, k: u} for u in _unknownify(v))
    elif isinstance(value, list):
        for idx, v in enumerate(value):
            out.extend([*value[:idx], u, *value[idx + 1:]] for u in _unknownify(v))
    return out


@pytest.mark.parametrize("name", sorted(CASES))
def test_unknown_values_never_crash_or_add_violations(name: str) -> None:
    """Replace any one input of any case with UNKNOWN: no exception, never a violation the
    known values did not already justify on a passing case."""
    rule = RULES_BY_NAME[name]
    ctx, good, bad = CASES[name]
    for case in good + bad:
        targets = case if isinstance(case, list) else [case]
        for t_index, target in enumerate(targets):
            for variant in _unknownify(target.props)[1:] + [{}]:
                mutated = replace(target, props=variant if isinstance(variant, dict) else {})
                new_case: Any = [*targets[:t_index], mutated, *targets[t_index + 1:]] if isinstance(case, list) else mutated
                got = _run(rule, new_case, ctx)
                if case in good and variant is not None and isinstance(variant, dict) and variant != {}:
                    assert got == [], f"{name}: unknown input produced {got} on a passing case"
