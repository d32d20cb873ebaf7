"""Benchmark stripmap focusing: ``python benchmarks/bench_focus.py [--small] [--repeats N]``.

Prints the JSON dict of :func:`benchmarks.stripmap.run_focus_benchmark` (one 1500 x 20000
block by default; ``--small`` runs 1024 x 4096 in seconds).
"""

from __future__ import annotations

import argparse
import json

from benchmarks.stripmap import run_focus_benchmark

__all__ = ["run_focus_benchmark", "main"]


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark and print its JSON result."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--small", action="store_true", help="1024 x 4096 block")
    parser.add_argument("--lines", type=int, default=1500)
    parser.add_argument("--samples", type=int, default=20000)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--no-baseline", action="store_true", help="skip the numpy reference")
    parser.add_argument("--measure", action="store_true",
                        help="plan FFTs with FFTW_MEASURE (slow first block, faster azimuth)")
    args = parser.parse_args(argv)
    lines, samples = (1024, 4096) if args.small else (args.lines, args.samples)
    result = run_focus_benchmark(lines, samples, args.repeats, baseline=not args.no_baseline,
                                 fft_effort="FFTW_MEASURE" if args.measure else None)
    print(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
