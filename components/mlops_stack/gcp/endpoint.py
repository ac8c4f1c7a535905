"""GCP model endpoints: a Vertex AI endpoint (CMEK; Private Service Connect when the
spec says ``private``) with the custom model actually deployed on it by the
``VertexModelDeployment`` dynamic resource (machine type + accelerator from the
catalog, min/max replicas, an autoscaling target, a traffic split), serving as a
dedicated service account that can only read the models bucket.

Private endpoints use Private Service Connect (``private_service_connect_config``)
rather than ``network`` (VPC peering): PSC needs no private-services-access range or
peering, and the two are mutually exclusive. The consumer side is created in the stack's
VPC (``gcp/psc.py``): an internal address, a forwarding rule to the deployment's service
attachment and a private DNS name; ``invoke_url`` is then the URL that serves the
endpoint from the VPC (``https://<id>-<region>-<project number>.prediction.p.vertexai.goog/...``).

Data capture (``dataCapture.enabled``) is Vertex AI request-response logging: a sample
of requests and responses is written to a BigQuery table. The endpoint gets its own
dataset (CMEK with the stack's ``bigquery`` key, in the endpoint's region, never emptied
on destroy, protected and retained in prod); the Vertex AI service agent may edit that
dataset only, and Vertex creates the table itself (the API takes
``bq://<project>.<dataset>.<table>`` when the dataset exists and the table does not).
``dataCapture.bucket`` does not apply on GCP.
"""

from __future__ import annotations

import re
from typing import Any

import pulumi
import pulumi_gcp as gcp
import pulumi_random as random

from mlops_stack import catalog
from mlops_stack.errors import ConfigError
from mlops_stack.args import Env, ModelEndpointArgs, child_opts, merge_opts, resource_tags, stateful_opts
from mlops_stack.gcp._shared import IAM_APIS, account_id, enable_services, key_dependencies, key_for, labels, project_info
from mlops_stack.gcp.psc import DNS_API, psc_consumer
from mlops_stack.gcp.registry import registry_host
from mlops_stack.gcp.vertex_provider import CPU_METRIC, GPU_METRIC, VertexDeploymentProvider, VertexModelDeployment, deployment_key

AIPLATFORM_API = "aiplatform.googleapis.com"
BIGQUERY_API = "bigquery.googleapis.com"
#: Role the Vertex AI service agent holds on the capture dataset: create the logging
#: table and insert rows into it.
CAPTURE_WRITER_ROLE = "roles/bigquery.dataEditor"
#: The table Vertex AI creates in the capture dataset (the name it picks itself when
#: given a dataset only).
CAPTURE_TABLE = "request_response_logging"
#: The endpoint ID the stack gives each Vertex endpoint: a 9-digit number with no leading
#: zero. Vertex's ``endpointId`` (CreateEndpointRequest, aiplatform v1; read 2026-12-08):
#: numeric IDs at most 9 digits with no leading zeros, letter-first IDs up to 63 of
#: ``[a-z0-9-]``; pulumi-gcp 10.2.0 ``vertex.AiEndpoint.name``: "numeric with no leading
#: zeros and can be at most 10 digits". Nine digits satisfy both, and keep the PSC host's
#: first label (``<id>-<region>-<project number>``) within DNS's 63 characters in every
#: region (tests/gcp/test_gcp_psc.py). Left unset, the provider autonames it
#: ``<logical name>-<7 hex>`` (41 characters here), and that label is 66.
ENDPOINT_ID_MIN = 100_000_000
ENDPOINT_ID_MAX = 999_999_999


def machine_for(args: ModelEndpointArgs) -> tuple[str, str | None, int]:
    """``(machine_type, vertex_accelerator_enum | None, accelerator_count)``."""
    ep = args.endpoint
    if ep.gpu is not None:
        offer = catalog.resolve_gpu("gcp", ep.gpu, ep.gpus_per_instance, "endpoint", args.env.region, "endpoint.gpu", check_region=args.env.region_check)
        return offer.instance_type, offer.vertex_accelerator, offer.gpus
    return catalog.cpu_offer("gcp", ep.cpu_size or "small", "endpoint").instance_type, None, 0


