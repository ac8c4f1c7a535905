"""The documented client steps against a real MLflow server (docs/tracking.md).

The test starts ``mlflow server`` (the dev dependency, the release the self-hosted image
pins) with exactly the arguments and the auth file ``k8s/tracking.py`` gives the in-cluster
server (``server_args``, ``auth_config``), on a free local port, with a SQLite backend and
a temporary artifacts directory instead of PostgreSQL and the bucket. Then it runs the
README's client lines in a fresh Python process with the environment variables the docs
name (``MLFLOW_TRACKING_URI`` / ``MLFLOW_TRACKING_USERNAME`` / ``MLFLOW_TRACKING_PASSWORD``):
log a run with a parameter, a metric and a model, and register the model. No network.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from base64 import b64encode
from collections.abc import Iterator
from pathlib import Path

import pytest

mlflow = pytest.importorskip("mlflow")

from mlops_stack.k8s import tracking  # noqa: E402

#: How long the server may take to come up on a loaded machine (a guard, not an assertion).
STARTUP_LIMIT_S = 180

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


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _get(url: str, auth: tuple[str, str] | None = None) -> tuple[int, bytes]:
    req = urllib.request.Request(url)
    if auth:
        req.add_header("Authorization", "Basic " + b64encode(f"{auth[0]}:{auth[1]}".encode()).decode())
    try:
        with urllib.request.urlopen(req, timeout=30) as resp:  # noqa: S310 (local test server)
            return resp.status, resp.read()
    except urllib.error.HTTPError as err:
        return err.code, err.read()


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, str]]:
    tmp = tmp_path_factory.mktemp("mlflow")
    port = _free_port()
    password = "Adm1nPassw0rdForTheTest"
    auth_file = tmp / tracking.AUTH_CONFIG_FILE
    # One database for runs and for users, as in the cluster (RDS creates one database).
    database = f"sqlite:///{tmp / 'mlflow.db'}"
    auth_file.write_text(tracking.auth_config(database, password))
    artifacts = tmp / "artifacts"
    artifacts.mkdir()
    env = {
        **os.environ,
        "MLFLOW_BACKEND_STORE_URI": database,
        "MLFLOW_AUTH_CONFIG_PATH": str(auth_file),
        "MLFLOW_FLASK_SERVER_SECRET_KEY": "a-test-only-csrf-key",
        "PROMETHEUS_MULTIPROC_DIR": str(tmp / "metrics"),
    }
    (tmp / "metrics").mkdir()
    args = tracking.server_args(
        artifacts.as_uri(),
        host="127.0.0.1",
        port=port,
        workers=1,
        allowed_hosts=[f"127.0.0.1:{port}", f"localhost:{port}"],
        metrics_dir=str(tmp / "metrics"),
    )
    log = (tmp / "server.log").open("w")
    proc = subprocess.Popen([sys.executable, "-m", "mlflow", *args], env=env, stdout=log, stderr=subprocess.STDOUT, cwd=tmp)
    uri = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + STARTUP_LIMIT_S
        while True:
            if proc.poll() is not None:
                pytest.fail(f"mlflow server exited: {(tmp / 'server.log').read_text()[-2000:]}")
            try:
                if _get(f"{uri}/health")[0] == 200:
                    break
            except OSError:
                pass
            if time.monotonic() > deadline:
                pytest.fail(f"mlflow server did not come up: {(tmp / 'server.log').read_text()[-2000:]}")
            time.sleep(0.5)
        yield {"uri": uri, "user": tracking.ADMIN_USER, "password": password, "artifacts": str(artifacts)}
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
        log.close()


def test_pinned_server_release_is_the_tested_client() -> None:
    assert tracking.MLFLOW_VERSION == mlflow.__version__
    assert tracking.MLFLOW_IMAGE == f"ghcr.io/mlflow/mlflow:v{mlflow.__version__}-full"


def test_every_request_needs_a_user(server: dict[str, str]) -> None:
    search = f"{server['uri']}/api/2.0/mlflow/experiments/search?max_results=1"
    assert _get(search)[0] == 401
    assert _get(search, (server["user"], "wrong-password"))[0] == 401
    assert _get(search, (server["user"], server["password"]))[0] == 200
    # Only the health check is open (the probes use it); metrics need the user (ServiceMonitor basicAuth).
    assert _get(f"{server['uri']}/health")[0] == 200
    assert _get(f"{server['uri']}/metrics")[0] == 401
    status, body = _get(f"{server['uri']}/metrics", (server["user"], server["password"]))
    assert status == 200 and b"# TYPE" in body


def test_documented_client_logs_a_run_and_registers_a_model(server: dict[str, str], tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("MLFLOW_")}
    env.update(MLFLOW_TRACKING_URI=server["uri"], MLFLOW_TRACKING_USERNAME=server["user"], MLFLOW_TRACKING_PASSWORD=server["password"])
    done = subprocess.run([sys.executable, "-c", CLIENT], env=env, cwd=tmp_path, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    result = json.loads(done.stdout.strip().splitlines()[-1])
    assert str(result["version"]) == "1"

    client = mlflow.MlflowClient(tracking_uri=server["uri"])
    os.environ.update(MLFLOW_TRACKING_USERNAME=server["user"], MLFLOW_TRACKING_PASSWORD=server["password"])
    try:
        run = client.get_run(result["run_id"])
        assert run.data.params == {"alpha": "0.5"} and run.data.metrics == {"rmse": 0.25}
        version = client.get_model_version("churn", "1")
        assert version.run_id == result["run_id"]
    finally:
        os.environ.pop("MLFLOW_TRACKING_USERNAME", None)
        os.environ.pop("MLFLOW_TRACKING_PASSWORD", None)
    # The artifacts went through the server (--serve-artifacts) into its destination: the
    # client never needed storage credentials.
    stored = list(Path(server["artifacts"]).rglob("MLmodel"))
    assert stored, "no model artifact in the server's artifacts destination"


def test_uri_shape_matches_the_stack_output() -> None:
    # What the self-hosted stack exports, and what the test's client used: scheme, host, port, no path.
    assert tracking.tracking_uri() == f"http://{tracking.SERVICE_NAME}.{tracking.TRACKING_NAMESPACE}.svc.cluster.local:{tracking.PORT}"


def test_mlflow_reads_the_artifact_uris_the_targets_give() -> None:
    # Azure Blob: the scheme and shape of AzureArtifactStore.mlflow_artifact_uri.
    from mlflow.store.artifact.artifact_repository_registry import get_artifact_repository
    from mlflow.store.artifact.azure_blob_artifact_repo import AzureBlobArtifactRepository

    container, account, path, suffix = AzureBlobArtifactRepository.parse_wasbs_uri("wasbs://mlops-dev-artifacts@mlopsdevsa1234.blob.core.windows.net/mlflow/")
    assert (container, account, path, suffix) == ("mlops-dev-artifacts", "mlopsdevsa1234", "mlflow/", "blob.core.windows.net")
    # s3:// and gs:// (bucket URI + "/mlflow/") map to MLflow's S3 and GCS repositories.
    from mlflow.store.artifact import artifact_repository_registry as registry

    schemes = registry._artifact_repository_registry._registry
    assert {"s3", "gs", "wasbs"} <= set(schemes)
    assert get_artifact_repository  # the public entry point the server uses exists at this release
