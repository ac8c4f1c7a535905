"""The pack's configuration: shared properties, their JSON schema and defaults.

Pulumi policy config is per policy (``{"<policy>": {"enforcementLevel": ..., <props>}}``
in ``--policy-pack-config``). Settings several rules share (allowed regions, required
tags, ...) are declared in the schema of every policy that reads them; set them on each
policy. (The Python API ``run_policy_pack(config=...)`` also fans a top-level key such as
``{"allowedRegions": [...]}`` out to every policy that declares it; the CLI, like
``pulumi preview``, rejects it.)
"""

from __future__ import annotations

import copy
from typing import Any

ALL_EKS_LOG_TYPES = ["api", "audit", "authenticator", "controllerManager", "scheduler"]

#: property -> JSON schema (with "default"); the defaults are what an unset value means.
SHARED_SCHEMA: dict[str, dict[str, Any]] = {
    "environment": {
        "type": "string",
        "default": "",
        "description": "Deployment environment (e.g. 'prod'). Empty: derived from the stack "
        "(stack config 'mlops-stack:environment', the stack tag 'environment', then a "
        "'prod'/'production' token in the stack name such as 'prod-aws').",
    },
    "allowedRegions": {
        "type": "array",
        "items": {"type": "string"},
        "default": [],
        "description": "Regions resources may be created in (AWS 'us-east-1', GCP 'europe-west4', "
        "Azure 'westeurope'). Empty: any region.",
    },
    "requiredTags": {
        "type": "array",
        "items": {"type": "string"},
        "default": ["owner", "environment", "cost-center"],
        "description": "Tag keys (AWS/Azure tags, GCP labels) every taggable resource must carry.",
    },
    "tagDefaults": {
        "type": "object",
        "additionalProperties": {"type": "string"},
        "default": {},
        "description": "Values the 'required-tags' remediation may add for a missing required tag. "
        "A missing tag without a default here is reported, never invented.",
    },
    "allowedGpus": {
        "type": "array",
        "items": {"type": "string"},
        "default": [],
        "description": "GPU models (neutral names such as 'nvidia-l4') or exact instance/VM types "
        "GPU pools may use. Empty: any GPU.",
    },
    "maxGpusPerPool": {
        "type": "integer",
        "minimum": 0,
        "default": 64,
        "description": "Upper bound on GPUs per node x maximum nodes for one GPU pool. 0: no limit.",
    },
    "maxNodesPerGpuPool": {
        "type": "integer",
        "minimum": 1,
        "default": 16,
        "description": "Upper bound on the maximum node count of a GPU pool.",
    },
    "requiredLogTypes": {
        "type": "array",
        "items": {"type": "string"},
        "default": ALL_EKS_LOG_TYPES,
        "description": "EKS control-plane log types that must be enabled.",
    },
    "minProdInstances": {
        "type": "integer",
        "minimum": 1,
        "default": 2,
        "description": "Minimum serving instances/replicas of a production endpoint.",
    },
    "maxKeyRotationDays": {
        "type": "integer",
        "minimum": 1,
        "default": 90,
        "description": "Longest allowed automatic key rotation period (Cloud KMS, Key Vault).",
    },
}


def schema_for(props: tuple[str, ...]) -> dict[str, dict[str, Any]]:
    return {p: copy.deepcopy(SHARED_SCHEMA[p]) for p in props}


def with_defaults(props: tuple[str, ...], given: dict[str, Any] | None) -> dict[str, Any]:
    """The rule's effective config: schema defaults under what was configured."""
    out = {p: copy.deepcopy(SHARED_SCHEMA[p]["default"]) for p in props}
    for k, v in (given or {}).items():
        if v is not None:
            out[k] = v
    return out
