"""A local fake of the Vertex AI REST API (the calls VertexDeploymentProvider makes).

It runs ``http.server`` on 127.0.0.1 with a random port, keeps models, deployed models
and the endpoint's traffic split, answers with long-running operations (the upload one
needs one poll), and records every request so tests can assert exactly what was sent.

Shapes follow the Vertex AI REST reference, v1
(cloud.google.com/vertex-ai/docs/reference/rest/v1): ``projects.locations.models``
(``upload`` answers an operation whose response has ``model`` and ``modelVersionId``;
``get`` a Model with ``name``, ``versionId``, ``containerSpec``, ``artifactUri``,
``labels``; ``list`` answers ``{"models": [...], "nextPageToken": ...}`` and takes
``filter`` such as ``labels.myKey="myValue"``) and ``projects.locations.endpoints``
(``get`` answers ``deployedModels[]`` with ``id``/``model``/``dedicatedResources``
and ``trafficSplit``; on a PSC endpoint also ``privateServiceConnectConfig`` and each
deployed model's ``privateEndpoints.serviceAttachment``); and Artifact Registry REST v1
(cloud.google.com/artifact-registry/docs/reference/rest/v1):
``projects.locations.repositories.packages.tags.get`` / ``packages.versions.get``
answer 404 for an image that was never pushed (``images`` holds those that were). A request without ``x-goog-user-project`` gets the 403 the
regional endpoints give user credentials without a quota project; ``uploads`` counts
``models:upload`` calls; ``failing_operations`` makes a verb's operation end in an error.
"""

from __future__ import annotations

import json
import re
import threading
from urllib.parse import parse_qs, urlsplit
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

PROJECT = "mlops-test-123456"
REGION = "us-central1"
PARENT = f"projects/{PROJECT}/locations/{REGION}"
ENDPOINT = f"{PARENT}/endpoints/1234567890"
TOKEN = "test-token"
QUOTA_PROJECT = PROJECT


@dataclass
class Request:
    method: str
    path: str
    body: Any
    authorization: str
    user_project: str | None = None


@dataclass
class FakeVertex:
    requests: list[Request] = field(default_factory=list)
    models: dict[str, dict[str, Any]] = field(default_factory=dict)
    deployed: dict[str, dict[str, Any]] = field(default_factory=dict)
    traffic: dict[str, int] = field(default_factory=dict)
    operations: dict[str, dict[str, Any]] = field(default_factory=dict)
    counter: int = 0
    fail_status: dict[tuple[str, str], int] = field(default_factory=dict)
    failing_operations: set[str] = field(default_factory=set)
    uploads: int = 0
    #: Models per page of ``models.list`` (to exercise ``nextPageToken``).
    page_size: int = 2
    #: Artifact Registry tags/versions that exist: ``projects/.../packages/<pkg>/tags/<tag>``.
    images: set[str] = field(default_factory=set)
    #: A Private Service Connect endpoint: ``get`` then reports
    #: ``privateServiceConnectConfig.enablePrivateServiceConnect`` and every deployed model's
    #: ``privateEndpoints.serviceAttachment`` (the deploy operation's response does not).
    psc_attachment: str | None = None

    def _next(self) -> int:
        self.counter += 1
        return self.counter

    def _op(self, response: dict[str, Any], *, pending: bool = False) -> dict[str, Any]:
        name = f"{PARENT}/operations/{self._next()}"
        done = {"name": name, "done": True, "response": response}
        if pending:
            self.operations[name] = done
            return {"name": name, "done": False}
        return done

    def _list_models(self, query: dict[str, list[str]]) -> tuple[int, dict[str, Any]]:
        wanted = (query.get("filter") or [""])[0]
        m = re.fullmatch(r'labels\.([a-z0-9_-]+)="([^"]*)"', wanted)
        if wanted and not m:
            return 400, {"error": {"code": 400, "message": f"unsupported filter {wanted!r}"}}
        names = sorted(n for n, model in self.models.items() if not m or model.get("labels", {}).get(m.group(1)) == m.group(2))
        start = int((query.get("pageToken") or ["0"])[0])
        page = {"models": [self.models[n] for n in names[start : start + self.page_size]]}
        if start + self.page_size < len(names):
            page["nextPageToken"] = str(start + self.page_size)
        return 200, page

    def handle(self, method: str, path: str, body: Any, user_project: str | None = None) -> tuple[int, dict[str, Any]]:
        split = urlsplit(path)
        path, query = split.path, parse_qs(split.query)
        if user_project != QUOTA_PROJECT:
            message = "Your application is authenticating by using local Application Default Credentials. The aiplatform.googleapis.com API requires a quota project"
            return 403, {"error": {"code": 403, "message": message, "status": "PERMISSION_DENIED"}}
        if (method, path) in self.fail_status:
            return self.fail_status[(method, path)], {"error": {"code": self.fail_status[(method, path)], "message": "injected"}}
        if not path.startswith("/v1/"):
            return 404, {"error": {"message": "unknown API version"}}
        rest = path[len("/v1/") :]
        if method == "GET" and "/repositories/" in rest and "/packages/" in rest:
            if rest in self.images:
                return 200, {"name": rest}
            return 404, {"error": {"code": 404, "message": f"Requested entity was not found: {rest}"}}
        if method == "GET" and rest in self.operations:
            return 200, self.operations.pop(rest)
        if method == "POST" and rest == f"{PARENT}/models:upload":
            self.uploads += 1
            model = f"{PARENT}/models/{100 + self._next()}"
            self.models[model] = {**body["model"], "name": model, "versionId": "1"}
            return 200, self._op({"model": model, "modelVersionId": "1"}, pending=True)
        if method == "GET" and rest == f"{PARENT}/models":
            return self._list_models(query)
        if method == "GET" and rest in self.models:
            return 200, self.models[rest]
        if method == "GET" and rest == ENDPOINT:
            endpoint: dict[str, Any] = {"name": ENDPOINT, "trafficSplit": dict(self.traffic), "deployedModels": list(self.deployed.values())}
            if self.psc_attachment is not None:
                endpoint["privateServiceConnectConfig"] = {"enablePrivateServiceConnect": True, "projectAllowlist": [PROJECT]}
                endpoint["deployedModels"] = [{**d, "privateEndpoints": {"serviceAttachment": self.psc_attachment}} for d in self.deployed.values()]
            return 200, endpoint
        m = re.fullmatch(re.escape(ENDPOINT) + r":(\w+)", rest)
        if method == "POST" and m:
            verb = m.group(1)
            if verb == "deployModel":
                if body["deployedModel"]["model"] not in self.models:
                    return 400, {"error": {"message": "no such model"}}
                if verb in self.failing_operations:
                    return 200, {"name": f"{PARENT}/operations/{self._next()}", "done": True, "error": {"code": 8, "message": "injected: quota exceeded"}}
                dm_id = f"dm{self._next()}"
                self.deployed[dm_id] = {"id": dm_id, **body["deployedModel"]}
                split = dict(body["trafficSplit"])
                split[dm_id] = split.pop("0")
                self.traffic = {k: v for k, v in split.items() if k in self.deployed}
                return 200, self._op({"deployedModel": {"id": dm_id}})
            if verb == "undeployModel":
                dm_id = body["deployedModelId"]
                if dm_id not in self.deployed:
                    return 404, {"error": {"message": "not deployed"}}
                if "trafficSplit" in body:
                    self.traffic = dict(body["trafficSplit"])
                if self.traffic.get(dm_id) and len(self.deployed) > 1:
                    return 400, {"error": {"message": "deployed model still has traffic"}}
                del self.deployed[dm_id]
                self.traffic.pop(dm_id, None)
                return 200, self._op({})
            if verb == "mutateDeployedModel":
                dm = self.deployed[body["deployedModel"]["id"]]
                dm["dedicatedResources"].update(body["deployedModel"]["dedicatedResources"])
                return 200, self._op({"deployedModel": dm})
        if method == "PATCH" and rest in self.models and query.get("updateMask") == ["labels"]:
            self.models[rest]["labels"] = dict(body["labels"])
            return 200, self.models[rest]
        if method == "PATCH" and rest == ENDPOINT:
            self.traffic = dict(body["trafficSplit"])
            return 200, {"name": ENDPOINT, "trafficSplit": self.traffic}
        if method == "DELETE" and rest in self.models:
            if any(d["model"] == rest for d in self.deployed.values()):
                return 400, {"error": {"message": "model is deployed"}}
            del self.models[rest]
            return 200, self._op({})
        if method == "DELETE" and rest.startswith(f"{PARENT}/models/"):
            return 404, {"error": {"message": "model not found"}}
        return 404, {"error": {"message": f"no route {method} {rest}"}}


