"""`mlops-stack plan --all [--compare]` made fast (issue 33) without changing a byte of
its output: the plan cache (hit, miss on any input change, --no-cache, corrupt entries
ignored), --compare planning each (stack, cloud) once, one policy pack process per
worker. No timings are asserted here: benchmarks/plan.py prints them."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from planning import STACKS
from mlops_stack.offline import pipeline, plan_cache
from mlops_stack.offline.analyzer import pack_session, run_policy_pack
from mlops_stack.offline.pipeline import Options, canonical, plan_tasks, run_many

pytestmark = pytest.mark.slow

DEV_AWS = str(STACKS / "Pulumi.dev-aws.yaml")
DEV_GCP = str(STACKS / "Pulumi.dev-gcp.yaml")


@pytest.fixture
def stack_copy(tmp_path: Path) -> Path:
    """dev-aws as a file of its own, to edit."""
    path = tmp_path / "Pulumi.dev-aws.yaml"
    shutil.copy(DEV_AWS, path)
    return path


def _no_planning(monkeypatch: pytest.MonkeyPatch) -> None:
    def fail(*_a: object, **_k: object) -> None:
        raise AssertionError("planned although the cache had the result")

    monkeypatch.setattr(pipeline, "run_task", fail)


def test_cache_hit_serves_the_same_results_without_planning(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    options = Options(policy=True, cost=True)
    cache = plan_cache.PlanCache(tmp_path / "cache")
    first = run_many([DEV_AWS], options, jobs=1, cache=cache)
    assert (cache.hits, cache.misses) == (0, 1)
    assert len(list((tmp_path / "cache").rglob("*.json"))) == 1
    _no_planning(monkeypatch)
    again = plan_cache.PlanCache(tmp_path / "cache")
    second = run_many([DEV_AWS], options, jobs=1, cache=again)
    assert (again.hits, again.misses) == (1, 0)
    assert json.dumps(second, indent=2) == json.dumps(first, indent=2)


def test_any_input_change_is_a_miss(stack_copy: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    options = Options(policy=True, cost=True)
    task = ("doc", "")
    base = plan_cache.key(str(stack_copy), task, options)
    assert base is not None and len(base) == 64
    assert plan_cache.key(str(stack_copy), task, options) == base  # stable
    # Each of these must give another key:
    changed = {
        "policy off": plan_cache.key(str(stack_copy), task, Options(policy=False, cost=True)),
        "cost off": plan_cache.key(str(stack_copy), task, Options(policy=True, cost=False)),
        "policy config": plan_cache.key(str(stack_copy), task, Options(policy_config={"all": "mandatory"})),
        "compare column": plan_cache.key(str(stack_copy), ("row", "gcp"), options),
    }
    monkeypatch.setenv("ARM_CLIENT_ID", "00000000-0000-0000-0000-000000000001")
    changed["deployer env"] = plan_cache.key(str(stack_copy), task, options)
    monkeypatch.delenv("ARM_CLIENT_ID")
    stack_copy.write_text(stack_copy.read_text() + "\n")  # even a blank line
    changed["stack file"] = plan_cache.key(str(stack_copy), task, options)
    assert base not in changed.values() and len(set(changed.values())) == len(changed)
    # A user program is never cached.
    assert plan_cache.key(str(stack_copy), task, Options(program=str(stack_copy.parent))) is None


def test_code_pack_and_library_changes_change_the_fingerprint(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import hashlib

    tree = tmp_path / "pkg"
    (tree / "__pycache__").mkdir(parents=True)
    (tree / "a.py").write_text("X = 1\n")

    def tree_hash() -> str:
        h = hashlib.sha256()
        plan_cache._hash_tree(h, tree)
        return h.hexdigest()

    before = tree_hash()
    (tree / "__pycache__" / "a.cpython-311.pyc").write_bytes(b"ignored")
    assert tree_hash() == before  # bytecode caches do not count
    (tree / "a.py").write_text("X = 2\n")
    assert tree_hash() != before  # an edited source file does

    plan_cache.environment_fingerprint.cache_clear()
    fingerprint = plan_cache.environment_fingerprint()
    monkeypatch.setattr(plan_cache, "_version", lambda name: "9.9.9" if name == "pulumi-aws" else "1")
    plan_cache.environment_fingerprint.cache_clear()
    try:
        assert plan_cache.environment_fingerprint() != fingerprint
    finally:
        monkeypatch.undo()
        plan_cache.environment_fingerprint.cache_clear()
    assert plan_cache.environment_fingerprint() == fingerprint


def test_an_edited_stack_is_planned_again(stack_copy: Path, tmp_path: Path) -> None:
    options = Options(policy=False, cost=True)
    cache = plan_cache.PlanCache(tmp_path / "cache")
    first = run_many([str(stack_copy)], options, jobs=1, cache=cache)
    stack_copy.write_text(stack_copy.read_text().replace("mlops-stack:region: us-east-1", "mlops-stack:region: eu-west-1"))
    second = run_many([str(stack_copy)], options, jobs=1, cache=cache)
    assert (cache.hits, cache.misses) == (0, 2)
    assert first[0]["doc"]["config"]["mlops-stack:region"] == "us-east-1"
    assert second[0]["doc"]["config"]["mlops-stack:region"] == "eu-west-1"


def test_corrupt_or_foreign_entries_are_ignored_and_replaced(tmp_path: Path) -> None:
    options = Options(policy=False, cost=False)
    cache = plan_cache.PlanCache(tmp_path / "cache")
    good = run_many([DEV_AWS], options, jobs=1, cache=cache)
    (entry,) = (tmp_path / "cache").rglob("*.json")
    for junk in ("{not json", json.dumps({"key": "another", "result": {"doc": {}}}), json.dumps([1, 2]), ""):
        entry.write_text(junk)
        fresh = plan_cache.PlanCache(tmp_path / "cache")
        assert canonical(run_many([DEV_AWS], options, jobs=1, cache=fresh)) == canonical(good)
        assert (fresh.hits, fresh.misses) == (0, 1)
        assert json.loads(entry.read_text())["key"] == entry.stem  # rewritten whole


def test_no_cache_flag_neither_reads_nor_writes(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    from mlops_stack.cli import main

    where = tmp_path / "cache"
    monkeypatch.setenv(plan_cache.DIR_ENV, str(where))
    monkeypatch.delenv(plan_cache.DISABLE_ENV)
    args = ["plan", "--config", DEV_AWS, "--no-policy", "--format", "json"]
    assert main([*args, "--no-cache"]) == 0
    assert not where.exists()
    fresh = capsys.readouterr().out
    assert main(args) == 0
    assert len(list(where.rglob("*.json"))) == 1
    assert capsys.readouterr().out == fresh
    # A planted entry with the right key but another result is served without --no-cache
    # (it is a cache), and ignored with it.
    (entry,) = where.rglob("*.json")
    data = json.loads(entry.read_text())
    data["result"]["doc"]["stack"] = "planted"
    entry.write_text(json.dumps(data))
    assert main(args) == 0
    assert json.loads(capsys.readouterr().out)["stack"] == "planted"
    assert main([*args, "--no-cache"]) == 0
    assert capsys.readouterr().out == fresh


def test_cache_location_follows_xdg(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.delenv(plan_cache.DIR_ENV, raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    assert plan_cache.cache_dir() == tmp_path / "mlops-stack" / "plans"
    monkeypatch.setenv("XDG_CACHE_HOME", "relative/ignored")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert plan_cache.cache_dir() == tmp_path / "home" / ".cache" / "mlops-stack" / "plans"
    monkeypatch.setenv(plan_cache.DIR_ENV, str(tmp_path / "explicit"))
    assert plan_cache.cache_dir() == tmp_path / "explicit"


def test_compare_plans_each_stack_and_cloud_once() -> None:
    tasks = plan_tasks([DEV_AWS, DEV_GCP, DEV_AWS], Options(compare=True))
    assert tasks == [
        (DEV_AWS, ("doc", "aws")), (DEV_AWS, ("row", "gcp")), (DEV_AWS, ("row", "azure")),
        (DEV_GCP, ("doc", "gcp")), (DEV_GCP, ("row", "aws")), (DEV_GCP, ("row", "azure")),
    ]
    assert plan_tasks([DEV_AWS], Options()) == [(DEV_AWS, ("doc", ""))]


def test_own_cloud_column_derived_from_the_plan_equals_planning_it_again() -> None:
    from mlops_stack.offline.compare import own_row, plan_on
    from mlops_stack.offline.stackfile import read_stack_file

    options = Options(policy=True, cost=True)
    sf = read_stack_file(DEV_GCP)
    doc = pipeline.plan_document(DEV_GCP, options)
    derived = own_row(sf, doc, options)
    assert derived is not None and derived["cloud"] == "gcp"
    assert json.dumps(derived) == json.dumps(plan_on(sf, "gcp", options))


def test_results_identical_serial_parallel_and_cached(tmp_path: Path) -> None:
    paths = [DEV_AWS, DEV_GCP]
    options = Options(policy=True, cost=True, compare=True)
    serial = run_many(paths, options, jobs=1)
    cache = plan_cache.PlanCache(tmp_path / "cache")
    parallel = run_many(paths, options, jobs=2, cache=cache)
    cached = run_many(paths, options, jobs=2, cache=cache)
    assert cache.hits == 6
    text = json.dumps({"stacks": [r["doc"] for r in serial]}, indent=2)
    assert json.dumps({"stacks": [r["doc"] for r in parallel]}, indent=2) == text
    assert json.dumps({"stacks": [r["doc"] for r in cached]}, indent=2) == text
    assert [[c["cloud"] for c in r["doc"]["compare"]] for r in serial] == [["aws", "gcp", "azure"]] * 2


def test_one_pack_process_for_many_plans_finds_what_fresh_ones_find(tmp_path: Path) -> None:
    """The launcher hands each plan's stack and config to the pack (ConfigureStack): a
    region rule reading the stack config must judge each plan by its own config."""
    from mlops_stack.offline.pipeline import plan_document

    config = {"allowed-regions": {"allowedRegions": ["us-central1"]}}
    docs = [plan_document(p, Options(policy=False, cost=False)) for p in (DEV_AWS, DEV_GCP, DEV_AWS)]
    fresh = [[v.to_dict() for v in run_policy_pack(d, config=config)] for d in docs]
    with pack_session():
        shared = [[v.to_dict() for v in run_policy_pack(d, config=config)] for d in docs]
    assert shared == fresh
    # The AWS plan breaks the region rule, the GCP one does not.
    assert {v["policy"] for v in fresh[0] if v["level"] == "mandatory"} == {"allowed-regions"}
    assert not [v for v in fresh[1] if v["policy"] == "allowed-regions"]


def test_prestarted_memoising_pack_finds_what_the_stock_pack_finds() -> None:
    """A pack started before the first plan (``prestart_pack``, with a neutral stack in
    its environment) and the launcher's per-call sharing of each resource's dict,
    proxies, options and provider across the policies find exactly what the stock
    ``python -m pulumi.policy`` process finds, plan by plan (config-reading rule included)."""
    import sys

    from mlops_stack.offline.analyzer import _pack_dir, _PackProcess, prestart_pack
    from mlops_stack.offline.pipeline import plan_document

    config = {"allowed-regions": {"allowedRegions": ["us-central1"]}}
    paths = (DEV_AWS, DEV_GCP, STACKS / "Pulumi.dev-azure.yaml", DEV_AWS)
    docs = [plan_document(str(p), Options(policy=False, cost=False)) for p in paths]
    stock = []
    for d in docs:
        with _PackProcess(_pack_dir(None), d, sys.executable, 60.0, 60.0, launcher=False) as pack:
            stock.append([v.to_dict() for v in pack.evaluate(d, config)])
    with pack_session():
        prestart_pack()
        shared = [[v.to_dict() for v in run_policy_pack(d, config=config)] for d in docs]
    assert shared == stock
    assert {v["policy"] for v in stock[0] if v["level"] == "mandatory"} == {"allowed-regions"}
    assert any(v["urn"] for v in stock[2]), "dev-azure has resource findings: the shared proxies are exercised"


def test_plans_without_source_positions_are_the_same_plans() -> None:
    """The pipeline hands Pulumi an empty stack trace per resource (no source positions):
    the plan document is the one planned with the SDK's own stack traces, and the SDK's
    function is back afterwards."""
    from pulumi.runtime import resource

    from mlops_stack.offline.pipeline import plan_document

    stock = resource._get_stack_trace
    options = Options(policy=False, cost=False)
    direct = plan_document(str(DEV_AWS), options)
    [piped] = run_many([str(DEV_AWS)], options, jobs=1)
    assert resource._get_stack_trace is stock
    assert json.dumps(piped["doc"], sort_keys=True) == json.dumps(direct, sort_keys=True)
