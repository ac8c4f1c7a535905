"""What ``mlops-stack preflight`` and ``smoke`` report, on every cloud: the rows, the
verdict, the table and the JSON document. Each cloud's ``preflight`` / ``smoke`` module
(``mlops_stack.<cloud>.preflight``, ``.smoke``) fills a report; this module knows no
cloud and imports no SDK.

Preflight rows (``Finding``) have the number needed and the number allowed: ``ok`` and
``warn`` pass, ``FAIL`` (will fail) and ``error`` (could not be checked) fail the run.
Smoke rows (``Result``) have what was expected and what was found: ``ok`` and ``skip``
pass, ``FAIL`` fails.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Mapping
from dataclasses import asdict, dataclass, field
from typing import Any

OK, WARN, FAIL, ERROR, SKIP = "ok", "warn", "FAIL", "error", "skip"
FAILING = frozenset({FAIL, ERROR})

#: ``client(name)`` returns a cloud SDK client (or a small REST client) for one service.
ClientFactory = Callable[[str], Any]


class NoCredentials(Exception):
    """No usable credentials for the cloud; the message says how to provide them (exit 2)."""


def num(value: float) -> str:
    """``8.0`` -> ``"8"``; ``2.5`` -> ``"2.5"``."""
    return str(int(value)) if float(value).is_integer() else str(value)


# ---------------------------------------------------------------------------------
# preflight

#: Address blocks reserved for documentation (RFC 5737 for IPv4, RFC 3849 for IPv6): no
#: host, runner or VPN ever has such a source address.
DOCUMENTATION_RANGES = ("192.0.2.0/24", "198.51.100.0/24", "203.0.113.0/24", "2001:db8::/32")


def documentation_cidrs(cidrs: Iterable[str]) -> list[str]:
    """The entries of ``cidrs`` that lie inside a documentation range."""
    import ipaddress

    blocks = [ipaddress.ip_network(r) for r in DOCUMENTATION_RANGES]
    out = []
    for cidr in cidrs:
        net = ipaddress.ip_network(str(cidr), strict=False)
        if any(net.version == b.version and net.subnet_of(b) for b in blocks):  # type: ignore[arg-type]
            out.append(str(cidr))
    return out


def check_documentation_cidrs(spec: Any, report: Report) -> None:
    """``cluster.publicAccessCidrs`` entries in a documentation range fail: the example
    stacks use 203.0.113.0/24 as a placeholder (the spec accepts it so they plan offline),
    but an API server open only to it admits no runner, and the in-cluster layer would
    fail half-way through the apply. Every cloud's preflight runs this (docs/decisions.md)."""
    if not spec.cluster.enabled:
        return
    for cidr in documentation_cidrs(str(c) for c in spec.cluster.public_access_cidrs):
        report.add("cluster access", "cluster.publicAccessCidrs", cidr, "a runner's or VPN's egress range", "documentation range", FAIL,
                   f"{cidr} is reserved for documentation (RFC 5737 / RFC 3849): no runner has such an address; "
                   "replace it with your runner's or VPN's egress range (or use cluster.runnerCidrs from inside the network)")


@dataclass
class Finding:
    check: str
    subject: str
    where: str
    needed: str
    allowed: str
    status: str
    detail: str = ""

    @property
    def failing(self) -> bool:
        return self.status in FAILING


@dataclass
class Report:
    stack: str
    region: str
    findings: list[Finding] = field(default_factory=list)

    @property
    def failed(self) -> list[Finding]:
        return [f for f in self.findings if f.failing]

    @property
    def ok(self) -> bool:
        return not self.failed

    def add(self, check: str, subject: str, where: str, needed: Any, allowed: Any, status: str, detail: str = "") -> Finding:
        finding = Finding(check, subject, where, str(needed), str(allowed), status, detail)
        self.findings.append(finding)
        return finding

    def fits(self, check: str, subject: str, where: str, needed: float, allowed: float, unit: str, detail: str = "") -> Finding:
        """A quota row: ``FAIL`` when ``needed`` exceeds ``allowed`` (exactly at the quota passes)."""
        return self.add(check, subject, where, f"{num(needed)} {unit}", f"{num(allowed)} {unit}", OK if needed <= allowed else FAIL, detail)

    def document(self) -> dict[str, Any]:
        return {"stack": self.stack, "region": self.region, "ok": self.ok, "findings": [asdict(f) for f in self.findings]}


def render(report: Report, console: Any, title: str = "preflight") -> None:
    """A rich table of the findings and a one-line verdict."""
    from rich.table import Table

    table = Table(title=f"{title}: {report.stack or '(stack)'} in {report.region}", show_lines=False)
    for col in ("check", "subject", "where", "needed", "allowed", "result", "detail"):
        table.add_column(col, overflow="fold")
    style = {OK: "green", WARN: "yellow", FAIL: "bold red", ERROR: "bold red"}
    for f in report.findings:
        table.add_row(f.check, f.subject, f.where, f.needed, f.allowed, f"[{style[f.status]}]{f.status}[/]", f.detail)
    console.print(table)
    failed = report.failed
    if failed:
        console.print(f"[bold red]{title}: {len(failed)} of {len(report.findings)} checks will fail[/]")
    else:
        console.print(f"[green]{title}: all {len(report.findings)} checks passed[/]")


