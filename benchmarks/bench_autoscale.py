"""A long IW pass at full size through the whole local chain: one focusing worker against
workers autoscaled with the backlog (``python benchmarks/bench_autoscale.py``).

The pass is simulated once (``--cycles`` IW burst cycles of 2.758 s, the full echo
window of every sub-swath, ``--pol VV`` or ``VV+VH``) and cached under ``--cache``; each
run replays it at its own data rate (as a station in passthrough delivers it) through a
fresh :class:`eoport.pipeline.LocalPipeline` on an in-memory Tansu, every burst focused
(no early selection) and delivered to one pull queue whose AOI holds the pass. Runs:

- ``one``: one focusing worker (a thread of this process, FFT plans warmed up first);
- ``auto``: ``eoport run focus`` processes started and stopped by the operator's policy
  (:mod:`eoport.autoscale`), ``1..--max-workers``, sharing FFTW wisdom.

Printed as one JSON object per run: sensing stop -> delivered latency p50/p95/max per
burst, per-stage p50/p95, backlog peak (bursts, seconds of sensing), backlog drain time
(last chunk on Kafka -> last delivery), workers over time, and the focusing throughput
against the rate the pass brings bursts (3 per cycle per polarisation), from which the
cores needed to keep up follow.
"""

from __future__ import annotations

import argparse
import json
import pickle
import shutil
import tempfile
import time
from pathlib import Path
from typing import Any

from sar.constants import IW_BURST_CYCLE
from sar.sim.datatake import SimulatedDatatake


def cached_pass(cycles: int, pol: str, n_samples: int | None, cache: Path) -> SimulatedDatatake:
    """The simulated pass, from ``cache`` when it was made before (minutes at full size)."""
    from eoport.pipeline import simulate_pass

    path = cache / f"iw-{cycles}c-{pol.replace('+', '')}-{n_samples or 'full'}.pickle"
    if path.exists():
        with path.open("rb") as f:
            loaded: SimulatedDatatake = pickle.load(f)
        return loaded
    cache.mkdir(parents=True, exist_ok=True)
    t0 = time.perf_counter()
    datatake = simulate_pass("IW", cycles * IW_BURST_CYCLE + 0.1, n_samples=n_samples, pol=pol)
    print(f"simulated {len(datatake.data) / 1e9:.2f} GB in {time.perf_counter() - t0:.0f} s")
    with path.open("wb") as f:
        pickle.dump(datatake, f, protocol=pickle.HIGHEST_PROTOCOL)
    return datatake


def run_pass(
    datatake: SimulatedDatatake, *, autoscale: tuple[int, int] | None, timeout_s: float
) -> dict[str, Any]:
    """Replay ``datatake`` through a fresh local chain; the summary of the run."""
    from eoport.pipeline import DEMO_CENTER, LocalPipeline, sensing_span
    from streams.focus.warmup import warm_up

    first, last = sensing_span(datatake)
    rate = len(datatake.data) / max(last - first, 1e-3)
    work = Path(tempfile.mkdtemp(prefix="eoport-bench-autoscale-"))
    lat, lon = DEMO_CENTER
    aoi = {"type": "Polygon", "coordinates": [[
        [lon - 3, lat - 3], [lon + 3, lat - 3], [lon + 3, lat + 3], [lon - 3, lat + 3],
        [lon - 3, lat - 3],
    ]]}  # fmt: skip
    pipe = LocalPipeline(
        work, autoscale=autoscale, focus_workers=1, focus_selection="all", api=False,
        warm_up_samples=None, fft_wisdom=str(work / "fftw.wisdom"),
    )  # fmt: skip
    try:
        if autoscale is None:
            t0 = time.perf_counter()
            warm_up(n_samples=None)  # the thread worker's plans, as a process worker has
            warm_s = time.perf_counter() - t0
        else:
            warm_s = None
        pipe.start()
        pipe.subscribe({"name": "all", "aoi": aoi, "target": {"kind": "queue"}})
        pipe.wait_ready(600)  # stages in their groups, the first worker process warm
        report = pipe.replay(
            datatake.data, rate_bytes_per_s=rate,
            relative_orbit=int(datatake.truth["relative_orbit"]),
        )  # fmt: skip
        replay_end = time.time()
        ok = pipe.wait_done(["LOCAL/pass-1/1"], timeout_s)
        drained = time.time()
        result = pipe.result((first, last), 1.0, report)
    finally:
        pipe.stop()
        shutil.rmtree(work, ignore_errors=True)
    summary = result.summary()
    bursts = summary["bursts_focused"]
    sensing_s = last - first
    busy_s = drained - (replay_end - report.elapsed_s)
    return {
        "workers": "1" if autoscale is None else f"{autoscale[0]}..{autoscale[1]}",
        "complete": ok and result.accounted,
        "sensing_s": round(sensing_s, 1),
        "bursts": bursts,
        "products": summary["products"],
        "delivered": f"{summary['delivered']}/{summary['expected_deliveries']}",
        "warm_up_s": None if warm_s is None else round(warm_s, 1),
        "latency_p50_s": summary["burst_latency_p50_s"],
        "latency_p95_s": summary["burst_latency_p95_s"],
        "latency_max_s": summary["burst_latency_max_s"],
        "stage_p50_s": summary["stage_p50_s"],
        "stage_p95_s": summary["stage_p95_s"],
        "backlog_peak_bursts": summary["backlog_peak_bursts"],
        "backlog_peak_s": summary["backlog_peak_s"],
        "drain_after_pass_s": round(drained - replay_end, 1),
        "bursts_in_per_s": round(bursts / sensing_s, 3),
        "bursts_out_per_s": round(bursts / busy_s, 3),
        "workers_over_time": summary["workers_over_time"],
    }


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--cycles", type=int, default=20)
    p.add_argument("--pol", default="VV", help="VV, or VV+VH for dual polarisation")
    p.add_argument("--samples", type=int, default=None, help="echo window (default: full)")
    p.add_argument("--max-workers", type=int, default=2)
    p.add_argument("--runs", default="one,auto", help="comma list of one, auto")
    p.add_argument("--timeout", type=float, default=1800.0)
    p.add_argument("--cache", type=Path, default=Path.home() / ".cache" / "eoport-bench")
    args = p.parse_args()
    datatake = cached_pass(args.cycles, args.pol, args.samples, args.cache)
    out: dict[str, Any] = {
        "pass": {"cycles": args.cycles, "pol": args.pol, "samples": args.samples or "full",
                 "gigabytes": round(len(datatake.data) / 1e9, 2)},
    }  # fmt: skip
    for run in args.runs.split(","):
        autoscale = None if run == "one" else (1, args.max_workers)
        out[run] = run_pass(datatake, autoscale=autoscale, timeout_s=args.timeout)
        print(json.dumps({run: out[run]}), flush=True)
    print(json.dumps(out, indent=2))


if __name__ == "__main__":
    main()
