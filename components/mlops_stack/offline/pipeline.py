"""The work behind ``mlops-stack plan``: plan -> policy -> cost, for one stack or many.

``run_one`` is a pure function of its arguments (a stack file, options) that returns a
JSON-able result; ``run_many`` runs it in parallel processes and returns the results
in input order, identical to running them one after another.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from multiprocessing import get_context
from pathlib import Path
from typing import Any

from mlops_stack.errors import ConfigError


@dataclass(frozen=True)
class Options:
    program: str | None = None
    policy: bool = True
    cost: bool = True
    policy_config: dict[str, Any] = field(default_factory=dict)
    #: Plan the same spec on every cloud (issue: clouds side by side).
    compare: bool = False


def _spec_from_plan_config(config: dict[str, str]) -> Any:
    from mlops_stack.spec import load_spec, raw_from_config_values

    return load_spec(raw_from_config_values(config))


def policy_section(plan_doc: dict[str, Any], config: dict[str, Any]) -> dict[str, Any]:
    from mlops_stack.offline.analyzer import PolicyConfigError, run_policy_pack

    try:
        violations = run_policy_pack(plan_doc, config=config)
    except PolicyConfigError as err:
        raise ConfigError("--policy-pack-config", str(err).removeprefix("policy config").lstrip(" :"),
                          "the format is pulumi's: see mlops-stack's docs/policies.md") from None
    return {"violations": [v.to_dict() for v in violations]}


def plan_document(path: str, options: Options) -> dict[str, Any]:
    """Plan one stack file; add the policy and cost sections the options ask for."""
    from mlops_stack.offline.plan import plan_stack_file

    sp = plan_stack_file(path, program=Path(options.program) if options.program else None)
    doc = sp.document()
    doc["config"] = {k: ("[secret]" if k in sp.stack_file.secret_keys else v) for k, v in sp.stack_file.config.items()}
    if options.policy:
        doc["policy"] = policy_section(doc, options.policy_config)
    if options.cost and options.program is None:
        from mlops_stack.offline.cost import estimate

        doc["cost"] = estimate(doc["resources"], _spec_from_plan_config(sp.stack_file.config)).to_dict()
    if options.compare and options.program is None:
        from mlops_stack.offline.compare import compare_stack

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
    from mlops_stack.targets import missing_sdk

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


def plan_groups(paths: Sequence[str], jobs: int) -> list[list[str]]:
    """Stacks grouped by cloud, so each worker imports one cloud's SDK once; the largest
    group is split while there are idle workers."""
    by_cloud: dict[str, list[str]] = {}
    for p in paths:
        by_cloud.setdefault(_cloud_of(p), []).append(p)
    groups = [g for _, g in sorted(by_cloud.items())]
    while len(groups) < jobs and max(len(g) for g in groups) > 1:
        groups.sort(key=len)
        big = groups.pop()
        groups += [big[: len(big) // 2], big[len(big) // 2 :]]
    return groups


def run_many(
    paths: Sequence[str], options: Options, *, jobs: int | None = None, on_done: Callable[[str], None] | None = None
) -> list[dict[str, Any]]:
    """Run every stack; in parallel worker processes (one per cloud group) when there are
    several. Results come back in input order, identical to a serial run."""
    jobs = max(1, min(jobs or os.cpu_count() or 1, len(paths)))
    if jobs == 1:
        out = []
        for p in paths:
            out.append(run_one(p, options))
            if on_done:
                on_done(p)
        return out
    results: dict[str, dict[str, Any]] = {}
    groups = plan_groups(paths, jobs)
    # spawn: each worker starts a clean Pulumi runtime (no state copied from this process).
    ctx = get_context("spawn")
    queue = ctx.Queue()
    workers = [ctx.Process(target=_worker, args=(i, g, options, queue), daemon=True) for i, g in enumerate(groups)]
    for w in workers:
        w.start()
    try:
        for _ in groups:
            index, payload = queue.get()
            if isinstance(payload, BaseException):
                raise payload
            for path, result in zip(groups[index], payload, strict=True):
                results[path] = result
                if on_done:
                    on_done(path)
    finally:
        for w in workers:
            w.join(timeout=30)
            if w.is_alive():
                w.kill()
    return [results[p] for p in paths]


def _worker(index: int, paths: Sequence[str], options: Options, queue: Any) -> None:
    """A worker process: plan its stacks, send the results, exit without teardown (freeing
    thousands of SDK classes at interpreter exit costs most of a second)."""
    try:
        payload: Any = run_group(paths, options)
    except BaseException as err:  # noqa: BLE001 - handed to the parent, which re-raises it
        payload = RuntimeError(f"{type(err).__name__}: {err}")
    queue.put((index, payload))
    queue.close()
    queue.join_thread()
    os._exit(0)


def canonical(results: list[dict[str, Any]]) -> str:
    """Stable JSON of results (for comparing serial and parallel runs)."""
    return json.dumps(results, sort_keys=True)
