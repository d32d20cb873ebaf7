"""Numba encoders of the packet user data field (inverse of :mod:`sar.l0.userdata`).

Formats of S1-IF-ASD-PL-0007 sections 3.3 and 4: bypass (10-bit sign-magnitude), BAQ
3/4/5 bit and FDBAQ (Huffman codes of section 3.3.4). Each sample is quantised to the
M-code whose reconstruction (section 5.2) is nearest, so ``decode(encode(x))`` is the
reconstruction of ``x``.

The FDBAQ bit-rate code (BRC) and the THIDX of every 128-quad block are taken from the
caller where given (written as given: with the decoder's per-block values, decoded
packets re-encode to their original bytes whatever encoder made them). Otherwise:

* THIDX (BAQ, or FDBAQ with a given BRC): the one that minimises the squared
  quantisation error (a coarse search of all 256 indices on every 8th quad, then a
  full-block search within +-6 indices of every coarse optimum), lowered to the lowest
  THIDX that gives the same reconstruction;
* FDBAQ BRC and THIDX (:func:`choose_brc_thidx`): a block that is already a
  reconstruction keeps its first exact (BRC, THIDX); otherwise the BRC follows the block
  RMS (stronger blocks get more bits) and the pair is replaced by the first exact pair of
  the resulting reconstruction.

Both default choices depend on the reconstruction only, so the default encoder is
idempotent: ``encode(decode(encode(x))) == encode(x)``.
"""

from __future__ import annotations

import math

import numba as nb
import numpy as np
import numpy.typing as npt

from sar.errors import CorruptPacketError, UnsupportedPacketError
from sar.l0.enums import BAQ_MODES, FDBAQ_MODES
from sar.l0.luts import (
    BAQ_RECON,
    FDBAQ_RECON,
    HUFFMAN_BITS,
    HUFFMAN_NBITS,
    N_MCODES,
)
from sar.l0.userdata import BLOCK_QUADS

THIDX_WINDOW = 6
"""Half-width of the fine THIDX search around the coarse optimum."""

BRC_REFERENCE_RMS = 8.0
"""Default BRC rule: ``clip(floor(log2(rms / 8)), 0, 4)`` of the block RMS (ADC units)."""

COARSE_STEP = 8
"""Sample stride of the coarse THIDX search over all 256 indices."""


@nb.njit(cache=True, inline="always")
def _put(out: npt.NDArray[np.uint8], pos: int, value: int, nbits: int) -> int:
    for i in range(nbits):
        if (value >> (nbits - 1 - i)) & 1:
            p = pos + i
            out[p >> 3] |= np.uint8(0x80 >> (p & 7))
    return pos + nbits


@nb.njit(cache=True, inline="always")
def _nearest(mag: float, levels: npt.NDArray[np.float32], n: int) -> int:
    best = 0
    err = abs(mag - levels[0])
    for m in range(1, n):
        e = abs(mag - levels[m])
        if e < err:
            best = m
            err = e
    return best


@nb.njit(cache=True)
def _block_error(
    chans: npt.NDArray[np.float32], k0: int, k1: int, step: int,
    levels: npt.NDArray[np.float32], n: int, limit: float,
) -> float:  # fmt: skip
    err = 0.0
    for c in range(4):
        for k in range(k0, k1, step):
            mag = abs(float(chans[c, k]))
            d = mag - levels[_nearest(mag, levels, n)]
            err += d * d
        if err >= limit:
            break
    return err


@nb.njit(cache=True)
def _best_thidx(
    chans: npt.NDArray[np.float32], k0: int, k1: int, table: npt.NDArray[np.float32], n: int
) -> int:
    coarse = np.empty(256, dtype=np.float64)
    best_err = np.inf
    for t in range(256):
        coarse[t] = _block_error(chans, k0, k1, COARSE_STEP, table[t], n, best_err)
        best_err = min(best_err, coarse[t])
    # fine search around every coarse optimum (ties happen among simple-reconstruction THIDX)
    candidate = np.zeros(256, dtype=np.bool_)
    for t in range(256):
        if coarse[t] <= best_err:
            candidate[max(0, t - THIDX_WINDOW) : min(256, t + THIDX_WINDOW + 1)] = True
    best = 0
    best_err = np.inf
    for t in range(256):
        if candidate[t]:
            err = _block_error(chans, k0, k1, 1, table[t], n, best_err)
            if err < best_err:
                best_err = err
                best = t
    return best


