"""The dev-gcp and prod-gcp plans contain every resource of the GCP environment, with
the inputs a security reviewer checks: exact types, counts and wire-level inputs."""

from __future__ import annotations

import json

import pytest

from planning import plan_example
from mlops_stack.args import gpu_pool_labels
from mlops_stack.gcp.mocks import project_number
from mlops_stack.offline.engine import SECRET, Plan, Registration

DYNAMIC = "pulumi-python:dynamic/mlops:VertexModelDeployment"
BUCKET = "gcp:storage/bucket:Bucket"
KEY = "gcp:kms/cryptoKey:CryptoKey"
NODE_POOL = "gcp:container/nodePool:NodePool"
CLUSTER = "gcp:container/cluster:Cluster"


def dev() -> Plan:
    return plan_example("dev-gcp")


def prod() -> Plan:
    return plan_example("prod-gcp")


def ours(plan: Plan) -> dict[str, int]:
    """Counts of the types this cloud implementation registers (not the k8s layer's)."""
    return {t: n for t, n in plan.type_counts().items() if t.startswith(("gcp:", "mlops:gcp:", "pulumi-python:", "pulumi:providers:gcp"))}


COMMON = {
    "pulumi:providers:gcp": 1,
    "mlops:gcp:Network": 1,
    "mlops:gcp:Keys": 1,
    "mlops:gcp:ArtifactStore": 1,
    "mlops:gcp:ContainerRegistry": 1,
    "mlops:gcp:ModelRegistry": 1,
    "mlops:gcp:KubernetesCluster": 1,
    "mlops:gcp:GpuNodePool": 2,
    "mlops:gcp:ModelEndpoint": 1,
    # compute (network) + cloudkms and the six keyed APIs (keys) + artifactregistry and
    # containerscanning (registry) + aiplatform (model registry) + container and
    # binaryauthorization (cluster) + aiplatform (endpoint) + iam, cloudresourcemanager and
    # iamcredentials (cluster and endpoint: they create service accounts and project IAM)
    # + dns (the private endpoint's PSC name)
    "gcp:projects/service:Service": 21,
    "gcp:compute/network:Network": 1,
    # deny-all ingress (logged), allow internal, allow health checks; the control plane to the
    # nodes on the webhook ports (gcp/cluster.py webhook_firewall)
    "gcp:compute/firewall:Firewall": 4,
    "gcp:binaryauthorization/policy:Policy": 1,
    "gcp:compute/subnetwork:Subnetwork": 1,
    "gcp:compute/router:Router": 1,
    "gcp:compute/routerNat:RouterNat": 1,
    "gcp:kms/keyRing:KeyRing": 1,
    KEY: 6,
    "gcp:kms/cryptoKeyIAMMember:CryptoKeyIAMMember": 6,
    "gcp:projects/serviceIdentity:ServiceIdentity": 3,  # Artifact Registry, Vertex AI and GKE agents
    BUCKET: 4,  # artifacts, models, datasets + access logs
    "gcp:storage/bucketIAMMember:BucketIAMMember": 2,  # log writer + endpoint model reader
    "gcp:artifactregistry/repository:Repository": 2,
    "gcp:artifactregistry/repositoryIamMember:RepositoryIamMember": 2,  # nodes pull from each repo
    "gcp:serviceaccount/account:Account": 2,  # nodes + endpoint
    "gcp:projects/iAMMember:IAMMember": 1,  # the node role
    CLUSTER: 1,
    NODE_POOL: 3,  # system + two GPU pools
    "gcp:vertex/aiEndpoint:AiEndpoint": 1,
    DYNAMIC: 1,
    # The consumer side of the private (PSC) endpoint (gcp/psc.py).
    "gcp:compute/address:Address": 1,
    "gcp:compute/forwardingRule:ForwardingRule": 1,
    "gcp:dns/managedZone:ManagedZone": 1,
    "gcp:dns/recordSet:RecordSet": 1,
}


DATASET = "gcp:bigquery/dataset:Dataset"
DATASET_IAM = "gcp:bigquery/datasetIamMember:DatasetIamMember"
#: prod-gcp captures requests (dataCapture): the endpoint also enables BigQuery and
#: creates the capture dataset and the Vertex agent's write grant on it.
CAPTURE = {"gcp:projects/service:Service": 1, DATASET: 1, DATASET_IAM: 1}


#: prod-gcp keeps its data buckets in a dual-region (storage.replicaRegion defaults to the
#: paired region in prod): one key ring + key in the multi-region KMS location + its grant.
DUAL_REGION = {"gcp:kms/keyRing:KeyRing": 1, KEY: 1, "gcp:kms/cryptoKeyIAMMember:CryptoKeyIAMMember": 1,
               "gcp:projects/service:Service": 2}  # cloudkms + storage, enabled by the store for its key


