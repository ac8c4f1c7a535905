"""GPU and instance catalog per cloud, with prices and where each fact came from.

The data lives with each target, in ``<target>/catalog/*.csv`` (sources in the
``SOURCES.md`` beside them; ``Target.catalog_rows``), so a new target brings its own
rows; this module is the small API over every installed target's rows and names no
target. Everything here is pure: no provider SDK, no network.

* ``gpu_offer(cloud, gpu, gpus, use)`` maps a cloud-neutral GPU name and a count to
  the target's instance type (node pools, and managed endpoints where it has them).
* ``resolve_gpu(...)`` does the same but raises ``ConfigError`` naming the key path
  and listing what the cloud does offer.
* ``cpu_offer``, ``fee`` and ``known_regions`` for system pools, CPU endpoints,
  fixed fees and region names.

Prices are on-demand estimates with a source and a date, never quotes; an unknown
price is ``None`` (never zero).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from functools import cache
from typing import Literal

from mlops_stack import targets
from mlops_stack.errors import ConfigError, did_you_mean, one_of

Use = Literal["nodepool", "endpoint"]

#: Source codes of gpus.csv's ``source`` column shared by every target; each target
#: defines its own in its ``catalog/source_codes.csv`` (see its SOURCES.md).
SOURCE_CODES: dict[str, str] = {"3P": "third-party code or posts (unverified)"}
#: The date the seed catalog's facts were gathered (shared/reference, 2026).
CATALOG_DATE = "2026-01-19"


@dataclass(frozen=True)
class GpuOffer:
    gpu: str
    gpu_memory_gib: float
    gpus: int
    cloud: str
    use: str
    instance_type: str
    #: Where the target names accelerators apart from machines: the node pool's accelerator
    #: string (``nvidia-l4``) and the managed endpoint's accelerator enum (``NVIDIA_L4``).
    accelerator: str | None
    vertex_accelerator: str | None
    vcpus: int | None
    memory_gib: float | None
    usd_per_hour: float | None
    price_region: str
    source: str
    verified: str

    @property
    def source_text(self) -> str:
        codes = [c for c in self.source.split(";") if c]
        known = source_codes()
        return "; ".join(known.get(c, c) for c in codes) or "no public source"


@dataclass(frozen=True)
class CpuOffer:
    cloud: str
    size: str
    use: str
    instance_type: str
    vcpus: int | None
    memory_gib: float | None
    usd_per_hour: float | None
    region: str
    source: str
    retrieved: str
    verified: str


@dataclass(frozen=True)
class Fee:
    cloud: str
    item: str
    unit: str
    usd: float | None
    region: str
    source: str
    retrieved: str
    verified: str


def _rows(table: str) -> list[dict[str, str]]:
    """Every installed target's rows of ``table``, target by target (in their order)."""
    return [row for t in targets.all() for row in t.catalog_rows(table)]


@cache
def source_codes() -> dict[str, str]:
    """What the codes of gpus.csv's ``source`` column stand for: the shared ones and each
    target's ``source_codes.csv``."""
    return {**SOURCE_CODES, **{r["code"]: r["text"] for r in _rows("source_codes.csv")}}


def _num(text: str) -> float | None:
    return float(text) if text else None


@cache
def gpu_offers() -> tuple[GpuOffer, ...]:
    out: list[GpuOffer] = []
    for row in _rows("gpus.csv"):
        uses = ("nodepool", "endpoint") if row["use"] == "both" else (row["use"],)
        accel, vertex = None, None
        if row.get("accelerator_type"):
            accel, _, vertex = row["accelerator_type"].partition("|")
        for use in uses:
            vcpus = _num(row.get("vcpus", ""))
            out.append(
                GpuOffer(
                    gpu=row["gpu"],
                    gpu_memory_gib=float(row["gpu_memory_gib"]),
                    gpus=int(row["gpus"]),
                    cloud=row["cloud"],
                    use=use,
                    instance_type=row["instance_type"],
                    accelerator=accel or None,
                    vertex_accelerator=vertex or None,
                    vcpus=int(vcpus) if vcpus is not None else None,
                    memory_gib=_num(row.get("memory_gib", "")),
                    usd_per_hour=_num(row.get("usd_per_hour", "")),
                    price_region=row.get("region", ""),
                    source=row.get("source", ""),
                    verified=row.get("verified", "unverified"),
                )
            )
    return tuple(out)


