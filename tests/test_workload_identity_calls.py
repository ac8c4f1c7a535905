"""The planned storage grants against the exact calls the downloaders make.

tests/fixtures/storage-downloads.json lists, per URI scheme, the calls of KServe v0.20.0's
storage initializer and of MLflow 3.17.2's artifact repositories, and how each call is
authorised (with sources). Here each call of a cluster endpoint's model download, built from
the planned InferenceService's storageUri the way KServe parses it, is evaluated against the
grant the same plan gives the endpoint's identity (tests/grant_eval.py): every call is
allowed, and the same calls one folder over (including a sibling whose name starts the same
way, ``v1`` / ``v10``) are refused."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import pytest

from grant_eval import BlobRequest, abac_allows, cel_allows, iam_allows
from planning import plan_example
from mlops_stack.aws.workload_identity import ResolvedGrant, workload_policy
from mlops_stack.azure.workload_identity import prefix_condition as blob_condition
from mlops_stack.gcp.workload_identity import WRITE_ROLE, prefix_condition as gcs_condition

ROOT = Path(__file__).resolve().parents[1]
FACTS = json.loads((ROOT / "tests" / "fixtures" / "storage-downloads.json").read_text())
AUTHZ = FACTS["authorization"]
KSERVE = FACTS["downloaders"]["kserve-storage-initializer"]
MLFLOW = FACTS["downloaders"]["mlflow-artifacts"]
FILE = "model.safetensors"
_PATH = "@Resource[Microsoft.Storage/storageAccounts/blobServices/containers/blobs:path]"
_PREFIX = "@Request[Microsoft.Storage/storageAccounts/blobServices/containers/blobs:prefix]"


def calls(downloader: dict[str, Any], scheme: str, bucket: str, folder: str) -> list[dict[str, str]]:
    """The downloader's calls for ``folder`` (no trailing '/') in ``bucket``."""
    text = json.dumps(downloader[scheme]["calls"]).replace("{bucket}", bucket).replace("{folder}", folder).replace("{file}", FILE)
    return json.loads(text)


def _inputs(stack: str) -> list[dict[str, Any]]:
    return [r.to_dict() for r in plan_example(stack).resources]


def _cluster_endpoint(stack: str) -> tuple[str, str, list[dict[str, Any]]]:
    """(endpoint name, storageUri) of the stack's one cluster endpoint, and the plan."""
    resources = _inputs(stack)
    isvcs = [r for r in resources if r["type"] == "kubernetes:serving.kserve.io/v1beta1:InferenceService"]
    assert len(isvcs) == 1, [r["name"] for r in isvcs]
    predictor = isvcs[0]["inputs"]["spec"]["predictor"]
    return predictor["serviceAccountName"].removesuffix("-model"), predictor["model"]["storageUri"], resources


def _grants(resources: list[dict[str, Any]], endpoint: str, type_: str) -> list[dict[str, Any]]:
    found = [r["inputs"] for r in resources if r["type"] == type_ and r["name"].startswith(f"mlops-endpoint-{endpoint}-identity-")]
    assert found, (endpoint, type_)
    return found


# ------------------------------------------------------------------------------ the facts


def test_the_facts_name_their_source_and_the_s3_head_bucket_call() -> None:
    assert KSERVE["version"] == "v0.20.0" and MLFLOW["version"] == "3.17.2"
    assert all("source" in KSERVE[s] and "source" in MLFLOW[s] for s in ("s3", "gcs", "blob"))
    assert [c["api"] for c in KSERVE["s3"]["calls"]] == ["HeadBucket", "ListObjects", "HeadObject", "GetObject"]
    assert AUTHZ["s3"]["HeadBucket"] == {**AUTHZ["s3"]["HeadBucket"], "action": "s3:ListBucket", "condition_keys": []}
    # KServe lists S3 and GCS with the folder's '/', Azure Blob without it.
    assert [c.get("prefix") for c in KSERVE["s3"]["calls"]][1] == "{folder}/"
    assert KSERVE["gcs"]["calls"][0]["prefix"] == "{folder}/"
    assert KSERVE["blob"]["calls"][0]["prefix"] == "{folder}"


# ------------------------------------------------------------------------------ AWS


def _s3_request(call: dict[str, str]) -> tuple[str, str, dict[str, str]]:
    how = AUTHZ["s3"][call["api"]]
    arn = f"arn:aws:s3:::{call['bucket']}"
    resource = arn if how["resource"] == "bucket" else f"{arn}/{call['key']}"
    context = {"s3:prefix": call["prefix"]} if "s3:prefix" in how["condition_keys"] and "prefix" in call else {}
    return how["action"], resource, context


def _s3_uri(uri: str) -> tuple[str, str]:
    parsed = urlparse(uri, scheme="s3")  # as Storage._download_s3 parses it
    return parsed.netloc, parsed.path.lstrip("/")


