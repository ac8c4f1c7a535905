"""`mlops-stack plan` as a PR pipeline uses it: exit codes, the JSON policy and cost
sections, valid SARIF, the Markdown summary, parallel == serial, and a cost estimate
recomputed by hand from the catalog."""

from __future__ import annotations

import functools
import json
import subprocess
import sys
from pathlib import Path

import jsonschema
import pytest

from planning import ROOT, STACKS
from mlops_stack.offline.cost import estimate
from mlops_stack.offline.pipeline import Options, canonical, run_many
from mlops_stack.offline.stackfile import read_stack_file
from mlops_stack.spec import load_spec

pytestmark = pytest.mark.slow
SARIF_SCHEMA = Path(sys.prefix) / "share" / "mlops-stack" / "sarif-2.1.0.json"


@functools.cache
def planned(stack: str) -> tuple[list[dict], object]:
    """The planned resources of ``stacks/Pulumi.<stack>.yaml`` and its spec."""
    from mlops_stack.offline.plan import plan_stack_file

    path = STACKS / f"Pulumi.{stack}.yaml"
    return plan_stack_file(path).document()["resources"], load_spec(read_stack_file(path).raw_spec)


def planned_estimate(stack: str):
    return estimate(*planned(stack))


def cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "mlops_stack.cli", *args], cwd=ROOT, capture_output=True, text=True, timeout=600)


def test_json_has_policy_and_cost_sections_and_exit_0() -> None:
    res = cli("plan", "--stack", "prod-aws", "--format", "json")
    assert res.returncode == 0, res.stderr
    doc = json.loads(res.stdout)
    assert doc["policy"] == {"violations": []}
    cost = doc["cost"]
    assert cost["currency"] == "USD" and 0 < cost["monthlyMin"] < cost["monthlyMax"]
    assert {"component", "item", "unitPrice", "monthlyMin", "monthlyMax", "source", "retrieved", "verified"} <= set(cost["items"][0])
    assert {u["item"] for u in cost["unpriced"]} >= {"NAT data processing", "image storage"}


def test_mandatory_violations_exit_1_and_land_in_sarif_and_markdown(tmp_path: Path) -> None:
    cfg = tmp_path / "policy.json"
    cfg.write_text(json.dumps({"allowed-regions": {"allowedRegions": ["eu-west-1"]}}))
    sarif_file = tmp_path / "plan.sarif"
    res = cli("plan", "--stack", "dev-aws", "--policy-pack-config", str(cfg), "--format", "sarif", "--output", str(sarif_file))
    assert res.returncode == 1, res.stderr
    sarif = json.loads(sarif_file.read_text())
    assert SARIF_SCHEMA.is_file(), f"SARIF schema missing at {SARIF_SCHEMA}: run `make sarif-schema`"
    jsonschema.validate(sarif, json.loads(SARIF_SCHEMA.read_text()))
    results = sarif["runs"][0]["results"]
    assert results and {r["ruleId"] for r in results} == {"allowed-regions"}
    assert all(r["level"] == "error" for r in results)
    assert results[0]["locations"][0]["physicalLocation"]["artifactLocation"]["uri"].endswith("Pulumi.dev-aws.yaml")

    md = cli("plan", "--stack", "dev-aws", "--policy-pack-config", str(cfg), "--format", "markdown")
    assert md.returncode == 1
    first = md.stdout.splitlines()[0]
    assert first.startswith("❌ **mlops-stack plan**: 1 stack, ")
    assert " mandatory / 0 advisory policy violations, est. $" in first
    assert "<details><summary>Resources per type</summary>" in md.stdout


def test_clean_markdown_summary_line() -> None:
    res = cli("plan", "--stack", "dev-aws", "--stack", "prod-aws", "--format", "markdown")
    assert res.returncode == 0, res.stderr
    first = res.stdout.splitlines()[0]
    assert first.startswith("✅ **mlops-stack plan**: 2 stacks, ")
    assert "0 mandatory / 0 advisory policy violations" in first


