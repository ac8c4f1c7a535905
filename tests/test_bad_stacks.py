"""Every bad stack file gets one clear line; nothing invalid reaches ``pulumi up``.

A fixed corpus of the cases in issue 15 (each failed on the code before it), run
through the CLI (exit 2, one line on stderr, nothing on stdout) and through the stack
program the way ``pulumi up`` hands it config (same line, nothing registered).
"""

from __future__ import annotations

import gzip
import ipaddress
from pathlib import Path
from typing import Any

import pytest

from badstacks import Raw, assert_plain, cli_plan, example_config, program_error, pulumi_config, stack_yaml
from planning import set_path
from mlops_stack import catalog
from mlops_stack.args import MAX_OWN_TAGS
from mlops_stack.errors import did_you_mean
from mlops_stack.offline.stackfile import read_stack_file
from mlops_stack.spec import MlopsSpec, _Model, load_spec


def put(config: dict[str, Any], path: str, value: Any) -> dict[str, Any]:
    """``put(cfg, "cluster.gpuPools.0.gpu", "x")``: set one value (``mlops-stack:`` added)."""
    head, _, rest = path.partition(".")
    key = f"mlops-stack:{head}"
    if not rest:
        config[key] = value
        return config
    set_path(config.setdefault(key, {}), rest, value)
    return config


def both(config: dict[str, Any], tmp_path: Path) -> str:
    """The error line from the CLI and from the program path; asserts they agree."""
    stack = tmp_path / "Pulumi.bad.yaml"
    stack.write_text(stack_yaml(config), encoding="utf-8")
    code, out, err = cli_plan(stack)
    assert code == 2, err
    assert out == ""
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), err
    msg = lines[0][len("error: ") :]
    assert program_error(pulumi_config(config)) == msg
    assert_plain(msg)
    return msg


def aws(**edits: Any) -> dict[str, Any]:
    cfg = example_config("dev-aws")
    for path, value in edits.items():
        put(cfg, path.replace("__", "."), value)
    return cfg


# --- the file itself ----------------------------------------------------------------


@pytest.mark.parametrize(
    "content",
    [
        pytest.param(lambda text: text.encode("utf-16"), id="utf-16"),
        pytest.param(lambda text: text.replace("ml-platform", "ml-plätform").encode("latin-1"), id="latin-1"),
        pytest.param(lambda text: gzip.compress(text.encode()), id="gzip"),
        pytest.param(lambda text: bytes(range(128, 256)) * 4, id="random-bytes"),
    ],
)
def test_a_file_that_is_not_utf8_is_one_line(content: Any, tmp_path: Path) -> None:
    stack = tmp_path / "Pulumi.bad.yaml"
    stack.write_bytes(content(stack_yaml(example_config("dev-aws"))))
    code, out, err = cli_plan(stack)
    assert (code, out) == (2, "")
    assert err.startswith(f"error: {stack}: is not UTF-8 text (byte ") and err.endswith("cannot be decoded); save the file as UTF-8\n")


def test_a_utf8_bom_is_fine(tmp_path: Path) -> None:
    stack = tmp_path / "Pulumi.bom.yaml"
    stack.write_bytes(b"\xef\xbb\xbf" + stack_yaml(example_config("dev-aws")).encode())
    assert load_spec(read_stack_file(stack).raw_spec).region == "us-east-1"


# --- YAML values that are not JSON, read as Pulumi reads them -----------------------


def test_an_unquoted_date_stays_text_like_pulumi_reads_it(tmp_path: Path) -> None:
    assert both(aws(name=Raw("2024-01-01", "2024-01-01")), tmp_path) == (
        "name: '2024-01-01' must be 2-16 lower-case letters, digits and dashes, starting with a letter and not ending with a dash"
    )
    stack = tmp_path / "Pulumi.date.yaml"
    stack.write_text(stack_yaml(aws(tags__created=Raw("2024-01-01", "2024-01-01"))))
    assert load_spec(read_stack_file(stack).raw_spec).tags["created"] == "2024-01-01"


