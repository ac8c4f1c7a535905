"""Azure Kubernetes cluster: AKS in the network's node subnet.

* Identity: a user-assigned control-plane identity (Network Contributor on the node
  subnet, Managed Identity Operator on the kubelet identity) and a user-assigned
  kubelet identity granted AcrPull on the stack's registry. No service principal
  secrets anywhere.
* Access: Entra ID integration with Azure RBAC for Kubernetes authorization, local
  accounts disabled (no static admin kubeconfig), ``azure.adminGroupObjectIds`` as
  cluster admins, and the identity running Pulumi granted *Azure Kubernetes Service
  RBAC Cluster Admin* on the cluster (the Kubernetes provider below needs it; the EKS
  counterpart is ``bootstrapClusterCreatorAdminPermissions``).
* API server: private cluster when ``cluster.publicAccessCidrs`` is empty, otherwise
  public with exactly those authorized IP ranges.
* OIDC issuer and workload identity on; Azure CNI overlay with Cilium (network policy
  enforced by Cilium); pod and service CIDRs chosen not to overlap the VNet; egress via
  the network's NAT gateway; Azure Policy add-on; automatic upgrades on the ``patch``
  channel and node OS images on ``NodeImage``; Standard tier (uptime SLA) in prod.
* System pool: the catalog's CPU size for ``cluster.systemPool.size``, autoscaling
  min/max, AzureLinux, zones in prod, tainted ``CriticalAddonsOnly=true:NoSchedule``
  so only system add-ons run there; an untainted ``general`` CPU pool (same size, 1 to
  ``systemPool.maxNodes`` nodes) takes everything else (monitoring, operators, CPU jobs).
* ``gpu.driver``: exposed as ``gpu_driver`` for the GPU pools; with ``operator`` the
  k8s layer's GPU Operator is told to install the driver and toolkit
  (``k8s_chart_overrides``), since AKS then installs none.
"""

from __future__ import annotations

from typing import Any

import pulumi
import pulumi_kubernetes as k8s
from pulumi_azure_native import containerservice, managedidentity

from mlops_stack import catalog
from mlops_stack.args import Env, KubernetesClusterArgs, child_opts, resource_tags
from mlops_stack.azure._naming import (
    ROLE_ACR_PULL,
    ROLE_AKS_RBAC_CLUSTER_ADMIN,
    ROLE_MANAGED_IDENTITY_OPERATOR,
    ROLE_NETWORK_CONTRIBUTOR,
    SYSTEM_POOL_NAME,
    authorized_ranges,
    k8s_cidrs,
    kubelogin_kubeconfig,
    zones_list,
)
from mlops_stack.azure._shared import client_config, gpu_driver_choice, role_assignment, component_opts
from mlops_stack.spec import ClusterSpec

SYSTEM_TAINT = "CriticalAddonsOnly=true:NoSchedule"
GENERAL_POOL_NAME = "general"
UPGRADE_CHANNEL = "patch"
NODE_OS_UPGRADE_CHANNEL = "NodeImage"
#: Surge during upgrades: one extra node at a time keeps quota needs predictable.
MAX_SURGE = "1"


def api_server_access(spec: ClusterSpec) -> containerservice.ManagedClusterAPIServerAccessProfileArgs:
    if spec.public_access_cidrs:
        return containerservice.ManagedClusterAPIServerAccessProfileArgs(
            enable_private_cluster=False, authorized_ip_ranges=authorized_ranges(spec.public_access_cidrs), disable_run_command=True
        )
    return containerservice.ManagedClusterAPIServerAccessProfileArgs(
        enable_private_cluster=True, private_dns_zone="system", enable_private_cluster_public_fqdn=False, disable_run_command=False
    )


def network_profile(vnet_cidr: str, nat: bool) -> containerservice.ContainerServiceNetworkProfileArgs:
    cidrs = k8s_cidrs(vnet_cidr)
    return containerservice.ContainerServiceNetworkProfileArgs(
        network_plugin="azure",
        network_plugin_mode="overlay",
        network_dataplane="cilium",
        network_policy="cilium",
        pod_cidr=cidrs["pod_cidr"],
        service_cidr=cidrs["service_cidr"],
        dns_service_ip=cidrs["dns_service_ip"],
        load_balancer_sku="standard",
        outbound_type="userAssignedNATGateway" if nat else "loadBalancer",
    )


