"""Pure naming, addressing and role helpers for the Azure components (no SDK import).

Several Azure names are global (storage accounts, key vaults, container registries,
online endpoints per region) and have strict character rules, so Pulumi's auto-naming
(logical name + 8 random characters, case and dashes kept) would produce invalid or
colliding names. We derive them the way ARM templates do with
``uniqueString(resourceGroup().id)``: a readable prefix plus a short hash of the
resource group ID, so a name is stable for a stack and distinct across subscriptions.
"""

from __future__ import annotations

import base64
import hashlib
import ipaddress
import re
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import yaml

from mlops_stack.errors import ConfigError

# ---------------------------------------------------------------------------------
# Built-in role definition GUIDs (the same in every subscription and tenant).

ROLE_ACR_PULL = "7f951dda-4ed3-4680-a7ca-43fe172d538d"
ROLE_STORAGE_BLOB_DATA_READER = "2a2b9908-6ea1-4ae2-8e65-a410df84e7d1"
#: Write blobs: Azure ML data capture writes requests/responses with the endpoint identity.
ROLE_STORAGE_BLOB_DATA_CONTRIBUTOR = "ba92f5b4-2d11-453d-a403-e96b0029c9fe"
#: AKS creates persistent volumes with a disk encryption set only with Contributor on it
#: (AKS "Bring your own keys (BYOK) with Azure managed disks"): Reader is enough for node
#: OS disks at cluster creation, not for PVCs.
ROLE_CONTRIBUTOR = "b24988ac-6180-42a0-ab88-20f7382dd24c"
ROLE_KV_CRYPTO_SERVICE_ENCRYPTION_USER = "e147488a-f6f5-4113-8e2d-b22465e65bf6"
ROLE_NETWORK_CONTRIBUTOR = "4d97b98b-1d4f-4787-a291-c67834d212e7"
ROLE_MANAGED_IDENTITY_OPERATOR = "f1a07417-d97a-45cb-824c-7a7467783830"
ROLE_AKS_RBAC_CLUSTER_ADMIN = "b1ff04bb-8a4e-4dc4-8eb5-8693973ce19b"
#: Encrypt/decrypt with a key (AKS KMS plugin: etcd envelope encryption).
ROLE_KV_CRYPTO_USER = "12338af0-0e69-4776-bea7-57ae8d297424"
#: Manage the vault (no data access on an RBAC vault): AKS KMS creates the vault's private link.
ROLE_KV_CONTRIBUTOR = "f25e0fa2-a7c8-4377-a976-54943a77a395"
#: Read a resource: the AKS identity references the disk encryption set when it creates disks.
ROLE_READER = "acdd72a7-3385-48ef-bd42-f606fba81ae7"
#: AzureML Data Scientist: every action inside a workspace (runs, metrics, artifacts, model
#: registration) except creating or deleting compute and changing the workspace itself.
#: GUID as used across Azure's own Bicep samples (f6c7c914-...-694a8f32e121).
ROLE_AZUREML_DATA_SCIENTIST = "f6c7c914-8db3-469d-8ca1-694a8f32e121"

ROLE_NAMES = {
    ROLE_ACR_PULL: "AcrPull",
    ROLE_STORAGE_BLOB_DATA_READER: "Storage Blob Data Reader",
    ROLE_STORAGE_BLOB_DATA_CONTRIBUTOR: "Storage Blob Data Contributor",
    ROLE_CONTRIBUTOR: "Contributor",
    ROLE_KV_CRYPTO_SERVICE_ENCRYPTION_USER: "Key Vault Crypto Service Encryption User",
    ROLE_NETWORK_CONTRIBUTOR: "Network Contributor",
    ROLE_MANAGED_IDENTITY_OPERATOR: "Managed Identity Operator",
    ROLE_AKS_RBAC_CLUSTER_ADMIN: "Azure Kubernetes Service RBAC Cluster Admin",
    ROLE_KV_CRYPTO_USER: "Key Vault Crypto User",
    ROLE_KV_CONTRIBUTOR: "Key Vault Contributor",
    ROLE_READER: "Reader",
    ROLE_AZUREML_DATA_SCIENTIST: "AzureML Data Scientist",
}