@pytest.mark.parametrize(
    ("literal", "kind"),
    [("!!binary aGVsbG8=", "!!binary"), ("!!set {a, b}", "!!set")],
)
def test_yaml_values_pulumi_config_cannot_hold(literal: str, kind: str, tmp_path: Path) -> None:
    stack = tmp_path / "Pulumi.bad.yaml"
    stack.write_text(stack_yaml(aws(tags__created=Raw(literal, None))))
    code, out, err = cli_plan(stack)
    assert (code, out) == (2, "")
    assert err == f"error: tags.created: is a YAML {kind} value, which Pulumi config cannot hold; write it as text, a number, a list or a mapping\n"


def test_a_key_that_is_not_text(tmp_path: Path) -> None:
    stack = tmp_path / "Pulumi.bad.yaml"
    stack.write_text(stack_yaml(aws(tags={1: "x", "owner": "me"})))
    code, _, err = cli_plan(stack)
    assert code == 2 and err == "error: tags.1: 1 has a key that is not text; quote the key\n"


def test_a_namespace_with_no_key_name(tmp_path: Path) -> None:
    cfg = aws()
    cfg["mlops-stack:"] = "x"
    assert both(cfg, tmp_path) == "config: key 'mlops-stack:' has no name after the namespace (write mlops-stack:<key>, e.g. mlops-stack:cloud)"


@pytest.mark.parametrize("namespace", ["mlops-stak", "MLOPS-STACK", "mlops_stack", "mlopsstack"])
def test_a_misspelt_namespace_is_an_error_not_ignored(namespace: str, tmp_path: Path) -> None:
    cfg = example_config("prod-aws")
    cfg[f"{namespace}:protect"] = False
    assert both(cfg, tmp_path) == f"{namespace}:protect: is not in the mlops-stack namespace (did you mean 'mlops-stack:protect'?)"


def test_other_namespaces_are_still_left_alone() -> None:
    cfg = pulumi_config(example_config("dev-aws"))
    cfg.update({"aws:region": "us-east-1", "kubernetes:context": "x", "pulumi:tags": "{}"})
    from mlops_stack.spec import raw_from_config_values

    assert raw_from_config_values(cfg)["cloud"] == "aws"


# --- unquoted YAML --------------------------------------------------------------------


def test_region_check_off_unquoted_is_accepted(tmp_path: Path) -> None:
    cfg = aws(region="eu-west-3", cluster__gpuPools__0__gpu="nvidia-h100", cluster__gpuPools__0__gpusPerNode=8)
    msg = both(cfg, tmp_path)
    assert msg.startswith("cluster.gpuPools[0].gpu: 'nvidia-h100' is not offered on aws for node pools in region eu-west-3")
    assert msg.endswith("set regionCheck: off)")
    cfg["mlops-stack:regionCheck"] = Raw("off", "off")
    stack = tmp_path / "Pulumi.off.yaml"
    stack.write_text(stack_yaml(cfg))
    assert load_spec(read_stack_file(stack).raw_spec).region_check == "off"
    # A YAML 1.1 reader hands the program false for it: taken as meant.
    assert load_spec({**read_stack_file(stack).raw_spec, "regionCheck": False}).region_check == "off"


def test_an_unquoted_version_says_to_quote_it(tmp_path: Path) -> None:
    assert both(aws(cluster__version=Raw("1.30", 1.3)), tmp_path) == (
        'cluster.version: 1.3 is a number, but the version must be text: quote it (write version: "1.30" - unquoted, YAML reads 1.30 as the number 1.3)'
    )


# --- networks -------------------------------------------------------------------------


@pytest.mark.parametrize("cidr", ["127.0.0.0/16", "169.254.0.0/16", "0.0.0.0/16", "100.64.0.0/16", "8.8.0.0/16"])
def test_network_cidr_must_be_rfc1918(cidr: str, tmp_path: Path) -> None:
    assert both(aws(network__cidr=cidr), tmp_path) == (
        f"network.cidr: '{cidr}' must be a private (RFC 1918) range (10.0.0.0/8, 172.16.0.0/12 or 192.168.0.0/16)"
    )


