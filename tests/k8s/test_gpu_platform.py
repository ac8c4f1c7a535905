"""GPU pools that scale and GPUs that schedule (issue 11): the per-item guarantees.

What each test pins down is the exact plan input a live cluster depends on: the DCGM
exporter admitted on GKE, able to reach the GPUs there, GPU partitions that exist, the
autoscaler's view of a GPU node group at zero, and the rejected combinations.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from k8s_helpers import RELEASE, plan_variant, release, spec_value
from planning import example_stacks, plan_example
from mlops_stack import catalog
from mlops_stack.errors import ConfigError
from mlops_stack.k8s import charts
from mlops_stack.k8s._common import CRITICAL_POD_HEADROOM, CRITICAL_PRIORITY_CLASSES
from mlops_stack.k8s.gpu import PODS_PER_GPU_NODE
from mlops_stack.k8s.monitoring import DCGM_COUNTERS_MOUNT
from mlops_stack.offline.engine import Plan

STACKS = example_stacks()
CLOUDS = sorted({s.rsplit("-", 1)[-1] for s in STACKS})


def _dev(cloud: str) -> str:
    found = sorted(s for s in STACKS if s.endswith("-" + cloud))
    if not found:
        pytest.skip(f"no {cloud} example stack")
    return found[0]


def _max_nodes(stack: str) -> int:
    return sum(p["maxNodes"] for p in spec_value(stack, "cluster")["gpuPools"])


def _quota(plan: Plan, namespace: str) -> Any:
    (quota,) = [q for q in plan.of_type("kubernetes:core/v1:ResourceQuota") if q.inputs["metadata"]["namespace"] == namespace]
    return quota


# --------------------------------------------------------------------------- 2, 8: DCGM exporter admitted, stated in full


@pytest.mark.parametrize("stack", STACKS)
def test_dcgm_exporter_priority_is_admitted_by_a_quota_in_its_namespace(stack: str) -> None:
    """GKE admits system-node-critical pods outside kube-system only under a ResourceQuota
    scoped to that class; the exporter's namespace has one, sized for every GPU node."""
    plan = plan_example(stack)
    dcgm = release(plan, charts.DCGM_EXPORTER.name)
    values = dcgm.inputs["values"]
    assert values["priorityClassName"] == "system-node-critical"
    quota = _quota(plan, "monitoring")
    (scope,) = quota.inputs["spec"]["scopeSelector"]["matchExpressions"]
    assert scope == {"scopeName": "PriorityClass", "operator": "In", "values": list(CRITICAL_PRIORITY_CLASSES)}
    assert values["priorityClassName"] in scope["values"]
    assert quota.inputs["spec"]["hard"] == {"pods": str(_max_nodes(stack) + CRITICAL_POD_HEADROOM)}
    assert quota.urn in dcgm.dependencies


@pytest.mark.parametrize("stack", STACKS)
def test_gpu_namespace_quota_fits_every_gpu_node(stack: str) -> None:
    plan = plan_example(stack)
    ns = "nvidia-device-plugin"
    if not [q for q in plan.of_type("kubernetes:core/v1:ResourceQuota") if q.inputs["metadata"]["namespace"] == ns]:
        pytest.skip("the cloud runs the device plugin")
    expected = PODS_PER_GPU_NODE["device-plugin"] * _max_nodes(stack) + CRITICAL_POD_HEADROOM
    assert _quota(plan, ns).inputs["spec"]["hard"] == {"pods": str(expected)}


@pytest.mark.parametrize("stack", STACKS)
def test_dcgm_resources_are_stated_in_full(stack: str) -> None:
    """Helm merges maps: the chart's 200m CPU limit would otherwise stay (issue 11.8)."""
    values = release(plan_example(stack), charts.DCGM_EXPORTER.name).inputs["values"]
    assert values["resources"] == {"requests": {"cpu": "100m", "memory": "256Mi"}, "limits": {"cpu": "1", "memory": "1Gi"}}


@pytest.mark.parametrize("stack", STACKS)
def test_idle_gpus_are_not_reported_under_the_exporters_namespace(stack: str) -> None:
    """Issue 11.9: the exporter pod's own namespace/pod labels are dropped, so only a GPU's
    workload labels (when it has one) remain."""
    monitor = release(plan_example(stack), charts.DCGM_EXPORTER.name).inputs["values"]["serviceMonitor"]
    assert monitor["honorLabels"] is True
    assert {"regex": "namespace|pod|container", "action": "labeldrop"} in monitor["relabelings"]


