"""Level-0 decode throughput against sentinel1decoder (``python -m benchmarks.bench_decode``).

Runs :func:`benchmarks.decode.run_decode_benchmark` (the function ``eoport bench decode``
calls): a 4 s stripmap data-take, one IW burst cycle and one IW burst, decoded by eoport,
by sentinel1decoder and by eoport's previous kernels, interleaved in one process on the
same bytes. Prints a table, then one JSON object on the last line.

Options: ``--repeats N``, ``--no-previous``, and ``--stripmap/--iw/--burst FILE`` to
decode Level-0 files instead of the synthetic streams.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from benchmarks.decode import CASES, format_decode_table, run_decode_benchmark
from sar.l0.synthetic import SwathRun


def main(argv: list[str] | None = None) -> int:
    """Command line entry point."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--no-previous", action="store_true", help="skip the previous kernels")
    for name in CASES:
        parser.add_argument(f"--{name}", type=Path, default=None, help=f"Level-0 file ({name})")
    args = parser.parse_args(argv)
    cases: dict[str, tuple[SwathRun, ...] | Path] = {
        name: getattr(args, name) or runs for name, runs in CASES.items()
    }
    result = run_decode_benchmark(args.repeats, cases=cases, previous=not args.no_previous)
    print(format_decode_table(result))
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