@pytest.mark.parametrize(
    ("value", "reason"),
    [
        (167772160, "is not an IPv4 CIDR; write it as text such as 10.0.0.0/16"),
        (True, "is not an IPv4 CIDR; write it as text such as 10.0.0.0/16"),
        ("10.0.0.1/16", "has host bits set; the network is 10.0.0.0/16"),
        ("10.0.0.0", "is not an IPv4 CIDR: it needs a prefix length, such as 10.0.0.0/16"),
    ],
)
def test_network_cidr_must_be_a_cidr_written_as_text(value: Any, reason: str, tmp_path: Path) -> None:
    assert both(aws(network__cidr=value), tmp_path) == f"network.cidr: {value!r} {reason}"


HINT = "(list your VPN or office CIDRs, or leave the list empty for a private endpoint)"


@pytest.mark.parametrize(
    ("cidrs", "expected"),
    [
        (["0.0.0.0/1", "128.0.0.0/1"], f"cluster.publicAccessCidrs[0]: '0.0.0.0/1' opens the API server to 2147483648 addresses; at most a /8 may be allowed {HINT}; 1 more problem after this one"),
        (
            [f"{i}.0.0.0/8" for i in (11, 12)],
            f"cluster.publicAccessCidrs: ['11.0.0.0/8', '12.0.0.0/8'] together allow 33554432 addresses, more than a /8 (16777216): the API server would be open to a large part of the internet {HINT}",
        ),
        (["127.0.0.0/8"], f"cluster.publicAccessCidrs[0]: '127.0.0.0/8' is a loopback range, which never reaches a public API endpoint {HINT}"),
        (["10.0.0.0/8"], f"cluster.publicAccessCidrs[0]: '10.0.0.0/8' is a private range; a public API endpoint only sees public source addresses (a runner on a private network goes in cluster.runnerCidrs)"),
        (["224.0.0.0/8"], f"cluster.publicAccessCidrs[0]: '224.0.0.0/8' is a multicast range, which never reaches a public API endpoint {HINT}"),
        ([12345], "cluster.publicAccessCidrs[0]: 12345 is not an IPv4 CIDR; write it as text such as 10.0.0.0/16"),
        ([True], "cluster.publicAccessCidrs[0]: True is not an IPv4 CIDR; write it as text such as 10.0.0.0/16"),
    ],
)
def test_public_access_cidrs(cidrs: list[Any], expected: str, tmp_path: Path) -> None:
    assert both(aws(cluster__publicAccessCidrs=cidrs), tmp_path) == expected


def test_public_access_to_an_office_and_a_documentation_range_is_fine() -> None:
    cfg = aws(cluster__publicAccessCidrs=["203.0.113.0/24", "198.51.100.7/32", "81.2.0.0/16"])
    from mlops_stack.spec import raw_from_config_values

    spec = load_spec(raw_from_config_values(pulumi_config(cfg)))
    assert spec.cluster.public_access_cidrs[2] == ipaddress.IPv4Network("81.2.0.0/16")


@pytest.mark.parametrize(
    ("stack", "region", "zones", "expected"),
    [
        ("dev-aws", "us-east-2", 4, "network.zones: 4 asks for 4 zones, but region us-east-2 has 3 (set network.zones: 3; if your account has more zones there, set regionCheck: off)"),
        ("prod-aws", "us-west-1", None, "network.zones: 3 asks for 3 zones (the prod default), but region us-west-1 has 2 (set network.zones: 2; if your account has more zones there, set regionCheck: off)"),
        ("dev-azure", "eastus", 4, "network.zones: 4 asks for 4 zones, but region eastus has 3 (set network.zones: 3; if your account has more zones there, set regionCheck: off)"),
        ("dev-azure", "westus", 4, "network.zones: 4 asks for 4 zones, but azure regions have at most 3 (set network.zones: 3)"),
    ],
)
def test_network_zones_within_the_region(stack: str, region: str, zones: int | None, expected: str, tmp_path: Path) -> None:
    cfg = example_config(stack)
    put(cfg, "region", region)
    if zones is not None:
        put(cfg, "network.zones", zones)
    assert both(cfg, tmp_path) == expected