@cache
def _offer_index() -> dict[tuple[str, str, int, str], GpuOffer]:
    return {(o.cloud, o.gpu, o.gpus, o.use): o for o in gpu_offers()}


def gpu_names() -> frozenset[str]:
    """Every cloud-neutral GPU name the catalog knows, on any cloud."""
    return frozenset(o.gpu for o in gpu_offers())


def offered(cloud: str, use: Use, gpu: str | None = None) -> list[GpuOffer]:
    return [o for o in gpu_offers() if o.cloud == cloud and o.use == use and (gpu is None or o.gpu == gpu)]


def gpu_offer(cloud: str, gpu: str, gpus: int, use: Use) -> GpuOffer | None:
    return _offer_index().get((cloud, gpu, gpus, use))


@dataclass(frozen=True)
class RegionList:
    regions: frozenset[str]
    source: str
    retrieved: str
    verified: str


@cache
def _gpu_regions() -> dict[tuple[str, str, str], RegionList]:
    return {
        (r["cloud"], r["gpu"], r["use"]): RegionList(frozenset(r["regions"].split()), r.get("source", ""), r.get("retrieved", ""), r.get("verified", ""))
        for r in _rows("gpu_regions.csv")
    }


def gpu_regions(cloud: str, gpu: str, use: Use) -> RegionList | None:
    """Where ``gpu`` is offered for ``use`` (an empty set: offered nowhere we know of);
    ``None`` when the catalog has no region data for it."""
    return _gpu_regions().get((cloud, gpu, use))


@cache
def _known_regions() -> dict[str, frozenset[str]]:
    out: dict[str, set[str]] = {}
    for r in _rows("regions.csv"):
        out.setdefault(r["cloud"], set()).add(r["region"])
    return {k: frozenset(v) for k, v in out.items()}


def known_regions(cloud: str) -> frozenset[str]:
    return _known_regions().get(cloud, frozenset())


def _describe(use: str) -> str:
    return "node pools" if use == "nodepool" else "endpoints"


def resolve_gpu(cloud: str, gpu: str, gpus: int, use: Use, region: str, path: str, *, check_region: bool = True) -> GpuOffer:
    """The catalog offer for a spec's GPU, or a ``ConfigError`` that lists what is offered.

    ``path`` is the key path of the GPU in the spec (``cluster.gpuPools[0].gpu``); the
    count lives beside it (``gpusPerNode`` / ``gpusPerInstance``).
    """
    names = gpu_names()
    on_cloud = offered(cloud, use)
    if gpu not in names:
        raise ConfigError(
            path,
            "is not a GPU name this toolkit knows",
            did_you_mean(gpu, names) or f"known GPUs: {one_of(names)}",
            value=gpu,
        )
    same_gpu = [o for o in on_cloud if o.gpu == gpu]
    if not same_gpu:
        raise ConfigError(
            path,
            f"is not offered on {cloud} for {_describe(use)}",
            f"{cloud} offers: {one_of(o.gpu for o in on_cloud)}",
            value=gpu,
        )
    offer = gpu_offer(cloud, gpu, gpus, use)
    count_key = "gpusPerNode" if use == "nodepool" else "gpusPerInstance"
    if offer is None:
        counts = ", ".join(str(c) for c in sorted({o.gpus for o in same_gpu}))
        raise ConfigError(
            path.rsplit(".", 1)[0] + "." + count_key,
            f"{gpus} x {gpu} per {'node' if use == 'nodepool' else 'instance'} is not offered on {cloud}",
            f"{gpu} comes in counts of {counts}",
        )
    listed = gpu_regions(cloud, gpu, use)
    if check_region and listed is not None and region not in listed.regions:
        where = f"regions with {gpu}: {one_of(listed.regions, limit=10)}" if listed.regions else f"no region is known to offer {gpu}"
        raise ConfigError(
            path,
            f"is not offered on {cloud} for {_describe(use)} in region {region}",
            f"{where}; catalog data retrieved {listed.retrieved or 'undated'}, {listed.verified or 'unverified'}; "
            "if the cloud offers it there now, set regionCheck: off",
            value=gpu,
        )
    return offer


