"""``eoport bench focus|tops|decode``: speed of the core on this machine."""

from __future__ import annotations

import argparse
from typing import Any

from eoport.commands._io import check_input_path, print_json
from eoport.errors import InvalidArgumentError


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add ``eoport bench focus|tops|decode`` to the command line (``bench quality``:
    :mod:`eoport.commands.bench_quality`)."""
    p = sub.add_parser("bench", help="benchmarks of the focusing core and decoder")
    bsub = p.add_subparsers(dest="bench_command", required=True, metavar="COMMAND")
    f = bsub.add_parser("focus", help="focus one IW1-burst-sized block")
    f.add_argument("--json", action="store_true", help="print one JSON object (last line)")
    f.add_argument("--lines", type=int, default=1500)
    f.add_argument("--samples", type=int, default=20000)
    f.add_argument("--repeats", type=int, default=3)
    f.set_defaults(handler=cmd_bench_focus)
    t = bsub.add_parser("tops", help="focus full-size IW TOPS bursts (IW1: 1,429 x 25,408 raw)")
    t.add_argument("--json", action="store_true", help="print one JSON object (last line)")
    t.add_argument("--swath", choices=("IW1", "IW2", "IW3", "all"), default="IW1",
                   help="sub-swath whose radar parameters and full size the burst has")  # fmt: skip
    t.add_argument("--antenna", choices=("on", "off", "both"), default="on",
                   help="azimuth antenna-pattern compensation in the focusing")  # fmt: skip
    t.add_argument("--lines", type=int, default=None, help="raw lines (default: full size)")
    t.add_argument("--samples", type=int, default=None, help="samples (default: full size)")
    t.add_argument("--repeats", type=int, default=5)
    t.add_argument("--workers", type=int, default=None,
                   help="focusing threads (default: one per core, at most 4)")  # fmt: skip
    t.add_argument("--effort", choices=("measure", "patient"), default="patient",
                   help="FFTW planner effort of the focusing plans")  # fmt: skip
    t.add_argument("--wisdom", default=None,
                   help="FFTW wisdom file: loaded first, saved after planning")  # fmt: skip
    t.add_argument("--no-baseline", action="store_true", help="skip the plain numpy run")
    t.set_defaults(handler=cmd_bench_tops)
    d = bsub.add_parser("decode", help="decode FDBAQ packets of a simulated IW data-take")
    d.add_argument("--json", action="store_true", help="print one JSON object (last line)")
    d.add_argument("--repeats", type=int, default=5)
    d.set_defaults(handler=cmd_bench_decode)


def _show(result: dict[str, Any], as_json: bool) -> None:
    if not as_json:
        width = max(len(k) for k in result)
        for key, value in result.items():
            text = f"{value:.4g}" if isinstance(value, float) else str(value)
            print(f"{key:<{width}}  {text}")
    print_json(result)


def cmd_bench_focus(args: argparse.Namespace) -> int:
    """Focus one block of IW1-burst size and compare with the baseline and the FFT floor."""
    if args.lines < 256 or args.samples < 256 or args.repeats < 1:
        raise InvalidArgumentError("--lines and --samples must be >= 256, --repeats >= 1")
    from benchmarks.stripmap import run_focus_benchmark

    result = run_focus_benchmark(lines=args.lines, samples=args.samples, repeats=args.repeats)
    _show(result, args.json)
    return 0


TOPS_SUMMARY = (
    "swath", "antenna_compensation", "lines", "samples", "seconds", "fft_floor_seconds",
    "ratio_to_floor", "cpu_seconds", "fft_floor_cpu_seconds", "cpu_ratio_to_floor",
    "peak_extra_ratio", "baseline_seconds", "speedup",
)  # fmt: skip
"""What ``eoport bench tops`` keeps of each case when it runs several."""


def cmd_bench_tops(args: argparse.Namespace) -> int:
    """Focus full-size IW TOPS bursts and compare with the baseline and the FFT floor."""
    if (
        (args.lines is not None and args.lines < 256)
        or (args.samples is not None and args.samples < 4096) or args.repeats < 1
        or (args.workers is not None and args.workers < 1)
    ):  # fmt: skip
        raise InvalidArgumentError(
            "--lines must be >= 256, --samples >= 4096, --repeats and --workers >= 1"
        )
    from benchmarks.tops import IW_SWATHS, full_size, run_tops_benchmark

    effort = {"measure": "FFTW_MEASURE", "patient": "FFTW_PATIENT"}[args.effort]
    swaths = IW_SWATHS if args.swath == "all" else (args.swath,)
    antennas = {"on": (None,), "off": (0.0,), "both": (None, 0.0)}[args.antenna]
    results = []
    for swath in swaths:
        lines, samples = full_size(swath)
        for antenna_length in antennas:
            result = run_tops_benchmark(
                lines=args.lines or lines,
                samples=args.samples or samples,
                repeats=args.repeats,
                workers=args.workers,
                baseline=not args.no_baseline,
                effort=effort,
                wisdom=args.wisdom,
                swath=swath,
                antenna_length=antenna_length,
            )
            for key in ("stages", "profile", "all_seconds", "all_fft_floor_seconds"):
                value = result.pop(key)
                if not args.json:
                    print(f"{key}: {value}")
            results.append(result)
    if len(results) == 1:
        _show(results[0], args.json)
        return 0
    rows = [{k: r[k] for k in TOPS_SUMMARY if k in r} for r in results]
    if not args.json:
        for row in rows:
            print("  ".join(
                f"{k} {v:.3g}" if isinstance(v, float) else f"{k} {v}" for k, v in row.items()
            ))  # fmt: skip
    print_json({"cases": rows, "worst_cpu_ratio_to_floor": max(
        r["cpu_ratio_to_floor"] for r in rows
    )})  # fmt: skip
    return 0


def cmd_bench_decode(args: argparse.Namespace) -> int:
    """Decode a stripmap data-take, an IW burst cycle and an IW burst; eoport vs sentinel1decoder.

    Prints one line per case (MB/s of eoport, of sentinel1decoder timed in the same run on
    the same bytes, their ratio, and the previous eoport kernels), then one JSON object.
    Optional arguments read when the parser defines them: ``stripmap``, ``iw``, ``burst``
    (Level-0 files to use instead of the synthetic streams) and ``no_previous``.
    """
    if args.repeats < 1:
        raise InvalidArgumentError("--repeats must be >= 1")
    from benchmarks.decode import CASES, format_decode_table, run_decode_benchmark

    cases: dict[str, Any] = {}
    for name, runs in CASES.items():
        path = getattr(args, name, None)
        cases[name] = runs if path is None else check_input_path(str(path), what=f"{name} file")
    result = run_decode_benchmark(
        repeats=args.repeats, cases=cases, previous=not getattr(args, "no_previous", False)
    )
    if not args.json:
        print(format_decode_table(result))
    print_json(result)
    return 0