def with_capture(counts: dict[str, int]) -> dict[str, int]:
    extra = {t: CAPTURE.get(t, 0) + DUAL_REGION.get(t, 0) for t in {*CAPTURE, *DUAL_REGION}}
    return {t: counts.get(t, 0) + extra.get(t, 0) for t in {*counts, *extra}}


#: What dev-gcp's cluster endpoint (runsOn: cluster) adds: its WorkloadIdentity (a GSA, its
#: workloadIdentityUser binding, the model-prefix reader on the bucket, and the iam and
#: iamcredentials APIs the component enables for itself).
CLUSTER_ENDPOINT = {
    "mlops:gcp:WorkloadIdentity": 1,
    "gcp:serviceaccount/account:Account": 1,
    "gcp:serviceaccount/iAMMember:IAMMember": 1,
    "gcp:storage/bucketIAMMember:BucketIAMMember": 1,
    "gcp:projects/service:Service": 2,
}


def with_cluster_endpoint(counts: dict[str, int]) -> dict[str, int]:
    return {k: counts.get(k, 0) + CLUSTER_ENDPOINT.get(k, 0) for k in {*counts, *CLUSTER_ENDPOINT}}


#: Both examples run self-hosted MLflow (tracking.mode: self-hosted): the Cloud SQL instance
#: with its database, user, own key (+ the Cloud SQL agent and its grant), private services
#: access (range + peering), the sqladmin and servicenetworking APIs; and the server's
#: workload identity (service account, its workloadIdentityUser binding, the bucket grant,
#: and the two APIs it enables).
TRACKING = {
    "mlops:gcp:PostgresDatabase": 1,
    "gcp:sql/databaseInstance:DatabaseInstance": 1,
    "gcp:sql/database:Database": 1,
    "gcp:sql/user:User": 1,
    KEY: 1,
    "gcp:kms/cryptoKeyIAMMember:CryptoKeyIAMMember": 1,
    "gcp:projects/serviceIdentity:ServiceIdentity": 1,
    "gcp:compute/globalAddress:GlobalAddress": 1,
    "gcp:servicenetworking/connection:Connection": 1,
    "gcp:projects/service:Service": 4,
    "mlops:gcp:WorkloadIdentity": 1,
    "gcp:serviceaccount/account:Account": 1,
    "gcp:serviceaccount/iAMMember:IAMMember": 1,
    "gcp:storage/bucketIAMMember:BucketIAMMember": 1,
}


def with_tracking(counts: dict[str, int]) -> dict[str, int]:
    return {t: counts.get(t, 0) + TRACKING.get(t, 0) for t in {*counts, *TRACKING}}


@pytest.mark.parametrize(("stack", "expected"), [("dev-gcp", with_tracking(with_cluster_endpoint(COMMON))), ("prod-gcp", with_tracking(with_capture(COMMON)))])
def test_exact_types_and_counts(stack: str, expected: dict[str, int]) -> None:
    assert ours(plan_example(stack)) == expected


def test_no_other_cloud_resources() -> None:
    for plan in (dev(), prod()):
        assert not [r.type for r in plan.resources if r.type.startswith(("aws:", "azure-native:", "pulumi:providers:aws"))]


# --- network ---------------------------------------------------------------------


def test_network_subnet_ranges_private_google_access_and_nat() -> None:
    plan = dev()
    vpc = plan.one("gcp:compute/network:Network")
    assert vpc.inputs["autoCreateSubnetworks"] is False
    subnet = plan.one("gcp:compute/subnetwork:Subnetwork")
    assert subnet.inputs["ipCidrRange"] == "10.20.128.0/19"
    assert subnet.inputs["privateIpGoogleAccess"] is True
    assert subnet.inputs["secondaryIpRanges"] == [
        {"rangeName": "pods", "ipCidrRange": "10.20.0.0/17"},
        {"rangeName": "services", "ipCidrRange": "10.20.160.0/19"},
    ]
    assert subnet.inputs["network"] == vpc.id
    nat = plan.one("gcp:compute/routerNat:RouterNat")
    assert nat.inputs["sourceSubnetworkIpRangesToNat"] == "LIST_OF_SUBNETWORKS"
    assert nat.inputs["subnetworks"] == [{"name": subnet.id, "sourceIpRangesToNats": ["ALL_IP_RANGES"]}]
    assert nat.inputs["router"] == plan.one("gcp:compute/router:Router").outputs["name"]
    assert nat.inputs["logConfig"] == {"enable": True, "filter": "ERRORS_ONLY"}