@cache
def _cpu_index() -> dict[tuple[str, str, str], CpuOffer]:
    out = {}
    for r in _rows("cpu_sizes.csv"):
        vcpus = _num(r.get("vcpus", ""))
        out[(r["cloud"], r["size"], r["use"])] = CpuOffer(
            cloud=r["cloud"],
            size=r["size"],
            use=r["use"],
            instance_type=r["instance_type"],
            vcpus=int(vcpus) if vcpus is not None else None,
            memory_gib=_num(r.get("memory_gib", "")),
            usd_per_hour=_num(r.get("usd_per_hour", "")),
            region=r.get("region", ""),
            source=r.get("source", ""),
            retrieved=r.get("retrieved", ""),
            verified=r.get("verified", "unverified"),
        )
    return out


def cpu_offer(cloud: str, size: str, use: Use) -> CpuOffer:
    found = _cpu_index().get((cloud, size, use))
    if found is None:
        # Every built-in target has all rows (tests/test_catalog.py); an out-of-tree target
        # without them gets this line instead of a KeyError.
        raise ConfigError("cpuSize", f"has no {use} row for {cloud} in the catalog (cpu_sizes.csv)", value=size)
    return found


@dataclass(frozen=True)
class MachinePrice:
    """The hourly price of one planned machine type, and where it comes from."""

    instance_type: str
    usd_per_hour: float | None
    source: str
    retrieved: str
    verified: str


def offer_for_machine(cloud: str, use: Use, instance_type: str, gpus: int | None = None) -> MachinePrice | None:
    """The price of a machine type a plan asks for (a node pool's or an endpoint's instance
    type): GPU offers first, then CPU sizes; None when the catalog does not list it."""
    for o in gpu_offers():
        if o.cloud == cloud and o.use == use and o.instance_type == instance_type and gpus in (None, o.gpus):
            return MachinePrice(instance_type, o.usd_per_hour, o.source_text, CATALOG_DATE, o.verified)
    for c in _cpu_index().values():
        if c.cloud == cloud and c.use == use and c.instance_type == instance_type:
            return MachinePrice(instance_type, c.usd_per_hour, c.source, c.retrieved, c.verified)
    return None


@cache
def _fees() -> dict[tuple[str, str], Fee]:
    return {
        (r["cloud"], r["item"]): Fee(
            cloud=r["cloud"],
            item=r["item"],
            unit=r.get("unit", ""),
            usd=_num(r.get("usd", "")),
            region=r.get("region", ""),
            source=r.get("source", ""),
            retrieved=r.get("retrieved", ""),
            verified=r.get("verified", "unverified"),
        )
        for r in _rows("fees.csv")
    }


def fee(cloud: str, item: str) -> Fee | None:
    return _fees().get((cloud, item))


# ---------------------------------------------------------------------------------
# Kubernetes minors per cloud (data/kubernetes_versions.csv).

#: The cluster version a spec gets when it names none: a minor in standard support on
#: every built-in target's table on the day it was chosen (2026-11-29; the end dates are in
#: the targets' kubernetes_versions.csv). ``tests/test_kubernetes_versions.py`` fails
#: once it leaves standard support anywhere.
DEFAULT_KUBERNETES_VERSION = "1.35"


@dataclass(frozen=True)
class KubernetesVersion:
    cloud: str
    minor: str
    released: date
    standard_end: date
    extended_end: date
    extended_by: str
    source: str
    retrieved: str
    verified: str

    def in_standard_support(self, today: date) -> bool:
        return self.released <= today <= self.standard_end