def system_pool(env: Env, spec: ClusterSpec, subnet_id: pulumi.Input[str], zones: int) -> containerservice.ManagedClusterAgentPoolProfileArgs:
    sp = spec.system_pool
    return containerservice.ManagedClusterAgentPoolProfileArgs(
        name=SYSTEM_POOL_NAME,
        mode="System",
        type="VirtualMachineScaleSets",
        vm_size=catalog.cpu_offer("azure", sp.size, "nodepool").instance_type,
        os_type="Linux",
        os_sku="AzureLinux",
        os_disk_size_gb=sp.disk_gb,
        os_disk_type="Managed",
        count=sp.min_nodes,
        enable_auto_scaling=True,
        min_count=sp.min_nodes,
        max_count=sp.max_nodes,
        vnet_subnet_id=subnet_id,
        availability_zones=zones_list(zones) if env.is_prod else None,
        node_taints=[SYSTEM_TAINT],
        node_labels={"mlops-stack/pool": "system"},
        enable_node_public_ip=False,
        upgrade_settings=containerservice.AgentPoolUpgradeSettingsArgs(max_surge=MAX_SURGE),
        tags=resource_tags(env, **{"mlops-stack-pool": "system"}),
    )


def general_pool_args(env: Env, spec: ClusterSpec, subnet_id: pulumi.Input[str], zones: int) -> dict[str, Any]:
    """An untainted CPU pool for everything that is neither a system add-on nor a GPU
    workload (monitoring, operators, CPU jobs): the system pool is reserved by its taint."""
    sp = spec.system_pool
    return {
        "agent_pool_name": GENERAL_POOL_NAME,
        "mode": "User",
        "type": "VirtualMachineScaleSets",
        "vm_size": catalog.cpu_offer("azure", sp.size, "nodepool").instance_type,
        "os_type": "Linux",
        "os_sku": "AzureLinux",
        "os_disk_size_gb": sp.disk_gb,
        "os_disk_type": "Managed",
        "count": 1,
        "enable_auto_scaling": True,
        "min_count": 1,
        "max_count": sp.max_nodes,
        "vnet_subnet_id": subnet_id,
        "availability_zones": zones_list(zones) if env.is_prod else None,
        "node_labels": {"mlops-stack/pool": GENERAL_POOL_NAME},
        "enable_node_public_ip": False,
        "upgrade_settings": containerservice.AgentPoolUpgradeSettingsArgs(max_surge=MAX_SURGE),
        "tags": resource_tags(env, **{"mlops-stack-pool": GENERAL_POOL_NAME}),
    }


def chart_overrides(gpu_driver: str) -> dict[str, Any]:
    """With ``gpu.driver: operator`` AKS installs no driver (pool GPU driver ``None``), so the
    GPU Operator must install the driver and the container toolkit itself."""
    if gpu_driver != "operator":
        return {}
    return {"gpu-operator": {"driver": {"enabled": True}, "toolkit": {"enabled": True}}}


def storage_class(env: Env) -> dict[str, Any]:
    """The default class the k8s layer creates: Azure Disk CSI, Premium SSD (zone-redundant
    in prod so a pod can move zones). Disks are encrypted at rest with platform-managed
    keys: no disk encryption set yet (docs/azure.md)."""
    return {
        "name": "managed-premium-retain" if env.is_prod else "managed-premium",
        "provisioner": "disk.csi.azure.com",
        "parameters": {"skuName": "Premium_ZRS" if env.is_prod else "Premium_LRS", "cachingMode": "ReadOnly"},
    }


