"""Run the CrossGuard policy pack over an offline plan, the way the Pulumi CLI does.

The Pulumi CLI runs a Python policy pack through its ``pulumi-analyzer-policy-python``
shim: ``python -u -m pulumi.policy <engine-address> .`` in the pack directory, with the
stack in the environment (``PULUMI_PROJECT``, ``PULUMI_STACK``, ``PULUMI_DRY_RUN``,
``PULUMI_CONFIG`` as a JSON map of the stack config). The pack prints the port of its
Analyzer gRPC server on stdout. The CLI then calls ``GetPluginInfo``,
``GetAnalyzerInfo``, ``ConfigureStack``, ``Configure`` (every policy's enforcement
level and config: the defaults from ``GetAnalyzerInfo`` overlaid with
``--policy-pack-config``), ``Remediate`` and ``Analyze`` per resource, and
``AnalyzeStack`` once. :func:`run_policy_pack` does exactly that, against a small
in-process Engine gRPC service for the engine address (pulumi-policy 1.21 never dials
it; a pack that logs through the engine still works).

The stack name and config reach the pack through its environment, as with the CLI.
The offline plan starts the pack through a small launcher (``PACK_LAUNCHER``) that
runs ``pulumi.policy``'s own ``__main__`` after two additions, so one pack process can
serve every plan of a ``pack_session()`` (``mlops-stack plan --all``):

- ``ConfigureStack`` (sent before each plan, with its stack, project and config, as the
  Pulumi CLI sends it) also sets ``PULUMI_STACK``, ``PULUMI_PROJECT``,
  ``PULUMI_ORGANIZATION``, ``PULUMI_CONFIG`` and Pulumi's runtime config to that plan's,
  which is what a fresh process for that plan would have;
- within one ``Analyze``/``AnalyzeStack``/``Remediate`` call, pulumi-policy converts the
  same properties message to a dict once per policy; the launcher memoises that
  conversion by the message's bytes (the result is only ever copied by
  ``deserialize_properties``), and within one ``Analyze``/``AnalyzeStack`` call it
  builds a resource's deserialized properties, unknown-checking proxies, options and
  provider once and hands the same objects to every policy (the pack's rules only read
  them), which was most of the pack's time.

``prestart_pack()`` starts a session's pack process before the first plan, so that it
starts while the plan runs.

Violations are the same either way (tests/test_plan_speed.py compares them).
"""

from __future__ import annotations

import contextlib
import json
import os
import queue
import subprocess
import sys
import threading
import time
from collections import deque
from collections.abc import Iterable, Iterator, Mapping
from concurrent import futures
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import grpc
from google.protobuf import empty_pb2, json_format, struct_pb2
from pulumi.runtime.proto import analyzer_pb2, analyzer_pb2_grpc, engine_pb2, engine_pb2_grpc, plugin_pb2

from mlops_stack import targets
from mlops_stack.policy_pack import check_pack_dir, default_pack_dir

__all__ = [
    "PolicyConfigError",
    "PolicyPackError",
    "Violation",
    "mandatory",
    "run_policy_pack",
]

#: How the offline engine writes secrets and unknowns into a plan.
SECRET = "[secret]"
UNKNOWN = "[unknown]"

# Wire-protocol markers (pulumi/runtime/rpc.py): the sig key, the secret sig and the unknown value.
_SIG_KEY = "4dabf18193072939515e22adb298388d"
_SECRET_SIG = "1b47061264138c4ac30d75fd1eb44270"
_UNKNOWN_WIRE = "04da6b54-80e4-46f7-96ec-b56ff0331ba9"

_LEVEL_NAMES = {0: "advisory", 1: "mandatory", 2: "disabled", 3: "remediate"}
_LEVEL_VALUES = {v: k for k, v in _LEVEL_NAMES.items()}
_SEVERITY_NAMES = {0: "", 1: "low", 2: "medium", 3: "high", 4: "critical"}
_GRPC_OPTIONS = [("grpc.max_receive_message_length", 400 * 1024 * 1024),
                 ("grpc.max_send_message_length", 400 * 1024 * 1024)]


