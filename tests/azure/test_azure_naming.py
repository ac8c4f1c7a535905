"""Pure Azure helpers: physical names under Azure's rules, address plans, the kubeconfig
rewrite, role IDs, the mock's invoke outputs."""

from __future__ import annotations

import base64
import ipaddress
import re

import yaml
from hypothesis import given, strategies as st

from mlops_stack.azure._naming import (
    AGENT_POOL_MAX,
    agent_pool_name,
    bounded_name,
    container_registry_name,
    k8s_cidrs,
    key_vault_name,
    kubelogin_kubeconfig,
    role_definition_id,
    storage_account_name,
    subnet_plan,
)
from mlops_stack.azure.endpoint import auth_mode, traffic_template
from mlops_stack.azure.keys import rotation_policy
from mlops_stack.azure.mocks import cluster_user_kubeconfig

PREFIX = st.from_regex(r"[a-z][a-z0-9-]{0,14}[a-z0-9]-(dev|staging|prod)", fullmatch=True)
SEED = st.text(min_size=1, max_size=120)


@given(PREFIX, SEED)
def test_storage_account_names_are_3_to_24_lowercase_alphanumerics(prefix: str, seed: str) -> None:
    name = storage_account_name(prefix, seed)
    assert re.fullmatch(r"[a-z0-9]{3,24}", name), name
    assert name == storage_account_name(prefix, seed)  # stable


@given(PREFIX, SEED)
def test_key_vault_and_registry_names_follow_azure_rules(prefix: str, seed: str) -> None:
    kv = key_vault_name(prefix, seed)
    assert re.fullmatch(r"[a-z][a-z0-9-]{1,22}[a-z0-9]", kv) and "--" not in kv
    acr = container_registry_name(prefix, seed)
    assert re.fullmatch(r"[a-z0-9]{5,50}", acr)


def test_names_differ_per_resource_group_and_keep_a_readable_prefix() -> None:
    a = storage_account_name("mlops-dev", "/subscriptions/a/resourceGroups/mlops-dev-rg")
    b = storage_account_name("mlops-dev", "/subscriptions/b/resourceGroups/mlops-dev-rg")
    assert a != b and a.startswith("mlopsdevst") and len(a) == 18
    long = storage_account_name("averyverylongname-staging", "x")
    assert len(long) == 24 and long.startswith("averyverylongn")


@given(st.from_regex(r"[a-z][a-z0-9-]{0,30}[a-z0-9]", fullmatch=True))
def test_agent_pool_names_are_valid(pool: str) -> None:
    name = agent_pool_name(pool)
    assert re.fullmatch(r"[a-z][a-z0-9]{0,11}", name), name
    assert len(name) <= AGENT_POOL_MAX and name != "system"


def test_agent_pool_names_do_not_collide() -> None:
    assert agent_pool_name("train") == "train"
    assert agent_pool_name("gpu-a") != agent_pool_name("gpua")
    assert agent_pool_name("system") != "system"
    assert len(agent_pool_name("a-very-long-pool-name")) == 12


def test_bounded_names() -> None:
    assert bounded_name("mlops-dev-sentiment", 32) == "mlops-dev-sentiment"
    seeded = bounded_name("mlops-dev-sentiment", 32, seed="rg")
    assert seeded.startswith("mlops-dev-sentiment-") and len(seeded) == 26
    long = bounded_name("mlops-staging-" + "x" * 40, 32)
    assert len(long) == 32 and not long.startswith("-")


@given(st.sampled_from(["10.0.0.0/16", "10.244.0.0/16", "172.16.0.0/16", "192.168.0.0/16", "10.245.0.0/20", "172.17.0.0/16"]))
def test_k8s_cidrs_never_overlap_the_vnet_or_each_other(vnet: str) -> None:
    c = k8s_cidrs(vnet)
    pod, svc, v = (ipaddress.IPv4Network(x) for x in (c["pod_cidr"], c["service_cidr"], vnet))
    assert not pod.overlaps(v) and not svc.overlaps(v) and not pod.overlaps(svc)
    assert ipaddress.IPv4Address(c["dns_service_ip"]) in svc


def test_subnet_plan() -> None:
    assert subnet_plan("10.20.0.0/16") == {"nodes": "10.20.0.0/17", "endpoints": "10.20.128.0/20", "apiserver": "10.20.144.0/28"}
    assert subnet_plan("10.20.0.0/20") == {"nodes": "10.20.0.0/21", "endpoints": "10.20.8.0/24", "apiserver": "10.20.9.0/28"}


def test_kubeconfig_switches_to_non_interactive_kubelogin() -> None:
    raw = base64.b64encode(cluster_user_kubeconfig("mlops-dev", "mlops-dev-x.hcp.eastus.azmk8s.io").encode()).decode()
    doc = yaml.safe_load(kubelogin_kubeconfig(raw))
    (user,) = doc["users"]
    assert user["user"]["exec"]["command"] == "kubelogin"
    assert user["user"]["exec"]["args"] == ["get-token", "--login", "azurecli", "--server-id", "6dae42f8-4368-4678-94ff-3960e28e3630"]
    assert user["user"]["exec"]["interactiveMode"] == "Never"
    assert "token" not in user["user"] and "client-key-data" not in user["user"]
    assert doc["clusters"][0]["cluster"]["server"] == "https://mlops-dev-x.hcp.eastus.azmk8s.io:443"


def test_role_definition_id_and_auth_modes() -> None:
    assert role_definition_id("sub", "guid") == "/subscriptions/sub/providers/Microsoft.Authorization/roleDefinitions/guid"
    assert (auth_mode("key"), auth_mode("token")) == ("Key", "AADToken")


def test_traffic_template_restates_the_endpoint() -> None:
    t = traffic_template(
        workspace="ws", endpoint="ep", location="eastus", identity_id="/id", auth="Key", public_access="Enabled", deployment="primary", tags={"a": "b"},
        description="mlops-stack ep",
    )
    (res,) = t["resources"]
    assert res["name"] == "ws/ep" and res["properties"]["traffic"] == {"primary": 100}
    assert res["properties"]["description"] == "mlops-stack ep"
    assert res["identity"] == {"type": "UserAssigned", "userAssignedIdentities": {"/id": {}}}


def test_rotation_policy_expires_after_the_rotation() -> None:
    p = rotation_policy(90)
    assert p.attributes.expiry_time == "P180D"
    assert p.lifetime_actions[0].trigger.time_after_create == "P90D"


def test_only_api_version_aliases_are_dropped() -> None:
    import pulumi

    from mlops_stack.azure._shared import drop_api_version_aliases

    versioned = pulumi.Alias(type_="azure-native:network/v20230201:VirtualNetwork")
    mine = pulumi.Alias(name="old-vnet")
    renamed = pulumi.Alias(type_="azure-native:network/v20230201:VirtualNetwork", name="old")
    args = pulumi.ResourceTransformationArgs(
        resource=None, type_="azure-native:network:VirtualNetwork", name="vnet", props={}, opts=pulumi.ResourceOptions(aliases=[versioned, mine, renamed])
    )
    result = drop_api_version_aliases(args)
    assert result is not None and result.opts.aliases == [mine, renamed]
    other = pulumi.ResourceTransformationArgs(resource=None, type_="kubernetes:core/v1:Namespace", name="n", props={}, opts=pulumi.ResourceOptions(aliases=[versioned]))
    assert drop_api_version_aliases(other) is None
