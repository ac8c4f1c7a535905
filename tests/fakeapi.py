"""A local fake HTTP API on 127.0.0.1 for the GCP and Azure preflight/smoke tests: each
route (method, path regex) answers with a status and a JSON body in the shape of the
cloud's public API reference (the test data cites which). Unrouted paths answer 404 in
the cloud's error shape. Every request is recorded. No network beyond the loopback."""

from __future__ import annotations

import json
import re
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

Answer = tuple[int, Any]


@dataclass
class Call:
    method: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]
    body: bytes


@dataclass
class FakeApi:
    """Routes are tried newest first, so a test can override one answer of a healthy fake."""

    not_found: Callable[[str], Any] = lambda path: {"error": {"code": 404, "message": f"{path} not found", "status": "NOT_FOUND"}}
    routes: list[tuple[str, re.Pattern[str], Callable[[Call], Answer] | Answer]] = field(default_factory=list)
    calls: list[Call] = field(default_factory=list)
    base: str = ""

    def route(self, method: str, pattern: str, answer: Callable[[Call], Answer] | Answer) -> None:
        self.routes.insert(0, (method, re.compile(pattern), answer))

    def json(self, method: str, pattern: str, body: Any, status: int = 200) -> None:
        self.route(method, pattern, (status, body))

    def answer(self, call: Call) -> Answer:
        for method, pattern, answer in self.routes:
            if method == call.method and pattern.fullmatch(call.path):
                return answer(call) if callable(answer) else answer
        return 404, self.not_found(call.path)

    def paths(self, method: str | None = None) -> list[str]:
        return [c.path for c in self.calls if method is None or c.method == method]


@contextmanager
def serve(api: FakeApi) -> Iterator[FakeApi]:
    class Handler(BaseHTTPRequestHandler):
        def _handle(self) -> None:
            parts = urlsplit(self.path)
            length = int(self.headers.get("Content-Length") or 0)
            call = Call(self.command, parts.path, parse_qs(parts.query), dict(self.headers.items()), self.rfile.read(length) if length else b"")
            api.calls.append(call)
            status, body = api.answer(call)
            data = body if isinstance(body, bytes) else json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        do_GET = do_POST = do_PUT = _handle  # noqa: N815

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    api.base = f"http://127.0.0.1:{server.server_address[1]}"
    try:
        yield api
    finally:
        server.shutdown()
        server.server_close()
