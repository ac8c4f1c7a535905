"""Azure model endpoints: an Azure ML managed online endpoint with one deployment.

* Instance type from the catalog: ``resolve_gpu(..., "endpoint", ...)`` for a GPU (only
  sizes the managed-endpoint SKU list accepts are marked for endpoints), the catalog's
  CPU size otherwise.
* The model is registered as a workspace model version whose URI is the artifact's
  path in its bucket's datastore; the serving image becomes an environment version
  (a custom container answering ``/ping`` and ``/invocations`` on port 8080, the
  SageMaker serving contract, so the same image serves on both clouds). Versions are
  named by a hash of the artifact path / image: a new artifact or image registers a new
  version and rolls the deployment.
* Identity: the endpoint runs as its own user-assigned identity with *Storage Blob Data
  Reader* on the workspace's storage account (the model's container and the workspace's
  default datastore, which Azure ML requires and grants only to system-assigned endpoint
  identities) and *AcrPull* on the stack registry (the workspace's registry).
* Auth: ``auth: key`` -> ``Key``; ``auth: token`` -> ``AADToken`` (Entra ID tokens).
* Traffic: a new endpoint cannot name a deployment that does not exist yet, so 100% of
  the traffic is assigned after the deployment by an incremental ARM deployment that
  re-states the endpoint with ``traffic``; the endpoint resource ignores that field.
* Scale: ``minInstances`` instances at creation; when ``maxInstances`` is larger, an
  Azure Monitor autoscale setting on the deployment scales on CPU or GPU utilisation
  (``autoscaling.utilizationPercent``), the autoscaler then owning the instance count.
* ``private``: inbound public access off (reachable through the workspace's private
  endpoint) when the workspace is private (prod); egress through the workspace's
  managed network.
"""

from __future__ import annotations

from typing import Any

import pulumi
from pulumi_azure_native import machinelearningservices as ml, managedidentity, monitor, resources

from mlops_stack import catalog
from mlops_stack.args import ModelEndpointArgs, child_opts, resource_tags
from mlops_stack.azure._naming import (
    ROLE_ACR_PULL,
    ROLE_STORAGE_BLOB_DATA_CONTRIBUTOR,
    ROLE_STORAGE_BLOB_DATA_READER,
    bounded_name,
    unique_suffix,
)
from mlops_stack.azure._shared import client_config, role_assignment, component_opts
from mlops_stack.errors import ConfigError

DEPLOYMENT = "primary"
#: The serving container contract (SageMaker-compatible).
SERVING_PORT = 8080
HEALTH_ROUTE = "/ping"
SCORING_ROUTE = "/invocations"
#: ARM API version of the traffic update (the one the SDK's OnlineEndpoint uses).
ONLINE_ENDPOINT_API_VERSION = "2025-12-01"
ENDPOINT_NAME_MAX = 32
AUTH_MODES = {"key": "Key", "token": "AADToken"}


def endpoint_seed(subscription_id: str, resource_group: str) -> str:
    """The resource group's ARM ID: what makes an endpoint name's hash unique to this stack."""
    return f"/subscriptions/{subscription_id}/resourceGroups/{resource_group}".lower()


def auth_mode(auth: str) -> str:
    return AUTH_MODES[auth]


def instance_type_for(args: ModelEndpointArgs, path: str = "endpoint") -> str:
    ep = args.endpoint
    if ep.gpu is not None:
        return catalog.resolve_gpu(
            "azure", ep.gpu, ep.gpus_per_instance, "endpoint", args.env.region, f"{path}.gpu", check_region=args.env.region_check
        ).instance_type
    return catalog.cpu_offer("azure", ep.cpu_size or "small", "endpoint").instance_type


def model_uri(subscription: str, resource_group: str, workspace: str, datastore: str, key: str) -> str:
    return (
        f"azureml://subscriptions/{subscription}/resourcegroups/{resource_group}/workspaces/{workspace}"
        f"/datastores/{datastore}/paths/{key}"
    )


def version_of(*parts: str) -> str:
    """A version label that changes when (and only when) the parts change."""
    return unique_suffix("/".join(parts), 10)