def test_every_known_region_has_zone_data_and_the_offline_mock_follows_it() -> None:
    for cloud in ("aws", "gcp"):
        for region in catalog.known_regions(cloud):
            info = catalog.zones(cloud, region)
            assert info is not None and info.listed and info.count >= 2, (cloud, region)
    from mlops_stack.offline.engine import MockContext
    from mlops_stack.aws.mocks import _zones

    class Call:
        provider = None
        args: dict[str, str] = {}

    assert len(_zones(MockContext("p", "s", {"aws:region": "us-west-1"}), Call())["names"]) == 2  # type: ignore[arg-type]


# --- buckets, tags, day counts, registries ------------------------------------------------


@pytest.mark.parametrize("stack", ["dev-aws", "dev-gcp", "dev-azure"])
def test_the_log_bucket_name_is_reserved(stack: str, tmp_path: Path) -> None:
    cfg = example_config(stack)
    put(cfg, "storage.buckets.2.name", "access-logs")
    assert both(cfg, tmp_path) == (
        "storage.buckets[2].name: 'access-logs' is reserved: the stack's own access-log bucket has this name (choose another bucket name)"
    )


@pytest.mark.parametrize(
    ("stack", "limit", "what"), [("prod-aws", 50, "AWS tags"), ("prod-azure", 50, "Azure tags"), ("prod-gcp", 64, "GCP labels")]
)
def test_tag_count_limits_once_ours_are_added(stack: str, limit: int, what: str, tmp_path: Path) -> None:
    room = limit - MAX_OWN_TAGS
    cfg = example_config(stack)
    put(cfg, "tags", {f"t{i}": "x" for i in range(room + 1)})
    assert both(cfg, tmp_path) == (
        f"tags: has {room + 1} entries; {what} allow {limit} per resource and the stack adds up to {MAX_OWN_TAGS} of its own (keep at most {room})"
    )


def test_no_resource_carries_more_than_max_own_tags_of_ours(example_plan: Any) -> None:
    user = 2  # owner, cost-center in every example
    for r in example_plan.resources:
        node_config = r.inputs.get("nodeConfig") if isinstance(r.inputs.get("nodeConfig"), dict) else {}
        for key, value in (("tags", r.inputs.get("tags")), ("labels", r.inputs.get("labels")), ("nodeConfig.resourceLabels", node_config.get("resourceLabels"))):
            if isinstance(value, dict):
                assert len(value) <= user + MAX_OWN_TAGS, (r.type, r.name, key, value)


@pytest.mark.parametrize(
    ("path", "value", "expected"),
    [
        ("storage.buckets.0.noncurrentVersionExpirationDays", 9223372036854775808, "storage.buckets[0].noncurrentVersionExpirationDays: 9223372036854775808 must be at most 36500"),
        ("storage.buckets.0.expirationDays", Raw("1e30", 1e30), "storage.buckets[0].expirationDays: 1e+30 must be at most 36500"),
        ("storage.logRetentionDays", 10**12, "storage.logRetentionDays: 1000000000000 must be at most 36500"),
        ("containerRegistry.untaggedExpiryDays", 40000, "containerRegistry.untaggedExpiryDays: 40000 must be at most 36500"),
        ("storage.buckets.0.sizeGb", Raw(".inf", None), None),
    ],
)
def test_day_counts_within_what_the_apis_take(path: str, value: Any, expected: str | None, tmp_path: Path) -> None:
    cfg = put(example_config("dev-aws"), path, value)
    if expected is None:  # .inf: not JSON, so the file is refused before the program
        stack = tmp_path / "Pulumi.bad.yaml"
        stack.write_text(stack_yaml(cfg))
        code, _, err = cli_plan(stack)
        assert code == 2 and err == "error: storage.buckets[0].sizeGb: inf must be a finite number\n"
        return
    assert both(cfg, tmp_path) == expected


