"""storage.replicaRegion on GCP: the second region of the data buckets' dual-region."""

from __future__ import annotations

import pytest

from mlops_stack import catalog
from mlops_stack.errors import ConfigError
from mlops_stack.gcp.replication import DEFAULT_REPLICA_REGIONS, multi_region, replica_region


def test_defaults_and_opt_out() -> None:
    assert replica_region("us-central1", None, is_prod=True) == "us-east1"
    assert replica_region("us-central1", None, is_prod=False) is None
    assert replica_region("us-central1", "none", is_prod=True) is None
    assert replica_region("europe-west1", "europe-west3", is_prod=False) == "europe-west3"


def test_a_pair_across_multi_regions_is_rejected() -> None:
    with pytest.raises(ConfigError) as info:
        replica_region("us-central1", "europe-west1", is_prod=True)
    assert str(info.value).startswith("storage.replicaRegion: 'europe-west1' cannot pair with us-central1 in a GCS dual-region")
    with pytest.raises(ConfigError) as info:
        replica_region("southamerica-east1", None, is_prod=True)
    assert str(info.value).startswith("storage.replicaRegion: has no default for prod in southamerica-east1")


@pytest.mark.parametrize(("region", "replica"), sorted(DEFAULT_REPLICA_REGIONS.items()))
def test_every_default_pair_is_in_one_multi_region(region: str, replica: str) -> None:
    known = catalog.known_regions("gcp")
    assert region in known and replica in known and region != replica
    assert multi_region(region) == multi_region(replica) is not None
