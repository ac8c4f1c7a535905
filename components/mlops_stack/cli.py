"""``mlops-stack``: plan stacks offline (no cloud account, no Pulumi CLI), run the policy
pack, estimate cost, compare clouds.

Exit codes: 0 clean; 1 mandatory policy violations; 2 a spec or usage error (one line
per failing stack on stderr); 3 an internal error (a bug: rerun with ``--debug``).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import traceback
from pathlib import Path
from typing import Any

EXIT_OK, EXIT_POLICY, EXIT_CONFIG, EXIT_INTERNAL = 0, 1, 2, 3


def _add_stack_selection(p: argparse.ArgumentParser) -> None:
    which = p.add_mutually_exclusive_group()
    which.add_argument("--stack", action="append", metavar="S", help="a stack name (stacks/Pulumi.<S>.yaml); repeatable")
    which.add_argument("--all", action="store_true", help="every stack file in --stacks-dir")
    which.add_argument("--config", action="append", type=Path, metavar="FILE", help="plan this Pulumi.<stack>.yaml; repeatable")
    p.add_argument("--stacks-dir", type=Path, default=Path("stacks"), help="where stack files live (default: ./stacks)")
    p.add_argument("--policy-pack-config", type=Path, metavar="FILE", help="JSON policy config, as for pulumi --policy-pack-config")
    p.add_argument("--debug", action="store_true", help="show tracebacks for internal errors")


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="mlops-stack", description="Plan an mlops-stack environment offline.")
    sub = p.add_subparsers(dest="command", required=True)
    plan = sub.add_parser("plan", help="run the stack program offline: resources, policy findings, cost")
    _add_stack_selection(plan)
    plan.add_argument("--program", type=Path, help="a Pulumi program (file or folder) to run instead of the bundled one")
    plan.add_argument("--compare", action="store_true", help="also plan the same spec on aws, gcp and azure")
    plan.add_argument("--format", choices=("text", "json", "markdown", "sarif"), default="text")
    plan.add_argument("--output", type=Path, help="write to FILE instead of stdout")
    plan.add_argument("--no-policy", action="store_true", help="skip the policy pack")
    plan.add_argument("--no-cost", action="store_true", help="skip the cost estimate")
    plan.add_argument("--jobs", type=int, default=None, help="parallel processes for several stacks (default: CPU count)")
    pol = sub.add_parser("policies", help="run only the policy pack over the plan; exit 1 on mandatory violations")
    _add_stack_selection(pol)
    pol.add_argument("--format", choices=("text", "json"), default="text")
    extra = _extra_commands()
    if extra is not None:
        extra(sub)
    return p


def _extra_commands() -> Any:
    """Cloud-specific subcommands (preflight, smoke), if that package is installed."""
    try:
        from mlops_stack.cli_aws import add_parsers
    except ImportError:
        return None
    return add_parsers


def stack_files(args: argparse.Namespace) -> list[Path]:
    from mlops_stack.errors import ConfigError
    from mlops_stack.offline.stackfile import find_stack_file, list_stacks

    if args.config:
        return list(args.config)
    if args.all:
        names = list_stacks(args.stacks_dir)
        if not names:
            raise ConfigError("--all", f"no Pulumi.<stack>.yaml files in {args.stacks_dir}")
        return [find_stack_file(n, args.stacks_dir) for n in names]
    names = args.stack or ["dev-aws"]
    return [find_stack_file(n, args.stacks_dir) for n in names]


def _policy_config(args: argparse.Namespace) -> dict[str, Any]:
    from mlops_stack.errors import ConfigError

    if not getattr(args, "policy_pack_config", None):
        return {}
    try:
        data = json.loads(Path(args.policy_pack_config).read_text(encoding="utf-8"))
    except (OSError, ValueError) as err:
        raise ConfigError("--policy-pack-config", f"cannot be read as JSON: {err}") from None
    if not isinstance(data, dict):
        raise ConfigError("--policy-pack-config", "must be a JSON object")
    return data


def _run(args: argparse.Namespace, options: Any, paths: list[Path]) -> list[dict[str, Any]]:
    from rich.console import Console
    from rich.progress import Progress

    from mlops_stack.offline.pipeline import run_many

    err = Console(stderr=True)
    strs = [str(p) for p in paths]
    if len(strs) > 1 and err.is_terminal:
        with Progress(console=err, transient=True) as progress:
            task = progress.add_task("planning stacks", total=len(strs))
            return run_many(strs, options, jobs=getattr(args, "jobs", None), on_done=lambda _p: progress.advance(task))
    return run_many(strs, options, jobs=getattr(args, "jobs", None))


def _exit_code(results: list[dict[str, Any]]) -> int:
    if any("error" in r for r in results):
        return EXIT_CONFIG
    mandatory = any(v["level"] == "mandatory" for r in results for v in (r["doc"].get("policy") or {}).get("violations", []))
    return EXIT_POLICY if mandatory else EXIT_OK


def _report_errors(results: list[dict[str, Any]]) -> None:
    for r in results:
        if "error" in r:
            prefix = f"{r['path']}: " if len(results) > 1 else ""
            print(f"error: {prefix}{r['error']}", file=sys.stderr)


def _plan(args: argparse.Namespace) -> int:
    from mlops_stack.offline.pipeline import Options

    options = Options(
        program=str(args.program) if args.program else None,
        policy=not args.no_policy,
        cost=not args.no_cost,
        policy_config=_policy_config(args),
        compare=args.compare,
    )
    results = _run(args, options, stack_files(args))
    _report_errors(results)
    docs = [r["doc"] for r in results if "doc" in r]
    out = open(args.output, "w", encoding="utf-8") if args.output else sys.stdout  # noqa: SIM115
    try:
        _write(args.format, results, docs, out)
    finally:
        if out is not sys.stdout:
            out.close()
    return _exit_code(results)


def _write(fmt: str, results: list[dict[str, Any]], docs: list[dict[str, Any]], out: Any) -> None:
    from mlops_stack.offline import formats

    if fmt == "json":
        payload: Any = docs[0] if len(results) == 1 and docs else {"stacks": docs, "errors": [r for r in results if "error" in r]}
        json.dump(payload, out, indent=2)
        out.write("\n")
    elif fmt == "markdown":
        out.write(formats.markdown(results))
    elif fmt == "sarif":
        json.dump(formats.sarif(results), out, indent=2)
        out.write("\n")
    elif docs:
        from rich.console import Console

        from mlops_stack.offline.report import print_text

        tty = out.isatty()
        # Plain, unwrapped text for pipes and files (CI logs).
        console = Console(file=out, highlight=False, width=None if tty else 200, no_color=not tty, soft_wrap=not tty)
        for doc in docs:
            print_text(doc, console)


def _policies(args: argparse.Namespace) -> int:
    from mlops_stack.offline.pipeline import Options

    options = Options(policy=True, cost=False, policy_config=_policy_config(args))
    results = _run(args, options, stack_files(args))
    _report_errors(results)
    docs = [r["doc"] for r in results if "doc" in r]
    if args.format == "json":
        json.dump({d["stack"]: d["policy"] for d in docs}, sys.stdout, indent=2)
        sys.stdout.write("\n")
    else:
        from rich.console import Console

        from mlops_stack.offline.report import print_violations

        console = Console(highlight=False, width=None if sys.stdout.isatty() else 200)
        for d in docs:
            print_violations(d, console)
    return _exit_code(results)


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    from mlops_stack.errors import ConfigError

    try:
        if args.command == "plan":
            return _plan(args)
        if args.command == "policies":
            return _policies(args)
        return int(args.handler(args))
    except ConfigError as err:
        print(f"error: {err}", file=sys.stderr)
        return EXIT_CONFIG
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:  # `mlops-stack plan | head`
        sys.stderr.close()
        return EXIT_OK
    except Exception as err:  # noqa: BLE001 - the CLI's last line of defence
        if getattr(args, "debug", False):
            traceback.print_exc()
        print(f"internal error: {type(err).__name__}: {err} (rerun with --debug for the traceback)", file=sys.stderr)
        return EXIT_INTERNAL


def run() -> None:
    """Console-script entry point: exit without tearing down the interpreter.

    A plan imports several thousand provider SDK classes; a normal interpreter shutdown
    spends most of a second freeing them. Output is flushed first, files are closed and
    child processes (the policy pack) have been reaped by then.
    """
    code = main()
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)


if __name__ == "__main__":
    run()
