"""Derive the KServe facts the serving layer relies on, at one release tag, as test data.

Usage (local git mirrors; nothing is downloaded):

    python scripts/kserve_facts.py --kserve /path/to/kserve.git --tag v0.20.0 \
        --kps /path/to/prometheus-community-helm-charts.git --kps-tag kube-prometheus-stack-88.5.3 \
        --out tests/fixtures/kserve-v0.20.0.json

What is recorded (only facts: key paths, types, enums, names; never upstream text):

- ``inferenceService``: the v1beta1 openAPI schema paths of ``InferenceService`` under
  ``spec.predictor`` (the legacy per-framework shortcuts, probes, volumes and the worker
  spec left out), each with its type, enum and whether it is a free-form map;
- ``clusterServingRuntimes``: every built-in ClusterServingRuntime of the
  ``kserve-runtime-configs`` chart: its model formats (name, version, autoSelect,
  priority), protocol versions and the chart values key that disables it;
- ``constants``: the annotation keys, deployment modes and service naming of the controller
  (``pkg/constants/constants.go``), the storage URI forms the storage initializer accepts
  (``python/storage/kserve_storage/kserve_storage.py``) and the request metrics of the
  KServe model server (``python/kserve/kserve/metrics.py``);
- ``podMonitor``: the ``PodMonitor`` schema paths of the Prometheus Operator CRD bundled
  with the pinned kube-prometheus-stack chart.
"""

from __future__ import annotations

import argparse
import json
import re
import subprocess
from pathlib import Path
from typing import Any

import yaml

SKIP_PREDICTOR = (
    "sklearn", "xgboost", "tensorflow", "pytorch", "triton", "onnx", "huggingface", "lightgbm", "pmml", "paddle",
    "workerSpec", "volumes", "initContainers", "ephemeralContainers", "affinity", "topologySpreadConstraints",
)
SKIP_ANYWHERE = ("livenessProbe", "readinessProbe", "startupProbe", "lifecycle", "valueFrom", "resizePolicy", "volumeDevices")


def git(repo: str, *args: str) -> str:
    return subprocess.run(["git", "--git-dir", repo, *args], check=True, capture_output=True, text=True).stdout


def schema_paths(node: dict[str, Any], path: str, out: dict[str, Any], keep: Any) -> None:
    if path and not keep(path):
        return
    entry: dict[str, Any] = {"type": node.get("type", "any")}
    if "enum" in node:
        entry["enum"] = node["enum"]
    if node.get("x-kubernetes-int-or-string"):
        entry["type"] = "int-or-string"
    if isinstance(node.get("additionalProperties"), dict) or node.get("x-kubernetes-preserve-unknown-fields"):
        entry["free"] = True
    if path:
        out[path] = entry
    for key, child in (node.get("properties") or {}).items():
        schema_paths(child, f"{path}.{key}" if path else key, out, keep)
    if "items" in node:
        schema_paths(node["items"], path + "[]", out, keep)


def crd_schema(text: str, version: str) -> dict[str, Any]:
    doc = next(d for d in yaml.safe_load_all(text) if d)
    found = next(v for v in doc["spec"]["versions"] if v["name"] == version)
    return found["schema"]["openAPIV3Schema"]


def keep_isvc(path: str) -> bool:
    parts = path.replace("[]", "").split(".")
    if parts[0] not in ("spec",) or (len(parts) > 1 and parts[1] != "predictor"):
        return False
    if len(parts) > 2 and parts[2] in SKIP_PREDICTOR:
        return False
    return not any(p in SKIP_ANYWHERE for p in parts)


def keep_podmonitor(path: str) -> bool:
    parts = path.replace("[]", "").split(".")
    return parts[0] == "spec" and len(parts) <= 4 and not any(p in SKIP_ANYWHERE for p in parts)


def runtimes(repo: str, commit: str) -> dict[str, Any]:
    base = git(repo, "show", f"{commit}:charts/kserve-runtime-configs/files/runtimes/resources.yaml")
    patch = git(repo, "show", f"{commit}:charts/kserve-runtime-configs/files/runtimes/clusterservingruntimes-patch.yaml")
    keys: dict[str, str] = {}
    for chunk in patch.split("\n---"):
        name = re.search(r"^\s*name:\s*(kserve-[\w-]+)", chunk, re.M)
        key = re.search(r"\.Values\.kserve\.servingruntime\.(\w+)\.disabled", chunk)
        if name and key:
            keys[name.group(1)] = key.group(1)
    out: dict[str, Any] = {}
    for doc in yaml.safe_load_all(base):
        if not doc or doc.get("kind") != "ClusterServingRuntime":
            continue
        spec = doc["spec"]
        name = doc["metadata"]["name"]
        out[name] = {
            "formats": [
                {k: f[k] for k in ("name", "version", "autoSelect", "priority") if k in f} for f in spec.get("supportedModelFormats", [])
            ],
            "protocolVersions": spec.get("protocolVersions") or [],
            "valuesKey": keys.get(name),
        }
    return out


