"""Shared builders: synthetic space-packet streams for the downlink tests."""

from __future__ import annotations

import numpy as np


def make_packet(apid: int, count: int, n_octets: int, rng: np.random.Generator) -> bytes:
    """A CCSDS space packet (version 0, telemetry, unsegmented) of ``n_octets`` octets."""
    head = (
        (0x0800 | apid).to_bytes(2, "big")
        + (0xC000 | (count & 0x3FFF)).to_bytes(2, "big")
        + (n_octets - 7).to_bytes(2, "big")
    )
    return head + rng.integers(0, 256, n_octets - 6, dtype=np.uint8).tobytes()


def make_packets(
    n: int, seed: int = 0, low: int = 7, high: int = 3000, apid: int = 0x41
) -> list[bytes]:
    """``n`` packets of random lengths in ``[low, high)`` octets."""
    rng = np.random.default_rng(seed)
    return [make_packet(apid, i, int(rng.integers(low, high)), rng) for i in range(n)]


def split_stream(stream: bytes) -> list[bytes]:
    """The packets of a concatenated stream."""
    out = []
    p = 0
    while p < len(stream):
        n = int.from_bytes(stream[p + 4 : p + 6], "big") + 7
        out.append(stream[p : p + n])
        p += n
    assert p == len(stream), "stream does not end on a packet boundary"
    return out
