"""The GCP target's own spec section (``mlops-stack:gcp``), ignored on other targets.

Registered as ``Target.options_model``; ``spec.spec_model()`` adds it to the spec.
"""

from __future__ import annotations

from typing import Annotated

from pydantic import Field

from mlops_stack.spec import _Model, _pattern


class GcpSpec(_Model):
    """GCP-only settings (``mlops-stack:gcp``)."""

    project: Annotated[
        str,
        _pattern(
            r"^[a-z][a-z0-9-]{4,28}[a-z0-9]$",
            "is not a GCP project ID: 6-30 lower-case letters, digits and dashes, starting with a letter and not ending with a dash",
        ),
    ] | None = Field(
        default=None, description="The GCP project ID (required when cloud is gcp)."
    )
    zone: Annotated[str, _pattern(r"^[a-z]+-[a-z]+[0-9]+-[a-z]$", "is not a GCP zone name such as us-central1-a")] | None = Field(
        default=None, description="Zone of the zonal (non-prod) cluster; default: the region's first zone."
    )
    rbac_security_group: Annotated[
        str,
        _pattern(
            r"^gke-security-groups@[a-z0-9][a-z0-9.-]*\.[a-z]{2,}$",
            "is not the organisation's Google Groups for RBAC group: gke-security-groups@<your domain>",
        ),
    ] | None = Field(
        default=None,
        description="Google Groups for RBAC: the organisation's gke-security-groups@<domain> group; RBAC bindings may then name its member groups. Unset: off.",
    )