#: ``python -c`` code that runs ``python -m pulumi.policy`` with the two additions of the
#: module docstring (it needs only pulumi-policy, like the pack itself).
PACK_LAUNCHER = """
import gc, json, os, runpy, threading
gc.disable()  # a pack process lives for one CLI run; it allocates much and frees little
from google.protobuf import json_format
import pulumi.runtime.config as _config
import pulumi_policy.policy as _policy

_to_dict = json_format.MessageToDict
_memo = threading.local()

def _memo_to_dict(message, *args, **kwargs):
    cache = getattr(_memo, "cache", None)
    if cache is None or args or kwargs:
        return _to_dict(message, *args, **kwargs)
    key = (message.DESCRIPTOR.full_name, message.SerializeToString(deterministic=True))
    if key not in cache:
        cache[key] = _to_dict(message)
    return cache[key]

def _memoised(method):
    def call(self, request, context):
        _memo.cache = {}
        try:
            return method(self, request, context)
        finally:
            _memo.cache = None
    return call

def _per_call(function, method=False):
    # function memoised within one call by the identity of its argument (the argument
    # is kept in the memo, so an identity is never reused within the call)
    def call(*args, **kwargs):
        cache = getattr(_memo, "cache", None)
        if cache is None or kwargs or len(args) != 1 + method:
            return function(*args, **kwargs)
        arg = args[-1]
        key = (function, id(arg))
        hit = cache.get(key)
        if hit is None:
            hit = cache[key] = (arg, function(*args))
        return hit[1]
    return call

# pulumi-policy's Analyze and AnalyzeStack rebuild, for each of the pack's policies, the
# same dict, proxies, options and provider of a resource; within one call they are built
# once and handed to every policy (the pack's rules only read them).
json_format.MessageToDict = _per_call(_memo_to_dict)
_policy.deserialize_properties = _per_call(_policy.deserialize_properties)
_policy.unknown_checking_proxy = _per_call(_policy.unknown_checking_proxy)
_servicer = _policy._PolicyAnalyzerServicer
_servicer._get_resource_options = _per_call(_servicer._get_resource_options, method=True)
_servicer._get_provider_resource = _per_call(_servicer._get_provider_resource, method=True)
for _name in ("Analyze", "AnalyzeStack", "Remediate"):
    setattr(_servicer, _name, _memoised(getattr(_servicer, _name)))
_configure_stack = _servicer.ConfigureStack

def _configure_stack_env(self, request, context):
    config = dict(request.config)
    os.environ.update({"PULUMI_STACK": request.stack, "PULUMI_PROJECT": request.project,
                       "PULUMI_ORGANIZATION": request.organization or "organization",
                       "PULUMI_DRY_RUN": "true" if request.dry_run else "false",
                       "PULUMI_CONFIG": json.dumps(config)})
    _config.set_all_config({}, [])
    return _configure_stack(self, request, context)

_servicer.ConfigureStack = _configure_stack_env
runpy.run_module("pulumi.policy", run_name="__main__", alter_sys=True)
"""


class PolicyPackError(RuntimeError):
    """The pack could not be started, configured or run (not a policy violation)."""


class PolicyConfigError(PolicyPackError):
    """The policy config (``--policy-pack-config``) does not fit the pack's policies."""


@dataclass(frozen=True)
class Violation:
    """One policy finding. ``urn`` is empty for a finding about the whole stack."""

    policy: str
    level: str  # advisory | mandatory | remediate
    severity: str  # low | medium | high | critical ("" if the policy has none)
    urn: str
    message: str

    def to_dict(self) -> dict[str, str]:
        return {"policy": self.policy, "level": self.level, "severity": self.severity, "urn": self.urn,
                "message": self.message}

    def __str__(self) -> str:
        where = self.urn.rsplit("::", 1)[-1] if self.urn else "stack"
        return f"[{self.level}] {self.policy} ({where}): {self.message}"