# --- keys ------------------------------------------------------------------------


def keys_by_purpose(plan: Plan) -> dict[str, Registration]:
    return {r.inputs["labels"]["mlops-stack-key"]: r for r in plan.of_type(KEY)}


@pytest.mark.parametrize("stack", ["dev-gcp", "prod-gcp"])
def test_keys_rotate_within_90_days(stack: str) -> None:
    # dev-gcp leaves rotationDays at the spec default (365): GCP clamps it to 90.
    keys = keys_by_purpose(plan_example(stack))
    # "sql": self-hosted tracking's Cloud SQL key (both examples turn tracking on).
    expected = {"storage", "registry", "cluster", "disks", "vertex", "bigquery", "sql"}
    assert set(keys) == (expected | {"storage-dual-region"} if stack == "prod-gcp" else expected)
    for purpose, key in keys.items():
        assert key.inputs["rotationPeriod"] == "7776000s"
        assert key.inputs["purpose"] == "ENCRYPT_DECRYPT"
        if purpose == "storage-dual-region":
            continue
        assert key.inputs["destroyScheduledDuration"] == "2592000s"
        assert key.inputs["keyRing"] == plan_example(stack).one("gcp:kms/keyRing:KeyRing", "mlops-keys-ring").id


def test_each_key_is_usable_only_by_its_service_agent() -> None:
    plan = dev()
    keys = {r.id: p for p, r in keys_by_purpose(plan).items()}
    grants = {keys[r.inputs["cryptoKeyId"]]: r.inputs for r in plan.of_type("gcp:kms/cryptoKeyIAMMember:CryptoKeyIAMMember")}
    assert {p: g["role"] for p, g in grants.items()} == dict.fromkeys(keys.values(), "roles/cloudkms.cryptoKeyEncrypterDecrypter")
    members = {p: g["member"] for p, g in grants.items()}
    assert members["storage"].endswith("@gs-project-accounts.iam.gserviceaccount.com")
    assert members["registry"].endswith("@gcp-sa-artifactregistry.iam.gserviceaccount.com")
    assert members["cluster"].endswith("@container-engine-robot.iam.gserviceaccount.com")
    assert members["disks"].endswith("@compute-system.iam.gserviceaccount.com")
    assert members["vertex"].endswith("@gcp-sa-aiplatform.iam.gserviceaccount.com")
    assert members["bigquery"].endswith("@bigquery-encryption.iam.gserviceaccount.com")
    assert all(m.startswith("serviceAccount:service-") for p, m in members.items() if p != "bigquery")
    assert members["bigquery"].startswith("serviceAccount:bq-")


def test_key_ring_and_keys_are_protected_in_prod_only() -> None:
    for t in ("gcp:kms/keyRing:KeyRing", KEY):
        assert all(r.protect and r.retain_on_delete for r in prod().of_type(t))
        assert not any(r.protect or r.retain_on_delete for r in dev().of_type(t))


# --- storage ---------------------------------------------------------------------


def buckets(plan: Plan) -> dict[str, Registration]:
    return {r.inputs["labels"]["mlops-stack-bucket"]: r for r in plan.of_type(BUCKET)}


@pytest.mark.parametrize("stack", ["dev-gcp", "prod-gcp"])
def test_every_bucket_is_private_versioned_cmek_and_soft_deleted(stack: str) -> None:
    plan = plan_example(stack)
    keys = keys_by_purpose(plan)
    dual = stack == "prod-gcp"
    for name, b in buckets(plan).items():
        assert b.inputs["uniformBucketLevelAccess"] is True, name
        assert b.inputs["publicAccessPrevention"] == "enforced", name
        assert b.inputs["versioning"] == {"enabled": True}, name
        data = name != "access-logs"
        key = keys["storage-dual-region"] if dual and data else keys["storage"]
        assert b.inputs["encryption"] == {"defaultKmsKeyName": key.id}, name
        assert b.inputs["softDeletePolicy"] == {"retentionDurationSeconds": 7 * 86400}, name
        assert b.inputs["forceDestroy"] is False, name
        if dual and data:
            assert b.inputs["location"] == "US" and b.inputs["customPlacementConfig"] == {"dataLocations": ["US-CENTRAL1", "US-EAST1"]}, name
            assert b.inputs["labels"]["mlops-stack-replication"] == "us-east1"
        else:
            assert b.inputs["location"] == "US-CENTRAL1", name
            assert "customPlacementConfig" not in b.inputs
        assert b.inputs["name"].startswith(f"mlops-{stack.split('-')[0]}-{name}-"), name
        assert len(b.inputs["name"]) <= 63


