"""What the Kubernetes API server, Pod Security admission, the kubelet and the cluster's
admission policy do with every pod the stacks create, checked offline.

A mock accepts any object; a real cluster does not. So every pod template of every example
plan is rebuilt and checked here - the plan's own Deployments, the predictor pods KServe makes
from each InferenceService (with the storage initializer it injects), and every pod the
installed charts render with the values the plan sets (hook jobs and subcharts included).
Chart pods are built from upstream facts kept per pinned chart version
(``tests/fixtures/charts/<chart>-<version>.pods.json``: images, security contexts and the
values path that overrides each, ports, webhooks, each with its source), merged with the
plan's values as Helm merges them.

Rules applied (sources beside each): the API server's securityContext validation
(k8s.io/kubernetes pkg/apis/core/validation/validation.go ``ValidateSecurityContext``:
``allowPrivilegeEscalation: false`` with ``privileged: true`` or with ``capabilities.add``
``CAP_SYS_ADMIN`` is rejected; requests above limits are rejected; a liveness/startup probe's
``successThreshold`` must be 1 and a probe has one handler); the kubelet's refusal to start a
``runAsNonRoot`` container whose user is 0; Pod Security Standards (``baseline`` and
``restricted``, kubernetes.io "Pod Security Standards") for the namespace's enforce level.

Also here, over every plan: every image matches the admission allowlist of the stack that
installs one; every webhook and aggregated-API port is reachable from the control plane where
nodes are private; every HPA's metrics API is served; control-plane scrape jobs only where the
cluster exposes the component; every custom resource depends on what defines its kind.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

import pytest

from k8s_helpers import RELEASE
from planning import example_stacks, plan_example
from mlops_stack.k8s import charts
from mlops_stack.k8s._common import deep_merge
from mlops_stack.k8s.monitoring import SCRAPE_TARGET_DEFAULT_OFF, SCRAPE_TARGET_KEYS, dcgm_exporter_values
from mlops_stack.offline.engine import Plan, Registration

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
STACKS = example_stacks()
CLUSTER_FACTS = json.loads((FIXTURES / "k8s-cluster-facts.json").read_text(encoding="utf-8"))

PSS_ENFORCE = "pod-security.kubernetes.io/enforce"
#: Pod Security Standards "baseline": capabilities a container may add (kubernetes.io docs
#: "Pod Security Standards", Baseline > Capabilities).
BASELINE_CAPABILITIES = {"AUDIT_WRITE", "CHOWN", "DAC_OVERRIDE", "FOWNER", "FSETID", "KILL", "MKNOD", "NET_BIND_SERVICE",
                         "SETFCAP", "SETGID", "SETPCAP", "SETUID", "SYS_CHROOT"}
LEVELS = {"privileged": 0, "baseline": 1, "restricted": 2}
#: Pod Security Standards "restricted": the only volume types a pod may use (kubernetes.io
#: docs "Pod Security Standards", Restricted > Volume Types, read 2026-12-08): the generic
#: ephemeral volume of the MLflow transfer space is one of them.
RESTRICTED_VOLUME_TYPES = {"configMap", "csi", "downwardAPI", "emptyDir", "ephemeral", "persistentVolumeClaim", "projected", "secret"}


# --------------------------------------------------------------------------- chart facts


@cache
def pod_facts(chart: str, version: str) -> dict[str, Any] | None:
    path = FIXTURES / "charts" / f"{chart}-{version}.pods.json"
    return json.loads(path.read_text(encoding="utf-8")) if path.exists() else None


def chart_name(reference: str) -> str:
    return reference.rsplit("/", 1)[-1]


def get(values: Mapping[str, Any] | None, path: str | None, default: Any = None) -> Any:
    node: Any = values or {}
    for part in (path or "").split("."):
        if not path:
            return default
        if not isinstance(node, Mapping) or part not in node:
            return default
        node = node[part]
    return node


def when(conditions: list[dict[str, Any]], values: Mapping[str, Any]) -> bool:
    return all(get(values, c["path"], c["default"]) for c in conditions)


@dataclass
class Pod:
    """One pod template as the API server would receive it (only what the rules read)."""

    where: str
    namespace: str
    spec: dict[str, Any]
    images: list[str] = field(default_factory=list)


def container_context(fact: dict[str, Any], values: Mapping[str, Any]) -> dict[str, Any]:
    sc = fact["securityContext"]
    ours = get(values, sc["values"]) if sc["values"] else None
    if "defaultIf" in sc:
        # A template helper: the values' context when set, else a computed default.
        if ours:
            return dict(ours)
        for case in sc["defaultIf"]:
            if get(values, case["path"]):
                return dict(case["value"])
        return dict(sc["default"])
    return deep_merge(sc["default"], ours if isinstance(ours, Mapping) else None)


def image_of(fact: dict[str, Any], values: Mapping[str, Any]) -> str:
    image = fact["image"]
    keys = fact.get("imageValues")
    if keys:
        repo, _, tag = image.rpartition(":")
        image = f"{get(values, keys['repository'], repo)}:{get(values, keys['tag'], tag)}"
    return image


def chart_pods(release: Registration, values: Mapping[str, Any] | None = None) -> Iterator[Pod]:
    """The pods ``release`` renders: its chart's facts merged with its values."""
    facts = pod_facts(chart_name(release.inputs["chart"]), release.inputs["version"])
    values = release.inputs.get("values") or {} if values is None else values
    for wl in (facts or {}).get("workloads", []):
        if not when(wl["when"], values):
            continue
        pod_sc = deep_merge(wl["pod"]["securityContext"]["default"], get(values, wl["pod"]["securityContext"]["values"]) or None)
        pod_sc.pop("enabled", None)
        spec: dict[str, Any] = {"securityContext": pod_sc, "containers": [], "initContainers": []}
        if wl["pod"]["hostNetwork"]:
            spec["hostNetwork"] = True
        if wl["pod"]["hostPID"]:
            spec["hostPID"] = True
        if wl["pod"]["hostPathVolumes"]:
            spec["volumes"] = [{"name": "host", "hostPath": {"path": "/"}}]
        images = []
        for fact in wl["containers"]:
            if not when(fact.get("when", []), values):
                continue
            container = {"name": fact["name"], "image": image_of(fact, values), "securityContext": container_context(fact, values)}
            if fact.get("resources"):
                container["resources"] = get(values, fact["resources"]["values"]) or {}
            spec["initContainers" if fact["init"] else "containers"].append(container)
            images.append(container["image"])
        ns = release.inputs["namespace"] if wl["namespace"] == "release" else wl["namespace"]
        yield Pod(f"{release.name}/{wl['name']}", ns, spec, images)


