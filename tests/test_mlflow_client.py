"""The planned MLflow Deployment, run for real (docs/tracking.md).

The server is started from the **planned** Deployment of a self-hosted stack
(``PLANNED_STACK``, read from its offline plan), not from a copy of its arguments:

- the container's ``args`` and ``env`` as planned, with ``mlflow`` from the dev dependency
  (the release the image pins);
- every volume as the pod gets it: each emptyDir, and the generic ephemeral volume (a
  claim created with the pod), is a fresh, empty temporary directory (nothing is created in
  it beforehand, as on a node) limited to its planned size (``sizeLimit``, the claim's
  storage request), the Secret volume holds the auth file
  ``auth_config`` renders for that Secret; every path the container uses is translated to
  the volume mounted there, and a path outside every mount fails the test (the root
  filesystem is read-only). ``tempfile`` in the container uses ``$TMPDIR`` else ``/tmp``,
  so the test points it at the volume mounted at that path (the host's ``/tmp`` is not the
  pod's);
- what only a cluster has is replaced, and nothing else: the two Secret values (a SQLite
  URI for PostgreSQL, a test CSRF key), the bucket (an S3 bucket on a local moto server:
  MLflow 3.17.2 buffers proxied artifacts for S3, GCS and Azure Blob alike, see
  ``fixtures/mlflow-3.17.2.json``), ``--host`` (loopback only) and ``--port`` (a free one).
  The planned ``--allowed-hosts`` stay, so requests carry the Host headers a cluster sends
  (``Host: <pod-ip>:5000`` from Prometheus).

Then it checks what a real cluster needs: the server starts; ``/metrics`` answers 200 to
an authenticated request by pod IP and 401 without the right password; the documented
client logs a run and registers a model; an artifact larger than the old ``/tmp`` limit
round-trips without any volume going over its planned size (the kubelet evicts the pod
over an emptyDir's ``sizeLimit``; a full claim fails the write). No network beyond loopback.
"""

from __future__ import annotations

import functools
import hashlib
import json
import os
import re
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from base64 import b64encode
from collections.abc import Iterator
from pathlib import Path, PurePosixPath
from typing import Any

import pytest

mlflow = pytest.importorskip("mlflow")

from mlops_stack.k8s import tracking  # noqa: E402

#: A committed stack with self-hosted tracking (the only mode on GCP).
PLANNED_STACK = "dev-gcp"
#: How long the server may take to come up on a loaded machine (a guard, not an assertion).
STARTUP_LIMIT_S = 180
FACTS = json.loads((Path(__file__).parent / "fixtures" / "mlflow-3.17.2.json").read_text())

#: The ``/tmp`` emptyDir's sizeLimit before #23 (1Gi), where the server then buffered every
#: proxied artifact: the test artifact is 1.25 times that.
OLD_TMP_LIMIT = 1 << 30
#: Every artifact-sized quantity is divided by SCALE (1 GiB -> 32 MiB) to keep the suite
#: fast: the artifact is 1.25 * OLD_TMP_LIMIT / SCALE, and what it adds to a volume counts
#: SCALE times against that volume's planned sizeLimit (what the pod would hold with the
#: full-size artifact). The scaled artifact (40 MiB) stays larger than the loopback socket
#: buffers, so the server is still sending (and its buffer still on disk) when the test
#: looks at the volumes during a download; at 1/1024 the whole response fit in the buffers
#: and the buffer could be gone before the first look. MLOPS_STACK_MLFLOW_FULL_SIZE=1 runs
#: the real 1.25 GiB artifact (SCALE 1).
SCALE = 1 if os.environ.get("MLOPS_STACK_MLFLOW_FULL_SIZE") == "1" else 32
ARTIFACT_BYTES = OLD_TMP_LIMIT * 5 // 4 // SCALE

#: The values of the planned Secret keys (the cluster's come from PostgreSQL and random).
TEST_PASSWORD = "Adm1nPassw0rdForTheTest"
TEST_FLASK_KEY = "a-test-only-csrf-key"
BUCKET = "mlops-test-artifacts"

