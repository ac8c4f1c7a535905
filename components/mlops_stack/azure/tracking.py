"""Azure managed MLflow: the Azure ML workspace's own MLflow endpoint.

An Azure ML workspace is an MLflow tracking server and model registry: its
``mlFlowTrackingUri`` (``azureml://<region>.api.azureml.ms/mlflow/v1.0/subscriptions/...
/workspaces/<name>``) is what ``mlflow.set_tracking_uri`` takes once the
``azureml-mlflow`` plugin is installed; the plugin signs requests with the caller's Entra
token (``DefaultAzureCredential``: ``az login``, a managed or workload identity). The
workspace is the one the ModelRegistry component owns (``modelRegistry.enabled: true``).
Run artifacts land in the workspace's default datastore, a container of the stack's own
storage account (customer-managed key, no shared keys).

Access: the Entra groups in ``azure.trackingGroupObjectIds`` get **AzureML Data
Scientist** on the workspace, the narrowest built-in role that can log runs and register
models (*AzureML Metrics Writer* cannot register models or upload artifacts; *Contributor*
could change the workspace and its compute). The workspace's datastores are
identity-based (the account allows no shared keys), so Azure ML reads and writes
artifact and model files with the *caller's* identity: the groups also get **Storage
Blob Data Contributor** on the stack's storage account, conditioned (ABAC) to the
containers whose names start with ``azureml`` (the workspace's default datastore,
``azureml-blobstore-<workspace GUID>``, where ``log_artifact``/``log_model`` write);
the spec buckets stay out of reach.
"""

from __future__ import annotations

import pulumi

from mlops_stack.args import TrackingServerArgs, merge_opts
from pulumi_azure_native import authorization

from mlops_stack.args import child_opts
from mlops_stack.azure._naming import ROLE_AZUREML_DATA_SCIENTIST, ROLE_STORAGE_BLOB_DATA_CONTRIBUTOR, role_definition_id
from mlops_stack.azure._shared import client_config, role_assignment
from mlops_stack.azure.checks import AZUREML_CONTAINER_PREFIX
from mlops_stack.azure.workload_identity import CONDITION_VERSION

#: Containers of the workspace's own datastores (``azureml-blobstore-<GUID>``, ...); the
#: spec's buckets may not start with it (``azure/checks.py``).
WORKSPACE_CONTAINER_PREFIX = AZUREML_CONTAINER_PREFIX
#: The blob data actions Storage Blob Data Contributor grants (Azure built-in roles).
BLOB_DATA_ACTIONS = ("read", "write", "delete", "add/action", "move/action")


def workspace_containers_condition(prefix: str = WORKSPACE_CONTAINER_PREFIX) -> str:
    """ABAC condition (version 2.0): every blob data action only in containers whose name
    starts with ``prefix``."""
    actions = " AND ".join(
        f"!(ActionMatches{{'Microsoft.Storage/storageAccounts/blobServices/containers/blobs/{a}'}})" for a in BLOB_DATA_ACTIONS
    )
    return f"(({actions}) OR (@Resource[Microsoft.Storage/storageAccounts/blobServices/containers:name] StringStartsWith '{prefix}'))"
from mlops_stack.errors import ConfigError


class TrackingServer(pulumi.ComponentResource):
    """``mlops:azure:TrackingServer``. Outputs: ``mlflow_tracking_uri`` (the workspace's
    MLflow URI), ``workspace_id``, ``role_assignment_ids`` (group -> assignment ID)."""

    mlflow_tracking_uri: pulumi.Output[str]
    workspace_id: pulumi.Output[str]
    role_assignment_ids: dict[str, pulumi.Output[str]]

    def __init__(self, name: str, args: TrackingServerArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("mlops:azure:TrackingServer", name, None, merge_opts(opts))
        registry = args.model_registry
        if registry is None or getattr(registry, "workspace_id", None) is None:
            raise ConfigError(
                "tracking.mode",
                "is the Azure ML workspace on Azure, which needs a model registry",
                "set modelRegistry.enabled: true, or tracking.mode: self-hosted",
                value="managed",
            )
        groups = list(getattr(args.cloud_options, "tracking_group_object_ids", None) or [])
        subscription = client_config(self).subscription_id
        self.role_assignment_ids = {}
        for group in groups:
            assignment = role_assignment(
                self,
                f"{name}-data-scientist-{group[:8]}",
                subscription_id=subscription,
                role=ROLE_AZUREML_DATA_SCIENTIST,
                scope=registry.workspace_id,
                principal_id=group,
                principal_type="Group",
                description="mlops-stack: log MLflow runs and register models in the workspace",
            )
            self.role_assignment_ids[group] = assignment.id
            storage = getattr(registry, "storage_account_id", None)
            if storage is not None:
                authorization.RoleAssignment(
                    f"{name}-artifacts-{group[:8]}",
                    principal_id=group,
                    principal_type="Group",
                    role_definition_id=subscription.apply(lambda sub: role_definition_id(sub, ROLE_STORAGE_BLOB_DATA_CONTRIBUTOR)),
                    scope=storage,
                    condition=workspace_containers_condition(),
                    condition_version=CONDITION_VERSION,
                    description="mlops-stack: MLflow artifacts and models in the workspace's datastore (caller identity)",
                    opts=child_opts(self),
                )
        self.mlflow_tracking_uri = registry.mlflow_tracking_uri
        self.workspace_id = registry.workspace_id
        self.register_outputs(
            {"mlflow_tracking_uri": self.mlflow_tracking_uri, "workspace_id": self.workspace_id, "role_assignment_ids": self.role_assignment_ids}
        )
