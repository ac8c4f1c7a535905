"""GCP Kubernetes cluster: GKE Standard, regional in prod and zonal otherwise, with
private nodes, a private endpoint (or master authorized networks from the spec's
``publicAccessCidrs``), Workload Identity, a release channel, shielded nodes, Dataplane
V2 (eBPF networking with built-in network policy), application-layer secrets
encryption with the stack's cluster key, Binary Authorization against the project policy
(``gcp/admission.py``), intranode visibility, optional Google Groups for RBAC, the default node pool removed, and a system
pool on a dedicated least-privilege node service account that can pull from the stack's
Artifact Registry repositories.

The control plane is reached over Private Service Connect (GKE's default for new
clusters): no ``master_ipv4_cidr_block`` and no VPC peering.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

import pulumi
import pulumi_gcp as gcp
import pulumi_kubernetes as k8s

from mlops_stack import catalog
from mlops_stack.args import POOL_LABEL, Env, KubernetesClusterArgs, child_opts, merge_opts, resource_tags
from mlops_stack.args import target_options
from mlops_stack.constants import CONTROL_PLANE_WEBHOOK_PORTS
from mlops_stack.gcp.options import GcpSpec
from mlops_stack.gcp._nodes import initial_nodes, management, node_config, node_service_account
from mlops_stack.gcp._shared import IAM_APIS, enable_services, key_dependencies, key_for, labels, project_info
from mlops_stack.gcp.admission import CLUSTER_EVALUATION_MODE, project_policy
from mlops_stack.spec import SystemPoolSpec

#: Zones a regional cluster spreads over (GKE's default for a region).
REGIONAL_ZONES = 3
#: Release channel per environment: prod waits for the versions others have run longest.
RELEASE_CHANNELS = {"prod": "STABLE", "staging": "REGULAR", "dev": "REGULAR"}
#: The kubectl credential plugin GKE requires since 1.26.
AUTH_PLUGIN = "gke-gcloud-auth-plugin"
PD_CSI = "pd.csi.storage.gke.io"
#: What GKE's control plane lets an in-cluster Prometheus scrape (neutral names of
#: constants.SCRAPE_TARGETS): the scheduler, controller-manager and etcd run in Google's
#: project (GKE docs "Control plane metrics" - they are exported to Cloud Monitoring only),
#: and Dataplane V2 (ADVANCED_DATAPATH, set below) runs no kube-proxy (GKE docs "About
#: Dataplane V2": kube-proxy is not deployed). kube-prometheus-stack turns their jobs and
#: their never-clearing Down alerts off from this. GKE Standard clusters run kube-dns, not
#: CoreDNS, unless Cloud DNS is configured (GKE docs "About kube-dns for GKE"; the stack sets
#: no dns_config): kube-dns's metrics are scraped, and no CoreDNS job is kept whose 9153
#: target never answers (TargetDown forever).
SCRAPE_TARGETS = {"scheduler": False, "controller-manager": False, "etcd": False, "kube-proxy": False, "coredns": False, "kube-dns": True}
#: GKE runs metrics-server in kube-system on every Standard cluster (GKE docs "Horizontal Pod
#: autoscaling": resource metrics come from the cluster's metrics-server): metrics.k8s.io is served.
PROVIDES_METRICS_API = True
#: Where GKE's managed driver installation puts the NVIDIA driver on COS nodes.
GKE_NVIDIA_DIR = "/home/kubernetes/bin/nvidia"


def chart_overrides() -> dict[str, Any]:
    """What the k8s layer's charts need on GKE (COS) nodes, for the DCGM exporter, after
    Google's own DCGM-on-GKE example: the driver libraries from GKE's install directory
    (not on the host's library path), ``privileged`` (COS nodes have no NVIDIA container
    runtime to hand the GPU devices to the container) with ``allowPrivilegeEscalation: true``
    (the chart's default container context sets it false - dcgm-exporter chart 4.8.2
    values.yaml ``securityContext`` - and the API server rejects privileged with escalation
    off: k8s.io/kubernetes pkg/apis/core/validation, "cannot set
    `allowPrivilegeEscalation` to false and `privileged` to true"), and GPU ids as device names (GKE's
    device plugin reports ``nvidia0``..., so the workload's pod/namespace labels attach only
    with ``device-name``). Lists here are added to the layer's (the chart's counters mount stays)."""
    return {
        "dcgm-exporter": {
            "securityContext": {"privileged": True, "allowPrivilegeEscalation": True},
            "extraHostVolumes": [{"name": "nvidia-install-dir-host", "hostPath": GKE_NVIDIA_DIR}],
            "extraVolumeMounts": [{"name": "nvidia-install-dir-host", "mountPath": "/usr/local/nvidia", "readOnly": True}],
            "extraEnv": [
                {"name": "LD_LIBRARY_PATH", "value": "/usr/local/nvidia/lib64"},
                {"name": "DCGM_EXPORTER_KUBERNETES_GPU_ID_TYPE", "value": "device-name"},
            ],
        }
    }


def webhook_firewall(parent: pulumi.Resource, name: str, env: Env, network: Any, nodes_sa: pulumi.Input[str]) -> gcp.compute.Firewall:
    """The control plane to the nodes on the in-cluster webhook ports (the one place this
    rule is made; ``constants.CONTROL_PLANE_WEBHOOK_PORTS``).

    Nodes are private: GKE's own ``gke-<cluster>-<hash>-master`` rule admits the control plane
    on TCP 443 and 10250 only (GKE docs "Automatically created firewall rules"), and the API
    server calls a webhook at its pod IP and container port, so KServe's webhook (9443) would
    time out and, with ``failurePolicy: Fail``, block every InferenceService and predictor
    pod. GKE's guidance for private clusters (and Cloud Service Mesh's "Open ports on a
    private cluster") is a rule from the source range of GKE's own ``gke-<cluster>-<hash>-master``
    rule. Without ``master_ipv4_cidr_block`` the cluster uses Private Service Connect, whose
    control-plane endpoint is an internal address of the cluster's node subnet (GKE docs
    "About Private Service Connect"), so the source here is the node subnet; the VPC's
    allow-internal rule covers it as well, and which address the control plane's webhook
    calls really come from (the endpoint, or konnectivity-agent pods) is not verified on a
    live cluster: this rule keeps the ports open whichever it is while they come from inside
    the VPC. The targets are the nodes, by their service account."""
    return gcp.compute.Firewall(
        f"{name}-control-plane-webhooks",
        network=network.network_id,
        description=f"mlops-stack {env.prefix}: GKE control plane to admission webhooks and aggregated APIs on the nodes",
        direction="INGRESS",
        priority=1000,
        allows=[gcp.compute.FirewallAllowArgs(protocol="tcp", ports=[str(p) for p in CONTROL_PLANE_WEBHOOK_PORTS])],
        source_ranges=[(getattr(network, "ranges", None) or {}).get("nodes") or network.cidr],
        target_service_accounts=[nodes_sa],
        log_config=gcp.compute.FirewallLogConfigArgs(metadata="EXCLUDE_ALL_METADATA"),
        opts=child_opts(parent),
    )


def kubeconfig(cluster_name: str, endpoint: str, ca_data: str) -> str:
    """A kubeconfig that authenticates with ``gke-gcloud-auth-plugin`` (no static credentials)."""
    doc = {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [{"name": cluster_name, "cluster": {"server": f"https://{endpoint}", "certificate-authority-data": ca_data}}],
        "contexts": [{"name": cluster_name, "context": {"cluster": cluster_name, "user": cluster_name}}],
        "current-context": cluster_name,
        "users": [
            {
                "name": cluster_name,
                "user": {
                    "exec": {
                        "apiVersion": "client.authentication.k8s.io/v1beta1",
                        "command": AUTH_PLUGIN,
                        "installHint": "Install gke-gcloud-auth-plugin: gcloud components install gke-gcloud-auth-plugin",
                        "provideClusterInfo": True,
                        "interactiveMode": "Never",
                    }
                },
            }
        ],
    }
    return json.dumps(doc, sort_keys=True)


def authorized_networks(public_cidrs: list[str], vpc_cidr: str, runner_cidrs: Sequence[str] = ()) -> list[dict[str, str]]:
    """Who may reach the API server: the spec's CIDRs when the endpoint is public, else
    the VPC (GKE needs authorized networks on for a private-only endpoint); plus the
    deploy runner's private CIDRs (``cluster.runnerCidrs``, docs/first-apply.md)."""
    if public_cidrs:
        blocks = [{"cidr_block": c, "display_name": f"spec-{i}"} for i, c in enumerate(public_cidrs)]
    else:
        blocks = [{"cidr_block": vpc_cidr, "display_name": "vpc"}]
    return blocks + [{"cidr_block": c, "display_name": f"runner-{i}"} for i, c in enumerate(runner_cidrs)]


