"""The ``eoport`` command: one entry point, a subcommand per stage.

Each command lives in a module of :mod:`eoport.commands` whose ``register(subparsers)``
adds its subparser(s), arguments and ``handler``; this module holds the top-level parser
and its common options, the order of the commands, dispatch, and the mapping of errors
to an exit status (:class:`eoport.errors.ExitStatus`) with a one-line message on stderr.
A handler is thin: call a library function, print the result (human-readable or
``--json``). Command modules import heavy dependencies inside their handlers, so
building the parser stays fast.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Callable, Sequence

from eoport.errors import EoportError, ExitStatus

Handler = Callable[[argparse.Namespace], int]


def build_parser() -> argparse.ArgumentParser:
    """Return the argument parser of the ``eoport`` command."""
    from eoport.commands import (
        apikey,
        bench,
        bench_quality,
        demo,
        focus,
        l0,
        quality,
        run,
        simulate,
    )
    from sar import __version__

    parser = argparse.ArgumentParser(
        prog="eoport",
        description="Near-real-time Sentinel-1 processing: Level-0 to focused bursts in seconds.",
    )
    parser.add_argument("--version", action="version", version=f"eoport {__version__}")
    parser.add_argument(
        "--debug", action="store_true", help="show tracebacks instead of one-line errors"
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    # In the order of ``eoport --help``; ``bench_quality`` adds ``quality`` to ``bench``.
    commands = (l0, simulate, focus, quality, bench, bench_quality, demo, run, apikey)
    for module in commands:
        module.register(sub)
    return parser


def exit_status_for(exc: BaseException) -> ExitStatus:
    """Map an exception to the command's exit status."""
    import streams as stream_errors
    from sar import errors as sar_errors

    if isinstance(exc, EoportError):
        return exc.exit_status
    if isinstance(exc, stream_errors.RetryableError):
        return ExitStatus.UNAVAILABLE
    if isinstance(exc, stream_errors.PermanentError):
        return ExitStatus.INVALID
    if isinstance(exc, sar_errors.Level0Error | sar_errors.ProductError):
        return ExitStatus.INPUT
    if isinstance(exc, sar_errors.SimulationError | sar_errors.GeometryError):
        return ExitStatus.INVALID
    if isinstance(exc, sar_errors.SarError):
        return ExitStatus.PROCESSING
    if isinstance(exc, FileNotFoundError | IsADirectoryError | PermissionError):
        return ExitStatus.INPUT
    if isinstance(exc, json.JSONDecodeError | ValueError):
        return ExitStatus.INVALID
    if isinstance(exc, KeyboardInterrupt):
        return ExitStatus.INTERRUPTED
    return ExitStatus.INTERNAL


def describe_error(exc: BaseException) -> str:
    """One line describing ``exc`` for the user."""
    if isinstance(exc, FileNotFoundError):
        return f"no such file: {exc.filename}"
    if isinstance(exc, IsADirectoryError):
        return f"is a directory, not a file: {exc.filename}"
    if isinstance(exc, PermissionError):
        return f"permission denied: {exc.filename}"
    if isinstance(exc, KeyboardInterrupt):
        return "interrupted"
    text = str(exc).strip().splitlines()
    message = text[0] if text else type(exc).__name__
    if exit_status_for(exc) is ExitStatus.INTERNAL:
        return f"internal error ({type(exc).__name__}): {message} (rerun with --debug)"
    return message


def main(argv: Sequence[str] | None = None) -> int:
    """Run the ``eoport`` command; return its exit status."""
    parser = build_parser()
    args = parser.parse_args(argv)
    handler: Handler = args.handler
    try:
        return handler(args)
    except BrokenPipeError:
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return int(ExitStatus.OK)
    except (Exception, KeyboardInterrupt) as exc:
        if args.debug:
            raise
        print(f"eoport: error: {describe_error(exc)}", file=sys.stderr)
        return int(exit_status_for(exc))


if __name__ == "__main__":
    raise SystemExit(main())
