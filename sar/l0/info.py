"""Summary of a Level-0 stream from its headers (backs ``eoport l0 info``).

Only headers are decoded (S1-IF-ASD-PL-0007 sections 3.1-3.2), so summarising a file is
fast; corrupt regions are skipped and counted as in lenient :func:`decode_packets`.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from sar.l0.bursts import channel_polarisation
from sar.l0.enums import BaqMode, polarisation_name, signal_type_name
from sar.l0.fields import HeaderArray
from sar.l0.framing import scan_packets
from sar.l0.headers import decode_headers
from sar.l0.packets import Level0Packets
from sar.l0.radar import packet_time, pri_s
from sar.timeutil import gps_seconds_to_iso


@dataclass(frozen=True)
class Level0Summary:
    """What a Level-0 stream contains.

    Attributes
    ----------
    packets
        Valid packets.
    signal_types
        Packet count per signal-type name (``echo``, ``noise``, ``tx_cal`` ...).
    swaths
        Sorted swath numbers of echo packets (all packets when there are no echoes).
    polarisations
        Channel polarisations present (``VV``, ``VH`` ...: the SAS POL code with the receive
        channel of dual-polarisation packets, :func:`sar.l0.bursts.channel_polarisation`).
    baq_modes
        Sorted BAQ-mode names.
    data_take_ids
        Sorted data-take ids.
    sensing_start, sensing_stop
        First and last packet time, ISO 8601 UTC (None without packets).
    pri_s
        Distinct PRIs of the echo packets, s.
    quads_min, quads_max
        Extremes of number_of_quads.
    bytes_total, skipped_bytes, dropped_packets
        Input size and what was skipped as corrupt.
    skipped_ranges
        Half-open ``[start, stop)`` byte ranges of the input that are not part of a
        decoded packet (lenient decoding; empty for a clean stream).
    """

    packets: int
    signal_types: dict[str, int]
    swaths: list[int]
    polarisations: list[str]
    baq_modes: list[str]
    data_take_ids: list[int]
    sensing_start: str | None
    sensing_stop: str | None
    pri_s: list[float]
    quads_min: int
    quads_max: int
    bytes_total: int
    skipped_bytes: int
    dropped_packets: int
    skipped_ranges: list[list[int]] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        """JSON-serialisable dict of the fields."""
        return asdict(self)


def _baq_name(code: int) -> str:
    try:
        return BaqMode(code).name
    except ValueError:
        return f"baq_mode_{code}"


def skipped_byte_ranges(headers: HeaderArray, bytes_total: int) -> list[list[int]]:
    """Byte ranges ``[start, stop)`` of ``[0, bytes_total)`` outside the packets of
    ``headers`` (each ``packet_data_length + 7`` bytes from its ``byte_offset``)."""
    if headers.size == 0:
        return [[0, int(bytes_total)]] if bytes_total > 0 else []
    starts = headers["byte_offset"].astype(np.int64)
    order = np.argsort(starts, kind="stable")
    starts = starts[order]
    stops = starts + headers["packet_data_length"][order].astype(np.int64) + 7
    edges_lo = np.concatenate([[0], stops])
    edges_hi = np.concatenate([starts, [int(bytes_total)]])
    return [[int(a), int(b)] for a, b in zip(edges_lo, edges_hi, strict=True) if b > a]


def summarize_headers(
    headers: HeaderArray, bytes_total: int = 0, skipped_bytes: int = 0, dropped_packets: int = 0,
    skipped_ranges: list[list[int]] | None = None,
) -> Level0Summary:  # fmt: skip
    """Summarise decoded headers (see :class:`Level0Summary`)."""
    n = int(headers.size)
    sig = headers["signal_type"]
    codes, counts = np.unique(sig, return_counts=True)
    echo = sig == 0
    sel = headers[echo] if np.any(echo) else headers
    times = packet_time(headers["coarse_time"], headers["fine_time"])
    times_arr: npt.NDArray[np.float64] = np.asarray(times)
    return Level0Summary(
        packets=n,
        signal_types={signal_type_name(int(c)): int(k) for c, k in zip(codes, counts, strict=True)},
        swaths=sorted(int(s) for s in np.unique(sel["swath_number"])),
        polarisations=[polarisation_name(int(p)) for p in np.unique(channel_polarisation(headers))],
        baq_modes=[_baq_name(int(b)) for b in np.unique(headers["baq_mode"])],
        data_take_ids=[int(d) for d in np.unique(headers["data_take_id"])],
        sensing_start=gps_seconds_to_iso(float(times_arr.min())) if n else None,
        sensing_stop=gps_seconds_to_iso(float(times_arr.max())) if n else None,
        pri_s=[pri_s(int(p)) for p in np.unique(sel["pri"])],
        quads_min=int(headers["number_of_quads"].min()) if n else 0,
        quads_max=int(headers["number_of_quads"].max()) if n else 0,
        bytes_total=int(bytes_total),
        skipped_bytes=int(skipped_bytes),
        dropped_packets=int(dropped_packets),
        skipped_ranges=list(skipped_ranges or []),
    )


def summarize_level0(data: bytes | str | Path) -> Level0Summary:
    """Summarise a Level-0 stream given as bytes or a file path."""
    raw = data if isinstance(data, bytes) else Path(data).read_bytes()
    buf = np.frombuffer(raw, dtype=np.uint8)
    offsets, _, skipped, dropped, _, _ = scan_packets(buf, False)
    headers = decode_headers(buf, offsets, validate=False)
    ranges = skipped_byte_ranges(headers, buf.size) if skipped else []
    return summarize_headers(headers, buf.size, int(skipped), int(dropped), ranges)


def summarize_packets(packets: Level0Packets, bytes_total: int | None = None) -> Level0Summary:
    """Summarise already decoded packets.

    ``bytes_total`` is the input size (default: packets plus skipped bytes); the skipped
    byte ranges are listed when some bytes were skipped (lenient decoding).
    """
    lengths = packets.headers["packet_data_length"].astype(np.int64) + 7
    total = int(lengths.sum()) + packets.skipped_bytes if bytes_total is None else bytes_total
    ranges = skipped_byte_ranges(packets.headers, total) if packets.skipped_bytes else []
    return summarize_headers(
        packets.headers, total, packets.skipped_bytes, packets.dropped_packets, ranges
    )