def mandatory(violations: Iterable[Violation]) -> list[Violation]:
    """The violations that block a deployment."""
    return [v for v in violations if v.level == "mandatory"]


# ---------------------------------------------------------------------------------
# Entry point


def run_policy_pack(
    plan: Any,
    pack_dir: Path | str | None = None,
    config: Mapping[str, Any] | None = None,
    python: str = sys.executable,
    *,
    startup_timeout: float = 60.0,
    rpc_timeout: float = 60.0,
) -> list[Violation]:
    """Evaluate the policy pack in ``pack_dir`` over ``plan`` and return every finding.

    ``pack_dir`` defaults to the installed pack (``$MLOPS_POLICY_PACK`` overrides it):
    see :mod:`mlops_stack.policy_pack`.

    ``plan`` is the plan contract (a dict with project, stack, resources, optional
    ``config`` flat map and ``region``) or the offline engine's ``Plan`` object.
    ``config`` has the shape of ``--policy-pack-config``: ``{"<policy>": "mandatory"}``,
    ``{"<policy>": {"enforcementLevel": ..., "<property>": ...}}``, ``{"all": "advisory"}``;
    as a convenience a top-level pack property (``{"allowedRegions": ["eu-west-1"]}``)
    is given to every policy whose schema declares it.

    Raises :class:`PolicyPackError` if the pack cannot start, rejects the config or fails.
    """
    data = _plan_dict(plan)
    directory = _pack_dir(pack_dir)
    if _SESSION is not None and python == sys.executable:
        pack = _SESSION.get((str(directory), python))
        try:
            if pack is None:
                pack = _PackProcess(directory, data, python, startup_timeout, rpc_timeout, launcher=True)
                _SESSION[(str(directory), python)] = pack
                pack._launch()
            if pack.channel is None:
                pack._connect()
            return pack.evaluate(data, config or {})
        except BaseException:
            _SESSION.pop((str(directory), python)).close()
            raise
    with _PackProcess(directory, data, python, startup_timeout, rpc_timeout, launcher=python == sys.executable) as pack:
        return pack.evaluate(data, config or {})


#: Whether this process has started gRPC (a server or channel): gRPC's core threads do not
#: survive ``fork``, so the plan pipeline then spawns its workers instead of forking.
GRPC_STARTED = False

#: The pack processes of the current ``pack_session()`` (None: one process per plan).
_SESSION: dict[tuple[str, str], _PackProcess] | None = None


def prestart_pack(pack_dir: Path | str | None = None) -> None:
    """Within a ``pack_session()``, start the pack process now, without waiting for it:
    it starts (about 0.4 s: importing Pulumi, gRPC, pulumi-policy and the rules) while
    this process goes on planning; the first ``run_policy_pack`` then connects to it.
    The pack starts with a neutral stack in its environment; the launcher gives it each
    plan's stack and config on ``ConfigureStack``, as for every later plan of a session."""
    if _SESSION is None:
        return
    directory = _pack_dir(pack_dir)
    key = (str(directory), sys.executable)
    if key in _SESSION:
        return
    pack = _PackProcess(directory, {}, sys.executable, 60.0, 60.0, launcher=True)
    _SESSION[key] = pack
    try:
        pack._launch()
    except BaseException:
        _SESSION.pop(key).close()
        raise


@contextlib.contextmanager
def pack_session() -> Iterator[None]:
    """Within this block, ``run_policy_pack`` keeps one pack process (per pack directory)
    for every plan instead of starting one per plan; it is stopped when the block ends."""
    global _SESSION
    if _SESSION is not None:  # nested: the outer block owns the processes
        yield
        return
    _SESSION = {}
    try:
        yield
    finally:
        sessions, _SESSION = _SESSION, None
        for pack in sessions.values():
            pack.close()