def test_acr_retention_on_premium(tmp_path: Path) -> None:
    cfg = put(example_config("prod-azure"), "containerRegistry.untaggedExpiryDays", 400)
    assert both(cfg, tmp_path) == (
        "containerRegistry.untaggedExpiryDays: 400 is more than ACR's retention policy allows (365 days) (use at most 365)"
    )


# --- cloud sub-specs --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("zone", "expected"),
    [
        ("us-east1-b", "gcp.zone: 'us-east1-b' is not a zone of region us-central1 (zones are named us-central1-<letter>)"),
        ("us-central1-d", "gcp.zone: 'us-central1-d' is not a zone of region us-central1 in the catalog (zones: us-central1-a, us-central1-b, us-central1-c, us-central1-f; if the region has it now, set regionCheck: off)"),
        ("central", "gcp.zone: 'central' is not a GCP zone name such as us-central1-a"),
    ],
)
def test_gcp_zone_in_region(zone: str, expected: str, tmp_path: Path) -> None:
    assert both(put(example_config("dev-gcp"), "gcp.zone", zone), tmp_path) == expected


@pytest.mark.parametrize(
    ("path", "value", "expected"),
    [
        ("azure.subscriptionId", "my-subscription", "azure.subscriptionId: 'my-subscription' is not a GUID (xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx)"),
        ("azure.tenantId", "00000000-0000-0000-0000-00000000000", "azure.tenantId: '00000000-0000-0000-0000-00000000000' is not a GUID (xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx)"),
        ("azure.adminGroupObjectIds", ["platform-admins"], "azure.adminGroupObjectIds[0]: 'platform-admins' is not a GUID (xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx)"),
        ("azure.resourceGroupName", "rg/ml", "azure.resourceGroupName: 'rg/ml' is not a resource group name Azure accepts: 1-90 letters, digits, '_', '-', '.', '(' and ')', not ending in '.'"),
        ("azure.resourceGroupName", "rg.", "azure.resourceGroupName: 'rg.' is not a resource group name Azure accepts: 1-90 letters, digits, '_', '-', '.', '(' and ')', not ending in '.'"),
        ("azure.resourceGroupName", "r" * 91, None),
    ],
)
def test_azure_ids(path: str, value: Any, expected: str | None, tmp_path: Path) -> None:
    msg = both(put(example_config("dev-azure"), path, value), tmp_path)
    assert msg == expected if expected else msg.startswith("azure.resourceGroupName: 'rrrr")


# --- endpoints, registries, namespaces ----------------------------------------------------


@pytest.mark.parametrize(
    ("path", "value", "expected"),
    [
        ("endpoints.0.model.image", "", "endpoints[0].model.image: '' must not be empty (set it to a serving container image URI, or set framework instead)"),
        ("endpoints.0.model.image", "r/" + "x" * 300, "endpoints[0].model.image: 'r/" + "x" * 54 + "... is 302 characters long; image references are at most 255"),
        ("endpoints.0.model.image", "repo/serving:1.0\u200b", "endpoints[0].model.image: 'repo/serving:1.0\\u200b' contains the whitespace, control or invisible character U+200B; an image reference has none"),
        ("endpoints.0.model.image", "repo/serving: 1.0", "endpoints[0].model.image: 'repo/serving: 1.0' contains the whitespace, control or invisible character U+0020; an image reference has none"),
        ("endpoints.0.model.artifact.key", "k/" + "é" * 600, "endpoints[0].model.artifact.key: 'k/" + "é" * 54 + "... is 1202 bytes long in UTF-8; object keys are at most 1024"),
        ("endpoints.0.model.artifact.key", "/models/v1", "endpoints[0].model.artifact.key: '/models/v1' must not start or end with '/'"),
        ("modelRegistry.description", "Models\x07", "modelRegistry.description: 'Models\\x07' contains the invisible or control character U+0007; write the description on one line, in plain text"),
        ("modelRegistry.description", "line one\nline two", "modelRegistry.description: 'line one\\nline two' contains the invisible or control character U+000A; write the description on one line, in plain text"),
        ("endpoints.0.sampleRequest", {"body": 5}, "endpoints[0].sampleRequest.body: 5 must be text, a mapping or a list"),
    ],
)
def test_endpoint_and_registry_strings(path: str, value: Any, expected: str, tmp_path: Path) -> None:
    assert both(put(example_config("dev-aws"), path, value), tmp_path) == expected