@nb.njit(cache=True)
def _canonicalize(
    chans: npt.NDArray[np.float32], tables: npt.NDArray[np.float32], n: npt.NDArray[np.int64],
    thidx: npt.NDArray[np.int64], lower: npt.NDArray[np.bool_],
) -> None:  # fmt: skip
    """Replace each block by its reconstruction and, where ``lower[b]``, its THIDX by the
    lowest that reproduces it.

    ``tables[b]`` is the (256, 16) reconstruction table of block ``b``. Decoded samples
    then re-encode to the same THIDX (several THIDX can reproduce a block exactly, e.g.
    simple-reconstruction THIDX whose top level is unused). A THIDX given by the caller
    is kept (``lower[b]`` false).
    """
    nq = chans.shape[1]
    for b in range(thidx.shape[0]):
        k0 = b * BLOCK_QUADS
        k1 = min(nq, k0 + BLOCK_QUADS)
        table = tables[b]
        levels = table[thidx[b]]
        for c in range(4):
            for k in range(k0, k1):
                v = float(chans[c, k])
                level = levels[_nearest(abs(v), levels, n[b])]
                chans[c, k] = -level if math.copysign(1.0, v) < 0 else level
        if not lower[b]:
            continue
        for t in range(thidx[b]):
            exact = True
            for c in range(4):
                for k in range(k0, k1):
                    mag = abs(chans[c, k])
                    if table[t, _nearest(mag, table[t], n[b])] != mag:
                        exact = False
                        break
                if not exact:
                    break
            if exact:
                thidx[b] = t
                break


@nb.njit(cache=True)
def _brc_for_rms(rms: float) -> int:
    if rms < 2.0 * BRC_REFERENCE_RMS:
        return 0
    return min(4, int(math.floor(math.log2(rms / BRC_REFERENCE_RMS))))


@nb.njit(cache=True)
def _rms_brc(chans: npt.NDArray[np.float32], k0: int, k1: int) -> int:
    power = 0.0
    for c in range(4):
        for k in range(k0, k1):
            power += float(chans[c, k]) ** 2
    return _brc_for_rms(math.sqrt(power / (4 * (k1 - k0))))


@nb.njit(cache=True)
def _is_exact(
    chans: npt.NDArray[np.float32], k0: int, k1: int, levels: npt.NDArray[np.float32], n: int
) -> bool:
    for c in range(4):
        for k in range(k0, k1):
            mag = abs(float(chans[c, k]))
            if levels[_nearest(mag, levels, n)] != mag:
                return False
    return True


@nb.njit(cache=True)
def _first_exact(chans: npt.NDArray[np.float32], k0: int, k1: int) -> tuple[int, int]:
    """First (BRC, THIDX) whose reconstruction levels hold every sample of the block.

    BRCs are tried starting with the block-RMS rule's BRC, then 0..4; THIDX ascending.
    Returns (-1, -1) when the block is no FDBAQ reconstruction.
    """
    first = _rms_brc(chans, k0, k1)
    for i in range(5):
        r = first if i == 0 else (i - 1 if i - 1 < first else i)
        n = N_MCODES[r]
        for t in range(256):
            if _is_exact(chans, k0, k1, FDBAQ_RECON[r, t], n):
                return r, t
    return -1, -1


@nb.njit(cache=True)
def _auto_block(chans: npt.NDArray[np.float32], k0: int, k1: int) -> tuple[int, int]:
    """BRC and THIDX of one block, a pure function of the block's reconstruction.

    A block that is already a reconstruction keeps its first exact (BRC, THIDX)
    (:func:`_first_exact`). Otherwise the BRC follows the block RMS, iterated on the
    reconstruction until it reproduces itself; the block is then replaced by its
    reconstruction and coded with that reconstruction's first exact pair, so that
    re-encoding the decoded block chooses the same pair.
    """
    brc, thidx = _first_exact(chans, k0, k1)
    if brc >= 0:
        return brc, thidx
    count = 4 * (k1 - k0)
    brc = _rms_brc(chans, k0, k1)
    thidx = 0
    for _ in range(6):
        n = N_MCODES[brc]
        thidx = _best_thidx(chans, k0, k1, FDBAQ_RECON[brc], n)
        levels = FDBAQ_RECON[brc, thidx]
        power = 0.0
        for c in range(4):
            for k in range(k0, k1):
                level = levels[_nearest(abs(float(chans[c, k])), levels, n)]
                power += float(level) ** 2
        again = _brc_for_rms(math.sqrt(power / count))
        if again == brc:
            break
        brc = again
    levels = FDBAQ_RECON[brc, thidx]
    n = N_MCODES[brc]
    for c in range(4):
        for k in range(k0, k1):
            v = float(chans[c, k])
            level = levels[_nearest(abs(v), levels, n)]
            chans[c, k] = -level if math.copysign(1.0, v) < 0 else level
    return _first_exact(chans, k0, k1)


@nb.njit(cache=True, inline="always")
def _code(value: float, levels: npt.NDArray[np.float32], n: int) -> tuple[int, int]:
    negative = 1 if math.copysign(1.0, value) < 0 else 0
    return _nearest(abs(value), levels, n), negative


