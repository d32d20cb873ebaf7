"""The previous user data decoder, kept as the reference of :mod:`sar.l0.userdata`.

These are the kernels :mod:`sar.l0.userdata` used before the table-driven decoder
(S1-IF-ASD-PL-0007 sections 4.2-4.4, 5.2): one sample per step, a 10-bit peek table
per FDBAQ sample (:data:`sar.l0.luts.HUFFMAN_MCODE` / ``HUFFMAN_LENGTH``), a bit
accumulator refilled a byte at a time, packets in parallel. They stay because they are
simple enough to check against the specification by reading, and because a second,
independent implementation is what the fast decoder is tested against
(``tests/sar/l0/test_userdata_fast.py``) and timed against (:mod:`benchmarks.decode`).
Selected with ``reference=True`` in :func:`sar.l0.userdata.decode_user_data_blocks`.

Output conventions are those of :mod:`sar.l0.userdata`.
"""

from __future__ import annotations

import numba as nb
import numpy as np
import numpy.typing as npt

from sar.l0.luts import BAQ_RECON, FDBAQ_RECON, HUFFMAN_LENGTH, HUFFMAN_MCODE, PEEK_BITS

HUFFMAN_SYMBOL = HUFFMAN_MCODE | ((np.arange(1 << PEEK_BITS) >> (PEEK_BITS - 5)) & 0x10).astype(
    np.uint8
)
"""``[brc, window]``: sign << 4 | M-code of the sample starting a 10-bit window."""

HUFFMAN_ENTRY = (HUFFMAN_LENGTH.astype(np.int64) << 5) | HUFFMAN_SYMBOL
"""``[brc, window]``: code length << 5 | sign << 4 | M-code (one table load per sample)."""

BLOCK_QUADS = 128
OK = 0
TOO_SHORT = 1
BAD_BRC = 2
BAD_MODE = 3


@nb.njit(cache=True, inline="always")
def _peek(buf: npt.NDArray[np.uint8], end: int, pos: int, nbits: int) -> int:
    """Return ``nbits`` (<= 24) bits at bit ``pos``; bytes at or after ``end`` read as 0."""
    byte = pos >> 3
    word: int = 0
    for k in range(4):
        word <<= 8
        if byte + k < end:
            word |= int(buf[byte + k])
    return (word >> (32 - (pos & 7) - nbits)) & ((1 << nbits) - 1)


