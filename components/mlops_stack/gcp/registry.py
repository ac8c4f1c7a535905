"""GCP container registry: Artifact Registry Docker repositories in the stack's region,
with immutable tags, CMEK, a cleanup policy that deletes untagged images, and automatic
vulnerability scanning (the Container Scanning API is enabled with the registry)."""

from __future__ import annotations

import pulumi
import pulumi_gcp as gcp

from mlops_stack.args import ContainerRegistryArgs, merge_opts, resource_tags, stateful_opts
from mlops_stack.gcp._shared import enable_services, key_dependencies, key_for, labels, project_info

SECONDS_PER_DAY = 86400


def cleanup_policies(untagged_expiry_days: int) -> list[gcp.artifactregistry.RepositoryCleanupPolicyArgs]:
    """Delete untagged images older than N days; tagged images are never touched."""
    return [
        gcp.artifactregistry.RepositoryCleanupPolicyArgs(
            id="delete-untagged",
            action="DELETE",
            condition=gcp.artifactregistry.RepositoryCleanupPolicyConditionArgs(
                tag_state="UNTAGGED", older_than=f"{untagged_expiry_days * SECONDS_PER_DAY}s"
            ),
        )
    ]


def registry_host(region: str) -> str:
    return f"{region}-docker.pkg.dev"


class ContainerRegistry(pulumi.ComponentResource):
    """``mlops:gcp:ContainerRegistry``. Outputs: ``registry_url``
    (``<region>-docker.pkg.dev/<project>``), ``repository_urls`` (per name), and
    ``repository_ids`` (resource IDs), ``repository_names`` (repository IDs), ``location``;
    ``repositories`` (the Repository resources, for ordering what pulls from them)."""

    registry_url: pulumi.Output[str]
    repositories: dict[str, gcp.artifactregistry.Repository]
    repository_urls: dict[str, pulumi.Output[str]]
    repository_ids: dict[str, pulumi.Output[str]]
    repository_names: dict[str, pulumi.Output[str]]
    location: str

    def __init__(self, name: str, args: ContainerRegistryArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("mlops:gcp:ContainerRegistry", name, None, merge_opts(opts))
        env, spec = args.env, args.registry
        project, _number = project_info(self)
        # Container Scanning is what Artifact Registry's automatic vulnerability scanning
        # runs on: without the API, pushed images are never scanned.
        apis = enable_services(self, name, ["artifactregistry.googleapis.com", "containerscanning.googleapis.com"])
        kms = key_for(args.keys, "registry")
        self.repository_urls, self.repository_ids, self.repository_names, self.repositories = {}, {}, {}, {}
        for repo_name in spec.repositories:
            repo = gcp.artifactregistry.Repository(
                f"{name}-{repo_name}",
                repository_id=f"{env.prefix}-{repo_name}",
                format="DOCKER",
                location=env.region,
                description=f"mlops-stack {env.prefix}: {repo_name} images",
                docker_config=gcp.artifactregistry.RepositoryDockerConfigArgs(immutable_tags=spec.immutable_tags),
                kms_key_name=kms,
                cleanup_policies=cleanup_policies(spec.untagged_expiry_days),
                cleanup_policy_dry_run=False,
                labels=labels(resource_tags(env)),
                opts=stateful_opts(self, env, depends_on=[*apis, *key_dependencies(args.keys)]),
            )
            self.repositories[f"{env.prefix}-{repo_name}"] = repo
            self.repository_urls[repo_name] = repo.registry_uri
            self.repository_ids[repo_name] = repo.id
            self.repository_names[repo_name] = repo.repository_id
        self.location = env.region
        self.registry_url = pulumi.Output.concat(registry_host(env.region), "/", project)
        self.register_outputs(
            {
                "registry_url": self.registry_url,
                "repository_urls": self.repository_urls,
                "repository_ids": self.repository_ids,
                "repository_names": self.repository_names,
            }
        )
