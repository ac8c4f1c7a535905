"""AWS Kubernetes cluster: EKS with KMS envelope encryption of secrets, every
control-plane log type (to a KMS-encrypted log group with retention), a private API
endpoint (public only for the spec's CIDR allowlist), an OIDC provider for IRSA, access
entries (not the aws-auth ConfigMap), an on-demand system node group, and the EBS CSI
driver so that persistent volumes work."""

from __future__ import annotations

import json
from typing import Any

import pulumi
import pulumi_aws as aws
import pulumi_kubernetes as k8s

from mlops_stack import catalog
from mlops_stack.aws.preflight import _same_principal, principal_role_arn
from mlops_stack.errors import ConfigError
from mlops_stack.args import POOL_LABEL, Env, KubernetesClusterArgs, child_opts, merge_opts, resource_tags
from mlops_stack.args import target_options
from mlops_stack.aws.options import AwsSpec
from mlops_stack.aws._nodes import launch_template, node_role, template_ref
from mlops_stack.aws._shared import identity, key_arn
from mlops_stack.k8s import charts
from mlops_stack.aws.policies import (
    EBS_CSI_POLICY,
    EKS_ADMIN_ACCESS_POLICY,
    EKS_CLUSTER_POLICIES,
    EKS_LOG_TYPES,
    assume_role_policy,
    cidrs,
    cluster_autoscaler_policy,
    ebs_csi_kms_policy,
    irsa_assume_role_policy,
    kubeconfig,
    managed_policy_arn,
)

CLUSTER_AUTOSCALER_SA = "cluster-autoscaler"
CLUSTER_AUTOSCALER_RELEASE = "cluster-autoscaler"
#: Autoscaler log verbosity: the chart's default ``v: 4`` logs every pod at every loop.
CLUSTER_AUTOSCALER_VERBOSITY = 2


def cluster_autoscaler_values(cluster_name: str, region: str, release: charts.AutoscalerRelease, role_arn: str) -> dict[str, Any]:
    """Cluster Autoscaler chart values. Helm merges these over the chart's defaults, so
    every key of a default map we mean to change is set here (``extraArgs`` keeps the
    chart's ``logtostderr``/``stderrthreshold`` and replaces its ``v: 4``)."""
    return {
        "cloudProvider": "aws",
        "awsRegion": region,
        "autoDiscovery": {"clusterName": cluster_name},
        "image": {"tag": release.image_tag},
        "rbac": {"serviceAccount": {"name": CLUSTER_AUTOSCALER_SA, "annotations": {"eks.amazonaws.com/role-arn": role_arn}}},
        "extraArgs": {
            "logtostderr": True,
            "stderrthreshold": "info",
            "v": CLUSTER_AUTOSCALER_VERBOSITY,
            "balance-similar-node-groups": True,
            "expander": "least-waste",
            "skip-nodes-with-system-pods": False,
        },
        "nodeSelector": {POOL_LABEL: "system"},
        "resources": {"requests": {"cpu": "100m", "memory": "300Mi"}, "limits": {"cpu": "1", "memory": "600Mi"}},
    }


def runner_ingress(
    parent: pulumi.Resource, name: str, cluster: aws.eks.Cluster, runner_cidrs: list[Any], runner_groups: list[str]
) -> list[aws.vpc.SecurityGroupIngressRule]:
    """HTTPS from the deploy runner to the private API endpoint. EKS's cluster security
    group admits only itself (the control plane and the nodes), so a runner in a peered
    VPC or behind a VPN/transit gateway times out on 443 without these rules."""
    sg = cluster.vpc_config.cluster_security_group_id
    rules = [
        aws.vpc.SecurityGroupIngressRule(
            f"{name}-runner-cidr-{i}",
            security_group_id=sg,
            ip_protocol="tcp",
            from_port=443,
            to_port=443,
            cidr_ipv4=str(cidr),
            description="mlops-stack deploy runner to the Kubernetes API (cluster.runnerCidrs)",
            opts=child_opts(parent),
        )
        for i, cidr in enumerate(runner_cidrs)
    ]
    rules += [
        aws.vpc.SecurityGroupIngressRule(
            f"{name}-runner-sg-{i}",
            security_group_id=sg,
            ip_protocol="tcp",
            from_port=443,
            to_port=443,
            referenced_security_group_id=group,
            description="mlops-stack deploy runner to the Kubernetes API (aws.runnerSecurityGroupIds)",
            opts=child_opts(parent),
        )
        for i, group in enumerate(runner_groups)
    ]
    return rules


