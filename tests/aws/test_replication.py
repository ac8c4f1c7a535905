"""storage.replicaRegion on AWS: which region holds the copy (pure functions)."""

from __future__ import annotations

import pytest

from mlops_stack import catalog
from mlops_stack.aws.replication import DEFAULT_REPLICA_REGIONS, replica_region
from mlops_stack.errors import ConfigError


def test_prod_defaults_to_the_paired_region_elsewhere_single_region() -> None:
    assert replica_region("us-east-1", None, is_prod=True) == "us-west-2"
    assert replica_region("us-east-1", None, is_prod=False) is None
    assert replica_region("us-east-1", "none", is_prod=True) is None
    assert replica_region("us-east-1", "us-east-2", is_prod=False) == "us-east-2"


def test_prod_region_without_a_pair_needs_an_explicit_choice() -> None:
    with pytest.raises(ConfigError) as info:
        replica_region("eu-west-2", None, is_prod=True)
    assert str(info.value).startswith("storage.replicaRegion: has no default for prod in eu-west-2")
    assert replica_region("eu-west-2", "eu-west-1", is_prod=True) == "eu-west-1"


@pytest.mark.parametrize(("region", "replica"), sorted(DEFAULT_REPLICA_REGIONS.items()))
def test_every_default_pair_is_two_known_regions_in_the_same_area(region: str, replica: str) -> None:
    known = catalog.known_regions("aws")
    assert region in known and replica in known and region != replica
    assert region.split("-")[0] == replica.split("-")[0]  # us->us, eu->eu, ap-northeast->ap-northeast
