"""The work behind ``mlops-stack plan``: plan -> policy -> cost, for one stack or many.

``run_one`` is a pure function of its arguments (a stack file, options) that returns a
JSON-able result; ``run_many`` runs it in parallel processes and returns the results
in input order, identical to running them one after another.
"""

from __future__ import annotations

import contextlib
import gc
import json
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from multiprocessing import get_context
from pathlib import Path
from typing import Any

from mlops_stack import targets
from mlops_stack.errors import ConfigError
from mlops_stack.offline import plan_cache
from mlops_stack.offline.compare import compare_stack, own_row, plan_on
from mlops_stack.offline.cost import estimate
from mlops_stack.offline.policy import policy_section
from mlops_stack.offline.stackfile import PROJECT, read_stack_file
from mlops_stack.spec import load_spec, raw_from_config_values
from mlops_stack.targets import missing_sdk


@dataclass(frozen=True)
class Options:
    program: str | None = None
    policy: bool = True
    cost: bool = True
    policy_config: dict[str, Any] = field(default_factory=dict)
    #: Plan the same spec on every cloud (issue: clouds side by side).
    compare: bool = False


def _spec_from_plan_config(config: dict[str, str]) -> Any:

    return load_spec(raw_from_config_values(config))


def plan_document(path: str, options: Options) -> dict[str, Any]:
    """Plan one stack file; add the policy and cost sections the options ask for."""
    # lazy: the offline engine loads Pulumi's SDK core, only when a plan runs.
    from mlops_stack.offline.plan import plan_stack_file

    sp = plan_stack_file(path, program=Path(options.program) if options.program else None)
    doc = sp.document()
    doc["config"] = {k: ("[secret]" if k in sp.stack_file.secret_keys else v) for k, v in sp.stack_file.config.items()}
    if options.policy:
        doc["policy"] = policy_section(doc, options.policy_config)
    if options.cost and options.program is None:

        doc["cost"] = estimate(doc["resources"], _spec_from_plan_config(sp.stack_file.config)).to_dict()
    if options.compare and options.program is None:

        doc["compare"] = compare_stack(sp.stack_file, options)
    return doc


def run_one(path: str, options: Options) -> dict[str, Any]:
    """One stack's result: ``{"path", "doc"}`` or ``{"path", "error"}`` (a spec error, a
    provider SDK that is not installed, or an error raised by the user's ``--program``)."""
    try:
        return {"path": path, "doc": plan_document(path, options)}
    except ConfigError as err:
        return {"path": path, "error": str(_where_in_program(err, options.program))}
    except Exception as err:
        user = user_error(err, options.program)
        if user is None:
            raise
        return {"path": path, "error": str(user)}


def _where_in_program(err: ConfigError, program: str | None) -> ConfigError:
    """A spec model the user's ``--program`` built with a bad value: the same one line,
    with the file and line of the program that built it in front."""
    if program is None or not getattr(err, "model", None):
        return err
    import traceback

    folder = Path(program).resolve()
    folder = folder if folder.is_dir() else folder.parent
    mine = [f for f in traceback.extract_tb(err.__traceback__) if Path(f.filename).resolve().is_relative_to(folder)]
    if mine:
        err.path = f"--program: {Path(mine[-1].filename).name}:{mine[-1].lineno}: {err.path}"
    return err


def user_error(err: BaseException, program: str | None) -> ConfigError | None:
    """The user's mistake behind ``err``, as a one-line ``ConfigError``; None for a bug of ours.

    A provider SDK that is not installed names the extra to install; with ``--program``,
    Pulumi's own config errors (a missing ``require``d key) and exceptions raised in the
    program's own files are the program's, reported with the file and line.
    """

    sdk = missing_sdk(err)
    if sdk is not None:
        return sdk
    if program is None:
        return None
    import traceback

    from pulumi.errors import RunError

    first = " ".join(str(err).split()) or type(err).__name__
    if isinstance(err, RunError):
        return ConfigError("--program", first)
    from pydantic import ValidationError

    folder = Path(program).resolve()
    folder = folder if folder.is_dir() else folder.parent
    frames = traceback.extract_tb(err.__traceback__)
    mine = [f for f in frames if Path(f.filename).resolve().is_relative_to(folder)]
    if not mine:
        return None
    where = f"{Path(mine[-1].filename).name}:{mine[-1].lineno}"
    if isinstance(err, ValidationError):  # a spec model built with a bad value, in the program
        e = err.errors(include_url=False)[0]
        loc = ".".join(str(x) for x in e["loc"])
        return ConfigError(f"--program: {where}: {err.title}{'.' + loc if loc else ''}", " ".join(str(e["msg"]).split()),
                           value=e.get("input"))
    if mine[-1] is frames[-1]:
        return ConfigError("--program", f"{where} raised {type(err).__name__}: {first}")
    return None