#: The lines docs/tracking.md and the README give a data scientist (after the three exports).
CLIENT = r"""
import json, os
import mlflow
import mlflow.pyfunc


class Echo(mlflow.pyfunc.PythonModel):
    def predict(self, context, model_input):
        return model_input


mlflow.set_experiment("churn")
with mlflow.start_run() as run:
    mlflow.log_param("alpha", 0.5)
    mlflow.log_metric("rmse", 0.25)
    info = mlflow.pyfunc.log_model(name="model", python_model=Echo(), pip_requirements=[], registered_model_name="churn")
print(json.dumps({"run_id": run.info.run_id, "model_uri": info.model_uri, "version": info.registered_model_version}))
"""


# --------------------------------------------------------------------------- the planned pod


@functools.cache
def planned_pod() -> dict[str, Any]:
    """The pod template of the MLflow Deployment in the offline plan of PLANNED_STACK."""
    from planning import plan_example

    plan = plan_example(PLANNED_STACK)
    (deployment,) = [r for r in plan.of_type("kubernetes:apps/v1:Deployment") if r.inputs["metadata"]["name"] == "mlflow"]
    return deployment.inputs["spec"]["template"]


def quantity_bytes(quantity: str) -> int:
    match = re.fullmatch(r"(\d+)(Ki|Mi|Gi|Ti)?", quantity)
    assert match, f"unexpected quantity {quantity!r}"
    return int(match[1]) << {None: 0, "Ki": 10, "Mi": 20, "Gi": 30, "Ti": 40}[match[2]]


class Pod:
    """The planned container's filesystem on this machine: one directory per volume."""

    def __init__(self, pod: dict[str, Any], root: Path, auth_file: str) -> None:
        (self.container,) = pod["spec"]["containers"]
        self.volumes = {v["name"]: v for v in pod["spec"]["volumes"]}
        self.dirs: dict[str, Path] = {}
        self.limits: dict[str, int] = {}
        for name, volume in self.volumes.items():
            path = root / f"volume-{name}"
            path.mkdir()  # the volume itself; nothing inside it
            self.dirs[name] = path
            if "emptyDir" in volume:
                self.limits[name] = quantity_bytes(volume["emptyDir"]["sizeLimit"])
            elif "ephemeral" in volume:
                # A new claim per pod: an empty filesystem of the requested size.
                claim = volume["ephemeral"]["volumeClaimTemplate"]["spec"]
                assert claim["accessModes"] == ["ReadWriteOnce"]
                self.limits[name] = quantity_bytes(claim["resources"]["requests"]["storage"])
            elif "secret" in volume:
                assert volume["secret"]["secretName"] == tracking.SERVER_SECRET
                for item in volume["secret"]["items"]:
                    assert item["key"] == tracking.AUTH_CONFIG_FILE
                    (path / item["path"]).write_text(auth_file)
            else:
                raise AssertionError(f"volume {name}: only emptyDir, ephemeral and Secret volumes are expected: {volume}")
        self.mounts = {m["mountPath"]: m["name"] for m in self.container["volumeMounts"]}

    def host_path(self, container_path: str) -> Path:
        """Where ``container_path`` is on this machine: under the volume mounted there."""
        path = PurePosixPath(container_path)
        for mount in sorted(self.mounts, key=len, reverse=True):
            if path == PurePosixPath(mount) or PurePosixPath(mount) in path.parents:
                return self.dirs[self.mounts[mount]].joinpath(*path.relative_to(mount).parts)
        raise AssertionError(f"{container_path} is on the read-only root filesystem (no volume is mounted there)")

    def env(self, secrets: dict[tuple[str, str], str]) -> dict[str, str]:
        out: dict[str, str] = {}
        for var in self.container["env"]:
            if "valueFrom" in var:
                ref = var["valueFrom"]["secretKeyRef"]
                out[var["name"]] = secrets[(ref["name"], ref["key"])]
            elif var["value"].startswith("/"):
                out[var["name"]] = str(self.host_path(var["value"]))
            else:
                out[var["name"]] = var["value"]
        # tempfile in the container: $TMPDIR, else /tmp (on the root filesystem unless a volume is there).
        out.setdefault("TMPDIR", str(self.host_path("/tmp")))
        return out

    def args(self, port: int, artifacts: str) -> list[str]:
        """The planned args with the cluster-only values replaced (loopback, free port, the bucket)."""
        out = []
        for arg in self.container["args"]:
            flag, _, value = arg.partition("=")
            if flag == "--host":
                assert value == "0.0.0.0"
                arg = "--host=127.0.0.1"
            elif flag == "--port":
                assert int(value) == tracking.PORT
                arg = f"--port={port}"
            elif flag == "--artifacts-destination":
                arg = f"--artifacts-destination={artifacts}"
            elif flag == "--expose-prometheus":
                arg = f"--expose-prometheus={self.host_path(value)}"
            out.append(arg)
        return out

    def usage(self) -> dict[str, int]:
        """Bytes on disk per sized volume (blocks, as the kubelet measures emptyDirs)."""
        return {name: _disk_usage(self.dirs[name]) for name in self.limits}