def test_data_buckets_log_to_the_log_bucket_which_admits_only_the_analytics_writer() -> None:
    plan = dev()
    bs = buckets(plan)
    log = bs.pop("access-logs")
    assert "logging" not in log.inputs
    for name, b in bs.items():
        assert b.inputs["logging"] == {"logBucket": log.outputs["name"], "logObjectPrefix": name}
    (writer,) = [r for r in plan.of_type("gcp:storage/bucketIAMMember:BucketIAMMember") if r.inputs["bucket"] == log.outputs["name"]]
    assert writer.inputs["role"] == "roles/storage.objectCreator"
    assert writer.inputs["member"] == "group:cloud-storage-analytics@google.com"


def test_lifecycle_follows_the_spec() -> None:
    bs = buckets(prod())
    assert bs["models"].inputs["lifecycleRules"] == [
        {"action": {"type": "AbortIncompleteMultipartUpload"}, "condition": {"age": 7}},
        {"action": {"type": "Delete"}, "condition": {"daysSinceNoncurrentTime": 365, "withState": "ARCHIVED"}},
    ]
    assert bs["access-logs"].inputs["lifecycleRules"][-1] == {"action": {"type": "Delete"}, "condition": {"age": 730, "withState": "LIVE"}}


def test_buckets_are_protected_and_retained_in_prod_only() -> None:
    assert all(r.protect and r.retain_on_delete for r in prod().of_type(BUCKET))
    assert not any(r.protect or r.retain_on_delete for r in dev().of_type(BUCKET))


# --- container registry ----------------------------------------------------------


@pytest.mark.parametrize(("stack", "days"), [("dev-gcp", 7), ("prod-gcp", 14)])
def test_repositories_are_immutable_encrypted_and_cleaned(stack: str, days: int) -> None:
    plan = plan_example(stack)
    key = keys_by_purpose(plan)["registry"].id
    env = stack.split("-")[0]
    repos = plan.of_type("gcp:artifactregistry/repository:Repository")
    assert sorted(r.inputs["repositoryId"] for r in repos) == [f"mlops-{env}-serving", f"mlops-{env}-training"]
    for r in repos:
        assert r.inputs["format"] == "DOCKER"
        assert r.inputs["dockerConfig"] == {"immutableTags": True}
        assert r.inputs["kmsKeyName"] == key
        assert r.inputs["cleanupPolicyDryRun"] is False
        assert r.inputs["cleanupPolicies"] == [
            {"id": "delete-untagged", "action": "DELETE", "condition": {"tagState": "UNTAGGED", "olderThan": f"{days * 86400}s"}}
        ]
        assert r.protect is r.retain_on_delete is (env == "prod")


# --- cluster ---------------------------------------------------------------------


def test_dev_cluster_is_zonal_with_an_allowlisted_public_endpoint() -> None:
    c = dev().one(CLUSTER)
    assert c.inputs["location"] == "us-central1-a"
    assert c.inputs["privateClusterConfig"] == {"enablePrivateNodes": True, "enablePrivateEndpoint": False}
    assert c.inputs["masterAuthorizedNetworksConfig"] == {
        "cidrBlocks": [{"cidrBlock": "203.0.113.0/24", "displayName": "spec-0"}],
        "gcpPublicCidrsAccessEnabled": False,
    }
    assert c.inputs["releaseChannel"] == {"channel": "REGULAR"}
    assert c.inputs["deletionProtection"] is False


def test_prod_cluster_is_regional_with_a_private_endpoint() -> None:
    c = prod().one(CLUSTER)
    assert c.inputs["location"] == "us-central1"
    assert c.inputs["privateClusterConfig"] == {"enablePrivateNodes": True, "enablePrivateEndpoint": True}
    assert c.inputs["masterAuthorizedNetworksConfig"]["cidrBlocks"] == [{"cidrBlock": "10.30.0.0/16", "displayName": "vpc"}]
    assert c.inputs["releaseChannel"] == {"channel": "STABLE"}
    assert c.inputs["deletionProtection"] is True
    assert prod().outputs["endpoint"].startswith("https://10.")