def _minor_key(minor: str) -> tuple[int, ...]:
    return tuple(int(p) for p in minor.split("."))


@cache
def kubernetes_versions() -> tuple[KubernetesVersion, ...]:
    rows = [
        KubernetesVersion(
            cloud=r["cloud"],
            minor=r["minor"],
            released=date.fromisoformat(r["released"]),
            standard_end=date.fromisoformat(r["standard_end"]),
            extended_end=date.fromisoformat(r["extended_end"]),
            extended_by=r.get("extended_by", ""),
            source=r.get("source", ""),
            retrieved=r.get("retrieved", ""),
            verified=r.get("verified", "unverified"),
        )
        for r in _rows("kubernetes_versions.csv")
    ]
    return tuple(sorted(rows, key=lambda v: (v.cloud, _minor_key(v.minor))))


def kubernetes_version(cloud: str, minor: str) -> KubernetesVersion | None:
    return next((v for v in kubernetes_versions() if v.cloud == cloud and v.minor == minor), None)


def standard_support_minors(cloud: str, today: date) -> list[KubernetesVersion]:
    """The minors in standard support on ``cloud`` on ``today``, oldest first."""
    return [v for v in kubernetes_versions() if v.cloud == cloud and v.in_standard_support(today)]


def check_kubernetes_version(cloud: str, minor: str, today: date, path: str = "cluster.version") -> KubernetesVersion:
    """The table row of ``minor`` on ``cloud``, or a ``ConfigError`` when that minor is
    unknown, not yet released, or past its standard-support end on ``today``.

    The stack creates clusters with standard support only (each target's cluster says
    how), where such a version is refused.
    """
    current = standard_support_minors(cloud, today)
    suggestion = f"use {current[-1].minor} (standard support until {current[-1].standard_end})" if current else None
    row = kubernetes_version(cloud, minor)
    if row is None:
        known = [v.minor for v in kubernetes_versions() if v.cloud == cloud]
        hint = "; ".join(p for p in (f"the {cloud} version table (catalog data read {_table_date(cloud)}) lists {', '.join(known)}", suggestion) if p)
        raise ConfigError(path, f"is not a Kubernetes minor this toolkit knows on {cloud}", hint, value=minor)
    if today < row.released:
        raise ConfigError(path, f"is not released on {cloud} until {row.released}", suggestion, value=minor)
    if today > row.standard_end:
        reason = (
            f"left standard support on {cloud} on {row.standard_end} (extended support, {row.extended_by}, "
            f"{'ended' if today > row.extended_end else 'until'} {row.extended_end}); the stack creates clusters with standard support only"
        )
        raise ConfigError(path, reason, suggestion, value=minor)
    return row


def _table_date(cloud: str) -> str:
    dates = sorted({v.retrieved for v in kubernetes_versions() if v.cloud == cloud and v.retrieved})
    return dates[-1] if dates else "undated"


@dataclass(frozen=True)
class ZoneInfo:
    """How many availability zones a region has (and their names where the cloud's
    zone names are not derivable, e.g. zone letters that skip some)."""

    count: int
    names: tuple[str, ...]
    source: str
    verified: str
    #: False when no row names the region and ``count`` is the cloud's maximum.
    listed: bool = True


@cache
def _zones() -> dict[tuple[str, str], ZoneInfo]:
    return {
        (r["cloud"], r["region"]): ZoneInfo(int(r["zones"]), tuple(r.get("zone_names", "").split()), r.get("source", ""), r.get("verified", ""))
        for r in _rows("zones.csv")
    }


def zones(cloud: str, region: str) -> ZoneInfo | None:
    """The zones of ``region`` (``data/zones.csv``); for a region without a row, the
    cloud's largest zone count (``listed=False``); ``None`` when the cloud has no data."""
    data = _zones()
    found = data.get((cloud, region))
    if found is not None:
        return found
    fallback = data.get((cloud, "*"))
    if fallback is None:
        return None
    return ZoneInfo(fallback.count, (), fallback.source, fallback.verified, listed=False)