@pytest.fixture(scope="module")
def aws_endpoint() -> tuple[str, str, str]:
    endpoint, uri, resources = _cluster_endpoint("dev-aws")
    (policy,) = [g["policy"] for g in _grants(resources, endpoint, "aws:iam/rolePolicy:RolePolicy")]
    bucket, bucket_path = _s3_uri(uri)
    assert uri.startswith("s3://") and bucket_path.endswith("/")
    return policy, bucket, bucket_path.removesuffix("/")


def test_aws_every_call_kserve_makes_is_allowed(aws_endpoint: tuple[str, str, str]) -> None:
    policy, bucket, folder = aws_endpoint
    for call in calls(KSERVE, "s3", bucket, folder):
        assert iam_allows(policy, *_s3_request(call)), call
    # The stack key, through S3 (bucket keys on: the context is the bucket ARN).
    key = json.loads(policy)["Statement"][-1]["Resource"]
    ctx = {"kms:ViaService": "s3.us-east-1.amazonaws.com", "kms:EncryptionContext:aws:s3:arn": f"arn:aws:s3:::{bucket}"}
    assert iam_allows(policy, "kms:Decrypt", key, ctx)


@pytest.mark.parametrize("other", ["{folder}0", "{folder}-old", "other-model"])
def test_aws_the_same_calls_one_folder_over_are_refused_except_the_bucket_check(aws_endpoint: tuple[str, str, str], other: str) -> None:
    policy, bucket, folder = aws_endpoint
    for call in calls(KSERVE, "s3", bucket, other.format(folder=folder)):
        expected = call["api"] == "HeadBucket"
        assert iam_allows(policy, *_s3_request(call)) is expected, call


def test_aws_the_bucket_check_is_a_listing_without_prefix_and_nothing_else(aws_endpoint: tuple[str, str, str]) -> None:
    """The documented trade-off: HeadBucket cannot be told from a ListObjects that names no
    prefix, so the endpoint may list the bucket's object names; any listing that names a
    prefix (even an empty one) outside its folder stays refused, and so does every read."""
    policy, bucket, folder = aws_endpoint
    arn = f"arn:aws:s3:::{bucket}"
    assert iam_allows(policy, "s3:ListBucket", arn, {})
    assert not iam_allows(policy, "s3:ListBucket", arn, {"s3:prefix": ""})
    assert not iam_allows(policy, "s3:ListBucket", arn, {"s3:prefix": folder.rsplit("/", 1)[0] + "/"})
    assert not iam_allows(policy, "s3:GetObject", f"{arn}/README.md")
    checks = [s for s in json.loads(policy)["Statement"] if s.get("Condition", {}).get("Null")]
    assert checks == [{"Sid": "BucketCheck0", "Effect": "Allow", "Action": "s3:ListBucket", "Resource": arn, "Condition": {"Null": {"s3:prefix": "true"}}}]


def test_aws_a_grant_without_bucket_check_still_refuses_head_bucket() -> None:
    doc = workload_policy(partition="aws", region="us-east-1", key=None, grants=[ResolvedGrant(bucket="b", prefix="mlflow/", write=True)])
    assert not iam_allows(doc, "s3:ListBucket", "arn:aws:s3:::b", {})


def test_aws_every_call_mlflow_makes_is_allowed_on_its_write_grant() -> None:
    doc = workload_policy(partition="aws", region="us-east-1", key=None, grants=[ResolvedGrant(bucket="b", prefix="mlflow/", write=True)])
    for call in calls(MLFLOW, "s3", "b", "mlflow"):
        assert iam_allows(doc, *_s3_request(call)), call
    for call in calls(MLFLOW, "s3", "b", "mlflowx"):
        assert not iam_allows(doc, *_s3_request(call)), call


# ------------------------------------------------------------------------------ GCP


def _gcs_request(call: dict[str, str]) -> tuple[str, str, str | None]:
    how = AUTHZ["gcs"][call["api"]]
    name = how["resource"].replace("{bucket}", call["bucket"]).replace("{name}", call.get("name", ""))
    return how["permission"], name, call.get("prefix")


@pytest.fixture(scope="module")
def gcp_endpoint() -> tuple[dict[str, Any], str, str]:
    endpoint, uri, resources = _cluster_endpoint("dev-gcp")
    (grant,) = _grants(resources, endpoint, "gcp:storage/bucketIAMMember:BucketIAMMember")
    bucket, _, path = uri.removeprefix("gs://").partition("/")  # as Storage._download_gcs splits it
    assert path.endswith("/") and grant["bucket"] == bucket
    return grant, bucket, path.removesuffix("/")


def test_gcp_every_call_kserve_makes_is_allowed(gcp_endpoint: tuple[dict[str, Any], str, str]) -> None:
    grant, bucket, folder = gcp_endpoint
    for call in calls(KSERVE, "gcs", bucket, folder):
        assert cel_allows(grant["role"], grant["condition"]["expression"], *_gcs_request(call)), call


