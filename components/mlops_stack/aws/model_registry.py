"""AWS model registry: a SageMaker model package group."""

from __future__ import annotations

import pulumi
import pulumi_aws as aws

from mlops_stack.args import ModelRegistryArgs, merge_opts, resource_tags, stateful_opts


class ModelRegistry(pulumi.ComponentResource):
    """``mlops:aws:ModelRegistry``. Outputs: ``model_registry_id`` (the group's ARN) and
    ``model_package_group_name``."""

    model_registry_id: pulumi.Output[str]
    model_package_group_name: pulumi.Output[str]

    def __init__(self, name: str, args: ModelRegistryArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("mlops:aws:ModelRegistry", name, None, merge_opts(opts))
        env, spec = args.env, args.registry
        group = aws.sagemaker.ModelPackageGroup(
            f"{name}-group",
            model_package_group_name=f"{env.prefix}-{spec.name}",
            model_package_group_description=spec.description,
            tags=resource_tags(env),
            # SageMaker cannot update a group's description (no such field in
            # UpdateModelPackageGroup; the provider marks it force-new): a changed
            # description would replace this fixed-name, protected group. It is set at
            # creation only.
            opts=stateful_opts(self, env, ignore_changes=["modelPackageGroupDescription"]),
        )
        self.model_registry_id = group.arn
        self.model_package_group_name = group.model_package_group_name
        self.register_outputs({"model_registry_id": self.model_registry_id, "model_package_group_name": self.model_package_group_name})
