"""The CLI's exit codes and its one line for a bug, shared by ``cli`` and ``cli_ops``
(below both, so neither imports the other for them; imports nothing heavy)."""

from __future__ import annotations

from mlops_stack import __version__

EXIT_OK, EXIT_POLICY, EXIT_CONFIG, EXIT_INTERNAL = 0, 1, 2, 3


def internal_error_line(err: BaseException) -> str:
    """One line for a bug: what broke, and what to do about it."""
    first = (str(err).strip().splitlines() or [""])[0]
    first = first if len(first) <= 300 else first[:297] + "..."
    return (f"internal error (a bug in mlops-stack {__version__}, exit {EXIT_INTERNAL}): {type(err).__name__}: {first} "
            "(rerun with --debug and report the traceback)")