def kserve_release(plan: Plan) -> Registration | None:
    found = [r for r in plan.of_type(RELEASE) if chart_name(r.inputs["chart"]) == charts.KSERVE_RESOURCES.name]
    return found[0] if found else None


def runtime_image(plan: Plan, runtime: str) -> str:
    """The image of a ClusterServingRuntime the runtimes release installs (our value or the chart's)."""
    key = runtime.removeprefix("kserve-").replace("-serving", "")
    rel = [r for r in plan.of_type(RELEASE) if chart_name(r.inputs["chart"]) == charts.KSERVE_RUNTIME_CONFIGS.name][0]
    return str(get(rel.inputs["values"], f"kserve.servingruntime.{key}.image", f"kserve/{key}"))


def predictor_pods(plan: Plan) -> Iterator[Pod]:
    """The predictor pod KServe builds from each InferenceService: the model container and
    the storage initializer its pod webhook injects (ClusterStorageContainer ``default``)."""
    kserve = kserve_release(plan)
    injected = pod_facts(charts.KSERVE_RESOURCES.name, charts.KSERVE_RESOURCES.version)["runtimeImages"][0]["injected"]
    for isvc in plan.of_type("kubernetes:serving.kserve.io/v1beta1:InferenceService"):
        predictor = isvc.inputs["spec"]["predictor"]
        values = kserve.inputs.get("values") or {} if kserve else {}
        init = {
            "name": injected["name"],
            "image": f"{get(values, injected['image_values'], 'kserve/storage-initializer')}:{charts.KSERVE_RESOURCES.version}",
            "securityContext": deep_merge(injected["securityContext"]["default"], get(values, injected["securityContext"]["values"])),
            "resources": injected["resources"],
        }
        if "model" in predictor:
            model = predictor["model"]
            main = [{"name": "kserve-container", "image": runtime_image(plan, model["runtime"]), **{k: model[k] for k in ("securityContext", "resources") if k in model}}]
        else:
            main = [dict(c) for c in predictor["containers"]]
        spec = {"securityContext": predictor.get("securityContext", {}), "containers": main, "initContainers": [init]}
        yield Pod(f"{isvc.name} (predictor)", isvc.inputs["metadata"]["namespace"], spec, [c["image"] for c in (*main, init)])


