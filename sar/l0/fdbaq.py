"""Numba kernels decoding FDBAQ user data (S1-IF-ASD-PL-0007 sections 4.4 and 5.2).

The user data field holds four channels, IE, IO, QE, QO, each padded to a 16-bit word.
Each channel is a run of 128-quad blocks; block ``b`` of IE starts with its 3-bit BRC and
block ``b`` of QE with its 8-bit THIDX; every sample is a sign bit and the Huffman code
of its M-code (code tree of the block's BRC).

Decoding runs in two passes per packet:

1. *codes*: the four channels are decoded into one byte per sample (``sign << 4 |
   M-code``), several samples per table lookup (:mod:`sar.l0.huffman`), with the bit
   buffer of :mod:`sar.l0.bitio`;
2. *reconstruction*: with each block's BRC and THIDX known, every byte becomes
   ``±FDBAQ_RECON[brc, thidx, M]`` (section 5.2) and the samples are interleaved as
   ``IE + j QE, IO + j QO`` (16 quads per vector step, :mod:`sar.l0.simd`).

Table lookups form a dependency chain (the next window is known only once the length
of this one is), so :func:`decode_fdbaq_pair` decodes two packets of the same length in
lockstep, giving the processor two independent chains to overlap.
"""

from __future__ import annotations

import numba as nb
import numpy as np
import numpy.typing as npt

from sar.l0.bitio import U64, align16, refill, store_u32
from sar.l0.huffman import (
    COUNT_SHIFT,
    FDBAQ_MULTI,
    FDBAQ_SINGLE,
    LENGTH_SHIFT,
    MULTI_BITS,
    MULTI_SYMBOLS,
    SINGLE_BITS,
)
from sar.l0.luts import FDBAQ_RECON
from sar.l0.simd import lut_interleave16

BLOCK_QUADS = 128
"""Quads per FDBAQ block (256 complex samples)."""

OK = 0
TOO_SHORT = 1
BAD_BRC = 2
"""Status codes (as :data:`sar.l0.userdata.STATUS_TEXT`)."""

_MULTI_SHIFT = U64(64 - MULTI_BITS)
_SINGLE_SHIFT = U64(64 - SINGLE_BITS)
_COUNT_SHIFT = U64(COUNT_SHIFT)
_LENGTH_SHIFT = U64(LENGTH_SHIFT)
_LOCKSTEP = 4 * MULTI_SYMBOLS
"""Samples the lockstep loop may write per refill (4 windows of up to 4 samples)."""


@nb.njit(cache=True)
def _decode_run(
    base: int, end: int, pos: int, bitbuf: np.uint64, bitcount: int, k: int, k1: int,
    multi: npt.NDArray[np.uint64], single: npt.NDArray[np.uint64], codes: npt.NDArray[np.uint8],
) -> tuple[int, np.uint64, int]:  # fmt: skip
    """Decode samples ``k .. k1-1`` of one block of one stream into ``codes``.

    Returns the bit reader state ``(pos, bitbuf, bitcount)`` after the last sample.
    """
    while k < k1:
        pos, bitbuf, bitcount = refill(base, end, pos, bitbuf, bitcount)
        if k + MULTI_SYMBOLS <= k1:
            entry = multi[bitbuf >> _MULTI_SHIFT]
        else:
            entry = single[bitbuf >> _SINGLE_SHIFT]
        store_u32(codes, U64(k), entry)
        k += (entry >> _COUNT_SHIFT) & U64(7)
        n = entry >> _LENGTH_SHIFT
        bitbuf <<= n
        bitcount -= n
    return pos, bitbuf, bitcount


