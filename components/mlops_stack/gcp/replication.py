"""Where GCS keeps the copy of the data buckets (``storage.replicaRegion``): a
configurable dual-region of the stack's region and the replica region. Pure functions.

A configurable dual-region pairs two regions of one multi-region (US, EU or ASIA); the
bucket's location is that multi-region and ``customPlacementConfig.dataLocations`` names
the two regions. GCS writes every object to both (default replication: most objects
within an hour), and a CMEK for such a bucket is a key in the multi-region's Cloud KMS
location (``us``, ``europe``, ``asia``), not the regional key ring.
"""

from __future__ import annotations

from mlops_stack.errors import ConfigError

#: Region name prefix -> GCS multi-region a configurable dual-region belongs to.
MULTI_REGIONS = {"us-": "US", "europe-": "EU", "asia-": "ASIA"}
#: GCS multi-region -> Cloud KMS location of the keys that encrypt such buckets.
KMS_LOCATIONS = {"US": "us", "EU": "europe", "ASIA": "asia"}
#: Default replica region in prod: same multi-region, same country where there is one
#: (our choice; GCP has no official pairing). Other regions need an explicit choice.
DEFAULT_REPLICA_REGIONS: dict[str, str] = {
    "us-central1": "us-east1",
    "us-east1": "us-central1",
    "us-east4": "us-central1",
    "us-east5": "us-central1",
    "us-south1": "us-central1",
    "us-west1": "us-central1",
    "us-west2": "us-west1",
    "us-west3": "us-west1",
    "us-west4": "us-west1",
    "europe-west1": "europe-west4",
    "europe-west4": "europe-west1",
    "europe-west3": "europe-west4",
    "asia-northeast1": "asia-northeast2",
    "asia-northeast2": "asia-northeast1",
}


def multi_region(region: str) -> str | None:
    for prefix, mr in MULTI_REGIONS.items():
        if region.startswith(prefix):
            return mr
    return None


def replica_region(region: str, requested: str | None, is_prod: bool) -> str | None:
    """The second region of the data buckets' dual-region, or ``None`` (one region)."""
    if requested == "none":
        return None
    if not requested:
        if not is_prod:
            return None
        if region not in DEFAULT_REPLICA_REGIONS:
            raise ConfigError(
                "storage.replicaRegion",
                f"has no default for prod in {region}",
                "set a second region of the same multi-region (US, EU or ASIA), or 'none' to keep one region (docs/security.md)",
            )
        return DEFAULT_REPLICA_REGIONS[region]
    home, other = multi_region(region), multi_region(requested)
    if home is None or home != other:
        raise ConfigError(
            "storage.replicaRegion",
            f"cannot pair with {region} in a GCS dual-region",
            "both regions must be in one multi-region: US (us-*), EU (europe-*) or ASIA (asia-*)",
            value=requested,
        )
    return requested
