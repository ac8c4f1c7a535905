"""${DESCRIPTION}

The whole environment, built by mlops-stack from one spec: the `mlops-stack:*` keys of
Pulumi.<stack>.yaml. Add buckets, GPU pools, endpoints and namespaces there (every key
is in mlops-stack's docs/spec.md); plan offline with `mlops-stack plan --program .`.

To reuse single components instead of the whole environment, build them here, e.g.
`from mlops_stack.aws import ArtifactStore, GpuNodePool` (mlops-stack's README, "Reusing components").
"""

from mlops_stack.program import main

main()