def plan_workload_pods(plan: Plan) -> Iterator[Pod]:
    for kind in ("Deployment", "StatefulSet", "DaemonSet"):
        for r in plan.of_type(f"kubernetes:apps/v1:{kind}"):
            spec = r.inputs["spec"]["template"]["spec"]
            yield Pod(r.name, r.inputs["metadata"]["namespace"], spec, [c["image"] for c in (*spec.get("initContainers", []), *spec["containers"])])


def all_pods(plan: Plan) -> list[Pod]:
    pods = list(plan_workload_pods(plan)) + list(predictor_pods(plan))
    for release in plan.of_type(RELEASE):
        pods.extend(chart_pods(release))
    return pods


def namespace_levels(plan: Plan) -> dict[str, str]:
    """Enforced Pod Security level per namespace the plan creates; any other namespace
    (kube-system) runs with the API server's default, ``privileged``."""
    return {
        r.inputs["metadata"]["name"]: (r.inputs["metadata"].get("labels") or {}).get(PSS_ENFORCE, "privileged")
        for r in plan.of_type("kubernetes:core/v1:Namespace")
    }


# --------------------------------------------------------------------------- the rules

_UNITS = {"": 1, "m": 1e-3, "k": 1e3, "M": 1e6, "G": 1e9, "T": 1e12, "Ki": 2**10, "Mi": 2**20, "Gi": 2**30, "Ti": 2**40}


def quantity(text: Any) -> float:
    m = re.fullmatch(r"([0-9.]+)([a-zA-Z]*)", str(text))
    assert m and m.group(2) in _UNITS, f"not a Kubernetes quantity: {text!r}"
    return float(m.group(1)) * _UNITS[m.group(2)]


def effective(pod_sc: Mapping[str, Any], sc: Mapping[str, Any], key: str) -> Any:
    """A container's setting, falling back to the pod's (runAsUser, runAsNonRoot, seccompProfile)."""
    return sc.get(key, pod_sc.get(key))


def containers(spec: Mapping[str, Any]) -> list[dict[str, Any]]:
    return [*spec.get("initContainers", []), *spec.get("containers", [])]


def api_errors(spec: Mapping[str, Any]) -> list[str]:
    """What the API server (and, for runAsNonRoot, the kubelet) refuses in a pod spec."""
    errors: list[str] = []
    pod_sc = spec.get("securityContext") or {}
    for c in containers(spec):
        sc, name = c.get("securityContext") or {}, c["name"]
        if sc.get("allowPrivilegeEscalation") is False:
            if sc.get("privileged") is True:
                errors.append(f"{name}: cannot set `allowPrivilegeEscalation` to false and `privileged` to true")
            if "CAP_SYS_ADMIN" in (sc.get("capabilities") or {}).get("add", []):
                errors.append(f"{name}: cannot set `allowPrivilegeEscalation` to false and `capabilities.Add` CAP_SYS_ADMIN")
        if effective(pod_sc, sc, "runAsNonRoot") is True and effective(pod_sc, sc, "runAsUser") == 0:
            errors.append(f"{name}: container's runAsUser breaks non-root policy (kubelet: CreateContainerConfigError)")
        res = c.get("resources") or {}
        for key, request in (res.get("requests") or {}).items():
            limit = (res.get("limits") or {}).get(key)
            if limit is not None and quantity(request) > quantity(limit):
                errors.append(f"{name}: resources.requests.{key} {request} must be less than or equal to the limit {limit}")
        for probe_key in ("livenessProbe", "readinessProbe", "startupProbe"):
            probe = c.get(probe_key)
            if probe is None:
                continue
            handlers = [h for h in ("exec", "httpGet", "tcpSocket", "grpc") if h in probe]
            if len(handlers) != 1:
                errors.append(f"{name}: {probe_key} must have exactly one handler, has {handlers}")
            if probe_key != "readinessProbe" and probe.get("successThreshold", 1) != 1:
                errors.append(f"{name}: {probe_key}.successThreshold must be 1")
            for k in ("periodSeconds", "timeoutSeconds", "failureThreshold"):
                if k in probe and probe[k] < 1:
                    errors.append(f"{name}: {probe_key}.{k} must be at least 1")
    return errors