def without_egress_flag(props: ml.ManagedOnlineDeploymentArgs) -> ml.ManagedOnlineDeploymentArgs:
    """The deployment's properties without ``egressPublicNetworkAccess``.

    azure-native 3.29.0's ``ManagedOnlineDeploymentArgs`` fills it with ``"Enabled"`` when
    it is not given. Azure ML's docs ("Network traffic flow when using a secured
    workspace", online endpoints, outbound) say the flag no longer applies with a
    workspace managed virtual network, whose outbound rules control egress; ``Disabled``
    is the legacy isolation. It is sent in no environment: egress follows the
    workspace's outbound rules in prod and is open in dev (no managed network)."""
    pulumi.set(props, "egress_public_network_access", None)
    return props


def endpoint_description(endpoint: str) -> str:
    """The endpoint's description (the spec's endpoint name)."""
    return f"mlops-stack {endpoint}"


def traffic_template(
    *,
    workspace: str,
    endpoint: str,
    location: str,
    identity_id: str,
    auth: str,
    public_access: str,
    deployment: str,
    tags: dict[str, str],
    description: str,
) -> dict[str, Any]:
    """An ARM template that re-states the endpoint with 100% traffic to ``deployment``.

    It carries every input the ``OnlineEndpoint`` resource sets (a PUT replaces the whole
    endpoint: a field left out here is cleared, the next ``pulumi up`` writes it back
    without ``traffic``, and the traffic drops to 0%). Being built from the same values,
    the template changes whenever the endpoint's inputs do, so every endpoint write is
    followed by this deployment again."""
    return {
        "$schema": "https://schema.management.azure.com/schemas/2019-04-01/deploymentTemplate.json#",
        "contentVersion": "1.0.0.0",
        "resources": [
            {
                "type": "Microsoft.MachineLearningServices/workspaces/onlineEndpoints",
                "apiVersion": ONLINE_ENDPOINT_API_VERSION,
                "name": f"{workspace}/{endpoint}",
                "location": location,
                "kind": "Managed",
                "tags": tags,
                "identity": {"type": "UserAssigned", "userAssignedIdentities": {identity_id: {}}},
                "properties": {
                    "authMode": auth,
                    "publicNetworkAccess": public_access,
                    "description": description,
                    "traffic": {deployment: 100},
                },
            }
        ],
    }