def storage_class(kms_key: pulumi.Input[str] | None) -> dict[str, Any]:
    """The CMEK-encrypted balanced PD class the k8s layer creates."""
    params: dict[str, Any] = {"type": "pd-balanced"}
    if kms_key is not None:
        params["disk-encryption-kms-key"] = kms_key
    return {"name": "pd-balanced-cmek", "provisioner": PD_CSI, "parameters": params}


def oidc_issuer(project: str, location: str, name: str) -> str:
    return f"https://container.googleapis.com/v1/projects/{project}/locations/{location}/clusters/{name}"


def workload_pool_of(config: Any) -> str:
    """The cluster's ``workloadIdentityConfig.workloadPool`` (``<project>.svc.id.goog``)."""
    pool = getattr(config, "workload_pool", None) if config is not None else None
    if not pool:
        raise ValueError("the GKE cluster reports no workload pool: Workload Identity is off")
    return str(pool)


class KubernetesCluster(pulumi.ComponentResource):
    """``mlops:gcp:KubernetesCluster``.

    Outputs (common): ``cluster_name``, ``endpoint``, ``kubeconfig`` (secret),
    ``oidc_issuer``, ``k8s_provider``. GCP extras read by node pools and the k8s layer:
    ``location``, ``node_service_account_email``, ``workload_pool``, ``disk_key``,
    ``storage_class``, ``zones`` (how many zones the cluster spans),
    ``needs_device_plugin`` (False: GKE runs the NVIDIA device plugin with its managed
    driver), ``partitions_mig`` (True) and ``k8s_chart_overrides``.
    """

    cluster_name: pulumi.Output[str]
    endpoint: pulumi.Output[str]
    kubeconfig: pulumi.Output[str]
    oidc_issuer: pulumi.Output[str]
    k8s_provider: k8s.Provider
    location: pulumi.Output[str]
    node_service_account_email: pulumi.Output[str]
    workload_pool: pulumi.Output[str]
    disk_key: pulumi.Input[str] | None
    #: Key child resources, exposed for wiring what the stack does not (docs/components.md).
    CHILDREN = ('gke_cluster',)
    gke_cluster: gcp.container.Cluster
    storage_class: dict[str, Any]
    zones: int
    needs_device_plugin: bool
    k8s_chart_overrides: dict[str, Any]
    #: Which control-plane components Prometheus can scrape (``SCRAPE_TARGETS``).
    scrape_targets: dict[str, bool]
    #: Whether the cluster serves metrics.k8s.io without the layer installing metrics-server.
    provides_metrics_api: bool
    #: The ingress rule from the control plane to the nodes on the webhook ports.
    webhook_firewall: gcp.compute.Firewall
    #: GKE partitions MIG GPUs itself (the pools' ``gpuPartitionSize``).
    partitions_mig: bool = True

    def __init__(self, name: str, args: KubernetesClusterArgs[GcpSpec], opts: pulumi.ResourceOptions | None = None) -> None:
        target_options(args.cloud_options, GcpSpec, "KubernetesClusterArgs.cloud_options")  # another target's options: ConfigError
        super().__init__("mlops:gcp:KubernetesCluster", name, None, merge_opts(opts))
        env, spec = args.env, args.cluster
        project, _number = project_info(self)
        apis = enable_services(self, name, ["container.googleapis.com", "binaryauthorization.googleapis.com", *IAM_APIS])
        secrets_key = key_for(args.keys, "cluster")
        disk_key = key_for(args.keys, "disks")
        tags = labels(resource_tags(env))

        location, zones = self._location(env, args.cloud_options)
        nodes_sa = node_service_account(self, f"{name}-nodes-sa", env, project, depends_on=apis)
        binauthz = self._registry_access(name, env, args.registry, project, nodes_sa, apis)
        cluster = self._cluster(name, args, location, project, nodes_sa, apis, binauthz, secrets_key, tags)
        system_pool = self._system_pool(name, env, spec.system_pool, cluster, zones, nodes_sa, disk_key)

        ca = cluster.master_auth.apply(lambda m: m.cluster_ca_certificate or "")
        config = pulumi.Output.all(cluster.name, cluster.endpoint, ca).apply(lambda v: kubeconfig(v[0], v[1], v[2]))
        self.cluster_name = cluster.name
        self.gke_cluster = cluster
        self.location = cluster.location
        self.endpoint = pulumi.Output.concat("https://", cluster.endpoint)
        self.kubeconfig = pulumi.Output.secret(config)
        self.oidc_issuer = pulumi.Output.all(project, cluster.location, cluster.name).apply(lambda v: oidc_issuer(v[0], v[1], v[2]))
        self.node_service_account_email = nodes_sa.email
        # Read from the cluster, not rebuilt from the project: the pool exists only once the
        # first Workload Identity cluster does (IAM answers 400 "Identity Pool does not exist"
        # before), so everything naming a pool member waits for the cluster.
        self.workload_pool = cluster.workload_identity_config.apply(lambda c: workload_pool_of(c))
        self.disk_key = disk_key
        self.zones = zones
        self.storage_class = storage_class(disk_key)
        self.needs_device_plugin = False
        self.k8s_chart_overrides = chart_overrides()
        self.scrape_targets = dict(SCRAPE_TARGETS)
        self.provides_metrics_api = PROVIDES_METRICS_API
        self.webhook_firewall = webhook_firewall(self, name, env, args.network, nodes_sa.email)
        self.k8s_provider = k8s.Provider(
            f"{name}-k8s", kubeconfig=self.kubeconfig, enable_server_side_apply=True, opts=child_opts(self, depends_on=[system_pool])
        )
        self.register_outputs(
            {
                "cluster_name": self.cluster_name,
                "endpoint": self.endpoint,
                "kubeconfig": self.kubeconfig,
                "oidc_issuer": self.oidc_issuer,
                "location": self.location,
                "node_service_account_email": self.node_service_account_email,
                "workload_pool": self.workload_pool,
            }
        )

    def _location(self, env: Env, options: Any) -> tuple[pulumi.Input[str], int]:
        """Where the cluster runs (the region in prod, else ``gcp.zone`` or the region's
        first zone that is up) and how many zones it spans."""
        regional = env.is_prod
        if regional:
            location: pulumi.Input[str] = env.region
        elif getattr(options, "zone", None):
            location = options.zone
        else:
            location = gcp.compute.get_zones_output(region=env.region, status="UP", opts=pulumi.InvokeOutputOptions(parent=self)).names.apply(
                lambda names: sorted(names)[0]
            )
        zones = REGIONAL_ZONES if regional else 1
        return location, zones

    def _registry_access(
        self,
        name: str,
        env: Env,
        registry: Any,
        project: pulumi.Output[str],
        nodes_sa: gcp.serviceaccount.Account,
        apis: list[gcp.projects.Service],
    ) -> pulumi.Resource:
        """The nodes' read access to the stack's repositories and the Binary Authorization
        policy admitting them (returned: the cluster waits for it)."""
        for repo, repo_id in (getattr(registry, "repository_names", None) or {}).items():
            gcp.artifactregistry.RepositoryIamMember(
                f"{name}-nodes-pull-{repo}",
                repository=repo_id,
                location=registry.location,
                role="roles/artifactregistry.reader",
                member=nodes_sa.member,
                opts=child_opts(self),
            )

        # Binary Authorization (CIS GKE 5.10.5): the project policy admits only the stack's
        # repositories and the pinned charts' images (gcp/admission.py).
        binauthz = project_policy(
            self,
            name,
            env,
            project=project,
            repositories=pulumi.Output.all(*(getattr(registry, "repository_names", None) or {}).values()),
            depends_on=apis,
        )
        return binauthz

    def _cluster(
        self,
        name: str,
        args: KubernetesClusterArgs,
        location: pulumi.Input[str],
        project: pulumi.Output[str],
        nodes_sa: gcp.serviceaccount.Account,
        apis: list[gcp.projects.Service],
        binauthz: pulumi.Resource,
        secrets_key: pulumi.Input[str] | None,
        tags: dict[str, str],
    ) -> gcp.container.Cluster:
        """The private, VPC-native GKE cluster (Workload Identity, Dataplane V2, shielded
        nodes, secrets encrypted with the stack key); its default pool is removed."""
        env, spec, network = args.env, args.cluster, args.network
        rbac_group = getattr(args.cloud_options, "rbac_security_group", None)
        public_cidrs = [str(c) for c in spec.public_access_cidrs]
        cluster = gcp.container.Cluster(
            f"{name}-gke",
            name=env.prefix,
            location=location,
            description=f"mlops-stack {env.prefix}",
            network=network.network_id,
            subnetwork=network.subnet_id,
            networking_mode="VPC_NATIVE",
            ip_allocation_policy=gcp.container.ClusterIpAllocationPolicyArgs(
                cluster_secondary_range_name=network.pods_range_name, services_secondary_range_name=network.services_range_name
            ),
            min_master_version=spec.version,
            release_channel=gcp.container.ClusterReleaseChannelArgs(channel=RELEASE_CHANNELS.get(env.environment, "REGULAR")),
            private_cluster_config=gcp.container.ClusterPrivateClusterConfigArgs(
                enable_private_nodes=True, enable_private_endpoint=not public_cidrs
            ),
            master_authorized_networks_config=gcp.container.ClusterMasterAuthorizedNetworksConfigArgs(
                cidr_blocks=[
                    gcp.container.ClusterMasterAuthorizedNetworksConfigCidrBlockArgs(**b)
                    for b in authorized_networks(public_cidrs, network.cidr, [str(c) for c in spec.runner_cidrs])
                ],
                gcp_public_cidrs_access_enabled=False,
            ),
            master_auth=gcp.container.ClusterMasterAuthArgs(
                client_certificate_config=gcp.container.ClusterMasterAuthClientCertificateConfigArgs(issue_client_certificate=False)
            ),
            workload_identity_config=gcp.container.ClusterWorkloadIdentityConfigArgs(workload_pool=pulumi.Output.concat(project, ".svc.id.goog")),
            enable_shielded_nodes=True,
            enable_legacy_abac=False,
            datapath_provider="ADVANCED_DATAPATH",
            # Same-node pod traffic goes through the VPC too, so flow logs and firewall
            # rules see it (GKE "Set up intranode visibility").
            enable_intranode_visibility=True,
            binary_authorization=gcp.container.ClusterBinaryAuthorizationArgs(evaluation_mode=CLUSTER_EVALUATION_MODE),
            # RBAC bindings may name members of Google Groups nested in the organisation's
            # gke-security-groups group (spec gcp.rbacSecurityGroup; off when unset).
            authenticator_groups_config=gcp.container.ClusterAuthenticatorGroupsConfigArgs(security_group=rbac_group) if rbac_group else None,
            database_encryption=gcp.container.ClusterDatabaseEncryptionArgs(state="ENCRYPTED", key_name=secrets_key)
            if secrets_key is not None
            else None,
            addons_config=gcp.container.ClusterAddonsConfigArgs(
                gce_persistent_disk_csi_driver_config=gcp.container.ClusterAddonsConfigGcePersistentDiskCsiDriverConfigArgs(enabled=True),
            ),
            # GKE always creates a default pool; it is removed right away. Give it the
            # node identity and hardening anyway, so not even that pool runs as the
            # default compute service account.
            remove_default_node_pool=True,
            initial_node_count=1,
            node_config=gcp.container.ClusterNodeConfigArgs(
                service_account=nodes_sa.email,
                oauth_scopes=["https://www.googleapis.com/auth/cloud-platform"],
                shielded_instance_config=gcp.container.ClusterNodeConfigShieldedInstanceConfigArgs(enable_secure_boot=True, enable_integrity_monitoring=True),
                workload_metadata_config=gcp.container.ClusterNodeConfigWorkloadMetadataConfigArgs(mode="GKE_METADATA"),
                metadata={"disable-legacy-endpoints": "true"},
            ),
            deletion_protection=env.is_prod,
            resource_labels=tags,
            # The default pool's config only matters at creation; changing it later would
            # replace the cluster.
            opts=child_opts(self, depends_on=[*apis, *key_dependencies(args.keys), binauthz], ignore_changes=["nodeConfig", "initialNodeCount"]),
        )
        return cluster

    def _system_pool(
        self,
        name: str,
        env: Env,
        sp: SystemPoolSpec,
        cluster: gcp.container.Cluster,
        zones: int,
        nodes_sa: gcp.serviceaccount.Account,
        disk_key: pulumi.Input[str] | None,
    ) -> gcp.container.NodePool:
        """The autoscaled system node pool."""
        system = catalog.cpu_offer("gcp", sp.size, "nodepool")
        system_pool = gcp.container.NodePool(
            f"{name}-system",
            cluster=cluster.name,
            location=cluster.location,
            initial_node_count=initial_nodes(sp.min_nodes, zones),
            autoscaling=gcp.container.NodePoolAutoscalingArgs(total_min_node_count=sp.min_nodes, total_max_node_count=sp.max_nodes, location_policy="BALANCED"),
            management=management(),
            upgrade_settings=gcp.container.NodePoolUpgradeSettingsArgs(max_surge=1, max_unavailable=0),
            node_config=node_config(
                env=env,
                machine_type=system.instance_type,
                disk_gb=sp.disk_gb,
                service_account=nodes_sa.email,
                boot_disk_kms_key=disk_key,
                k8s_labels={POOL_LABEL: "system"},
                extra_labels={"mlops-stack-pool": "system"},
            ),
            # The autoscaler owns the size after creation.
            opts=child_opts(self, ignore_changes=["initialNodeCount", "nodeCount"]),
        )
        return system_pool
