"""Synthetic Level-0 packet streams of realistic size, quickly (benchmarks, large tests).

Echo packets hold Gaussian noise-like samples (what radar echoes of distributed scenes
look like to the quantiser) encoded in FDBAQ (S1-IF-ASD-PL-0007 section 4.4) with
explicit per-block BRC and THIDX: the BRC of each 128-quad block is drawn from
``brc_weights`` and the THIDX is the one whose sigma factor (table 5.2-3) is nearest
the block's standard deviation, which makes the normal reconstruction levels
(table 5.2-2, designed for a unit-variance Gaussian) fit the block as an on-board
quantiser would. The default BRC mix is an assumption (no public statistics): all five
codes occur, BRC 1-2 most often.

Encoding is the slow part (:func:`sar.l0.encoders.encode_user_data`, ~5 ms per
12,000-quad packet), so a stream reuses ``distinct`` different user data fields per
swath, cycled over its packets; headers (counters, times) are all different.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from sar.constants import SYNC_MARKER
from sar.l0.encoders import encode_user_data
from sar.l0.fields import empty_headers
from sar.l0.headers import HEADER_BYTES, encode_headers
from sar.l0.luts import SIGMA_FACTORS
from sar.l0.userdata import BLOCK_QUADS

DEFAULT_BRC_WEIGHTS = (0.10, 0.30, 0.30, 0.20, 0.10)
"""Share of blocks with BRC 0..4 in synthetic FDBAQ echoes (assumed)."""


@dataclass(frozen=True)
class SwathRun:
    """A run of consecutive echo packets of one swath.

    Attributes
    ----------
    n_packets
        Echo packets (lines).
    number_of_quads
        NQ of every packet (``2 * NQ`` complex samples).
    swath_number
        Header SWATH number (IW1-IW3: 10-12).
    pri
        PRI code, ``1/f_ref`` counts.
    """

    n_packets: int
    number_of_quads: int
    swath_number: int = 10
    pri: int = 21_859


STRIPMAP_RUNS = (SwathRun(6_920, 11_217, 3, 21_859),)
"""A 4 s stripmap (S3-like) data-take: 6,920 lines of 11,217 quads."""

IW_CYCLE_RUNS = (
    SwathRun(1_428, 11_619, 10, 21_859),
    SwathRun(1_565, 12_390, 11, 25_857),
    SwathRun(1_429, 12_579, 12, 22_265),
)
"""One IW burst cycle (~2.76 s): IW1, IW2, IW3 bursts (lines, quads: simulated IW values)."""

IW_BURST_RUNS = (SwathRun(1_500, 12_000, 10, 21_859),)
"""One IW burst, what a focusing worker decodes: 1,500 lines of 12,000 quads."""


def synthetic_echo_fields(
    n_fields: int,
    number_of_quads: int,
    *,
    baq_mode: int = 12,
    brc_weights: Sequence[float] = DEFAULT_BRC_WEIGHTS,
    seed: int = 0,
) -> list[bytes]:
    """Encode ``n_fields`` different user data fields of noise-like echoes.

    Parameters
    ----------
    n_fields
        How many fields.
    number_of_quads
        NQ of each.
    baq_mode
        12-14 (FDBAQ), 3-5 (BAQ) or 0 (bypass).
    brc_weights
        Probability of BRC 0..4 per block (FDBAQ only).
    seed
        Random seed.

    Returns
    -------
    list of bytes
        The user data fields (multiples of 4 octets).
    """
    rng = np.random.default_rng(seed)
    nblocks = (number_of_quads + BLOCK_QUADS - 1) // BLOCK_QUADS
    weights = np.asarray(brc_weights, dtype=np.float64)
    fields = []
    for _ in range(n_fields):
        sigma = np.exp(rng.uniform(np.log(4.0), np.log(120.0), nblocks))
        brc = rng.choice(5, size=nblocks, p=weights / weights.sum())
        thidx = np.clip(np.searchsorted(SIGMA_FACTORS, sigma), 0, 255)
        scale = np.repeat(sigma, 2 * BLOCK_QUADS)[: 2 * number_of_quads]
        iq = _complex_noise(rng, 2 * number_of_quads) * scale
        data, _ = encode_user_data(iq.astype(np.complex64), baq_mode, brc=brc, thidx=thidx)
        fields.append(data)
    return fields


def _complex_noise(rng: np.random.Generator, n: int) -> npt.NDArray[np.complex128]:
    noise: npt.NDArray[np.complex128] = rng.normal(0, 1, n) + 1j * rng.normal(0, 1, n)
    return noise


def synthetic_stream(
    runs: Sequence[SwathRun],
    *,
    distinct: int = 16,
    baq_mode: int = 12,
    brc_weights: Sequence[float] = DEFAULT_BRC_WEIGHTS,
    noise_packets: int = 4,
    seed: int = 0,
) -> bytes:
    """A packet stream of echo runs (headers as a Sentinel-1 data-take, noise first).

    Parameters
    ----------
    runs
        The swath runs, in stream order.
    distinct
        Different user data fields per run (cycled over its packets).
    baq_mode
        BAQ mode of the echo packets.
    brc_weights
        See :func:`synthetic_echo_fields`.
    noise_packets
        Bypass noise packets (signal type 1) before each run, of the run's NQ.
    seed
        Random seed.

    Returns
    -------
    bytes
        The concatenated packets.
    """
    bodies: list[bytes] = []
    quads: list[int] = []
    swaths: list[int] = []
    pris: list[int] = []
    signal: list[int] = []
    modes: list[int] = []
    rng = np.random.default_rng(seed)
    for r, run in enumerate(runs):
        noise = synthetic_echo_fields(noise_packets, run.number_of_quads, baq_mode=0, seed=seed)
        echo = synthetic_echo_fields(
            min(distinct, run.n_packets), run.number_of_quads, baq_mode=baq_mode,
            brc_weights=brc_weights, seed=seed + 1000 * (r + 1),
        )  # fmt: skip
        pick = rng.integers(0, len(echo), run.n_packets)
        bodies += noise + [echo[i] for i in pick]
        n = noise_packets + run.n_packets
        quads += [run.number_of_quads] * n
        swaths += [run.swath_number] * n
        pris += [run.pri] * n
        signal += [1] * noise_packets + [0] * run.n_packets
        modes += [0] * noise_packets + [baq_mode] * run.n_packets
    return _assemble(bodies, quads, swaths, pris, signal, modes)


def _assemble(
    bodies: list[bytes], quads: list[int], swaths: list[int], pris: list[int],
    signal: list[int], modes: list[int],
) -> bytes:  # fmt: skip
    """Headers (section 3) in front of each user data field, all fields filled."""
    n = len(bodies)
    sizes = np.array([len(b) for b in bodies], dtype=np.int64)
    headers = empty_headers(n)
    headers["baq_mode"] = modes
    headers["baq_block_length"] = np.where(np.asarray(modes) == 0, 0, 31)
    headers["signal_type"] = signal
    headers["swath_number"] = swaths
    headers["pri"] = pris
    headers["number_of_quads"] = quads
    headers["n_samples"] = 2 * np.asarray(quads)
    headers["packet_data_length"] = HEADER_BYTES + sizes - 7
    headers["byte_offset"] = np.r_[0, np.cumsum(HEADER_BYTES + sizes)[:-1]]
    headers["ecc_number"] = 8
    headers["polarisation"] = 6
    headers["range_decimation"] = 8
    headers["data_take_id"] = 0x12345
    headers["coarse_time"] = 1_400_000_000 + np.arange(n) // 1700
    headers["fine_time"] = (np.arange(n) * 38) % 65536
    headers["space_packet_count"] = np.arange(n)
    headers["pri_count"] = np.arange(n)
    headers["sync_marker"] = SYNC_MARKER
    headers["secondary_header_flag"] = 1
    rows = encode_headers(headers)
    out = bytearray(int((HEADER_BYTES + sizes).sum()))
    for i, body in enumerate(bodies):
        at = int(headers["byte_offset"][i])
        out[at : at + HEADER_BYTES] = rows[i].tobytes()
        out[at + HEADER_BYTES : at + HEADER_BYTES + len(body)] = body
    return bytes(out)