def failing_lines(findings: Iterable[Finding]) -> list[str]:
    """One line per failing finding (for logs and tests)."""
    return [f"{f.check}: {f.subject} in {f.where}: needs {f.needed}, allowed {f.allowed}" for f in findings if f.failing]


# ---------------------------------------------------------------------------------
# smoke


@dataclass
class Result:
    check: str
    resource: str
    expected: str
    found: str
    status: str
    detail: str = ""

    @property
    def failing(self) -> bool:
        return self.status == FAIL


@dataclass
class SmokeReport:
    stack: str
    region: str
    results: list[Result] = field(default_factory=list)

    @property
    def failed(self) -> list[Result]:
        return [r for r in self.results if r.failing]

    @property
    def ok(self) -> bool:
        return not self.failed

    def add(self, check: str, resource: str, expected: str, found: str, passed: bool | None, detail: str = "") -> None:
        status = SKIP if passed is None else (OK if passed else FAIL)
        self.results.append(Result(check, resource, expected, found, status, detail))

    def document(self) -> dict[str, Any]:
        return {"stack": self.stack, "region": self.region, "ok": self.ok, "results": [asdict(r) for r in self.results]}


def render_smoke(report: SmokeReport, console: Any, title: str = "smoke") -> None:
    from rich.table import Table

    table = Table(title=f"{title}: {report.stack or '(stack)'} in {report.region}")
    for col in ("check", "resource", "expected", "found", "result", "detail"):
        table.add_column(col, overflow="fold")
    style = {OK: "green", SKIP: "yellow", FAIL: "bold red"}
    for r in report.results:
        table.add_row(r.check, r.resource, r.expected, r.found, f"[{style[r.status]}]{r.status}[/]", r.detail)
    console.print(table)
    failed = report.failed
    skipped = sum(1 for r in report.results if r.status == SKIP)
    tail = f" ({skipped} skipped)" if skipped else ""
    if failed:
        console.print(f"[bold red]{title}: {len(failed)} of {len(report.results)} checks failed{tail}[/]")
    else:
        console.print(f"[green]{title}: all {len(report.results) - skipped} checks passed{tail}[/]")


@dataclass(frozen=True)
class SampleRequest:
    content_type: str
    body: bytes
    accept: str | None = None

    @property
    def json(self) -> Any:
        """The body as JSON, or None when it is not a JSON document."""
        if "json" not in self.content_type:
            return None
        try:
            return json.loads(self.body)
        except ValueError:
            return None


def sample_request(ep: Any, defaults: Mapping[str, SampleRequest] | None = None, canonical: Callable[[str], str] | None = None) -> SampleRequest | None:
    """The request smoke sends to an ``EndpointSpec``: its ``sampleRequest``, else the
    default for its framework (``defaults``, keyed by ``canonical(name)``), else None."""
    sr = ep.sample_request
    if sr is not None:
        body = sr.body if isinstance(sr.body, str) else json.dumps(sr.body)
        return SampleRequest(sr.content_type, body.encode(), sr.accept)
    fw = ep.model.framework
    if fw is None or not defaults:
        return None
    return defaults.get(canonical(fw.name) if canonical else fw.name)


def post_sample(session: Any, url: str, request: SampleRequest, headers: Mapping[str, str] | None = None, timeout: float = 60) -> tuple[int, str]:
    """POST one sample request with a ``requests``-style session: ``(status, detail)``;
    status 0 when no response came back."""
    hdrs = {"Content-Type": request.content_type, **(headers or {})}
    if request.accept:
        hdrs["Accept"] = request.accept
    try:
        resp = session.post(url, data=request.body, headers=hdrs, timeout=timeout)
    except Exception as err:  # noqa: BLE001 - reported as a row
        return 0, f"{type(err).__name__}: {err}"
    detail = "" if 200 <= resp.status_code < 300 else (resp.text or "")[:200]
    return int(resp.status_code), detail


def managed_outputs(outputs: Mapping[str, Any], spec: Any) -> dict[str, Any]:
    """The ``endpoints`` stack output without the cluster endpoints (``runsOn: cluster``):
    their address is in-cluster only, so the smoke test from a runner does not call them."""
    cluster = {ep.name for ep in getattr(spec, "endpoints", ()) if getattr(ep, "on_cluster", False)}
    return {name: out for name, out in (outputs.get("endpoints") or {}).items() if name not in cluster}


def smoke_buckets(spec: Any, outputs: Mapping[str, Any]) -> list[tuple[str, str, bool]]:
    """``(logical name, URI, versioned in the spec)`` of each bucket the stack exported, by name."""
    versioned = {b.name: b.versioning for b in spec.storage.buckets}
    return [(logical, str(uri), versioned.get(logical, True)) for logical, uri in sorted((outputs.get("bucket_uris") or {}).items())]


def smoke_endpoints(
    spec: Any, outputs: Mapping[str, Any], request: Callable[[Any], SampleRequest | None] | None = None
) -> list[tuple[str, str, SampleRequest | None]]:
    """``(logical name, deployed endpoint name, sample request)`` of each managed endpoint the
    stack exported (``managed_outputs``), by name; the request is ``request(endpoint spec)``
    (default: ``sample_request``, the spec's own)."""
    specs = {ep.name: ep for ep in spec.endpoints}
    make = request or sample_request
    out = []
    for logical, exported in sorted(managed_outputs(outputs, spec).items()):
        ep = specs.get(logical)
        out.append((logical, str(exported["endpoint_name"]), make(ep) if ep is not None else None))
    return out
