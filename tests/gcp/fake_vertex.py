"""A local fake of the Vertex AI REST API (the calls VertexDeploymentProvider makes).

It runs ``http.server`` on 127.0.0.1 with a random port, keeps models, deployed models
and the endpoint's traffic split, answers with long-running operations (the upload one
needs one poll), and records every request so tests can assert exactly what was sent.
"""

from __future__ import annotations

import json
import re
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

PROJECT = "mlops-test-123456"
REGION = "us-central1"
PARENT = f"projects/{PROJECT}/locations/{REGION}"
ENDPOINT = f"{PARENT}/endpoints/1234567890"
TOKEN = "test-token"


@dataclass
class Request:
    method: str
    path: str
    body: Any
    authorization: str


@dataclass
class FakeVertex:
    requests: list[Request] = field(default_factory=list)
    models: dict[str, dict[str, Any]] = field(default_factory=dict)
    deployed: dict[str, dict[str, Any]] = field(default_factory=dict)
    traffic: dict[str, int] = field(default_factory=dict)
    operations: dict[str, dict[str, Any]] = field(default_factory=dict)
    counter: int = 0
    fail_status: dict[tuple[str, str], int] = field(default_factory=dict)

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

    def handle(self, method: str, path: str, body: Any) -> tuple[int, dict[str, Any]]:
        path = path.split("?", 1)[0]
        if (method, path) in self.fail_status:
            return self.fail_status[(method, path)], {"error": {"code": self.fail_status[(method, path)], "message": "injected"}}
        if not path.startswith("/v1/"):
            return 404, {"error": {"message": "unknown API version"}}
        rest = path[len("/v1/") :]
        if method == "GET" and rest in self.operations:
            return 200, self.operations.pop(rest)
        if method == "POST" and rest == f"{PARENT}/models:upload":
            model = f"{PARENT}/models/{100 + self._next()}"
            self.models[model] = body["model"]
            return 200, self._op({"model": model, "modelVersionId": "1"}, pending=True)
        if method == "GET" and rest == ENDPOINT:
            return 200, {"name": ENDPOINT, "trafficSplit": dict(self.traffic), "deployedModels": list(self.deployed.values())}
        m = re.fullmatch(re.escape(ENDPOINT) + r":(\w+)", rest)
        if method == "POST" and m:
            verb = m.group(1)
            if verb == "deployModel":
                if body["deployedModel"]["model"] not in self.models:
                    return 400, {"error": {"message": "no such model"}}
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


class _Handler(BaseHTTPRequestHandler):
    fake: FakeVertex

    def _serve(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = json.loads(self.rfile.read(length)) if length else None
        self.fake.requests.append(Request(self.command, self.path, body, self.headers.get("Authorization", "")))
        status, payload = self.fake.handle(self.command, self.path, body)
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
