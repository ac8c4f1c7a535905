"""AWS container registry: ECR repositories with scan on push, immutable tags, KMS
encryption and a lifecycle policy that expires untagged images."""

from __future__ import annotations

import pulumi
import pulumi_aws as aws

from mlops_stack.args import ContainerRegistryArgs, child_opts, merge_opts, resource_tags, stateful_opts
from mlops_stack.aws._shared import key_arn
from mlops_stack.aws.policies import ecr_lifecycle_policy


class ContainerRegistry(pulumi.ComponentResource):
    """``mlops:aws:ContainerRegistry``. Outputs: ``registry_url`` (the account's registry
    host) and ``repository_urls`` (per repository name)."""

    registry_url: pulumi.Output[str]
    repository_urls: dict[str, pulumi.Output[str]]
    repository_arns: dict[str, pulumi.Output[str]]

    def __init__(self, name: str, args: ContainerRegistryArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("mlops:aws:ContainerRegistry", name, None, merge_opts(opts))
        env, spec = args.env, args.registry
        kms = key_arn(args.keys)
        encryption = (
            [aws.ecr.RepositoryEncryptionConfigurationArgs(encryption_type="KMS", kms_key=kms)]
            if kms is not None
            else [aws.ecr.RepositoryEncryptionConfigurationArgs(encryption_type="AES256")]
        )
        self.repository_urls, self.repository_arns = {}, {}
        first = None
        for repo_name in spec.repositories:
            repo = aws.ecr.Repository(
                f"{name}-{repo_name}",
                name=f"{env.prefix}/{repo_name}",
                image_tag_mutability="IMMUTABLE" if spec.immutable_tags else "MUTABLE",
                image_scanning_configuration=aws.ecr.RepositoryImageScanningConfigurationArgs(scan_on_push=True),
                encryption_configurations=encryption,
                force_delete=False,
                tags=resource_tags(env),
                opts=stateful_opts(self, env),
            )
            aws.ecr.LifecyclePolicy(
                f"{name}-{repo_name}-lifecycle",
                repository=repo.name,
                policy=ecr_lifecycle_policy(spec.untagged_expiry_days),
                opts=child_opts(self),
            )
            self.repository_urls[repo_name] = repo.repository_url
            self.repository_arns[repo_name] = repo.arn
            first = first or repo
        self.registry_url = first.repository_url.apply(lambda url: url.split("/", 1)[0]) if first else pulumi.Output.from_input("")
        self.register_outputs(
            {"registry_url": self.registry_url, "repository_urls": self.repository_urls, "repository_arns": self.repository_arns}
        )
