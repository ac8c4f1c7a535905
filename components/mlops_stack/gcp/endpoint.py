"""GCP model endpoints: a Vertex AI endpoint (CMEK; Private Service Connect when the
spec says ``private``) with the custom model actually deployed on it by the
``VertexModelDeployment`` dynamic resource (machine type + accelerator from the
catalog, min/max replicas, an autoscaling target, a traffic split), serving as a
dedicated service account that can only read the models bucket.

Private endpoints use Private Service Connect (``private_service_connect_config``)
rather than ``network`` (VPC peering): PSC needs no private-services-access range or
peering, and the two are mutually exclusive. The consumer side (a PSC forwarding rule in
the VPC) is not created here yet; see docs/gcp.md.
"""

from __future__ import annotations

import pulumi
import pulumi_gcp as gcp

from mlops_stack import catalog
from mlops_stack.args import ModelEndpointArgs, child_opts, merge_opts, resource_tags
from mlops_stack.gcp._shared import account_id, enable_services, key_dependencies, key_for, labels, project_info
from mlops_stack.gcp.vertex_provider import CPU_METRIC, GPU_METRIC, VertexDeploymentProvider, VertexModelDeployment

AIPLATFORM_API = "aiplatform.googleapis.com"


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


def invoke_url(region: str, endpoint_id: str) -> str:
    return f"https://{region}-aiplatform.googleapis.com/v1/{endpoint_id}:predict"


class ModelEndpoint(pulumi.ComponentResource):
    """``mlops:gcp:ModelEndpoint``. Outputs: ``endpoint_name`` (the endpoint's resource
    name), ``invoke_url``, and ``instance_type`` (machine type), ``accelerator``,
    ``model`` (the uploaded model's resource name), ``deployed_model_id``,
    ``service_account_email``."""

    endpoint_name: pulumi.Output[str]
    invoke_url: pulumi.Output[str]
    instance_type: str
    accelerator: str | None
    model: pulumi.Output[str]
    deployed_model_id: pulumi.Output[str]
    service_account_email: pulumi.Output[str]

    def __init__(
        self,
        name: str,
        args: ModelEndpointArgs,
        opts: pulumi.ResourceOptions | None = None,
        provider: VertexDeploymentProvider | None = None,
    ) -> None:
        super().__init__("mlops:gcp:ModelEndpoint", name, None, merge_opts(opts))
        env, ep, store = args.env, args.endpoint, args.store
        if ep.model.image is None:
            raise ValueError(f"endpoint {ep.name}: model.image is required (framework images are resolved before this point)")
        if ep.data_capture.enabled:
            pulumi.log.warn(
                f"endpoint {ep.name}: dataCapture is not implemented on GCP yet (Vertex logs requests to BigQuery); ignored", resource=self
            )
        project, _number = project_info(self)
        apis = enable_services(self, name, [AIPLATFORM_API])
        kms = key_for(args.keys, "vertex")
        tags = labels(resource_tags(env, **{"mlops-stack-endpoint": ep.name}))
        registry_label = getattr(args.model_registry, "registry_label", None)
        model_labels = {**tags, **({"mlops-stack-registry": registry_label} if registry_label else {})}
        machine_type, accelerator, count = machine_for(args)

        sa = gcp.serviceaccount.Account(
            f"{name}-sa",
            account_id=account_id(env.prefix, f"ep-{ep.name}"),
            display_name=f"mlops-stack {env.prefix}: Vertex endpoint {ep.name}",
            description="Serving identity of one endpoint: reads its models bucket, nothing else.",
            opts=child_opts(self),
        )
        bucket = store.bucket_names[ep.model.artifact.bucket]
        read = gcp.storage.BucketIAMMember(
            f"{name}-model-read", bucket=bucket, role="roles/storage.objectViewer", member=sa.member, opts=child_opts(self)
        )

        endpoint = gcp.vertex.AiEndpoint(
            f"{name}-endpoint",
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
            labels=tags,
            opts=child_opts(self, depends_on=[*apis, *key_dependencies(args.keys)]),
        )
        deployment = VertexModelDeployment(
            f"{name}-deployment",
            {
                "project": project,
                "region": env.region,
                "endpoint": endpoint.id,
                "display_name": f"{env.prefix}-{ep.name}",
                "image": ep.model.image,
                "artifact_uri": bucket.apply(lambda b: artifact_uri(b, ep.model.artifact.key)),
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
            },
            opts=child_opts(self, depends_on=[read]),
            provider=provider,
        )
        self.endpoint_name = endpoint.id
        self.invoke_url = endpoint.id.apply(lambda i: invoke_url(env.region, i))
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
            }
        )
