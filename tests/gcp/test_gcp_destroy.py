"""Issue 25: what a GCP `pulumi destroy` meets, and the tracking database's settings a
security review reads (logging flags, point-in-time recovery window), from the plans.

Every resource the dev plan gives a deletion setting other than "delete" is either
handled here (asserted) or named, with its command, in docs/operations.md ("GCP destroy")."""

from __future__ import annotations

import re

import pytest

from mlops_stack.gcp.database import DATABASE_FLAGS, MAX_LOG_RETENTION_DAYS, log_retention_days, psa_deletion_policy
from mlops_stack.offline.stackfile import read_stack_file
from planning import ROOT, STACKS, plan_example

SQL = "gcp:sql/databaseInstance:DatabaseInstance"
PSA = "gcp:servicenetworking/connection:Connection"
OPERATIONS = (ROOT / "docs" / "operations.md").read_text()
GCP_DOC = (ROOT / "docs" / "gcp.md").read_text()


def test_dev_destroy_removes_the_peering_and_prod_keeps_it() -> None:
    # pulumi-gcp 10.2.0 servicenetworking.Connection.deletion_policy: ABANDON leaves the
    # peering, "which will block deletion of the network"; REMOVE_PEERING removes it when the
    # API refuses the delete (Cloud SQL keeps producer resources for days).
    assert plan_example("dev-gcp").one(PSA).inputs["deletionPolicy"] == "REMOVE_PEERING"
    assert plan_example("prod-gcp").one(PSA).inputs["deletionPolicy"] == "ABANDON"
    assert (psa_deletion_policy(False), psa_deletion_policy(True)) == ("REMOVE_PEERING", "ABANDON")


def test_the_database_waits_for_the_peering_so_destroy_deletes_it_first() -> None:
    plan = plan_example("dev-gcp")
    assert plan.one(PSA).urn in plan.one(SQL).dependencies


#: What the dev plan may hold that a plain delete does not end, and the docs/operations.md
#: text that handles it (the exact command, or why it is no blocker).
DOCUMENTED = {
    ("gcp:storage/bucket:Bucket", "forceDestroy", "False"): "gcloud storage rm --recursive --all-versions",
    ("gcp:projects/service:Service", "disableOnDestroy", "False"): "APIs stay enabled",
    ("gcp:projects/service:Service", "disableDependentServices", "False"): "APIs stay enabled",
    ("gcp:bigquery/dataset:Dataset", "deleteContentsOnDestroy", "False"): "bq rm -f -t",
    ("gcp:servicenetworking/connection:Connection", "deletionPolicy", "REMOVE_PEERING"): "REMOVE_PEERING",
    ("gcp:kms/keyRing:KeyRing", "", ""): "key rings and keys cannot be deleted",
}
SETTINGS = ("deletionPolicy", "forceDestroy", "deleteContentsOnDestroy", "disableOnDestroy", "disableDependentServices", "deletionProtection")


def _settings(plan: object) -> set[tuple[str, str, str]]:
    found = set()
    for r in plan.resources:  # type: ignore[attr-defined]
        for key in SETTINGS:
            if key in r.inputs:
                found.add((r.type, key, str(r.inputs[key])))
        if r.type == "gcp:kms/keyRing:KeyRing":
            found.add((r.type, "", ""))
    return found


def test_every_non_delete_setting_of_the_dev_plan_is_handled_or_documented() -> None:
    plan = plan_example("dev-gcp")
    found = _settings(plan)
    # deletionProtection false (cluster, Cloud SQL) is a plain delete; true is prod only.
    blockers = {f for f in found if f[1] != "deletionProtection"}
    assert blockers <= set(DOCUMENTED), blockers - set(DOCUMENTED)
    assert ("gcp:container/cluster:Cluster", "deletionProtection", "False") in found
    assert ("gcp:sql/databaseInstance:DatabaseInstance", "deletionProtection", "False") in found
    section = OPERATIONS.split("## GCP destroy", 1)[1].split("\n## ", 1)[0]
    for text in DOCUMENTED.values():
        assert text in section, text
    assert not any(r.protect or r.retain_on_delete for r in plan.resources)


@pytest.mark.parametrize("stack", ["dev-gcp", "prod-gcp"])
def test_the_tracking_database_logs_what_a_security_review_expects(stack: str) -> None:
    flags = {f["name"]: f["value"] for f in plan_example(stack).one(SQL).inputs["settings"]["databaseFlags"]}
    assert flags == {
        "log_connections": "on",
        "log_disconnections": "on",
        "log_lock_waits": "on",
        "log_checkpoints": "on",
        "log_temp_files": "0",
        "log_statement": "ddl",
        "log_min_duration_statement": "-1",
        "log_min_messages": "warning",
        "log_min_error_statement": "error",
        "cloudsql.enable_pgaudit": "on",
        "pgaudit.log": "ddl,role",
    }
    # Each decision is written down where users read (docs/gcp.md).
    for name, _value in DATABASE_FLAGS:
        assert f"`{name}`" in GCP_DOC, name


def test_point_in_time_recovery_is_what_cloud_sql_enterprise_keeps_and_the_stack_file_says_so() -> None:
    settings = plan_example("prod-gcp").one(SQL).inputs["settings"]
    assert settings["edition"] == "ENTERPRISE"
    backup = settings["backupConfiguration"]
    assert backup["pointInTimeRecoveryEnabled"] is True
    assert (backup["transactionLogRetentionDays"], backup["backupRetentionSettings"]["retainedBackups"]) == (7, 14)
    assert MAX_LOG_RETENTION_DAYS == {"ENTERPRISE": 7, "ENTERPRISE_PLUS": 35}
    assert (log_retention_days(5), log_retention_days(14), log_retention_days(14, "ENTERPRISE_PLUS")) == (5, 7, 14)
    text = (STACKS / "Pulumi.prod-gcp.yaml").read_text()
    assert read_stack_file(STACKS / "Pulumi.prod-gcp.yaml").raw_spec["tracking"]["database"]["backupRetentionDays"] == 14
    assert not re.search(r"14 days of\s+#?\s*point-in-time", text)
    assert "7 days of point-in-time recovery" in text
