"""A platform team's program: it already runs an EKS cluster, and adds two pieces from
mlops-stack — a GPU node pool on that cluster (given by name) and a hardened artifact
store — without adopting the whole environment."""

import pulumi

from mlops_stack import ArtifactStoreArgs, BucketSpec, Env, GpuNodePoolArgs, GpuPoolSpec, StorageSpec
from mlops_stack.aws import ArtifactStore, ExistingCluster, GpuNodePool

config = pulumi.Config()
env = Env(
    name="platform",
    environment=config.get("environment") or "dev",
    region=pulumi.Config("aws").require("region"),
    tags={"owner": "ml-platform", "cost-center": "ml-1234"},
)

store = ArtifactStore(
    "ml-data",
    ArtifactStoreArgs(env=env, storage=StorageSpec(buckets=[BucketSpec(name="features", size_gb=50)])),
)

pool = GpuNodePool(
    "l4-inference",
    GpuNodePoolArgs(
        env=env,
        pool=GpuPoolSpec(name="inference", gpu="nvidia-l4", gpus_per_node=1, min_nodes=0, max_nodes=3),
        # Subnets are looked up from the cluster; a node role is created for the pool.
        cluster=ExistingCluster(name=config.require("clusterName")),
    ),
)

pulumi.export("bucket_uris", store.bucket_uris)
pulumi.export("gpu_pool", {"pool_name": pool.pool_name, "instance_type": pool.instance_type, "max_nodes": pool.max_nodes})