@nb.njit(cache=True)
def decode_fdbaq_codes(
    base: int, start: int, end: int, nq: int, codes: npt.NDArray[np.uint8],
    brc: npt.NDArray[np.int16], thidx: npt.NDArray[np.int16],
) -> int:  # fmt: skip
    """Decode one packet's four channels into sample bytes (pass 1, one stream).

    Parameters
    ----------
    base
        Address of the byte stream (``buf.ctypes.data``).
    start, end
        Byte range of the user data field.
    nq
        Number of quads (NQ).
    codes
        uint8, at least ``4 * nq + 8``: channel ``c`` sample ``k`` goes to ``c * nq + k``
        as ``sign << 4 | M-code``.
    brc, thidx
        Per-block BRC and THIDX, written here (at least ``ceil(nq / 128)`` entries).

    Returns
    -------
    int
        :data:`OK`, :data:`TOO_SHORT` or :data:`BAD_BRC`.
    """
    nblocks = (nq + BLOCK_QUADS - 1) // BLOCK_QUADS
    pos = start
    bitbuf = U64(0)
    bitcount = 0
    for ch in range(4):
        for b in range(nblocks):
            pos, bitbuf, bitcount = refill(base, end, pos, bitbuf, bitcount)
            if ch == 0:
                brc[b] = bitbuf >> U64(61)
                bitbuf <<= U64(3)
                bitcount -= 3
                if brc[b] > 4:
                    return BAD_BRC
            elif ch == 2:
                thidx[b] = bitbuf >> U64(56)
                bitbuf <<= U64(8)
                bitcount -= 8
            k0 = ch * nq + b * BLOCK_QUADS
            k1 = ch * nq + min(nq, (b + 1) * BLOCK_QUADS)
            pos, bitbuf, bitcount = _decode_run(
                base, end, pos, bitbuf, bitcount, k0, k1,
                FDBAQ_MULTI[brc[b]], FDBAQ_SINGLE[brc[b]], codes,
            )  # fmt: skip
        consumed = align16(start, pos, bitcount)
        if consumed > (end - start) * 8:
            return TOO_SHORT
        pos = start + consumed // 8
        bitbuf = U64(0)
        bitcount = 0
    return OK


@nb.njit(cache=True)
def decode_fdbaq_codes_pair(
    base: int, start_a: int, end_a: int, start_b: int, end_b: int, nq: int,
    codes_a: npt.NDArray[np.uint8], codes_b: npt.NDArray[np.uint8],
    brc_a: npt.NDArray[np.int16], thidx_a: npt.NDArray[np.int16],
    brc_b: npt.NDArray[np.int16], thidx_b: npt.NDArray[np.int16],
) -> int:  # fmt: skip
    """Pass 1 for two packets of the same NQ at once (arguments as :func:`decode_fdbaq_codes`).

    Returns :data:`OK` when both decoded; otherwise a non-zero code, and the caller
    decodes each packet alone to learn which failed and why.
    """
    nblocks = (nq + BLOCK_QUADS - 1) // BLOCK_QUADS
    pos_a = start_a
    pos_b = start_b
    bitbuf_a = U64(0)
    bitbuf_b = U64(0)
    bitcount_a = 0
    bitcount_b = 0
    for ch in range(4):
        for b in range(nblocks):
            pos_a, bitbuf_a, bitcount_a = refill(base, end_a, pos_a, bitbuf_a, bitcount_a)
            pos_b, bitbuf_b, bitcount_b = refill(base, end_b, pos_b, bitbuf_b, bitcount_b)
            if ch == 0:
                brc_a[b] = bitbuf_a >> U64(61)
                brc_b[b] = bitbuf_b >> U64(61)
                bitbuf_a <<= U64(3)
                bitbuf_b <<= U64(3)
                bitcount_a -= 3
                bitcount_b -= 3
                if brc_a[b] > 4 or brc_b[b] > 4:
                    return BAD_BRC
            elif ch == 2:
                thidx_a[b] = bitbuf_a >> U64(56)
                thidx_b[b] = bitbuf_b >> U64(56)
                bitbuf_a <<= U64(8)
                bitbuf_b <<= U64(8)
                bitcount_a -= 8
                bitcount_b -= 8
            multi_a = FDBAQ_MULTI[brc_a[b]]
            multi_b = FDBAQ_MULTI[brc_b[b]]
            k_a = k_b = ch * nq + b * BLOCK_QUADS
            k1 = ch * nq + min(nq, (b + 1) * BLOCK_QUADS)
            while k_a + _LOCKSTEP <= k1 and k_b + _LOCKSTEP <= k1:
                pos_a, bitbuf_a, bitcount_a = refill(base, end_a, pos_a, bitbuf_a, bitcount_a)
                pos_b, bitbuf_b, bitcount_b = refill(base, end_b, pos_b, bitbuf_b, bitcount_b)
                for _ in range(4):  # 4 windows of <= 11 bits fit in the >= 56 bits held
                    entry_a = multi_a[bitbuf_a >> _MULTI_SHIFT]
                    entry_b = multi_b[bitbuf_b >> _MULTI_SHIFT]
                    store_u32(codes_a, U64(k_a), entry_a)
                    store_u32(codes_b, U64(k_b), entry_b)
                    k_a += (entry_a >> _COUNT_SHIFT) & U64(7)
                    k_b += (entry_b >> _COUNT_SHIFT) & U64(7)
                    n_a = entry_a >> _LENGTH_SHIFT
                    n_b = entry_b >> _LENGTH_SHIFT
                    bitbuf_a <<= n_a
                    bitbuf_b <<= n_b
                    bitcount_a -= n_a
                    bitcount_b -= n_b
            while k_a + MULTI_SYMBOLS <= k1 and k_b + MULTI_SYMBOLS <= k1:
                pos_a, bitbuf_a, bitcount_a = refill(base, end_a, pos_a, bitbuf_a, bitcount_a)
                pos_b, bitbuf_b, bitcount_b = refill(base, end_b, pos_b, bitbuf_b, bitcount_b)
                entry_a = multi_a[bitbuf_a >> _MULTI_SHIFT]
                entry_b = multi_b[bitbuf_b >> _MULTI_SHIFT]
                store_u32(codes_a, U64(k_a), entry_a)
                store_u32(codes_b, U64(k_b), entry_b)
                k_a += (entry_a >> _COUNT_SHIFT) & U64(7)
                k_b += (entry_b >> _COUNT_SHIFT) & U64(7)
                n_a = entry_a >> _LENGTH_SHIFT
                n_b = entry_b >> _LENGTH_SHIFT
                bitbuf_a <<= n_a
                bitbuf_b <<= n_b
                bitcount_a -= n_a
                bitcount_b -= n_b
            # the rest of each stream's block, the last samples one by one
            single_a = FDBAQ_SINGLE[brc_a[b]]
            single_b = FDBAQ_SINGLE[brc_b[b]]
            while k_a < k1:
                pos_a, bitbuf_a, bitcount_a = refill(base, end_a, pos_a, bitbuf_a, bitcount_a)
                if k_a + MULTI_SYMBOLS <= k1:
                    entry_a = multi_a[bitbuf_a >> _MULTI_SHIFT]
                else:
                    entry_a = single_a[bitbuf_a >> _SINGLE_SHIFT]
                store_u32(codes_a, U64(k_a), entry_a)
                k_a += (entry_a >> _COUNT_SHIFT) & U64(7)
                n_a = entry_a >> _LENGTH_SHIFT
                bitbuf_a <<= n_a
                bitcount_a -= n_a
            while k_b < k1:
                pos_b, bitbuf_b, bitcount_b = refill(base, end_b, pos_b, bitbuf_b, bitcount_b)
                if k_b + MULTI_SYMBOLS <= k1:
                    entry_b = multi_b[bitbuf_b >> _MULTI_SHIFT]
                else:
                    entry_b = single_b[bitbuf_b >> _SINGLE_SHIFT]
                store_u32(codes_b, U64(k_b), entry_b)
                k_b += (entry_b >> _COUNT_SHIFT) & U64(7)
                n_b = entry_b >> _LENGTH_SHIFT
                bitbuf_b <<= n_b
                bitcount_b -= n_b
        consumed_a = align16(start_a, pos_a, bitcount_a)
        consumed_b = align16(start_b, pos_b, bitcount_b)
        if consumed_a > (end_a - start_a) * 8 or consumed_b > (end_b - start_b) * 8:
            return TOO_SHORT
        pos_a = start_a + consumed_a // 8
        pos_b = start_b + consumed_b // 8
        bitbuf_a = bitbuf_b = U64(0)
        bitcount_a = bitcount_b = 0
    return OK


