"""Property: the newer spec sections refuse every bad value with one line naming its key.

Issue 27: tracking, cluster endpoints (``runsOn: cluster``) and what the workload
identities are built from (a cluster endpoint's artifact bucket and key, the self-hosted
tracking server's bucket) get the same property tests as the older sections, on stack
files generated from the six examples: at least 500 examples per section, zero internal
errors, zero accepted-invalid. They use the spec path every user path shares
(``load_spec`` on the config as the Pulumi CLI hands it, then the target's checks), which
runs in milliseconds; ``tests/test_bad_stacks_property.py`` covers the CLI and program
plumbing around it.
"""

from __future__ import annotations

import os
import re
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from badstacks import EXAMPLES, Raw, assert_plain, example_config, pulumi_config
from mlops_stack import targets
from mlops_stack.errors import ConfigError, _short
from mlops_stack.spec import MAINTENANCE_WINDOW, load_spec, raw_from_config_values

P = "mlops-stack:"
#: At least 500 per section (issue 27); BAD_STACK_EXAMPLES raises or lowers all three.
EXAMPLES_PER_SECTION = int(os.environ.get("BAD_STACK_EXAMPLES", "500"))
SETTINGS = settings(max_examples=EXAMPLES_PER_SECTION, deadline=None, suppress_health_check=[HealthCheck.too_slow])

#: What is not a short DNS-label name (the spec's ``Name``: 1-32 lower-case letters, digits, dashes).
BAD_NAMES = ["", "Models", "models_v1", "-models", "models-", "m" * 33, "mödels", "models v1", "1models", 7, True, ["models"]]
#: Not a framework version (a 100-character one was accepted and ignored on the cluster path).
BAD_VERSIONS = ["1" * 100, "v1", "2.3 ", "", "1..2", "2.x", "1.2.3.4.5", "latest-1", "1.2-aaaaaaaaaaaaaaaaa", "１.２", "1\n", 1.3, 2, ["1"]]
#: Not an object key (or prefix) to grant on: the prefix an identity may read.
BAD_KEYS = ["", "/abs/model", "models/", "k" * 1025, "é" * 513, "key\x00", "models/*", "m?x", "a/../b", "a//b", "./m", "m\n", "{aws:username}/m", "m*/x", 5, ["m"]]


#: Generated text (beyond the fixed lists): printable, no surrogates.
TEXT = st.text(st.characters(codec="utf-8", exclude_categories=("Cs",)), max_size=40)
VERSION = re.compile(r"^(?:latest|[0-9]{1,4}(?:\.[0-9]{1,4}){0,3}(?:-[0-9A-Za-z]{1,8}){0,2})$")


def _validate(cfg: dict[str, Any]) -> None:
    spec = load_spec(raw_from_config_values(pulumi_config(cfg)))
    targets.check(spec)


def _refused(cfg: dict[str, Any], key: str | tuple[str, ...]) -> str:
    """The ConfigError line for ``cfg``; it must name ``key`` (or one of ``key``)."""
    keys = (key,) if isinstance(key, str) else key
    try:
        _validate(cfg)
    except ConfigError as err:
        msg = str(err)
    else:
        raise AssertionError(f"accepted invalid stack (expected an error on {keys})")
    assert "\n" not in msg
    assert msg.startswith(tuple(k + s for k in keys for s in (": ", "["))), (keys, msg)
    # No library wording: checked on the line without the user's own value it echoes.
    assert_plain(msg.replace(_short(_value_at(cfg, msg.split(": ", 1)[0])), ""))
    return msg


def _value_at(cfg: dict[str, Any], path: str) -> Any:
    parts = re.findall(r"[^.\[\]]+", path)
    node: Any = cfg.get(P + parts[0]) if parts else None
    for part in parts[1:]:
        if isinstance(node, list) and part.isdigit() and int(part) < len(node):
            node = node[int(part)]
        elif isinstance(node, dict):
            node = node.get(part)
        else:
            return None
    return node.pulumi if isinstance(node, Raw) else node


