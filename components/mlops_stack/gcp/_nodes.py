"""Pieces shared by the system node pool and the GPU node pools: the node service
account (least privilege) and the hardened node configuration."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import pulumi
import pulumi_gcp as gcp

from mlops_stack.args import Env, child_opts, resource_tags
from mlops_stack.gcp._shared import CLOUD_PLATFORM_SCOPE, account_id, labels

#: The one project role GKE nodes need (logs, metrics, metadata) - the predefined
#: "Kubernetes Engine Default Node Service Account" role, instead of the default
#: compute service account's Editor.
NODE_ROLES = ("roles/container.defaultNodeServiceAccount",)
#: Machine families whose boot disk must be Hyperdisk (no Persistent Disk support).
HYPERDISK_FAMILIES = ("a3-ultragpu", "a4-", "a4x-", "c4-", "c4a-", "c4d-", "n4-")


def boot_disk_type(machine_type: str) -> str:
    """``pd-balanced`` everywhere it is supported, ``hyperdisk-balanced`` where it is not."""
    return "hyperdisk-balanced" if machine_type.startswith(HYPERDISK_FAMILIES) else "pd-balanced"


def node_service_account(
    parent: pulumi.Resource, name: str, env: Env, project: pulumi.Input[str], depends_on: Sequence[pulumi.Resource] = ()
) -> gcp.serviceaccount.Account:
    """``depends_on``: the API enablement (IAM, Resource Manager) the account and its grants need."""
    account = gcp.serviceaccount.Account(
        name,
        account_id=account_id(env.prefix, "nodes"),
        display_name=f"mlops-stack {env.prefix}: GKE nodes",
        description="Least-privilege node identity (logging, monitoring, image pulls); workloads use Workload Identity.",
        opts=child_opts(parent, depends_on=list(depends_on)),
    )
    for role in NODE_ROLES:
        gcp.projects.IAMMember(
            f"{name}-{role.split('/')[-1].lower()}",
            project=project,
            role=role,
            member=account.member,
            opts=child_opts(parent, depends_on=list(depends_on)),
        )
    return account


def node_config(
    *,
    env: Env,
    machine_type: str,
    disk_gb: int,
    service_account: pulumi.Input[str],
    boot_disk_kms_key: pulumi.Input[str] | None,
    k8s_labels: Mapping[str, str],
    extra_labels: Mapping[str, str] | None = None,
    spot: bool = False,
    guest_accelerators: Sequence[Any] | None = None,
    taints: Sequence[Any] | None = None,
) -> gcp.container.NodePoolNodeConfigArgs:
    """Shielded, COS, GKE metadata server (Workload Identity), no legacy metadata endpoints."""
    return gcp.container.NodePoolNodeConfigArgs(
        machine_type=machine_type,
        image_type="COS_CONTAINERD",
        disk_size_gb=disk_gb,
        disk_type=boot_disk_type(machine_type),
        boot_disk_kms_key=boot_disk_kms_key,
        service_account=service_account,
        oauth_scopes=[CLOUD_PLATFORM_SCOPE],
        shielded_instance_config=gcp.container.NodePoolNodeConfigShieldedInstanceConfigArgs(enable_secure_boot=True, enable_integrity_monitoring=True),
        workload_metadata_config=gcp.container.NodePoolNodeConfigWorkloadMetadataConfigArgs(mode="GKE_METADATA"),
        metadata={"disable-legacy-endpoints": "true"},
        labels=dict(k8s_labels),
        resource_labels=labels(resource_tags(env, **(extra_labels or {}))),
        spot=spot,
        guest_accelerators=list(guest_accelerators) if guest_accelerators else None,
        taints=list(taints) if taints else None,
    )


def management() -> gcp.container.NodePoolManagementArgs:
    return gcp.container.NodePoolManagementArgs(auto_repair=True, auto_upgrade=True)


def initial_nodes(min_nodes: int, zones: int) -> int:
    """Nodes per zone at creation, so the pool starts at (or just above) its minimum."""
    return -(-min_nodes // max(zones, 1))
