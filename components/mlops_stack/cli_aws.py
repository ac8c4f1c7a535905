"""``mlops-stack preflight`` and ``mlops-stack smoke``: the AWS checks before and after apply.

``add_parsers(subparsers)`` adds both subcommands to the main parser (``cli.py``); each
sets ``handler`` to a function that returns the exit code:

- 0: every check passed;
- 1: something will fail (preflight) or failed (smoke); the table says what;
- 2: a spec or usage error (one line on stderr), or no AWS credentials;
- 3: an internal error.

Importing this module imports neither boto3 nor the stack code: ``mlops-stack plan``
stays as fast as before.
"""

from __future__ import annotations

import argparse
import json
import sys
import traceback
from pathlib import Path
from typing import Any

EXIT_OK, EXIT_FAILED, EXIT_CONFIG, EXIT_INTERNAL = 0, 1, 2, 3


#: The clouds preflight and smoke know (they use boto3).
SUPPORTED_CLOUDS = ("aws",)


def _add_stack_args(p: argparse.ArgumentParser) -> None:
    which = p.add_mutually_exclusive_group(required=True)
    which.add_argument("--stack", metavar="S", help="a stack name (stacks/Pulumi.<S>.yaml)")
    which.add_argument("--config", type=Path, metavar="FILE", help="a Pulumi.<stack>.yaml stack file")
    p.add_argument("--stacks-dir", type=Path, default=Path("stacks"), help="where stack files live (default: ./stacks)")
    p.add_argument("--profile", help="AWS profile (default: the boto3 default credential chain)")
    p.add_argument("--format", choices=("text", "json"), default="text")
    p.add_argument("--debug", action="store_true", help="show tracebacks for internal errors")


def add_parsers(subparsers: Any) -> None:
    """Add ``preflight`` and ``smoke`` to the ``mlops-stack`` subcommands."""
    pre = subparsers.add_parser(
        "preflight",
        help="before apply: GPU offerings per zone, EC2 vCPU and SageMaker endpoint quotas (AWS, read-only)",
        description="Check with your AWS credentials that the stack's capacity exists: exit 1 if apply would fail.",
    )
    _add_stack_args(pre)
    pre.set_defaults(handler=preflight_command)

    smoke = subparsers.add_parser(
        "smoke",
        help="after apply: buckets, repositories, cluster and endpoints, one request per endpoint (AWS)",
        description="Verify a deployed stack from `pulumi stack output --json`: exit 1 on any failure.",
    )
    _add_stack_args(smoke)
    smoke.add_argument("--outputs", required=True, metavar="FILE", help="JSON of `pulumi stack output --json` ('-' for stdin)")
    smoke.set_defaults(handler=smoke_command)


# ---------------------------------------------------------------------------------


def _stack_file(args: argparse.Namespace) -> Path:
    from mlops_stack.offline.stackfile import find_stack_file

    return Path(args.config) if args.config else find_stack_file(args.stack, args.stacks_dir)


def load_aws_spec(args: argparse.Namespace, *, resolve: bool) -> tuple[Any, str]:
    """The validated spec of ``--stack``/``--config`` and the stack name; ``ConfigError`` if bad."""
    from mlops_stack import registry
    from mlops_stack.errors import ConfigError
    from mlops_stack.offline.stackfile import read_stack_file
    from mlops_stack.spec import load_spec

    sf = read_stack_file(_stack_file(args))
    spec = load_spec(sf.raw_spec)
    if spec.cloud not in SUPPORTED_CLOUDS:
        raise ConfigError("cloud", f"{args.command} checks AWS stacks only", value=spec.cloud)
    if resolve:
        registry.check(spec)
    return spec, sf.stack


def _clients(args: argparse.Namespace, region: str) -> Any:
    import boto3

    from mlops_stack.aws.preflight import session_clients

    session = boto3.Session(profile_name=args.profile) if args.profile else boto3.Session()
    if session.get_credentials() is None:
        raise _NoCredentials()
    return session_clients(session, region)


class _NoCredentials(Exception):
    pass


def _console(out: Any = None) -> Any:
    from rich.console import Console

    out = out or sys.stdout
    tty = out.isatty()
    return Console(file=out, highlight=False, width=None if tty else 200, no_color=not tty, soft_wrap=not tty)


