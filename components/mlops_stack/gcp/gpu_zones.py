"""Which zones of a GCP region offer a GPU (on a machine family): GKE GPU pools are
pinned to them (``node_locations``).

A regional GKE cluster puts each node pool in zones it chooses; a GPU is not in every
zone of a region (L4 is in four us-central1 zones but only two of us-east1's three), so
an unpinned pool can land in a zone that cannot create its nodes. The data is
``gcp/catalog/gpu_zones.csv`` (sources in ``gcp/catalog/SOURCES.md``), one row per GPU,
machine family and region. A GPU with no rows at all is *unknown* here (the pool stays
unpinned; ``mlops-stack preflight`` checks the live zones); a GPU with rows but none for
the region is offered in no zone of it, which is a ``ConfigError`` under
``regionCheck: strict``. With ``regionCheck: off`` nothing is pinned or refused (the
data may lag the cloud): the pool says so in a warning.

Pure: no provider SDK, no network.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from functools import cache
from importlib import resources

from mlops_stack.errors import ConfigError, one_of

DATA_FILE = "gpu_zones.csv"


@dataclass(frozen=True)
class GpuZones:
    """The zones of one region that offer ``gpu`` on ``family`` machines."""

    gpu: str
    family: str
    region: str
    zones: tuple[str, ...]
    source: str
    retrieved: str
    verified: str


@cache
def _rows() -> tuple[GpuZones, ...]:
    ref = resources.files("mlops_stack.gcp").joinpath("catalog", DATA_FILE)
    with ref.open(encoding="utf-8") as fh:
        return tuple(
            GpuZones(r["gpu"], r["family"], r["region"], tuple(r["zones"].split()), r["source"], r["retrieved"], r["verified"])
            for r in csv.DictReader(fh)
        )


def machine_family(machine_type: str) -> str:
    """``g2-standard-24`` -> ``g2``."""
    return machine_type.split("-", 1)[0]


def known(gpu: str, machine_type: str) -> list[GpuZones]:
    """Every row for ``gpu`` on the machine type's family (empty: no zone data)."""
    family = machine_family(machine_type)
    return [r for r in _rows() if r.gpu == gpu and r.family == family]


def zones_for(gpu: str, machine_type: str, region: str) -> tuple[str, ...] | None:
    """The region's zones offering the GPU on that family; ``()`` when none does;
    ``None`` when the data does not know the GPU (or family) at all."""
    rows = known(gpu, machine_type)
    if not rows:
        return None
    return next((r.zones for r in rows if r.region == region), ())


def _where(rows: list[GpuZones]) -> str:
    first = rows[0]
    regions = sorted({r.region for r in rows})
    return (
        f"regions with zones offering it: {one_of(regions, limit=10)}; zone data from Google's GPU regions and zones page, "
        f"retrieved {first.retrieved}, {first.verified}; if the cloud offers it there now, set regionCheck: off"
    )


def pool_zones(gpu: str, machine_type: str, region: str, path: str, *, strict: bool) -> tuple[str, ...] | None:
    """The zones a regional cluster's GPU pool is pinned to (its ``node_locations``).

    ``None``: leave the pool unpinned (``regionCheck: off``, or no zone data for the GPU).
    A GPU with zone data but no zone in ``region`` is a ``ConfigError`` at ``path``.
    """
    if not strict:
        return None
    rows = known(gpu, machine_type)
    found = zones_for(gpu, machine_type, region)
    if found is None:
        return None
    if not found:
        raise ConfigError(
            path,
            f"is not offered in any zone of {region} on {machine_family(machine_type)} machines ({machine_type})",
            _where(rows),
            value=gpu,
        )
    return found


def check_zone(gpu: str, machine_type: str, zone: str, path: str, *, strict: bool, zone_path: str = "gcp.zone") -> None:
    """A zonal cluster's pools are in the cluster's zone: it must offer the GPU."""
    if not strict:
        return
    region = zone.rsplit("-", 1)[0]
    found = zones_for(gpu, machine_type, region)
    if found is None or zone in found:
        return
    if not found:
        pool_zones(gpu, machine_type, region, path, strict=True)  # raises: no zone of the region
    raise ConfigError(
        path,
        f"is not offered in zone {zone} (the zonal cluster's zone) on {machine_family(machine_type)} machines",
        f"zones of {region} with it: {', '.join(found)}; set {zone_path} to one of them, or regionCheck: off if the zone has it now",
        value=gpu,
    )


def unpinned_warning(pool: str, gpu: str, region: str) -> str:
    """What a regional pool left unpinned under ``regionCheck: off`` says."""
    return (
        f"GPU pool {pool}: regionCheck is off, so node_locations is left unset: GKE chooses the pool's zones in {region} "
        f"and may choose one without {gpu}; run `mlops-stack preflight` to see which zones offer it"
    )
