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
* Encryption at host on every pool (temp disks, disk caches and host-to-storage traffic
  encrypted on the VM host): the subscription feature ``Microsoft.Compute/EncryptionAtHost``
  must be registered once (docs/azure.md). ``azure.defenderForContainers`` turns on
  Microsoft Defender for Containers for the subscription (off by default: docs/security.md).
* Encryption with the stack's ``Keys`` (when given): Kubernetes secrets in etcd are
  encrypted by the KMS plugin with the dedicated etcd key (``securityProfile.azureKeyVaultKms``,
  versioned key ID, ``keyVaultNetworkAccess: Private``: AKS reaches the vault over a
  private link it creates, so the vault firewall keeps denying public traffic). That needs
  API Server VNet Integration (the network's delegated ``apiserver`` subnet) and gives the
  control-plane identity *Key Vault Crypto User* on the etcd key and *Key Vault
  Contributor* on the vault (the private link). Node OS disks and persistent volumes
  are encrypted with the CMK key through a disk encryption set (``diskEncryptionSetID`` on
  the cluster and in ``storage_class``; the set acts as the ``Keys`` CMK identity, the
  control-plane identity has *Contributor* on it: Reader suffices for node disks, not for
  the persistent volumes AKS creates).
* Monitoring: Container Insights (``omsagent`` add-on, managed-identity auth) into the
  model registry's Log Analytics workspace when the stack has one (``args.model_registry``),
  else into a workspace of the cluster's own; a data collection rule (ContainerInsights
  extension -> that workspace) associated with the cluster.
* ``gpu.driver``: exposed as ``gpu_driver`` for the GPU pools; with ``operator`` the
  k8s layer's GPU Operator is told to install the driver and toolkit
  (``k8s_chart_overrides``), since AKS then installs none.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pulumi
import pulumi_kubernetes as k8s
from pulumi_azure_native import compute, containerservice, managedidentity, monitor, operationalinsights
from pulumi_azure_native import security as defender

from mlops_stack import catalog
from mlops_stack.args import POOL_LABEL, Env, KubernetesClusterArgs, child_opts, resource_tags
from mlops_stack.args import target_options
from mlops_stack.azure.options import AzureSpec
from mlops_stack.azure._naming import (
    ROLE_ACR_PULL,
    ROLE_AKS_RBAC_CLUSTER_ADMIN,
    ROLE_KV_CONTRIBUTOR,
    ROLE_KV_CRYPTO_USER,
    ROLE_MANAGED_IDENTITY_OPERATOR,
    ROLE_NETWORK_CONTRIBUTOR,
    ROLE_CONTRIBUTOR,
    SYSTEM_POOL_NAME,
    authorized_ranges,
    k8s_cidrs,
    kubelogin_kubeconfig,
    zones_list,
)
from mlops_stack.azure.gpu_pool import SPOT_TOLERATION
from mlops_stack.azure._shared import client_config, component_opts, deployer_principal_type, gpu_driver_choice, role_assignment, sibling
from mlops_stack.spec import ClusterSpec

SYSTEM_TAINT = "CriticalAddonsOnly=true:NoSchedule"
GENERAL_POOL_NAME = "general"
UPGRADE_CHANNEL = "patch"
NODE_OS_UPGRADE_CHANNEL = "NodeImage"
#: Surge during upgrades: one extra node at a time keeps quota needs predictable.
MAX_SURGE = "1"
#: Container Insights: the data collection rule's stream, extension and destination names.
CONTAINER_INSIGHTS_STREAM = "Microsoft-ContainerInsights-Group-Default"
CONTAINER_INSIGHTS_EXTENSION = "ContainerInsights"
CONTAINER_INSIGHTS_DESTINATION = "ciworkspace"
#: The association name the AKS tooling uses for the Container Insights rule.
CONTAINER_INSIGHTS_ASSOCIATION = "ContainerInsightsExtension"
#: Log Analytics retention (days) of the cluster's own workspace (without a model registry).
LOG_RETENTION_DAYS = {"prod": 90, "staging": 60, "dev": 30}


