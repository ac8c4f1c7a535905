"""AWS model endpoints: a SageMaker model, endpoint configuration and endpoint, with an
execution role that can read only its model's prefix, Application Auto Scaling on
invocations per instance, and data capture to the artifacts bucket when asked.

Replacement safety: an endpoint configuration is immutable, so any change to it (or to
the model) creates a new one. Neither the model nor the configuration gets a fixed
name: Pulumi auto-names them and replaces them create-before-delete, so the live
endpoint is switched to the new configuration before the old one is deleted. A fixed
name would force delete-before-create and break the live endpoint mid-update.
"""

from __future__ import annotations

import pulumi
import pulumi_aws as aws

from mlops_stack import catalog
from mlops_stack.args import ModelEndpointArgs, child_opts, merge_opts, resource_tags
from mlops_stack.aws._shared import identity, key_arn
from mlops_stack.aws.policies import assume_role_policy, endpoint_execution_policy

VARIANT = "primary"
SCALABLE_DIMENSION = "sagemaker:variant:DesiredInstanceCount"
#: Instance families with local NVMe instance storage. SageMaker encrypts those volumes in
#: hardware and rejects a KmsKeyId for them (SageMaker API reference, CreateEndpointConfig,
#: KmsKeyId; read 2026-11).
INSTANCE_STORE_FAMILIES = frozenset(
    {"g4dn", "g5", "g6", "g6e", "gr6", "p3dn", "p4d", "p4de", "p5", "p5e", "p5en", "p6-b200", "m5d", "c5d", "r5d", "c6id", "m6id", "r6id", "inf2", "trn1"}
)


def has_instance_storage(instance_type: str) -> bool:
    """``ml.g5.xlarge`` -> True. Such endpoints cannot take a KMS key for the ML volume."""
    parts = instance_type.split(".")
    family = parts[1] if parts[0] == "ml" and len(parts) > 2 else parts[0]
    return family in INSTANCE_STORE_FAMILIES


def instance_type_for(args: ModelEndpointArgs) -> str:
    ep = args.endpoint
    if ep.gpu is not None:
        return catalog.resolve_gpu("aws", ep.gpu, ep.gpus_per_instance, "endpoint", args.env.region, "endpoint.gpu", check_region=args.env.region_check).instance_type
    return catalog.cpu_offer("aws", ep.cpu_size or "small", "endpoint").instance_type


def capture_path(endpoint: str) -> str:
    """The data-capture prefix of an endpoint in its capture bucket."""
    return f"data-capture/{endpoint}/"


def invoke_url(region: str, endpoint_name: str) -> str:
    return f"https://runtime.sagemaker.{region}.amazonaws.com/endpoints/{endpoint_name}/invocations"