# ---------------------------------------------------------------------------------
# Plan -> wire


def _plan_dict(plan: Any) -> dict[str, Any]:
    if isinstance(plan, Mapping):
        return dict(plan)
    resources = [r.to_dict() | {"id": getattr(r, "id", "")} for r in plan.resources]
    return {
        "project": plan.project,
        "stack": plan.stack,
        "resources": resources,
        "outputs": dict(getattr(plan, "outputs", {}) or {}),
        "config": dict(getattr(plan, "config", {}) or {}),
    }


def _stack_config(plan: Mapping[str, Any]) -> dict[str, str]:
    """The flat stack config (``aws:region`` ...) handed to the pack as PULUMI_CONFIG."""
    cfg = {str(k): v if isinstance(v, str) else json.dumps(v) for k, v in (plan.get("config") or {}).items()}
    region = plan.get("region")
    cloud = plan.get("cloud")
    if isinstance(region, str) and region:
        known = {t.name: t.region_config_key for t in targets.all()}
        key = known.get(str(cloud))
        if key:
            cfg.setdefault(key, region)
    return cfg


def _wire(value: Any) -> Any:
    """Plan values as wire values: "[secret]" -> secret envelope, "[unknown]" -> unknown sentinel."""
    if isinstance(value, str):
        if value == SECRET:
            return {_SIG_KEY: _SECRET_SIG, "value": SECRET}
        if value == UNKNOWN:
            return _UNKNOWN_WIRE
        return value
    if isinstance(value, Mapping):
        return {str(k): _wire(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_wire(v) for v in value]
    return value


def _struct(props: Mapping[str, Any]) -> struct_pb2.Struct:
    s = struct_pb2.Struct()
    s.update(_wire(props))
    return s


def _provider_ref_urn(ref: str) -> str:
    return ref.rsplit("::", 1)[0] if ref.count("::") >= 4 else ref


def _parse_config_value(v: str) -> Any:
    try:
        return json.loads(v)
    except ValueError:
        return v


class _Providers:
    """Provider resources by URN; resources without one get the package's default provider."""

    def __init__(self, plan: Mapping[str, Any], stack_config: Mapping[str, str]) -> None:
        self.by_urn = {r["urn"]: r for r in plan.get("resources", []) if str(r.get("type", "")).startswith("pulumi:providers:")}
        self.stack = plan.get("stack", "stack")
        self.project = plan.get("project", "project")
        self.config = stack_config
        self._defaults: dict[str, analyzer_pb2.AnalyzerProviderResource] = {}

    def for_resource(self, r: Mapping[str, Any]) -> analyzer_pb2.AnalyzerProviderResource | None:
        ref = r.get("provider") or ""
        if ref:
            prov = self.by_urn.get(_provider_ref_urn(ref))
            if prov is not None:
                return analyzer_pb2.AnalyzerProviderResource(
                    type=prov["type"], properties=_struct(prov.get("inputs") or {}), urn=prov["urn"], name=prov.get("name", ""))
        package = str(r.get("type", "")).split(":", 1)[0]
        if not package or package == "pulumi":
            return None
        if package not in self._defaults:
            props = {k.split(":", 1)[1]: _parse_config_value(v) for k, v in self.config.items()
                     if k.startswith(package + ":")}
            ptype = f"pulumi:providers:{package}"
            self._defaults[package] = analyzer_pb2.AnalyzerProviderResource(
                type=ptype, properties=_struct(props), name="default",
                urn=f"urn:pulumi:{self.stack}::{self.project}::{ptype}::default")
        return self._defaults[package]


def _options(r: Mapping[str, Any]) -> analyzer_pb2.AnalyzerResourceOptions:
    opts = analyzer_pb2.AnalyzerResourceOptions(
        protect=bool(r.get("protect", False)),
        ignoreChanges=list(r.get("ignoreChanges") or []),
        additionalSecretOutputs=list(r.get("additionalSecretOutputs") or []),
        parent=r.get("parent") or "",
    )
    if "deleteBeforeReplace" in r:
        opts.deleteBeforeReplace = bool(r["deleteBeforeReplace"])
        opts.deleteBeforeReplaceDefined = True
    return opts


# ---------------------------------------------------------------------------------
# Config (what the CLI does with --policy-pack-config)

_SCHEMA_TYPES = {"array": list, "object": dict, "string": str, "boolean": bool, "number": (int, float), "integer": int}


def _check_type(policy: str, prop: str, schema: Mapping[str, Any], value: Any) -> None:
    want = schema.get("type")
    py = _SCHEMA_TYPES.get(str(want))
    if py is None:
        return
    if isinstance(value, bool) and want in ("integer", "number"):
        ok = False
    elif want == "integer" and isinstance(value, float):
        ok = value.is_integer()
    else:
        ok = isinstance(value, py)
    if not ok:
        raise PolicyConfigError(f"policy config {policy}.{prop}: expected {want}, got {type(value).__name__} ({value!r})")
    if want == "array" and isinstance(schema.get("items"), Mapping):
        for item in value:
            _check_type(policy, f"{prop}[]", schema["items"], item)


def effective_config(info: analyzer_pb2.AnalyzerInfo, config: Mapping[str, Any]) -> dict[str, tuple[str, dict[str, Any]]]:
    """policy -> (enforcement level, properties), as the CLI would send in Configure."""
    schemas: dict[str, dict[str, Any]] = {}
    result: dict[str, tuple[str, dict[str, Any]]] = {}
    for p in info.policies:
        schema = json_format.MessageToDict(p.configSchema.properties) if p.HasField("configSchema") else {}
        schemas[p.name] = schema
        props = {k: v["default"] for k, v in schema.items() if isinstance(v, Mapping) and "default" in v}
        result[p.name] = (_LEVEL_NAMES.get(p.enforcementLevel, "advisory"), props)
    for name, pc in info.initialConfig.items():
        if name in result:
            level, props = result[name]
            props.update(json_format.MessageToDict(pc.properties))
            result[name] = (_LEVEL_NAMES[pc.enforcementLevel] if pc.enforcementLevel else level, props)

    def set_level(name: str, level: Any) -> None:
        if level not in _LEVEL_VALUES:
            raise PolicyConfigError(f"policy config {name}: unknown enforcement level {level!r}")
        result[name] = (level, result[name][1])

    shared = {prop for s in schemas.values() for prop in s}
    for key, value in config.items():
        if key == "all":
            level = value.get("enforcementLevel") if isinstance(value, Mapping) else value
            for name in result:
                set_level(name, level)
        elif key in result:
            if isinstance(value, str):
                set_level(key, value)
                continue
            if not isinstance(value, Mapping):
                raise PolicyConfigError(f"policy config {key}: expected a level or an object, got {value!r}")
            for prop, pv in value.items():
                if prop == "enforcementLevel":
                    set_level(key, pv)
                elif prop not in schemas[key]:
                    raise PolicyConfigError(f"policy config {key}: unknown property {prop!r} "
                                          f"(known: {', '.join(sorted(schemas[key])) or 'none'})")
                else:
                    _check_type(key, prop, schemas[key][prop], pv)
                    result[key][1][prop] = pv
        elif key in shared:
            for name, schema in schemas.items():
                if key in schema:
                    _check_type(name, key, schema[key], value)
                    result[name][1][key] = value
        else:
            raise PolicyConfigError(f"policy config: {key!r} is neither a policy of pack {info.name} nor a pack property")
    # Apply the "all" level first, then per-policy ones: re-run per-policy levels for precedence.
    for key, value in config.items():
        if key in result and key != "all":
            if isinstance(value, str):
                set_level(key, value)
            elif isinstance(value, Mapping) and "enforcementLevel" in value:
                set_level(key, value["enforcementLevel"])
    return result


# ---------------------------------------------------------------------------------
# The subprocess and its protocol


class _Engine(engine_pb2_grpc.EngineServicer):
    """The engine service a plugin is told about: collects Log calls."""

    def __init__(self) -> None:
        self.logs: list[str] = []

    def Log(self, request: Any, context: Any) -> empty_pb2.Empty:  # noqa: N802 - gRPC method name
        self.logs.append(request.message)
        return empty_pb2.Empty()

    def GetRootResource(self, request: Any, context: Any) -> Any:  # noqa: N802
        return engine_pb2.GetRootResourceResponse(urn="")

    def SetRootResource(self, request: Any, context: Any) -> Any:  # noqa: N802
        return engine_pb2.SetRootResourceResponse()


class _PackProcess:
    def __init__(self, pack_dir: Path, plan: Mapping[str, Any], python: str, startup_timeout: float,
                 rpc_timeout: float, *, launcher: bool = False) -> None:
        if not (pack_dir / "PulumiPolicy.yaml").is_file() or not (pack_dir / "__main__.py").is_file():
            raise PolicyPackError(f"{pack_dir} is not a policy pack (needs PulumiPolicy.yaml and __main__.py)")
        self.pack_dir = pack_dir
        self.python = python
        self.launcher = launcher
        self.plan = plan
        self.stack_config = _stack_config(plan)
        self.startup_timeout = startup_timeout
        self.rpc_timeout = rpc_timeout
        self.proc: subprocess.Popen[bytes] | None = None
        self.channel: grpc.Channel | None = None
        self.engine_server: grpc.Server | None = None
        self.engine = _Engine()
        self._stderr: deque[str] = deque(maxlen=200)
        self._stdout: queue.Queue[str | None] = queue.Queue()
        self._threads: list[threading.Thread] = []

    # -- lifecycle ---------------------------------------------------------------
    def __enter__(self) -> _PackProcess:
        try:
            self._start()
        except BaseException:
            self.close()
            raise
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    def _start(self) -> None:
        self._launch()
        self._connect()

    def _launch(self) -> None:
        """Start the engine service and the pack process (returns while the pack starts)."""
        global GRPC_STARTED
        GRPC_STARTED = True
        self.engine_server = grpc.server(futures.ThreadPoolExecutor(max_workers=2), options=_GRPC_OPTIONS)
        engine_pb2_grpc.add_EngineServicer_to_server(self.engine, self.engine_server)
        engine_port = self.engine_server.add_insecure_port("127.0.0.1:0")
        self.engine_server.start()

        env = dict(os.environ)
        env.update({
            "PULUMI_CONFIG": json.dumps(self.stack_config),
            "PULUMI_PROJECT": str(self.plan.get("project") or "mlops-stack"),
            "PULUMI_STACK": str(self.plan.get("stack") or "dev"),
            "PULUMI_ORGANIZATION": str(self.plan.get("organization") or "organization"),
            "PULUMI_DRY_RUN": "true",
            "PYTHONUNBUFFERED": "1",
        })
        entry = ["-c", PACK_LAUNCHER] if self.launcher else ["-m", "pulumi.policy"]
        cmd = [self.python, "-u", *entry, f"127.0.0.1:{engine_port}", "."]
        try:
            self.proc = subprocess.Popen(cmd, cwd=self.pack_dir, env=env, stdin=subprocess.DEVNULL,
                                         stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        except OSError as e:
            raise PolicyPackError(f"cannot start the policy pack with {self.python}: {e}") from e
        self._threads = [
            threading.Thread(target=self._pump, args=(self.proc.stdout, self._stdout), daemon=True),
            threading.Thread(target=self._pump, args=(self.proc.stderr, None), daemon=True),
        ]
        for t in self._threads:
            t.start()

    def _connect(self) -> None:
        """Wait for the pack's port and connect to it."""
        port = self._read_port()
        self.channel = grpc.insecure_channel(f"127.0.0.1:{port}", options=_GRPC_OPTIONS)
        try:
            grpc.channel_ready_future(self.channel).result(timeout=self.startup_timeout)
        except grpc.FutureTimeoutError as e:
            raise PolicyPackError(f"policy pack printed port {port} but did not accept connections within "
                                  f"{self.startup_timeout:.0f}s{self._stderr_tail()}") from e
        self.stub = analyzer_pb2_grpc.AnalyzerStub(self.channel)

    def _pump(self, stream: Any, sink: queue.Queue[str | None] | None) -> None:
        try:
            for raw in iter(stream.readline, b""):
                line = raw.decode("utf-8", "replace").rstrip("\n")
                if sink is not None:
                    sink.put(line)
                else:
                    self._stderr.append(line)
        finally:
            if sink is not None:
                sink.put(None)

    def _read_port(self) -> int:
        deadline = time.monotonic() + self.startup_timeout
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise PolicyPackError(f"policy pack did not print its port within {self.startup_timeout:.0f}s"
                                      f"{self._stderr_tail()}")
            try:
                line = self._stdout.get(timeout=remaining)
            except queue.Empty:
                continue
            if line is None:
                assert self.proc is not None
                code = self.proc.wait(timeout=5)
                raise PolicyPackError(f"policy pack exited with code {code} before serving{self._stderr_tail()}")
            if line.strip().isdigit():
                return int(line.strip())
            self._stderr.append(line)  # something the pack printed before the port

    def _stderr_tail(self) -> str:
        time.sleep(0.05)
        tail = "\n".join(list(self._stderr)[-30:])
        return f":\n{tail}" if tail else ""

    def close(self) -> None:
        if self.channel is not None:
            self.channel.close()
            self.channel = None
        if self.proc is not None:
            if self.proc.poll() is None:
                self.proc.terminate()
                try:
                    self.proc.wait(timeout=5)
                except subprocess.TimeoutExpired:
                    self.proc.kill()
                    self.proc.wait(timeout=5)
            for t in self._threads:
                t.join(timeout=2)
            for s in (self.proc.stdout, self.proc.stderr):
                if s is not None:
                    s.close()
            self.proc = None
        if self.engine_server is not None:
            self.engine_server.stop(0).wait(2)
            self.engine_server = None

    # -- protocol ----------------------------------------------------------------
    def _call(self, method: str, request: Any) -> Any:
        try:
            return getattr(self.stub, method)(request, timeout=self.rpc_timeout)
        except grpc.RpcError as e:
            code = e.code() if hasattr(e, "code") else None
            if code == grpc.StatusCode.UNIMPLEMENTED and method in ("Handshake", "ConfigureStack", "Remediate"):
                return None
            detail = e.details() if hasattr(e, "details") else str(e)
            raise PolicyPackError(f"policy pack {method} failed ({code}): {detail}{self._stderr_tail()}") from e

    def evaluate(self, plan: Mapping[str, Any], config: Mapping[str, Any]) -> list[Violation]:
        self._call("Handshake", analyzer_pb2.AnalyzerHandshakeRequest(
            engine_address="", root_directory=str(self.pack_dir), program_directory=str(self.pack_dir)))
        self._call("GetPluginInfo", empty_pb2.Empty())
        info: analyzer_pb2.AnalyzerInfo = self._call("GetAnalyzerInfo", empty_pb2.Empty())
        severity = {p.name: _SEVERITY_NAMES.get(p.severity, "") for p in info.policies}
        descriptions = {p.name: p.description for p in info.policies}

        tags = {str(k): str(v) for k, v in (plan.get("tags") or {}).items()}
        stack_config = _stack_config(plan)
        self._call("ConfigureStack", analyzer_pb2.AnalyzerStackConfigureRequest(
            stack=str(plan.get("stack") or "dev"), project=str(plan.get("project") or "mlops-stack"),
            organization=str(plan.get("organization") or "organization"), dry_run=True,
            tags=tags, config=stack_config))

        effective = effective_config(info, config)
        request = analyzer_pb2.ConfigureAnalyzerRequest()
        for name, (level, props) in effective.items():
            pc = request.policyConfig[name]
            pc.enforcementLevel = _LEVEL_VALUES[level]
            if props:
                pc.properties.update(props)
        self._call("Configure", request)
        any_remediate = any(level == "remediate" for level, _ in effective.values())

        providers = _Providers(plan, stack_config)
        resources = list(plan.get("resources") or [])
        found: list[Violation] = []

        def convert(diags: Iterable[Any], default_urn: str) -> None:
            for d in diags:
                msg = d.message
                desc = d.description or descriptions.get(d.policyName, "")
                if desc and msg.startswith(desc):
                    msg = msg[len(desc):].lstrip("\n") or desc
                found.append(Violation(
                    policy=d.policyName, level=_LEVEL_NAMES.get(d.enforcementLevel, "advisory"),
                    severity=_SEVERITY_NAMES.get(d.severity, "") or severity.get(d.policyName, ""),
                    urn=d.urn or default_urn, message=msg))

        stack_resources = []
        for r in resources:
            props = _struct(r.get("inputs") or {})
            provider = providers.for_resource(r)
            is_provider = str(r.get("type", "")).startswith("pulumi:providers:")
            if r.get("custom", True) and not is_provider:
                req = analyzer_pb2.AnalyzeRequest(type=r["type"], urn=r["urn"], name=r.get("name", ""),
                                                  properties=props, options=_options(r))
                if provider is not None:
                    req.provider.CopyFrom(provider)
                if any_remediate:
                    rem = self._call("Remediate", req)
                    for m in (rem.remediations if rem is not None else []):
                        if m.HasField("properties"):
                            props = m.properties
                            req.properties.CopyFrom(props)
                            found.append(Violation(m.policyName, "remediate", severity.get(m.policyName, ""),
                                                   r["urn"], f"remediated: {m.description}"))
                        elif m.diagnostic:
                            found.append(Violation(m.policyName, "advisory", severity.get(m.policyName, ""),
                                                   r["urn"], m.diagnostic))
                resp = self._call("Analyze", req)
                convert(resp.diagnostics, r["urn"])
            ar = analyzer_pb2.AnalyzerResource(
                type=r["type"], urn=r["urn"], name=r.get("name", ""), properties=props, options=_options(r),
                parent=r.get("parent") or "", dependencies=list(r.get("dependencies") or []))
            if provider is not None and not is_provider:
                ar.provider.CopyFrom(provider)
            for key, urns in (r.get("propertyDependencies") or {}).items():
                if urns:
                    ar.propertyDependencies[key].urns.extend(urns)
            stack_resources.append(ar)

        resp = self._call("AnalyzeStack", analyzer_pb2.AnalyzeStackRequest(resources=stack_resources))
        convert(resp.diagnostics, "")
        return found


def _pack_dir(pack_dir: Path | str | None) -> Path:
    if pack_dir is not None:
        return Path(pack_dir)
    return check_pack_dir(default_pack_dir(), "MLOPS_POLICY_PACK")


def analyzer_info(pack_dir: Path | str | None = None, python: str = sys.executable) -> analyzer_pb2.AnalyzerInfo:
    """GetAnalyzerInfo of the pack (its policies, levels, severities and schemas), over gRPC."""
    with _PackProcess(_pack_dir(pack_dir), {"project": "mlops-stack", "stack": "info"}, python, 60.0, 60.0) as pack:
        return pack._call("GetAnalyzerInfo", empty_pb2.Empty())


_ = plugin_pb2  # the PluginInfo message type lives here (GetPluginInfo response)
