"""Documentation address ranges (RFC 5737 / RFC 3849) in ``cluster.publicAccessCidrs``:
the spec accepts them (the example stacks plan offline with 203.0.113.0/24), and every
cloud's ``mlops-stack preflight`` fails them before an apply (issue 13; docs/decisions.md)."""

from __future__ import annotations

import importlib
from typing import Any

import pytest

from planning import STACKS
from mlops_stack.offline.stackfile import read_stack_file
from mlops_stack.ops_report import FAIL, Report, check_documentation_cidrs, documentation_cidrs
from mlops_stack.spec import load_spec


def test_documentation_ranges_and_only_those() -> None:
    cidrs = ["203.0.113.0/24", "203.0.113.7/32", "198.51.100.0/25", "192.0.2.0/24", "2001:db8::/48",
             "203.0.112.0/23", "198.51.0.0/16", "8.8.8.0/24", "2001:4860::/32"]
    # 203.0.112.0/23 contains the range but is not inside it; 198.51.0.0/16 likewise.
    assert documentation_cidrs(cidrs) == ["203.0.113.0/24", "203.0.113.7/32", "198.51.100.0/25", "192.0.2.0/24", "2001:db8::/48"]


@pytest.mark.parametrize("cloud", ["aws", "gcp", "azure"])
def test_the_dev_example_placeholder_fails_preflight_on_every_cloud(cloud: str, monkeypatch: pytest.MonkeyPatch) -> None:
    spec = load_spec(read_stack_file(STACKS / f"Pulumi.dev-{cloud}.yaml").raw_spec)
    report = Report(stack=f"dev-{cloud}", region=spec.region)
    check_documentation_cidrs(spec, report)
    assert [(f.check, f.subject, f.where, f.allowed, f.status) for f in report.findings] == [
        ("cluster access", "cluster.publicAccessCidrs", "203.0.113.0/24", "documentation range", FAIL)
    ]
    assert "RFC 5737" in report.findings[0].detail
    # Each cloud's preflight runs it first, before any call to the cloud.
    module = importlib.import_module(f"mlops_stack.{cloud}.preflight")
    seen: list[Any] = []
    monkeypatch.setattr(module, "check_documentation_cidrs", lambda s, r: seen.append(s))

    class Stop(Exception):
        pass

    def client(name: str) -> Any:
        raise Stop(name)

    with pytest.raises(Stop):
        module.run_preflight(spec, client)
    assert seen == [spec]


def test_a_real_range_passes() -> None:
    doc = read_stack_file(STACKS / "Pulumi.dev-gcp.yaml").raw_spec
    doc = {**doc, "cluster": {**doc["cluster"], "publicAccessCidrs": ["34.120.0.0/24"]}}
    report = Report(stack="x", region="us-central1")
    check_documentation_cidrs(load_spec(doc), report)
    assert report.findings == []
