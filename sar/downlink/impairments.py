"""Channel impairments for testing: bit errors, error bursts, dropped frames, bit slips.

Applied to a CADU stream as a receiver would see it after demodulation. Everything is
drawn from one seeded generator, and :class:`ImpairmentReport` says what was done so
tests can predict the decoder's losses.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numba as nb
import numpy as np
import numpy.typing as npt

from sar.downlink.errors import DownlinkError


@dataclass(frozen=True)
class Impairments:
    """What to do to a CADU stream.

    Parameters
    ----------
    bit_error_rate
        Probability of each bit being flipped (independent errors).
    burst_rate
        Probability per CADU of one error burst.
    burst_octets
        Octets overwritten with random values by each burst.
    drop_rate
        Probability per CADU of the whole CADU being lost.
    slip_rate
        Probability per CADU of a bit slip just before it.
    max_slip_bits
        Slips are uniform in ``[-max_slip_bits, max_slip_bits]`` without 0 (negative:
        bits lost, positive: random bits inserted).
    leading_garbage
        Random octets before the first CADU.
    seed
        Seed of the generator.
    """

    bit_error_rate: float = 0.0
    burst_rate: float = 0.0
    burst_octets: int = 40
    drop_rate: float = 0.0
    slip_rate: float = 0.0
    max_slip_bits: int = 1
    leading_garbage: int = 0
    seed: int = 0


@dataclass
class ImpairmentReport:
    """What :func:`impair_cadus` did (CADU indices refer to the clean stream).

    Attributes
    ----------
    flipped_bits
        Bits flipped by independent errors.
    errors_per_cadu
        Octets changed in each CADU (independent errors and bursts).
    bursts
        (CADU index, first octet) of each burst.
    dropped
        Indices of the CADUs removed.
    slips
        (CADU index, bits) of each slip applied before that CADU.
    """

    flipped_bits: int = 0
    errors_per_cadu: npt.NDArray[np.int64] = field(default_factory=lambda: np.zeros(0, np.int64))
    bursts: list[tuple[int, int]] = field(default_factory=list)
    dropped: list[int] = field(default_factory=list)
    slips: list[tuple[int, int]] = field(default_factory=list)


@nb.njit(cache=True)
def _bitcat(
    data: npt.NDArray[np.uint8], starts: npt.NDArray[np.int64], nbits: npt.NDArray[np.int64]
) -> npt.NDArray[np.uint8]:
    """Concatenate bit segments: segment k is ``nbits[k]`` bits from bit ``starts[k]``."""
    total = 0
    for k in range(nbits.size):
        total += nbits[k]
    out = np.zeros((total + 7) // 8, dtype=np.uint8)
    o = 0
    for k in range(nbits.size):
        s = starts[k]
        for b in range(nbits[k]):
            bit = (data[(s + b) >> 3] >> (7 - ((s + b) & 7))) & 1
            if bit:
                out[o >> 3] |= np.uint8(1 << (7 - (o & 7)))
            o += 1
    return out


def impair_cadus(
    stream: bytes, cadu_octets: int, impairments: Impairments
) -> tuple[bytes, ImpairmentReport]:
    """Apply impairments to a CADU stream.

    Parameters
    ----------
    stream
        Whole CADUs (length a multiple of ``cadu_octets``).
    cadu_octets
        CADU length, octets.
    impairments
        What to apply.

    Returns
    -------
    bytes
        The impaired stream.
    ImpairmentReport
        What was applied.
    """
    if cadu_octets <= 0 or len(stream) % cadu_octets:
        raise DownlinkError(
            f"stream of {len(stream)} octets is not whole {cadu_octets}-octet CADUs"
        )
    imp = impairments
    rng = np.random.default_rng(imp.seed)
    frames = np.frombuffer(stream, dtype=np.uint8).reshape(-1, cadu_octets).copy()
    n = frames.shape[0]
    report = ImpairmentReport(errors_per_cadu=np.zeros(n, dtype=np.int64))
    flat = frames.reshape(-1)
    if imp.bit_error_rate > 0:
        k = int(rng.binomial(flat.size * 8, imp.bit_error_rate))
        bits = np.unique(rng.integers(0, flat.size * 8, k))
        np.bitwise_xor.at(flat, bits >> 3, (1 << (7 - (bits & 7))).astype(np.uint8))
        report.flipped_bits = int(bits.size)
        np.add.at(report.errors_per_cadu, np.unique(bits >> 3) // cadu_octets, 1)
    if imp.burst_rate > 0:
        hit = np.flatnonzero(rng.random(n) < imp.burst_rate)
        for i in hit:
            first = int(rng.integers(0, cadu_octets - imp.burst_octets + 1))
            seg = frames[i, first : first + imp.burst_octets]
            new = rng.integers(0, 256, seg.size, dtype=np.uint8)
            report.errors_per_cadu[i] += int(np.count_nonzero(new != seg))
            seg[:] = new
            report.bursts.append((int(i), first))
    keep = np.ones(n, dtype=bool)
    if imp.drop_rate > 0:
        keep = rng.random(n) >= imp.drop_rate
        report.dropped = [int(i) for i in np.flatnonzero(~keep)]
    kept = np.flatnonzero(keep)
    body = frames[keep].reshape(-1)
    garbage = rng.integers(0, 256, imp.leading_garbage, dtype=np.uint8)
    if imp.slip_rate > 0 and imp.max_slip_bits > 0 and kept.size:
        slip_at = np.flatnonzero(rng.random(kept.size) < imp.slip_rate)
        slip_at = slip_at[slip_at > 0]
        sizes = rng.integers(1, imp.max_slip_bits + 1, slip_at.size)
        signs = np.where(rng.random(slip_at.size) < 0.5, -1, 1)
        noise = rng.integers(0, 256, 64, dtype=np.uint8)
        data = np.concatenate([body, noise])
        starts: list[int] = []
        lengths: list[int] = []
        cur = 0
        for j, s, sg in zip(slip_at, sizes, signs, strict=True):
            b = int(j) * cadu_octets * 8
            starts.append(cur)
            lengths.append(b - cur)
            if sg > 0:
                starts.append(body.size * 8)  # s random bits from the noise tail
                lengths.append(int(s))
                cur = b
            else:
                cur = b + int(s)
            report.slips.append((int(kept[j]), int(sg * s)))
        starts.append(cur)
        lengths.append(body.size * 8 - cur)
        body = _bitcat(data, np.array(starts, dtype=np.int64), np.array(lengths, dtype=np.int64))
    return garbage.tobytes() + body.tobytes(), report
