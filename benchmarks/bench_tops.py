"""IW TOPS burst focusing benchmark (:func:`benchmarks.tops.run_tops_benchmark`).

Run: ``python -m benchmarks.bench_tops [lines] [samples] [workers] [--wisdom PATH]
[--effort FFTW_MEASURE|FFTW_PATIENT] [--no-baseline]``; prints one JSON object.
``eoport bench tops`` runs the same benchmark.
"""

from __future__ import annotations

import argparse
import json
import sys

from benchmarks.tops import run_tops_benchmark


def main(argv: list[str]) -> None:
    """Command line; prints JSON."""
    p = argparse.ArgumentParser(prog="bench_tops")
    p.add_argument("lines", type=int, nargs="?", default=1500)
    p.add_argument("samples", type=int, nargs="?", default=20000)
    p.add_argument("workers", type=int, nargs="?", default=None)
    p.add_argument("--repeats", type=int, default=5)
    p.add_argument("--effort", default="FFTW_PATIENT")
    p.add_argument("--wisdom", default=None)
    p.add_argument("--no-baseline", action="store_true")
    a = p.parse_args(argv)
    result = run_tops_benchmark(
        a.lines,
        a.samples,
        repeats=a.repeats,
        workers=a.workers,
        baseline=not a.no_baseline,
        effort=a.effort,
        wisdom=a.wisdom,
    )
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main(sys.argv[1:])
