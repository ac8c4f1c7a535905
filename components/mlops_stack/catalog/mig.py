"""Multi-Instance GPU (MIG): which GPUs can be partitioned, into what, and on which target.

``gpu.sharing.mode: mig`` with ``gpu.sharing.migProfile: all-<n>g.<m>gb`` cuts every GPU of
every MIG-capable pool into partitions of that profile; pools of other GPUs are left
whole. Who partitions is the target's business (its cluster or the NVIDIA GPU Operator's
MIG manager); each target runs ``check`` from its checks, before any resource is
registered.

Profiles: NVIDIA Multi-Instance GPU User Guide, "Supported MIG Profiles" (one instance
tables). A profile a target cannot apply is a row of its ``catalog/mig_excluded.csv``
(with the source). Not checked in this repository against a live cluster.
"""

from __future__ import annotations

import re
from functools import cache
from typing import Any

from mlops_stack import targets
from mlops_stack.errors import ConfigError

#: Cloud-neutral GPU name -> the MIG profiles it can be cut into (whole-GPU layouts).
MIG_PROFILES: dict[str, tuple[str, ...]] = {
    "nvidia-a100-40gb": ("1g.5gb", "1g.10gb", "2g.10gb", "3g.20gb", "4g.20gb", "7g.40gb"),
    "nvidia-a100-80gb": ("1g.10gb", "1g.20gb", "2g.20gb", "3g.40gb", "4g.40gb", "7g.80gb"),
    "nvidia-h100": ("1g.10gb", "1g.20gb", "2g.20gb", "3g.40gb", "4g.40gb", "7g.80gb"),
    "nvidia-h100-nvl": ("1g.12gb", "2g.24gb", "3g.47gb", "4g.47gb", "7g.94gb"),
    "nvidia-h200": ("1g.18gb", "2g.35gb", "3g.71gb", "4g.71gb", "7g.141gb"),
    "nvidia-b200": ("1g.23gb", "1g.45gb", "2g.45gb", "3g.90gb", "4g.90gb", "7g.180gb"),
}
PROFILE_PATTERN = re.compile(r"^all-(\d)g\.(\d+)gb$")


def partition(profile: str) -> str:
    """``all-1g.10gb`` -> ``1g.10gb`` (the partition size of every GPU)."""
    return profile.removeprefix("all-")


def excluded(target: str, gpu: str) -> tuple[str, ...]:
    """The profiles of ``gpu`` that ``target`` cannot apply (its ``catalog/mig_excluded.csv``)."""
    return _excluded(target).get(gpu, ())


@cache
def _excluded(target: str) -> dict[str, tuple[str, ...]]:
    out: dict[str, tuple[str, ...]] = {}
    for row in targets.get(target).catalog_rows("mig_excluded.csv"):
        out[row["gpu"]] = (*out.get(row["gpu"], ()), row["profile"])
    return out


def profiles_for(cloud: str, gpu: str) -> tuple[str, ...]:
    """The MIG profiles of ``gpu`` that the target ``cloud`` can apply."""
    return tuple(p for p in MIG_PROFILES.get(gpu, ()) if p not in excluded(cloud, gpu))


def pool_partition(sharing: Any, gpu: str) -> str | None:
    """The partition of a pool's GPUs under ``sharing`` (None: the pool is not partitioned)."""
    if sharing.mode != "mig" or not sharing.mig_profile or gpu not in MIG_PROFILES:
        return None
    return partition(sharing.mig_profile)


def check(spec: Any, cloud: str) -> None:
    """``gpu.sharing`` MIG against the pools' GPUs: at least one MIG-capable pool, and a
    profile every MIG-capable pool's GPU offers on ``cloud``."""
    sharing = spec.gpu.sharing
    pools = spec.cluster.gpu_pools if spec.cluster.enabled else []
    if sharing.mode != "mig" or not pools:
        return
    if not sharing.mig_profile or not PROFILE_PATTERN.match(sharing.mig_profile):
        raise ConfigError(
            "gpu.sharing.migProfile",
            "must name the partition of every GPU when gpu.sharing.mode is mig",
            "e.g. all-1g.10gb (see docs/k8s.md for the profiles per GPU)",
            value=sharing.mig_profile,
        )
    capable = [(i, p) for i, p in enumerate(pools) if p.gpu in MIG_PROFILES]
    if not capable:
        raise ConfigError(
            "gpu.sharing.mode",
            f"mig needs a GPU pool with a MIG-capable GPU; the pools have {', '.join(sorted({p.gpu for p in pools}))}",
            f"MIG-capable: {', '.join(MIG_PROFILES)}",
            value="mig",
        )
    for i, pool in capable:
        offered = profiles_for(cloud, pool.gpu)
        if partition(str(sharing.mig_profile)) not in offered:
            raise ConfigError(
                "gpu.sharing.migProfile",
                f"is not a MIG profile of {pool.gpu} (cluster.gpuPools[{i}]) on this cloud",
                f"offered: {', '.join('all-' + p for p in offered)}",
                value=sharing.mig_profile,
            )
