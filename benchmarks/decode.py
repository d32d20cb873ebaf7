"""Decode-throughput benchmark (``eoport bench decode``, ``python -m benchmarks.bench_decode``).

Three cases, as a focusing chain meets them: a 4 s stripmap data-take, one IW burst cycle
(IW1-IW3 bursts) and one IW burst (what a focusing worker decodes); each from memory, all
packets, headers and samples. By default the streams are synthetic
(:mod:`sar.l0.synthetic`: FDBAQ noise-like echoes with all five BRCs); files can be given.

The baseline is sentinel1decoder (the public Rust-backed decoder), timed in the same run
on the same bytes, interleaved with eoport, median of the repeats: its fastest complete
path, ``decode_packet_headers`` then ``decode_batched_*_packets`` for each group of
packets of one BAQ mode and NQ (what its ``Level0Decoder`` does, without pandas and file
reads). The previous eoport kernels (:mod:`sar.l0.userdata_reference`) are timed too
(A/B).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import numba
import numpy as np
import numpy.typing as npt

from sar.l0.fields import empty_headers
from sar.l0.packets import Level0Packets, decode_packets, encode_packets
from sar.l0.synthetic import (
    IW_BURST_RUNS,
    IW_CYCLE_RUNS,
    STRIPMAP_RUNS,
    SwathRun,
    synthetic_stream,
)

CASES: dict[str, tuple[SwathRun, ...]] = {
    "stripmap": STRIPMAP_RUNS,
    "iw": IW_CYCLE_RUNS,
    "burst": IW_BURST_RUNS,
}
"""Default cases: synthetic stripmap (4 s), IW burst cycle (~2.8 s), one IW burst."""

BASELINE = (
    "sentinel1decoder: decode_packet_headers + decode_batched_{fdbaq,baq,bypass}_packets "
    "per (BAQ mode, NQ) group, same bytes, same process"
)


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


def sentinel1decoder_decode(data: bytes) -> list[npt.NDArray[np.complex64]]:
    """Decode all packets with sentinel1decoder (the baseline); one array per group.

    Raises
    ------
    ImportError
        If sentinel1decoder is not installed.
    """
    from sentinel1decoder._sentinel1decoder import (
        decode_batched_baq_packets,
        decode_batched_bypass_packets,
        decode_batched_fdbaq_packets,
        decode_packet_headers,
    )

    columns, bounds = decode_packet_headers(data)
    groups: dict[tuple[int, int], list[int]] = {}
    for i, key in enumerate(zip(columns["BAQMOD"], columns["NQ"], strict=True)):
        groups.setdefault((int(key[0]), int(key[1])), []).append(i)
    out = []
    for (mode, nq), index in groups.items():
        bodies = [data[bounds[i][0] : bounds[i][0] + bounds[i][1]] for i in index]
        if mode == 0:
            out.append(decode_batched_bypass_packets(bodies, nq))
        elif mode in (3, 4, 5):
            out.append(decode_batched_baq_packets(bodies, nq, mode))
        else:
            out.append(decode_batched_fdbaq_packets(bodies, nq))
    return out


def _timed(fn: Callable[[], object]) -> tuple[float, float]:
    """Wall and process CPU time (all threads) of one call, s (freeing its result excluded)."""
    t0, c0 = time.perf_counter(), time.process_time()
    result = fn()
    wall, cpu = time.perf_counter() - t0, time.process_time() - c0
    del result
    return wall, cpu


def _stream_stats(packets: Level0Packets, size: int) -> dict[str, Any]:
    quads = packets.headers["number_of_quads"].astype(np.float64)
    share: list[float] = []
    if packets.block_brc is not None:
        brc = packets.block_brc[packets.block_brc >= 0]
        share = (np.bincount(brc, minlength=5) / max(brc.size, 1)).tolist()
    return {
        "bytes": size,
        "packets": len(packets),
        "bits_per_sample": round(size * 8 / max(4 * quads.sum(), 1), 3),
        "brc_share": [round(float(x), 3) for x in share],
    }


def _agrees(ours: Level0Packets, theirs: list[npt.NDArray[np.complex64]]) -> bool:
    """Whether sentinel1decoder's samples of the largest group match ours (float32 tolerance)."""
    headers = ours.headers
    keys = list(zip(headers["baq_mode"].tolist(), headers["number_of_quads"].tolist(), strict=True))
    order = list(dict.fromkeys(keys))
    big = max(range(len(order)), key=lambda g: theirs[g].shape[0])
    rows = [i for i, key in enumerate(keys) if key == order[big]]
    mine = ours.iq[rows, : theirs[big].shape[1]]
    return bool(np.allclose(mine, theirs[big], rtol=1e-5, atol=1e-3))