def pss_errors(spec: Mapping[str, Any], level: str) -> list[str]:
    """Pod Security Standards violations of ``spec`` at ``level`` (baseline and restricted)."""
    errors: list[str] = []
    if LEVELS[level] >= 1:
        for key in ("hostNetwork", "hostPID", "hostIPC"):
            if spec.get(key):
                errors.append(f"baseline: {key}")
        if any("hostPath" in v for v in spec.get("volumes", [])):
            errors.append("baseline: hostPath volumes")
        for c in containers(spec):
            sc = c.get("securityContext") or {}
            if sc.get("privileged"):
                errors.append(f"baseline: {c['name']} privileged")
            extra = set((sc.get("capabilities") or {}).get("add", [])) - BASELINE_CAPABILITIES
            if extra:
                errors.append(f"baseline: {c['name']} adds capabilities {sorted(extra)}")
    if LEVELS[level] >= 2:
        for volume in spec.get("volumes", []):
            kinds = set(volume) - {"name"}
            if not kinds <= RESTRICTED_VOLUME_TYPES:
                errors.append(f"restricted: volume {volume['name']} is {sorted(kinds - RESTRICTED_VOLUME_TYPES)}")
        pod_sc = spec.get("securityContext") or {}
        for c in containers(spec):
            sc, name = c.get("securityContext") or {}, c["name"]
            if sc.get("allowPrivilegeEscalation") is not False:
                errors.append(f"restricted: {name} allowPrivilegeEscalation != false")
            if effective(pod_sc, sc, "runAsNonRoot") is not True:
                errors.append(f"restricted: {name} runAsNonRoot != true")
            if effective(pod_sc, sc, "runAsUser") == 0:
                errors.append(f"restricted: {name} runAsUser=0")
            if (effective(pod_sc, sc, "seccompProfile") or {}).get("type") not in ("RuntimeDefault", "Localhost"):
                errors.append(f"restricted: {name} seccompProfile not RuntimeDefault/Localhost")
            caps = sc.get("capabilities") or {}
            if "ALL" not in caps.get("drop", []):
                errors.append(f"restricted: {name} does not drop ALL capabilities")
            if set(caps.get("add", [])) - {"NET_BIND_SERVICE"}:
                errors.append(f"restricted: {name} adds {sorted(set(caps['add']) - {'NET_BIND_SERVICE'})}")
    return errors


def pod_errors(pod: Pod, levels: Mapping[str, str]) -> list[str]:
    level = levels.get(pod.namespace, "privileged")
    return [f"{pod.where} [{pod.namespace}, {level}]: {e}" for e in (*api_errors(pod.spec), *pss_errors(pod.spec, level))]


# --------------------------------------------------------------------------- the rules, alone


def test_rules_refuse_what_the_api_server_refuses() -> None:
    bad = {"containers": [{"name": "x", "securityContext": {"privileged": True, "allowPrivilegeEscalation": False}}]}
    assert api_errors(bad) == ["x: cannot set `allowPrivilegeEscalation` to false and `privileged` to true"]
    sys_admin = {"containers": [{"name": "x", "securityContext": {"allowPrivilegeEscalation": False, "capabilities": {"add": ["CAP_SYS_ADMIN"]}}}]}
    assert api_errors(sys_admin) == ["x: cannot set `allowPrivilegeEscalation` to false and `capabilities.Add` CAP_SYS_ADMIN"]
    # The API server compares the literal CAP_SYS_ADMIN: the DCGM chart's "SYS_ADMIN" passes validation.
    assert api_errors({"containers": [{"name": "x", "securityContext": {"allowPrivilegeEscalation": False, "capabilities": {"add": ["SYS_ADMIN"]}}}]}) == []
    root = {"securityContext": {"runAsNonRoot": True}, "containers": [{"name": "x", "securityContext": {"runAsUser": 0}}]}
    assert api_errors(root) == ["x: container's runAsUser breaks non-root policy (kubelet: CreateContainerConfigError)"]
    over = {"containers": [{"name": "x", "resources": {"requests": {"memory": "2Gi"}, "limits": {"memory": "1536Mi"}}}]}
    assert api_errors(over) == ["x: resources.requests.memory 2Gi must be less than or equal to the limit 1536Mi"]
    probe = {"containers": [{"name": "x", "livenessProbe": {"httpGet": {"path": "/"}, "successThreshold": 2}}]}
    assert api_errors(probe) == ["x: livenessProbe.successThreshold must be 1"]