@pytest.mark.parametrize("stack", ["dev-gcp", "prod-gcp"])
def test_cluster_hardening(stack: str) -> None:
    plan = plan_example(stack)
    c = plan.one(CLUSTER)
    project = json.loads(plan.config["mlops-stack:gcp"])["project"]
    nodes_sa = next(r for r in plan.of_type("gcp:serviceaccount/account:Account") if r.inputs["accountId"].endswith("-nodes"))
    assert c.inputs["workloadIdentityConfig"] == {"workloadPool": f"{project}.svc.id.goog"}
    assert c.inputs["enableShieldedNodes"] is True
    assert c.inputs["datapathProvider"] == "ADVANCED_DATAPATH"
    assert c.inputs["databaseEncryption"] == {"state": "ENCRYPTED", "keyName": keys_by_purpose(plan)["cluster"].id}
    assert c.inputs["removeDefaultNodePool"] is True
    assert c.inputs["masterAuth"] == {"clientCertificateConfig": {"issueClientCertificate": False}}
    assert c.inputs["enableLegacyAbac"] is False
    assert c.inputs["networkingMode"] == "VPC_NATIVE"
    assert c.inputs["ipAllocationPolicy"] == {"clusterSecondaryRangeName": "pods", "servicesSecondaryRangeName": "services"}
    assert c.inputs["minMasterVersion"] == "1.35"
    # Even the short-lived default pool never runs as the default compute service account.
    assert c.inputs["nodeConfig"]["serviceAccount"] == nodes_sa.outputs["email"]
    assert c.inputs["nodeConfig"]["workloadMetadataConfig"] == {"mode": "GKE_METADATA"}
    assert c.ignore_changes == ["nodeConfig", "initialNodeCount"]


def test_node_service_account_is_least_privilege() -> None:
    plan = dev()
    nodes_sa = next(r for r in plan.of_type("gcp:serviceaccount/account:Account") if r.inputs["accountId"] == "mlops-dev-nodes")
    member = nodes_sa.outputs["member"]
    (grant,) = plan.of_type("gcp:projects/iAMMember:IAMMember")
    assert (grant.inputs["role"], grant.inputs["member"]) == ("roles/container.defaultNodeServiceAccount", member)
    pulls = plan.of_type("gcp:artifactregistry/repositoryIamMember:RepositoryIamMember")
    assert sorted(r.inputs["repository"] for r in pulls) == ["mlops-dev-serving", "mlops-dev-training"]
    assert {(r.inputs["role"], r.inputs["member"]) for r in pulls} == {("roles/artifactregistry.reader", member)}


def pools(plan: Plan) -> dict[str, Registration]:
    return {r.inputs["nodeConfig"]["labels"]["mlops-stack/pool"]: r for r in plan.of_type(NODE_POOL)}


@pytest.mark.parametrize("stack", ["dev-gcp", "prod-gcp"])
def test_every_node_pool_is_hardened(stack: str) -> None:
    plan = plan_example(stack)
    disks = keys_by_purpose(plan)["disks"].id
    cluster = plan.one(CLUSTER)
    for name, p in pools(plan).items():
        cfg = p.inputs["nodeConfig"]
        assert p.inputs["cluster"] == cluster.outputs["name"], name
        assert p.inputs["location"] == cluster.outputs["location"], name
        assert cfg["workloadMetadataConfig"] == {"mode": "GKE_METADATA"}, name
        assert cfg["shieldedInstanceConfig"] == {"enableSecureBoot": True, "enableIntegrityMonitoring": True}, name
        assert cfg["metadata"] == {"disable-legacy-endpoints": "true"}, name
        assert cfg["serviceAccount"].startswith(f"mlops-{stack.split('-')[0]}-nodes@"), name
        assert cfg["bootDiskKmsKey"] == disks, name
        assert cfg["imageType"] == "COS_CONTAINERD", name
        assert p.inputs["management"] == {"autoRepair": True, "autoUpgrade": True}, name
        assert p.ignore_changes == ["initialNodeCount", "nodeCount"], name


def test_system_pool_is_untainted_on_demand() -> None:
    sp = pools(prod())["system"]
    assert sp.inputs["nodeConfig"]["machineType"] == "e2-standard-4"
    assert "taints" not in sp.inputs["nodeConfig"] and sp.inputs["nodeConfig"]["spot"] is False
    assert sp.inputs["autoscaling"] == {"totalMinNodeCount": 3, "totalMaxNodeCount": 6, "locationPolicy": "BALANCED"}
    assert sp.inputs["initialNodeCount"] == 1  # per zone, three zones


