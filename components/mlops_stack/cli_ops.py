"""``mlops-stack preflight`` and ``mlops-stack smoke``: the checks before and after apply,
on every cloud, behind the same commands, output and exit codes.

``add_parsers(subparsers)`` adds both subcommands to the main parser (``cli.py``); each
sets ``handler`` to a function that returns the exit code:

- 0: every check passed;
- 1: something will fail (preflight) or failed (smoke); the table says what;
- 2: a spec or usage error (one line on stderr), no credentials, or the cloud's
  ``<cloud>-ops`` extra is not installed;
- 3: an internal error.

The work is done by the stack's target: ``Target.ops`` names its package,
whose ``preflight`` module has ``run_preflight(spec, client, stack)``,
``default_clients(spec, profile)``, ``sdk_error(err)``, ``OPS_EXTRA``, ``SDK_MODULES``, ``SDK_LABEL``,
and whose ``smoke`` module has ``run_smoke(spec, outputs, client, stack)``.

Importing this module imports no cloud SDK and none of the stack code: ``mlops-stack
plan`` stays as fast as before.
"""

from __future__ import annotations

import argparse
import importlib
import inspect
import json
import sys
import traceback
from pathlib import Path
from typing import Any

from mlops_stack.exits import internal_error_line
from mlops_stack.ops_report import Finding, NoCredentials, WARN, render, render_smoke

EXIT_OK, EXIT_FAILED, EXIT_CONFIG, EXIT_INTERNAL = 0, 1, 2, 3

def ops_packages() -> dict[str, str]:
    """Target -> the package holding its ``preflight`` and ``smoke`` modules (``Target.ops``)."""
    from mlops_stack import targets  # lazy: loads pulumi; the CLI parser is built without it

    return {t.name: t.ops for t in targets.all() if t.ops}


def ops_module(cloud: str, kind: str) -> Any:
    """``mlops_stack.<cloud>.preflight`` / ``.smoke`` for the stack's target."""
    return importlib.import_module(f"{ops_packages()[cloud]}.{kind}")


def _add_stack_args(p: argparse.ArgumentParser) -> None:
    which = p.add_mutually_exclusive_group(required=True)
    which.add_argument("--stack", metavar="S", help="a stack name (stacks/Pulumi.<S>.yaml)")
    which.add_argument("--config", type=Path, metavar="FILE", help="a Pulumi.<stack>.yaml stack file")
    p.add_argument("--stacks-dir", type=Path, default=Path("stacks"), help="where stack files live (default: ./stacks)")
    p.add_argument("--profile", help="AWS only: the AWS profile (default: the boto3 default credential chain)")
    p.add_argument("--format", choices=("text", "json"), default="text")
    p.add_argument("--debug", action="store_true", help="show tracebacks for internal errors")


def add_parsers(subparsers: Any) -> None:
    """Add ``preflight`` and ``smoke`` to the ``mlops-stack`` subcommands."""
    pre = subparsers.add_parser(
        "preflight",
        help="before apply: GPU offerings per zone, vCPU/GPU and endpoint quotas, versions, APIs (read-only)",
        description="Check with your cloud credentials that the stack's capacity exists: exit 1 if apply would fail.",
    )
    _add_stack_args(pre)
    pre.add_argument(
        "--outputs",
        metavar="FILE",
        help="after the first apply: JSON of `pulumi stack output --json` ('-' for stdin); also checks that the managed endpoints' model artifacts and images exist",
    )
    pre.set_defaults(handler=preflight_command)

    smoke = subparsers.add_parser(
        "smoke",
        help="after apply: buckets, registries, cluster and endpoints, one request per endpoint",
        description="Verify a deployed stack from `pulumi stack output --json`: exit 1 on any failure.",
    )
    _add_stack_args(smoke)
    smoke.add_argument("--outputs", required=True, metavar="FILE", help="JSON of `pulumi stack output --json` ('-' for stdin)")
    smoke.set_defaults(handler=smoke_command)


# ---------------------------------------------------------------------------------


def _stack_file(args: argparse.Namespace) -> Path:
    from mlops_stack.offline.stackfile import find_stack_file  # lazy: loads pulumi; the CLI parser is built without it

    return Path(args.config) if args.config else find_stack_file(args.stack, args.stacks_dir)


def load_spec_for(args: argparse.Namespace, *, resolve: bool) -> tuple[Any, str]:
    """The validated spec of ``--stack``/``--config`` and the stack name; ``ConfigError`` if bad."""
    from mlops_stack import targets  # lazy: loads pulumi; the CLI parser is built without it
    from mlops_stack.errors import ConfigError  # lazy: loads pulumi; the CLI parser is built without it
    from mlops_stack.offline.stackfile import read_stack_file  # lazy: loads pulumi; the CLI parser is built without it
    from mlops_stack.spec import load_spec  # lazy: loads pulumi; the CLI parser is built without it

    sf = read_stack_file(_stack_file(args))
    spec = load_spec(sf.raw_spec)
    known = ops_packages()
    if spec.cloud not in known:
        raise ConfigError("cloud", f"{args.command} knows {', '.join(known)} stacks", value=spec.cloud)
    if resolve:
        targets.check(spec)
    return spec, sf.stack


def _console(out: Any = None) -> Any:
    from rich.console import Console

    out = out or sys.stdout
    tty = out.isatty()
    return Console(file=out, highlight=False, width=None if tty else 200, no_color=not tty, soft_wrap=not tty)