#: Control-plane log retention (days): CloudWatch Logs accepts only certain values.
LOG_RETENTION_DAYS = {"prod": 365, "staging": 90, "dev": 30}



def refuse_listed_creator(spec: Any, provider: pulumi.ProviderResource | None = None) -> None:
    """``ConfigError`` when the identity that applies (the provider's caller, after any
    assumed role) is in ``aws.clusterAdminArns``: EKS gives the cluster's creator an admin
    access entry of its own (``bootstrap_cluster_creator_admin_permissions``), and a second
    entry for the same principal fails the apply with 409 ``ResourceInUseException``.
    Run before any resource is registered (the target's provider factory)."""
    opts = pulumi.InvokeOptions(provider=provider) if provider is not None else None
    caller = principal_role_arn(str(aws.get_caller_identity(opts=opts).arn))
    for i, arn in enumerate(spec.aws.cluster_admin_arns):
        if _same_principal(arn, caller):
            raise ConfigError(
                f"aws.clusterAdminArns[{i}]",
                "is the identity running pulumi up, which EKS already makes cluster admin as the cluster's creator; "
                "a second access entry for it fails with 409",
                "remove it from the list, or apply as another identity",
                value=arn,
            )

class KubernetesCluster(pulumi.ComponentResource):
    """``mlops:aws:KubernetesCluster``.

    Outputs (common): ``cluster_name``, ``endpoint``, ``kubeconfig`` (secret),
    ``oidc_issuer``, ``k8s_provider``. AWS extras used by node pools and the k8s layer:
    ``node_role_arn``, ``node_subnet_ids``, ``oidc_provider_arn``, ``key_arn``,
    ``storage_class`` (the encrypted gp3 class the k8s layer creates).
    """

    cluster_name: pulumi.Output[str]
    endpoint: pulumi.Output[str]
    kubeconfig: pulumi.Output[str]
    oidc_issuer: pulumi.Output[str]
    k8s_provider: k8s.Provider
    node_role_arn: pulumi.Output[str]
    node_subnet_ids: pulumi.Output[list[str]]
    oidc_provider_arn: pulumi.Output[str]
    key_arn: pulumi.Input[str] | None
    storage_class: dict[str, Any]
    #: Key child resources, exposed for wiring what the stack does not (docs/components.md).
    CHILDREN = ('eks_cluster', 'node_role', 'oidc_provider')
    eks_cluster: aws.eks.Cluster
    node_role: aws.iam.Role
    oidc_provider: aws.iam.OpenIdConnectProvider
    #: EKS AL2023 NVIDIA nodes ship the driver but not the device plugin (k8s layer reads this).
    needs_device_plugin: bool = True
    #: What an in-cluster Prometheus can scrape (constants.SCRAPE_TARGETS): the scheduler,
    #: controller-manager and etcd run in the AWS-managed control plane (no node endpoints;
    #: EKS user guide "Control plane metrics" exposes them only through the API server's
    #: metrics.eks.amazonaws.com API). kube-proxy runs on every node, but EKS's
    #: kube-proxy-config binds its metrics to 127.0.0.1:10249 (kube-proxy's default; reported
    #: in aws/containers-roadmap#657, eksctl-io/eksctl#4081, terraform-aws-modules/
    #: terraform-aws-eks#742), so Prometheus cannot reach them and KubeProxyDown would never
    #: clear. CoreDNS (the EKS add-on) serves metrics on 9153.
    scrape_targets = {"scheduler": False, "controller-manager": False, "etcd": False, "kube-proxy": False, "coredns": True, "kube-dns": False}
    #: EKS installs no metrics-server (EKS user guide "View resource usage with the Kubernetes
    #: Metrics Server": it is an optional add-on/chart): the k8s layer installs it where HPAs need it.
    provides_metrics_api: bool = False

    def __init__(self, name: str, args: KubernetesClusterArgs[AwsSpec], opts: pulumi.ResourceOptions | None = None) -> None:
        target_options(args.cloud_options, AwsSpec, "KubernetesClusterArgs.cloud_options")  # another target's options: ConfigError
        # Before anything is registered: a minor without an autoscaler release is a ConfigError.
        autoscaler = charts.cluster_autoscaler(args.cluster.version)
        super().__init__("mlops:aws:KubernetesCluster", name, None, merge_opts(opts))
        env, spec, network = args.env, args.cluster, args.network
        tags = resource_tags(env)
        kms = key_arn(args.keys)
        account, partition = identity(self)

        cluster, issuer, oidc = self._control_plane(name, args, tags, kms, partition)
        self._admin_access(name, args, cluster, tags, partition)
        nodes, system_group = self._system_nodes(name, args, cluster, tags, kms, partition)
        self._addons(name, env, cluster, oidc, issuer, system_group, tags, kms, partition)

        config = pulumi.Output.all(cluster.name, cluster.endpoint, cluster.certificate_authority.data).apply(
            lambda v: kubeconfig(v[0], v[1], v[2], env.region)
        )
        self.cluster_name = cluster.name
        self.eks_cluster, self.node_role, self.oidc_provider = cluster, nodes.role, oidc
        self.endpoint = cluster.endpoint
        self.kubeconfig = pulumi.Output.secret(config)
        self.oidc_issuer = issuer
        self.oidc_provider_arn = oidc.arn
        self.node_role_arn = nodes.arn
        self.node_subnet_ids = network.private_subnet_ids
        self.key_arn = kms
        self.storage_class = {
            "name": "gp3-encrypted",
            "provisioner": "ebs.csi.aws.com",
            "parameters": {"type": "gp3", "encrypted": "true", **({"kmsKeyId": kms} if kms is not None else {})},
        }
        runner_rules = runner_ingress(self, name, cluster, spec.runner_cidrs, getattr(args.cloud_options, "runner_security_group_ids", []) or [])
        self.k8s_provider = k8s.Provider(
            f"{name}-k8s",
            kubeconfig=self.kubeconfig,
            enable_server_side_apply=True,
            opts=child_opts(self, depends_on=[system_group, *runner_rules]),
        )
        outputs = {
            "cluster_name": self.cluster_name,
            "endpoint": self.endpoint,
            "kubeconfig": self.kubeconfig,
            "oidc_issuer": self.oidc_issuer,
            "oidc_provider_arn": self.oidc_provider_arn,
            "node_role_arn": self.node_role_arn,
        }
        if spec.in_cluster:
            # Otherwise two-phase first apply, phase 1: nothing that talks to the API server
            # (docs/first-apply.md); the autoscaler comes with the in-cluster layer.
            self._autoscaler(name, env, autoscaler, cluster, oidc, issuer, system_group, tags, account, partition)
        self.register_outputs(outputs)

    def _control_plane(
        self, name: str, args: KubernetesClusterArgs, tags: dict[str, str], kms: pulumi.Input[str] | None, partition: pulumi.Output[str]
    ) -> tuple[aws.eks.Cluster, pulumi.Output[str], aws.iam.OpenIdConnectProvider]:
        """The control plane: its role, its encrypted log group, the EKS cluster and the
        OIDC provider for IRSA."""
        env, spec, network = args.env, args.cluster, args.network
        cluster_name = env.prefix
        cluster_role = aws.iam.Role(
            f"{name}-cluster-role",
            assume_role_policy=assume_role_policy("eks.amazonaws.com"),
            description=f"mlops-stack {env.prefix}: EKS control plane",
            tags=tags,
            opts=child_opts(self),
        )
        attachments = [
            aws.iam.RolePolicyAttachment(
                f"{name}-cluster-role-{p.lower()}",
                role=cluster_role.name,
                policy_arn=partition.apply(lambda part, p=p: managed_policy_arn(part, p)),
                opts=child_opts(self),
            )
            for p in EKS_CLUSTER_POLICIES
        ]
        # Created before the cluster so EKS logs into it (with our retention and key)
        # instead of creating an unencrypted, never-expiring group of its own.
        log_group = aws.cloudwatch.LogGroup(
            f"{name}-control-plane-logs",
            name=f"/aws/eks/{cluster_name}/cluster",
            retention_in_days=LOG_RETENTION_DAYS.get(env.environment, 90),
            kms_key_id=kms,
            tags=tags,
            opts=child_opts(self),
        )
        public = bool(spec.public_access_cidrs)
        cluster = aws.eks.Cluster(
            f"{name}-eks",
            name=cluster_name,
            version=spec.version,
            role_arn=cluster_role.arn,
            vpc_config=aws.eks.ClusterVpcConfigArgs(
                subnet_ids=network.private_subnet_ids,
                endpoint_private_access=True,
                endpoint_public_access=public,
                public_access_cidrs=cidrs(spec.public_access_cidrs) if public else None,
            ),
            access_config=aws.eks.ClusterAccessConfigArgs(
                authentication_mode="API",
                # Whoever runs `pulumi up` administers the cluster (the Kubernetes provider needs it).
                bootstrap_cluster_creator_admin_permissions=True,
            ),
            encryption_config=aws.eks.ClusterEncryptionConfigArgs(
                provider=aws.eks.ClusterEncryptionConfigProviderArgs(key_arn=kms), resources=["secrets"]
            )
            if kms is not None
            else None,
            enabled_cluster_log_types=list(EKS_LOG_TYPES),
            upgrade_policy=aws.eks.ClusterUpgradePolicyArgs(support_type="STANDARD"),
            deletion_protection=env.is_prod,
            tags=tags,
            opts=child_opts(self, depends_on=[*attachments, log_group]),
        )
        issuer = cluster.identities.apply(lambda ids: ids[0].oidcs[0].issuer)
        oidc = aws.iam.OpenIdConnectProvider(
            f"{name}-oidc",
            url=issuer,
            client_id_lists=["sts.amazonaws.com"],
            tags=tags,
            opts=child_opts(self),
        )
        return cluster, issuer, oidc

    def _admin_access(
        self, name: str, args: KubernetesClusterArgs, cluster: aws.eks.Cluster, tags: dict[str, str], partition: pulumi.Output[str]
    ) -> None:
        """An EKS access entry with cluster-admin for each of ``aws.clusterAdminArns``."""
        options = args.cloud_options
        for i, arn in enumerate(getattr(options, "cluster_admin_arns", []) or []):
            entry = aws.eks.AccessEntry(
                f"{name}-admin-{i}", cluster_name=cluster.name, principal_arn=arn, type="STANDARD", tags=tags, opts=child_opts(self)
            )
            aws.eks.AccessPolicyAssociation(
                f"{name}-admin-{i}",
                cluster_name=cluster.name,
                principal_arn=arn,
                policy_arn=partition.apply(lambda p: f"arn:{p}:eks::aws:cluster-access-policy/{EKS_ADMIN_ACCESS_POLICY}"),
                access_scope=aws.eks.AccessPolicyAssociationAccessScopeArgs(type="cluster"),
                opts=child_opts(self, depends_on=[entry]),
            )

    def _system_nodes(
        self,
        name: str,
        args: KubernetesClusterArgs,
        cluster: aws.eks.Cluster,
        tags: dict[str, str],
        kms: pulumi.Input[str] | None,
        partition: pulumi.Output[str],
    ) -> tuple[aws.iam.Role, aws.eks.NodeGroup]:
        """The node role every pool uses and the on-demand system node group."""
        env, spec, network = args.env, args.cluster, args.network
        nodes = node_role(self, f"{name}-node-role", env, partition)
        system = catalog.cpu_offer("aws", spec.system_pool.size, "nodepool")
        system_lt = launch_template(self, f"{name}-system-lt", env, spec.system_pool.disk_gb, kms, **{"mlops-stack-pool": "system"})
        system_group = aws.eks.NodeGroup(
            f"{name}-system",
            cluster_name=cluster.name,
            node_role_arn=nodes.arn,
            subnet_ids=network.private_subnet_ids,
            ami_type="AL2023_x86_64_STANDARD",
            capacity_type="ON_DEMAND",
            instance_types=[system.instance_type],
            scaling_config=aws.eks.NodeGroupScalingConfigArgs(
                min_size=spec.system_pool.min_nodes, max_size=spec.system_pool.max_nodes, desired_size=spec.system_pool.min_nodes
            ),
            update_config=aws.eks.NodeGroupUpdateConfigArgs(max_unavailable=1),
            launch_template=template_ref(system_lt),
            labels={POOL_LABEL: "system"},
            tags=tags,
            # The autoscaler owns the desired size after creation: never fight it.
            opts=child_opts(self, ignore_changes=["scalingConfig.desiredSize"]),
        )
        return nodes, system_group

    def _addons(
        self,
        name: str,
        env: Env,
        cluster: aws.eks.Cluster,
        oidc: aws.iam.OpenIdConnectProvider,
        issuer: pulumi.Output[str],
        system_group: aws.eks.NodeGroup,
        tags: dict[str, str],
        kms: pulumi.Input[str] | None,
        partition: pulumi.Output[str],
    ) -> None:
        """The VPC CNI (with network policies) and the EBS CSI driver with its IRSA role."""
        ebs_role = aws.iam.Role(
            f"{name}-ebs-csi-role",
            assume_role_policy=pulumi.Output.all(oidc.arn, issuer).apply(
                lambda v: irsa_assume_role_policy(v[0], v[1], "kube-system", "ebs-csi-controller-sa")
            ),
            description=f"mlops-stack {env.prefix}: EBS CSI driver (IRSA)",
            tags=tags,
            opts=child_opts(self),
        )
        # The addon depends on its role's grants, so a destroy removes the addon first.
        ebs_grants: list[pulumi.Resource] = [
            aws.iam.RolePolicyAttachment(
                f"{name}-ebs-csi-policy",
                role=ebs_role.name,
                policy_arn=partition.apply(lambda p: managed_policy_arn(p, EBS_CSI_POLICY)),
                opts=child_opts(self),
            )
        ]
        if kms is not None:
            ebs_grants.append(
                aws.iam.RolePolicy(
                    f"{name}-ebs-csi-kms",
                    role=ebs_role.id,
                    policy=pulumi.Output.from_input(kms).apply(ebs_csi_kms_policy),
                    opts=child_opts(self),
                )
            )
        # The VPC CNI enforces Kubernetes NetworkPolicies (the tenancy layer's default-deny)
        # only with its network policy agent turned on.
        aws.eks.Addon(
            f"{name}-vpc-cni",
            cluster_name=cluster.name,
            addon_name="vpc-cni",
            configuration_values=json.dumps({"enableNetworkPolicy": "true"}),
            resolve_conflicts_on_create="OVERWRITE",
            resolve_conflicts_on_update="OVERWRITE",
            tags=tags,
            opts=child_opts(self),
        )
        aws.eks.Addon(
            f"{name}-ebs-csi",
            cluster_name=cluster.name,
            addon_name="aws-ebs-csi-driver",
            service_account_role_arn=ebs_role.arn,
            resolve_conflicts_on_create="OVERWRITE",
            resolve_conflicts_on_update="OVERWRITE",
            tags=tags,
            opts=child_opts(self, depends_on=[system_group, *ebs_grants]),
        )

    def _autoscaler(
        self,
        name: str,
        env: Env,
        autoscaler: charts.AutoscalerRelease,
        cluster: aws.eks.Cluster,
        oidc: aws.iam.OpenIdConnectProvider,
        issuer: pulumi.Output[str],
        system_group: aws.eks.NodeGroup,
        tags: dict[str, str],
        account: pulumi.Output[str],
        partition: pulumi.Output[str],
    ) -> None:
        """The Cluster Autoscaler: its IRSA role and policy, and its Helm release."""
        # EKS managed node groups only change size when told to: the Cluster Autoscaler
        # moves desiredSize between each pool's min and max (GKE and AKS autoscale natively).
        autoscaler_role = aws.iam.Role(
            f"{name}-autoscaler-role",
            assume_role_policy=pulumi.Output.all(oidc.arn, issuer).apply(
                lambda v: irsa_assume_role_policy(v[0], v[1], "kube-system", CLUSTER_AUTOSCALER_SA)
            ),
            description=f"mlops-stack {env.prefix}: Cluster Autoscaler (IRSA)",
            tags=tags,
            opts=child_opts(self),
        )
        autoscaler_policy = aws.iam.RolePolicy(
            f"{name}-autoscaler-policy",
            role=autoscaler_role.id,
            policy=pulumi.Output.all(cluster.name, partition, account).apply(
                lambda v: cluster_autoscaler_policy(v[0], partition=v[1], region=env.region, account_id=v[2])
            ),
            opts=child_opts(self),
        )
        k8s.helm.v3.Release(
            f"{name}-autoscaler",
            name=CLUSTER_AUTOSCALER_RELEASE,
            chart=autoscaler.chart.name,
            version=autoscaler.chart.version,
            repository_opts=k8s.helm.v3.RepositoryOptsArgs(repo=autoscaler.chart.repo),
            namespace="kube-system",
            values=pulumi.Output.all(cluster.name, autoscaler_role.arn).apply(
                lambda v: cluster_autoscaler_values(v[0], env.region, autoscaler, v[1])
            ),
            atomic=True,
            timeout=600,
            opts=child_opts(self, provider=self.k8s_provider, depends_on=[system_group, autoscaler_policy]),
        )
