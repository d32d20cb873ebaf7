"""``eoport bench quality``: simulate an IW pass with a grid of point targets, focus it,
check every target (issue 12 acceptance) and print each one, the worst, and one JSON line.

The grid (:func:`sar.quality.grid.plan_iw_grid`) puts targets at near, mid and far range
of each sub-swath and at the start, middle and end of a burst's valid area; every target
is checked in every burst whose valid area holds it against the theory of the windows the
product declares. The exit status is 1 when a target misses a tolerance.
"""

from __future__ import annotations

import argparse
from dataclasses import asdict
from typing import Any

from eoport.commands._io import parse_lat_lon, print_json
from eoport.errors import InvalidArgumentError

_HELP = "simulate an IW pass with a target grid, focus, check every target against theory"


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add ``quality`` to the ``bench`` command of ``subparsers`` (the top-level
    subcommands; the ``bench`` parser is created when it does not exist yet)."""
    bench = subparsers.choices.get("bench")
    if bench is None:
        bench = subparsers.add_parser("bench", help="benchmarks")
        bench.add_subparsers(dest="bench_command", required=True, metavar="COMMAND")
    actions = [a for a in bench._actions if isinstance(a, argparse._SubParsersAction)]
    p = actions[0].add_parser("quality", help=_HELP, description=_HELP)
    p.add_argument("--center", default="45,10", help="scene centre LAT,LON (default 45,10)")
    p.add_argument("--duration", type=float, default=8.3,
                   help="sensing duration, s (default 8.3: three burst cycles)")  # fmt: skip
    p.add_argument("--pol", default="VV", choices=("VV", "VH", "HH", "HV", "VV+VH", "HH+HV"))
    p.add_argument(
        "--samples",
        type=int,
        default=None,
        help="narrowed echo window (default: full swath, ~21,000-25,000 samples)",
    )
    p.add_argument("--grid", default="3x3",
                   help="RANGExLINES targets per sub-swath (default 3x3: near/mid/far x "
                        "start/middle/end of the valid area)")  # fmt: skip
    p.add_argument("--swaths", default="IW1,IW2,IW3", help="sub-swaths holding targets")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--json", action="store_true", help="print only the JSON summary line")
    p.set_defaults(handler=cmd_bench_quality)


def _fractions(n: int) -> tuple[float, ...]:
    if n == 1:
        return (0.5,)
    return tuple(0.05 + 0.9 * k / (n - 1) for k in range(n))


def _parse_grid(text: str) -> tuple[int, int]:
    try:
        a, b = (int(v) for v in text.lower().split("x"))
    except ValueError:
        raise InvalidArgumentError(f"--grid must be RANGExLINES like 3x3, got {text!r}") from None
    if not (1 <= a <= 9 and 1 <= b <= 9):
        raise InvalidArgumentError(f"--grid sizes must be 1..9, got {text!r}")
    return a, b


def cmd_bench_quality(args: argparse.Namespace) -> int:
    """Run the quality grid and print per target, the worst, and a JSON summary line."""
    center = parse_lat_lon(args.center)
    n_range, n_lines = _parse_grid(args.grid)
    swaths = [s.strip().upper() for s in args.swaths.split(",") if s.strip()]
    if not swaths or any(s not in ("IW1", "IW2", "IW3") for s in swaths):
        raise InvalidArgumentError(f"--swaths must list IW1, IW2, IW3, got {args.swaths!r}")
    if not args.duration > 0:
        raise InvalidArgumentError(f"--duration must be positive, got {args.duration}")
    if args.samples is not None and args.samples < 1024:
        raise InvalidArgumentError(f"--samples must be at least 1024, got {args.samples}")
    from sar.quality.grid import Tolerances, run_iw_quality_grid

    tol = Tolerances()
    report = run_iw_quality_grid(
        center, args.duration, pol=args.pol, n_samples=args.samples, seed=args.seed,
        tolerances=tol, range_fractions=_fractions(n_range), line_fractions=_fractions(n_lines),
        swaths=swaths,
    )  # fmt: skip
    if not args.json:
        print(
            f"{len(report.targets)} targets, {report.products} products, "
            f"{len(report.checks)} checks (tolerances: width {tol.width:.0%}, PSLR "
            f"{tol.pslr_db} dB, ISLR {tol.islr_db} dB, position {tol.position_px} px, "
            f"phase {tol.phase_rad} rad)"
        )
        for c in report.checks:
            flag = "ok  " if c.passed else "FAIL"
            print(
                f"{flag} {c.product} {c.target} (line {c.line:.1f}, sample {c.sample:.1f}): "
                f"width rg {c.range_width:+.1%} az {c.azimuth_width:+.1%}  "
                f"PSLR rg {c.range_pslr_db:+.2f} az {c.azimuth_pslr_db:+.2f} dB  "
                f"ISLR rg {c.range_islr_db:+.2f} az {c.azimuth_islr_db:+.2f} dB  "
                f"position rg {c.range_error_px:+.4f} az {c.azimuth_error_px:+.4f} px  "
                f"phase {c.phase_error_rad:+.4f} rad"
            )
        for name in report.unchecked():
            print(f"FAIL {name}: no product's valid area holds it")
        worst = report.worst
        if worst is not None:
            print(f"worst: {worst.product} {worst.target}, {worst.margin:.2f} of the tolerance")
    worst = report.worst
    summary: dict[str, Any] = {
        "passed": report.passed,
        "targets": len(report.targets),
        "products": report.products,
        "checks": len(report.checks),
        "failed": sum(1 for c in report.checks if not c.passed) + len(report.unchecked()),
        "unchecked": report.unchecked(),
        "worst": worst.to_dict() if worst is not None else None,
        "tolerances": asdict(tol),
        "seconds": report.seconds,
    }
    print_json(summary)
    return 0 if report.passed else 1