def _with_tracking(stack: str, cfg: dict[str, Any]) -> dict[str, Any]:
    """The stack's tracking section, or a valid one for its cloud (GCP: self-hosted only)."""
    mode = "self-hosted" if stack.endswith("gcp") else "managed"
    return cfg.setdefault(P + "tracking", {"enabled": True, "mode": mode})


def _cluster_endpoint(cfg: dict[str, Any]) -> tuple[int, dict[str, Any]]:
    """The stack's first ``runsOn: cluster`` endpoint, or a valid one added on its first GPU pool."""
    eps = cfg.setdefault(P + "endpoints", [])
    for i, ep in enumerate(eps):
        if ep.get("runsOn") == "cluster":
            return i, ep
    pool = cfg[P + "cluster"]["gpuPools"][0]
    bucket = cfg[P + "storage"]["buckets"][0]["name"]
    ep = {
        "name": "oss", "runsOn": "cluster", "gpu": pool["gpu"], "gpuPool": pool["name"],
        "model": {"artifact": {"bucket": bucket, "key": "oss/v1"}, "framework": {"name": "sklearn", "version": "1.2"}},
        "minInstances": 2, "maxInstances": 2,
    }  # fmt: skip
    eps.append(ep)
    return len(eps) - 1, ep


def test_the_section_bases_are_valid() -> None:
    """Each generator starts from a valid stack: only its one mistake makes it invalid."""
    for stack in EXAMPLES:
        cfg = example_config(stack)
        _with_tracking(stack, cfg)
        _cluster_endpoint(cfg)
        _validate(cfg)


# --- tracking -----------------------------------------------------------------------------


@st.composite
def bad_tracking(draw: st.DrawFn) -> tuple[dict[str, Any], str | tuple[str, ...]]:
    stack = draw(st.sampled_from(EXAMPLES))
    cfg = example_config(stack)
    tracking = _with_tracking(stack, cfg)
    kind = draw(st.sampled_from(["mode", "size", "bucket", "window", "retention", "ha", "enabled", "unknown", "registration", "gcp-managed", "no-cluster", "db-unknown"]))
    if kind == "mode":
        tracking["mode"] = draw(st.sampled_from(["hosted", "Managed", "self_hosted", "", 1, None, ["managed"]]))
        return cfg, "tracking.mode"
    if kind == "size":
        tracking["size"] = draw(st.sampled_from(["xl", "Small", "", 3, False]))
        return cfg, "tracking.size"
    if kind == "bucket":
        buckets = {b["name"] for b in cfg[P + "storage"]["buckets"]}
        bucket = draw(st.sampled_from(["nosuch", "model", *BAD_NAMES]) | TEXT.filter(lambda t: t not in buckets))
        tracking["bucket"] = bucket
        return cfg, "tracking.bucket"
    if kind == "window":
        window = draw(
            st.sampled_from(["Sunday:03:00", "Sun:24:00", "Sun:3:00", "sun:03:00", "Sun 03:00", "Sun:03:60", "Sun:03:00 ", "", 300])
            | TEXT.filter(lambda t: not re.match(MAINTENANCE_WINDOW, t))
        )
        tracking["maintenanceWindow"] = window
        return cfg, "tracking.maintenanceWindow"
    if kind == "retention":
        days = draw(st.sampled_from([0, 6, 36, 1000, -7, "seven", 7.5, Raw("1e30", 1e30)]) | st.integers(-(10**6), 10**6).filter(lambda d: not 7 <= d <= 35))
        tracking.setdefault("database", {})["backupRetentionDays"] = days
        return cfg, "tracking.database.backupRetentionDays"
    if kind == "ha":
        tracking.setdefault("database", {})["highAvailability"] = draw(st.sampled_from(["maybe", 2, ["true"], {"a": 1}]))
        return cfg, "tracking.database.highAvailability"
    if kind == "enabled":
        tracking["enabled"] = draw(st.sampled_from(["maybe", 2, [True], {"a": 1}]))
        return cfg, "tracking.enabled"
    if kind == "registration":
        tracking["automaticModelRegistration"] = draw(st.sampled_from(["maybe", 2, [True]]))
        return cfg, "tracking.automaticModelRegistration"
    if kind == "unknown":
        word = draw(st.sampled_from(["modes", "sizes", "buckets", "maintenance", "db", "enable", "uri"]))
        tracking[word] = draw(st.sampled_from([1, "x", {"a": 1}]))
        return cfg, f"tracking.{word}"
    if kind == "db-unknown":
        word = draw(st.sampled_from(["retentionDays", "ha", "tier", "backupRetention"]))
        tracking.setdefault("database", {})[word] = 7
        return cfg, f"tracking.database.{word}"
    if kind == "gcp-managed":
        # GCP has no managed MLflow: self-hosted only.
        cfg = example_config("dev-gcp")
        cfg[P + "tracking"] = {"enabled": True, "mode": "managed"}
        return cfg, "tracking.mode"
    # self-hosted needs a cluster to run on
    tracking.update(mode="self-hosted")
    cfg[P + "cluster"] = {"enabled": False}
    cfg[P + "monitoring"] = {"enabled": False}
    cfg[P + "namespaces"] = []
    cfg[P + "endpoints"] = [e for e in cfg.get(P + "endpoints", []) if e.get("runsOn") != "cluster"]
    return cfg, "tracking.mode"