class ModelEndpoint(pulumi.ComponentResource):
    """``mlops:aws:ModelEndpoint``. Outputs: ``endpoint_name``, ``invoke_url``, and
    ``instance_type``, ``model_name``, ``endpoint_config_name``, ``execution_role_arn``."""

    endpoint_name: pulumi.Output[str]
    invoke_url: pulumi.Output[str]
    instance_type: str
    model_name: pulumi.Output[str]
    endpoint_config_name: pulumi.Output[str]
    execution_role_arn: pulumi.Output[str]

    def __init__(self, name: str, args: ModelEndpointArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("mlops:aws:ModelEndpoint", name, None, merge_opts(opts))
        env, ep = args.env, args.endpoint
        tags = resource_tags(env, **{"mlops-stack-endpoint": ep.name})
        kms = key_arn(args.keys)
        account, partition = identity(self)
        instance_type = instance_type_for(args)
        image = ep.model.image
        if image is None:
            # Resolved (and cached) by mlops_stack.aws.checks before any resource exists.
            from mlops_stack.aws.images import resolve_image  # lazy: the image resolver, only for a framework model

            image = resolve_image(ep.model.framework, env.region, instance_type)

        vpc = args.network is not None and ep.private
        role, role_policy = self._execution_role(name, args, vpc, tags, kms, account, partition)
        model = self._model(name, args, vpc, image, role, role_policy, tags)
        config = self._config(name, args, model, instance_type, tags, kms)
        endpoint_name = f"{env.prefix}-{ep.name}"
        endpoint = aws.sagemaker.Endpoint(
            f"{name}-endpoint", name=endpoint_name, endpoint_config_name=config.name, tags=tags, opts=child_opts(self)
        )
        self._autoscaling(name, args, endpoint)
        self.endpoint_name = endpoint.name
        self.invoke_url = endpoint.name.apply(lambda n: invoke_url(env.region, n))
        self.instance_type = instance_type
        self.model_name = model.name
        self.endpoint_config_name = config.name
        self.execution_role_arn = role.arn
        self.register_outputs(
            {
                "endpoint_name": self.endpoint_name,
                "invoke_url": self.invoke_url,
                "instance_type": self.instance_type,
                "model_name": self.model_name,
                "endpoint_config_name": self.endpoint_config_name,
                "execution_role_arn": self.execution_role_arn,
            }
        )

    def _execution_role(
        self,
        name: str,
        args: ModelEndpointArgs,
        vpc: bool,
        tags: dict[str, str],
        kms: pulumi.Input[str] | None,
        account: pulumi.Output[str],
        partition: pulumi.Output[str],
    ) -> tuple[aws.iam.Role, aws.iam.RolePolicy]:
        """The execution role SageMaker assumes: its model's prefix, the capture prefix, the
        key and (in a VPC) the network interfaces, nothing more."""
        env, ep, store = args.env, args.endpoint, args.store
        artifact = ep.model.artifact
        capture = ep.data_capture
        capture_prefix = capture_path(ep.name)
        bucket_arn = store.bucket_arns[artifact.bucket]
        capture_bucket_arn = store.bucket_arns[capture.bucket] if capture.enabled else None
        vpc_id = args.network.vpc_id if vpc else None
        subnet_ids = args.network.private_subnet_ids if vpc else None
        policy = pulumi.Output.all(account, partition, bucket_arn, kms, capture_bucket_arn, vpc_id, subnet_ids).apply(
            lambda v: endpoint_execution_policy(
                partition=v[1],
                region=env.region,
                account_id=v[0],
                bucket_arn=v[2],
                model_key=artifact.key,
                key_arn=v[3],
                capture_bucket_arn=v[4],
                capture_prefix=capture_prefix if capture.enabled else None,
                vpc=vpc,
                vpc_id=v[5],
                subnet_ids=v[6],
            )
        )
        role = aws.iam.Role(
            f"{name}-role",
            assume_role_policy=assume_role_policy("sagemaker.amazonaws.com"),
            description=f"mlops-stack {env.prefix}: SageMaker endpoint {ep.name}",
            tags=tags,
            opts=child_opts(self),
        )
        role_policy = aws.iam.RolePolicy(f"{name}-role-policy", role=role.id, policy=policy, opts=child_opts(self))
        return role, role_policy

    def _model(
        self,
        name: str,
        args: ModelEndpointArgs,
        vpc: bool,
        image: pulumi.Input[str],
        role: aws.iam.Role,
        role_policy: aws.iam.RolePolicy,
        tags: dict[str, str],
    ) -> aws.sagemaker.Model:
        """The SageMaker model (a ``.tar.gz`` artifact or an uncompressed prefix), in the
        private subnets behind an HTTPS-out-only security group when the endpoint is private."""
        ep = args.endpoint
        artifact = ep.model.artifact
        bucket_name = args.store.bucket_names[artifact.bucket]
        vpc_config = None
        if vpc:
            sg = aws.ec2.SecurityGroup(
                f"{name}-sg",
                vpc_id=args.network.vpc_id,
                description=f"SageMaker endpoint {ep.name}: HTTPS out only",
                egress=[
                    aws.ec2.SecurityGroupEgressArgs(
                        protocol="tcp", from_port=443, to_port=443, cidr_blocks=["0.0.0.0/0"], description="HTTPS to AWS APIs"
                    )
                ],
                tags=tags,
                opts=child_opts(self),
            )
            vpc_config = aws.sagemaker.ModelVpcConfigArgs(subnets=args.network.private_subnet_ids, security_group_ids=[sg.id])

        model_url = pulumi.Output.concat("s3://", bucket_name, "/", artifact.key)
        if artifact.key.endswith(".tar.gz"):
            container = aws.sagemaker.ModelPrimaryContainerArgs(image=image, model_data_url=model_url, environment=dict(ep.model.environment))
        else:
            container = aws.sagemaker.ModelPrimaryContainerArgs(
                image=image,
                model_data_source=aws.sagemaker.ModelPrimaryContainerModelDataSourceArgs(
                    s3_data_sources=[
                        aws.sagemaker.ModelPrimaryContainerModelDataSourceS3DataSourceArgs(
                            s3_uri=pulumi.Output.concat(model_url, "/"), s3_data_type="S3Prefix", compression_type="None"
                        )
                    ]
                ),
                environment=dict(ep.model.environment),
            )
        model = aws.sagemaker.Model(
            f"{name}-model",
            execution_role_arn=role.arn,
            primary_container=container,
            vpc_config=vpc_config,
            enable_network_isolation=ep.private,
            tags=tags,
            opts=child_opts(self, depends_on=[role_policy]),
        )
        return model

    def _config(
        self,
        name: str,
        args: ModelEndpointArgs,
        model: aws.sagemaker.Model,
        instance_type: str,
        tags: dict[str, str],
        kms: pulumi.Input[str] | None,
    ) -> aws.sagemaker.EndpointConfiguration:
        """The endpoint configuration: one variant, the key, and data capture when asked."""
        ep, store = args.endpoint, args.store
        capture = ep.data_capture
        capture_prefix = capture_path(ep.name)
        data_capture = None
        if capture.enabled:
            data_capture = aws.sagemaker.EndpointConfigurationDataCaptureConfigArgs(
                enable_capture=True,
                initial_sampling_percentage=capture.sampling_percent,
                destination_s3_uri=pulumi.Output.concat("s3://", store.bucket_names[capture.bucket], "/", capture_prefix),
                kms_key_id=kms,
                capture_options=[
                    aws.sagemaker.EndpointConfigurationDataCaptureConfigCaptureOptionArgs(capture_mode="Input"),
                    aws.sagemaker.EndpointConfigurationDataCaptureConfigCaptureOptionArgs(capture_mode="Output"),
                ],
            )
        config = aws.sagemaker.EndpointConfiguration(
            f"{name}-config",
            production_variants=[
                aws.sagemaker.EndpointConfigurationProductionVariantArgs(
                    variant_name=VARIANT,
                    model_name=model.name,
                    initial_instance_count=ep.min_instances,
                    instance_type=instance_type,
                )
            ],
            # Local-NVMe instance types are hardware-encrypted and reject a KMS key.
            kms_key_arn=None if has_instance_storage(instance_type) else kms,
            data_capture_config=data_capture,
            tags=tags,
            opts=child_opts(self),
        )
        return config

    def _autoscaling(self, name: str, args: ModelEndpointArgs, endpoint: aws.sagemaker.Endpoint) -> None:
        """Application Auto Scaling of the variant on invocations per instance."""
        ep = args.endpoint
        target = aws.appautoscaling.Target(
            f"{name}-scaling-target",
            service_namespace="sagemaker",
            scalable_dimension=SCALABLE_DIMENSION,
            resource_id=pulumi.Output.concat("endpoint/", endpoint.name, "/variant/", VARIANT),
            min_capacity=ep.min_instances,
            max_capacity=ep.max_instances,
            opts=child_opts(self),
        )
        aws.appautoscaling.Policy(
            f"{name}-scaling-policy",
            policy_type="TargetTrackingScaling",
            service_namespace=target.service_namespace,
            scalable_dimension=target.scalable_dimension,
            resource_id=target.resource_id,
            target_tracking_scaling_policy_configuration=aws.appautoscaling.PolicyTargetTrackingScalingPolicyConfigurationArgs(
                target_value=float(ep.autoscaling.invocations_per_instance),
                predefined_metric_specification=aws.appautoscaling.PolicyTargetTrackingScalingPolicyConfigurationPredefinedMetricSpecificationArgs(
                    predefined_metric_type="SageMakerVariantInvocationsPerInstance"
                ),
                scale_in_cooldown=300,
                scale_out_cooldown=60,
            ),
            opts=child_opts(self),
        )
