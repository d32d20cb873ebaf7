"""Level-0 FDBAQ decode throughput (``python benchmarks/bench_decode.py``).

Prints the result of :func:`sar.l0.bench.run_decode_benchmark` as JSON: our decoder and
sentinel1decoder's on the same simulated IW-like packets, timed in the same run.
"""

from __future__ import annotations

import json
from typing import Any

from sar.l0.bench import run_decode_benchmark as _run


def run_decode_benchmark(repeats: int = 5) -> dict[str, Any]:
    """Median decode time of ~300 FDBAQ packets of 12,000 quads (see sar.l0.bench)."""
    return _run(repeats=repeats)


if __name__ == "__main__":
    print(json.dumps(run_decode_benchmark(), indent=2))