def go_string(text: str, name: str) -> str:
    found = re.search(rf"\b{name}\s+(?:\w+\s+)?=\s+(?:KServeAPIGroupName \+ )?\"([^\"]+)\"", text)
    assert found, name
    value = found.group(1)
    if f"{name} " in text and re.search(rf"\b{name}\s+=\s+KServeAPIGroupName \+", text):
        value = "serving.kserve.io" + value
    return value


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--kserve", required=True)
    parser.add_argument("--tag", required=True)
    parser.add_argument("--kps", required=True)
    parser.add_argument("--kps-tag", required=True)
    parser.add_argument("--out", required=True)
    a = parser.parse_args()
    commit = git(a.kserve, "rev-list", "-n1", a.tag).strip()
    date = git(a.kserve, "log", "-1", "--format=%cs", commit).strip()
    isvc: dict[str, Any] = {}
    text = git(a.kserve, "show", f"{commit}:charts/kserve-crd/templates/serving.kserve.io_inferenceservices.yaml")
    schema_paths(crd_schema(text, "v1beta1"), "", isvc, keep_isvc)
    consts = git(a.kserve, "show", f"{commit}:pkg/constants/constants.go")
    storage = git(a.kserve, "show", f"{commit}:python/storage/kserve_storage/kserve_storage.py")
    metrics = git(a.kserve, "show", f"{commit}:python/kserve/kserve/metrics.py")
    azure_blob = re.search(r"_AZURE_BLOB_RE = \[(.*?)\]", storage, re.S)
    assert azure_blob
    constants = {
        "deploymentModeAnnotation": go_string(consts, "DeploymentMode"),
        "autoscalerClassAnnotation": go_string(consts, "AutoscalerClass"),
        "deploymentModes": sorted(set(re.findall(r"DeploymentModeType = \"(\w+)\"", consts))),
        "autoscalerClasses": sorted(set(re.findall(r"AutoscalerClassType = \"(\w+)\"", consts))),
        "inferenceServicePodLabel": "serving.kserve.io/inferenceservice",
        "predictorServiceSuffix": "-" + re.search(r"Predictor\s+InferenceServiceComponent = \"(\w+)\"", consts).group(1),  # type: ignore[union-attr]
        "servicePort": int(re.search(r"CommonDefaultHttpPort\s+= (\d+)", consts).group(1)),  # type: ignore[union-attr]
        "containerPort": int(re.search(r"InferenceServiceDefaultHttpPort\s+= \"(\d+)\"", consts).group(1)),  # type: ignore[union-attr]
        "customStorageUriEnv": re.search(r"CustomSpecStorageUriEnvVarKey\s+= \"(\w+)\"", consts).group(1),  # type: ignore[union-attr]
        "storageUriPrefixes": sorted(set(re.findall(r"_(?:GCS|S3)_PREFIX = \"([a-z0-9]+://)\"", storage))),
        "azureBlobPatterns": re.findall(r"\"([^\"]+)\"", azure_blob.group(1)),
        "azureCredentialEnv": "AZURE_CLIENT_ID" if 'os.getenv("AZURE_CLIENT_ID"' in storage else None,
        "modelServerHistograms": re.findall(r"Histogram\(\s*\"(\w+)\"", metrics),
        "modelServerMetricLabels": re.findall(r"PROM_LABELS = \[([^\]]*)\]", metrics)[0].replace('"', "").replace(" ", "").split(","),
    }
    kps_commit = git(a.kps, "rev-list", "-n1", a.kps_tag).strip()
    pm: dict[str, Any] = {}
    pm_text = git(a.kps, "show", f"{kps_commit}:charts/kube-prometheus-stack/charts/crds/crds/crd-podmonitors.yaml")
    schema_paths(crd_schema(pm_text, "v1"), "", pm, keep_podmonitor)
    doc = {
        "sources": [
            {"repo": "kserve/kserve", "tag": a.tag, "commit": commit, "date": date},
            {"repo": "prometheus-community/helm-charts", "tag": a.kps_tag, "commit": kps_commit},
        ],
        "inferenceService": {"apiVersion": "serving.kserve.io/v1beta1", "paths": dict(sorted(isvc.items()))},
        "clusterServingRuntimes": runtimes(a.kserve, commit),
        "constants": constants,
        "podMonitor": {"apiVersion": "monitoring.coreos.com/v1", "paths": dict(sorted(pm.items()))},
    }
    Path(a.out).write_text(json.dumps(doc, indent=1) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
