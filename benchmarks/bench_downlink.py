"""CADU frames -> space packets throughput (``python benchmarks/bench_downlink.py``).

Target: Sentinel-1 downlinks on two X-band channels of 260 Mbit/s each, 520 Mbit/s =
65 MB/s of CADUs together (figure of issue 18; ESA's Sentinel-1 mission pages give the
520 Mbit/s X-band payload data rate). The benchmark frames a synthetic packet stream
(packet lengths like Sentinel-1 echo packets, 5-25 kB) into the CADUs of two channels
(default layout: 1024-octet CADUs, RS(255,223) depth 4), optionally degrades them
(independent bit errors at a given rate), then decodes both channels with
:class:`sar.downlink.CaduDecoder` fed in 1 MiB chunks, as the stream stage would.
The two channels are decoded concurrently, one decoder per channel in its own thread
(the numba kernels release the GIL), as two stream workers would. Printed as JSON: the
median over repeats of the decoding rate in MB/s of CADU input (both channels), per
error case, and the rate per CPU-second (CPU time of the process), which depends much
less on other jobs: ``projected_2_core_MB_per_s`` is twice that, the rate of two
channels on two cores of their own. The decoded packets are checked against the input
in the error-free case.

Figures measured while other jobs share the CPU are "under load".
"""

from __future__ import annotations

import argparse
import json
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import numpy as np

from sar.downlink import CaduDecoder, FramingParameters, Impairments, frame_channel, impair_cadus

TARGET_MB_PER_S = 65.0
"""Two 260 Mbit/s X-band channels, MB/s."""


def _packets(total_octets: int, seed: int) -> bytes:
    rng = np.random.default_rng(seed)
    parts = []
    n = 0
    count = 0
    while n < total_octets:
        size = int(rng.integers(5000, 25000)) // 4 * 4
        head = (0x0C41).to_bytes(2, "big") + (0xC000 | (count & 0x3FFF)).to_bytes(2, "big")
        parts.append(head + (size - 7).to_bytes(2, "big") + rng.bytes(size - 6))
        n += size
        count += 1
    return b"".join(parts)


def _decode_one(stream: bytes, chunk: int) -> tuple[dict[int, bytes], int]:
    dec = CaduDecoder()
    parts: dict[int, list[bytes]] = {}
    view = memoryview(stream)
    for k in range(0, len(stream), chunk):
        for v, b in dec.feed(view[k : k + chunk]).packets.items():
            parts.setdefault(v, []).append(b)
    for v, b in dec.finish().packets.items():
        parts.setdefault(v, []).append(b)
    return {v: b"".join(x) for v, x in parts.items()}, dec.stats.corrected_symbols


def _decode(
    streams: list[bytes], chunk: int, workers: int
) -> tuple[float, float, dict[int, bytes], int]:
    """Decode the channels, one decoder per channel, ``workers`` channels at a time;
    return wall and CPU seconds (all threads of the process), packets, corrections."""
    t0 = time.perf_counter()
    c0 = time.process_time()
    with ThreadPoolExecutor(max_workers=workers) as pool:
        results = list(pool.map(lambda s: _decode_one(s, chunk), streams))
    cpu = time.process_time() - c0
    dt = time.perf_counter() - t0
    out: dict[int, bytes] = {}
    for packets, _ in results:
        out.update(packets)
    return dt, cpu, out, sum(c for _, c in results)


def run_downlink_benchmark(
    megabytes: float = 32.0,
    repeats: int = 5,
    chunk: int = 1 << 20,
    error_rates: tuple[float, ...] = (0.0, 1e-5, 1e-4, 1e-3),
    workers: int = 2,
) -> dict[str, Any]:
    """Decode rate of two channels' CADU streams.

    Parameters
    ----------
    megabytes
        Packet data per channel, MB (32 MB: about half a second of downlink).
    repeats
        Timed runs per case (the median is reported).
    chunk
        Octets per ``feed`` call.
    error_rates
        Bit error rates to test (0: clean).
    workers
        Channels decoded at once, each by its own decoder in its own thread (the
        kernels release the GIL): 2 uses two cores, 1 measures one core.
    """
    params = FramingParameters()
    data = [_packets(int(megabytes * 1e6), seed) for seed in (1, 2)]
    clean = [frame_channel(d, params, vcid=v) for d, v in zip(data, (1, 2), strict=True)]
    cadu_mb = sum(len(s) for s in clean) / 1e6
    _decode([s[: 2 << 20] for s in clean], chunk, workers)  # compile / warm up
    cases: dict[str, Any] = {}
    for ber in error_rates:
        streams = clean
        if ber > 0:
            streams = [
                impair_cadus(s, params.cadu_octets, Impairments(bit_error_rate=ber, seed=k))[0]
                for k, s in enumerate(clean)
            ]
        times = []
        cpus = []
        corrected = 0
        for _ in range(repeats):
            dt, cpu, out, corrected = _decode(streams, chunk, workers)
            times.append(dt)
            cpus.append(cpu)
        if ber == 0 and (out.get(1) != data[0] or out.get(2) != data[1]):
            raise RuntimeError("decoded packets differ from the input")
        median = float(np.median(times))
        per_cpu_s = cadu_mb / float(np.median(cpus))
        cases[f"ber={ber:g}"] = {
            "MB_per_s": round(cadu_mb / median, 1),
            "median_s": round(median, 4),
            "MB_per_cpu_s": round(per_cpu_s, 1),
            "projected_2_core_MB_per_s": round(2 * per_cpu_s, 1),
            "corrected_symbols": corrected,
            "real_time_factor": round(cadu_mb / median / TARGET_MB_PER_S, 2),
        }
    return {
        "cadu_megabytes": round(cadu_mb, 1),
        "target_MB_per_s": TARGET_MB_PER_S,
        "workers": workers,
        "chunk_octets": chunk,
        "repeats": repeats,
        "cases": cases,
    }


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark and print JSON."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--megabytes", type=float, default=32.0, help="packet data per channel")
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--workers", type=int, default=2, help="channels decoded at once")
    args = parser.parse_args(argv)
    result = run_downlink_benchmark(args.megabytes, args.repeats, workers=args.workers)
    print(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
