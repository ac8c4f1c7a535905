"""Day-2 changes keep the data: for every stateful AWS resource the stack creates, the
inputs the provider replaces it for (tests/fixtures/aws/replace_on_change.json, read from
the provider source), and what changing each spec key that feeds one does.

A spec change either updates every stateful resource in place, or is one of the
documented identity changes (``DOCUMENTED``, docs/operations.md "Changes that replace
stateful resources"), where the resource is new by design and protected in prod."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest

from mlops_stack.offline.engine import Plan
from planning import ROOT, plan_config, plan_example, set_path

FACTS: dict[str, Any] = json.loads((ROOT / "tests/fixtures/aws/replace_on_change.json").read_text())
STATEFUL = {k: v for k, v in FACTS.items() if not k.startswith("_")}


def _config_with(stack: str, changes: dict[str, Any]) -> dict[str, str]:
    config = dict(plan_example(stack).config)
    raw = {k.split(":", 1)[1]: json.loads(v) if v[:1] in "[{\"" or v in ("true", "false") or v[:1].isdigit() else v for k, v in config.items()}
    raw = copy.deepcopy(raw)
    for path, value in changes.items():
        set_path(raw, path, value)
    return {f"mlops-stack:{k}": v if isinstance(v, str) else json.dumps(v) for k, v in raw.items()}


def _plan(stack: str, changes: dict[str, Any]) -> Plan:
    return plan_config(_config_with(stack, changes), stack=stack)


def _self_hosted(stack: str = "dev-aws") -> dict[str, Any]:
    return {"tracking": {"enabled": True, "mode": "self-hosted", "size": "small"}}


def replaced(before: Plan, after: Plan) -> set[tuple[str, str, str]]:
    """``(type, name, input)`` of every stateful resource the change would replace (a
    ForceNew input changed and not ignored), or ``(type, name, "<gone>")`` when the resource
    itself is dropped (a new logical name is a new resource)."""
    out: set[tuple[str, str, str]] = set()
    after_by_urn = after.by_urn()
    for r in before.resources:
        facts = STATEFUL.get(r.type)
        if facts is None:
            continue
        new = after_by_urn.get(r.urn)
        if new is None:
            out.add((r.type, r.name, "<gone>"))
            continue
        for key in facts["forceNew"]:
            if r.inputs.get(key) != new.inputs.get(key) and key not in new.ignore_changes:
                out.add((r.type, r.name, key))
    return out


# --- the facts cover what the stack sets ----------------------------------------------


@pytest.mark.parametrize("plan", [lambda: plan_example("dev-aws"), lambda: plan_example("prod-aws"), lambda: _plan("dev-aws", _self_hosted())])
def test_every_input_the_stack_sets_on_a_stateful_resource_is_classified(plan: Any) -> None:
    p = plan()
    seen = set()
    for r in p.resources:
        facts = STATEFUL.get(r.type)
        if facts is None:
            continue
        seen.add(r.type)
        unknown = set(r.inputs) - set(facts["forceNew"]) - set(facts["inPlace"])
        assert not unknown, f"{r.type} {r.name}: classify {sorted(unknown)} in tests/fixtures/aws/replace_on_change.json"
    assert {"aws:kms/key:Key", "aws:s3/bucket:Bucket", "aws:ecr/repository:Repository"} <= seen


def test_the_self_hosted_plan_has_the_database() -> None:
    assert _plan("dev-aws", _self_hosted()).of_type("aws:rds/instance:Instance")


# --- spec keys that feed them ---------------------------------------------------------

#: Spec changes that must update every stateful resource in place.
IN_PLACE: list[tuple[str, dict[str, Any], Any]] = [
    ("keys.rotationDays", {"keys.rotationDays": 180}, "prod-aws"),
    ("keys.deletionWindowDays", {"keys.deletionWindowDays": 14}, "prod-aws"),
    ("storage.buckets[].noncurrentVersionExpirationDays", {"storage.buckets.0.noncurrentVersionExpirationDays": 45}, "prod-aws"),
    ("storage.buckets[].expirationDays", {"storage.buckets.0.expirationDays": 400}, "prod-aws"),
    ("storage.logRetentionDays", {"storage.logRetentionDays": 400}, "prod-aws"),
    ("containerRegistry.untaggedExpiryDays", {"containerRegistry.untaggedExpiryDays": 3}, "prod-aws"),
    ("containerRegistry.immutableTags", {"containerRegistry.immutableTags": False}, "prod-aws"),
    ("modelRegistry.description", {"modelRegistry.description": "other words"}, "prod-aws"),
    ("tags", {"tags.team": "vision"}, "prod-aws"),
    ("tracking.size", {"tracking.size": "large"}, "dev-aws"),
    ("tracking.maintenanceWindow", {"tracking.maintenanceWindow": "Sat:04:00"}, "dev-aws"),
    ("tracking.automaticModelRegistration", {"tracking.automaticModelRegistration": False}, "dev-aws"),
    ("tracking.bucket", {"tracking.bucket": "models"}, "dev-aws"),
]


@pytest.mark.parametrize(("key", "changes", "stack"), IN_PLACE, ids=[c[0] for c in IN_PLACE])
def test_spec_key_updates_stateful_resources_in_place(key: str, changes: dict[str, Any], stack: str) -> None:
    before = plan_example(stack)
    after = _plan(stack, changes)
    assert before.resources != after.resources or key == "tags", f"{key}: the change reached no resource"
    assert replaced(before, after) == set(), key


def test_the_mlflow_version_of_a_live_server_never_replaces_it(monkeypatch: pytest.MonkeyPatch) -> None:
    from mlops_stack.aws import tracking

    before = plan_example("dev-aws")
    monkeypatch.setattr(tracking, "SAGEMAKER_MLFLOW_VERSION", "3.1")
    after = _plan("dev-aws", {})
    server = after.one("aws:sagemaker/mlflowTrackingServer:MlflowTrackingServer")
    assert server.inputs["mlflowVersion"] == "3.1"  # a new stack gets the new line
    assert replaced(before, after) == set()  # a live one keeps its own


def test_self_hosted_database_settings_update_in_place() -> None:
    base = _self_hosted()
    before = _plan("dev-aws", base)
    for changes in ({"tracking.database.backupRetentionDays": 14}, {"tracking.database.highAvailability": True}, {"tracking.size": "medium"}):
        after = _plan("dev-aws", {**base, **changes})
        assert replaced(before, after) == set(), changes


#: Identity changes: the resource is a new one by design (docs/operations.md). Each is
#: protected in prod, so a prod apply stops at the delete instead of losing data.
DOCUMENTED: list[tuple[str, dict[str, Any], set[tuple[str, str, str]]]] = [
    (
        "modelRegistry.name",
        {"modelRegistry.name": "registry"},
        {("aws:sagemaker/modelPackageGroup:ModelPackageGroup", "mlops-models-group", "modelPackageGroupName")},
    ),
    (
        "containerRegistry.repositories",
        {"containerRegistry.repositories": ["training", "inference"]},
        {("aws:ecr/repository:Repository", "mlops-registry-serving", "<gone>")},
    ),
    (
        "storage.buckets[].name",
        {"storage.buckets.2.name": "data"},
        {("aws:s3/bucket:Bucket", "mlops-store-datasets", "<gone>"), ("aws:s3/bucket:Bucket", "mlops-store-datasets-replica", "<gone>")},
    ),
]


@pytest.mark.parametrize(("key", "changes", "expected"), DOCUMENTED, ids=[d[0] for d in DOCUMENTED])
def test_identity_changes_replace_only_what_is_documented_and_protected(key: str, changes: dict[str, Any], expected: set[tuple[str, str, str]]) -> None:
    before = plan_example("prod-aws")
    assert replaced(before, _plan("prod-aws", changes)) == expected
    for type_, name, _ in expected:
        r = before.one(type_, name)
        assert (r.protect, r.retain_on_delete) == (True, True), name
    text = (ROOT / "docs/operations.md").read_text()
    assert f"`{key}`" in text, f"docs/operations.md does not document {key}"


@pytest.mark.parametrize("key", ["name", "environment", "region"])
def test_the_stack_identity_keys_are_documented(key: str) -> None:
    # name/environment/region name every resource: changing one is a new environment.
    text = (ROOT / "docs/operations.md").read_text()
    assert f"`{key}`" in text.split("## Changes that replace stateful resources", 1)[1]


def test_the_tracking_server_name_and_role_never_change_for_a_spec_key() -> None:
    # trackingServerName and roleArn are ForceNew; the name is <prefix>-mlflow and the role
    # auto-named, so only name/environment (the identity keys) move them.
    before = plan_example("dev-aws")
    for key, changes, stack in IN_PLACE:
        if stack != "dev-aws":
            continue
        after = _plan("dev-aws", changes)
        s0 = before.one("aws:sagemaker/mlflowTrackingServer:MlflowTrackingServer")
        s1 = after.one("aws:sagemaker/mlflowTrackingServer:MlflowTrackingServer")
        assert (s0.inputs["trackingServerName"], s0.inputs["roleArn"]) == (s1.inputs["trackingServerName"], s1.inputs["roleArn"]), key