@pytest.mark.parametrize(
    ("stack", "pool", "machine", "accel", "count", "spot", "lo", "hi"),
    [
        ("dev-gcp", "train", "g2-standard-24", "nvidia-l4", 2, True, 0, 4),
        ("dev-gcp", "infer", "g2-standard-4", "nvidia-l4", 1, False, 0, 2),
        ("prod-gcp", "train", "a2-highgpu-8g", "nvidia-tesla-a100", 8, False, 0, 2),
        ("prod-gcp", "infer", "g2-standard-4", "nvidia-l4", 1, False, 2, 8),
    ],
)
def test_gpu_pools(stack: str, pool: str, machine: str, accel: str, count: int, spot: bool, lo: int, hi: int) -> None:
    p = pools(plan_example(stack))[pool]
    cfg = p.inputs["nodeConfig"]
    gpu = "nvidia-a100-40gb" if accel == "nvidia-tesla-a100" else "nvidia-l4"
    assert cfg["machineType"] == machine
    assert cfg["guestAccelerators"] == [{"type": accel, "count": count, "gpuDriverInstallationConfig": {"gpuDriverVersion": "DEFAULT"}}]
    assert cfg["spot"] is spot
    # No declared taint: GKE taints GPU nodes nvidia.com/gpu=present:NoSchedule itself and
    # refuses a second taint with that key (terraform-provider-google issue 7928).
    assert "taints" not in cfg
    assert cfg["labels"] == gpu_pool_labels(pool, gpu, count)
    assert p.inputs["autoscaling"] == {"totalMinNodeCount": lo, "totalMaxNodeCount": hi, "locationPolicy": "ANY"}


# --- model registry and endpoints --------------------------------------------------


def test_vertex_api_is_enabled_and_never_disabled_on_destroy() -> None:
    services = [r.inputs for r in dev().of_type("gcp:projects/service:Service")]
    assert {s["service"] for s in services} == {
        "compute.googleapis.com",
        "cloudkms.googleapis.com",
        "storage.googleapis.com",
        "artifactregistry.googleapis.com",
        "containerscanning.googleapis.com",
        "container.googleapis.com",
        "binaryauthorization.googleapis.com",
        "aiplatform.googleapis.com",
        "bigquery.googleapis.com",
        # Self-hosted tracking's Cloud SQL instance and its private services access.
        "sqladmin.googleapis.com",
        "servicenetworking.googleapis.com",
        # A fresh project has none of these: service accounts, project IAM, Workload Identity tokens.
        "iam.googleapis.com",
        "cloudresourcemanager.googleapis.com",
        "iamcredentials.googleapis.com",
        # The private endpoint's PSC name (a private Cloud DNS zone).
        "dns.googleapis.com",
    }
    assert all(s["disableOnDestroy"] is False and s["disableDependentServices"] is False for s in services)


@pytest.mark.parametrize("stack", ["dev-gcp", "prod-gcp"])
def test_endpoint_is_cmek_and_private(stack: str) -> None:
    plan = plan_example(stack)
    project = json.loads(plan.config["mlops-stack:gcp"])["project"]
    ep = plan.one("gcp:vertex/aiEndpoint:AiEndpoint")
    assert ep.inputs["encryptionSpec"] == {"kmsKeyName": keys_by_purpose(plan)["vertex"].id}
    assert ep.inputs["privateServiceConnectConfig"] == {"enablePrivateServiceConnect": True, "projectAllowlists": [project]}
    assert "network" not in ep.inputs


@pytest.mark.parametrize(
    ("stack", "machine", "accel", "count", "lo", "hi", "metric", "key"),
    [
        ("dev-gcp", "n1-standard-2", None, 0, 1, 2, "cpu/utilization", "sentiment/v1"),
        ("prod-gcp", "g2-standard-4", "NVIDIA_L4", 1, 2, 6, "accelerator/duty_cycle", "sentiment/v3"),
    ],
)
def test_model_deployment_inputs(stack: str, machine: str, accel: str | None, count: int, lo: int, hi: int, metric: str, key: str) -> None:
    plan = plan_example(stack)
    d = plan.one(DYNAMIC)
    env = stack.split("-")[0]
    ep = plan.one("gcp:vertex/aiEndpoint:AiEndpoint")
    sa = next(r for r in plan.of_type("gcp:serviceaccount/account:Account") if r.inputs["accountId"] == f"mlops-{env}-ep-sentiment")
    assert d.inputs["__provider"] == SECRET
    assert d.inputs["endpoint"] == ep.id
    assert d.inputs["machine_type"] == machine
    assert d.inputs.get("accelerator_type") == accel
    assert d.inputs["accelerator_count"] == count
    assert (d.inputs["min_replicas"], d.inputs["max_replicas"]) == (lo, hi)
    assert d.inputs["autoscaling_metric"] == f"aiplatform.googleapis.com/prediction/online/{metric}"
    assert d.inputs["autoscaling_target"] == 70
    assert d.inputs["traffic_percent"] == 100
    assert d.inputs["service_account"] == sa.outputs["email"]
    assert d.inputs["kms_key_name"] == keys_by_purpose(plan)["vertex"].id
    assert d.inputs["artifact_uri"] == f"{plan.outputs['bucket_uris']['models']}/{key}"
    assert d.inputs["labels"]["mlops-stack-registry"] == f"mlops-{env}-models"