def _bench_case(
    data: bytes, source: str, repeats: int, previous: bool, have_baseline: bool
) -> dict[str, Any]:
    """One case of :func:`run_decode_benchmark`."""
    ours = decode_packets(data)  # compiles on first use
    case: dict[str, Any] = {"source": source, **_stream_stats(ours, len(data))}
    runners: dict[str, Callable[[], object]] = {"eoport": lambda: decode_packets(data)}
    if have_baseline:
        case["agrees"] = _agrees(ours, sentinel1decoder_decode(data))
        runners["sentinel1decoder"] = lambda: sentinel1decoder_decode(data)
    if previous:
        old = decode_packets(data, reference=True)
        case["identical"] = bool(
            np.array_equal(old.iq.view(np.uint32), ours.iq.view(np.uint32))
            and np.array_equal(old.headers, ours.headers)
        )
        del old
        runners["previous"] = lambda: decode_packets(data, reference=True)
    del ours
    times: dict[str, list[tuple[float, float]]] = {key: [] for key in runners}
    for _ in range(repeats):
        for key, fn in runners.items():
            times[key].append(_timed(fn))
    for key, samples in times.items():
        wall = float(np.median([w for w, _ in samples]))
        case[f"{key}_s"] = round(wall, 4)
        case[f"{key}_cpu_s"] = round(float(np.median([c for _, c in samples])), 4)
        case[f"{key}_mb_s"] = round(len(data) / wall / 1e6, 1)
    if have_baseline:
        case["ratio"] = round(case["sentinel1decoder_s"] / case["eoport_s"], 2)
    if previous:
        case["speedup_vs_previous"] = round(case["previous_s"] / case["eoport_s"], 2)
    return case


def run_decode_benchmark(
    repeats: int = 5,
    *,
    cases: Mapping[str, Sequence[SwathRun] | str | Path] | None = None,
    previous: bool = True,
    seed: int = 0,
) -> dict[str, Any]:
    """Time :func:`~sar.l0.packets.decode_packets` against sentinel1decoder, per case.

    Parameters
    ----------
    repeats
        Timed runs of each decoder per case (interleaved; medians are reported).
    cases
        Name -> swath runs of a synthetic stream, or the path of a Level-0 file;
        default :data:`CASES`.
    previous
        Also time the previous eoport kernels (``decode_packets(reference=True)``).
    seed
        Seed of the synthetic streams.

    Returns
    -------
    dict
        ``cases``: per case ``bytes``, ``packets``, ``bits_per_sample``, ``brc_share``,
        ``eoport_mb_s`` / ``eoport_s`` / ``eoport_cpu_s`` (median wall and process CPU
        over all threads), the same for ``sentinel1decoder`` and ``previous``, ``ratio``
        (sentinel1decoder time / eoport time), ``speedup_vs_previous``, ``identical``
        (previous and new output bit-identical) and ``agrees`` (sentinel1decoder's
        samples equal ours); ``ratios`` (case -> ratio), ``min_ratio``, ``threads``,
        ``baseline``. MB are 1e6 bytes of packet stream.
    """
    chosen = dict(CASES if cases is None else cases)
    result: dict[str, Any] = {"threads": int(numba.get_num_threads()), "cases": {}}
    try:
        import sentinel1decoder  # noqa: F401

        have_baseline = True
    except ImportError:  # pragma: no cover - optional baseline
        have_baseline = False
    for name, spec in chosen.items():
        if isinstance(spec, str | Path):
            data, source = Path(spec).read_bytes(), str(spec)
        else:
            data, source = synthetic_stream(spec, seed=seed), "synthetic"
        result["cases"][name] = _bench_case(data, source, repeats, previous, have_baseline)
    if have_baseline:
        result["ratios"] = {name: c["ratio"] for name, c in result["cases"].items()}
        result["min_ratio"] = min(result["ratios"].values()) if result["ratios"] else None
        result["baseline"] = BASELINE
    return result


def format_decode_table(result: dict[str, Any]) -> str:
    """Human-readable lines: one per case, MB/s of each decoder and the ratio."""
    lines = [
        f"{'case':<9} {'MB':>7} {'eoport MB/s':>12} {'s1d MB/s':>9} {'ratio':>6} "
        f"{'previous MB/s':>14} {'new/prev':>9}"
    ]
    for name, case in result["cases"].items():
        lines.append(
            f"{name:<9} {case['bytes'] / 1e6:7.1f} {case['eoport_mb_s']:12.1f} "
            f"{case.get('sentinel1decoder_mb_s', float('nan')):9.1f} "
            f"{case.get('ratio', float('nan')):6.2f} "
            f"{case.get('previous_mb_s', float('nan')):14.1f} "
            f"{case.get('speedup_vs_previous', float('nan')):9.2f}"
        )
    lines.append(f"threads: {result['threads']}; baseline: {result.get('baseline', 'none')}")
    return "\n".join(lines)


def decoded_checksum(data: bytes) -> npt.NDArray[np.float64]:
    """Mean power per packet of the decoded samples (a quick sanity value)."""
    packets = decode_packets(data)
    return np.asarray(np.mean(np.abs(packets.iq) ** 2, axis=1), dtype=np.float64)
