"""The catalog: mappings, prices with sources, and errors that list what is offered."""

from __future__ import annotations

import pytest

from mlops_stack import catalog, targets
from mlops_stack.errors import ConfigError


@pytest.mark.parametrize(
    ("cloud", "gpu", "n", "use", "instance"),
    [
        ("aws", "nvidia-a10g", 1, "nodepool", "g5.xlarge"),
        ("aws", "nvidia-h100", 8, "nodepool", "p5.48xlarge"),
        ("aws", "nvidia-l4", 1, "endpoint", "ml.g6.xlarge"),
        ("gcp", "nvidia-l4", 1, "nodepool", "g2-standard-4"),
        ("gcp", "nvidia-t4", 4, "endpoint", "n1-standard-16"),
        ("azure", "nvidia-a100-80gb", 1, "endpoint", "Standard_NC24ads_A100_v4"),
    ],
)
def test_mapping(cloud: str, gpu: str, n: int, use: str, instance: str) -> None:
    assert catalog.gpu_offer(cloud, gpu, n, use).instance_type == instance  # type: ignore[arg-type, union-attr]


def test_gcp_rows_split_gke_and_vertex_accelerators() -> None:
    offer = catalog.gpu_offer("gcp", "nvidia-l4", 1, "nodepool")
    assert (offer.accelerator, offer.vertex_accelerator) == ("nvidia-l4", "NVIDIA_L4")  # type: ignore[union-attr]


def test_prices_carry_a_source_and_unknown_prices_are_none() -> None:
    g5 = catalog.gpu_offer("aws", "nvidia-a10g", 1, "nodepool")
    assert g5 is not None and g5.usd_per_hour == 1.006 and "Karpenter" in g5.source_text
    unknown = catalog.gpu_offer("aws", "nvidia-l40s", 1, "endpoint")
    assert unknown is not None and unknown.usd_per_hour is None
    assert all(o.usd_per_hour is None or o.usd_per_hour > 0 for o in catalog.gpu_offers())


def test_unoffered_gpu_lists_what_the_cloud_offers() -> None:
    with pytest.raises(ConfigError) as info:
        catalog.resolve_gpu("gcp", "nvidia-a10g", 1, "nodepool", "us-central1", "cluster.gpuPools[0].gpu")
    msg = str(info.value)
    assert msg.startswith("cluster.gpuPools[0].gpu: 'nvidia-a10g' is not offered on gcp for node pools (gcp offers: ")
    assert "nvidia-l4" in msg and "nvidia-t4" in msg


def test_unoffered_count_names_the_count_key() -> None:
    with pytest.raises(ConfigError) as info:
        catalog.resolve_gpu("aws", "nvidia-h100", 2, "nodepool", "us-east-1", "cluster.gpuPools[1].gpu")
    assert str(info.value) == (
        "cluster.gpuPools[1].gpusPerNode: 2 x nvidia-h100 per node is not offered on aws (nvidia-h100 comes in counts of 1, 8)"
    )


def test_region_names_known_per_cloud() -> None:
    assert {"us-east-1", "eu-west-1"} <= catalog.known_regions("aws")
    assert {"us-central1", "europe-west4"} <= catalog.known_regions("gcp")
    assert {"eastus", "westeurope"} <= catalog.known_regions("azure")


def test_every_catalog_region_is_a_known_region() -> None:
    for o in catalog.gpu_offers():
        if o.price_region:
            assert o.price_region in catalog.known_regions(o.cloud), o
    for cloud in targets.names():
        for gpu in catalog.gpu_names():
            for use in ("nodepool", "endpoint"):
                listed = catalog.gpu_regions(cloud, gpu, use)
                if listed is not None:
                    assert listed.regions <= catalog.known_regions(cloud), (cloud, gpu, use)