def test_pod_security_levels() -> None:
    ok = {"securityContext": {"runAsNonRoot": True, "seccompProfile": {"type": "RuntimeDefault"}},
          "containers": [{"name": "x", "securityContext": {"allowPrivilegeEscalation": False, "capabilities": {"drop": ["ALL"]}}}],
          "initContainers": [{"name": "init", "securityContext": {}}]}
    # An init container counts: restricted wants no escalation and every capability dropped there too.
    assert pss_errors(ok, "restricted") == ["restricted: init allowPrivilegeEscalation != false", "restricted: init does not drop ALL capabilities"]
    assert pss_errors(ok, "baseline") == []
    host = {"hostNetwork": True, "containers": [{"name": "x", "securityContext": {"capabilities": {"add": ["SYS_ADMIN"]}}}]}
    assert pss_errors(host, "baseline") == ["baseline: hostNetwork", "baseline: x adds capabilities ['SYS_ADMIN']"]
    assert pss_errors(host, "privileged") == []
    volumes = {**ok, "initContainers": [], "volumes": [{"name": "t", "ephemeral": {}}, {"name": "s", "secret": {}}, {"name": "n", "nfs": {}}]}
    assert pss_errors(volumes, "restricted") == ["restricted: volume n is ['nfs']"]


# --------------------------------------------------------------------------- every plan


def test_every_chart_with_pods_has_pod_facts_for_its_pinned_version() -> None:
    """Charts that render pods have facts; kserve-crd (CRDs) and kserve-runtime-configs
    (ClusterServingRuntimes: templates of the predictor pods, checked through them) render none."""
    no_pods = {charts.KSERVE_CRD.name, charts.KSERVE_RUNTIME_CONFIGS.name, charts.GPU_OPERATOR.name}
    for stack in STACKS:
        for release in plan_example(stack).of_type(RELEASE):
            name = chart_name(release.inputs["chart"])
            if name not in no_pods:
                facts = pod_facts(name, release.inputs["version"])
                assert facts is not None, f"{stack}: no tests/fixtures/charts/{name}-{release.inputs['version']}.pods.json"
                assert all(re.fullmatch(r"[0-9a-f]{40}", s["commit"]) for s in facts["sources"])


@pytest.mark.parametrize("stack", STACKS)
def test_every_pod_template_passes_api_validation_and_pod_security(stack: str) -> None:
    plan = plan_example(stack)
    levels = namespace_levels(plan)
    pods = all_pods(plan)
    assert len(pods) >= 7, [p.where for p in pods]  # kube-prometheus-stack alone renders 8 pods
    errors = [e for pod in pods for e in pod_errors(pod, levels)]
    assert errors == []


def test_the_old_gke_dcgm_override_is_refused_by_the_api_server() -> None:
    """GKE's DCGM override set ``privileged`` over the chart's ``allowPrivilegeEscalation: false``:
    the API server refused the DaemonSet and the atomic release rolled back."""
    from mlops_stack.gcp.cluster import chart_overrides

    dcgm = Registration(urn="u", type=RELEASE, name="dcgm", parent=None, custom=True, protect=False, retain_on_delete=False,
                        dependencies=[], provider="", inputs={"chart": charts.DCGM_EXPORTER.name, "version": charts.DCGM_EXPORTER.version, "namespace": "monitoring"})
    old = deep_merge(dcgm_exporter_values(), {"securityContext": {"privileged": True}})
    [pod] = chart_pods(dcgm, old)
    assert api_errors(pod.spec) == ["exporter: cannot set `allowPrivilegeEscalation` to false and `privileged` to true"]
    now = deep_merge(dcgm_exporter_values(), chart_overrides()["dcgm-exporter"], extend_lists=True)
    [pod] = chart_pods(dcgm, now)
    assert pod.spec["containers"][0]["securityContext"] == {
        "runAsNonRoot": False, "runAsUser": 0, "capabilities": {"add": ["SYS_ADMIN"], "drop": ["ALL"]}, "allowPrivilegeEscalation": True, "privileged": True,
    }
    assert api_errors(pod.spec) == []


