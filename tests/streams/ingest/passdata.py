"""A simulated IW pass downlinked as CADUs with known impairments, shared by the ingest
tests (cached per process): correctable bit errors everywhere, two uncorrectable frames
and one dropped frame inside the second burst (IW2 by time), nothing else lost."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from functools import lru_cache

import numpy as np

from eoport.pipeline import DEMO_RELATIVE_ORBIT, simulate_pass
from sar.downlink import FramingParameters, Impairments, downlink_packets, impair_cadus
from sar.downlink.framer import packet_offsets
from sar.l0.enums import SignalType
from sar.l0.headers import decode_headers
from sar.sim.datatake import SimulatedDatatake
from streams.assemble.channel import ChannelAssembler, Context
from streams.assemble.reassembly import ChannelReassembler
from streams.messages.chunks import split_into_chunks

T0 = datetime(2026, 11, 25, 17, 40, tzinfo=UTC)
RELATIVE_ORBIT = DEMO_RELATIVE_ORBIT
PARAMS = FramingParameters()
BIT_ERROR_RATE = 2e-5


@dataclass(frozen=True)
class ImpairedPass:
    """The pass and its link stream.

    Attributes
    ----------
    datatake
        The simulated IW pass (``datatake.data``: the clean Level-0 packet stream).
    clean, impaired
        The CADU stream of the one link carrying it (VC 1), before and after impairment.
    uncorrectable, dropped
        CADU indices (in ``clean``) made uncorrectable, and removed.
    hit_swath
        Swath number of the burst they hit.
    bursts
        Clean assembly: burst key -> (swath number, packet count, raw bytes).
    """

    datatake: SimulatedDatatake
    clean: bytes
    impaired: bytes
    uncorrectable: tuple[int, ...]
    dropped: tuple[int, ...]
    hit_swath: int
    bursts: dict[str, tuple[int, int, bytes]]

    @property
    def hit_keys(self) -> set[str]:
        """Burst keys hit by the losses."""
        return {k for k, (sw, _, _) in self.bursts.items() if sw == self.hit_swath}


def clean_assembly(data: bytes, key: str = "LOCAL/pass-1/1") -> dict[str, tuple[int, int, bytes]]:
    """Burst key -> (swath number, packets, raw bytes) of a clean packet stream."""
    reasm = ChannelReassembler(key)
    asm = ChannelAssembler(key, relative_orbit=RELATIVE_ORBIT)
    out = []
    for c in split_into_chunks(data, "LOCAL", "pass-1", 1, T0, 256_000):
        for o in reasm.push(c, 0.0):
            out += asm.feed(o, Context(0.0))[0]
    out += asm.finish(Context(0.0))[0]
    return {o.key: (o.burst.swath_number, len(o.burst.packets), o.data) for o in out}


@lru_cache(maxsize=1)
def impaired_pass() -> ImpairedPass:
    """The shared pass (about 14 MB of packets, 16 MB of CADUs)."""
    dt = simulate_pass("IW", 3.0)
    (clean,) = downlink_packets(dt.data, PARAMS, policy="single")
    offsets = packet_offsets(dt.data)
    h = decode_headers(dt.data, offsets, validate=False)
    echo = np.flatnonzero(h["signal_type"] == int(SignalType.ECHO))
    swaths = h["swath_number"][echo]
    _, first = np.unique(swaths, return_index=True)
    order = swaths[np.sort(first)]
    mid = int(order[len(order) // 2])
    idx = echo[swaths == mid]
    a, b = int(offsets[idx[len(idx) // 4]]), int(offsets[idx[3 * len(idx) // 4]])
    zone = PARAMS.packet_zone_octets
    bad = (a // zone, (a + b) // 2 // zone)
    drop = (b // zone,)
    noisy, _ = impair_cadus(clean, PARAMS.cadu_octets, Impairments(BIT_ERROR_RATE, seed=7))
    n = PARAMS.cadu_octets
    frames = np.frombuffer(noisy, dtype=np.uint8).reshape(-1, n).copy()
    rng = np.random.default_rng(11)
    for i in bad:  # ~50 random symbols in each of the 4 interleaved codewords: > 16
        frames[i, 4 + 100 : 4 + 300] = rng.integers(0, 256, 200, dtype=np.uint8)
    keep = np.ones(frames.shape[0], dtype=bool)
    keep[list(drop)] = False
    impaired = frames[keep].tobytes()
    return ImpairedPass(dt, clean, impaired, bad, drop, mid, clean_assembly(dt.data))


def whole_packets(n_bytes: int) -> bytes:
    """The longest prefix of the pass's packet stream of whole packets, at most ``n_bytes``."""
    data = impaired_pass().datatake.data
    offsets = packet_offsets(data)
    return data[: int(offsets[int(np.searchsorted(offsets, n_bytes, side="right")) - 1])]