@nb.njit(cache=True)
def _encode_fdbaq(
    chans: npt.NDArray[np.float32], brc: npt.NDArray[np.int64], thidx: npt.NDArray[np.int64],
    out: npt.NDArray[np.uint8],
) -> int:  # fmt: skip
    nq = chans.shape[1]
    nblocks = brc.shape[0]
    pos = 0
    for ch in range(4):
        start = pos
        for b in range(nblocks):
            r = brc[b]
            if ch == 0:
                pos = _put(out, pos, r, 3)
            elif ch == 2:
                pos = _put(out, pos, thidx[b], 8)
            levels = FDBAQ_RECON[r, thidx[b]]
            n = N_MCODES[r]
            for k in range(b * BLOCK_QUADS, min(nq, (b + 1) * BLOCK_QUADS)):
                m, negative = _code(chans[ch, k], levels, n)
                pos = _put(out, pos, negative, 1)
                pos = _put(out, pos, HUFFMAN_BITS[r, m], HUFFMAN_NBITS[r, m])
        pos = start + ((pos - start + 15) // 16) * 16
    return ((pos // 8 + 3) // 4) * 4


@nb.njit(cache=True)
def _encode_baq(
    chans: npt.NDArray[np.float32], nbits: int, thidx: npt.NDArray[np.int64],
    out: npt.NDArray[np.uint8],
) -> int:  # fmt: skip
    nq = chans.shape[1]
    n = 1 << (nbits - 1)
    pos = 0
    for ch in range(4):
        start = pos
        for b in range(thidx.shape[0]):
            if ch == 2:
                pos = _put(out, pos, thidx[b], 8)
            levels = BAQ_RECON[nbits, thidx[b]]
            for k in range(b * BLOCK_QUADS, min(nq, (b + 1) * BLOCK_QUADS)):
                m, negative = _code(chans[ch, k], levels, n)
                pos = _put(out, pos, (negative << (nbits - 1)) | m, nbits)
        pos = start + ((pos - start + 15) // 16) * 16
    return ((pos // 8 + 3) // 4) * 4


@nb.njit(cache=True)
def _encode_bypass(chans: npt.NDArray[np.float32], out: npt.NDArray[np.uint8]) -> int:
    nq = chans.shape[1]
    pos = 0
    for ch in range(4):
        start = pos
        for k in range(nq):
            v = float(chans[ch, k])
            mag = min(511, int(math.floor(abs(v) + 0.5)))
            negative = 1 if math.copysign(1.0, v) < 0 else 0
            pos = _put(out, pos, (negative << 9) | mag, 10)
        pos = start + ((pos - start + 15) // 16) * 16
    return ((pos // 8 + 3) // 4) * 4


def split_channels(iq: npt.NDArray[np.complex64]) -> npt.NDArray[np.float32]:
    """Split complex samples into the IE, IO, QE, QO channels, shape (4, NQ).

    An odd number of samples is padded with one zero sample.
    """
    samples = np.asarray(iq, dtype=np.complex64).ravel()
    if samples.size % 2:
        samples = np.concatenate([samples, np.zeros(1, np.complex64)])
    return np.stack(
        [samples.real[0::2], samples.real[1::2], samples.imag[0::2], samples.imag[1::2]]
    ).astype(np.float32)


def choose_brc_thidx(
    chans: npt.NDArray[np.float32],
) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64]]:
    """Default FDBAQ BRC and THIDX per block.

    A block whose samples are exactly the reconstruction (section 5.2) of some
    (BRC, THIDX) keeps the first such pair, trying the RMS rule's BRC first, then BRC
    0..4, THIDX ascending. Otherwise the BRC follows the block RMS,
    ``clip(floor(log2(rms / 8)), 0, 4)`` (weak blocks get fewer bits), evaluated on the
    block's reconstruction and iterated until the BRC reproduces itself, and the pair is
    then replaced by the first exact pair of the resulting reconstruction. The choice is
    therefore a function of the reconstruction alone: re-encoding decoded samples picks
    the same pair, so ``encode(decode(encode(x))) == encode(x)``.
    """
    chans = np.array(chans, dtype=np.float32, copy=True)
    nq = chans.shape[1]
    nblocks = (nq + BLOCK_QUADS - 1) // BLOCK_QUADS
    brc = np.zeros(nblocks, dtype=np.int64)
    thidx = np.zeros(nblocks, dtype=np.int64)
    for b in range(nblocks):
        brc[b], thidx[b] = _auto_block(chans, b * BLOCK_QUADS, min(nq, (b + 1) * BLOCK_QUADS))
    return brc, thidx


def choose_thidx(
    chans: npt.NDArray[np.float32], baq_mode: int, brc: npt.NDArray[np.int64] | None = None
) -> npt.NDArray[np.int64]:
    """THIDX per block minimising the quantisation error (see module docstring)."""
    nq = chans.shape[1]
    nblocks = (nq + BLOCK_QUADS - 1) // BLOCK_QUADS
    out = np.zeros(nblocks, dtype=np.int64)
    for b in range(nblocks):
        k0, k1 = b * BLOCK_QUADS, min(nq, (b + 1) * BLOCK_QUADS)
        if baq_mode in FDBAQ_MODES:
            assert brc is not None
            r = int(brc[b])
            table, n = FDBAQ_RECON[r], int(N_MCODES[r])
        else:
            table, n = BAQ_RECON[baq_mode], 1 << (baq_mode - 1)
        out[b] = _best_thidx(chans, k0, k1, table, n)
    return out


def _per_block(
    values: int | npt.NDArray[np.integer] | None, nblocks: int, name: str, top: int
) -> npt.NDArray[np.int64]:
    """One value per block (negative: choose), checked to lie in -1..top."""
    if values is None:
        return np.full(nblocks, -1, dtype=np.int64)
    arr = np.asarray(values, dtype=np.int64)
    if arr.ndim == 0:
        arr = np.full(nblocks, int(arr), dtype=np.int64)
    if arr.shape != (nblocks,):
        raise CorruptPacketError(f"need {nblocks} {name} values, got shape {arr.shape}")
    if arr.size and (arr.min() < -1 or arr.max() > top):
        raise CorruptPacketError(f"{name} values must be 0..{top} (or -1: choose)")
    return arr.copy()


def encode_user_data(
    iq: npt.NDArray[np.complex64],
    baq_mode: int,
    *,
    brc: int | npt.NDArray[np.integer] | None = None,
    thidx: int | npt.NDArray[np.integer] | None = None,
) -> tuple[bytes, int]:
    """Encode one packet's samples into a user data field.

    Parameters
    ----------
    iq
        Complex samples (sample ``2k`` even, ``2k+1`` odd), in ADC units.
    baq_mode
        BAQ-mode code (0 bypass, 3/4/5 BAQ, 12-14 FDBAQ).
    brc
        FDBAQ bit-rate code(s) 0-4, one int or one per 128-quad block; -1 (or ``None``)
        chooses (:func:`choose_brc_thidx`). Ignored for bypass and BAQ.
    thidx
        THIDX 0-255, one int or one per block (BAQ, FDBAQ); -1 (or ``None``) chooses:
        the THIDX of least quantisation error, lowered to the lowest that gives the same
        reconstruction.
        A given THIDX is written as given. Ignored for bypass.

    Returns
    -------
    data : bytes
        The user data field, a multiple of 4 octets.
    number_of_quads : int
        NQ, the value of the header field.
    """
    chans = split_channels(iq)
    nq = chans.shape[1]
    if nq >= 1 << 16:
        raise CorruptPacketError(f"{2 * nq} samples exceed the 16-bit number_of_quads field")
    nblocks = (nq + BLOCK_QUADS - 1) // BLOCK_QUADS
    out = np.zeros(4 * (10 * nq + 8 * nblocks + 16) // 8 + 8, dtype=np.uint8)
    if baq_mode == 0:
        size = _encode_bypass(chans, out)
    elif baq_mode in BAQ_MODES or baq_mode in FDBAQ_MODES:
        fdbaq = baq_mode in FDBAQ_MODES
        th = _per_block(thidx, nblocks, "THIDX", 255)
        lower = th < 0
        brcs = _per_block(brc, nblocks, "BRC", 4) if fdbaq else np.zeros(nblocks, np.int64)
        if fdbaq and np.any(brcs < 0):
            auto_brc, auto_thidx = choose_brc_thidx(chans)
            chosen = brcs < 0
            th = np.where(chosen & lower, auto_thidx, th)
            brcs = np.where(chosen, auto_brc, brcs)
        if np.any(th < 0):
            th = np.where(th < 0, choose_thidx(chans, baq_mode, brcs), th)
        if fdbaq:
            tables, counts = FDBAQ_RECON[brcs], N_MCODES[brcs]
        else:
            tables = np.broadcast_to(BAQ_RECON[baq_mode], (nblocks, 256, 16))
            counts = np.full(nblocks, 1 << (baq_mode - 1), dtype=np.int64)
        _canonicalize(chans, np.ascontiguousarray(tables), counts, th, lower)
        if fdbaq:
            size = _encode_fdbaq(chans, brcs, th, out)
        else:
            size = _encode_baq(chans, baq_mode, th, out)
    else:
        raise UnsupportedPacketError(f"cannot encode BAQ mode {baq_mode}")
    return out[:size].tobytes(), nq