# --------------------------------------------------------------------------- admission


def pattern_matches(pattern: str, image: str) -> bool:
    """Binary Authorization allowlist semantics: exact, trailing ``*`` (no ``/`` after it) or
    trailing ``**`` (anything after it)."""
    if pattern.endswith("**"):
        return image.startswith(pattern[:-2])
    if pattern.endswith("*"):
        return image.startswith(pattern[:-1]) and "/" not in image[len(pattern) - 1 :]
    return image == pattern or image.split("@")[0].rsplit(":", 1)[0] == pattern


def stack_images(plan: Plan) -> dict[str, str]:
    """Every image the stack's pods run (image -> where), plus the images the installed
    charts start at run time (KServe's injected containers, cert-manager's solver)."""
    found: dict[str, str] = {}
    for pod in all_pods(plan):
        for image in pod.images:
            found.setdefault(image, pod.where)
    for release in plan.of_type(RELEASE):
        facts = pod_facts(chart_name(release.inputs["chart"]), release.inputs["version"]) or {}
        values = release.inputs.get("values") or {}
        for extra in facts.get("runtimeImages", []):
            image = extra["image"]
            if "injected" in extra:
                image = f"{get(values, extra['injected']['image_values'], image.rsplit(':', 1)[0])}:{image.rsplit(':', 1)[1]}"
            for part in ("agent", "router"):
                if image.startswith(f"kserve/{part}:"):
                    image = f"{get(values, f'kserve.{part}.image', f'kserve/{part}')}:{image.rsplit(':', 1)[1]}"
            found.setdefault(image, f"{release.name} (at run time)")
    return found


ADMISSION = "gcp:binaryauthorization/policy:Policy"


@pytest.mark.parametrize("stack", STACKS)
def test_every_image_matches_the_admission_policy_of_the_stack(stack: str) -> None:
    plan = plan_example(stack)
    policies = plan.of_type(ADMISSION)
    if not policies:
        pytest.skip(f"{stack} installs no image admission policy")
    patterns = [p["namePattern"] for p in policies[0].inputs["admissionWhitelistPatterns"]]
    denied = {image: where for image, where in stack_images(plan).items() if not any(pattern_matches(p, image) for p in patterns)}
    assert denied == {}
    assert policies[0].inputs["defaultAdmissionRule"]["evaluationMode"] == "ALWAYS_DENY"


def test_the_prod_gcp_allowlist_admits_the_certgen_hook_and_mlflow() -> None:
    """The two images issue 23 found blocked in prod: the old allowlist named the certgen job's
    former path (registry.k8s.io/ingress-nginx) and no MLflow image."""
    from mlops_stack.gcp.admission import CHART_IMAGE_PATTERNS

    images = stack_images(plan_example("prod-gcp"))
    assert "ghcr.io/jkroepke/kube-webhook-certgen:1.8.7" in images
    assert any(i.startswith("ghcr.io/mlflow/mlflow:v") for i in images)
    for image in ("ghcr.io/jkroepke/kube-webhook-certgen:1.8.7", "ghcr.io/mlflow/mlflow:v3.17.2-full"):
        assert any(pattern_matches(p, image) for p in CHART_IMAGE_PATTERNS), image
    assert not any("ingress-nginx" in p for p in CHART_IMAGE_PATTERNS)


# --------------------------------------------------------------------------- webhooks