@nb.njit(cache=True, inline="always")
def _align16(pos: int, start: int) -> int:
    return start + ((pos - start + 15) // 16) * 16


@nb.njit(cache=True)
def _decode_bypass(
    buf: npt.NDArray[np.uint8], start: int, end: int, nq: int, out: npt.NDArray[np.float32]
) -> int:
    words = (10 * nq + 15) // 16
    if start + 8 * words > end:
        return TOO_SHORT
    for ch in range(4):
        pos = (start + ch * 2 * words) * 8
        slot = (0, 2, 1, 3)[ch]
        for k in range(nq):
            code = _peek(buf, end, pos, 10)
            pos += 10
            mag = np.float32(code & 0x1FF)
            out[4 * k + slot] = -mag if code & 0x200 else mag
    return OK


@nb.njit(cache=True)
def _decode_baq(
    buf: npt.NDArray[np.uint8], start: int, end: int, nq: int, nbits: int,
    out: npt.NDArray[np.float32], thidx_out: npt.NDArray[np.int16],
) -> int:  # fmt: skip
    nblocks = (nq + BLOCK_QUADS - 1) // BLOCK_QUADS
    words = (nbits * nq + 15) // 16
    words_qe = (nbits * nq + 8 * nblocks + 15) // 16
    if start + 2 * (3 * words + words_qe) > end:
        return TOO_SHORT
    thidx = np.empty(nblocks, dtype=np.int64)
    # QE first: it carries the THIDX of every block
    pos = (start + 4 * words) * 8
    for b in range(nblocks):
        thidx[b] = _peek(buf, end, pos, 8)
        thidx_out[b] = thidx[b]
        pos += 8
        for k in range(b * BLOCK_QUADS, min(nq, (b + 1) * BLOCK_QUADS)):
            code = _peek(buf, end, pos, nbits)
            pos += nbits
            mag = BAQ_RECON[nbits, thidx[b], code & ((1 << (nbits - 1)) - 1)]
            out[4 * k + 1] = -mag if code >> (nbits - 1) else mag
    for ch in (0, 1, 3):
        pos = (start + ch * 2 * words + (2 * (words_qe - words) if ch == 3 else 0)) * 8
        slot = (0, 2, 0, 3)[ch]
        for k in range(nq):
            code = _peek(buf, end, pos, nbits)
            pos += nbits
            mag = BAQ_RECON[nbits, thidx[k // BLOCK_QUADS], code & ((1 << (nbits - 1)) - 1)]
            out[4 * k + slot] = -mag if code >> (nbits - 1) else mag
    return OK


@nb.njit(cache=True)
def _decode_fdbaq(
    buf: npt.NDArray[np.uint8], start: int, end: int, nq: int, out: npt.NDArray[np.float32],
    brc_out: npt.NDArray[np.int16], thidx_out: npt.NDArray[np.int16],
) -> int:  # fmt: skip
    nblocks = (nq + BLOCK_QUADS - 1) // BLOCK_QUADS
    brc = np.empty(nblocks, dtype=np.int64)
    thidx = np.empty(nblocks, dtype=np.int64)
    held = np.empty(2 * nq, dtype=np.uint8)  # IE, IO codes until the THIDX is known
    lut = np.empty(32, dtype=np.float32)  # sign << 4 | M-code -> value, for one block
    end_bit = end * 8
    byte = start  # next byte to load into the bit accumulator
    acc = 0  # bit accumulator: its low `nacc` bits are the next bits of the stream
    nacc = 0
    consumed = 0  # bits consumed since the start of the user data
    for ch in range(4):
        slot = (0, 2, 1, 3)[ch]
        for b in range(nblocks):
            if nacc < 16:
                while nacc <= 48:
                    acc = ((acc & ((1 << nacc) - 1)) << 8) | (int(buf[byte]) if byte < end else 0)
                    byte += 1
                    nacc += 8
            if ch == 0:
                brc[b] = (acc >> (nacc - 3)) & 7
                nacc -= 3
                if brc[b] > 4:
                    return BAD_BRC
                brc_out[b] = brc[b]
            elif ch == 2:
                thidx[b] = (acc >> (nacc - 8)) & 0xFF
                thidx_out[b] = thidx[b]
                nacc -= 8
            if ch >= 2:
                for m in range(16):
                    level = FDBAQ_RECON[brc[b], thidx[b], m]
                    lut[m] = level
                    lut[16 + m] = -level
            r = brc[b]
            k0 = b * BLOCK_QUADS
            k1 = min(nq, k0 + BLOCK_QUADS)
            table = HUFFMAN_ENTRY[r]
            for k in range(k0, k1):
                if nacc < PEEK_BITS:
                    acc &= (1 << nacc) - 1
                    if byte + 6 <= end:
                        for _ in range(6):
                            acc = (acc << 8) | int(buf[byte])
                            byte += 1
                        nacc += 48
                    else:
                        while nacc <= 48:
                            acc = (acc << 8) | (int(buf[byte]) if byte < end else 0)
                            byte += 1
                            nacc += 8
                entry = table[(acc >> (nacc - PEEK_BITS)) & ((1 << PEEK_BITS) - 1)]
                length = entry >> 5
                nacc -= length
                if ch < 2:
                    held[ch * nq + k] = entry & 0x1F
                else:
                    out[4 * k + slot] = lut[entry & 0x1F]
            if ch == 2:
                # IE and IO codes of this block can now be reconstructed
                for k in range(k0, k1):
                    out[4 * k] = lut[held[k]]
                    out[4 * k + 2] = lut[held[nq + k]]
        # channel ends on a 16-bit boundary
        consumed = (byte - start) * 8 - nacc
        consumed += (-consumed) % 16
        byte = start + consumed // 8
        nacc = 0
        if start * 8 + consumed > end_bit:
            return TOO_SHORT
    return OK


@nb.njit(cache=True, parallel=True)
def decode_batch_reference(
    buf: npt.NDArray[np.uint8],
    starts: npt.NDArray[np.int64],
    ends: npt.NDArray[np.int64],
    quads: npt.NDArray[np.int64],
    modes: npt.NDArray[np.int64],
    out: npt.NDArray[np.float32],
    status: npt.NDArray[np.int64],
    block_brc: npt.NDArray[np.int16],
    block_thidx: npt.NDArray[np.int16],
) -> None:
    for i in nb.prange(starts.shape[0]):
        row = out[i]
        mode = modes[i]
        if mode == 0:
            status[i] = _decode_bypass(buf, starts[i], ends[i], quads[i], row)
        elif mode == 3 or mode == 4 or mode == 5:
            status[i] = _decode_baq(buf, starts[i], ends[i], quads[i], mode, row, block_thidx[i])
        elif mode == 12 or mode == 13 or mode == 14:
            status[i] = _decode_fdbaq(
                buf, starts[i], ends[i], quads[i], row, block_brc[i], block_thidx[i]
            )
        else:
            status[i] = BAD_MODE
        row[4 * quads[i] :] = 0.0