@nb.njit(cache=True)
def reconstruct_fdbaq(
    codes: npt.NDArray[np.uint8], brc: npt.NDArray[np.int16], thidx: npt.NDArray[np.int16],
    nq: int, out: npt.NDArray[np.float32],
) -> None:  # fmt: skip
    """Pass 2: sample bytes to interleaved float32 ``IE, QE, IO, QO`` per quad (section 5.2).

    A negative sign with M-code 0 gives -0.0, as the sign-magnitude code says. Sixteen
    quads at a time with :func:`sar.l0.simd.lut_interleave16`, the rest one by one.
    ``out`` must be contiguous (a row of the output).
    """
    lut = np.empty(32, dtype=np.float32)
    lut_at = lut.ctypes.data
    codes_at = codes.ctypes.data
    out_at = out.ctypes.data
    n = U64(nq)
    for b in range((nq + BLOCK_QUADS - 1) // BLOCK_QUADS):
        levels = FDBAQ_RECON[brc[b], thidx[b]]
        for m in range(16):
            lut[m] = levels[m]
            lut[16 + m] = -levels[m]
        k = b * BLOCK_QUADS
        k1 = min(nq, (b + 1) * BLOCK_QUADS)
        while k + 16 <= k1:
            lut_interleave16(out_at + 16 * k, codes_at + k, nq, lut_at)
            k += 16
        for q in range(U64(k), U64(k1)):
            o = U64(4) * q
            out[o] = lut[codes[q]]
            out[o + U64(1)] = lut[codes[U64(2) * n + q]]
            out[o + U64(2)] = lut[codes[n + q]]
            out[o + U64(3)] = lut[codes[U64(3) * n + q]]
