"""``MlopsStack``: the whole environment for one cloud, from one spec.

It composes the capabilities in dependency order (network -> keys -> storage,
registries -> cluster -> GPU pools -> endpoints), each from the target
(``targets.get(spec.cloud).component(kind)``), and only those the target offers: the
spec has already rejected what it asks for and the target lacks (``contracts.NEEDS``).
It holds no cloud-specific code. Outputs use the common names of the architecture.
"""

from __future__ import annotations

from typing import Any

import pulumi

from mlops_stack import targets
from mlops_stack.args import (
    ArtifactStoreArgs,
    ContainerRegistryArgs,
    Env,
    GpuNodePoolArgs,
    KeysArgs,
    KubernetesClusterArgs,
    ModelEndpointArgs,
    MonitoringArgs,
    ModelRegistryArgs,
    NetworkArgs,
    child_opts,
    merge_opts,
)
from mlops_stack.catalog import mig
from mlops_stack.k8s import k8s_layer
from mlops_stack.spec import MlopsSpec


class MlopsStack(pulumi.ComponentResource):
    """``mlops:index:MlopsStack``: every capability of the spec on ``spec.cloud``."""

    def __init__(self, name: str, spec: MlopsSpec, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("mlops:index:MlopsStack", name, None, merge_opts(opts))
        self.spec = spec
        cloud = spec.cloud
        self.target = target = targets.get(cloud)
        env = Env.from_spec(spec)
        # The caller's provider (opts.provider / opts.providers, or one inherited from the
        # caller's parent) wins; else the target's, from the spec and the stack's provider config.
        pkg = target.provider_package
        provider = self.get_provider(f"{pkg}:index:Provider") if pkg else None
        if provider is None:
            config = targets.provider_config(target, spec)
            provider = target.make_provider(targets.ProviderRequest(name=f"{name}-{cloud}", spec=spec, config=config, opts=child_opts(self), package=pkg or ""))
        providers = {pkg: provider} if provider is not None and pkg else {}
        opts_ = pulumi.ResourceOptions(parent=self, providers=providers)

        def make(capability: str, role: str, args: Any) -> Any:
            return target.component(capability)(f"{name}-{role}", args, opts_)

        def maybe(capability: str, role: str, args: Any) -> Any:
            """A component the target may lack (the spec rejected the ones it asks for)."""
            return make(capability, role, args) if target.offers(capability) else None

        self.network = maybe(
            "Network", "network", NetworkArgs(env=env, cidr=str(spec.network.cidr), zones=spec.zone_count, nat_per_zone=spec.nat_per_zone)
        )
        self.keys = maybe(
            "Keys",
            "keys",
            KeysArgs(
                env=env, rotation_days=spec.keys.rotation_days, deletion_window_days=spec.keys.deletion_window_days, network=self.network
            ),
        )
        self.store = maybe("ArtifactStore", "store", ArtifactStoreArgs(env=env, storage=spec.storage, keys=self.keys, network=self.network))
        self.registry = maybe(
            "ContainerRegistry",
            "registry",
            ContainerRegistryArgs(env=env, registry=spec.container_registry, keys=self.keys, network=self.network),
        )
        self.model_registry = (
            make(
                "ModelRegistry",
                "models",
                ModelRegistryArgs(
                    env=env,
                    registry=spec.model_registry,
                    keys=self.keys,
                    network=self.network,
                    store=self.store,
                    container_registry=self.registry,
                ),
            )
            if spec.model_registry.enabled
            else None
        )
        self.cluster = None
        self.gpu_pools: list[Any] = []
        self.k8s: Any = None
        if spec.cluster.enabled:
            cloud_options = getattr(spec, cloud)
            self.cluster = make(
                "KubernetesCluster",
                "cluster",
                KubernetesClusterArgs(
                    env=env,
                    cluster=spec.cluster,
                    network=self.network,
                    keys=self.keys,
                    registry=self.registry,
                    cloud_options=cloud_options,
                    gpu_driver=spec.gpu.driver,
                    model_registry=self.model_registry,
                ),
            )
            self.gpu_pools = [
                make(
                    "GpuNodePool",
                    f"gpu-{pool.name}",
                    GpuNodePoolArgs(
                        env=env,
                        pool=pool,
                        cluster=self.cluster,
                        gpu_driver=spec.gpu.driver,
                        mig_profile=mig.pool_partition(spec.gpu.sharing, pool.gpu),
                    ),
                )
                for pool in spec.cluster.gpu_pools
            ]
            # The cloud-independent Kubernetes layer, on the cluster's own provider; left
            # out in the first phase of a two-phase first apply (docs/first-apply.md).
            self.k8s = None if not spec.cluster.in_cluster else k8s_layer(
                f"{name}-k8s",
                MonitoringArgs(
                    env=env,
                    monitoring=spec.monitoring,
                    gpu=spec.gpu,
                    namespaces=tuple(spec.namespaces),
                    gpu_pools=tuple(spec.cluster.gpu_pools),
                    cluster=self.cluster,
                ),
                pulumi.ResourceOptions(parent=self, providers={"kubernetes": self.cluster.k8s_provider}, depends_on=self.gpu_pools),
            )
        self.endpoints = [
            make(
                "ModelEndpoint",
                f"endpoint-{ep.name}",
                ModelEndpointArgs(
                    env=env,
                    endpoint=ep,
                    store=self.store,
                    keys=self.keys,
                    network=self.network,
                    model_registry=self.model_registry,
                    path=f"endpoints[{i}]",
                    container_registry=self.registry,
                ),
            )
            for i, ep in enumerate(spec.endpoints)
        ]
        self.outputs = self._collect()
        self.register_outputs(self.outputs)

    def _collect(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "cloud": self.spec.cloud,
            "region": self.spec.region,
            "environment": self.spec.environment,
        }
        if self.store is not None:
            out["bucket_uris"] = self.store.bucket_uris
        if self.registry is not None:
            out.update(registry_url=self.registry.registry_url, repository_urls=self.registry.repository_urls)
        if self.model_registry is not None:
            out["model_registry_id"] = self.model_registry.model_registry_id
        if self.cluster is not None:
            out.update(
                cluster_name=self.cluster.cluster_name,
                endpoint=self.cluster.endpoint,
                kubeconfig=self.cluster.kubeconfig,
                oidc_issuer=self.cluster.oidc_issuer,
            )
            out["gpu_pools"] = {
                spec_pool.name: {
                    "pool_name": p.pool_name,
                    "instance_type": p.instance_type,
                    "gpu": p.gpu,
                    "gpus_per_node": p.gpus_per_node,
                    "min_nodes": p.min_nodes,
                    "max_nodes": p.max_nodes,
                }
                for p, spec_pool in zip(self.gpu_pools, self.spec.cluster.gpu_pools, strict=True)
            }
            if self.k8s is not None and self.k8s.monitoring is not None:
                out.update(grafana_url=self.k8s.monitoring.grafana_url, prometheus_url=self.k8s.monitoring.prometheus_url)
        if self.target.offers("ModelEndpoint"):
            out["endpoints"] = {
                ep_spec.name: {"endpoint_name": ep.endpoint_name, "invoke_url": ep.invoke_url}
                for ep, ep_spec in zip(self.endpoints, self.spec.endpoints, strict=True)
            }
        return out