def api_server_access(
    spec: ClusterSpec, api_server_subnet_id: pulumi.Input[str] | None = None
) -> containerservice.ManagedClusterAPIServerAccessProfileArgs:
    """Private cluster, or public to ``publicAccessCidrs`` only; with ``api_server_subnet_id``
    the API server is projected into that delegated subnet (API Server VNet Integration)."""
    vnet = {"enable_vnet_integration": True, "subnet_id": api_server_subnet_id} if api_server_subnet_id is not None else {}
    if spec.public_access_cidrs:
        return containerservice.ManagedClusterAPIServerAccessProfileArgs(
            enable_private_cluster=False, authorized_ip_ranges=authorized_ranges(spec.public_access_cidrs), disable_run_command=True, **vnet
        )
    return containerservice.ManagedClusterAPIServerAccessProfileArgs(
        enable_private_cluster=True, private_dns_zone="system", enable_private_cluster_public_fqdn=False, disable_run_command=False, **vnet
    )


def kms(etcd_key_uri_with_version: pulumi.Input[str], vault_id: pulumi.Input[str]) -> containerservice.AzureKeyVaultKmsArgs:
    """KMS etcd encryption with a private-link vault (the stack vault denies public traffic)."""
    return containerservice.AzureKeyVaultKmsArgs(
        enabled=True, key_id=etcd_key_uri_with_version, key_vault_network_access="Private", key_vault_resource_id=vault_id
    )


def container_insights_addon(workspace_id: pulumi.Input[str]) -> containerservice.ManagedClusterAddonProfileArgs:
    """The ``omsagent`` add-on (Container Insights), managed-identity auth (no workspace key)."""
    return containerservice.ManagedClusterAddonProfileArgs(
        enabled=True, config={"logAnalyticsWorkspaceResourceID": workspace_id, "useAADAuth": "true"}
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
        node_labels={POOL_LABEL: "system"},
        enable_node_public_ip=False,
        enable_encryption_at_host=True,
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
        "node_labels": {POOL_LABEL: GENERAL_POOL_NAME},
        "enable_node_public_ip": False,
        "enable_encryption_at_host": True,
        "upgrade_settings": containerservice.AgentPoolUpgradeSettingsArgs(max_surge=MAX_SURGE),
        "tags": resource_tags(env, **{"mlops-stack-pool": GENERAL_POOL_NAME}),
    }


def chart_overrides(gpu_driver: str) -> dict[str, Any]:
    """With ``gpu.driver: operator`` AKS installs no driver (pool GPU driver ``None``), so the
    GPU Operator must install the driver and the container toolkit itself."""
    if gpu_driver != "operator":
        return {}
    return {"gpu-operator": {"driver": {"enabled": True}, "toolkit": {"enabled": True}}}


def storage_class(env: Env, disk_encryption_set_id: pulumi.Input[str] | None = None) -> dict[str, Any]:
    """The default class the k8s layer creates: Azure Disk CSI, Premium SSD (zone-redundant
    in prod so a pod can move zones). With a disk encryption set, volumes are encrypted with
    the stack's customer-managed key (``diskEncryptionSetID``), otherwise with platform keys."""
    parameters: dict[str, Any] = {"skuName": "Premium_ZRS" if env.is_prod else "Premium_LRS", "cachingMode": "ReadOnly"}
    if disk_encryption_set_id is not None:
        parameters["diskEncryptionSetID"] = disk_encryption_set_id
    return {
        # Not AKS's own names (managed-premium, managed-csi-premium, ...): AKS owns and
        # reconciles its built-in classes, so a class of that name cannot be created.
        "name": "mlops-premium-retain" if env.is_prod else "mlops-premium",
        "provisioner": "disk.csi.azure.com",
        "parameters": parameters,
    }


@dataclass(frozen=True)
class EncryptionSetup:
    """What ``encryption_grants`` created: role assignments the cluster waits for, and the
    disk encryption set (``None`` without keys)."""

    grants: list[pulumi.Resource]
    disk_encryption_set_id: pulumi.Output[str] | None