def test_endpoint_identity_reads_only_the_models_bucket() -> None:
    plan = dev()
    sa = next(r for r in plan.of_type("gcp:serviceaccount/account:Account") if r.inputs["accountId"] == "mlops-dev-ep-sentiment")
    grants = [r.inputs for r in plan.of_type("gcp:storage/bucketIAMMember:BucketIAMMember") if r.inputs["member"] == sa.outputs["member"]]
    assert grants == [{"bucket": buckets(plan)["models"].outputs["name"], "role": "roles/storage.objectViewer", "member": sa.outputs["member"]}]
    assert not [r for r in plan.of_type("gcp:projects/iAMMember:IAMMember") if r.inputs["member"] == sa.outputs["member"]]


# --- outputs ---------------------------------------------------------------------


def test_common_outputs() -> None:
    out = dev().outputs
    assert out["bucket_uris"] == {
        "artifacts": "gs://mlops-dev-artifacts-9a07204",
        "models": "gs://mlops-dev-models-9a07204",
        "datasets": "gs://mlops-dev-datasets-9a07204",
    }
    assert out["registry_url"] == "us-central1-docker.pkg.dev/mlops-dev-123456"
    assert out["repository_urls"]["serving"] == "us-central1-docker.pkg.dev/mlops-dev-123456/mlops-dev-serving"
    assert out["model_registry_id"] == "projects/mlops-dev-123456/locations/us-central1/models"
    assert out["cluster_name"] == "mlops-dev"
    assert out["kubeconfig"] == SECRET
    assert out["oidc_issuer"] == "https://container.googleapis.com/v1/projects/mlops-dev-123456/locations/us-central1-a/clusters/mlops-dev"
    assert out["gpu_pools"]["train"] | {"pool_name": None} == {
        "pool_name": None,
        "instance_type": "g2-standard-24",
        "gpu": "nvidia-l4",
        "gpus_per_node": 2,
        "min_nodes": 0,
        "max_nodes": 4,
    }
    ep = out["endpoints"]["sentiment"]
    assert ep["endpoint_name"].startswith("projects/mlops-dev-123456/locations/us-central1/endpoints/")
    # A private (PSC) endpoint is served by its private DNS name in the VPC (gcp/psc.py).
    endpoint_id = ep["endpoint_name"].rsplit("/", 1)[1]
    number = project_number("mlops-dev-123456")
    assert ep["invoke_url"] == f"https://{endpoint_id}-us-central1-{number}.prediction.p.vertexai.goog/v1/{ep['endpoint_name']}:predict"


# --- issue 12: the controls an independent scan asked for --------------------------------


@pytest.mark.parametrize(("plan", "mode"), [(dev, "DRYRUN_AUDIT_LOG_ONLY"), (prod, "ENFORCED_BLOCK_AND_AUDIT_LOG")])
def test_binary_authorization_denies_all_but_the_stack_registry_and_chart_images(plan, mode: str) -> None:
    p = plan()
    cluster = p.one(CLUSTER).inputs
    assert cluster["binaryAuthorization"] == {"evaluationMode": "PROJECT_SINGLETON_POLICY_ENFORCE"}
    policy = p.one("gcp:binaryauthorization/policy:Policy").inputs
    assert policy["defaultAdmissionRule"] == {"evaluationMode": "ALWAYS_DENY", "enforcementMode": mode}
    assert policy["globalPolicyEvaluationMode"] == "ENABLE"
    patterns = [w["namePattern"] for w in policy["admissionWhitelistPatterns"]]
    env = "prod" if mode.startswith("ENFORCED") else "dev"
    repos = sorted(r.inputs["repositoryId"] for r in p.of_type("gcp:artifactregistry/repository:Repository"))
    own = sorted(x for x in patterns if "-docker.pkg.dev/" in x)
    assert [x.rsplit("/", 2)[1] for x in own] == repos
    assert all(x.startswith("us-central1-docker.pkg.dev/") and x.endswith("/**") for x in own)
    if env == "prod":
        assert own[0].split("/")[1] == "mlops-prod-123456"
    assert "nvcr.io/nvidia/**" in patterns and "quay.io/prometheus/**" in patterns
    assert not any(x in ("*", "**") or x.startswith("docker.io/**") for x in patterns)


