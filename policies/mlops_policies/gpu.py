"""Which GPU (cloud-neutral name) and how many per node a node/instance type carries.

The pack runs in its own process and must not import the project's catalog, so the
catalog's machine and accelerator types are copied into ``generated.py``
(scripts/gen_policy_tables.py, checked by a sync test) and looked up first. The small
hand-written tables below are the fallback for machines outside the catalog (other
sizes of a family, a target installed as a plugin). Unknown types return
``(None, None)``; rules then only report what they can prove.
"""

from __future__ import annotations

import re

from mlops_policies.generated import ACCELERATORS, MACHINES

# AWS EC2 families (EKS node groups) -> neutral GPU name.
_AWS_FAMILIES = {
    "g4dn": "nvidia-t4",
    "g5": "nvidia-a10g",
    "g6": "nvidia-l4",
    "g6e": "nvidia-l40s",
    "gr6": "nvidia-l4",
    "p3": "nvidia-v100",
    "p3dn": "nvidia-v100",
    "p4d": "nvidia-a100-40gb",
    "p4de": "nvidia-a100-80gb",
    "p5": "nvidia-h100",
    "p5e": "nvidia-h200",
    "p5en": "nvidia-h200",
    "g4ad": "amd-v520",
}
# GPUs per instance by size, where it is not 1.
_AWS_COUNTS = {
    "g4dn.12xlarge": 4, "g4dn.metal": 8,
    "g5.12xlarge": 4, "g5.24xlarge": 4, "g5.48xlarge": 8,
    "g6.12xlarge": 4, "g6.24xlarge": 4, "g6.48xlarge": 8,
    "g6e.12xlarge": 4, "g6e.24xlarge": 4, "g6e.48xlarge": 8,
    "p3.8xlarge": 4, "p3.16xlarge": 8, "p3dn.24xlarge": 8,
    "p4d.24xlarge": 8, "p4de.24xlarge": 8,
    "p5.48xlarge": 8, "p5.4xlarge": 1, "p5e.48xlarge": 8, "p5en.48xlarge": 8,
}
# GKE / Vertex accelerator types -> neutral names.
_GCP_ACCELERATORS = {
    "nvidia-tesla-t4": "nvidia-t4",
    "nvidia-l4": "nvidia-l4",
    "nvidia-tesla-v100": "nvidia-v100",
    "nvidia-tesla-p100": "nvidia-p100",
    "nvidia-tesla-p4": "nvidia-p4",
    "nvidia-tesla-a100": "nvidia-a100-40gb",
    "nvidia-a100-80gb": "nvidia-a100-80gb",
    "nvidia-h100-80gb": "nvidia-h100",
    "nvidia-h100-mega-80gb": "nvidia-h100",
    "nvidia-h200-141gb": "nvidia-h200",
    "nvidia-b200": "nvidia-b200",
    "NVIDIA_TESLA_T4": "nvidia-t4",
    "NVIDIA_L4": "nvidia-l4",
    "NVIDIA_TESLA_V100": "nvidia-v100",
    "NVIDIA_TESLA_A100": "nvidia-a100-40gb",
    "NVIDIA_A100_80GB": "nvidia-a100-80gb",
    "NVIDIA_H100_80GB": "nvidia-h100",
}
# Azure VM sizes (AKS agent pools): regex on the lower-cased size -> (gpu, count or None).
_AZURE_PATTERNS = [
    (r"^standard_nc(\d+)as_t4_v3$", "nvidia-t4", {"4": 1, "8": 1, "16": 1, "64": 4}),
    (r"^standard_nc(\d+)ads_a100_v4$", "nvidia-a100-80gb", {"24": 1, "48": 2, "96": 4}),
    (r"^standard_nd(\d+)asr_v4$", "nvidia-a100-40gb", {"96": 8}),
    (r"^standard_nd(\d+)amsr_a100_v4$", "nvidia-a100-80gb", {"96": 8}),
    (r"^standard_nc(\d+)adi?s_h100_v5$", "nvidia-h100", {"40": 1, "80": 2}),
    (r"^standard_nd(\d+)isr_h100_v5$", "nvidia-h100", {"96": 8}),
    (r"^standard_nv(\d+)ads_a10_v5$", "nvidia-a10", {"36": 1, "72": 2}),
    (r"^standard_nc(\d+)s_v3$", "nvidia-v100", {"6": 1, "12": 2, "24": 4}),
    (r"^standard_nc(\d+)rs_v3$", "nvidia-v100", {"24": 4}),
]
_AZURE_GPU_PREFIX = re.compile(r"^standard_n[cdv]", re.IGNORECASE)


def aws_instance_gpu(instance_type: str) -> tuple[str | None, int | None]:
    known = MACHINES.get(instance_type.lower()) or MACHINES.get(instance_type.lower().removeprefix("ml."))
    if known is not None:
        return known
    it = instance_type.removeprefix("ml.")
    family = it.split(".", 1)[0]
    gpu = _AWS_FAMILIES.get(family)
    if gpu is None:
        return None, None
    return gpu, _AWS_COUNTS.get(it, 1)


def is_aws_gpu_instance(instance_type: str) -> bool:
    if instance_type.lower() in MACHINES:
        return True
    family = instance_type.removeprefix("ml.").split(".", 1)[0]
    return family in _AWS_FAMILIES or bool(re.match(r"^(p\d|g\d)", family))


def gcp_accelerator(accelerator_type: str) -> str | None:
    short = accelerator_type.rsplit("/", 1)[-1]
    if short in ACCELERATORS:
        return ACCELERATORS[short]
    return _GCP_ACCELERATORS.get(short, short if short.startswith("nvidia-") else None)


def azure_vm_gpu(vm_size: str) -> tuple[str | None, int | None]:
    size = vm_size.lower()
    known = MACHINES.get(size)
    if known is not None:
        return known
    for pattern, gpu, counts in _AZURE_PATTERNS:
        m = re.match(pattern, size)
        if m:
            return gpu, counts.get(m.group(1))
    return None, None


def is_azure_gpu_vm(vm_size: str) -> bool:
    return bool(_AZURE_GPU_PREFIX.match(vm_size))


def allowed(gpu: str | None, machine: str | None, allowlist: list[str]) -> bool:
    """Whether a pool's GPU (neutral name) or machine type is on the allowlist."""
    if not allowlist:
        return True
    wanted = {a.lower() for a in allowlist}
    return (gpu is not None and gpu.lower() in wanted) or (machine is not None and machine.lower() in wanted)
