"""Streaming chain: sensing-to-delivery latency and chunk throughput of the demo pass
(``python benchmarks/bench_pipeline.py [--speedup X]``).

Two runs on a local Tansu broker, printed as one JSON object:

- ``demo``: ``eoport demo`` (IW, one burst cycle, 4096 samples, replayed at its own data rate
  times ``speedup``): latency p50/p95 from a burst's sensing stop to delivery, per-stage
  medians, products and deliveries;
- ``assembler``: the same pass published as fast as the producer goes, no workers: time
  until the assembler has consumed every chunk and emitted every job, in chunks/s and
  MB/s (chunk payload bytes).
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path
from typing import Any

from eoport.commands.demo import run_demo
from eoport.config import DemoSettings
from eoport.pipeline import LocalPipeline, simulate_pass


def assembler_throughput(chunk_size: int = 256_000) -> dict[str, Any]:
    """Chunks/s and MB/s through reassembly, packet cutting and burst assembly."""
    data = simulate_pass().data
    with tempfile.TemporaryDirectory(prefix="eoport-bench-") as work:
        pipe = LocalPipeline(Path(work), api=False, start_workers=False)
        with pipe:
            assert pipe.assembler is not None
            time.sleep(4.0)  # let the assembler join its group (Tansu delays joins)
            report = pipe.replay(data, chunk_size=chunk_size)
            start = pipe.replay_start or time.time()
            while not pipe.assembler.done_channels:
                time.sleep(0.01)
            elapsed = time.time() - start
            jobs = pipe.assembler.stats.jobs
    return {
        "chunks": report.chunks,
        "bytes": report.n_bytes,
        "jobs": jobs,
        "publish_s": round(report.elapsed_s, 3),
        "publish_chunks_per_s": round(report.chunks_per_s, 1),
        "assemble_s": round(elapsed, 3),
        "chunks_per_s": round(report.chunks / elapsed, 1),
        "mb_per_s": round(report.n_bytes / 1e6 / elapsed, 2),
    }


def run_pipeline_benchmark(speedup: float = 1.0) -> dict[str, Any]:
    """Both runs (see the module docstring)."""
    with tempfile.TemporaryDirectory(prefix="eoport-bench-demo-") as work:
        settings = DemoSettings(speedup=speedup, work_dir=work)
        demo = run_demo(settings, show_progress=False)
    return {"demo": demo, "assembler": assembler_throughput()}


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--speedup", type=float, default=1.0)
    args = parser.parse_args()
    print(json.dumps(run_pipeline_benchmark(args.speedup), indent=2))
