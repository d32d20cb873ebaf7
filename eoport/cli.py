"""The ``eoport`` command: one entry point, a subcommand per stage.

Each subcommand is thin: parse arguments, call a library function, print the result
(human-readable or ``--json``), and map errors to an exit status
(:class:`eoport.errors.ExitStatus`) with a one-line message on stderr.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Callable, Sequence

from eoport.errors import EoportError, ExitStatus

Handler = Callable[[argparse.Namespace], int]


def _add_l0(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    from eoport.commands import l0

    p = sub.add_parser("l0", help="inspect and decode Level-0 space-packet files")
    l0sub = p.add_subparsers(dest="l0_command", required=True, metavar="COMMAND")
    info = l0sub.add_parser("info", help="summary of a Level-0 file")
    info.add_argument("file", help="Level-0 file (raw space-packet stream, e.g. an S1 .dat)")
    info.add_argument("--json", action="store_true", help="print one JSON object")
    info.add_argument("--lenient", action="store_true", help=l0.LENIENT_HELP)
    info.set_defaults(handler=l0.cmd_info)
    dec = l0sub.add_parser("decode", help="decode packets into an .npz (I/Q + header fields)")
    dec.add_argument("file", help="Level-0 file")
    dec.add_argument("-o", "--output", required=True, help="output .npz path")
    dec.add_argument(
        "--signal",
        choices=("echo", "noise", "cal", "all"),
        default="all",
        help="which packets to decode (default: all)",
    )
    dec.add_argument("--lenient", action="store_true", help=l0.LENIENT_HELP)
    dec.set_defaults(handler=l0.cmd_decode)


def _add_simulate(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    from eoport.commands import simulate

    p = sub.add_parser("simulate", help="simulate a Level-0 file of point targets")
    p.add_argument("--mode", required=True, help="S1..S6 (stripmap) or IW")
    p.add_argument("--center", required=True, help="scene centre LAT,LON in degrees")
    p.add_argument("--duration", required=True, type=float, help="sensing duration, s")
    p.add_argument("--targets", required=True, help="targets JSON file")
    p.add_argument("-o", "--output", required=True, help="output Level-0 file (RAW.dat)")
    p.add_argument("--pol", default="VV", choices=("VV", "VH", "HH", "HV", "VV+VH", "HH+HV"))
    p.add_argument("--baq", default="fdbaq", choices=("fdbaq", "bypass", "3", "4", "5"))
    p.add_argument("--seed", type=int, default=0)
    p.add_argument(
        "--samples",
        type=int,
        default=None,
        help="range samples per line (default: the mode's full swath)",
    )
    p.add_argument("--json", action="store_true", help="print a JSON summary")
    p.add_argument("--downlink", default="isp", help=simulate.DOWNLINK_HELP)
    p.set_defaults(handler=simulate.cmd_simulate)


def _add_focus(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    from eoport.commands import focus

    p = sub.add_parser("focus", help="focus a Level-0 file into SLC products (HDF5)")
    p.add_argument("file", nargs="?", default=None, help="Level-0 file")
    p.add_argument("-o", "--output", default=None, help="output .h5 (or directory for IW)")
    p.add_argument(
        "--burst", default=None, metavar="KEY",
        help="focus a burst the stream stored (raw object + job; e.g. one early selection "
        "skipped) from EOPORT_OBJECT_STORE_URL, as the focus stage would",
    )  # fmt: skip
    p.add_argument("--window-range", default="hamming:0.75", help="e.g. hamming:0.75, none")
    p.add_argument("--window-azimuth", default=None, help="default: IPF (hamming:0.75)")
    p.add_argument("--block-lines", type=int, default=None, help="azimuth block size, lines")
    p.add_argument(
        "--compression",
        choices=("none", "gzip", "lzf"),
        default="none",
        help="HDF5 filter for /image (default none: gzip saves ~17%% for ~20x write time)",
    )
    p.add_argument(
        "--relative-orbit",
        type=int,
        default=None,
        help="track 1-175 for ESA burst IDs of IW bursts (default: t000, counted from ANX)",
    )
    p.add_argument("--json", action="store_true", help="print a JSON summary")
    p.set_defaults(handler=focus.cmd_focus)


def _add_quality(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    from eoport.commands import quality

    p = sub.add_parser("quality", help="point-target analysis of an SLC product")
    p.add_argument("file", help="SLC product (.h5)")
    p.add_argument("--targets", required=True, help="targets JSON file")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.set_defaults(handler=quality.cmd_quality)


def _add_bench(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    from eoport.commands import bench

    p = sub.add_parser("bench", help="benchmarks of the focusing core and decoder")
    bsub = p.add_subparsers(dest="bench_command", required=True, metavar="COMMAND")
    f = bsub.add_parser("focus", help="focus one IW1-burst-sized block")
    f.add_argument("--json", action="store_true", help="print one JSON object (last line)")
    f.add_argument("--lines", type=int, default=1500)
    f.add_argument("--samples", type=int, default=20000)
    f.add_argument("--repeats", type=int, default=3)
    f.set_defaults(handler=bench.cmd_bench_focus)
    t = bsub.add_parser("tops", help="focus one IW1 TOPS burst (1,500 x 20,000 raw)")
    t.add_argument("--json", action="store_true", help="print one JSON object (last line)")
    t.add_argument("--lines", type=int, default=1500)
    t.add_argument("--samples", type=int, default=20000)
    t.add_argument("--repeats", type=int, default=5)
    t.add_argument("--workers", type=int, default=None,
                   help="focusing threads (default: cores + 1, at most 4)")  # fmt: skip
    t.add_argument("--effort", choices=("measure", "patient"), default="patient",
                   help="FFTW planner effort of the focusing plans")  # fmt: skip
    t.add_argument("--wisdom", default=None,
                   help="FFTW wisdom file: loaded first, saved after planning")  # fmt: skip
    t.add_argument("--no-baseline", action="store_true", help="skip the plain numpy run")
    t.set_defaults(handler=bench.cmd_bench_tops)
    d = bsub.add_parser("decode", help="decode FDBAQ packets of a simulated IW data-take")
    d.add_argument("--json", action="store_true", help="print one JSON object (last line)")
    d.add_argument("--repeats", type=int, default=5)
    d.set_defaults(handler=bench.cmd_bench_decode)


def build_parser() -> argparse.ArgumentParser:
    """Return the argument parser of the ``eoport`` command."""
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
    for add in (_add_l0, _add_simulate, _add_focus, _add_quality, _add_bench):
        add(sub)
    from eoport.commands import apikey, bench_quality, demo, run

    for module in (demo, run, bench_quality, apikey):
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
