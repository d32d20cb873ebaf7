"""Summary of a Level-0 stream from its headers (backs ``eoport l0 info``).

Only headers are decoded (S1-IF-ASD-PL-0007 sections 3.1-3.2), so summarising a file is
fast; corrupt regions are skipped and counted as in lenient :func:`decode_packets`.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

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
        Sorted polarisation names.
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

    def to_dict(self) -> dict[str, Any]:
        """JSON-serialisable dict of the fields."""
        return asdict(self)


def _baq_name(code: int) -> str:
    try:
        return BaqMode(code).name
    except ValueError:
        return f"baq_mode_{code}"


def summarize_headers(
    headers: HeaderArray, bytes_total: int = 0, skipped_bytes: int = 0, dropped_packets: int = 0
) -> Level0Summary:
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
        polarisations=[polarisation_name(int(p)) for p in np.unique(headers["polarisation"])],
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
    )


def summarize_level0(data: bytes | str | Path) -> Level0Summary:
    """Summarise a Level-0 stream given as bytes or a file path."""
    raw = data if isinstance(data, bytes) else Path(data).read_bytes()
    buf = np.frombuffer(raw, dtype=np.uint8)
    offsets, _, skipped, dropped, _, _ = scan_packets(buf, False)
    headers = decode_headers(buf, offsets, validate=False)
    return summarize_headers(headers, buf.size, int(skipped), int(dropped))


def summarize_packets(packets: Level0Packets) -> Level0Summary:
    """Summarise already decoded packets (``bytes_total`` counts packets and skipped bytes)."""
    lengths = packets.headers["packet_data_length"].astype(np.int64) + 7
    total = int(lengths.sum()) + packets.skipped_bytes
    return summarize_headers(packets.headers, total, packets.skipped_bytes, packets.dropped_packets)
