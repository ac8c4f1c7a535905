"""Azure workload identity (Microsoft Entra Workload ID on AKS): a user-assigned managed
identity that exactly one Kubernetes ServiceAccount may use, allowed the granted blob
prefixes.

- The identity, in the store's resource group and location.
- One federated identity credential on it: issuer = the cluster's OIDC issuer, subject
  ``system:serviceaccount:<namespace>:<name>``, audience ``api://AzureADTokenExchange``
  (AKS docs, "Use Microsoft Entra Workload ID with AKS"). Only tokens the cluster issued
  for that ServiceAccount are exchanged; no client secret or certificate exists. The
  ServiceAccount carries ``azure.workload.identity/client-id`` and every pod using it the
  label ``azure.workload.identity/use: "true"`` (the webhook injects the token only then).
- Per container and access (read, read-write), one role assignment scoped to the
  container, principal type ``ServicePrincipal``: *Storage Blob Data Reader* or *Storage
  Blob Data Contributor*, with an ABAC condition (``conditionVersion`` "2.0") that lets
  the blob data actions through only under the granted prefixes: reading a blob needs
  ``blobs:path`` to start with a prefix, listing needs the request's ``blobs:prefix`` to
  (or to be exactly the prefix without its trailing ``/``: KServe's storage initializer
  lists so), and for read-write also
  writing, creating, deleting and renaming blobs (Azure Storage docs, "Example Azure role
  assignment conditions for Blob Storage" and "Actions and attributes for Azure role
  assignment conditions"). Grants on one container with the same access share one
  assignment (ARM refuses a second assignment of a role to a principal at one scope), the
  prefixes OR-ed in its condition. Because of that listing, the spec refuses model folders
  that are string prefixes of each other (``v1`` lists ``v10``'s blobs, whose reads the
  exact grant refuses). A grant's ``bucket_check`` adds nothing here: KServe's Blob download
  sends no container request before List Blobs.
- No Key Vault grant: the account's customer-managed key is used by the storage account's
  own identity; a principal with blob data rights reads and writes without key access.

Known limit: *Storage Blob Data Contributor* also carries the container's control-plane
actions (read, write, delete the container itself), which an ABAC condition cannot limit.
Container soft delete (``storage.softDeleteDays``) keeps a deleted container recoverable.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import pulumi
from pulumi_azure_native import authorization, managedidentity

from mlops_stack.args import BucketGrant, WorkloadIdentityArgs, child_opts, resource_tags
from mlops_stack.azure._naming import ROLE_STORAGE_BLOB_DATA_CONTRIBUTOR, ROLE_STORAGE_BLOB_DATA_READER, role_definition_id
from mlops_stack.azure._shared import client_config, component_opts, sibling
from mlops_stack.errors import ConfigError

CLIENT_ID_ANNOTATION = "azure.workload.identity/client-id"
USE_LABEL = "azure.workload.identity/use"
#: The audience AKS workload identity tokens are exchanged for (Entra ID's token exchange).
AUDIENCE = "api://AzureADTokenExchange"
#: The only condition syntax version ARM accepts for role assignment conditions.
CONDITION_VERSION = "2.0"
#: One credential per identity: its name need not vary.
CREDENTIAL_NAME = "kubernetes-service-account"

_BLOBS = "Microsoft.Storage/storageAccounts/blobServices/containers/blobs"
_CONTAINER_NAME = "@Resource[Microsoft.Storage/storageAccounts/blobServices/containers:name]"
_PATH = f"@Resource[{_BLOBS}:path]"
_LIST_PREFIX = f"@Request[{_BLOBS}:prefix]"
#: Data actions of Storage Blob Data Contributor beyond reading, all limited to the prefixes.
WRITE_DATA_ACTIONS = (f"{_BLOBS}/write", f"{_BLOBS}/add/action", f"{_BLOBS}/delete", f"{_BLOBS}/move/action")


def subject(namespace: str, service_account: str) -> str:
    return f"system:serviceaccount:{namespace}:{service_account}"


def _starts_with(attribute: str, prefixes: Sequence[str]) -> str:
    return " OR ".join(f"{attribute} StringStartsWith '{p}'" for p in prefixes)


def _lists(prefixes: Sequence[str]) -> str:
    """A listing under a prefix: the request's prefix starts with it, or is exactly the folder
    name without its trailing ``/``. KServe's storage initializer lists Azure blobs so (v0.20.0
    ``_parse_azure_uri`` strips the slashes of the folder, then ``list_blobs(name_starts_with=...)``);
    such a listing may also return the names of sibling folders that start the same way
    (``v1`` lists ``v10/``'s names), never their content: reads stay on ``blobs:path``."""
    return " OR ".join(f"{_LIST_PREFIX} StringStartsWith '{p}' OR {_LIST_PREFIX} StringEquals '{p[:-1]}'" for p in prefixes)


def prefix_condition(container: str, prefixes: Sequence[str], write: bool) -> str:
    """The ABAC condition that limits Reader/Contributor on ``container`` to ``prefixes``."""
    where = f"{_CONTAINER_NAME} StringEquals '{container}'"
    blocks = [
        f"(!(ActionMatches{{'{_BLOBS}/read'}} AND NOT SubOperationMatches{{'Blob.List'}})) OR ({where} AND ({_starts_with(_PATH, prefixes)}))",
        f"(!(ActionMatches{{'{_BLOBS}/read'}} AND SubOperationMatches{{'Blob.List'}})) OR ({where} AND ({_lists(prefixes)}))",
    ]
    if write:
        others = " AND ".join(f"!(ActionMatches{{'{a}'}})" for a in WRITE_DATA_ACTIONS)
        blocks.append(f"({others}) OR ({where} AND ({_starts_with(_PATH, prefixes)}))")
    return " AND ".join(f"({b})" for b in blocks)


def group_grants(grants: Sequence[BucketGrant]) -> dict[tuple[str, bool], list[str]]:
    """``(bucket, write) -> prefixes``, in the order first seen."""
    out: dict[tuple[str, bool], list[str]] = {}
    for g in grants:
        out.setdefault((g.bucket, g.write), []).append(g.prefix)
    return out


class WorkloadIdentity(pulumi.ComponentResource):
    """``mlops:azure:WorkloadIdentity``: a user-assigned managed identity federated with one
    Kubernetes ServiceAccount, with prefix-conditioned blob roles on the granted
    containers. Outputs: ``service_account_annotations``
    (``azure.workload.identity/client-id``), ``pod_labels``
    (``azure.workload.identity/use: "true"``), ``identity`` (the client ID),
    ``principal_id``, ``identity_id``."""

    service_account_annotations: pulumi.Output[dict[str, str]]
    pod_labels: dict[str, str]
    identity: pulumi.Output[str]
    principal_id: pulumi.Output[str]
    identity_id: pulumi.Output[str]

    def __init__(self, name: str, args: WorkloadIdentityArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        container_ids: Mapping[str, pulumi.Input[str]] | None = getattr(args.store, "container_ids", None)
        if container_ids is None:
            raise ConfigError("WorkloadIdentityArgs.store", "has no container_ids", "pass the stack's Azure ArtifactStore")
        net = sibling(args, opts, "network", via=("store", "keys"))
        super().__init__("mlops:azure:WorkloadIdentity", name, None, component_opts(opts))
        env, ns, sa = args.env, args.namespace, args.service_account
        cfg = client_config(self)

        uami = managedidentity.UserAssignedIdentity(
            f"{name}-identity",
            resource_group_name=net.resource_group_name,
            location=net.location,
            tags=resource_tags(env, **{"mlops-stack-workload": f"{ns}.{sa}"}),
            opts=child_opts(self),
        )
        credential = managedidentity.FederatedIdentityCredential(
            f"{name}-federation",
            resource_group_name=net.resource_group_name,
            resource_name_=uami.name,
            federated_identity_credential_resource_name=CREDENTIAL_NAME,
            issuer=args.cluster.oidc_issuer,
            subject=subject(ns, sa),
            audiences=[AUDIENCE],
            opts=child_opts(self),
        )
        assignments = []
        for (bucket, write), prefixes in group_grants(args.grants).items():
            container = args.store.bucket_names[bucket]
            assignments.append(
                authorization.RoleAssignment(
                    f"{name}-{bucket}-{'read-write' if write else 'read'}",
                    principal_id=uami.principal_id,
                    principal_type="ServicePrincipal",
                    role_definition_id=cfg.subscription_id.apply(
                        lambda sub, w=write: role_definition_id(sub, ROLE_STORAGE_BLOB_DATA_CONTRIBUTOR if w else ROLE_STORAGE_BLOB_DATA_READER)
                    ),
                    scope=container_ids[bucket],
                    condition=pulumi.Output.from_input(container).apply(lambda c, p=tuple(prefixes), w=write: prefix_condition(c, p, w)),
                    condition_version=CONDITION_VERSION,
                    description=f"{ns}/{sa}: {'read-write' if write else 'read'} under {', '.join(prefixes)}"[:1024],
                    opts=child_opts(self),
                )
            )

        # The client ID resolves once the federation and the roles exist.
        self.identity = pulumi.Output.all(uami.client_id, credential.id, *[a.id for a in assignments]).apply(lambda v: v[0])
        self.service_account_annotations = self.identity.apply(lambda cid: {CLIENT_ID_ANNOTATION: cid})
        self.pod_labels = {USE_LABEL: "true"}
        self.principal_id = uami.principal_id
        self.identity_id = uami.id
        self.register_outputs(
            {
                "service_account_annotations": self.service_account_annotations,
                "pod_labels": self.pod_labels,
                "identity": self.identity,
                "principal_id": self.principal_id,
                "identity_id": self.identity_id,
            }
        )