def _guard(args: argparse.Namespace, body: Any, state: dict[str, Any]) -> int:
    """Exit codes and one-line errors, as ``mlops-stack plan`` has them. ``state["cloud"]``
    is set by ``body`` once the spec is read, so the cloud's SDK errors can be named."""
    from mlops_stack.errors import ConfigError  # lazy: loads pulumi; the CLI parser is built without it

    try:
        return int(body())
    except ConfigError as err:
        print(f"error: {err}", file=sys.stderr)
        return EXIT_CONFIG
    except NoCredentials as err:
        print(f"error: {err}", file=sys.stderr)
        return EXIT_CONFIG
    except Exception as err:  # noqa: BLE001 - the command's last line of defence
        pre = ops_module(state["cloud"], "preflight") if state.get("cloud") else None
        if pre is not None and isinstance(err, ModuleNotFoundError) and (err.name or "").split(".")[0] in pre.SDK_MODULES:
            print(f"error: {args.command} needs {pre.SDK_LABEL}, which is not installed here (pip install 'mlops-stack[{pre.OPS_EXTRA}]')",
                  file=sys.stderr)
            return EXIT_CONFIG
        from mlops_stack.targets import missing_sdk  # lazy: loads pulumi; the CLI parser is built without it

        sdk = missing_sdk(err)
        if sdk is not None:
            print(f"error: {sdk}", file=sys.stderr)
            return EXIT_CONFIG
        known = pre.sdk_error(err) if pre is not None else None
        if known is not None:
            code, line = known
            print(f"error: {line}", file=sys.stderr)
            return code
        if getattr(args, "debug", False):
            traceback.print_exc()
        print(internal_error_line(err), file=sys.stderr)
        return EXIT_INTERNAL


def _clients(args: argparse.Namespace, spec: Any, client: Any) -> Any:
    return client if client is not None else ops_module(spec.cloud, "preflight").default_clients(spec, getattr(args, "profile", None))


def preflight_command(args: argparse.Namespace, client: Any = None) -> int:
    """``mlops-stack preflight``. ``client`` replaces the cloud's client factory (tests)."""
    state: dict[str, Any] = {}

    def body() -> int:
        spec, stack = load_spec_for(args, resolve=True)
        state["cloud"] = spec.cloud
        run = ops_module(spec.cloud, "preflight").run_preflight
        extra: dict[str, Any] = {}
        unchecked = False
        if getattr(args, "outputs", None):
            # The stack's outputs name the bucket and registry the first apply made.
            outputs = _stack_outputs(args, spec)
            if "outputs" in inspect.signature(run).parameters:
                extra["outputs"] = outputs
            else:
                unchecked = True
        report = run(spec, _clients(args, spec, client), stack=stack, **extra)
        if getattr(args, "outputs", None) and not spec.deploy_endpoints and spec.managed_endpoints:
            # `pulumi up -c` saved phase 1's value into the stack file: phase 2 from this
            # checkout would plan no endpoint (docs/first-apply.md).
            report.findings.append(
                Finding("endpoint inputs", "deployEndpoints", stack or spec.region, "true for phase 2", "false", WARN,
                        "the stack file says deployEndpoints: false; run `pulumi config rm --path mlops-stack:deployEndpoints` "
                        "(or check the file out again) before phase 2, or the endpoints are never created")
            )
        if unchecked:
            report.findings.append(
                Finding("endpoint inputs", "model artifacts and images", spec.region, "present", "not checked", WARN,
                        f"preflight on {spec.cloud} does not check the managed endpoints' artifacts and images yet")
            )
        if args.format == "json":
            print(json.dumps(report.document(), indent=2))
        else:
            render(report, _console())
        return EXIT_OK if report.ok else EXIT_FAILED

    return _guard(args, body, state)


def read_outputs(path: str) -> dict[str, Any]:
    """The stack outputs from ``pulumi stack output --json`` (a file, or '-' for stdin)."""
    from mlops_stack.errors import ConfigError  # lazy: loads pulumi; the CLI parser is built without it

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


def _stack_outputs(args: argparse.Namespace, spec: Any) -> dict[str, Any]:
    """``--outputs``, checked to be of a stack with the spec's cloud and region."""
    from mlops_stack.errors import ConfigError  # lazy: loads pulumi; the CLI parser is built without it

    outputs = read_outputs(args.outputs)
    for key, want in (("cloud", spec.cloud), ("region", spec.region)):
        got = outputs.get(key)
        if got and got != want:
            raise ConfigError("--outputs", f"are of a stack with {key} {got}, but the spec's {key} is {want}", value=args.outputs)
    return outputs


def smoke_command(args: argparse.Namespace, client: Any = None) -> int:
    """``mlops-stack smoke``. ``client`` replaces the cloud's client factory (tests)."""
    state: dict[str, Any] = {}

    def body() -> int:
        spec, stack = load_spec_for(args, resolve=False)
        state["cloud"] = spec.cloud
        outputs = _stack_outputs(args, spec)
        report = ops_module(spec.cloud, "smoke").run_smoke(spec, outputs, _clients(args, spec, client), stack=stack)
        if args.format == "json":
            print(json.dumps(report.document(), indent=2))
        else:
            render_smoke(report, _console())
        return EXIT_OK if report.ok else EXIT_FAILED

    return _guard(args, body, state)


def main(argv: list[str] | None = None) -> int:
    """Run ``preflight`` / ``smoke`` on their own (``python -m mlops_stack.cli_ops``)."""
    parser = argparse.ArgumentParser(prog="mlops-stack")
    add_parsers(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(argv)
    return int(args.handler(args))


if __name__ == "__main__":
    sys.exit(main())