@pytest.mark.parametrize("other", ["{folder}0", "other-model"])
def test_gcp_the_same_calls_one_folder_over_are_refused(gcp_endpoint: tuple[dict[str, Any], str, str], other: str) -> None:
    grant, bucket, folder = gcp_endpoint
    for call in calls(KSERVE, "gcs", bucket, other.format(folder=folder)):
        assert not cel_allows(grant["role"], grant["condition"]["expression"], *_gcs_request(call)), call
    # A listing that names no prefix, or the parent, is refused too.
    assert not cel_allows(grant["role"], grant["condition"]["expression"], "storage.objects.list", f"projects/_/buckets/{bucket}", None)
    assert not cel_allows(grant["role"], grant["condition"]["expression"], "storage.objects.list", f"projects/_/buckets/{bucket}", folder)


def test_gcp_every_call_mlflow_makes_is_allowed_on_its_write_grant() -> None:
    expression = gcs_condition("b", "mlflow/")
    for call in calls(MLFLOW, "gcs", "b", "mlflow"):
        assert cel_allows(WRITE_ROLE, expression, *_gcs_request(call)), call
    for call in calls(MLFLOW, "gcs", "b", "mlflowx"):
        assert not cel_allows(WRITE_ROLE, expression, *_gcs_request(call)), call


# ------------------------------------------------------------------------------ Azure


def _blob_request(call: dict[str, str]) -> BlobRequest:
    how = AUTHZ["blob"][call["api"]]
    attributes = {_PREFIX: call["prefix"]} if "prefix" in call else {_PATH: call["path"]}
    return BlobRequest(action=how["data_action"], container=call["container"], suboperation=how["suboperation"], attributes=attributes)


@pytest.fixture(scope="module")
def azure_endpoint() -> tuple[dict[str, Any], str, str]:
    endpoint, uri, resources = _cluster_endpoint("dev-azure")
    (grant,) = _grants(resources, endpoint, "azure-native:authorization:RoleAssignment")
    # As Storage._parse_azure_uri: the container, then the rest with every '/' stripped at both ends.
    container, prefix = urlparse(uri).path.lstrip("/").split("/", 1)
    assert uri.endswith("/")
    return grant, container, prefix.strip("/")


def _abac(grant: dict[str, Any], request: BlobRequest) -> bool:
    return abac_allows(grant["roleDefinitionId"].rsplit("/", 1)[-1], grant["scope"], grant["condition"], request)


def test_azure_every_call_kserve_makes_is_allowed(azure_endpoint: tuple[dict[str, Any], str, str]) -> None:
    grant, container, folder = azure_endpoint
    for call in calls(KSERVE, "blob", container, folder):
        assert _abac(grant, _blob_request(call)), call


@pytest.mark.parametrize("other", ["other-model", "{folder}0"])
def test_azure_the_same_calls_one_folder_over_are_refused(azure_endpoint: tuple[dict[str, Any], str, str], other: str) -> None:
    grant, container, folder = azure_endpoint
    for call in calls(KSERVE, "blob", container, other.format(folder=folder)):
        assert not _abac(grant, _blob_request(call)), call
    for prefix in (None, "", folder.rsplit("/", 1)[0]):  # no prefix, an empty one, the parent
        listing = BlobRequest(action=AUTHZ["blob"]["List Blobs"]["data_action"], container=container, suboperation="Blob.List",
                              attributes={} if prefix is None else {_PREFIX: prefix})
        assert not _abac(grant, listing), prefix


def test_azure_a_sibling_folder_breaks_kserves_download_so_the_spec_refuses_it(azure_endpoint: tuple[dict[str, Any], str, str]) -> None:
    """KServe lists ``<folder>`` without '/', so the listing returns ``<folder>0/...`` too and
    KServe then reads those blobs: refused by the exact grant, the whole download fails. The
    grant cannot be exact about the listing (the request carries the folder without '/'), so
    the spec refuses such keys (tests/test_serving_spec.py)."""
    grant, container, folder = azure_endpoint
    listing, read_mine = calls(KSERVE, "blob", container, folder)
    read_sibling = {**read_mine, "path": f"{folder}0/{FILE}"}
    assert _abac(grant, _blob_request(listing)) and _abac(grant, _blob_request(read_mine))
    assert not _abac(grant, _blob_request(read_sibling))


def test_azure_every_call_mlflow_makes_is_allowed_on_its_write_grant() -> None:
    condition = blob_condition("c", ["mlflow/"], True)
    contributor = "ba92f5b4-2d11-453d-a403-e96b0029c9fe"
    scope = "/subscriptions/s/resourceGroups/r/providers/Microsoft.Storage/storageAccounts/a/blobServices/default/containers/c"
    for call in calls(MLFLOW, "blob", "c", "mlflow"):
        assert abac_allows(contributor, scope, condition, _blob_request(call)), call
    for call in calls(MLFLOW, "blob", "c", "mlflowx"):
        assert not abac_allows(contributor, scope, condition, _blob_request(call)), call