def artifact_uri(bucket_name: str, key: str) -> str:
    """Vertex reads a model from a directory: ``gs://<bucket>/<key>`` (a prefix)."""
    return f"gs://{bucket_name}/{key}"


def endpoint_id_keepers(region: str, kms: pulumi.Input[str] | None, private: bool) -> dict[str, pulumi.Input[str]]:
    """What draws a new endpoint ID when it changes: the endpoint's replace-on-change inputs."""
    return {"location": region, "kms_key_name": kms if kms is not None else "", "private_service_connect": "true" if private else "false"}


def invoke_url(region: str, endpoint_id: str) -> str:
    return f"https://{region}-aiplatform.googleapis.com/v1/{endpoint_id}:predict"


def stack_repository(image: str, region: str, repositories: dict[str, Any]) -> Any:
    """The stack's own Artifact Registry repository the image is in (its reference is
    ``<region>-docker.pkg.dev/<project>/<prefix>-<name>/...``), else ``None``."""
    parts = image.split("/")
    if len(parts) < 4 or parts[0] != registry_host(region):
        return None
    return repositories.get(parts[2])


def capture_dataset_id(prefix: str, endpoint: str) -> str:
    """BigQuery dataset ID of an endpoint's captured requests: ``mlops_prod_sentiment_capture``.

    Dataset IDs allow letters, digits and underscores only (up to 1,024 characters)."""
    return re.sub(r"[^a-zA-Z0-9_]", "_", f"{prefix}_{endpoint}_capture").lower()


def sampling_rate(percent: int) -> float:
    """Vertex AI's ``samplingRate`` (a fraction in (0, 1]) for the spec's percentage: 20 -> 0.2."""
    return percent / 100


def capture_uri(project: str, dataset_id: str, table: str = CAPTURE_TABLE) -> str:
    """The logging destination: ``bq://<project>.<dataset>.<table>``."""
    return f"bq://{project}.{dataset_id}.{table}"


def _vertex_agent(parent: pulumi.Resource, name: str, keys: Any, project: pulumi.Output[str], apis: list[gcp.projects.Service]) -> pulumi.Output[str]:
    """The Vertex AI service agent's email: the Keys component's (which created it) when
    there is one, else created here (``ServiceIdentity`` returns the existing agent)."""
    agents = getattr(keys, "service_agents", None) or {}
    if "vertex" in agents:
        return agents["vertex"]
    identity = gcp.projects.ServiceIdentity(f"{name}-agent", service=AIPLATFORM_API, project=project, opts=child_opts(parent, depends_on=apis))
    return identity.email


def _capture(
    parent: pulumi.Resource,
    name: str,
    env: Env,
    endpoint: str,
    *,
    keys: Any,
    project: pulumi.Output[str],
    tags: dict[str, str],
    apis: list[gcp.projects.Service],
) -> tuple[gcp.bigquery.Dataset, gcp.bigquery.DatasetIamMember, pulumi.Output[str]]:
    """The capture dataset, the Vertex agent's write grant on it, and the ``bq://`` table URI."""
    kms = key_for(keys, "bigquery")
    dataset = gcp.bigquery.Dataset(
        f"{name}-capture",
        dataset_id=capture_dataset_id(env.prefix, endpoint),
        friendly_name=f"{env.prefix} {endpoint} request-response log",
        description=f"mlops-stack {env.prefix}: requests and responses sampled from Vertex AI endpoint {endpoint}",
        location=env.region,
        default_encryption_configuration=gcp.bigquery.DatasetDefaultEncryptionConfigurationArgs(kms_key_name=kms) if kms is not None else None,
        delete_contents_on_destroy=False,
        labels={**tags, "mlops-stack-role": "data-capture"},
        opts=stateful_opts(parent, env, depends_on=[*apis, *key_dependencies(keys)]),
    )
    writer = gcp.bigquery.DatasetIamMember(
        f"{name}-capture-writer",
        dataset_id=dataset.dataset_id,
        role=CAPTURE_WRITER_ROLE,
        member=pulumi.Output.concat("serviceAccount:", _vertex_agent(parent, name, keys, project, apis)),
        opts=child_opts(parent),
    )
    uri = pulumi.Output.all(project, dataset.dataset_id).apply(lambda v: capture_uri(v[0], v[1]))
    return dataset, writer, uri