def run_group(paths: Sequence[str], options: Options) -> list[dict[str, Any]]:
    """Several stacks in one process, one after another (provider SDKs imported once)."""
    return [run_one(p, options) for p in paths]


def _cloud_of(path: str) -> str:
    """The stack file's cloud, read cheaply (for grouping only; errors surface later)."""
    try:
        import yaml

        doc = yaml.safe_load(Path(path).read_text(encoding="utf-8")) or {}
        cfg = doc.get("config") or {}
        return str(cfg.get("mlops-stack:cloud") or cfg.get("cloud") or "")
    except Exception:  # noqa: BLE001 - a broken file is reported by run_one
        return ""


#: One unit of work: ``(path, (kind, cloud))``. ``("doc", own)`` plans the stack file
#: (policy, cost) and, with ``--compare``, derives the ``own`` cloud's column from that
#: plan; ``("row", cloud)`` plans the same spec on another cloud for ``--compare``.
Task = tuple[str, tuple[str, str]]


def plan_tasks(paths: Sequence[str], options: Options) -> list[Task]:
    """The work for ``paths``: each stack planned once on its own cloud, and with
    ``--compare`` once on each other cloud (its own cloud's column comes from its plan)."""

    tasks: list[Task] = []
    for p in dict.fromkeys(paths):
        if not (options.compare and options.program is None):
            tasks.append((p, ("doc", "")))
            continue
        own = _cloud_of(p)
        own = own if own in targets.names() else ""
        tasks.append((p, ("doc", own)))
        tasks += [(p, ("row", c)) for c in targets.names() if c != own]
    return tasks


def _mapped(err: Exception) -> dict[str, Any]:
    """A comparison's exception as run_one maps it: a user's error, else raised (a bug)."""
    user = user_error(err, None)
    if user is None:
        raise err
    return {"error": str(user)}


def run_task(path: str, task: tuple[str, str], options: Options) -> dict[str, Any]:
    """One task's JSON-able result (no ``path``): ``{"doc", "own_row"}``, ``{"row"}`` or ``{"error"}``."""
    from dataclasses import replace


    kind, cloud = task
    if kind == "doc":
        result = run_one(path, replace(options, compare=False))
        result.pop("path")
        if "doc" not in result or not cloud:
            return result

        try:
            sf = read_stack_file(path, project=PROJECT)
            row = own_row(sf, result["doc"], options)
            result["own_row"] = row if row is not None else plan_on(sf, cloud, options)
        except ConfigError as err:
            return {"error": str(err)}
        except Exception as err:  # noqa: BLE001 - mapped as run_one maps it
            return _mapped(err)
        return result

    try:
        return {"row": plan_on(read_stack_file(path, project=PROJECT), cloud, options)}
    except ConfigError:
        return {"row": None}  # the stack file itself is bad: its "doc" task says so
    except Exception as err:  # noqa: BLE001 - mapped as run_one maps it
        return _mapped(err)


def assemble(paths: Sequence[str], options: Options, results: dict[Task, dict[str, Any]]) -> list[dict[str, Any]]:
    """Per stack file, in input order: ``{"path", "doc"}`` (with ``compare``) or ``{"path", "error"}``."""

    compare = options.compare and options.program is None
    out: list[dict[str, Any]] = []
    for p in paths:
        doc_task = next(t for q, t in results if q == p and t[0] == "doc")
        res = results[(p, doc_task)]
        if "error" in res:
            out.append({"path": p, "error": res["error"]})
            continue
        doc = res["doc"]
        if compare:
            rows = []
            for c in targets.names():
                r = {"row": res.get("own_row")} if c == doc_task[1] else results[(p, ("row", c))]
                if "error" in r:
                    break
                rows.append(r["row"])
            if "error" in r:
                out.append({"path": p, "error": r["error"]})
                continue
            doc = {**doc, "compare": rows}
        out.append({"path": p, "doc": doc})
    return out