def test_spec_error_among_several_stacks_exits_2(tmp_path: Path) -> None:
    bad = tmp_path / "Pulumi.bad.yaml"
    bad.write_text("config:\n  mlops-stack:cloud: aws\n  mlops-stack:region: us-east-1\n  mlops-stack:endpoints: 3\n")
    res = cli("plan", "--config", str(STACKS / "Pulumi.dev-aws.yaml"), "--config", str(bad), "--no-policy", "--format", "json")
    assert res.returncode == 2
    assert res.stderr.strip() == f"error: {bad}: endpoints: 3 must be a list"
    out = json.loads(res.stdout)
    assert [d["stack"] for d in out["stacks"]] == ["dev-aws"] and out["errors"][0]["path"] == str(bad)


def test_parallel_results_equal_serial() -> None:
    paths = [str(STACKS / "Pulumi.dev-aws.yaml"), str(STACKS / "Pulumi.prod-aws.yaml")]
    options = Options(policy=True, cost=True)
    assert canonical(run_many(paths, options, jobs=2)) == canonical(run_many(paths, options, jobs=1))


def test_compare_puts_the_spec_on_every_cloud() -> None:
    res = cli("plan", "--stack", "prod-aws", "--compare", "--format", "json", "--no-policy")
    assert res.returncode == 0, res.stderr
    rows = json.loads(res.stdout)["compare"]
    assert [r["cloud"] for r in rows] == ["aws", "gcp", "azure"]
    aws = rows[0]
    assert aws["region"] == "us-east-1"
    assert aws["instances"] == {"pool train": "p4d.24xlarge", "pool infer": "g4dn.xlarge", "endpoint sentiment": "ml.g4dn.xlarge"}
    assert aws["monthlyMin"] < aws["monthlyMax"]
    # 2 pools x (launch template + node group + 6 ASG tags telling the Cluster Autoscaler the
    # group's 5 node labels and its GPU taint, for scaling up from zero)
    assert aws["capabilities"]["GpuNodePool"] == 16


def test_cost_of_dev_aws_recomputed_by_hand() -> None:
    """Unit prices read off aws/catalog (gpus.csv, cpu_sizes.csv, fees.csv), 730 h/month."""
    h = 730
    kms = 1.00  # fees.csv aws kms_customer_managed_key, per month
    nat = 0.045 * h * 1  # one NAT gateway in dev
    endpoints = 0.01 * h * 4 * 2  # 4 interface endpoints x 2 zones
    s3 = 0.023 * (200 + 100 + 1000)  # GB-month x the buckets' sizeGb
    eks = 0.10 * h
    system = (0.1008 * h * 2, 0.1008 * h * 3)  # m7i.large x 2..3
    train = (0.0, 3.912 * h * 2)  # g4dn.12xlarge x 0..2 (spot priced at on-demand: an upper bound)
    infer = (0.526 * h * 1, 0.526 * h * 2)  # g4dn.xlarge x 0..2; at minimum the 1 node sentiment-oss (runsOn: cluster, minInstances 1) keeps
    endpoint = (0.115 * h * 1, 0.115 * h * 2)  # ml.m5.large x 1..2
    fixed = kms + nat + endpoints + s3 + eks
    expected_min = fixed + system[0] + train[0] + infer[0] + endpoint[0]
    expected_max = fixed + system[1] + train[1] + infer[1] + endpoint[1]
    cost = planned_estimate("dev-aws")
    assert cost.monthly_min == pytest.approx(expected_min, abs=0.01)
    assert cost.monthly_max == pytest.approx(expected_max, abs=0.01)
    assert round(expected_min, 2) == 810.25 and round(expected_max, 2) == 7063.28


def test_stacks_are_grouped_by_cloud_for_the_workers() -> None:
    from mlops_stack.offline.pipeline import plan_groups

    paths = [str(STACKS / f"Pulumi.{s}.yaml") for s in ("dev-aws", "dev-gcp", "prod-aws", "prod-gcp")]
    assert plan_groups(paths, 2) == [[paths[0], paths[2]], [paths[1], paths[3]]]
    # With more workers than clouds, the largest group is split.
    assert sorted(map(len, plan_groups(paths[:1] + paths[2:3], 2))) == [1, 1]


