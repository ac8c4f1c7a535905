"""``mlops-stack``: plan a stack offline (no cloud account, no Pulumi CLI).

Exit codes: 0 success; 2 a spec or usage error (one line on stderr, nothing planned);
3 an internal error (a bug: please report it with ``--debug`` output).
"""

from __future__ import annotations

import argparse
import json
import sys
import traceback
from pathlib import Path
from typing import Any

EXIT_OK, EXIT_POLICY, EXIT_CONFIG, EXIT_INTERNAL = 0, 1, 2, 3


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="mlops-stack", description="Plan an mlops-stack environment offline.")
    sub = p.add_subparsers(dest="command", required=True)
    plan = sub.add_parser("plan", help="run the stack program offline and show what it would create")
    which = plan.add_mutually_exclusive_group()
    which.add_argument("--stack", action="append", metavar="S", help="a stack name (stacks/Pulumi.<S>.yaml); repeatable")
    which.add_argument("--all", action="store_true", help="every stack file in --stacks-dir")
    which.add_argument("--config", action="append", type=Path, metavar="FILE", help="plan this Pulumi.<stack>.yaml; repeatable")
    plan.add_argument("--stacks-dir", type=Path, default=Path("stacks"), help="where stack files live (default: ./stacks)")
    plan.add_argument("--program", type=Path, help="a Pulumi program (file or folder) to run instead of the bundled one")
    plan.add_argument("--format", choices=("text", "json"), default="text")
    plan.add_argument("--output", type=Path, help="write to FILE instead of stdout")
    plan.add_argument("--debug", action="store_true", help="show tracebacks for internal errors")
    return p


def _stack_files(args: argparse.Namespace) -> list[Path]:
    from mlops_stack.offline.stackfile import find_stack_file, list_stacks

    if args.config:
        return list(args.config)
    if args.all:
        names = list_stacks(args.stacks_dir)
        if not names:
            from mlops_stack.errors import ConfigError

            raise ConfigError("--all", f"no Pulumi.<stack>.yaml files in {args.stacks_dir}")
        return [find_stack_file(n, args.stacks_dir) for n in names]
    names = args.stack or ["dev-aws"]
    return [find_stack_file(n, args.stacks_dir) for n in names]


def _plan(args: argparse.Namespace) -> int:
    from rich.console import Console

    from mlops_stack.offline.plan import plan_stack_file
    from mlops_stack.offline.report import print_text

    docs: list[dict[str, Any]] = []
    for path in _stack_files(args):
        docs.append(plan_stack_file(path, program=args.program).document())

    out = open(args.output, "w", encoding="utf-8") if args.output else sys.stdout  # noqa: SIM115
    try:
        if args.format == "json":
            payload: Any = docs[0] if len(docs) == 1 else {"stacks": docs}
            json.dump(payload, out, indent=2, sort_keys=False)
            out.write("\n")
        else:
            tty = out.isatty()
            # Plain, unwrapped text for pipes and files (CI logs, PR comments).
            console = Console(file=out, highlight=False, width=None if tty else 400, no_color=not tty, soft_wrap=not tty)
            for doc in docs:
                print_text(doc, console)
    finally:
        if out is not sys.stdout:
            out.close()
    return EXIT_OK


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    from mlops_stack.errors import ConfigError

    try:
        if args.command == "plan":
            return _plan(args)
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
    return EXIT_OK


if __name__ == "__main__":
    sys.exit(main())