# --------------------------------------------------------------------------- 3: DCGM on GKE


def test_dcgm_on_gke_reaches_the_gpus() -> None:
    values = release(plan_example(_dev("gcp")), charts.DCGM_EXPORTER.name).inputs["values"]
    # privileged needs escalation allowed: the chart's default context says false, and the API
    # server refuses the pair (tests/k8s/test_k8s_validation.py has the rule and the old override).
    assert values["securityContext"] == {"privileged": True, "allowPrivilegeEscalation": True}
    env = {e["name"]: e["value"] for e in values["extraEnv"]}
    assert env == {"LD_LIBRARY_PATH": "/usr/local/nvidia/lib64", "DCGM_EXPORTER_KUBERNETES_GPU_ID_TYPE": "device-name"}
    # The chart's own counters mount stays, the driver directory is added.
    assert values["extraVolumeMounts"] == [
        DCGM_COUNTERS_MOUNT,
        {"name": "nvidia-install-dir-host", "mountPath": "/usr/local/nvidia", "readOnly": True},
    ]
    assert values["extraHostVolumes"] == [{"name": "nvidia-install-dir-host", "hostPath": "/home/kubernetes/bin/nvidia"}]


@pytest.mark.parametrize("cloud", [c for c in CLOUDS if c != "gcp"])
def test_dcgm_elsewhere_is_not_privileged(cloud: str) -> None:
    values = release(plan_example(_dev(cloud)), charts.DCGM_EXPORTER.name).inputs["values"]
    assert "securityContext" not in values and values["extraVolumeMounts"] == [DCGM_COUNTERS_MOUNT]


# --------------------------------------------------------------------------- 5: MIG partitions for real


def _mig(stack: str, **gpu: Any) -> Plan:
    cluster = {**spec_value(stack, "cluster"), "gpuPools": [{"name": "mig", "gpu": "nvidia-a100-80gb", "gpusPerNode": 8 if stack.endswith("-aws") else 1, "maxNodes": 2}]}
    return plan_variant(stack, cluster=cluster, gpu={"sharing": {"mode": "mig", "migProfile": "all-1g.10gb"}, **gpu})


def test_mig_on_gke_sets_the_partition_size() -> None:
    plan = _mig(_dev("gcp"))
    (pool,) = [p for p in plan.of_type("gcp:container/nodePool:NodePool") if p.name.endswith("gpu-mig-nodes")]
    (acc,) = pool.inputs["nodeConfig"]["guestAccelerators"]
    assert acc["gpuPartitionSize"] == "1g.10gb"
    assert not [r for r in plan.of_type(RELEASE) if r.inputs["chart"] in ("nvidia-device-plugin", "gpu-operator")]


def test_mig_on_aks_sets_the_instance_profile_and_the_plugin_strategy() -> None:
    plan = _mig(_dev("azure"))
    (pool,) = [p for p in plan.of_type("azure-native:containerservice:AgentPool") if p.name.endswith("gpu-mig-pool")]
    assert pool.inputs["gpuInstanceProfile"] == "MIG1g"
    (config,) = [c for c in plan.of_type("kubernetes:core/v1:ConfigMap") if c.inputs["metadata"]["name"] == "nvidia-device-plugin-config"]
    assert "migStrategy: single" in config.inputs["data"]["default"]


def test_mig_with_the_operator_on_aks_leaves_partitioning_to_aks() -> None:
    values = release(_mig(_dev("azure"), driver="operator"), charts.GPU_OPERATOR.name).inputs["values"]
    assert values["migManager"] == {"enabled": False} and values["mig"] == {"strategy": "single"}


def test_mig_on_eks_needs_the_operator() -> None:
    with pytest.raises(ConfigError) as err:
        _mig(_dev("aws"))
    assert str(err.value).startswith("gpu.sharing.mode: 'mig' mig on EKS needs the GPU Operator's MIG manager")
    values = release(_mig(_dev("aws"), driver="operator"), charts.GPU_OPERATOR.name).inputs["values"]
    assert values["migManager"] == {"enabled": True, "config": {"default": "all-1g.10gb"}}