@SETTINGS
@given(case=bad_tracking())
def test_bad_tracking_is_one_line_naming_the_key(case: tuple[dict[str, Any], str | tuple[str, ...]]) -> None:
    cfg, key = case
    _refused(cfg, key)


# --- cluster endpoints -----------------------------------------------------------------------


@st.composite
def bad_cluster_endpoints(draw: st.DrawFn) -> tuple[dict[str, Any], str | tuple[str, ...]]:
    stack = draw(st.sampled_from(EXAMPLES))
    cfg = example_config(stack)
    i, ep = _cluster_endpoint(cfg)
    at = f"endpoints[{i}]"
    pools = {p["name"]: p for p in cfg[P + "cluster"]["gpuPools"]}
    pool = pools[ep["gpuPool"]]
    room = pool["maxNodes"] * pool.get("gpusPerNode", 1)
    kind = draw(st.sampled_from(["pool", "gpu", "gpus", "replicas", "min-max", "framework", "version", "capture", "public", "runs-on", "name", "image-and-framework", "cpu", "duplicate", "no-cluster"]))
    if kind == "pool":
        ep["gpuPool"] = draw(st.sampled_from(["no-such-pool", "Infer", *BAD_NAMES[:6]]))
        return cfg, f"{at}.gpuPool"
    if kind == "gpu":
        other = draw(st.sampled_from(["nvidia-h100", "nvidia-a100-80gb", "nvidia-l4", "nvidia-t4"]))
        if other == pool["gpu"]:
            other = "nvidia-t9"
        ep["gpu"] = other
        return cfg, (f"{at}.gpu", f"{at}.gpuPool")
    if kind == "gpus":
        per_node = pool.get("gpusPerNode", 1)
        ep["gpusPerInstance"] = draw(st.sampled_from([0, 17, -1, "two"]) | st.integers(per_node + 1, 10**4) | st.integers(-(10**4), 0))
        return cfg, f"{at}.gpusPerInstance"
    if kind == "replicas":
        ep["minInstances"] = ep["maxInstances"] = room + draw(st.integers(1, 200))
        return cfg, (f"{at}.maxInstances", f"{at}.minInstances")
    if kind == "min-max":
        ep["minInstances"], ep["maxInstances"] = 2, 1
        return cfg, (f"{at}.minInstances", f"{at}.maxInstances", at)
    if kind == "framework":
        ep["model"]["framework"]["name"] = draw(st.sampled_from(["vllm", "sklearnn", "caffe", "", 3]))
        return cfg, f"{at}.model.framework.name"
    if kind == "version":
        ep["model"]["framework"]["version"] = draw(st.sampled_from(BAD_VERSIONS) | TEXT.filter(lambda t: not VERSION.match(t)))
        return cfg, f"{at}.model.framework.version"
    if kind == "capture":
        ep["dataCapture"] = {"enabled": True}
        return cfg, f"{at}.dataCapture.enabled"
    if kind == "public":
        ep["private"] = False
        return cfg, f"{at}.private"
    if kind == "runs-on":
        ep["runsOn"] = draw(st.sampled_from(["k8s", "Cluster", "", 1, True]))
        return cfg, f"{at}.runsOn"
    if kind == "name":
        ep["name"] = draw(st.sampled_from(BAD_NAMES))
        return cfg, f"{at}.name"
    if kind == "image-and-framework":
        ep["model"]["image"] = "ghcr.io/example/serving:1.0"
        return cfg, (f"{at}.model", f"{at}.model.image")
    if kind == "cpu":
        ep["cpuSize"] = "small"
        return cfg, (at, f"{at}.cpuSize", f"{at}.gpu")
    if kind == "duplicate":
        first = cfg[P + "endpoints"][0]["name"]
        if i == 0:
            cfg[P + "endpoints"].append({**ep})
            return cfg, f"endpoints[{len(cfg[P + 'endpoints']) - 1}].name"
        ep["name"] = first
        return cfg, f"{at}.name"
    # a cluster endpoint on a stack without a cluster
    cfg[P + "cluster"] = {"enabled": False}
    cfg[P + "monitoring"] = {"enabled": False}
    cfg[P + "namespaces"] = []
    cfg.pop(P + "tracking", None)
    cfg[P + "endpoints"] = [ep]
    return cfg, ("endpoints[0].runsOn", "endpoints[0].gpuPool", "endpoints[0]")