def _disk_usage(root: Path) -> int:
    total = 0
    for dirpath, _dirs, files in os.walk(root):
        for f in files:
            try:
                total += os.lstat(os.path.join(dirpath, f)).st_blocks * 512
            except FileNotFoundError:
                pass
    return total


# --------------------------------------------------------------------------- helpers


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _request(url: str, auth: tuple[str, str] | None = None, host: str | None = None) -> urllib.request.Request:
    req = urllib.request.Request(url)
    if auth:
        req.add_header("Authorization", "Basic " + b64encode(f"{auth[0]}:{auth[1]}".encode()).decode())
    if host:
        req.add_header("Host", host)
    return req


def _get(url: str, auth: tuple[str, str] | None = None, host: str | None = None) -> tuple[int, bytes]:
    try:
        with urllib.request.urlopen(_request(url, auth, host), timeout=60) as resp:  # noqa: S310 (local test server)
            return resp.status, resp.read()
    except urllib.error.HTTPError as err:
        return err.code, err.read()


@pytest.fixture(scope="module")
def s3() -> Iterator[str]:
    """A local S3 (moto) with the bucket; yields its endpoint URL."""
    boto3 = pytest.importorskip("boto3")
    from moto.server import ThreadedMotoServer

    port = _free_port()
    moto = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    moto.start()
    endpoint = f"http://127.0.0.1:{port}"
    boto3.client("s3", endpoint_url=endpoint, region_name="us-east-1", aws_access_key_id="test", aws_secret_access_key="test").create_bucket(Bucket=BUCKET)
    try:
        yield endpoint
    finally:
        moto.stop()


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory, s3: str) -> Iterator[dict[str, Any]]:
    tmp = tmp_path_factory.mktemp("mlflow")
    port = _free_port()
    # One database for runs and for users, as in the cluster (one PostgreSQL database).
    database = f"sqlite:///{tmp / 'mlflow.db'}"
    pod = Pod(planned_pod(), tmp, tracking.auth_config(database, TEST_PASSWORD))
    secrets = {(tracking.SERVER_SECRET, "backend-store-uri"): database, (tracking.SERVER_SECRET, "flask-secret-key"): TEST_FLASK_KEY}
    env = {k: v for k, v in os.environ.items() if not k.startswith(("MLFLOW_", "PROMETHEUS_", "AWS_")) and k not in ("TMPDIR", "HOME")}
    env.update(pod.env(secrets))
    env.update(MLFLOW_S3_ENDPOINT_URL=s3, AWS_ACCESS_KEY_ID="test", AWS_SECRET_ACCESS_KEY="test", AWS_DEFAULT_REGION="us-east-1")
    args = pod.args(port, f"s3://{BUCKET}/mlflow/")
    assert pod.container["command"] == ["mlflow"]
    log = (tmp / "server.log").open("w")
    # cwd: the container's working directory is on the read-only root; the test's tmp is not part of the pod.
    proc = subprocess.Popen([sys.executable, "-m", "mlflow", *args], env=env, stdout=log, stderr=subprocess.STDOUT, cwd=tmp)
    uri = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + STARTUP_LIMIT_S
        while True:
            if proc.poll() is not None:
                pytest.fail(f"mlflow server exited: {(tmp / 'server.log').read_text()[-3000:]}")
            try:
                if _get(f"{uri}/health")[0] == 200:
                    break
            except OSError:
                pass
            if time.monotonic() > deadline:
                pytest.fail(f"mlflow server did not come up: {(tmp / 'server.log').read_text()[-3000:]}")
            time.sleep(0.5)
        yield {"uri": uri, "user": tracking.ADMIN_USER, "password": TEST_PASSWORD, "pod": pod, "s3": s3, "log": tmp / "server.log"}
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
        log.close()