@pytest.mark.parametrize("cloud", ["aws", "gcp", "azure"])
def test_a_profile_the_gpu_lacks_is_a_config_error(cloud: str) -> None:
    stack = _dev(cloud)
    cluster = {**spec_value(stack, "cluster"), "gpuPools": [{"name": "mig", "gpu": "nvidia-a100-80gb", "gpusPerNode": 8 if cloud == "aws" else 1, "maxNodes": 2}]}
    gpu: dict[str, Any] = {"driver": "operator"} if cloud == "aws" else {}
    with pytest.raises(ConfigError) as err:
        plan_variant(stack, cluster=cluster, gpu={**gpu, "sharing": {"mode": "mig", "migProfile": "all-1g.5gb"}})
    assert str(err.value).startswith("gpu.sharing.migProfile: 'all-1g.5gb' is not a MIG profile of nvidia-a100-80gb (cluster.gpuPools[0])")
    with pytest.raises(ConfigError) as err:
        plan_variant(stack, cluster=cluster, gpu={**gpu, "sharing": {"mode": "mig"}})
    assert str(err.value).startswith("gpu.sharing.migProfile: None must name the partition of every GPU")


# --------------------------------------------------------------------------- 6: GPU Operator on GKE


def test_gpu_operator_on_gke_is_a_config_error() -> None:
    with pytest.raises(ConfigError) as err:
        plan_variant(_dev("gcp"), gpu={"driver": "operator"})
    assert str(err.value).startswith("gpu.driver: 'operator' operator is not supported on GKE")


# --------------------------------------------------------------------------- 9: GKE taint, AKS A10 sizes


def test_gke_gpu_pools_declare_no_second_gpu_taint() -> None:
    for stack in (s for s in STACKS if s.endswith("-gcp")):
        for pool in plan_example(stack).of_type("gcp:container/nodePool:NodePool"):
            assert not [t for t in pool.inputs["nodeConfig"].get("taints") or [] if t["key"] == "nvidia.com/gpu"], pool.name


def test_aks_catalog_offers_no_partial_a10_sizes() -> None:
    """NVadsA10 v5 sizes below NV36ads are fractions of a GPU (vGPU, GRID driver only): the
    AKS GPU driver and the device plugin expect whole GPUs, so node pools never get them."""
    sizes = {o.instance_type for o in catalog.offered("azure", "nodepool") if o.gpu == "nvidia-a10"}
    assert sizes and not {s for s in sizes if s.startswith(("Standard_NV6ads", "Standard_NV12ads", "Standard_NV18ads"))}


# --------------------------------------------------------------------------- 1 (issue 13): GPU node groups at zero on EKS


@pytest.mark.parametrize("stack", [s for s in STACKS if s.endswith("-aws")])
def test_eks_gpu_groups_describe_themselves_to_the_autoscaler(stack: str) -> None:
    plan = plan_example(stack)
    urns = plan.by_urn()
    tags = plan.of_type("aws:autoscaling/tag:Tag")
    for group in plan.of_type("aws:eks/nodeGroup:NodeGroup"):
        if urns[group.parent].type != "mlops:aws:GpuNodePool":
            continue
        labels = group.inputs["labels"]
        assert labels["k8s.amazonaws.com/accelerator"] == labels["mlops-stack/gpu"]
        asg = group.outputs["resources"][0]["autoscalingGroups"][0]["name"]
        mine = {t.inputs["tag"]["key"]: t.inputs["tag"] for t in tags if t.parent == group.parent}
        assert all(t["propagateAtLaunch"] is False for t in mine.values())
        assert {t.inputs["autoscalingGroupName"] for t in tags if t.parent == group.parent} == {asg}
        expected = {f"k8s.io/cluster-autoscaler/node-template/label/{k}": v for k, v in labels.items()}
        expected["k8s.io/cluster-autoscaler/node-template/taint/nvidia.com/gpu"] = "true:NoSchedule"
        assert {k: t["value"] for k, t in mine.items()} == expected


def test_autoscaler_values_state_the_chart_defaults_they_change() -> None:
    values = json.loads(json.dumps(next(r for r in plan_example(_dev("aws")).of_type(RELEASE) if r.inputs["chart"] == "cluster-autoscaler").inputs["values"]))
    assert values["extraArgs"]["v"] == 2 and values["extraArgs"]["logtostderr"] is True and values["extraArgs"]["stderrthreshold"] == "info"
    assert values["resources"]["limits"] == {"cpu": "1", "memory": "600Mi"}
