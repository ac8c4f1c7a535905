"""Record the DCGM exporter metric names a pinned exporter exports by default, as test data.

Usage (a local git mirror of NVIDIA/dcgm-exporter; nothing is downloaded):

    python scripts/dcgm_counters.py --git /path/to/repo.git \
        --chart-tag 4.5.3-4.8.2 --image-tag 4.4.2-4.7.0 --out tests/fixtures/dcgm-counters.json

- ``chart``: the counters the Helm chart deploys (its exporter-metrics-config-map
  template, used unless ``customMetrics`` is set) at the chart's release tag;
- ``image``: the image's own ``etc/default-counters.csv`` at the exporter tag the GPU
  Operator deploys (its ``dcgmExporter.version``), used when the operator runs the exporter.
Only metric names are kept.
"""

from __future__ import annotations

import argparse
import json
import re
import subprocess
from pathlib import Path

_FIELD = re.compile(r"^\s*(DCGM_FI_[A-Z0-9_]+)\s*,", re.M)


def show(repo: str, rev: str, path: str) -> str:
    return subprocess.run(["git", "--git-dir", repo, "show", f"{rev}:{path}"], check=True, capture_output=True, text=True).stdout


def commit(repo: str, tag: str) -> str:
    return subprocess.run(["git", "--git-dir", repo, "rev-list", "-n1", tag], check=True, capture_output=True, text=True).stdout.strip()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--git", required=True)
    parser.add_argument("--chart-tag", required=True)
    parser.add_argument("--image-tag", required=True)
    parser.add_argument("--out", required=True)
    a = parser.parse_args()
    template = show(a.git, a.chart_tag, "deployment/templates/metrics-configmap.yaml")
    default_branch = template.split("{{- else }}", 1)[1]
    csv = show(a.git, a.image_tag, "etc/default-counters.csv")
    doc = {
        "chart": {
            "repo": "NVIDIA/dcgm-exporter",
            "tag": a.chart_tag,
            "commit": commit(a.git, a.chart_tag),
            "file": "deployment/templates/metrics-configmap.yaml",
            "metrics": sorted(set(_FIELD.findall(default_branch))),
        },
        "image": {
            "repo": "NVIDIA/dcgm-exporter",
            "tag": a.image_tag,
            "commit": commit(a.git, a.image_tag),
            "file": "etc/default-counters.csv",
            "metrics": sorted(set(_FIELD.findall(csv))),
        },
    }
    Path(a.out).write_text(json.dumps(doc, indent=1) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