@pytest.fixture
def credentials(server: dict[str, Any]) -> Iterator[None]:
    """The documented client environment in this process (MlflowClient reads it)."""
    saved = {k: os.environ.get(k) for k in ("MLFLOW_TRACKING_USERNAME", "MLFLOW_TRACKING_PASSWORD")}
    os.environ.update(MLFLOW_TRACKING_USERNAME=server["user"], MLFLOW_TRACKING_PASSWORD=server["password"])
    try:
        yield
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


# --------------------------------------------------------------------------- upstream facts, no server


def test_pinned_server_release_is_the_tested_client() -> None:
    assert tracking.MLFLOW_VERSION == mlflow.__version__ == FACTS["sources"][0]["version"]
    assert tracking.MLFLOW_IMAGE == f"ghcr.io/mlflow/mlflow:v{mlflow.__version__}-full"


def test_host_validation_facts_match_the_installed_release() -> None:
    from mlflow.server import security_utils

    facts = FACTS["hostValidation"]
    assert security_utils.get_default_allowed_hosts() == facts["defaultAllowedHosts"]
    assert list(security_utils.HEALTH_ENDPOINTS) == facts["exemptPaths"] == ["/health", "/version"]
    assert security_utils.INVALID_HOST_MSG == facts["invalidHostMessage"]


def test_artifact_buffering_facts_match_the_installed_release() -> None:
    from mlflow.store.artifact import artifact_repository_registry as registry
    from mlflow.store.artifact.artifact_repo import StreamUploadMixin

    repos = registry._artifact_repository_registry._registry
    streaming = sorted(s for s, r in repos.items() if isinstance(r, type) and issubclass(r, StreamUploadMixin))
    assert streaming == FACTS["proxiedArtifacts"]["streamingSchemes"]
    # Every bucket scheme the targets give (s3://, gs://, wasbs://) is buffered on disk.
    assert not set(FACTS["proxiedArtifacts"]["bufferedSchemes"]) & set(streaming)


#: Host headers a cluster sends, and names an attacker's page could resolve to a pod.
ADMITTED = [
    "10.12.3.4:5000",  # Prometheus, by pod IP (GKE pods, EKS VPC)
    "10.244.0.17:5000",  # AKS overlay pod CIDR
    "172.20.9.1:5000",  # a Service IP
    "192.168.1.5:5000",
    "mlflow.mlflow.svc.cluster.local:5000",
    "mlflow.mlflow.svc:5000",
    "mlflow.mlflow:5000",
    "mlflow:5000",
    "0.0.0.0:5000",  # MLflow's job runner: http://<--host>:<--port>
    "localhost:5000",  # kubectl port-forward
    "localhost:8080",
    "127.0.0.1:5000",
]
REFUSED = [
    "evil.example.com",
    "evil.example.com:5000",
    "10.0.0.1.nip.io:5000",  # a public name resolving to a private address: MLflow's default "10.*" admits it
    "10.evil.com:5000",
    "192.168.1.5.attacker.net:5000",
    "172.15.0.1:5000",  # not RFC 1918
    "8.8.8.8:5000",
    "10.12.3.4:6000",  # another port: not this server
    "",
]