def encryption_grants(
    parent: pulumi.Resource, name: str, env: Env, keys: Any, control: Any, cfg: Any, rg: pulumi.Input[str], location: str, tags: dict[str, str]
) -> EncryptionSetup:
    """KMS roles for the control-plane identity, and the disk encryption set (acting as the
    ``Keys`` CMK identity, which already holds its key role) the identity may read."""
    if keys is None:
        return EncryptionSetup(grants=[], disk_encryption_set_id=None)
    grants: list[pulumi.Resource] = [
        role_assignment(
            parent,
            f"{name}-control-plane-kms-crypto",
            subscription_id=cfg.subscription_id,
            role=ROLE_KV_CRYPTO_USER,
            scope=keys.etcd_key_id,
            principal_id=control.principal_id,
            description=f"mlops-stack {env.prefix}: AKS KMS encrypts etcd secrets with the etcd key",
        ),
        role_assignment(
            parent,
            f"{name}-control-plane-kms-vault",
            subscription_id=cfg.subscription_id,
            role=ROLE_KV_CONTRIBUTOR,
            scope=keys.vault_id,
            principal_id=control.principal_id,
            description=f"mlops-stack {env.prefix}: AKS KMS creates the key vault's private link",
        ),
    ]
    des = compute.DiskEncryptionSet(
        f"{name}-disk-encryption",
        resource_group_name=rg,
        location=location,
        encryption_type="EncryptionAtRestWithCustomerKey",
        identity=compute.EncryptionSetIdentityArgs(type="UserAssigned", user_assigned_identities=[keys.cmk_identity_id]),
        # A versioned URL is required; the set follows the key's rotations itself.
        active_key=compute.KeyForDiskEncryptionSetArgs(key_url=keys.key_uri_with_version),
        rotation_to_latest_key_version_enabled=True,
        tags=tags,
        opts=child_opts(parent, depends_on=list(getattr(keys, "cmk_ready", []) or []), ignore_changes=["activeKey.keyUrl"]),
    )
    grants.append(
        role_assignment(
            parent,
            f"{name}-control-plane-disk-encryption",
            subscription_id=cfg.subscription_id,
            role=ROLE_CONTRIBUTOR,
            scope=des.id,
            principal_id=control.principal_id,
            description=f"mlops-stack {env.prefix}: AKS creates node disks and persistent volumes with the disk encryption set",
        )
    )
    return EncryptionSetup(grants=grants, disk_encryption_set_id=des.id)


def log_analytics_workspace(
    parent: pulumi.Resource, name: str, env: Env, args: Any, opts: pulumi.ResourceOptions | None, rg: pulumi.Input[str], location: str,
    tags: dict[str, str],
) -> pulumi.Output[str]:
    """The model registry's Log Analytics workspace (``log_analytics_workspace_id``) when the
    stack has one, else a workspace of the cluster's own."""
    registry = sibling(args, opts, "model_registry", via=(), required=False)
    found = getattr(registry, "log_analytics_workspace_id", None)
    if found is not None:
        return pulumi.Output.from_input(found)
    logs = operationalinsights.Workspace(
        f"{name}-logs",
        resource_group_name=rg,
        location=location,
        sku=operationalinsights.WorkspaceSkuArgs(name="PerGB2018"),
        retention_in_days=LOG_RETENTION_DAYS.get(env.environment, 30),
        tags=tags,
        opts=child_opts(parent),
    )
    return logs.id