class FakeCredentials:
    """google-auth credentials (``google.auth.credentials.Credentials``) whose token lives
    for ``lifetime`` requests: ``refresh`` mints ``test-token-<n>``, so a test sees when
    ``AuthorizedSession`` refreshed. Built on the real base class so ``before_request``,
    ``apply`` and the quota-project header are google-auth's own."""

    def __new__(cls, lifetime: int = 1000, quota_project_id: str | None = None) -> Any:
        import datetime

        from google.auth import _helpers, credentials

        class _Creds(credentials.Credentials):
            def __init__(self) -> None:
                super().__init__()
                self.refreshes = 0
                self.uses = 0
                self._quota_project_id = quota_project_id

            def refresh(self, request: Any) -> None:
                self.refreshes += 1
                self.uses = 0
                self.token = f"{TOKEN}-{self.refreshes}"
                self.expiry = _helpers.utcnow() + datetime.timedelta(hours=1)

            def before_request(self, request: Any, method: str, url: str, headers: Any) -> None:
                self.uses += 1
                if self.uses > lifetime:  # the token has "expired" during a long operation
                    self.expiry = _helpers.utcnow() - datetime.timedelta(seconds=1)
                super().before_request(request, method, url, headers)

        return _Creds()


class _Handler(BaseHTTPRequestHandler):
    fake: FakeVertex

    def _serve(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = json.loads(self.rfile.read(length)) if length else None
        user_project = self.headers.get("x-goog-user-project")
        self.fake.requests.append(Request(self.command, self.path, body, self.headers.get("Authorization", ""), user_project))
        status, payload = self.fake.handle(self.command, self.path, body, user_project)
        data = json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    do_GET = do_POST = do_PATCH = do_DELETE = _serve

    def log_message(self, *args: Any) -> None:  # quiet
        pass


class FakeServer:
    def __init__(self) -> None:
        self.fake = FakeVertex()
        handler = type("Handler", (_Handler,), {"fake": self.fake})
        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        self.thread = threading.Thread(target=self.httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)

    def __enter__(self) -> FakeServer:
        self.thread.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