@pytest.mark.parametrize("plan", [dev, prod])
def test_intranode_visibility_and_container_scanning(plan) -> None:
    p = plan()
    assert p.one(CLUSTER).inputs["enableIntranodeVisibility"] is True
    services = {r.inputs["service"] for r in p.of_type("gcp:projects/service:Service")}
    assert {"containerscanning.googleapis.com", "binaryauthorization.googleapis.com"} <= services


def test_explicit_logged_deny_and_minimal_allow_firewall_rules() -> None:
    p = dev()
    rules = {r.name: r.inputs for r in p.of_type("gcp:compute/firewall:Firewall")}
    deny = rules["mlops-network-deny-all-ingress"]
    assert (deny["direction"], deny["priority"], deny["sourceRanges"]) == ("INGRESS", 65534, ["0.0.0.0/0"])
    assert deny["denies"] == [{"protocol": "all"}]
    assert deny["logConfig"] == {"metadata": "INCLUDE_ALL_METADATA"}
    internal = rules["mlops-network-allow-internal"]
    assert internal["sourceRanges"] == ["10.20.0.0/16"]  # the spec's network.cidr
    assert "logConfig" not in internal  # VPC flow logs record these flows already
    hc = rules["mlops-network-allow-health-checks"]
    assert hc["sourceRanges"] == ["35.191.0.0/16", "130.211.0.0/22"] and hc["allows"] == [{"protocol": "tcp"}]
    assert "logConfig" in hc
    # GKE's own rule admits the control plane on 443 and 10250 only: KServe's webhook (9443)
    # and the others listed in constants.CONTROL_PLANE_WEBHOOK_PORTS get theirs, to the nodes.
    hooks = rules["mlops-cluster-control-plane-webhooks"]
    assert (hooks["direction"], hooks["sourceRanges"]) == ("INGRESS", ["10.20.128.0/19"])  # the node subnet
    assert hooks["allows"] == [{"protocol": "tcp", "ports": ["9443", "10250"]}]
    assert len(hooks["targetServiceAccounts"]) == 1
    # Nothing else is opened to the internet.
    for name, r in rules.items():
        if r.get("allows"):
            assert "0.0.0.0/0" not in r["sourceRanges"], name


def test_google_groups_rbac_is_a_spec_option() -> None:
    assert "authenticatorGroupsConfig" not in dev().one(CLUSTER).inputs
    assert prod().one(CLUSTER).inputs["authenticatorGroupsConfig"] == {"securityGroup": "gke-security-groups@example.com"}


@pytest.mark.parametrize("plan", [dev, prod])
def test_service_accounts_and_key_grants_wait_for_their_apis(plan) -> None:
    """A fresh project: service accounts need the IAM API, project IAM members the Resource
    Manager API, and the GKE/Compute service agents exist only once their API is on."""
    p = plan()

    def api(name: str) -> set[str]:
        return {r.urn for r in p.of_type("gcp:projects/service:Service") if r.inputs["service"] == name}

    for sa in p.of_type("gcp:serviceaccount/account:Account"):
        assert api("iam.googleapis.com") & set(sa.dependencies), sa.name
    for member in p.of_type("gcp:projects/iAMMember:IAMMember"):
        assert api("cloudresourcemanager.googleapis.com") & set(member.dependencies), member.name
    for grant in p.of_type("gcp:kms/cryptoKeyIAMMember:CryptoKeyIAMMember"):
        apis = {r.urn for r in p.of_type("gcp:projects/service:Service") if r.parent == grant.parent}
        assert apis and apis <= set(grant.dependencies), grant.name


def test_prod_dual_region_key_lives_in_the_multi_region_and_only_gcs_may_use_it() -> None:
    p = prod()
    ring = p.one("gcp:kms/keyRing:KeyRing", "mlops-store-dual-region-ring")
    assert ring.inputs["location"] == "us" and (ring.protect, ring.retain_on_delete) == (True, True)
    key = p.one(KEY, "mlops-store-dual-region-key")
    assert key.inputs["keyRing"] == ring.id and key.id.startswith("projects/mlops-prod-123456/locations/us/keyRings/")
    (grant,) = [r for r in p.of_type("gcp:kms/cryptoKeyIAMMember:CryptoKeyIAMMember") if r.inputs["cryptoKeyId"] == key.id]
    assert grant.inputs["role"] == "roles/cloudkms.cryptoKeyEncrypterDecrypter"
    assert grant.inputs["member"].endswith("@gs-project-accounts.iam.gserviceaccount.com")
    assert {b.inputs["labels"]["mlops-stack-replication"] for n, b in buckets(dev()).items() if n != "access-logs"} == {"single-region"}