def _guard(args: argparse.Namespace, body: Any) -> int:
    """Exit codes and one-line errors, as ``mlops-stack plan`` has them."""
    from mlops_stack.errors import ConfigError

    try:
        return int(body())
    except ConfigError as err:
        print(f"error: {err}", file=sys.stderr)
        return EXIT_CONFIG
    except _NoCredentials:
        print("error: no AWS credentials found (set AWS_PROFILE, --profile, or the AWS_* variables)", file=sys.stderr)
        return EXIT_CONFIG
    except Exception as err:  # noqa: BLE001 - the command's last line of defence
        if isinstance(err, ModuleNotFoundError) and (err.name or "").split(".")[0] in ("boto3", "botocore"):
            print(f"error: {args.command} needs boto3, which is not installed here (pip install 'mlops-stack[aws-ops]')",
                  file=sys.stderr)
            return EXIT_CONFIG
        from mlops_stack.registry import missing_sdk

        sdk = missing_sdk(err)
        if sdk is not None:
            print(f"error: {sdk}", file=sys.stderr)
            return EXIT_CONFIG
        try:
            from botocore.exceptions import BotoCoreError, ProfileNotFound
        except ModuleNotFoundError:  # not an AWS error, then
            BotoCoreError = ProfileNotFound = ()  # type: ignore[assignment,misc]  # noqa: N806
        if isinstance(err, ProfileNotFound):
            print(f"error: --profile: {err}", file=sys.stderr)
            return EXIT_CONFIG
        if isinstance(err, BotoCoreError):
            print(f"error: AWS: {err}", file=sys.stderr)
            return EXIT_FAILED
        if getattr(args, "debug", False):
            traceback.print_exc()
        from mlops_stack.cli import internal_error_line

        print(internal_error_line(err), file=sys.stderr)
        return EXIT_INTERNAL


def preflight_command(args: argparse.Namespace, client: Any = None) -> int:
    """``mlops-stack preflight``. ``client`` replaces the boto3 client factory (tests)."""

    def body() -> int:
        from mlops_stack.aws.preflight import render, run_preflight

        spec, stack = load_aws_spec(args, resolve=True)
        report = run_preflight(spec, client or _clients(args, spec.region), stack=stack)
        if args.format == "json":
            print(json.dumps(report.document(), indent=2))
        else:
            render(report, _console())
        return EXIT_OK if report.ok else EXIT_FAILED

    return _guard(args, body)


def read_outputs(path: str) -> dict[str, Any]:
    """The stack outputs from ``pulumi stack output --json`` (a file, or '-' for stdin)."""
    from mlops_stack.errors import ConfigError

    try:
        text = sys.stdin.read() if path == "-" else Path(path).read_text(encoding="utf-8")
    except OSError as err:
        raise ConfigError("--outputs", f"cannot be read: {err.strerror}", value=path) from None
    try:
        doc = json.loads(text)
    except ValueError as err:
        raise ConfigError("--outputs", f"is not JSON ({err.msg} at line {err.lineno})", "pass the output of `pulumi stack output --json`", value=path) from None
    if not isinstance(doc, dict):
        raise ConfigError("--outputs", "must be a JSON object of stack outputs", value=path)
    return doc


def smoke_command(args: argparse.Namespace, client: Any = None) -> int:
    """``mlops-stack smoke``. ``client`` replaces the boto3 client factory (tests)."""

    def body() -> int:
        from mlops_stack.aws.smoke import render, run_smoke
        from mlops_stack.errors import ConfigError

        spec, stack = load_aws_spec(args, resolve=False)
        outputs = read_outputs(args.outputs)
        region = outputs.get("region")
        if region and region != spec.region:
            raise ConfigError("--outputs", f"are of a stack in {region}, but the spec's region is {spec.region}", value=args.outputs)
        report = run_smoke(spec, outputs, client or _clients(args, spec.region), stack=stack)
        if args.format == "json":
            print(json.dumps(report.document(), indent=2))
        else:
            render(report, _console())
        return EXIT_OK if report.ok else EXIT_FAILED

    return _guard(args, body)


def main(argv: list[str] | None = None) -> int:
    """Run ``preflight`` / ``smoke`` on their own (``python -m mlops_stack.cli_aws``)."""
    parser = argparse.ArgumentParser(prog="mlops-stack")
    add_parsers(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(argv)
    return int(args.handler(args))


if __name__ == "__main__":
    sys.exit(main())