def test_cost_of_prod_replication_and_traffic_priced_controls() -> None:
    """prod-aws replicates 22500 GB to us-west-2: a second copy at the catalog's S3 rate plus
    the replica key; transfer, flow logs and (GCP) the dual-region premium are unpriced."""
    aws = planned_estimate("prod-aws")
    replica = [i for i in aws.items if i.component == "ArtifactStore replica (us-west-2)"]
    assert sorted((i.item, round(i.monthly_min, 2)) for i in replica) == [
        ("replica key", 1.00),
        ("replica object storage 22500 GB (priced at the catalog's storage rate)", round(0.023 * 22500, 2)),
    ]
    unpriced = {(u.component, u.item) for u in aws.unpriced}
    assert ("ArtifactStore replica (us-west-2)", "inter-region replication transfer") in unpriced
    assert ("Network", "VPC flow logs (CloudWatch Logs ingestion and storage)") in unpriced
    dev = planned_estimate("dev-aws")
    assert not [i for i in dev.items if i.component.startswith("ArtifactStore replica")]
    gcp = planned_estimate("prod-gcp")
    assert [(i.item, i.monthly_min) for i in gcp.items if i.component == "ArtifactStore replica (us-east1)"] == [("replica key", 0.06)]
    assert ("ArtifactStore replica (us-east1)", "dual-region storage premium") in {(u.component, u.item) for u in gcp.unpriced}
    azure = planned_estimate("prod-azure")
    assert ("KubernetesCluster", "Defender for Containers (subscription-wide)") in {(u.component, u.item) for u in azure.unpriced}


@pytest.mark.parametrize("stack", ["dev-aws", "dev-gcp", "dev-azure", "prod-aws", "prod-gcp", "prod-azure"])
def test_cost_items_add_up_to_the_totals(stack: str) -> None:
    doc = planned_estimate(stack).to_dict()
    assert doc["items"] and doc["monthlyMin"] > 0
    assert doc["monthlyMin"] == pytest.approx(sum(i["monthlyMin"] for i in doc["items"]), abs=0.01 * len(doc["items"]))
    assert doc["monthlyMax"] == pytest.approx(sum(i["monthlyMax"] for i in doc["items"]), abs=0.01 * len(doc["items"]))
    for i in doc["items"]:
        factor = 730 if i["unit"].endswith("hour") else 1
        assert i["monthlyMax"] == pytest.approx(i["unitPrice"] * i["quantityMax"] * factor, abs=0.01), i


def test_cost_prices_every_planned_gcp_key() -> None:
    """GKE stacks create one CryptoKey per purpose (6), each billed as a key version; the
    estimate used to price one."""
    resources, _ = planned("dev-gcp")
    keys = [r for r in resources if r["type"] == "gcp:kms/cryptoKey:CryptoKey" and "mlops:gcp:Keys" in r["parent"]]
    assert len(keys) == 6
    line = [i for i in planned_estimate("dev-gcp").items if i.component == "Keys"]
    assert [(i.item, i.quantity_max, round(i.monthly_max, 2)) for i in line] == [("customer-managed key", 6, round(6 * 0.06, 2))]


def test_cost_prices_each_planned_azure_pool() -> None:
    """AKS: the system pool (in the cluster's agentPoolProfiles) and the separate "general"
    AgentPool are priced each with its own VM size and counts, as planned."""
    resources, _ = planned("dev-azure")
    general = next(r["inputs"] for r in resources if r["type"] == "azure-native:containerservice:AgentPool" and r["name"].endswith("-general"))
    cluster = [(i.item, i.quantity_min, i.quantity_max) for i in planned_estimate("dev-azure").items if i.component == "KubernetesCluster"]
    assert cluster == [
        ("control plane", 1, 1),
        ("system pool Standard_D2s_v5 x2-3", 2, 3),
        (f"general pool {general['vmSize']} x{general['minCount']}-{general['maxCount']}", general["minCount"], general["maxCount"]),
    ]
    assert (general["vmSize"], general["minCount"], general["maxCount"]) == ("Standard_D2s_v5", 1, 3)


def test_cost_counts_the_planned_nat_gateways() -> None:
    """Azure and GCP plan one NAT (a subnet takes one NAT gateway; Cloud NAT is regional)
    even with network.nat per-zone; the estimate used to count one per zone."""
    azure = [(i.item, i.quantity_max) for i in planned_estimate("prod-azure").items if i.item.startswith("NAT gateway")]
    assert azure == [("NAT gateway x1", 1)]
    gcp = [(u.item, u.reason) for u in planned_estimate("prod-gcp").unpriced if u.item.startswith("NAT gateway")]
    assert gcp == [("NAT gateway x1", "no gcp price for nat in the catalog")]
