"""``mlops-stack``: plan stacks offline (no cloud account, no Pulumi CLI), run the policy
pack, estimate cost, compare clouds; export the policy pack; start a platform repository.

Exit codes (README, "CLI"): 0 clean; 1 mandatory policy violations (preflight/smoke: a
failed check); 2 the user's input or environment: a spec error, a bad option, a missing
extra, an error in the ``--program`` (one line per failing stack on stderr, saying what
to do); 3 a bug in mlops-stack (one line; rerun with ``--debug`` for the traceback and
report it).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import traceback
from pathlib import Path
from typing import Any, NoReturn

from mlops_stack import __version__
from mlops_stack.exits import EXIT_CONFIG, EXIT_INTERNAL, EXIT_OK, EXIT_POLICY, internal_error_line  # noqa: F401 - also cli.<name>


class _Parser(argparse.ArgumentParser):
    """argparse, but a usage error is one line that says where to look (exit 2)."""

    def error(self, message: str) -> NoReturn:
        sys.stderr.write(f"error: {message} (see `{self.prog} --help`)\n")
        sys.exit(EXIT_CONFIG)


def _add_stack_selection(p: argparse.ArgumentParser) -> None:
    which = p.add_mutually_exclusive_group()
    which.add_argument("--stack", action="append", metavar="S", help="a stack name (<stacks-dir>/Pulumi.<S>.yaml); repeatable")
    which.add_argument("--all", action="store_true", help="every stack file in --stacks-dir")
    which.add_argument("--config", action="append", type=Path, metavar="FILE", help="plan this Pulumi.<stack>.yaml; repeatable")
    p.add_argument("--stacks-dir", type=Path, default=None,
                   help="where stack files live (default: ./stacks; with --program, the program's stackConfigDir)")
    p.add_argument("--policy-pack-config", type=Path, metavar="FILE", help="JSON policy config, as for pulumi --policy-pack-config")
    p.add_argument("--no-cache", action="store_true",
                   help="plan every stack even if an unchanged one is in the plan cache (docs/benchmarks.md)")
    p.add_argument("--debug", action="store_true", help="show tracebacks for internal errors")


def _parser() -> argparse.ArgumentParser:
    p = _Parser(prog="mlops-stack", description="Plan an mlops-stack environment offline.")
    p.add_argument("--version", action="version", version=f"mlops-stack {__version__}")
    sub = p.add_subparsers(dest="command", required=True, parser_class=_Parser, metavar="COMMAND")
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
    pol.add_argument("--program", type=Path, help="a Pulumi program (file or folder) to run instead of the bundled one")
    pol.add_argument("--format", choices=("text", "json"), default="text")
    _add_policy_pack_parser(sub)
    _add_init_parser(sub)
    extra = _extra_commands()
    if extra is not None:
        extra(sub)
    return p


def _add_policy_pack_parser(sub: Any) -> None:
    pp = sub.add_parser("policy-pack", help="the CrossGuard policy pack: where it is installed, or export a copy")
    ppsub = pp.add_subparsers(dest="pack_command", required=True, parser_class=_Parser, metavar="{path,export}")
    path = ppsub.add_parser("path", help="print the installed pack's folder (for pulumi preview --policy-pack)")
    path.add_argument("--debug", action="store_true", help="show tracebacks for internal errors")
    path.set_defaults(handler=_policy_pack_path)
    export = ppsub.add_parser("export", help="write a self-contained pack folder (PulumiPolicy.yaml, __main__.py, requirements.txt, rules)")
    export.add_argument("dir", type=Path, metavar="DIR", help="where to write the pack (created; must be empty unless --force)")
    export.add_argument("--force", action="store_true", help="overwrite the pack files in a non-empty DIR")
    export.add_argument("--debug", action="store_true", help="show tracebacks for internal errors")
    export.set_defaults(handler=_policy_pack_export)


def _policy_pack_path(args: argparse.Namespace) -> int:
    from mlops_stack.policy_pack import check_pack_dir, installed_pack_dir  # lazy: a subcommand's code

    print(check_pack_dir(installed_pack_dir(), "policy pack"))
    return EXIT_OK


def _policy_pack_export(args: argparse.Namespace) -> int:
    from mlops_stack.policy_pack import export  # lazy: a subcommand's code

    written = export(args.dir, force=args.force)
    print(f"wrote the policy pack to {args.dir} ({len(written)} files): pulumi preview --policy-pack {args.dir}")
    return EXIT_OK


def _add_init_parser(sub: Any) -> None:
    from mlops_stack.templates import CLOUDS  # lazy: a subcommand's code

    init = sub.add_parser("init", help="start a platform repository from a template (as `pulumi new` would)")
    init.add_argument("dir", type=Path, metavar="DIR", help="the new repository's folder (created; must be empty)")
    init.add_argument("--cloud", required=True, choices=CLOUDS)
    init.add_argument("--name", help="the Pulumi project name (default: DIR's name)")
    init.add_argument("--stack", default="dev", help="the stack file to write, Pulumi.<stack>.yaml (default: dev)")
    init.add_argument("--config", action="append", default=[], metavar="KEY=VALUE",
                      help="answer a template prompt, e.g. --config mlops-stack:region=eu-west-1; repeatable")
    init.add_argument("--force", action="store_true", help="write into a non-empty DIR")
    init.add_argument("--debug", action="store_true", help="show tracebacks for internal errors")
    init.set_defaults(handler=_init)


def _init(args: argparse.Namespace) -> int:
    from mlops_stack.errors import ConfigError  # lazy: errors loads pulumi; the CLI starts without it
    from mlops_stack.templates import render  # lazy: a subcommand's code

    answers: dict[str, str] = {}
    for item in args.config:
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise ConfigError("--config", "must be KEY=VALUE", "e.g. --config mlops-stack:region=eu-west-1", value=item)
        answers[key] = value
    written = render(args.cloud, args.dir, project=args.name, stack=args.stack, answers=answers, force=args.force)
    print(f"created {args.dir} ({len(written)} files). Next: cd {args.dir} && mlops-stack plan --program .")
    return EXIT_OK


def _extra_commands() -> Any:
    """The preflight and smoke subcommands (cli_ops: one table of per-cloud modules)."""
    try:
        from mlops_stack.cli_ops import add_parsers  # lazy: the preflight and smoke subcommands
    except ImportError:
        return None
    return add_parsers


#: The stack planned when none is named, if ./stacks has it (this repository's layout).
DEFAULT_STACK = "dev-aws"


def stack_files(args: argparse.Namespace) -> list[Path]:
    from mlops_stack.errors import ConfigError  # lazy: errors loads pulumi; the CLI starts without it
    from mlops_stack.offline.stackfile import find_stack_file, list_stacks  # lazy: a subcommand's code (loads pulumi)

    if args.config:
        return list(args.config)
    program = getattr(args, "program", None)
    stacks_dir = args.stacks_dir
    if stacks_dir is None and program is not None:
        from mlops_stack.offline.plan import program_stacks_dir  # lazy: a subcommand's code (loads pulumi)

        stacks_dir = program_stacks_dir(program)  # beside its Pulumi.yaml, as the Pulumi CLI looks
    stacks_dir = stacks_dir if stacks_dir is not None else Path("stacks")
    if args.all:
        names = list_stacks(stacks_dir)
        if not names:
            raise ConfigError("--all", f"no Pulumi.<stack>.yaml files in {stacks_dir}", "pass --stacks-dir DIR or --config FILE")
        return [find_stack_file(n, stacks_dir) for n in names]
    if args.stack:
        return [find_stack_file(n, stacks_dir) for n in args.stack]
    known = list_stacks(stacks_dir) if stacks_dir.is_dir() else []
    if program is not None and len(known) == 1:
        return [find_stack_file(known[0], stacks_dir)]
    if program is None and DEFAULT_STACK in known:
        return [find_stack_file(DEFAULT_STACK, stacks_dir)]
    if known:
        raise ConfigError("--stack", f"{stacks_dir} has several stacks ({', '.join(known)})", "pass --stack NAME or --config FILE")
    raise ConfigError("--config", f"no stack given and no Pulumi.<stack>.yaml in {stacks_dir}",
                      "pass --config path/to/Pulumi.<stack>.yaml, or --stack NAME --stacks-dir DIR")


def _policy_config(args: argparse.Namespace) -> dict[str, Any]:
    from mlops_stack.errors import ConfigError  # lazy: errors loads pulumi; the CLI starts without it

    if not getattr(args, "policy_pack_config", None):
        return {}
    try:
        text = Path(args.policy_pack_config).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as err:
        raise ConfigError("--policy-pack-config", f"cannot be read: {getattr(err, 'strerror', None) or err}",
                          value=str(args.policy_pack_config)) from None
    return parse_policy_pack_config(text)


#: The enforcement levels the Pulumi CLI accepts in a policy pack config.
ENFORCEMENT_LEVELS = ("advisory", "mandatory", "remediate", "disabled")


def parse_policy_pack_config(text: str) -> dict[str, Any]:
    """A ``--policy-pack-config`` file, accepted exactly when ``pulumi preview
    --policy-pack-config`` accepts it: a JSON object of ``"<policy>" | "all"`` to an
    enforcement level or an object (``enforcementLevel`` plus the policy's properties).
    Policy names and properties are then checked against the pack itself (stricter than
    the Pulumi CLI, which ignores an unknown policy name)."""
    from mlops_stack.errors import ConfigError  # lazy: errors loads pulumi; the CLI starts without it

    if not text.strip():
        return {}  # the Pulumi CLI accepts an empty file
    try:
        data = json.loads(text)
    except ValueError as err:
        raise ConfigError("--policy-pack-config", f"is not valid JSON ({err})") from None
    if not isinstance(data, dict):
        raise ConfigError("--policy-pack-config", "must be a JSON object of policy names")
    for key, value in data.items():
        if isinstance(value, dict):
            if "enforcementLevel" not in value:
                continue
            level = value["enforcementLevel"]
        elif isinstance(value, str):
            level = value
        else:
            raise ConfigError(f"--policy-pack-config: {key}", "must be an enforcement level or an object (as for pulumi preview)",
                              'set a shared property per policy, e.g. {"allowed-regions": {"allowedRegions": ["eu-west-1"]}}')
        if level not in ENFORCEMENT_LEVELS:
            raise ConfigError(f"--policy-pack-config: {key}", f"{level!r} is not an enforcement level",
                              f"one of {', '.join(ENFORCEMENT_LEVELS)}")
    return data


def _run(args: argparse.Namespace, options: Any, paths: list[Path]) -> list[dict[str, Any]]:
    from rich.console import Console
    from rich.progress import Progress

    from mlops_stack.offline import plan_cache  # lazy: a subcommand's code
    from mlops_stack.offline.pipeline import run_many  # lazy: a subcommand's code (loads pulumi)

    err = Console(stderr=True)
    strs = [str(p) for p in paths]
    cache = None if args.no_cache or plan_cache.disabled_by_env() else plan_cache.PlanCache()
    jobs = getattr(args, "jobs", None)
    if len(strs) > 1 and err.is_terminal:
        with Progress(console=err, transient=True) as progress:
            task = progress.add_task("planning stacks", total=len(strs))
            return run_many(strs, options, jobs=jobs, cache=cache, on_done=lambda _p: progress.advance(task))
    return run_many(strs, options, jobs=jobs, cache=cache)


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
    from mlops_stack.offline.pipeline import Options  # lazy: a subcommand's code (loads pulumi)

    options = Options(
        program=str(args.program) if args.program else None,
        policy=not args.no_policy,
        cost=not args.no_cost,
        policy_config=_policy_config(args),
        compare=args.compare,
    )
    paths = stack_files(args)
    _check_program(args.program)
    results = _run(args, options, paths)
    _report_errors(results)
    docs = [r["doc"] for r in results if "doc" in r]
    out = _open_output(args.output) if args.output else sys.stdout
    try:
        _write(args.format, results, docs, out)
    finally:
        if out is not sys.stdout:
            out.close()
    return _exit_code(results)


def _open_output(path: Path) -> Any:
    from mlops_stack.errors import ConfigError  # lazy: errors loads pulumi; the CLI starts without it

    try:
        return open(path, "w", encoding="utf-8")  # noqa: SIM115 - closed by the caller
    except OSError as err:
        raise ConfigError("--output", f"cannot be written: {err.strerror or err}", value=str(path)) from None


def _check_program(program: Path | None) -> None:
    from mlops_stack.errors import ConfigError  # lazy: errors loads pulumi; the CLI starts without it

    if program is None:
        return
    if not program.exists():
        raise ConfigError("--program", "does not exist", "pass the folder of a Pulumi.yaml or a .py file", value=str(program))
    if program.is_dir() and not (program / "__main__.py").is_file():
        from mlops_stack.offline.plan import program_entry  # lazy: a subcommand's code (loads pulumi)

        if not program_entry(program).is_file():
            raise ConfigError("--program", "has no __main__.py", "pass a Pulumi program folder or its .py file", value=str(program))


def _write(fmt: str, results: list[dict[str, Any]], docs: list[dict[str, Any]], out: Any) -> None:
    from mlops_stack.offline import formats  # lazy: a subcommand's code

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

        from mlops_stack.offline.report import print_text  # lazy: a subcommand's code

        tty = out.isatty()
        # Plain, unwrapped text for pipes and files (CI logs).
        console = Console(file=out, highlight=False, width=None if tty else 200, no_color=not tty, soft_wrap=not tty)
        for doc in docs:
            print_text(doc, console)


def _policies(args: argparse.Namespace) -> int:
    from mlops_stack.offline.pipeline import Options  # lazy: a subcommand's code (loads pulumi)

    options = Options(program=str(args.program) if args.program else None, policy=True, cost=False,
                      policy_config=_policy_config(args))
    paths = stack_files(args)
    _check_program(args.program)
    results = _run(args, options, paths)
    _report_errors(results)
    docs = [r["doc"] for r in results if "doc" in r]
    if args.format == "json":
        json.dump({d["stack"]: d["policy"] for d in docs}, sys.stdout, indent=2)
        sys.stdout.write("\n")
    else:
        from rich.console import Console

        from mlops_stack.offline.report import print_violations  # lazy: a subcommand's code

        console = Console(highlight=False, width=None if sys.stdout.isatty() else 200)
        for d in docs:
            print_violations(d, console)
    return _exit_code(results)


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    from mlops_stack.errors import ConfigError  # lazy: errors loads pulumi; the CLI starts without it

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
        from mlops_stack.offline.pipeline import user_error  # lazy: a subcommand's code (loads pulumi)

        user = user_error(err, str(args.program) if getattr(args, "program", None) else None)
        if user is not None:
            print(f"error: {user}", file=sys.stderr)
            return EXIT_CONFIG
        if getattr(args, "debug", False):
            traceback.print_exc()
        print(internal_error_line(err), file=sys.stderr)
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