class KubernetesCluster(pulumi.ComponentResource):
    """``mlops:azure:KubernetesCluster``.

    Outputs (common): ``cluster_name``, ``endpoint``, ``kubeconfig`` (secret; kubelogin
    exec, no static credential), ``oidc_issuer``, ``k8s_provider``. Azure extras read by
    node pools and the k8s layer: ``resource_group_name``, ``node_subnet_id``,
    ``zones`` (list), ``kubelet_identity_client_id``, ``kubelet_identity_object_id``,
    ``cluster_id``, ``storage_class``.
    """

    cluster_name: pulumi.Output[str]
    endpoint: pulumi.Output[str]
    kubeconfig: pulumi.Output[str]
    oidc_issuer: pulumi.Output[str]
    k8s_provider: k8s.Provider
    cluster_id: pulumi.Output[str]
    resource_group_name: pulumi.Output[str]
    node_subnet_id: pulumi.Output[str]
    zones: list[str] | None
    kubelet_identity_client_id: pulumi.Output[str]
    kubelet_identity_object_id: pulumi.Output[str]
    storage_class: dict[str, Any]
    gpu_driver: str
    needs_device_plugin: bool
    k8s_chart_overrides: dict[str, Any]

    def __init__(self, name: str, args: KubernetesClusterArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("mlops:azure:KubernetesCluster", name, None, component_opts(opts))
        env, spec, net = args.env, args.cluster, args.network
        options = args.cloud_options
        tags = resource_tags(env)
        cfg = client_config(self)
        rg = net.resource_group_name

        control = managedidentity.UserAssignedIdentity(
            f"{name}-control-plane-identity", resource_group_name=rg, location=net.location, tags=tags, opts=child_opts(self)
        )
        kubelet = managedidentity.UserAssignedIdentity(
            f"{name}-kubelet-identity", resource_group_name=rg, location=net.location, tags=tags, opts=child_opts(self)
        )
        grants = [
            role_assignment(
                self,
                f"{name}-control-plane-network",
                subscription_id=cfg.subscription_id,
                role=ROLE_NETWORK_CONTRIBUTOR,
                scope=net.node_subnet_id,
                principal_id=control.principal_id,
                description=f"mlops-stack {env.prefix}: AKS manages load balancers and IPs in its node subnet",
            ),
            role_assignment(
                self,
                f"{name}-control-plane-kubelet-operator",
                subscription_id=cfg.subscription_id,
                role=ROLE_MANAGED_IDENTITY_OPERATOR,
                scope=kubelet.id,
                principal_id=control.principal_id,
                description=f"mlops-stack {env.prefix}: AKS assigns the kubelet identity to its nodes",
            ),
        ]
        if args.registry is not None:
            role_assignment(
                self,
                f"{name}-kubelet-acr-pull",
                subscription_id=cfg.subscription_id,
                role=ROLE_ACR_PULL,
                scope=args.registry.registry_id,
                principal_id=kubelet.principal_id,
                description=f"mlops-stack {env.prefix}: nodes pull images from the stack registry",
            )

        cluster = containerservice.ManagedCluster(
            f"{name}-aks",
            resource_name_=env.prefix,
            resource_group_name=rg,
            location=net.location,
            dns_prefix=env.prefix,
            kubernetes_version=spec.version,
            sku=containerservice.ManagedClusterSKUArgs(name="Base", tier="Standard" if env.is_prod else "Free"),
            identity=containerservice.ManagedClusterIdentityArgs(type="UserAssigned", user_assigned_identities=[control.id]),
            identity_profile={
                "kubeletidentity": containerservice.UserAssignedIdentityArgs(
                    resource_id=kubelet.id, client_id=kubelet.client_id, object_id=kubelet.principal_id
                )
            },
            node_resource_group=f"{env.prefix}-aks-nodes-rg",
            enable_rbac=True,
            disable_local_accounts=True,
            aad_profile=containerservice.ManagedClusterAADProfileArgs(
                managed=True,
                enable_azure_rbac=True,
                admin_group_object_ids=list(getattr(options, "admin_group_object_ids", []) or []),
                tenant_id=getattr(options, "tenant_id", None) or cfg.tenant_id,
            ),
            api_server_access_profile=api_server_access(spec),
            oidc_issuer_profile=containerservice.ManagedClusterOIDCIssuerProfileArgs(enabled=True),
            security_profile=containerservice.ManagedClusterSecurityProfileArgs(
                workload_identity=containerservice.ManagedClusterSecurityProfileWorkloadIdentityArgs(enabled=True),
                image_cleaner=containerservice.ManagedClusterSecurityProfileImageCleanerArgs(enabled=True, interval_hours=168),
            ),
            network_profile=network_profile(net.cidr, getattr(net, "nat_gateway_id", None) is not None),
            auto_upgrade_profile=containerservice.ManagedClusterAutoUpgradeProfileArgs(
                upgrade_channel=UPGRADE_CHANNEL, node_os_upgrade_channel=NODE_OS_UPGRADE_CHANNEL
            ),
            addon_profiles={"azurepolicy": containerservice.ManagedClusterAddonProfileArgs(enabled=True)},
            storage_profile=containerservice.ManagedClusterStorageProfileArgs(
                disk_csi_driver=containerservice.ManagedClusterStorageProfileDiskCSIDriverArgs(enabled=True),
                snapshot_controller=containerservice.ManagedClusterStorageProfileSnapshotControllerArgs(enabled=True),
            ),
            agent_pool_profiles=[system_pool(env, spec, net.node_subnet_id, net.zones)],
            public_network_access="Enabled",
            tags=tags,
            # The autoscaler owns node counts; the GPU pools are separate AgentPool resources.
            opts=child_opts(self, depends_on=grants, ignore_changes=["agentPoolProfiles[0].count"]),
        )
        general = containerservice.AgentPool(
            f"{name}-general",
            resource_group_name=rg,
            resource_name_=cluster.name,
            **general_pool_args(env, spec, net.node_subnet_id, net.zones),
            opts=child_opts(self, ignore_changes=["count"]),
        )
        admin = role_assignment(
            self,
            f"{name}-deployer-cluster-admin",
            subscription_id=cfg.subscription_id,
            role=ROLE_AKS_RBAC_CLUSTER_ADMIN,
            scope=cluster.id,
            principal_id=cfg.object_id,
            principal_type=None,
            description=f"mlops-stack {env.prefix}: the identity running Pulumi manages in-cluster resources",
        )

        private = not spec.public_access_cidrs
        creds = containerservice.list_managed_cluster_user_credentials_output(
            resource_group_name=rg, resource_name=cluster.name, format="exec", opts=pulumi.InvokeOutputOptions(parent=self)
        )
        self.kubeconfig = pulumi.Output.secret(creds.kubeconfigs.apply(lambda ks: kubelogin_kubeconfig(ks[0].value)))
        self.cluster_name = cluster.name
        self.cluster_id = cluster.id
        fqdn = cluster.private_fqdn if private else cluster.fqdn
        self.endpoint = pulumi.Output.concat("https://", fqdn, ":443")
        self.oidc_issuer = cluster.oidc_issuer_profile.apply(lambda p: p.issuer_url if p else "")
        self.resource_group_name = rg
        self.node_subnet_id = net.node_subnet_id
        self.zones = zones_list(net.zones) if env.is_prod else None
        self.kubelet_identity_client_id = kubelet.client_id
        self.kubelet_identity_object_id = kubelet.principal_id
        self.storage_class = storage_class(env)
        self.gpu_driver = gpu_driver_choice(args, opts)
        # AKS installs the NVIDIA driver but no device plugin (unless the preview managed-GPU
        # feature is on, which we do not use): the k8s layer installs it.
        self.needs_device_plugin = True
        self.k8s_chart_overrides = chart_overrides(self.gpu_driver)
        self.k8s_provider = k8s.Provider(
            f"{name}-k8s", kubeconfig=self.kubeconfig, enable_server_side_apply=True, opts=child_opts(self, depends_on=[cluster, general, admin])
        )
        self.register_outputs(
            {
                "cluster_name": self.cluster_name,
                "endpoint": self.endpoint,
                "kubeconfig": self.kubeconfig,
                "oidc_issuer": self.oidc_issuer,
                "cluster_id": self.cluster_id,
                "kubelet_identity_client_id": self.kubelet_identity_client_id,
            }
        )