def test_namespaces_need_a_cluster(tmp_path: Path) -> None:
    cfg = aws(cluster__enabled=False, cluster__gpuPools=[], monitoring__enabled=False)
    # The example's runsOn: cluster endpoint would be reported first (it needs the cluster too).
    cfg["mlops-stack:endpoints"] = [e for e in cfg["mlops-stack:endpoints"] if e.get("runsOn") != "cluster"]
    assert both(cfg, tmp_path) == "namespaces: needs a cluster, but cluster.enabled is false (remove namespaces or enable the cluster)"


# --- wording ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("stack", "path", "value", "expected"),
    [
        ("dev-gcp", "gcp", "my-project", "gcp: 'my-project' must be a mapping of keys to values"),
        ("dev-aws", "tags.owner", "ML Platform", "tags.owner: 'ML Platform' is not an allowed value: lower-case letters, digits, '_' and '-', up to 63 characters (GCP label rules, used on every cloud)"),
        ("dev-aws", "cluster.version", "v1.33", "cluster.version: 'v1.33' is not a Kubernetes minor version such as \"1.33\" (quoted)"),
        ("dev-aws", "endpoints.0.model.environment", {"1BAD": "x"}, "endpoints[0].model.environment.1BAD: is not an allowed environment variable name: letters, digits and '_', not starting with a digit"),
        ("dev-aws", "aws.clusterAdminArns", ["admins"], "aws.clusterAdminArns[0]: 'admins' is not an IAM role or user ARN (arn:aws:iam::<12-digit account>:role/<name>)"),
        ("dev-gcp", "gcp.project", "P", "gcp.project: 'P' is not a GCP project ID: 6-30 lower-case letters, digits and dashes, starting with a letter and not ending with a dash"),
        ("dev-aws", "cluster.gpuPools.0.spot", "maybe", "cluster.gpuPools[0].spot: 'maybe' must be true or false"),
        ("dev-aws", "cluster.gpuPools", "none", "cluster.gpuPools: 'none' must be a list"),
        ("dev-aws", "cluster.gpuPools.0.name", 7, "cluster.gpuPools[0].name: 7 must be text (quote it: unquoted, YAML reads it as a number)"),
        ("dev-aws", "cluster.gpuPools.0.maxNodes", 1.5, "cluster.gpuPools[0].maxNodes: 1.5 must be a whole number"),
        ("dev-aws", "storage.buckets", [], "storage.buckets: [] must have at least 1 item"),
        ("dev-aws", "gpu.sharing.mode", "mig", "gpu.sharing.mode: 'mig' needs MIG-capable GPUs, but pool GPU 'nvidia-t4' is not one (MIG GPUs: nvidia-a100-40gb, nvidia-a100-80gb, nvidia-b200, nvidia-h100, nvidia-h100-nvl, nvidia-h200)"),
    ],
)
def test_no_pydantic_wording(stack: str, path: str, value: Any, expected: str, tmp_path: Path) -> None:
    assert both(put(example_config(stack), path, value), tmp_path) == expected


def test_did_you_mean_offers_nothing_rather_than_a_bad_guess(tmp_path: Path) -> None:
    msg = both(put(example_config("dev-azure"), "region", "us-east-9"), tmp_path)
    assert msg.startswith("region: 'us-east-9' is not a region of azure (known: ")
    assert did_you_mean("us-east-9", catalog.known_regions("azure")) is None
    assert did_you_mean("eastus3", catalog.known_regions("azure")) == "did you mean 'eastus' or 'eastus2'?"
    assert did_you_mean("modles", ["models", "artifacts"]) == "did you mean 'models'?"
    assert did_you_mean("nvidia-l5", ["nvidia-l4", "nvidia-t4", "nvidia-h100"]) == "did you mean 'nvidia-l4'?"