def test_planned_allowed_hosts_admit_the_cluster_and_refuse_rebinding() -> None:
    from mlflow.server.security_utils import is_allowed_host_header

    (container,) = planned_pod()["spec"]["containers"]
    (flag,) = [a for a in container["args"] if a.startswith("--allowed-hosts=")]
    allowed = [h.strip() for h in flag.split("=", 1)[1].split(",")]  # as mlflow's get_allowed_hosts_from_env splits it
    assert allowed == tracking.service_hosts()
    assert [h for h in ADMITTED if not is_allowed_host_header(allowed, h)] == []
    assert [h for h in REFUSED if is_allowed_host_header(allowed, h)] == []
    # Why not MLflow's defaults: they admit a public name that resolves to a private address.
    assert is_allowed_host_header(FACTS["hostValidation"]["defaultAllowedHosts"], "10.0.0.1.nip.io:5000")
    # The job runner calls the server at the --host and --port it was started with.
    args = dict(a.partition("=")[::2] for a in container["args"])
    job_host = FACTS["jobRunner"]["trackingUri"].format(host=args["--host"], port=args["--port"]).split("//", 1)[1]
    assert job_host == "0.0.0.0:5000" and is_allowed_host_header(allowed, job_host)


def test_planned_pod_keeps_every_write_in_a_sized_volume() -> None:
    pod = planned_pod()
    (container,) = pod["spec"]["containers"]
    env = {e["name"]: e.get("value") for e in container["env"]}
    mounts = {m["mountPath"]: m["name"] for m in container["volumeMounts"]}
    volumes = {v["name"]: v for v in pod["spec"]["volumes"]}
    # The metrics directory is a volume's mount point, so it exists when mlflow server starts.
    assert env["PROMETHEUS_MULTIPROC_DIR"] == tracking.METRICS_DIR and "emptyDir" in volumes[mounts[tracking.METRICS_DIR]]
    assert f"--expose-prometheus={tracking.METRICS_DIR}" in container["args"]
    # Transfers go to a claim of their own of tracking.transferSpaceGb (default 20 GiB) on
    # the stack's transfer class: not node ephemeral storage.
    assert env["TMPDIR"] == tracking.TRANSFER_DIR
    transfers = volumes[mounts[tracking.TRANSFER_DIR]]
    assert "emptyDir" not in transfers
    assert transfers["ephemeral"]["volumeClaimTemplate"]["spec"] == {
        "accessModes": ["ReadWriteOnce"],
        "storageClassName": tracking.TRANSFER_STORAGE_CLASS,
        "resources": {"requests": {"storage": "20Gi"}},
    }
    sizes = sorted(quantity_bytes(v["emptyDir"]["sizeLimit"]) for v in volumes.values() if "emptyDir" in v)
    assert sizes == [128 << 20, 1 << 30]
    # Requested and limited: every emptyDir at its limit plus 256 MiB of logs.
    storage = container["resources"]["requests"]["ephemeral-storage"]
    assert storage == container["resources"]["limits"]["ephemeral-storage"] == "1408Mi"
    assert quantity_bytes(storage) == sum(sizes) + (256 << 20)
    assert container["securityContext"]["readOnlyRootFilesystem"] is True and container["securityContext"]["allowPrivilegeEscalation"] is False
    # The claim's new filesystem is writable by the server's user through the pod's fsGroup.
    assert pod["spec"]["securityContext"]["fsGroup"] == pod["spec"]["securityContext"]["runAsGroup"]


# --------------------------------------------------------------------------- the running server


def test_every_request_needs_a_user(server: dict[str, Any]) -> None:
    search = f"{server['uri']}/api/2.0/mlflow/experiments/search?max_results=1"
    user = (server["user"], server["password"])
    assert _get(search)[0] == 401
    assert _get(search, (server["user"], "wrong-password"))[0] == 401
    assert _get(search, user)[0] == 200
    # Only the health check is open (the probes use it); metrics need the user (ServiceMonitor basicAuth).
    assert _get(f"{server['uri']}/health")[0] == 200
    assert _get(f"{server['uri']}/metrics")[0] == 401


