"""Property: every bad stack file made from the six examples is refused with one line.

Hypothesis mutates the example stack files into bad ones of the kinds issue 15 found
(wrong types, out-of-range numbers, unknown keys, misspelt namespaces, unquoted YAML,
bad CIDRs, reserved names, too many tags, zones the region lacks, bad cloud IDs,
bad images / keys / descriptions, missing keys, namespaces without a cluster) and
asserts, for each: the CLI exits 2 with one ``error:`` line on stderr and nothing on
stdout; the line names the mutated key; the stack program run the way ``pulumi up``
runs it (config as the Pulumi CLI hands it, not through our YAML reader) raises the
same line with nothing registered; and no library wording leaks into it.

The CLI is called in process (``mlops_stack.cli.main``); a few real subprocess runs
of the same kinds are at the end.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from badstacks import EXAMPLES, Raw, assert_plain, cli_plan, example_config, program_error, pulumi_config, stack_yaml
from planning import ROOT
from mlops_stack import catalog

PREFIX = "mlops-stack:"
#: Mappings whose keys are the user's own (an added key there is valid).
FREE_FORM = {"tags", "labels", "environment", "body"}
#: Top-level keys the program reads as text even when they look like JSON.
TEXT_KEYS = {"cloud", "region", "environment", "name"}


def _fmt(path: tuple[Any, ...]) -> str:
    out = ""
    for p in path:
        out += f"[{p}]" if isinstance(p, int) else ("." if out else "") + str(p)
    return out


def _leaves(node: Any, path: tuple[Any, ...]) -> list[tuple[tuple[Any, ...], Any]]:
    if isinstance(node, dict):
        return [leaf for k, v in node.items() for leaf in _leaves(v, (*path, k))]
    if isinstance(node, list):
        return [leaf for i, v in enumerate(node) for leaf in _leaves(v, (*path, i))]
    return [(path, node)]


def _mappings(node: Any, path: tuple[Any, ...]) -> list[tuple[Any, ...]]:
    out = []
    if isinstance(node, dict):
        if not path or path[-1] not in FREE_FORM:
            out.append(path)
            for k, v in node.items():
                out += _mappings(v, (*path, k))
    elif isinstance(node, list):
        for i, v in enumerate(node):
            out += _mappings(v, (*path, i))
    return out


def _spec(cfg: dict[str, Any]) -> dict[str, Any]:
    """The spec view of a config section: ``{"cluster": {...}, ...}`` (same objects)."""
    return {k[len(PREFIX) :]: v for k, v in cfg.items() if k.startswith(PREFIX)}


def _set(cfg: dict[str, Any], path: tuple[Any, ...], value: Any) -> None:
    if len(path) == 1:
        cfg[PREFIX + str(path[0])] = value
        return
    node: Any = cfg[PREFIX + str(path[0])]
    for p in path[1:-1]:
        node = node[p]
    node[path[-1]] = value


def _get(cfg: dict[str, Any], path: tuple[Any, ...]) -> Any:
    node: Any = cfg[PREFIX + str(path[0])]
    for p in path[1:]:
        node = node[p]
    return node


def _is_number(v: Any) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool)


@st.composite
def bad_stacks(draw: st.DrawFn) -> tuple[str, dict[str, Any], str]:
    """(example stack, mutated config section, the key path the error must name)."""
    stack = draw(st.sampled_from(EXAMPLES))
    cfg = example_config(stack)
    spec = _spec(cfg)
    cloud, region = spec["cloud"], spec["region"]
    leaves = _leaves(spec, ())
    kind = draw(
        st.sampled_from(
            [
                "wrong-type", "out-of-range", "unknown-key", "namespace", "network-cidr", "public-cidrs", "unquoted",
                "reserved-bucket", "tags", "zones", "cloud-ids", "image", "artifact-key", "description", "missing",
                "namespaces-without-cluster", "cluster-endpoint",
            ]
        )
    )
    if kind == "wrong-type":
        path, value = draw(st.sampled_from(leaves))
        if isinstance(value, bool):
            bad = draw(st.sampled_from(["maybe", [True], {"a": 1}, 7]))
        elif _is_number(value):
            bad = draw(st.sampled_from(["lots", [1], {"a": 1}, "", True]))
        else:
            # (null is no wrong type: optional keys take it.)
            bad = draw(st.sampled_from([[1, 2], {"a": "b"}, []]))
        _set(cfg, path, bad)
        return stack, cfg, _fmt(path)
    if kind == "out-of-range":
        numbers = [(p, v) for p, v in leaves if _is_number(v)]
        path, _ = draw(st.sampled_from(numbers))
        _set(cfg, path, draw(st.sampled_from([-1, 10**19, 2**63, Raw("1e30", 1e30)])))
        return stack, cfg, _fmt(path)
    if kind == "unknown-key":
        mappings = _mappings(spec, ())
        path = draw(st.sampled_from(mappings))
        node = spec if not path else _get(cfg, path)
        existing = sorted(node)
        if existing and draw(st.booleans()):
            word = draw(st.sampled_from(existing))
            i = draw(st.integers(0, len(word) - 1))
            new = word[:i] + word[i + 1 :] or "x"
        else:
            new = draw(st.sampled_from(["foo", "minNode", "gpus", "Cloud", "zone_count", "retention"]))
        if new in existing or new in ("zone", "gpu", "name", "spot", "key", "auth", "image", "tags", "nat", "zones", "keys"):
            new = "foo"
        if not path:
            cfg[PREFIX + new] = draw(st.sampled_from([1, "x", {"a": 1}]))
        else:
            node[new] = draw(st.sampled_from([1, "x", {"a": 1}]))
        return stack, cfg, _fmt((*path, new))
    if kind == "namespace":
        key = draw(st.sampled_from(sorted(cfg)))
        space = draw(st.sampled_from(["mlops-stak", "MLOPS-STACK", "mlops_stack", "Mlops-Stack", "mlop-stack", "mlops-stacks", "mlopsstack"]))
        name = key[len(PREFIX) :]
        cfg[f"{space}:{name}"] = cfg[key] if draw(st.booleans()) else 1
        return stack, cfg, f"{space}:{name}"
    if kind == "network-cidr":
        bad = draw(
            st.sampled_from(
                ["127.0.0.0/16", "169.254.0.0/16", "0.0.0.0/16", "8.8.0.0/16", "100.64.0.0/16", "10.0.0.0/8", "10.0.0.0/24", "10.0.0.1/16", "10.0.0.0", 167772160, True, "fd00::/64"]
            )
        )
        cfg.setdefault(PREFIX + "network", {})["cidr"] = bad
        return stack, cfg, "network.cidr"
    if kind == "public-cidrs":
        octets = draw(st.lists(st.sampled_from([11, 12, 13, 20, 30, 40, 50, 60, 80, 81, 90, 99]), min_size=2, max_size=5, unique=True))
        bad = draw(
            st.sampled_from(
                [
                    ["0.0.0.0/1", "128.0.0.0/1"],
                    [f"{o}.0.0.0/8" for o in octets],
                    ["0.0.0.0/0"],
                    ["203.0.113.0/24", "192.168.1.0/24"],
                    ["127.0.0.1/32"],
                    ["224.0.0.0/24"],
                    [12345],
                    [True],
                    ["1.2.3.4/33"],
                ]
            )
        )
        cfg.setdefault(PREFIX + "cluster", {})["publicAccessCidrs"] = bad
        return stack, cfg, "cluster.publicAccessCidrs"
    if kind == "unquoted":
        which = draw(st.sampled_from(["name", "version", "bucket"]))
        date = draw(st.dates(min_value=__import__("datetime").date(1990, 1, 1), max_value=__import__("datetime").date(2099, 12, 31))).isoformat()
        if which == "name":
            cfg[PREFIX + "name"] = Raw(date, date)
            return stack, cfg, "name"
        if which == "version":
            minor = draw(st.sampled_from([10, 20, 30]))
            cfg[PREFIX + "cluster"]["version"] = Raw(f"1.{minor}", float(f"1.{minor}"))
            return stack, cfg, "cluster.version"
        cfg[PREFIX + "storage"]["buckets"][0]["name"] = Raw(date, date)
        return stack, cfg, "storage.buckets[0].name"
    if kind == "reserved-bucket":
        i = draw(st.integers(0, len(spec["storage"]["buckets"]) - 1))
        cfg[PREFIX + "storage"]["buckets"][i]["name"] = "access-logs"
        return stack, cfg, f"storage.buckets[{i}].name"
    if kind == "tags":
        limit = {"aws": 45, "azure": 45, "gcp": 59}[cloud]
        n = draw(st.integers(limit + 1, limit + 40))
        cfg[PREFIX + "tags"] = {f"k{i}": "v" for i in range(n)}
        return stack, cfg, "tags"
    if kind == "zones":
        info = catalog.zones(cloud, region)
        assert info is not None
        cfg.setdefault(PREFIX + "network", {})["zones"] = draw(st.integers(info.count + 1, info.count + 4))
        return stack, cfg, "network.zones"
    if kind == "cloud-ids":
        if cloud == "gcp":
            choice = draw(st.sampled_from([("zone", "europe-west4-a"), ("zone", "us-central1"), ("project", "Bad_Project")]))
        elif cloud == "azure":
            choice = draw(
                st.sampled_from(
                    [("subscriptionId", "prod-subscription"), ("tenantId", "1234"), ("resourceGroupName", "ml/rg"), ("resourceGroupName", "rg."), ("adminGroupObjectIds", ["admins"])]
                )
            )
        else:
            choice = ("clusterAdminArns", [draw(st.sampled_from(["admins", "arn:aws:iam::123:role/x", "arn:aws:s3:::bucket"]))])
        cfg.setdefault(PREFIX + cloud, {})[choice[0]] = choice[1]
        path = f"{cloud}.{choice[0]}" + ("[0]" if isinstance(choice[1], list) else "")
        return stack, cfg, path
    if kind == "image":
        bad = draw(st.sampled_from(["", "x" * 256, "repo/img:1\u200b", "repo/img :1", "repo/img:1\t", "repo\u202e/img"]))
        cfg[PREFIX + "endpoints"][0]["model"]["image"] = bad
        return stack, cfg, "endpoints[0].model.image"
    if kind == "artifact-key":
        bad = draw(st.sampled_from(["k" * 1025, "é" * 513, "/abs/key", "models/", "", "key\x00"]))
        cfg[PREFIX + "endpoints"][0]["model"]["artifact"]["key"] = bad
        return stack, cfg, "endpoints[0].model.artifact.key"
    if kind == "description":
        bad = "Models " + draw(st.sampled_from(["\x1b[31mred", "\x00", "a\nb", "\u200bzero", "\x7f"]))
        cfg.setdefault(PREFIX + "modelRegistry", {})["description"] = bad
        return stack, cfg, "modelRegistry.description"
    if kind == "missing":
        choices = [("cloud",), ("region",), ("endpoints", 0, "model"), ("endpoints", 0, "name"), ("cluster", "gpuPools", 0, "maxNodes"), ("cluster", "gpuPools", 1, "gpu"), ("storage", "buckets", 0, "name")]
        path = draw(st.sampled_from(choices))
        if len(path) == 1:
            del cfg[PREFIX + path[0]]
        else:
            del _get(cfg, path[:-1])[path[-1]]
        return stack, cfg, _fmt(path)
    if kind == "cluster-endpoint":
        # One more endpoint, runsOn: cluster, with one mistake (docs/serving.md "Limits and rules").
        eps = list(cfg.get(PREFIX + "endpoints", []))
        i = len(eps)
        pool = cfg[PREFIX + "cluster"]["gpuPools"][0]
        room = pool["maxNodes"] * pool.get("gpusPerNode", 1)
        bucket = cfg[PREFIX + "storage"]["buckets"][0]["name"]
        ep: dict[str, Any] = {
            "name": "oss-extra", "runsOn": "cluster", "gpu": pool["gpu"], "gpuPool": pool["name"],
            "model": {"artifact": {"bucket": bucket, "key": "m/v1"}, "framework": {"name": "sklearn", "version": "1"}},
            "minInstances": 2, "maxInstances": 2,
        }  # fmt: skip
        mistakes = ["pool", "gpus", "framework", "capture", "public", *(["replicas"] if room < 100 else [])]
        mistake = draw(st.sampled_from(mistakes))
        if mistake == "pool":
            ep["gpuPool"], key = "no-such-pool", "gpuPool"
        elif mistake == "gpus":
            ep["gpusPerInstance"], key = min(16, pool.get("gpusPerNode", 1) + 1), "gpusPerInstance"
            if pool.get("gpusPerNode", 1) >= 16:
                ep["gpusPerInstance"] = 17  # above the key's own bound
        elif mistake == "replicas":
            ep["maxInstances"], key = room + 1, "maxInstances"
        elif mistake == "framework":
            ep["model"]["framework"]["name"], key = draw(st.sampled_from(["vllm", "sklearnn", "caffe"])), "model.framework.name"
        elif mistake == "capture":
            ep["dataCapture"], key = {"enabled": True}, "dataCapture.enabled"
        else:
            ep["private"], key = False, "private"
        cfg[PREFIX + "endpoints"] = [*eps, ep]
        return stack, cfg, f"endpoints[{i}].{key}"
    # namespaces-without-cluster
    cfg[PREFIX + "cluster"] = {"enabled": False}
    cfg[PREFIX + "monitoring"] = {"enabled": False}
    # Without a cluster the example's runsOn: cluster endpoint is the first mistake; keep the managed ones.
    cfg[PREFIX + "endpoints"] = [e for e in cfg.get(PREFIX + "endpoints", []) if e.get("runsOn") != "cluster"]
    cfg[PREFIX + "namespaces"] = [{"name": draw(st.sampled_from(["team-a", "team-vision", "research"]))}]
    return stack, cfg, "namespaces"


#: Examples per run: the issue asks for at least 500 in CI.
EXAMPLES_PER_RUN = int(__import__("os").environ.get("BAD_STACK_EXAMPLES", "500"))


@settings(max_examples=EXAMPLES_PER_RUN, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
@given(case=bad_stacks())
def test_every_bad_stack_is_one_line_naming_the_key(case: tuple[str, dict[str, Any], str], tmp_path_factory: pytest.TempPathFactory) -> None:
    _stack, cfg, key = case
    path = tmp_path_factory.mktemp("bad") / "Pulumi.bad.yaml"
    path.write_text(stack_yaml(cfg), encoding="utf-8")
    code, out, err = cli_plan(path)
    assert code == 2, err
    assert out == ""
    lines = err.splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), err
    msg = lines[0][len("error: ") :]
    assert msg.startswith((key + ": ", key + "[")), (key, msg)
    assert_plain(msg)
    # pulumi up: the program gets the config from the Pulumi CLI, never from our reader.
    assert program_error(pulumi_config(cfg)) == msg


# --- a few real subprocess runs of the same kinds ----------------------------------------


@pytest.mark.slow
@pytest.mark.parametrize(
    ("edit", "expected"),
    [
        (lambda c: c.update({"MLOPS-STACK:protect": False}), "error: MLOPS-STACK:protect: is not in the mlops-stack namespace (did you mean 'mlops-stack:protect'?)"),
        (lambda c: c["mlops-stack:cluster"].update({"version": Raw("1.30", 1.3)}), 'error: cluster.version: 1.3 is a number, but the version must be text: quote it'),
        (lambda c: c["mlops-stack:network"].update({"cidr": "169.254.0.0/16"}), "error: network.cidr: '169.254.0.0/16' must be a private (RFC 1918) range"),
    ],
)
def test_bad_stacks_in_a_real_process(edit: Any, expected: str, tmp_path: Path) -> None:
    cfg = example_config("prod-aws")
    edit(cfg)
    stack = tmp_path / "Pulumi.bad.yaml"
    stack.write_text(stack_yaml(cfg), encoding="utf-8")
    res = subprocess.run([sys.executable, "-m", "mlops_stack.cli", "plan", "--config", str(stack)], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert (res.returncode, res.stdout) == (2, "")
    assert res.stderr.startswith(expected) and res.stderr.count("\n") == 1, res.stderr


@pytest.mark.slow
def test_a_utf16_file_in_a_real_process(tmp_path: Path) -> None:
    stack = tmp_path / "Pulumi.bad.yaml"
    stack.write_bytes(stack_yaml(example_config("dev-gcp")).encode("utf-16"))
    res = subprocess.run([sys.executable, "-m", "mlops_stack.cli", "plan", "--config", str(stack)], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert (res.returncode, res.stdout) == (2, "")
    assert res.stderr == f"error: {stack}: is not UTF-8 text (byte 0 cannot be decoded); save the file as UTF-8\n"


# --- any bytes at all: a ConfigError or a spec, never a crash ------------------------------

_EXAMPLE_TEXT = (ROOT / "stacks" / "Pulumi.dev-aws.yaml").read_text(encoding="utf-8")


@st.composite
def damaged_files(draw: st.DrawFn) -> bytes:
    """The dev-aws stack file with a slice replaced by arbitrary text or bytes."""
    data = _EXAMPLE_TEXT.encode()
    start = draw(st.integers(0, len(data)))
    end = draw(st.integers(start, min(len(data), start + 40)))
    if draw(st.booleans()):
        insert = draw(st.text(alphabet=st.sampled_from(list(":-[]{}!&*|>'\"#%@`, \n\t?0123456789abcnotruefalsyeofinf.~<")), max_size=30)).encode()
    else:
        insert = draw(st.binary(max_size=20))
    return data[:start] + insert + data[end:]


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
@given(content=damaged_files())
def test_a_damaged_stack_file_is_a_config_error_or_a_spec(content: bytes, tmp_path_factory: pytest.TempPathFactory) -> None:
    from mlops_stack import targets
    from mlops_stack.errors import ConfigError
    from mlops_stack.offline.stackfile import read_stack_file
    from mlops_stack.spec import load_spec

    path = tmp_path_factory.mktemp("damaged") / "Pulumi.damaged.yaml"
    path.write_bytes(content)
    try:
        targets.check(load_spec(read_stack_file(path).raw_spec))
    except ConfigError as err:
        msg = str(err)
        assert "\n" not in msg and ": " in msg
        assert_plain(f"{err.reason} {err.hint or ''}")
