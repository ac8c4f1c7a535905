"""Kubernetes versions expire: the per-cloud table, the plan-time rule and the examples.

The example-stack test uses the real date on purpose: it starts failing on the day an
example's version leaves standard support on its cloud, which is when the examples (and
the default) must move.
"""

from __future__ import annotations

import subprocess
import sys
from datetime import UTC, date, datetime

import pytest

from mlops_stack import catalog
from mlops_stack.catalog import DEFAULT_KUBERNETES_VERSION, check_kubernetes_version, kubernetes_version, kubernetes_versions
from mlops_stack.errors import ConfigError
from mlops_stack.offline.stackfile import read_stack_file
from mlops_stack.spec import MlopsSpec, load_spec
from planning import ROOT, STACKS, example_stacks

TODAY = datetime.now(UTC).date()
#: The day the default was chosen (issue 13).
CHOSEN = date(2026, 11, 29)


def test_every_cloud_has_dated_sourced_rows() -> None:
    rows = kubernetes_versions()
    assert {r.cloud for r in rows} == {"aws", "gcp", "azure"}
    for r in rows:
        # Described in the SOURCES.md beside the target's rows.
        sources = (ROOT / f"components/mlops_stack/{r.cloud}/catalog/SOURCES.md").read_text()
        assert r.released < r.standard_end < r.extended_end, r
        assert r.source and r.source in sources, f"{r.cloud} {r.minor}: source {r.source!r} not described in its SOURCES.md"
        assert r.verified in {"yes", "partial", "unverified"}


def test_eks_calendar_rows_as_published() -> None:
    # awsdocs/amazon-eks-user-guide kubernetes-versions.adoc, release calendar.
    v133 = kubernetes_version("aws", "1.33")
    assert v133 is not None and (v133.standard_end, v133.extended_end) == (date(2026, 7, 29), date(2027, 7, 29))
    v134 = kubernetes_version("aws", "1.34")
    assert v134 is not None and v134.standard_end == date(2026, 12, 2)


@pytest.mark.parametrize("cloud", ["aws", "gcp", "azure"])
def test_default_is_in_standard_support_on_every_cloud_on_the_day_it_was_chosen(cloud: str) -> None:
    assert MlopsSpec.model_fields["cluster"].default_factory().version == DEFAULT_KUBERNETES_VERSION  # type: ignore[misc]
    row = check_kubernetes_version(cloud, DEFAULT_KUBERNETES_VERSION, CHOSEN)
    assert row.in_standard_support(CHOSEN)


@pytest.mark.parametrize("stack", example_stacks())
def test_example_stack_version_is_in_standard_support_today(stack: str) -> None:
    """Fails on the day an example stack's version leaves standard support on its cloud."""
    raw = read_stack_file(STACKS / f"Pulumi.{stack}.yaml").raw_spec
    cloud = raw["cloud"]
    minor = raw.get("cluster", {}).get("version", DEFAULT_KUBERNETES_VERSION)
    row = kubernetes_version(cloud, minor)
    assert row is not None, f"{stack}: {minor} is not in the {cloud} version table"
    assert row.in_standard_support(TODAY), (
        f"{stack}: Kubernetes {minor} left standard support on {cloud} on {row.standard_end}: move the examples and the default"
    )


@pytest.mark.parametrize(
    ("cloud", "ended", "extended"),
    [("aws", "2026-07-29", "2027-07-29"), ("gcp", "2026-08-03", "2027-06-03"), ("azure", "2026-07-31", "2027-07-31")],
)
def test_133_is_rejected_with_its_dates(cloud: str, ended: str, extended: str) -> None:
    with pytest.raises(ConfigError) as info:
        check_kubernetes_version(cloud, "1.33", CHOSEN)
    msg = str(info.value)
    assert "\n" not in msg
    assert msg.startswith(f"cluster.version: '1.33' left standard support on {cloud} on {ended} (extended support, ")
    assert f"until {extended}); the stack creates clusters with standard support only" in msg
    assert "(use 1.3" in msg and "standard support until" in msg


def test_past_extended_end_says_ended() -> None:
    with pytest.raises(ConfigError, match=r"ended 2026-11-26"):
        check_kubernetes_version("aws", "1.31", date(2026, 11, 27))


def test_unknown_and_unreleased_minors() -> None:
    with pytest.raises(ConfigError, match=r"^cluster.version: '1.99' is not a Kubernetes minor this toolkit knows on gcp \(the gcp version table"):
        check_kubernetes_version("gcp", "1.99", CHOSEN)
    with pytest.raises(ConfigError, match=r"is not released on aws until 2026-06-02"):
        check_kubernetes_version("aws", "1.36", date(2026, 5, 1))


def test_last_day_of_standard_support_is_still_accepted() -> None:
    assert check_kubernetes_version("azure", "1.34", date(2026, 11, 30)).minor == "1.34"
    with pytest.raises(ConfigError):
        check_kubernetes_version("azure", "1.34", date(2026, 12, 1))


@pytest.mark.parametrize("stack", ["dev-aws", "dev-gcp", "dev-azure"])
def test_spec_with_an_expired_version_fails_at_load(stack: str) -> None:
    raw = read_stack_file(STACKS / f"Pulumi.{stack}.yaml").raw_spec
    raw["cluster"]["version"] = "1.33"
    with pytest.raises(ConfigError, match=r"^cluster.version: '1.33' left standard support"):
        load_spec(raw, today=CHOSEN)
    # A disabled cluster is not checked.
    raw["cluster"] = {"enabled": False}
    raw["endpoints"] = [e for e in raw.get("endpoints", []) if e.get("runsOn") != "cluster"]  # they need one too
    raw.pop("namespaces", None)  # namespaces need a cluster (issue 15)
    raw.pop("monitoring", None)
    raw["monitoring"] = {"enabled": False}
    raw.pop("tracking", None)  # self-hosted tracking runs in the cluster (docs/tracking.md)
    load_spec(raw, today=CHOSEN)


def test_cli_plan_prints_one_line_and_exits_2(tmp_path) -> None:  # type: ignore[no-untyped-def]
    text = (STACKS / "Pulumi.dev-aws.yaml").read_text().replace('version: "1.35"', 'version: "1.31"')
    cfg = tmp_path / "Pulumi.old-aws.yaml"
    cfg.write_text(text)
    proc = subprocess.run(
        [sys.executable, "-m", "mlops_stack.cli", "plan", "--config", str(cfg)], capture_output=True, text=True, cwd=ROOT, check=False
    )
    assert proc.returncode == 2, proc.stdout + proc.stderr
    lines = [line for line in (proc.stdout + proc.stderr).splitlines() if "cluster.version" in line]
    assert len(lines) == 1 and "'1.31' left standard support on aws on 2025-11-26" in lines[0]


def test_table_is_reachable_through_the_package_data() -> None:
    assert catalog.standard_support_minors("aws", CHOSEN)[-1].minor >= "1.35"