def role_definition_id(subscription_id: str, role_guid: str) -> str:
    return f"/subscriptions/{subscription_id}/providers/Microsoft.Authorization/roleDefinitions/{role_guid}"


def resource_group_id(subscription_id: str, resource_group: str) -> str:
    return f"/subscriptions/{subscription_id}/resourceGroups/{resource_group}"


# ---------------------------------------------------------------------------------
# Names.


def compact(text: str) -> str:
    """Lower-case letters and digits only (``mlops-dev`` -> ``mlopsdev``)."""
    return re.sub(r"[^a-z0-9]", "", text.lower())


def unique_suffix(seed: str, length: int = 8) -> str:
    """A short, stable hex string derived from ``seed`` (the resource group ID)."""
    return hashlib.sha256(seed.lower().encode()).hexdigest()[:length]


def _alnum_name(prefix: str, kind: str, seed: str, max_length: int) -> str:
    suffix = unique_suffix(seed)
    head = compact(prefix)
    if not head or not head[0].isalpha():
        head = "m" + head
    room = max_length - len(kind) - len(suffix)
    return f"{head[:room]}{kind}{suffix}"


def storage_account_name(prefix: str, seed: str) -> str:
    """3-24 lower-case letters and digits, globally unique: ``mlopsdevst1a2b3c4d``."""
    return _alnum_name(prefix, "st", seed, 24)


def container_registry_name(prefix: str, seed: str) -> str:
    """5-50 letters and digits, globally unique: ``mlopsdevacr1a2b3c4d``."""
    return _alnum_name(prefix, "acr", seed, 50)


def key_vault_name(prefix: str, seed: str) -> str:
    """3-24 letters, digits and dashes, starting with a letter, globally unique."""
    return _alnum_name(prefix, "kv", seed, 24)


def bounded_name(base: str, max_length: int, seed: str | None = None, suffix_length: int = 6) -> str:
    """``base`` as a DNS-like name of at most ``max_length`` characters.

    With ``seed`` a hash suffix is always added (names unique per region/tenant);
    without it, one is added only when ``base`` has to be shortened.
    """
    base = re.sub(r"-+", "-", re.sub(r"[^a-z0-9-]", "-", base.lower())).strip("-")
    if seed is None and len(base) <= max_length:
        return base
    suffix = unique_suffix(seed if seed is not None else base, suffix_length)
    head = base[: max_length - suffix_length - 1].rstrip("-")
    return f"{head}-{suffix}"


#: AKS agent pool names: lower-case letters and digits, starting with a letter, at most
#: 12 characters for Linux pools. ``system`` is the system pool's.
AGENT_POOL_MAX = 12
SYSTEM_POOL_NAME = "system"


def agent_pool_name(pool_name: str) -> str:
    """The AKS pool name of a spec GPU pool: its name when already valid, else a shortened
    form plus a 4-hex hash so that two spec names never map to the same pool."""
    plain = compact(pool_name)
    if plain == pool_name and len(plain) <= AGENT_POOL_MAX and plain[:1].isalpha() and plain != SYSTEM_POOL_NAME:
        return plain
    head = plain if plain[:1].isalpha() else "g" + plain
    return f"{head[: AGENT_POOL_MAX - 4]}{unique_suffix(pool_name, 4)}"


def container_name(bucket: str, path: str = "storage.buckets") -> str:
    """A blob container name for a spec bucket: 3-63 characters, no double dashes."""
    if len(bucket) < 3 or "--" in bucket:
        raise ConfigError(path, "is not a valid Azure blob container name (3-63 characters, no '--')", "use a name of 3 or more characters", value=bucket)
    return bucket


# ---------------------------------------------------------------------------------
# Addresses.


#: Prefix length of the AKS API server subnet (API Server VNet Integration: /28 at least).
API_SERVER_SUBNET_PREFIX = 28


def subnet_plan(cidr: str) -> dict[str, str]:
    """Split the VNet range: the first half for AKS nodes (Azure CNI overlay: pods do not
    use VNet addresses), a /(n+4) after it for private endpoints, and the /28 right after
    that for the AKS API server (API Server VNet Integration, delegated subnet)."""
    net = ipaddress.IPv4Network(cidr)
    nodes, rest = list(net.subnets(prefixlen_diff=1))
    endpoints = next(rest.subnets(new_prefix=min(net.prefixlen + 4, 28)))
    apiserver = ipaddress.IPv4Network((int(endpoints.broadcast_address) + 1, API_SERVER_SUBNET_PREFIX))
    return {"nodes": str(nodes), "endpoints": str(endpoints), "apiserver": str(apiserver)}


