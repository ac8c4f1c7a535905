"""The policy pack's GPU tables are the catalog's, and the mandatory GPU cap sees every catalog GPU."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest
from helpers import res
from mlops_policies import RULES
from mlops_policies import gpu as pack_gpu
from mlops_policies.model import Ctx

from mlops_stack import catalog

ROOT = Path(__file__).resolve().parents[2]


def _generator():
    spec = importlib.util.spec_from_file_location("gen_policy_tables", ROOT / "scripts" / "gen_policy_tables.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_generated_file_is_current() -> None:
    text = (ROOT / "policies" / "mlops_policies" / "generated.py").read_text(encoding="utf-8")
    assert text == _generator().render(), "run python scripts/gen_policy_tables.py"


def _pack_reading(o: catalog.GpuOffer) -> tuple[str | None, int | None]:
    if o.accelerator or o.vertex_accelerator:
        # GKE node pools and Vertex name the accelerator; the count is in the same resource.
        return pack_gpu.gcp_accelerator(o.accelerator or o.vertex_accelerator or ""), o.gpus
    if o.instance_type.lower().startswith("standard_"):
        return pack_gpu.azure_vm_gpu(o.instance_type)
    return pack_gpu.aws_instance_gpu(o.instance_type)


@pytest.mark.parametrize("offer", catalog.gpu_offers(), ids=lambda o: f"{o.cloud}-{o.use}-{o.instance_type}-{o.accelerator or ''}")
def test_pack_reads_every_catalog_offer_as_the_catalog_does(offer: catalog.GpuOffer) -> None:
    assert _pack_reading(offer) == (offer.gpu, offer.gpus)
    if offer.vertex_accelerator:
        assert pack_gpu.gcp_accelerator(offer.vertex_accelerator) == offer.gpu


def test_p6_b200_pool_of_100_nodes_is_a_mandatory_violation() -> None:
    rule = next(r for r in RULES if r.name == "gpu-max-per-pool")
    assert rule.enforcement == "mandatory"
    pool = res(
        "aws:eks/nodeGroup:NodeGroup",
        "b200",
        instanceTypes=["p6-b200.48xlarge"],
        amiType="AL2023_x86_64_NVIDIA",
        scalingConfig={"minSize": 0, "maxSize": 100, "desiredSize": 0},
    )
    found = list(rule.check(pool, Ctx(config={"maxGpusPerPool": 64})))
    assert found == ["GPU pool b200 may use 800 GPUs (8/node x 100); limit 64."]