def autoscale_profile(min_instances: int, max_instances: int, target_percent: int, gpu: bool, deployment_id: pulumi.Input[str]) -> monitor.AutoscaleProfileArgs:
    metric = "GpuUtilizationPercentage" if gpu else "CpuUtilizationPercentage"

    def rule(direction: str, operator: str, threshold: float, cooldown: str) -> monitor.ScaleRuleArgs:
        return monitor.ScaleRuleArgs(
            metric_trigger=monitor.MetricTriggerArgs(
                metric_name=metric,
                metric_namespace="microsoft.machinelearningservices/workspaces/onlineendpoints/deployments",
                metric_resource_uri=deployment_id,
                operator=operator,
                statistic="Average",
                threshold=threshold,
                time_aggregation="Average",
                time_grain="PT1M",
                time_window="PT5M",
            ),
            scale_action=monitor.ScaleActionArgs(direction=direction, type="ChangeCount", value="1", cooldown=cooldown),
        )

    return monitor.AutoscaleProfileArgs(
        name="utilization",
        capacity=monitor.ScaleCapacityArgs(minimum=str(min_instances), maximum=str(max_instances), default=str(min_instances)),
        rules=[
            rule("Increase", "GreaterThan", float(target_percent), "PT5M"),
            rule("Decrease", "LessThan", float(max(target_percent // 2, 5)), "PT15M"),
        ],
    )


class ModelEndpoint(pulumi.ComponentResource):
    """``mlops:azure:ModelEndpoint``. Outputs: ``endpoint_name``, ``invoke_url`` (the scoring
    URI), ``instance_type``, ``deployment_name``, ``identity_client_id``, ``auth_mode``."""

    endpoint_name: pulumi.Output[str]
    invoke_url: pulumi.Output[str]
    instance_type: str
    deployment_name: pulumi.Output[str]
    identity_client_id: pulumi.Output[str]
    auth_mode: str

    def __init__(self, name: str, args: ModelEndpointArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("mlops:azure:ModelEndpoint", name, None, component_opts(opts))
        env, ep = args.env, args.endpoint
        hub = self._workspace(args)
        instance_type = instance_type_for(args, args.path)
        tags = resource_tags(env, **{"mlops-stack-endpoint": ep.name})
        cfg = client_config(self)
        private = bool(ep.private and hub.private)
        auth = auth_mode(ep.auth)
        public_access = "Disabled" if private else "Enabled"

        identity, grants = self._identity(name, args, hub, cfg, tags)
        model, environment = self._model(name, args, hub, cfg)
        endpoint = self._endpoint(name, args, hub, cfg, identity, auth, public_access, tags)
        deployment = self._deployment(name, args, hub, endpoint, model, environment, instance_type, grants, tags)
        self._traffic(name, hub, endpoint, deployment, identity, auth, public_access, tags, endpoint_description(args.endpoint.name))
        if ep.max_instances > ep.min_instances:
            self._autoscaling(name, args, hub, deployment, tags)

        self.endpoint_name = endpoint.name
        self.invoke_url = endpoint.properties.apply(lambda p: p.scoring_uri or "")
        self.instance_type = instance_type
        self.deployment_name = deployment.name
        self.identity_client_id = identity.client_id
        self.auth_mode = auth
        self.register_outputs(
            {
                "endpoint_name": self.endpoint_name,
                "invoke_url": self.invoke_url,
                "instance_type": self.instance_type,
                "deployment_name": self.deployment_name,
                "identity_client_id": self.identity_client_id,
            }
        )

    @staticmethod
    def _workspace(args: ModelEndpointArgs) -> Any:
        """The Azure ML workspace (the model registry) the endpoint lives in; a one-line
        ``ConfigError`` without one, or without a serving image."""
        ep, hub, path = args.endpoint, args.model_registry, args.path
        if hub is None or not hasattr(hub, "workspace_name"):
            raise ConfigError(
                "modelRegistry.enabled",
                "must be true on Azure when endpoints are declared: managed online endpoints live in the Azure ML workspace the model registry creates",
                value=False,
            )
        if ep.model.image is None:
            raise ConfigError(
                f"{path}.model.framework",
                "is resolved to a serving image on aws only",
                "set model.image to a serving container image (it must answer /ping and /invocations on port 8080)",
                value=ep.model.framework.name if ep.model.framework else None,
            )
        return hub

    def _identity(
        self, name: str, args: ModelEndpointArgs, hub: Any, cfg: Any, tags: dict[str, str]
    ) -> tuple[managedidentity.UserAssignedIdentity, list[pulumi.Resource]]:
        """The endpoint's user-assigned identity and its grants: read the model (and the
        workspace's datastore), write captured data when asked, pull from the registry."""
        env, ep, store = args.env, args.endpoint, args.store
        rg, location = hub.resource_group_name, hub.location
        identity = managedidentity.UserAssignedIdentity(f"{name}-identity", resource_group_name=rg, location=location, tags=tags, opts=child_opts(self))
        grants = [
            role_assignment(
                self,
                f"{name}-model-reader",
                subscription_id=cfg.subscription_id,
                role=ROLE_STORAGE_BLOB_DATA_READER,
                # The workspace's storage account, not only the model's container: online
                # deployments also read the workspace's default datastore (a container Azure ML
                # creates and names itself), and a user-assigned endpoint identity gets no role
                # automatically (only a system-assigned one does).
                scope=store.account_id,
                principal_id=identity.principal_id,
                description=f"mlops-stack {env.prefix}: endpoint {ep.name} reads its model and the workspace's default datastore",
            )
        ]
        if ep.data_capture.enabled:
            # Data capture writes to the workspace's default blob store as the endpoint's identity.
            grants.append(
                role_assignment(
                    self,
                    f"{name}-capture-writer",
                    subscription_id=cfg.subscription_id,
                    role=ROLE_STORAGE_BLOB_DATA_CONTRIBUTOR,
                    scope=store.account_id,
                    principal_id=identity.principal_id,
                    description=f"mlops-stack {env.prefix}: endpoint {ep.name} writes captured requests and responses",
                )
            )
        if getattr(hub, "container_registry_id", None) is not None:
            grants.append(
                role_assignment(
                    self,
                    f"{name}-acr-pull",
                    subscription_id=cfg.subscription_id,
                    role=ROLE_ACR_PULL,
                    scope=hub.container_registry_id,
                    principal_id=identity.principal_id,
                    description=f"mlops-stack {env.prefix}: endpoint {ep.name} pulls its image",
                )
            )
        return identity, grants

    def _model(self, name: str, args: ModelEndpointArgs, hub: Any, cfg: Any) -> tuple[ml.ModelVersion, ml.EnvironmentVersion]:
        """The workspace's model version (from the artifact) and serving environment (the image)."""
        ep = args.endpoint
        rg, ws = hub.resource_group_name, hub.workspace_name
        artifact = ep.model.artifact
        model = ml.ModelVersion(
            f"{name}-model",
            name=ep.name,
            version=version_of(artifact.bucket, artifact.key),
            resource_group_name=rg,
            workspace_name=ws,
            properties=ml.ModelVersionPropertiesArgs(
                model_type="custom_model",
                model_uri=pulumi.Output.all(cfg.subscription_id, rg, ws, hub.datastore_names[artifact.bucket]).apply(
                    lambda v: model_uri(v[0], v[1], v[2], v[3], artifact.key)
                ),
                description=f"{artifact.bucket}/{artifact.key}",
                tags={"mlops-stack-endpoint": ep.name},
            ),
            opts=child_opts(self),
        )
        route = lambda path: ml.RouteArgs(path=path, port=SERVING_PORT)  # noqa: E731
        environment = ml.EnvironmentVersion(
            f"{name}-environment",
            name=f"{ep.name}-serving",
            version=version_of(ep.model.image),
            resource_group_name=rg,
            workspace_name=ws,
            properties=ml.EnvironmentVersionPropertiesArgs(
                image=ep.model.image,
                os_type="Linux",
                auto_rebuild="Disabled",
                inference_config=ml.InferenceContainerPropertiesArgs(
                    liveness_route=route(HEALTH_ROUTE), readiness_route=route(HEALTH_ROUTE), scoring_route=route(SCORING_ROUTE)
                ),
                description=f"Serving image of endpoint {ep.name}",
            ),
            opts=child_opts(self),
        )
        return model, environment

    def _endpoint(
        self,
        name: str,
        args: ModelEndpointArgs,
        hub: Any,
        cfg: Any,
        identity: managedidentity.UserAssignedIdentity,
        auth: str,
        public_access: str,
        tags: dict[str, str],
    ) -> ml.OnlineEndpoint:
        """The managed online endpoint, with a name unique in its region."""
        env, ep = args.env, args.endpoint
        rg, ws, location = hub.resource_group_name, hub.workspace_name, hub.location
        # Endpoint names are unique per region across all tenants: the hash is seeded with
        # the resource group's ID (subscription included), not its name, which other
        # subscriptions reuse.
        endpoint_name = pulumi.Output.all(cfg.subscription_id, rg).apply(
            lambda v: bounded_name(f"{env.prefix}-{ep.name}", ENDPOINT_NAME_MAX, seed=endpoint_seed(v[0], v[1]))
        )
        endpoint = ml.OnlineEndpoint(
            f"{name}-endpoint",
            endpoint_name=endpoint_name,
            resource_group_name=rg,
            workspace_name=ws,
            location=location,
            kind="Managed",
            identity=ml.ManagedServiceIdentityArgs(type="UserAssigned", user_assigned_identities=[identity.id]),
            properties=ml.OnlineEndpointPropertiesArgs(
                auth_mode=auth, public_network_access=public_access, description=endpoint_description(ep.name)
            ),
            tags=tags,
            # Traffic is set by the traffic deployment below, after the deployment exists.
            opts=child_opts(self, ignore_changes=["properties.traffic"]),
        )
        return endpoint

    def _deployment(
        self,
        name: str,
        args: ModelEndpointArgs,
        hub: Any,
        endpoint: ml.OnlineEndpoint,
        model: ml.ModelVersion,
        environment: ml.EnvironmentVersion,
        instance_type: str,
        grants: list[pulumi.Resource],
        tags: dict[str, str],
    ) -> ml.OnlineDeployment:
        """The managed online deployment (with data collection when capture is on)."""
        ep = args.endpoint
        rg, ws, location = hub.resource_group_name, hub.workspace_name, hub.location
        data_collector = None
        if ep.data_capture.enabled:
            rate = ep.data_capture.sampling_percent / 100
            data_collector = ml.DataCollectorArgs(
                collections={
                    "request": ml.CollectionArgs(data_collection_mode="Enabled", sampling_rate=rate),
                    "response": ml.CollectionArgs(data_collection_mode="Enabled", sampling_rate=rate),
                },
                rolling_rate="Hour",
            )
        deployment = ml.OnlineDeployment(
            f"{name}-deployment",
            deployment_name=DEPLOYMENT,
            endpoint_name=endpoint.name,
            resource_group_name=rg,
            workspace_name=ws,
            location=location,
            kind="Managed",
            sku=ml.SkuArgs(name="Default", capacity=ep.min_instances),
            properties=without_egress_flag(
                ml.ManagedOnlineDeploymentArgs(
                    endpoint_compute_type="Managed",
                    instance_type=instance_type,
                    model=model.id,
                    environment_id=environment.id,
                    environment_variables=dict(ep.model.environment),
                    scale_settings=ml.DefaultScaleSettingsArgs(scale_type="Default"),
                    app_insights_enabled=True,
                    data_collector=data_collector,
                    description=f"mlops-stack {ep.name}",
                )
            ),
            tags=tags,
            # The autoscale setting owns the instance count after creation.
            opts=child_opts(self, depends_on=grants, ignore_changes=["sku.capacity"] if ep.max_instances > ep.min_instances else None),
        )
        return deployment

    def _traffic(
        self,
        name: str,
        hub: Any,
        endpoint: ml.OnlineEndpoint,
        deployment: ml.OnlineDeployment,
        identity: managedidentity.UserAssignedIdentity,
        auth: str,
        public_access: str,
        tags: dict[str, str],
        description: str,
    ) -> None:
        """All traffic to the deployment, set once it exists (an ARM deployment)."""
        rg, ws, location = hub.resource_group_name, hub.workspace_name, hub.location
        resources.Deployment(
            f"{name}-traffic",
            resource_group_name=rg,
            properties=resources.DeploymentPropertiesArgs(
                mode="Incremental",
                template=pulumi.Output.all(ws, endpoint.name, identity.id).apply(
                    lambda v: traffic_template(
                        workspace=v[0],
                        endpoint=v[1],
                        location=location,
                        identity_id=v[2],
                        auth=auth,
                        public_access=public_access,
                        deployment=DEPLOYMENT,
                        tags=tags,
                        description=description,
                    )
                ),
            ),
            opts=child_opts(self, depends_on=[deployment]),
        )

    def _autoscaling(self, name: str, args: ModelEndpointArgs, hub: Any, deployment: ml.OnlineDeployment, tags: dict[str, str]) -> None:
        """Autoscale the deployment between the endpoint's min and max instances."""
        ep = args.endpoint
        rg, location = hub.resource_group_name, hub.location
        monitor.AutoscaleSetting(
            f"{name}-autoscale",
            resource_group_name=rg,
            location=location,
            enabled=True,
            target_resource_uri=deployment.id,
            profiles=[autoscale_profile(ep.min_instances, ep.max_instances, ep.autoscaling.utilization_percent, ep.gpu is not None, deployment.id)],
            tags=tags,
            opts=child_opts(self),
        )