def webhook_ports(plan: Plan) -> dict[int, str]:
    ports: dict[int, str] = {}
    for release in plan.of_type(RELEASE):
        facts = pod_facts(chart_name(release.inputs["chart"]), release.inputs["version"]) or {}
        for hook in (*facts.get("webhooks", []), *facts.get("apiServices", [])):
            ports.setdefault(hook["containerPort"], f"{release.name}: {hook['name']}")
    return ports


def cloud(plan: Plan) -> str:
    return str(plan.config["mlops-stack:cloud"]).strip('"')


@pytest.mark.parametrize("stack", STACKS)
def test_every_webhook_port_is_reachable_from_the_control_plane(stack: str) -> None:
    plan = plan_example(stack)
    facts = CLUSTER_FACTS["targets"][cloud(plan)]
    ports = webhook_ports(plan)
    assert 10250 in ports  # the Prometheus Operator's webhook, on every stack with monitoring
    if not facts["privateNodes"] or facts["controlPlaneToNodes"] == "all ports":
        # EKS: the cluster security group admits all traffic between control plane and nodes,
        # unless a node group replaces it; AKS: the konnectivity tunnel (see the facts' sources).
        for lt in plan.of_type("aws:ec2/launchTemplate:LaunchTemplate"):
            assert not lt.inputs.get("vpcSecurityGroupIds"), f"{lt.name} replaces the EKS cluster security group"
        return
    builtin = set(facts["controlPlaneToNodes"])
    rules = [
        r for r in plan.of_type("gcp:compute/firewall:Firewall")
        if r.inputs.get("direction") == "INGRESS" and any(a.get("protocol") == "tcp" and a.get("ports") for a in r.inputs.get("allows", []))
        and r.inputs.get("targetServiceAccounts")
    ]
    opened = {int(p) for r in rules for a in r.inputs["allows"] for p in a["ports"]}
    nodes = plan.one("gcp:compute/subnetwork:Subnetwork").inputs["ipCidrRange"]
    assert all(r.inputs["sourceRanges"] == [nodes] for r in rules)
    unreachable = {port: what for port, what in ports.items() if port not in builtin | opened}
    assert unreachable == {}
    if plan.of_type("kubernetes:serving.kserve.io/v1beta1:InferenceService"):
        assert 9443 in ports and 9443 in opened


# --------------------------------------------------------------------------- metrics


@pytest.mark.parametrize("stack", STACKS)
def test_every_hpa_has_its_metrics_api(stack: str) -> None:
    plan = plan_example(stack)
    isvcs = plan.of_type("kubernetes:serving.kserve.io/v1beta1:InferenceService")
    if not isvcs:
        pytest.skip(f"{stack} has no cluster endpoint")
    assert {i.inputs["spec"]["predictor"]["scaleMetric"] for i in isvcs} == {"cpu"}
    provided = CLUSTER_FACTS["targets"][cloud(plan)]["metricsApi"]
    installed = [r for r in plan.of_type(RELEASE) if r.inputs["chart"] == charts.METRICS_SERVER.name]
    apis = {a["name"] for r in installed for a in pod_facts(charts.METRICS_SERVER.name, r.inputs["version"])["apiServices"]}
    assert provided != bool(installed), "metrics-server installed exactly where the cluster lacks metrics.k8s.io"
    assert provided or apis == {"v1beta1.metrics.k8s.io"}
    if installed:
        deps = {d for i in isvcs for d in i.dependencies}
        assert installed[0].urn in deps, "the InferenceService waits for metrics-server"
        assert installed[0].inputs["namespace"] == "kube-system"


def test_cluster_components_state_the_facts() -> None:
    """Each target's cluster component states what the facts say (the layer decides from it)."""
    from mlops_stack.aws.cluster import KubernetesCluster as Eks
    from mlops_stack.azure.cluster import KubernetesCluster as Aks
    from mlops_stack.gcp import cluster as gke

    stated = {
        "aws": (Eks.provides_metrics_api, Eks.scrape_targets),
        "azure": (Aks.provides_metrics_api, Aks.scrape_targets),
        "gcp": (gke.PROVIDES_METRICS_API, gke.SCRAPE_TARGETS),
    }
    for name, (metrics_api, scrape) in stated.items():
        facts = CLUSTER_FACTS["targets"][name]
        assert (metrics_api, scrape) == (facts["metricsApi"], facts["scrapeable"]), name


