"""GCP-specific spec rules, run by ``targets.check`` before any resource is registered.

Each rule here is a limit the GCP APIs enforce only at ``pulumi up`` time; checking it
up front turns a half-applied stack into a ``ConfigError`` that names the key path:

* GKE node pool names are at most 40 characters (``[a-z]([-a-z0-9]{0,38}[a-z0-9])?``).
  pulumi-gcp auto-names a node pool ``<logical name>-<7 hex>`` (provider autonaming, max
  255), so the logical name of each GPU pool's node pool (``<name>-gpu-<pool>-nodes``)
  must stay within 32 characters (pulumi/pulumi-gcp#1510 shows the API error otherwise).
  The system pool (``<name>-cluster-system``) always fits: the spec caps ``name`` at 16.
(GCS bucket names, ``<name>-<env>-<bucket>-<hash7>``, fit 63 characters by the neutral
``MAX_BUCKET_BASE`` rule; Artifact Registry IDs, ``<name>-<env>-<repo>``, are at most 57.)

Endpoints on GCP take a container image (``model.image``): framework images are an
AWS (SageMaker) feature.
"""

from __future__ import annotations

from typing import Any

from mlops_stack import catalog
from mlops_stack.args import check_tag_count
from mlops_stack.catalog import mig
from mlops_stack.errors import ConfigError
from mlops_stack.constants import AUTONAME_SUFFIX
from mlops_stack.gcp.gpu_zones import check_zone, pool_zones
from mlops_stack.gcp.replication import replica_region
from mlops_stack.naming import check_autoname
from mlops_stack.targets import reject_frameworks

#: GKE: node pool names are 1-40 characters.
MAX_NODE_POOL_NAME = 40


def gpu_pool_logical_name(stack_name: str, pool: str) -> str:
    """Logical name of a GPU pool's node pool in ``MlopsStack`` (``mlops-gpu-train-nodes``)."""
    return f"{stack_name}-gpu-{pool}-nodes"


def node_pool_name_length(logical_name: str) -> int:
    """Length of the node pool name pulumi-gcp auto-names from ``logical_name``."""
    return len(logical_name) + AUTONAME_SUFFIX


#: GCP: 64 labels per resource.
MAX_LABELS = 64


def check(spec: Any) -> None:
    reject_frameworks(spec)
    check_tag_count(spec.tags, MAX_LABELS, "GCP labels")
    zone = spec.gcp.zone
    if zone is not None:
        if not zone.startswith(f"{spec.region}-"):
            raise ConfigError("gcp.zone", f"is not a zone of region {spec.region}", f"zones are named {spec.region}-<letter>", value=zone)
        info = catalog.zones("gcp", spec.region)
        if spec.region_check == "strict" and info is not None and info.names and zone not in info.names:
            raise ConfigError(
                "gcp.zone",
                f"is not a zone of region {spec.region} in the catalog",
                f"zones: {', '.join(info.names)}; if the region has it now, set regionCheck: off",
                value=zone,
            )
    # Prod keeps the data buckets in a dual-region: the pair must exist (gcp/replication.py).
    replica_region(spec.region, spec.storage.replica_region, spec.is_prod)
    check_endpoint_name_lengths(spec)
    if not spec.cluster.enabled:
        return
    check_gpu_platform(spec)
    check_gpu_zones(spec)
    for i, pool in enumerate(spec.cluster.gpu_pools):
        length = node_pool_name_length(gpu_pool_logical_name(spec.name, pool.name))
        if length > MAX_NODE_POOL_NAME:
            raise ConfigError(
                f"cluster.gpuPools[{i}].name",
                f"makes the GKE node pool name {length} characters long (<name>-gpu-<pool>-nodes-<7 hex>); GKE allows {MAX_NODE_POOL_NAME}",
                f"use a pool name of at most {MAX_NODE_POOL_NAME - AUTONAME_SUFFIX - len(gpu_pool_logical_name(spec.name, ''))} characters",
                value=pool.name,
            )


def check_gpu_zones(spec: Any) -> None:
    """Each GPU pool's GPU must be offered in a zone its nodes go to (``gcp/gpu_zones.py``):
    in some zone of the region for the regional (prod) cluster, whose pools are pinned to
    those zones; in the cluster's zone (``gcp.zone``, else the region's first) otherwise."""
    strict = spec.region_check == "strict"
    if not strict:
        return
    info = catalog.zones("gcp", spec.region)
    zone = spec.gcp.zone or (info.names[0] if info is not None and info.names else None)
    for i, pool in enumerate(spec.cluster.gpu_pools):
        path = f"cluster.gpuPools[{i}].gpu"
        offer = catalog.resolve_gpu("gcp", pool.gpu, pool.gpus_per_node, "nodepool", spec.region, path)
        if spec.is_prod:
            pool_zones(pool.gpu, offer.instance_type, spec.region, path, strict=True)
        elif zone is not None:
            check_zone(pool.gpu, offer.instance_type, zone, path, strict=True)


def check_gpu_platform(spec: Any) -> None:
    """GPU enablement GKE can run: the GPU Operator is refused (GKE's COS nodes carry GKE's
    driver under /home/kubernetes/bin/nvidia and no NVIDIA container toolkit, and GKE runs
    its own device plugin; an operator with driver, toolkit and device plugin off and the
    default driver root does not pass its validator there); MIG must fit the pools' GPUs."""
    if spec.gpu.driver == "operator" and spec.cluster.gpu_pools:
        raise ConfigError(
            "gpu.driver",
            "operator is not supported on GKE: GKE installs the driver and runs the device plugin itself",
            "use gpu.driver: cloud (GKE's managed driver and device plugin; DCGM metrics from the layer's exporter)",
            value="operator",
        )
    mig.check(spec, "gcp")


#: Compute Engine / Cloud DNS resource names: 1-63 characters (RFC 1035), pulumi_gcp 10.2.0
#: docstrings; the offline engine's ``mocks.AUTONAMES`` rows use the same limit and source.
MAX_COMPUTE_NAME = 63
MANAGED_ZONE_NAME_SOURCE = "Cloud DNS managed zone names: up to 63 characters (Cloud DNS API, managedZones.name)"


def check_endpoint_name_lengths(spec: Any) -> None:
    """A private managed endpoint's Private Service Connect zone (``<name>-endpoint-<endpoint>-psc-dns``,
    the longest of its autonamed names) must fit 63 characters with Pulumi's 7 random ones:
    refused here, before anything is registered, with the offline engine's line."""
    for i, ep in enumerate(spec.endpoints):
        if ep.on_cluster or not ep.private:
            continue
        keys = [(f"endpoints[{i}].name", ep.name), ("name", spec.name)]
        check_autoname(
            keys, "gcp:dns/managedZone:ManagedZone", f"{spec.name}-endpoint-{ep.name}-psc-dns", MAX_COMPUTE_NAME, source=MANAGED_ZONE_NAME_SOURCE, lower=True
        )
