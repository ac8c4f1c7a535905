"""Every globally unique name the example stacks make, on every target (issue 26).

A name that is unique across all customers of a cloud (or across a region) must not be a
plain function of the spec's ``name``/``environment``: the next person deploying the same
example, or the same spec in a second subscription/project/account, would collide. Each
row says where the name must be unique, what makes it unique (a hash of what), and the
cloud's length limit and character rule; the test checks every such resource in every
example plan against its row, and that the table covers every type the plans use.

Sources of the limits: Azure "Naming rules and restrictions for Azure resources"
(Microsoft.Storage/storageAccounts 3-24 lower-case alphanumerics, Microsoft.KeyVault/vaults
3-24 alphanumerics and hyphens starting with a letter, Microsoft.ContainerRegistry/registries
5-50 alphanumerics, Microsoft.DBforPostgreSQL/flexibleServers 3-63 lower-case
alphanumerics and hyphens); Azure ML registry and online endpoint names as the Azure
modules enforce them (``REGISTRY_NAME_MAX``, ``ENDPOINT_NAME_MAX``); S3 bucket names 3-63
(bucket_prefix at most 37: the AWS provider appends a 26-character unique suffix,
terraform-plugin-sdk ``id.UniqueIDSuffixLength``); GCS bucket names 3-63.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass
from typing import Any, Callable

import pytest

from mlops_stack.azure._naming import bounded_name, container_registry_name, key_vault_name, storage_account_name
from mlops_stack.azure.endpoint import ENDPOINT_NAME_MAX
from mlops_stack.azure.model_registry import REGISTRY_NAME_MAX
from mlops_stack.offline.engine import Plan, Registration
from planning import example_stacks, plan_config, plan_example


@dataclass(frozen=True)
class GlobalName:
    type: str
    key: str  # the input holding the physical name
    unique_in: str
    source: str  # what makes the name unique
    max_length: int
    charset: str  # a full-match regex
    #: (registration, plan) -> the name the source gives; None: checked by ``extra`` only.
    expected: Callable[[Registration, Plan], str] | None = None


def _rg_id(plan: Plan) -> str:
    return plan.one("azure-native:resources:ResourceGroup").id


def _prefix(plan: Plan) -> str:
    return f"mlops-{plan.stack.split('-')[0]}"


def _gcs(reg: Registration, plan: Plan) -> str:
    project = json.loads(plan.config["mlops-stack:gcp"])["project"]
    logical = reg.name.removeprefix("mlops-store-")
    return f"{_prefix(plan)}-{logical}-{hashlib.sha1(project.encode()).hexdigest()[:7]}"


GLOBAL_NAMES = (
    GlobalName("azure-native:storage:StorageAccount", "accountName", "all of Azure (DNS <name>.blob.core.windows.net)",
               "sha256 of the resource group's ARM ID (subscription + group), 8 hex", 24, r"[a-z0-9]{3,24}",
               lambda r, p: storage_account_name(_prefix(p), _rg_id(p))),
    GlobalName("azure-native:keyvault:Vault", "vaultName", "all of Azure (DNS <name>.vault.azure.net; 90-day soft delete keeps it)",
               "sha256 of the resource group's ARM ID, 8 hex", 24, r"[a-z][a-z0-9-]{1,22}[a-z0-9]",
               lambda r, p: key_vault_name(_prefix(p), _rg_id(p))),
    GlobalName("azure-native:containerregistry:Registry", "registryName", "all of Azure (DNS <name>.azurecr.io)",
               "sha256 of the resource group's ARM ID, 8 hex", 50, r"[a-z0-9]{5,50}",
               lambda r, p: container_registry_name(_prefix(p), _rg_id(p))),
    GlobalName("azure-native:machinelearningservices:Registry", "registryName", "all of Azure (immutable)",
               "sha256 of the resource group's ARM ID, 6 hex", REGISTRY_NAME_MAX, r"[a-z0-9][a-z0-9_-]{2,31}",
               lambda r, p: bounded_name(f"{_prefix(p)}-models", REGISTRY_NAME_MAX, seed=_rg_id(p))),
    GlobalName("azure-native:machinelearningservices:OnlineEndpoint", "endpointName", "the region, across tenants (DNS <name>.<region>.inference.ml.azure.com)",
               "sha256 of the resource group's ARM ID, lower-cased, 6 hex", ENDPOINT_NAME_MAX, r"[a-z][a-z0-9-]{1,30}[a-z0-9]",
               lambda r, p: bounded_name(f"{_prefix(p)}-{r.name.split('-')[2]}", ENDPOINT_NAME_MAX, seed=_rg_id(p).lower())),
    GlobalName("azure-native:dbforpostgresql:Server", "serverName", "all of Azure (DNS <name>.postgres.database.azure.com)",
               "sha256 of the resource group's ARM ID, 6 hex", 63, r"[a-z0-9][a-z0-9-]{1,61}[a-z0-9]",
               lambda r, p: bounded_name(f"{_prefix(p)}-mlflow-pg", 63, seed=_rg_id(p))),
    GlobalName("aws:s3/bucket:Bucket", "bucketPrefix", "all of AWS (partition)",
               "the AWS provider's 26-character unique suffix after bucketPrefix (no fixed name is sent)", 37, r"[a-z0-9][a-z0-9.-]{1,35}-"),
    GlobalName("gcp:storage/bucket:Bucket", "name", "all of Google Cloud",
               "sha1 of the project ID, 7 hex", 63, r"[a-z0-9][a-z0-9_.-]{1,61}[a-z0-9]", _gcs),
)
BY_TYPE = {g.type: g for g in GLOBAL_NAMES}


def self_hosted_azure() -> Plan:
    """dev-azure with self-hosted tracking: the plan that has a PostgreSQL flexible server."""
    config = dict(plan_example("dev-azure").config)
    config["mlops-stack:tracking"] = json.dumps({"enabled": True, "mode": "self-hosted"})
    return plan_config(config, stack="dev-azure")


def plans() -> list[Plan]:
    return [plan_example(s) for s in example_stacks()] + [self_hosted_azure()]


@pytest.fixture(scope="module")
def all_plans() -> list[Plan]:
    return plans()


def test_every_global_name_is_hashed_and_within_the_limits(all_plans: list[Plan]) -> None:
    seen: dict[str, int] = {}
    for plan in all_plans:
        for row in GLOBAL_NAMES:
            for reg in plan.of_type(row.type):
                seen[row.type] = seen.get(row.type, 0) + 1
                name = reg.inputs[row.key]
                assert len(name) <= row.max_length and re.fullmatch(row.charset, name), (plan.stack, reg.name, name)
                if row.expected is not None:
                    assert name == row.expected(reg, plan), (plan.stack, reg.name)
                else:  # S3: only a prefix is sent, the provider makes the name unique
                    assert "bucket" not in reg.inputs, (plan.stack, reg.name)
    # Every row is exercised by some example plan.
    assert sorted(seen) == sorted(BY_TYPE)


def test_no_global_name_is_a_plain_function_of_the_spec_name(all_plans: list[Plan]) -> None:
    # The same spec in another subscription / project gives another name (the seed differs).
    other_rg = "/subscriptions/00000000-0000-4000-8000-00000000ffff/resourceGroups/mlops-dev-rg"
    assert storage_account_name("mlops-dev", other_rg) != storage_account_name("mlops-dev", _rg_id(plan_example("dev-azure")))
    for plan in all_plans:
        for row in GLOBAL_NAMES:
            for reg in plan.of_type(row.type):
                name = reg.inputs[row.key]
                plain = re.sub(r"[^a-z0-9]", "", f"{_prefix(plan)}{reg.name.removeprefix('mlops-')}")
                assert re.sub(r"[^a-z0-9]", "", name) != plain, (plan.stack, reg.name, name)


def test_the_table_says_where_and_why() -> None:
    for row in GLOBAL_NAMES:
        assert row.unique_in and row.source and row.max_length > 0, row
    assert {g.type.split(":")[0] for g in GLOBAL_NAMES} == {"azure-native", "aws", "gcp"}