def test_prometheus_scrapes_metrics_by_pod_ip(server: dict[str, Any]) -> None:
    metrics = f"{server['uri']}/metrics"
    user = (server["user"], server["password"])
    status, body = _get(metrics, user, host="10.12.3.4:5000")
    assert status == 200 and b"# TYPE" in body
    assert _get(metrics, (server["user"], "wrong-password"), host="10.12.3.4:5000")[0] == 401
    # The Service names and the job runner's address are admitted too; a public name is not.
    search = f"{server['uri']}/api/2.0/mlflow/experiments/search?max_results=1"
    for host in ("mlflow.mlflow.svc.cluster.local:5000", "0.0.0.0:5000"):
        assert _get(search, user, host=host)[0] == 200, host
    status, body = _get(metrics, user, host="10.0.0.1.nip.io:5000")
    assert (status, body.decode()) == (FACTS["hostValidation"]["invalidHostStatus"], FACTS["hostValidation"]["invalidHostMessage"])
    # The probes' path is exempt from the host check.
    assert _get(f"{server['uri']}/health", host="10.12.3.4:5000")[0] == 200


def test_documented_client_logs_a_run_and_registers_a_model(server: dict[str, Any], tmp_path: Path, credentials: None) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("MLFLOW_", "AWS_"))}
    env.update(MLFLOW_TRACKING_URI=server["uri"], MLFLOW_TRACKING_USERNAME=server["user"], MLFLOW_TRACKING_PASSWORD=server["password"])
    done = subprocess.run([sys.executable, "-c", CLIENT], env=env, cwd=tmp_path, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    result = json.loads(done.stdout.strip().splitlines()[-1])
    assert str(result["version"]) == "1"

    client = mlflow.MlflowClient(tracking_uri=server["uri"])
    run = client.get_run(result["run_id"])
    assert run.data.params == {"alpha": "0.5"} and run.data.metrics == {"rmse": 0.25}
    assert client.get_model_version("churn", "1").run_id == result["run_id"]
    # The artifacts went through the server (--serve-artifacts) into the bucket under mlflow/:
    # the client had no storage credentials (AWS_* removed above).
    keys = _bucket_keys(server["s3"])
    assert any(k.startswith("mlflow/") and k.endswith("/MLmodel") for k in keys), keys


def _bucket_keys(endpoint: str) -> list[str]:
    import boto3

    s3 = boto3.client("s3", endpoint_url=endpoint, region_name="us-east-1", aws_access_key_id="test", aws_secret_access_key="test")
    return [o["Key"] for page in s3.get_paginator("list_objects_v2").paginate(Bucket=BUCKET) for o in page.get("Contents", [])]


class _PeakWatcher(threading.Thread):
    """Polls the sized volumes during an upload and keeps each one's peak (as the kubelet polls)."""

    def __init__(self, pod: Pod) -> None:
        super().__init__(daemon=True)
        self.pod, self.peak, self.done = pod, dict(pod.usage()), threading.Event()

    def run(self) -> None:
        while not self.done.is_set():
            for name, used in self.pod.usage().items():
                self.peak[name] = max(self.peak[name], used)
            time.sleep(0.01)


def _would_evict(pod: Pod, baseline: dict[str, int], now: dict[str, int]) -> dict[str, str]:
    """The volumes over their planned size (emptyDir ``sizeLimit``, claim request) with the
    full-size artifact: what the artifact added counts SCALE times."""
    over = {}
    for name, limit in pod.limits.items():
        projected = baseline[name] + (now[name] - baseline[name]) * SCALE
        if projected > limit:
            over[name] = f"{projected} bytes > planned size {limit}"
    return over


def test_artifact_larger_than_the_old_tmp_limit_round_trips(server: dict[str, Any], tmp_path: Path, credentials: None) -> None:
    pod: Pod = server["pod"]
    # Larger than the old /tmp limit (scaled) and than every planned volume but the transfers one.
    assert ARTIFACT_BYTES * SCALE > OLD_TMP_LIMIT
    assert ARTIFACT_BYTES * SCALE > pod.limits["tmp"]
    weights = tmp_path / "weights.bin"
    if SCALE == 1:
        with weights.open("wb") as f:  # sparse on the client; the server writes real blocks
            f.seek(ARTIFACT_BYTES - 4096)
            f.write(os.urandom(4096))
    else:
        weights.write_bytes(os.urandom(ARTIFACT_BYTES))
    digest = hashlib.sha256(weights.read_bytes()).hexdigest() if SCALE > 1 else _sha256(weights)

    client = mlflow.MlflowClient(tracking_uri=server["uri"])
    run = client.create_run(client.create_experiment(f"weights-{time.time_ns()}"))
    baseline = pod.usage()
    watcher = _PeakWatcher(pod)
    watcher.start()
    try:
        client.log_artifact(run.info.run_id, str(weights), artifact_path="model")
    finally:
        watcher.done.set()
        watcher.join()
    assert _would_evict(pod, baseline, watcher.peak) == {}, "upload"

    # Download: the server copies the whole object from the bucket into TMPDIR before
    # it sends the first byte; read one chunk, then look at the volumes.
    path = run.info.artifact_uri.split("mlflow-artifacts:/", 1)[1].lstrip("/") + "/model/weights.bin"
    url = f"{server['uri']}/api/2.0/mlflow-artifacts/artifacts/{path}"
    sha = hashlib.sha256()
    with urllib.request.urlopen(_request(url, (server["user"], server["password"])), timeout=600) as resp:  # noqa: S310
        sha.update(resp.read(1 << 16))
        during = pod.usage()
        while chunk := resp.read(1 << 20):
            sha.update(chunk)
    # The buffer is inside the pod's volumes (not the host's /tmp), so the limits below are real.
    buffered_in = {n for n in during if during[n] - baseline[n] >= ARTIFACT_BYTES}
    assert buffered_in, {"baseline": baseline, "during": during}
    assert _would_evict(pod, baseline, during) == {}, "download"
    assert buffered_in == {"transfers"}
    assert sha.hexdigest() == digest
    assert any(k.endswith(f"{run.info.run_id}/artifacts/model/weights.bin") for k in _bucket_keys(server["s3"]))


def _sha256(path: Path) -> str:
    sha = hashlib.sha256()
    with path.open("rb") as f:
        while chunk := f.read(1 << 20):
            sha.update(chunk)
    return sha.hexdigest()


def test_uri_shape_matches_the_stack_output() -> None:
    # What the self-hosted stack exports, and what the test's client used: scheme, host, port, no path.
    assert tracking.tracking_uri() == f"http://{tracking.SERVICE_NAME}.{tracking.TRACKING_NAMESPACE}.svc.cluster.local:{tracking.PORT}"


def test_mlflow_reads_the_artifact_uris_the_targets_give() -> None:
    # Azure Blob: the scheme and shape of AzureArtifactStore.mlflow_artifact_uri.
    from mlflow.store.artifact.azure_blob_artifact_repo import AzureBlobArtifactRepository

    container, account, path, suffix = AzureBlobArtifactRepository.parse_wasbs_uri("wasbs://mlops-dev-artifacts@mlopsdevsa1234.blob.core.windows.net/mlflow/")
    assert (container, account, path, suffix) == ("mlops-dev-artifacts", "mlopsdevsa1234", "mlflow/", "blob.core.windows.net")
    # s3:// and gs:// (bucket URI + "/mlflow/") map to MLflow's S3 and GCS repositories.
    from mlflow.store.artifact import artifact_repository_registry as registry

    schemes = registry._artifact_repository_registry._registry
    assert {"s3", "gs", "wasbs"} <= set(schemes)
