"""${DESCRIPTION}

The whole environment, built by mlops-stack from one spec: the `mlops-stack:*` keys of
Pulumi.<stack>.yaml. Add buckets, GPU pools, endpoints and namespaces there (every key
is in mlops-stack's docs/spec.md); plan offline with `mlops-stack plan --program .`.

To reuse single components instead of the whole environment, build them here, e.g.
`from mlops_stack.gcp import ArtifactStore, GpuNodePool` (mlops-stack's README,
"Reusing components").
"""

import pulumi

from mlops_stack.program import main

# The project is the GCP provider's own setting (gcp:project), unless the stack file sets
# mlops-stack:gcp.project.
project = pulumi.Config("gcp").get("project")
main(defaults={"gcp": {"project": project}} if project else None)