def task_groups(tasks: Sequence[Task], jobs: int) -> list[list[Task]]:
    """Tasks grouped by the cloud they plan on, so each worker imports one cloud's SDK
    once; the largest group is split while there are idle workers."""
    by_cloud: dict[str, list[Task]] = {}
    for t in tasks:
        path, (kind, cloud) = t
        by_cloud.setdefault(_cloud_of(path) if kind == "doc" else cloud, []).append(t)
    groups = [g for _, g in sorted(by_cloud.items())]
    while len(groups) < jobs and max(len(g) for g in groups) > 1:
        groups.sort(key=len)
        big = groups.pop()
        groups += [big[: len(big) // 2], big[len(big) // 2 :]]
    return groups


def plan_groups(paths: Sequence[str], jobs: int) -> list[list[str]]:
    """Stacks grouped by cloud (see ``task_groups``)."""
    return [[p for p, _ in g] for g in task_groups([(p, ("doc", "")) for p in paths], jobs)]


def _warm_imports() -> None:
    """What every worker needs, imported once in the parent before forking (the Pulumi
    SDK core, the spec, the components, the engine, policy and cost code); each
    cloud's provider SDK is imported by the one worker that plans on that cloud."""
    import mlops_stack.offline.analyzer
    import mlops_stack.offline.plan
    import mlops_stack.program  # noqa: F401


#: The Kubernetes SDK modules every cloud's plan imports (the in-cluster layer).
KUBERNETES_MODULES = ("pulumi_kubernetes.core.v1", "pulumi_kubernetes.meta.v1", "pulumi_kubernetes.apiextensions.v1",
                      "pulumi_kubernetes.storage.v1", "pulumi_kubernetes.helm.v3", "pulumi_kubernetes.helm.v4",
                      "pulumi_kubernetes.yaml")


def _warm_kubernetes() -> None:
    """Import the Kubernetes SDK once in the parent (about 0.4 s of CPU), after the first
    worker is forked and before the others: the first worker imports it itself at the
    same time on the other core, the later ones inherit it."""
    import importlib

    for name in KUBERNETES_MODULES:
        try:
            importlib.import_module(name)
        except ImportError:  # reported by the plans that need it
            return


def _context() -> Any:
    """fork where it is safe and available: on Linux, from a process with one thread that
    has not started gRPC (the CLI; not a test session that ran the policy pack in-process):
    the workers start warm, with the imports above done once. Otherwise spawn (each
    worker starts a clean interpreter)."""
    import sys
    import threading

    # lazy: the Analyzer gRPC client, only when the policy pack runs.
    from mlops_stack.offline import analyzer

    if sys.platform.startswith("linux") and threading.active_count() == 1 and not analyzer.GRPC_STARTED:
        _warm_imports()
        return get_context("fork")
    return get_context("spawn")


def run_many(
    paths: Sequence[str],
    options: Options,
    *,
    jobs: int | None = None,
    on_done: Callable[[str], None] | None = None,
    cache: Any = None,
) -> list[dict[str, Any]]:
    """Run every stack; in parallel worker processes (one per cloud group) when there are
    several tasks. Results come back in input order, identical to a serial run and to a
    run served from ``cache`` (a ``plan_cache.PlanCache``, or None for no cache)."""

    tasks = plan_tasks(paths, options)
    keys = {t: plan_cache.key(t[0], t[1], options) for t in tasks} if cache is not None else {}
    results: dict[Task, dict[str, Any]] = {}
    for t in tasks:
        hit = cache.get(keys[t]) if cache is not None else None
        if hit is not None:
            results[t] = hit
    todo = [t for t in tasks if t not in results]
    remaining = {p: sum(1 for q, _ in todo if q == p) for p in dict.fromkeys(paths)}

    def done(t: Task, result: dict[str, Any]) -> None:
        results[t] = result
        if cache is not None and "error" not in result:
            cache.put(keys[t], result)
        remaining[t[0]] -= 1
        if on_done and remaining[t[0]] == 0:
            on_done(t[0])

    for p, n in remaining.items():
        if n == 0 and on_done:
            on_done(p)
    jobs = max(1, min(jobs or os.cpu_count() or 1, len(todo)))
    if jobs == 1 or len(todo) <= 1:
        # lazy: the Analyzer gRPC client, only when the policy pack runs.
        from mlops_stack.offline.analyzer import pack_session

        with _no_gc(), _no_source_positions(), pack_session():
            _prestart_pack(options)
            for t in todo:
                done(t, run_task(t[0], t[1], options))
        return assemble(paths, options, results)
    with _no_gc(), _no_source_positions():
        return _run_parallel(paths, options, todo, jobs, done, results)


@contextlib.contextmanager
def _no_gc() -> Any:
    """Python's cyclic garbage collector off while plans run: importing a provider SDK
    creates hundreds of thousands of objects (classes, functions, annotations) and each
    full collection walks all of them, for almost no cyclic garbage (a plan's memory is
    the same with it off); about a quarter of a plan's CPU time."""
    was = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was:
            gc.enable()


@contextlib.contextmanager
def _no_source_positions() -> Any:
    """Pulumi's SDK takes a stack trace (``traceback.extract_stack``, reading the source
    lines) for every resource it registers, to send the engine the resource's source
    position; the offline engine records neither, so while plans run the SDK gets an
    empty trace, as it sends when it finds no user frame (about a tenth of a plan)."""
    from pulumi.runtime import resource
    from pulumi.runtime.proto import source_pb2

    stock = resource._get_stack_trace
    resource._get_stack_trace = source_pb2.StackTrace
    try:
        yield
    finally:
        resource._get_stack_trace = stock


def _prestart_pack(options: Options) -> None:
    """Start the policy pack process now, so that it starts while the first plan runs."""
    if not options.policy:
        return
    # lazy: the Analyzer gRPC client, only when the policy pack runs.
    from mlops_stack.offline.analyzer import prestart_pack

    try:
        prestart_pack()
    except Exception:  # noqa: BLE001 - the first plan's policy section reports it
        pass


def _run_parallel(paths: Sequence[str], options: Options, todo: list[Task], jobs: int,
                  done: Callable[[Task, dict[str, Any]], None], results: dict[Task, dict[str, Any]]) -> list[dict[str, Any]]:
    groups = task_groups(todo, jobs)
    ctx = _context()
    queue = ctx.Queue()
    workers = [ctx.Process(target=_worker, args=(i, g, options, queue), daemon=True) for i, g in enumerate(groups)]
    workers[0].start()
    if ctx.get_start_method() == "fork":
        _warm_kubernetes()  # while the first worker starts on the other core
    for w in workers[1:]:
        w.start()
    try:
        for _ in groups:
            index, payload = queue.get()
            if isinstance(payload, BaseException):
                raise payload
            for t, result in zip(groups[index], payload, strict=True):
                done(t, result)
    finally:
        for w in workers:
            w.join(timeout=30)
            if w.is_alive():
                w.kill()
    return assemble(paths, options, results)


def _worker(index: int, tasks: Sequence[Task], options: Options, queue: Any) -> None:
    """A worker process: run its tasks, send the results, exit without teardown (freeing
    thousands of SDK classes at interpreter exit costs most of a second)."""
    # lazy: the Analyzer gRPC client, only when the policy pack runs.
    from mlops_stack.offline.analyzer import pack_session

    gc.disable()  # see _no_gc; the worker ends with os._exit
    try:
        with _no_source_positions(), pack_session():  # one pack process for all of this worker's plans
            _prestart_pack(options)
            payload: Any = [run_task(p, t, options) for p, t in tasks]
    except BaseException as err:  # noqa: BLE001 - handed to the parent, which re-raises it
        payload = RuntimeError(f"{type(err).__name__}: {err}")
    queue.put((index, payload))
    queue.close()
    queue.join_thread()
    os._exit(0)


def canonical(results: list[dict[str, Any]]) -> str:
    """Stable JSON of results (for comparing serial and parallel runs)."""
    return json.dumps(results, sort_keys=True)
