"""Small GCP helpers shared by the components: the project lookup, API enablement,
naming rules and the key lookup. Pure functions are tested directly."""

from __future__ import annotations

import hashlib
import ipaddress
import re
from collections.abc import Iterable
from typing import Any

import pulumi
import pulumi_gcp as gcp

from mlops_stack.args import child_opts

#: The OAuth scope nodes and clients use; IAM (not scopes) is what limits access.
CLOUD_PLATFORM_SCOPE = "https://www.googleapis.com/auth/cloud-platform"
#: Cloud KMS role a service agent needs to encrypt and decrypt with a key.
KMS_ENCRYPTER_DECRYPTER = "roles/cloudkms.cryptoKeyEncrypterDecrypter"
#: GCS service account IDs: 6-30 characters, [a-z]([-a-z0-9]*[a-z0-9]).
MAX_ACCOUNT_ID = 30


def project_info(parent: pulumi.Resource) -> tuple[pulumi.Output[str], pulumi.Output[str]]:
    """``(project_id, project_number)`` of the provider ``parent`` resolves to."""
    found = gcp.organizations.get_project_output(opts=pulumi.InvokeOutputOptions(parent=parent))
    return found.project_id.apply(lambda p: p or ""), found.number


#: APIs behind service accounts and project IAM: creating a service account needs the IAM
#: API, project IAM members the Cloud Resource Manager API, Workload Identity tokens the
#: IAM Service Account Credentials API. A fresh project has none of them enabled.
IAM_APIS = ("iam.googleapis.com", "cloudresourcemanager.googleapis.com", "iamcredentials.googleapis.com")


def enable_services(parent: pulumi.Resource, name: str, services: Iterable[str]) -> list[gcp.projects.Service]:
    """Enable the project APIs a component uses.

    Each component enables what it uses, so it also works on its own. Destroying a
    component never disables an API (``disable_on_destroy=False``): another component
    or another stack in the project may still use it, and enabling twice is harmless.
    """
    return [
        gcp.projects.Service(
            f"{name}-api-{service.split('.', 1)[0]}",
            service=service,
            disable_on_destroy=False,
            disable_dependent_services=False,
            opts=child_opts(parent),
        )
        for service in services
    ]


def account_id(prefix: str, role: str) -> str:
    """A service account ID for ``role``: ``mlops-dev-nodes``; <= 30 characters, valid.

    Too-long IDs keep a readable head and get a short hash, so they stay unique.
    """
    raw = re.sub(r"[^a-z0-9-]", "-", f"{prefix}-{role}".lower()).strip("-")
    if len(raw) < 6:
        raw = f"{raw}-sa-acct"[:MAX_ACCOUNT_ID]
    if len(raw) <= MAX_ACCOUNT_ID:
        return raw
    digest = hashlib.sha1(raw.encode()).hexdigest()[:6]
    head = raw[: MAX_ACCOUNT_ID - 7].rstrip("-")
    return f"{head}-{digest}"


def bucket_name(prefix: str, bucket: str, project: str) -> str:
    """A globally unique, deterministic GCS bucket name: ``<prefix>-<bucket>-<hash7>``.

    The hash is of the project ID, so two projects never collide and the same stack
    always computes the same name (no random suffix to lose).
    """
    digest = hashlib.sha1(project.encode()).hexdigest()[:7]
    # GCS: at most 63 characters, ending in a letter or digit. Shorten the head, never
    # the hash (``gcp.checks`` rejects such names in a stack before this point).
    head = f"{prefix}-{bucket}"[: 63 - len(digest) - 1].rstrip("-")
    return f"{head}-{digest}"


def key_for(keys: Any, purpose: str) -> pulumi.Input[str] | None:
    """The Cloud KMS key (``projects/.../cryptoKeys/...``) of a Keys component for
    ``purpose``, a raw key name used for every purpose, or ``None``."""
    if keys is None:
        return None
    if isinstance(keys, (str, pulumi.Output)):
        return keys
    ids = getattr(keys, "key_ids", None)
    if ids is None:
        return getattr(keys, "key_id", None)
    return ids.get(purpose)


def key_dependencies(keys: Any) -> list[pulumi.Resource]:
    """Resources a CMEK user must wait for: the Keys component (its IAM grants)."""
    return [keys] if isinstance(keys, pulumi.Resource) else []


def subnet_plan(cidr: str) -> dict[str, str]:
    """Split the spec's network range into the GKE subnet's three ranges.

    The first half holds pod IPs (GKE gives each node a /24 by default); the second
    half starts with the node range and the service range (an eighth each); the rest is
    left free (proxy-only / Private Service Connect subnets later).
    ``10.20.0.0/16`` -> pods ``10.20.0.0/17``, nodes ``10.20.128.0/19``,
    services ``10.20.160.0/19``.
    """
    net = ipaddress.IPv4Network(cidr)
    pods, rest = net.subnets(prefixlen_diff=1)
    nodes, services, *_ = rest.subnets(prefixlen_diff=2)
    return {"pods": str(pods), "nodes": str(nodes), "services": str(services)}


def labels(tags: dict[str, str]) -> dict[str, str]:
    """Tags as GCP labels (the spec already holds tags to GCP's label rules)."""
    return {k.lower(): v.lower() for k, v in tags.items()}