#: Candidate ranges for AKS pod (overlay) and service CIDRs, in order of preference.
K8S_CIDR_CANDIDATES = ("10.244.0.0/16", "172.16.0.0/16", "192.168.0.0/16", "10.245.0.0/16", "172.17.0.0/16")


def k8s_cidrs(vnet_cidr: str) -> dict[str, str]:
    """Pod and service CIDRs that overlap neither the VNet nor each other.

    AKS's default service CIDR is 10.0.0.0/16, which collides with the most common VNet
    range, so both are always set explicitly."""
    vnet = ipaddress.IPv4Network(vnet_cidr)
    free = [c for c in K8S_CIDR_CANDIDATES if not ipaddress.IPv4Network(c).overlaps(vnet)]
    pod, service = free[0], free[1]
    dns = str(ipaddress.IPv4Network(service).network_address + 10)
    return {"pod_cidr": pod, "service_cidr": service, "dns_service_ip": dns}


#: Private DNS zones per private-endpoint group ID (Azure public cloud).
PRIVATE_DNS_ZONES: Mapping[str, tuple[str, ...]] = {
    "vault": ("privatelink.vaultcore.azure.net",),
    "blob": ("privatelink.blob.core.windows.net",),
    "registry": ("privatelink.azurecr.io",),
    "amlworkspace": ("privatelink.api.azureml.ms", "privatelink.notebooks.azure.net"),
}


def dns_zone_key(zone: str) -> str:
    """``privatelink.blob.core.windows.net`` -> ``blob-core-windows-net`` (a logical-name part)."""
    return zone.removeprefix("privatelink.").replace(".", "-")


# ---------------------------------------------------------------------------------
# Kubeconfig.

#: The Entra application ID of the AKS AAD server (the same for every AKS cluster).
AKS_AAD_SERVER_ID = "6dae42f8-4368-4678-94ff-3960e28e3630"


def kubelogin_args(login: str = "azurecli", *, tenant_id: str | None = None, client_id: str | None = None) -> list[str]:
    """``kubelogin get-token`` arguments for a login mode (``azure/options.py``
    ``KubeloginMode``). Credentials never go in the kubeconfig: workloadidentity and spn
    read them from the runner's environment (kubelogin's ``UpdateFromEnv``); spn and
    workloadidentity get ``--tenant-id`` when the spec names the tenant; msi gets
    ``--client-id`` for a user-assigned identity."""
    args = ["get-token", "--login", login, "--server-id", AKS_AAD_SERVER_ID]
    if login in ("spn", "workloadidentity") and tenant_id:
        args += ["--tenant-id", str(tenant_id)]
    if login == "msi" and client_id:
        args += ["--client-id", str(client_id)]
    return args


def kubelogin_kubeconfig(raw_b64: str, login: str = "azurecli", *, tenant_id: str | None = None, client_id: str | None = None) -> str:
    """The cluster-user kubeconfig AKS returns (base64 YAML), with every user switched to
    a non-interactive ``kubelogin get-token`` exec plugin (Entra ID; no static secret)."""
    doc: dict[str, Any] = yaml.safe_load(base64.b64decode(raw_b64).decode())
    for user in doc.get("users") or []:
        user["user"] = {
            "exec": {
                "apiVersion": "client.authentication.k8s.io/v1beta1",
                "command": "kubelogin",
                "args": kubelogin_args(login, tenant_id=tenant_id, client_id=client_id),
                "env": None,
                "interactiveMode": "Never",
                "provideClusterInfo": False,
            }
        }
    return yaml.safe_dump(doc, sort_keys=True)


def authorized_ranges(cidrs: Sequence[Any]) -> list[str]:
    return [str(c) for c in cidrs]


def zones_list(count: int) -> list[str]:
    return [str(i + 1) for i in range(min(count, 3))]


def first(items: Iterable[Any]) -> Any:
    return next(iter(items))