class KubernetesCluster(pulumi.ComponentResource):
    """``mlops:azure:KubernetesCluster``.

    Outputs (common): ``cluster_name``, ``endpoint``, ``kubeconfig`` (secret; kubelogin
    exec, no static credential), ``oidc_issuer``, ``k8s_provider``. Azure extras read by
    node pools and the k8s layer: ``resource_group_name``, ``node_subnet_id``,
    ``zones`` (list), ``kubelet_identity_client_id``, ``kubelet_identity_object_id``,
    ``cluster_id``, ``storage_class``, ``disk_encryption_set_id`` (``None`` without keys),
    ``log_analytics_workspace_id`` (Container Insights).
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
    disk_encryption_set_id: pulumi.Output[str] | None
    log_analytics_workspace_id: pulumi.Output[str]
    gpu_driver: str
    #: Key child resources, exposed for wiring what the stack does not (docs/components.md).
    CHILDREN = ('managed_cluster',)
    managed_cluster: containerservice.ManagedCluster
    needs_device_plugin: bool
    k8s_chart_overrides: dict[str, Any]
    #: What an in-cluster Prometheus can scrape (constants.SCRAPE_TARGETS): the scheduler,
    #: controller-manager and etcd run in the Azure-managed control plane, and Azure CNI
    #: powered by Cilium (network_dataplane "cilium" below) replaces kube-proxy (AKS docs
    #: "Configure Azure CNI Powered by Cilium": no kube-proxy).
    #: AKS's DNS is CoreDNS (AKS docs "Customize CoreDNS"), metrics on 9153.
    scrape_targets = {"scheduler": False, "controller-manager": False, "etcd": False, "kube-proxy": False, "coredns": True, "kube-dns": False}
    #: AKS deploys metrics-server in kube-system on every cluster (AKS docs "Metrics Server VPA"):
    #: metrics.k8s.io is served.
    provides_metrics_api: bool = True
    #: Taints AKS itself puts on GPU pool nodes (spot), which the GPU daemonsets must tolerate.
    gpu_node_tolerations: list[dict[str, str]]
    #: AKS partitions MIG GPUs itself (the GPU pools' ``gpuInstanceProfile``).
    partitions_mig: bool = True

    def __init__(self, name: str, args: KubernetesClusterArgs[AzureSpec], opts: pulumi.ResourceOptions | None = None) -> None:
        target_options(args.cloud_options, AzureSpec, "KubernetesClusterArgs.cloud_options")  # another target's options: ConfigError
        super().__init__("mlops:azure:KubernetesCluster", name, None, component_opts(opts))
        env, net = args.env, args.network
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
        grants = self._grants(name, args, cfg, control, kubelet)
        keys = args.keys
        security = encryption_grants(self, name, env, keys, control, cfg, rg, net.location, tags)
        grants.extend(security.grants)
        logs_id = log_analytics_workspace(self, name, env, args, opts, rg, net.location, tags)

        cluster = self._managed_cluster(name, args, cfg, control, kubelet, grants, security, logs_id, tags)
        self._container_insights(name, env, rg, net.location, cluster, logs_id, tags)
        if getattr(options, "defender_for_containers", False):
            self._defender(name, cfg)
        general, admin = self._deployer_access(name, args, cfg, cluster)
        self._outputs(name, args, opts, cluster, kubelet, security, logs_id, general, admin)
        self.register_outputs(
            {
                "cluster_name": self.cluster_name,
                "endpoint": self.endpoint,
                "kubeconfig": self.kubeconfig,
                "oidc_issuer": self.oidc_issuer,
                "cluster_id": self.cluster_id,
                "kubelet_identity_client_id": self.kubelet_identity_client_id,
                "log_analytics_workspace_id": self.log_analytics_workspace_id,
            }
        )

    def _grants(
        self,
        name: str,
        args: KubernetesClusterArgs,
        cfg: Any,
        control: managedidentity.UserAssignedIdentity,
        kubelet: managedidentity.UserAssignedIdentity,
    ) -> list[pulumi.Resource]:
        """The control plane's role assignments (node subnet, kubelet identity, API server
        subnet) and the kubelet's AcrPull on the stack registry. Returns the ones the
        cluster must wait for."""
        env, net = args.env, args.network
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

        api_server_subnet_id = getattr(net, "api_server_subnet_id", None)
        if api_server_subnet_id is not None:
            grants.append(
                role_assignment(
                    self,
                    f"{name}-control-plane-apiserver-network",
                    subscription_id=cfg.subscription_id,
                    role=ROLE_NETWORK_CONTRIBUTOR,
                    scope=api_server_subnet_id,
                    principal_id=control.principal_id,
                    description=f"mlops-stack {env.prefix}: AKS projects the API server into its delegated subnet",
                )
            )
        return grants

    def _managed_cluster(
        self,
        name: str,
        args: KubernetesClusterArgs,
        cfg: Any,
        control: managedidentity.UserAssignedIdentity,
        kubelet: managedidentity.UserAssignedIdentity,
        grants: list[pulumi.Resource],
        security: EncryptionSetup,
        logs_id: pulumi.Output[str],
        tags: dict[str, str],
    ) -> containerservice.ManagedCluster:
        """The AKS cluster: Entra ID RBAC only, workload identity, KMS on etcd, the system pool."""
        env, spec, net, keys = args.env, args.cluster, args.network, args.keys
        options = args.cloud_options
        rg = net.resource_group_name
        api_server_subnet_id = getattr(net, "api_server_subnet_id", None)
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
            api_server_access_profile=api_server_access(spec, api_server_subnet_id),
            oidc_issuer_profile=containerservice.ManagedClusterOIDCIssuerProfileArgs(enabled=True),
            security_profile=containerservice.ManagedClusterSecurityProfileArgs(
                workload_identity=containerservice.ManagedClusterSecurityProfileWorkloadIdentityArgs(enabled=True),
                image_cleaner=containerservice.ManagedClusterSecurityProfileImageCleanerArgs(enabled=True, interval_hours=168),
                azure_key_vault_kms=kms(keys.etcd_key_uri_with_version, keys.vault_id) if keys is not None else None,
            ),
            disk_encryption_set_id=security.disk_encryption_set_id,
            network_profile=network_profile(net.cidr, getattr(net, "nat_gateway_id", None) is not None),
            auto_upgrade_profile=containerservice.ManagedClusterAutoUpgradeProfileArgs(
                upgrade_channel=UPGRADE_CHANNEL, node_os_upgrade_channel=NODE_OS_UPGRADE_CHANNEL
            ),
            addon_profiles={
                "azurepolicy": containerservice.ManagedClusterAddonProfileArgs(enabled=True),
                "omsagent": container_insights_addon(logs_id),
            },
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
        return cluster

    def _container_insights(
        self,
        name: str,
        env: Env,
        rg: pulumi.Input[str],
        location: pulumi.Input[str],
        cluster: containerservice.ManagedCluster,
        logs_id: pulumi.Output[str],
        tags: dict[str, str],
    ) -> None:
        """Container Insights: the data collection rule and its association with the cluster."""
        rule = monitor.DataCollectionRule(
            f"{name}-container-insights",
            resource_group_name=rg,
            location=location,
            kind="Linux",
            description=f"mlops-stack {env.prefix}: Container Insights of the AKS cluster",
            data_sources=monitor.DataCollectionRuleDataSourcesArgs(
                extensions=[
                    monitor.ExtensionDataSourceArgs(
                        name=CONTAINER_INSIGHTS_ASSOCIATION,
                        extension_name=CONTAINER_INSIGHTS_EXTENSION,
                        streams=[CONTAINER_INSIGHTS_STREAM],
                        extension_settings={
                            "dataCollectionSettings": {"interval": "1m", "namespaceFilteringMode": "Off", "enableContainerLogV2": True}
                        },
                    )
                ]
            ),
            destinations=monitor.DataCollectionRuleDestinationsArgs(
                log_analytics=[monitor.LogAnalyticsDestinationArgs(name=CONTAINER_INSIGHTS_DESTINATION, workspace_resource_id=logs_id)]
            ),
            data_flows=[monitor.DataFlowArgs(streams=[CONTAINER_INSIGHTS_STREAM], destinations=[CONTAINER_INSIGHTS_DESTINATION])],
            tags=tags,
            opts=child_opts(self),
        )
        monitor.DataCollectionRuleAssociation(
            f"{name}-container-insights-association",
            resource_uri=cluster.id,
            association_name=CONTAINER_INSIGHTS_ASSOCIATION,
            data_collection_rule_id=rule.id,
            description="Container Insights of the AKS cluster",
            opts=child_opts(self),
        )

    def _defender(self, name: str, cfg: Any) -> None:
        """Microsoft Defender for Containers (``azure.defenderForContainers``)."""
        # Subscription-wide: retained on delete, so destroying one stack never turns
        # Defender off for everything else in the subscription.
        defender.Pricing(
            f"{name}-defender-containers",
            pricing_name="Containers",
            pricing_tier="Standard",
            scope_id=pulumi.Output.concat("/subscriptions/", cfg.subscription_id),
            opts=child_opts(self, retain_on_delete=True),
        )

    def _deployer_access(
        self, name: str, args: KubernetesClusterArgs, cfg: Any, cluster: containerservice.ManagedCluster
    ) -> tuple[containerservice.AgentPool, pulumi.Resource]:
        """The general pool and the deployer's cluster-admin role, which the Kubernetes
        provider waits for."""
        env, spec, net = args.env, args.cluster, args.network
        options = args.cloud_options
        rg = net.resource_group_name
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
            # Never left to the SDK, which would send "User" even for a CI service principal.
            principal_type=deployer_principal_type(getattr(options, "deployer_principal_type", None)),
            description=f"mlops-stack {env.prefix}: the identity running Pulumi manages in-cluster resources",
        )
        return general, admin

    def _outputs(
        self,
        name: str,
        args: KubernetesClusterArgs,
        opts: pulumi.ResourceOptions | None,
        cluster: containerservice.ManagedCluster,
        kubelet: managedidentity.UserAssignedIdentity,
        security: EncryptionSetup,
        logs_id: pulumi.Output[str],
        general: containerservice.AgentPool,
        admin: pulumi.Resource,
    ) -> None:
        """The component's outputs and the Kubernetes provider (kubelogin exec credentials)."""
        env, spec, net = args.env, args.cluster, args.network
        rg = net.resource_group_name
        private = not spec.public_access_cidrs
        creds = containerservice.list_managed_cluster_user_credentials_output(
            resource_group_name=rg, resource_name=cluster.name, format="exec", opts=pulumi.InvokeOutputOptions(parent=self)
        )
        options = args.cloud_options
        login = getattr(options, "kubelogin", None) or "azurecli"
        login_tenant, login_client = getattr(options, "tenant_id", None), getattr(options, "kubelogin_client_id", None)
        self.kubeconfig = pulumi.Output.secret(
            creds.kubeconfigs.apply(lambda ks: kubelogin_kubeconfig(ks[0].value, login, tenant_id=login_tenant, client_id=login_client))
        )
        self.cluster_name = cluster.name
        self.managed_cluster = cluster
        self.cluster_id = cluster.id
        fqdn = cluster.private_fqdn if private else cluster.fqdn
        self.endpoint = pulumi.Output.concat("https://", fqdn, ":443")
        self.oidc_issuer = cluster.oidc_issuer_profile.apply(lambda p: p.issuer_url if p else "")
        self.resource_group_name = rg
        self.node_subnet_id = net.node_subnet_id
        self.zones = zones_list(net.zones) if env.is_prod else None
        self.kubelet_identity_client_id = kubelet.client_id
        self.kubelet_identity_object_id = kubelet.principal_id
        self.disk_encryption_set_id = security.disk_encryption_set_id
        self.log_analytics_workspace_id = logs_id
        self.storage_class = storage_class(env, security.disk_encryption_set_id)
        self.gpu_driver = gpu_driver_choice(args, opts)
        # AKS installs the NVIDIA driver but no device plugin (unless the preview managed-GPU
        # feature is on, which we do not use): the k8s layer installs it.
        self.needs_device_plugin = True
        self.k8s_chart_overrides = chart_overrides(self.gpu_driver)
        self.gpu_node_tolerations = [dict(SPOT_TOLERATION)]
        self.k8s_provider = k8s.Provider(
            f"{name}-k8s", kubeconfig=self.kubeconfig, enable_server_side_apply=True, opts=child_opts(self, depends_on=[cluster, general, admin])
        )