def test_cpu_sizes_and_fees() -> None:
    assert catalog.cpu_offer("aws", "small", "nodepool").instance_type == "m7i.large"
    assert catalog.cpu_offer("azure", "medium", "endpoint").instance_type == "Standard_DS3_v2"
    eks = catalog.fee("aws", "eks_control_plane_standard_support")
    assert eks is not None and eks.usd == 0.10 and eks.unit == "cluster-hour"


def test_every_target_has_every_cpu_size() -> None:
    """cpu_sizes.csv is the only source of CPU sizes: every built-in target has a row for
    each size and use, with its source (a missing price stays unpriced, never invented)."""
    for t in targets.all():
        for use in ("nodepool", "endpoint"):
            for size in ("small", "medium", "large"):
                offer = catalog.cpu_offer(t.name, size, use)
                assert offer.instance_type and offer.source, (t.name, use, size)


def test_missing_cpu_size_is_one_line() -> None:
    with pytest.raises(ConfigError) as info:
        catalog.cpu_offer("toy", "small", "endpoint")
    assert str(info.value).splitlines() == ["cpuSize: 'small' has no endpoint row for toy in the catalog (cpu_sizes.csv)"]


def test_each_target_brings_its_own_rows() -> None:
    """The tables live in ``<target>/catalog/``: every row of a target's folder is that
    target's, and the catalog is the union of the installed targets' rows."""
    for t in targets.all():
        for table in ("gpus.csv", "cpu_sizes.csv", "fees.csv", "regions.csv", "kubernetes_versions.csv", "zones.csv"):
            rows = t.catalog_rows(table)
            if t.name in ("aws", "gcp", "azure"):
                assert rows, (t.name, table)
            assert {r["cloud"] for r in rows} <= {t.name}, (t.name, table)
    assert {o.cloud for o in catalog.gpu_offers()} == {"aws", "gcp", "azure"}
    assert {(o.cloud, o.instance_type) for o in catalog.gpu_offers()} == {
        (r["cloud"], r["instance_type"]) for t in targets.all() for r in t.catalog_rows("gpus.csv")
    }


def test_a_row_in_another_targets_folder_is_refused(tmp_path, monkeypatch) -> None:
    (tmp_path / "mytarget" / "catalog").mkdir(parents=True)
    (tmp_path / "mytarget" / "__init__.py").write_text("")
    (tmp_path / "mytarget" / "catalog" / "fees.csv").write_text("cloud,item,unit,usd\nmine,a,month,1\nother,b,month,2\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    t = targets.Target(name="mine", display_name="Mine", package="mytarget")
    with pytest.raises(ValueError, match="rows of other in the mine target's catalog"):
        t.catalog_rows("fees.csv")
    assert t.catalog_rows("gpus.csv") == []


def test_source_codes_come_from_the_targets() -> None:
    codes = catalog.source_codes()
    assert codes["3P"].startswith("third-party")
    assert "Karpenter" in codes["K"] and "gcp/vms.csv" in codes["SG"] and "azure" in codes["SZ"]


def test_mig_exclusions_are_per_target_data() -> None:
    from mlops_stack.catalog import mig

    assert mig.profiles_for("aws", "nvidia-a100-40gb") == mig.MIG_PROFILES["nvidia-a100-40gb"]
    assert "4g.20gb" not in mig.profiles_for("gcp", "nvidia-a100-40gb") and "3g.20gb" in mig.profiles_for("gcp", "nvidia-a100-40gb")
    assert mig.profiles_for("azure", "nvidia-b200") == ("1g.23gb", "2g.45gb", "3g.90gb", "4g.90gb", "7g.180gb")


def test_catalog_code_names_no_target() -> None:
    """A new target adds rows in its own folder; the catalog's code names none."""
    import re
    from pathlib import Path

    for source in Path(catalog.__file__).parent.glob("*.py"):
        text = source.read_text()
        for name in ("aws", "gcp", "azure", "AKS", "GKE", "EKS"):
            assert not re.search(rf"\b{name}\b", text, re.I), (source.name, name)
