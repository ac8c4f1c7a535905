"""The kubeconfig's kubelogin login mode is a spec option (``azure.kubelogin``): a CI
runner signs in with workload identity, a service principal or a managed identity, not
only ``az login`` (issue 13). Modes and flags: Azure/kubelogin
``pkg/internal/token/options.go`` (supported logins; env vars read by ``UpdateFromEnv``)."""

from __future__ import annotations

import base64
from typing import Any

import pytest
import yaml

from mlops_stack.azure import _naming
from mlops_stack.azure._naming import AKS_AAD_SERVER_ID, kubelogin_args, kubelogin_kubeconfig
from mlops_stack.azure.mocks import cluster_user_kubeconfig
from mlops_stack.offline.engine import run_program
from mlops_stack.program import main as stack_program
from test_azure_errors import config, plan_error

TENANT = "11111111-2222-3333-4444-555555555555"
CLIENT = "66666666-7777-8888-9999-000000000000"


@pytest.mark.parametrize(
    ("login", "extra"),
    [
        ("azurecli", []),
        ("workloadidentity", ["--tenant-id", TENANT]),
        ("spn", ["--tenant-id", TENANT]),
        ("msi", ["--client-id", CLIENT]),
    ],
)
def test_args_per_mode(login: str, extra: list[str]) -> None:
    assert kubelogin_args(login, tenant_id=TENANT, client_id=CLIENT) == ["get-token", "--login", login, "--server-id", AKS_AAD_SERVER_ID, *extra]


def test_no_secret_ever_lands_in_the_kubeconfig() -> None:
    raw = base64.b64encode(cluster_user_kubeconfig("mlops-dev", "mlops-dev-x.hcp.eastus.azmk8s.io").encode()).decode()
    doc = yaml.safe_load(kubelogin_kubeconfig(raw, "spn", tenant_id=TENANT))
    (user,) = doc["users"]
    assert user["user"]["exec"]["args"] == ["get-token", "--login", "spn", "--server-id", AKS_AAD_SERVER_ID, "--tenant-id", TENANT]
    assert user["user"]["exec"]["env"] is None  # credentials come from the runner's environment
    assert "--client-secret" not in user["user"]["exec"]["args"]


@pytest.mark.parametrize(("azure", "expected"), [
    ({}, ("azurecli", None, None)),
    ({"kubelogin": "workloadidentity", "tenantId": TENANT}, ("workloadidentity", TENANT, None)),
    ({"kubelogin": "msi", "kubeloginClientId": CLIENT}, ("msi", None, CLIENT)),
])
def test_the_spec_option_reaches_the_stack_kubeconfig(azure: dict[str, Any], expected: tuple[Any, ...], monkeypatch: pytest.MonkeyPatch) -> None:
    seen: list[tuple[Any, ...]] = []
    real = _naming.kubelogin_kubeconfig

    def spy(raw: str, login: str = "azurecli", *, tenant_id: Any = None, client_id: Any = None) -> str:
        seen.append((login, str(tenant_id) if tenant_id else None, str(client_id) if client_id else None))
        return real(raw, login, tenant_id=tenant_id, client_id=client_id)

    import mlops_stack.azure.cluster as cluster

    monkeypatch.setattr(cluster, "kubelogin_kubeconfig", spy)
    run_program(stack_program, stack="dev-azure", config=config(azure=azure))
    assert seen and set(seen) == {expected}


def test_a_client_id_without_msi_is_one_config_error() -> None:
    err, registered = plan_error(config(azure={"kubelogin": "spn", "kubeloginClientId": CLIENT}))
    assert registered == []
    assert str(err) == f"azure.kubeloginClientId: '{CLIENT}' is only used with kubelogin: msi (a user-assigned managed identity) (remove it, or set kubelogin: msi)"


def test_an_interactive_mode_is_refused() -> None:
    err, registered = plan_error(config(azure={"kubelogin": "devicecode"}))
    assert registered == []
    assert str(err).startswith("azure.kubelogin: 'devicecode' ")
    assert "azurecli" in str(err) and "\n" not in str(err)


@pytest.mark.parametrize(("azure", "env", "expected"), [
    ({}, {}, "User"),
    ({}, {"ARM_CLIENT_ID": CLIENT}, "ServicePrincipal"),
    # A service principal signed in through `az login` sets none of those: the spec says so.
    ({"deployerPrincipalType": "ServicePrincipal"}, {}, "ServicePrincipal"),
    ({"deployerPrincipalType": "User"}, {"ARM_CLIENT_ID": CLIENT}, "User"),
])
def test_the_deployer_principal_type_comes_from_the_spec_when_set(azure: dict[str, Any], env: dict[str, str], expected: str,
                                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    for var in ("ARM_CLIENT_ID", "AZURE_CLIENT_ID", "ARM_USE_MSI", "ARM_USE_OIDC"):
        monkeypatch.delenv(var, raising=False)
    for k, v in env.items():
        monkeypatch.setenv(k, v)
    plan = run_program(stack_program, stack="dev-azure", config=config(azure=azure))
    (admin,) = [r for r in plan.of_type("azure-native:authorization:RoleAssignment")
                if "the identity running Pulumi" in str(r.inputs.get("description", ""))]
    assert admin.inputs["principalType"] == expected