class ModelEndpoint(pulumi.ComponentResource):
    """``mlops:gcp:ModelEndpoint``. Outputs: ``endpoint_name`` (the endpoint's resource
    name), ``invoke_url``, and ``instance_type`` (machine type), ``accelerator``,
    ``model`` (the uploaded model's resource name), ``deployed_model_id``,
    ``service_account_email``, ``capture_uri`` (``bq://<project>.<dataset>.<table>`` of
    the request-response log, ``None`` without data capture), and for a private (PSC)
    endpoint ``psc_host`` and ``psc_ip_address`` (``None`` on a public one)."""

    endpoint_name: pulumi.Output[str]
    invoke_url: pulumi.Output[str]
    instance_type: str
    accelerator: str | None
    model: pulumi.Output[str]
    deployed_model_id: pulumi.Output[str]
    service_account_email: pulumi.Output[str]
    capture_uri: pulumi.Output[str] | None
    psc_host: pulumi.Output[str] | None
    psc_ip_address: pulumi.Output[str] | None

    def __init__(
        self,
        name: str,
        args: ModelEndpointArgs,
        opts: pulumi.ResourceOptions | None = None,
        provider: VertexDeploymentProvider | None = None,
    ) -> None:
        super().__init__("mlops:gcp:ModelEndpoint", name, None, merge_opts(opts))
        env, ep = args.env, args.endpoint
        if ep.model.image is None:
            raise ConfigError(
                "endpoint.model.image", "is required on gcp: Vertex AI has no framework images here", "set model.image to a serving container image URI"
            )
        if ep.private and args.network is None:
            raise ConfigError(
                f"{args.path}.private",
                "needs the stack's network on gcp: a Private Service Connect endpoint is reached through a forwarding rule in a VPC",
                "pass ModelEndpointArgs.network, or set private: false",
                value=True,
            )
        capture = ep.data_capture
        project, number = project_info(self)
        apis = enable_services(
            self, name, [AIPLATFORM_API, *([BIGQUERY_API] if capture.enabled else []), *([DNS_API] if ep.private else []), *IAM_APIS]
        )
        kms = key_for(args.keys, "vertex")
        tags = labels(resource_tags(env, **{"mlops-stack-endpoint": ep.name}))
        registry_label = getattr(args.model_registry, "registry_label", None)
        model_labels = {**tags, **({"mlops-stack-registry": registry_label} if registry_label else {})}
        machine_type, accelerator, count = machine_for(args)
        # An image in the stack's own registry: the repository exists before the deployment
        # is created, and the provider checks the image was pushed before it uploads.
        repository = stack_repository(ep.model.image, env.region, getattr(args.container_registry, "repositories", None) or {})

        logging_config, capture_deps = self._request_logging(name, args, project, tags, apis)
        sa, read = self._identity(name, args, apis)
        endpoint = self._endpoint(name, args, project, kms, logging_config, apis, capture_deps, tags)
        deployment = self._deployment(name, args, project, endpoint, sa, read, repository, kms, model_labels, (machine_type, accelerator, count), provider)
        self.endpoint_name = endpoint.id
        self._serving_url(name, args, endpoint, deployment, number, apis, tags)
        self.instance_type = machine_type
        self.accelerator = accelerator
        self.model = deployment.model
        self.deployed_model_id = deployment.deployed_model_id
        self.service_account_email = sa.email
        self.register_outputs(
            {
                "endpoint_name": self.endpoint_name,
                "invoke_url": self.invoke_url,
                "instance_type": self.instance_type,
                "accelerator": self.accelerator,
                "model": self.model,
                "deployed_model_id": self.deployed_model_id,
                "service_account_email": self.service_account_email,
                "capture_uri": self.capture_uri,
                "psc_host": self.psc_host,
                "psc_ip_address": self.psc_ip_address,
            }
        )

    def _request_logging(
        self, name: str, args: ModelEndpointArgs, project: pulumi.Output[str], tags: dict[str, str], apis: list[gcp.projects.Service]
    ) -> tuple[gcp.vertex.AiEndpointPredictRequestResponseLoggingConfigArgs | None, list[pulumi.Resource]]:
        """Request-response logging to BigQuery when data capture is on (sets ``capture_uri``);
        returns the endpoint's logging config and what it must wait for."""
        env, ep = args.env, args.endpoint
        capture = ep.data_capture
        logging_config: gcp.vertex.AiEndpointPredictRequestResponseLoggingConfigArgs | None = None
        capture_deps: list[pulumi.Resource] = []
        self.capture_uri = None
        if capture.enabled:
            _dataset, writer, uri = _capture(self, name, env, ep.name, keys=args.keys, project=project, tags=tags, apis=apis)
            logging_config = gcp.vertex.AiEndpointPredictRequestResponseLoggingConfigArgs(
                enabled=True,
                sampling_rate=sampling_rate(capture.sampling_percent),
                bigquery_destination=gcp.vertex.AiEndpointPredictRequestResponseLoggingConfigBigqueryDestinationArgs(output_uri=uri),
            )
            # Vertex creates the table as its service agent: the grant must exist first.
            capture_deps, self.capture_uri = [writer], uri
        return logging_config, capture_deps

    def _identity(
        self, name: str, args: ModelEndpointArgs, apis: list[gcp.projects.Service]
    ) -> tuple[gcp.serviceaccount.Account, gcp.storage.BucketIAMMember]:
        """The endpoint's serving identity, which reads its models bucket and nothing else."""
        env, ep, store = args.env, args.endpoint, args.store
        sa = gcp.serviceaccount.Account(
            f"{name}-sa",
            account_id=account_id(env.prefix, f"ep-{ep.name}"),
            display_name=f"mlops-stack {env.prefix}: Vertex endpoint {ep.name}",
            description="Serving identity of one endpoint: reads its models bucket, nothing else.",
            opts=child_opts(self, depends_on=apis),
        )
        bucket = store.bucket_names[ep.model.artifact.bucket]
        read = gcp.storage.BucketIAMMember(
            f"{name}-model-read", bucket=bucket, role="roles/storage.objectViewer", member=sa.member, opts=child_opts(self)
        )
        return sa, read

    def _endpoint(
        self,
        name: str,
        args: ModelEndpointArgs,
        project: pulumi.Output[str],
        kms: pulumi.Input[str] | None,
        logging_config: gcp.vertex.AiEndpointPredictRequestResponseLoggingConfigArgs | None,
        apis: list[gcp.projects.Service],
        capture_deps: list[pulumi.Resource],
        tags: dict[str, str],
    ) -> gcp.vertex.AiEndpoint:
        """The Vertex AI endpoint (Private Service Connect when private, the stack key)."""
        env, ep = args.env, args.endpoint
        endpoint_id = self._endpoint_id(name, args, kms)
        endpoint = gcp.vertex.AiEndpoint(
            f"{name}-endpoint",
            name=endpoint_id,
            display_name=f"{env.prefix}-{ep.name}",
            description=f"mlops-stack {env.prefix}: {ep.name}",
            location=env.region,
            region=env.region,
            encryption_spec=gcp.vertex.AiEndpointEncryptionSpecArgs(kms_key_name=kms) if kms is not None else None,
            private_service_connect_config=gcp.vertex.AiEndpointPrivateServiceConnectConfigArgs(
                enable_private_service_connect=True, project_allowlists=[project]
            )
            if ep.private
            else None,
            predict_request_response_logging_config=logging_config,
            labels=tags,
            opts=child_opts(self, depends_on=[*apis, *key_dependencies(args.keys), *capture_deps]),
        )
        return endpoint

    def _endpoint_id(self, name: str, args: ModelEndpointArgs, kms: pulumi.Input[str] | None) -> pulumi.Output[str]:
        """A fresh random 9-digit endpoint ID, drawn again whenever an input that replaces the
        endpoint changes: Vertex refuses an ID used in the last 7 days, so a replacement (or a
        destroy and re-create) must not reuse the old one. The keepers are the endpoint's
        immutable inputs (magic-modules ``mmv1/products/vertexai/Endpoint.yaml``:
        ``location``, ``region``, ``encryptionSpec.kmsKeyName``, ``network``,
        ``privateServiceConnectConfig.enablePrivateServiceConnect``; ``network`` is never set
        here)."""
        env, ep = args.env, args.endpoint
        number = random.RandomInteger(
            f"{name}-endpoint-id",
            min=ENDPOINT_ID_MIN,
            max=ENDPOINT_ID_MAX,
            keepers=endpoint_id_keepers(env.region, kms, ep.private),
            opts=child_opts(self),
        )
        return number.result.apply(lambda n: str(int(n)))

    def _deployment(
        self,
        name: str,
        args: ModelEndpointArgs,
        project: pulumi.Output[str],
        endpoint: gcp.vertex.AiEndpoint,
        sa: gcp.serviceaccount.Account,
        read: gcp.storage.BucketIAMMember,
        repository: pulumi.Resource | None,
        kms: pulumi.Input[str] | None,
        model_labels: dict[str, str],
        machine: tuple[str, str | None, int],
        provider: VertexDeploymentProvider | None,
    ) -> VertexModelDeployment:
        """The model upload and its deployment on the endpoint (the dynamic provider)."""
        env, ep = args.env, args.endpoint
        bucket = args.store.bucket_names[ep.model.artifact.bucket]
        machine_type, accelerator, count = machine
        deployment = VertexModelDeployment(
            f"{name}-deployment",
            {
                "project": project,
                "region": env.region,
                "endpoint": endpoint.id,
                "display_name": f"{env.prefix}-{ep.name}",
                "image": ep.model.image,
                "artifact_uri": pulumi.Output.from_input(bucket).apply(lambda b: artifact_uri(b, ep.model.artifact.key)),
                "env": dict(ep.model.environment),
                "labels": model_labels,
                "kms_key_name": kms,
                "machine_type": machine_type,
                "accelerator_type": accelerator,
                "accelerator_count": count,
                "service_account": sa.email,
                "min_replicas": ep.min_instances,
                "max_replicas": ep.max_instances,
                "autoscaling_metric": GPU_METRIC if accelerator else CPU_METRIC,
                "autoscaling_target": ep.autoscaling.utilization_percent,
                "traffic_percent": 100,
                # What create looks an interrupted earlier create up by (the URN's parts).
                "deployment_key": deployment_key(pulumi.get_project(), pulumi.get_stack(), f"{name}-deployment"),
                "check_image": repository is not None,
            },
            opts=child_opts(self, depends_on=[read, *([repository] if repository is not None else [])]),
            provider=provider,
        )
        return deployment

    def _serving_url(
        self,
        name: str,
        args: ModelEndpointArgs,
        endpoint: gcp.vertex.AiEndpoint,
        deployment: VertexModelDeployment,
        number: pulumi.Output[str],
        apis: list[gcp.projects.Service],
        tags: dict[str, str],
    ) -> None:
        """``invoke_url``: the public URL, or for a private endpoint the Private Service
        Connect consumer side in the stack's VPC (sets ``psc_host``, ``psc_ip_address``)."""
        env, ep = args.env, args.endpoint
        self.psc_host = self.psc_ip_address = None
        if ep.private:
            # The consumer side: served only through it (the public URL does not serve PSC endpoints).
            psc = psc_consumer(
                self, name, region=env.region, network=args.network, endpoint=endpoint, deployment=deployment, service_attachment=deployment.service_attachment,
                project_number=number, labels=tags, depends_on=apis,
            )
            self.invoke_url = psc.invoke_url
            self.psc_host, self.psc_ip_address = psc.host, psc.address.address
        else:
            self.invoke_url = endpoint.id.apply(lambda i: invoke_url(env.region, i))