@pytest.mark.parametrize("stack", STACKS)
def test_no_scrape_job_or_alert_for_what_the_cluster_does_not_expose(stack: str) -> None:
    plan = plan_example(stack)
    facts = CLUSTER_FACTS["targets"][cloud(plan)]["scrapeable"]
    kps = [r for r in plan.of_type(RELEASE) if r.inputs["chart"] == charts.KUBE_PROMETHEUS_STACK.name][0]
    values = kps.inputs["values"]
    enabled = {key: values.get(key, {}).get("enabled", name not in SCRAPE_TARGET_DEFAULT_OFF) for name, key in SCRAPE_TARGET_KEYS.items()}
    assert enabled == {SCRAPE_TARGET_KEYS[t]: ok for t, ok in facts.items()}
    # Managed control planes everywhere: the scheduler, controller-manager and etcd are never scraped.
    assert not any(enabled[k] for k in ("kubeScheduler", "kubeControllerManager", "kubeEtcd"))
    # Exactly one DNS job, the one for the DNS the cluster runs (GKE: kube-dns; EKS, AKS: CoreDNS).
    assert [k for k in ("coreDns", "kubeDns") if enabled[k]] == (["kubeDns"] if cloud(plan) == "gcp" else ["coreDns"])


# --------------------------------------------------------------------------- custom resources

#: API group of each custom resource kind the stacks create -> the chart that installs its CRD
#: (kserve/kserve v0.20.0 charts/kserve-crd; kube-prometheus-stack 88.5.3 crds subchart,
#: ``crds.enabled``; cert-manager v1.21.1 ``crds.enabled``).
CRD_CHARTS = {"serving.kserve.io": charts.KSERVE_CRD.name, "monitoring.coreos.com": charts.KUBE_PROMETHEUS_STACK.name, "cert-manager.io": charts.CERT_MANAGER.name}
#: Groups the API server serves itself.
BUILTIN_GROUPS = {"core", "apps", "batch", "policy", "autoscaling", "networking.k8s.io", "storage.k8s.io", "rbac.authorization.k8s.io",
                  "admissionregistration.k8s.io", "apiextensions.k8s.io", "scheduling.k8s.io", "coordination.k8s.io", "helm.sh"}


def custom_resources(plan: Plan) -> Iterator[tuple[Registration, str]]:
    for r in plan.resources:
        m = re.fullmatch(r"kubernetes:([^/:]+)/[^:]+:\w+", r.type)
        if m and m.group(1) not in BUILTIN_GROUPS:
            yield r, m.group(1)


@pytest.mark.parametrize("stack", STACKS)
def test_every_custom_resource_depends_on_what_defines_its_kind(stack: str) -> None:
    plan = plan_example(stack)
    by_urn = plan.by_urn()
    checked = 0
    for cr, group in custom_resources(plan):
        assert group in CRD_CHARTS, f"{cr.type}: which chart installs its CRD?"
        deps: set[str] = set()
        node: Registration | None = cr
        while node is not None:  # its own dependencies and its parents'
            deps.update(node.dependencies)
            node = by_urn.get(node.parent) if node.parent else None
        charts_before = {chart_name(by_urn[d].inputs["chart"]) for d in deps if by_urn[d].type == RELEASE}
        assert CRD_CHARTS[group] in charts_before, f"{cr.name} ({cr.type}) does not wait for {CRD_CHARTS[group]}"
        checked += 1
    if plan.of_type("kubernetes:serving.kserve.io/v1beta1:InferenceService"):
        assert checked >= 2


def test_every_pod_template_of_the_chart_value_variants_passes() -> None:
    """The variants that change chart values (time-slicing and MIG through the device
    plugin's config map, which makes it add SYS_ADMIN and run config-manager containers; the
    GPU Operator; every autoscaler minor) pass the same rules."""
    from k8s_helpers import plan_variant
    from test_chart_keys import variants

    checked = 0
    for stack, changes in variants():
        plan = plan_variant(stack, **changes)
        levels = namespace_levels(plan)
        errors = [e for pod in all_pods(plan) for e in pod_errors(pod, levels)]
        assert errors == [], (stack, changes)
        checked += 1
    assert checked >= 4
