"""GCP model registry: the Vertex AI Model Registry of the project and region.

Vertex keeps one registry per project and region; there is nothing to create but the
API. ``model_registry_id`` is its resource path, ``projects/<p>/locations/<r>/models``,
the parent every model upload names. The spec's registry ``name`` becomes the
``mlops-stack-registry`` label the endpoint puts on the models it uploads.
"""

from __future__ import annotations

import pulumi

from mlops_stack.args import ModelRegistryArgs, merge_opts
from mlops_stack.gcp._shared import enable_services, project_info

AIPLATFORM_API = "aiplatform.googleapis.com"


class ModelRegistry(pulumi.ComponentResource):
    """``mlops:gcp:ModelRegistry``. Outputs: ``model_registry_id`` and ``location``,
    ``registry_label`` (the label value of models registered by this stack)."""

    model_registry_id: pulumi.Output[str]
    location: str
    registry_label: str

    def __init__(self, name: str, args: ModelRegistryArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("mlops:gcp:ModelRegistry", name, None, merge_opts(opts))
        env, spec = args.env, args.registry
        project, _number = project_info(self)
        apis = enable_services(self, name, [AIPLATFORM_API])
        api_ready = apis[0].service
        self.model_registry_id = pulumi.Output.all(project, api_ready).apply(lambda v: f"projects/{v[0]}/locations/{env.region}/models")
        self.location = env.region
        self.registry_label = f"{env.prefix}-{spec.name}"
        self.register_outputs({"model_registry_id": self.model_registry_id, "location": self.location, "registry_label": self.registry_label})
