"""Decode-throughput benchmark on a simulated IW-like FDBAQ data-take (``eoport bench decode``).

Packets follow S1-IF-ASD-PL-0007 (FDBAQ mode 12, ~12,000 quads, Gaussian noise-like echo
with a slow power variation across range and azimuth). The reference baseline is
sentinel1decoder's batched FDBAQ decoder timed on the same user data bytes.
"""

from __future__ import annotations

import time
from typing import Any

import numba
import numpy as np
import numpy.typing as npt

from sar.l0.fields import empty_headers
from sar.l0.packets import decode_packets, encode_packets


def simulate_iw_packets(n_packets: int = 300, n_quads: int = 12_000, seed: int = 0) -> bytes:
    """Encode ``n_packets`` FDBAQ echo packets of ``n_quads`` quads each (IW1-like headers)."""
    rng = np.random.default_rng(seed)
    headers = empty_headers(n_packets)
    headers["baq_mode"] = 12
    headers["signal_type"] = 0
    headers["ecc_number"] = 8
    headers["swath_number"] = 10
    headers["polarisation"] = 6
    headers["range_decimation"] = 8
    headers["pri"] = 21_859
    headers["data_take_id"] = 0x12345
    headers["coarse_time"] = 1_400_000_000
    headers["fine_time"] = (np.arange(n_packets) * 38) % 65536
    headers["space_packet_count"] = np.arange(n_packets)
    headers["pri_count"] = np.arange(n_packets)
    n = 2 * n_quads
    envelope = 60.0 * (1.0 + 0.5 * np.sin(np.linspace(0, 3 * np.pi, n)))
    iq = np.empty((n_packets, n), dtype=np.complex64)
    for i in range(n_packets):
        scale = envelope * (1.0 + 0.3 * np.sin(i / 40.0))
        iq[i] = (rng.normal(0, 1, n) + 1j * rng.normal(0, 1, n)) * scale
    return encode_packets(headers, iq)


def _median_time(fn: Any, repeats: int) -> tuple[float, float]:
    """Median wall time and median process CPU time (all threads) of ``fn()``, s."""
    walls, cpus = [], []
    for _ in range(repeats):
        t0, c0 = time.perf_counter(), time.process_time()
        fn()
        walls.append(time.perf_counter() - t0)
        cpus.append(time.process_time() - c0)
    return float(np.median(walls)), float(np.median(cpus))


def run_decode_benchmark(
    repeats: int = 5, n_packets: int = 300, n_quads: int = 12_000
) -> dict[str, Any]:
    """Time :func:`~sar.l0.packets.decode_packets` on simulated FDBAQ packets.

    Returns
    -------
    dict
        ``bytes, packets, seconds`` (median wall), ``mb_per_s`` (1e6 bytes/s),
        ``packets_per_s``, ``cpu_seconds`` / ``mb_per_cpu_s`` (process CPU time over all
        threads: a load-independent figure on a shared machine), ``threads`` and, when
        sentinel1decoder is installed, ``reference`` with the same keys for its
        batched FDBAQ decoder on the same user data.
    """
    data = simulate_iw_packets(n_packets, n_quads)
    decode_packets(data)  # compile / warm up
    seconds, cpu = _median_time(lambda: decode_packets(data), repeats)
    result: dict[str, Any] = {
        "bytes": len(data),
        "packets": n_packets,
        "seconds": seconds,
        "mb_per_s": len(data) / seconds / 1e6,
        "packets_per_s": n_packets / seconds,
        "cpu_seconds": cpu,
        "mb_per_cpu_s": len(data) / cpu / 1e6,
        "threads": int(numba.get_num_threads()),
    }
    try:
        from sentinel1decoder._sentinel1decoder import decode_batched_fdbaq_packets
    except ImportError:  # pragma: no cover - optional reference
        return result
    packets = decode_packets(data)
    starts = packets.headers["byte_offset"] + 68
    ends = packets.headers["byte_offset"] + packets.headers["packet_data_length"].astype(int) + 7
    bodies = [data[s:e] for s, e in zip(starts, ends, strict=True)]
    ref, ref_cpu = _median_time(
        lambda: decode_batched_fdbaq_packets(bodies, n_quads), max(1, repeats)
    )
    result["reference"] = {
        "name": "sentinel1decoder decode_batched_fdbaq_packets (user data only)",
        "seconds": ref,
        "mb_per_s": len(data) / ref / 1e6,
        "packets_per_s": n_packets / ref,
        "cpu_seconds": ref_cpu,
        "mb_per_cpu_s": len(data) / ref_cpu / 1e6,
    }
    return result


def decoded_checksum(data: bytes) -> npt.NDArray[np.float64]:
    """Mean power per packet of the decoded samples (a quick sanity value)."""
    packets = decode_packets(data)
    return np.asarray(np.mean(np.abs(packets.iq) ** 2, axis=1), dtype=np.float64)