@SETTINGS
@given(case=bad_cluster_endpoints())
def test_bad_cluster_endpoints_are_one_line_naming_the_key(case: tuple[dict[str, Any], str | tuple[str, ...]]) -> None:
    cfg, key = case
    _refused(cfg, key)


# --- what workload identities are built from ----------------------------------------------------


@st.composite
def bad_identity_inputs(draw: st.DrawFn) -> tuple[dict[str, Any], str | tuple[str, ...]]:
    stack = draw(st.sampled_from(EXAMPLES))
    cfg = example_config(stack)
    i, ep = _cluster_endpoint(cfg)
    at = f"endpoints[{i}].model.artifact"
    kind = draw(st.sampled_from(["key", "bucket", "bucket-name", "tracking-bucket", "artifact-missing", "artifact-unknown"]))
    if kind == "key":
        ep["model"]["artifact"]["key"] = draw(st.sampled_from(BAD_KEYS))
        return cfg, f"{at}.key"
    if kind == "bucket":
        buckets = {b["name"] for b in cfg[P + "storage"]["buckets"]}
        ep["model"]["artifact"]["bucket"] = draw(st.sampled_from(["nosuch", "model", "access-logs"]) | TEXT.filter(lambda t: t not in buckets))
        return cfg, f"{at}.bucket"
    if kind == "bucket-name":
        ep["model"]["artifact"]["bucket"] = draw(st.sampled_from(BAD_NAMES))
        return cfg, f"{at}.bucket"
    if kind == "tracking-bucket":
        cfg[P + "tracking"] = {"enabled": True, "mode": "self-hosted", "bucket": draw(st.sampled_from(["nosuch", "access-logs", *BAD_NAMES[:6]]))}
        return cfg, "tracking.bucket"
    if kind == "artifact-missing":
        field = draw(st.sampled_from(["bucket", "key"]))
        del ep["model"]["artifact"][field]
        return cfg, f"{at}.{field}"
    word = draw(st.sampled_from(["prefix", "path", "buckets", "keys", "uri"]))
    ep["model"]["artifact"][word] = "x"
    return cfg, f"{at}.{word}"


@SETTINGS
@given(case=bad_identity_inputs())
def test_bad_workload_identity_inputs_are_one_line_naming_the_key(case: tuple[dict[str, Any], str | tuple[str, ...]]) -> None:
    cfg, key = case
    _refused(cfg, key)