def test_every_number_in_the_spec_has_both_bounds() -> None:
    """So no day count, quota or size can be 9223372036854775808 or 1e30."""
    import annotated_types

    def walk(model: type[_Model], prefix: str) -> list[str]:
        missing = []
        for name, field in model.model_fields.items():
            inner = [a for a in getattr(field.annotation, "__args__", ()) or (field.annotation,)]
            sub = next((a for a in inner if isinstance(a, type) and issubclass(a, _Model)), None)
            if sub is not None:
                missing += walk(sub, f"{prefix}{name}.")
            for a in getattr(field.annotation, "__args__", ()) or ():
                if isinstance(a, type) and issubclass(a, _Model):
                    missing += walk(a, f"{prefix}{name}[].")
            if any(a in (int, float) for a in inner):
                kinds = {type(m) for m in field.metadata}
                if not ({annotated_types.Ge, annotated_types.Gt} & kinds and {annotated_types.Le, annotated_types.Lt} & kinds):
                    missing.append(prefix + name)
        return missing

    assert walk(MlopsSpec, "") == []


def test_framework_versions_are_listed_in_version_order() -> None:
    from mlops_stack.aws.images import _version_key

    assert sorted(["2.10", "2.9", "1.13.1", "2.0"], key=_version_key) == ["1.13.1", "2.0", "2.9", "2.10"]


# --- component args: the same models, the same one-line errors -----------------------------


@pytest.mark.parametrize(
    ("build", "expected"),
    [
        (
            lambda: __import__("mlops_stack.spec", fromlist=["GpuPoolSpec"]).GpuPoolSpec(name="Train", gpu="nvidia-t4", max_nodes=1),
            "GpuPoolSpec.name: 'Train' must be 1-32 lower-case letters, digits and dashes, starting with a letter and not ending with a dash",
        ),
        (
            lambda: __import__("mlops_stack.spec", fromlist=["NetworkSpec"]).NetworkSpec(cidr="169.254.0.0/16"),
            "NetworkSpec.cidr: '169.254.0.0/16' must be a private (RFC 1918) range (10.0.0.0/8, 172.16.0.0/12 or 192.168.0.0/16)",
        ),
        (
            lambda: __import__("mlops_stack.spec", fromlist=["StorageSpec"]).StorageSpec(logRetentionDays=10**19),
            "StorageSpec.logRetentionDays: 10000000000000000000 must be at most 36500",
        ),
        (
            lambda: __import__("mlops_stack.spec", fromlist=["ModelSpec"]).ModelSpec(artifact={"bucket": "models", "key": "m"}, image=""),
            "ModelSpec.image: '' must not be empty (set it to a serving container image URI, or set framework instead)",
        ),
    ],
)
def test_component_args_built_in_python_get_the_same_one_line_error(build: Any, expected: str) -> None:
    from mlops_stack.errors import ConfigError

    with pytest.raises(ConfigError) as info:
        build()
    assert str(info.value) == expected


def test_zones_eks_refuses_are_not_counted(tmp_path: Path) -> None:
    from mlops_stack.aws.checks import EKS_EXCLUDED_ZONE_IN_REGION
    from mlops_stack.aws.policies import EKS_UNSUPPORTED_ZONE_IDS

    assert set(EKS_EXCLUDED_ZONE_IN_REGION.values()) <= set(EKS_UNSUPPORTED_ZONE_IDS)
    cfg = put(example_config("dev-aws"), "network.zones", 6)  # us-east-1 has 6; EKS refuses use1-az3
    assert both(cfg, tmp_path) == (
        "network.zones: 6 asks for 6 zones, but us-east-1 has 5 that EKS supports (use1-az3 is left out by ID) (set network.zones: 5)"
    )
