"""Numba decoders of the packet user data field (S1-IF-ASD-PL-0007 section 3.3 and 4).

Four channels follow each other: IE, IO, QE, QO (in-phase/quadrature of the even/odd
samples), each padded to a 16-bit word boundary; the whole field is padded to a
multiple of 4 octets. Formats:

* bypass (data format A/B, BAQ mode 0): 10-bit sign-magnitude samples (section 4.2);
* BAQ 3/4/5 bit (format C): n-bit sign-magnitude M-codes in blocks of 128 quads, an
  8-bit THIDX before each block of the QE channel (section 4.3);
* FDBAQ (format D, BAQ modes 12-14): per block of 128 quads a 3-bit BRC before the IE
  codes and an 8-bit THIDX before the QE codes; every sample is a sign bit and a
  Huffman-coded M-code (section 4.4, trees of section 3.3.4).

Reconstruction (section 5.2) maps (BRC or n bits, THIDX, M-code) to a magnitude with
:data:`sar.l0.luts.FDBAQ_RECON` / :data:`~sar.l0.luts.BAQ_RECON`.
Samples come out as complex64 with sample ``2k = IE[k] + 1j QE[k]`` and
``2k+1 = IO[k] + 1j QO[k]``.
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
"""Quads per BAQ/FDBAQ block (256 complex samples)."""

OK = 0
TOO_SHORT = 1
BAD_BRC = 2
BAD_MODE = 3
STATUS_TEXT = {
    OK: "ok",
    TOO_SHORT: "user data too short for number_of_quads",
    BAD_BRC: "invalid bit-rate code (BRC > 4)",
    BAD_MODE: "unsupported BAQ mode",
}
"""Meaning of the per-packet status codes of :func:`decode_user_data`."""


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
def _decode_batch(
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


def decode_user_data(
    buf: npt.NDArray[np.uint8],
    starts: npt.NDArray[np.int64],
    ends: npt.NDArray[np.int64],
    number_of_quads: npt.NDArray[np.int64],
    baq_modes: npt.NDArray[np.int64],
    n_columns: int | None = None,
) -> tuple[npt.NDArray[np.complex64], npt.NDArray[np.int64]]:
    """Decode the user data of many packets in parallel (samples and status only).

    Arguments and results as in :func:`decode_user_data_blocks`, without the per-block
    parameters.
    """
    iq, status, _, _ = decode_user_data_blocks(
        buf, starts, ends, number_of_quads, baq_modes, n_columns
    )
    return iq, status


def decode_user_data_blocks(
    buf: npt.NDArray[np.uint8],
    starts: npt.NDArray[np.int64],
    ends: npt.NDArray[np.int64],
    number_of_quads: npt.NDArray[np.int64],
    baq_modes: npt.NDArray[np.int64],
    n_columns: int | None = None,
) -> tuple[
    npt.NDArray[np.complex64], npt.NDArray[np.int64], npt.NDArray[np.int16], npt.NDArray[np.int16]
]:
    """Decode the user data of many packets in parallel, with the per-block parameters.

    Parameters
    ----------
    buf
        The byte stream, uint8.
    starts, ends
        Byte range ``[start, end)`` of each packet's user data field.
    number_of_quads
        NQ of each packet (header field, section 3.2.6).
    baq_modes
        BAQ-mode code of each packet (section 3.2.5.2).
    n_columns
        Width of the output; default ``2 * max(number_of_quads)``.

    Returns
    -------
    iq : numpy.ndarray
        complex64, shape (n, n_columns), zero-padded after ``2 * NQ`` samples.
    status : numpy.ndarray
        int64 per packet, 0 when decoded; otherwise a key of :data:`STATUS_TEXT`.
    block_brc : numpy.ndarray
        int16, shape (n, ceil(max NQ / 128)): the 3-bit BRC of each FDBAQ block
        (section 4.4); -1 for bypass/BAQ packets and past a packet's last block.
    block_thidx : numpy.ndarray
        int16, same shape: the 8-bit THIDX of each BAQ/FDBAQ block (sections 4.3, 4.4);
        -1 for bypass packets and past a packet's last block. Entries of a packet that
        failed to decode are unspecified.
    """
    n = starts.shape[0]
    width = int(2 * number_of_quads.max()) if n_columns is None and n else (n_columns or 0)
    max_quads = int(number_of_quads.max()) if n else 0
    nblocks = (max_quads + BLOCK_QUADS - 1) // BLOCK_QUADS
    iq = np.empty((n, width), dtype=np.complex64)  # the kernel zeroes each row's tail
    status = np.zeros(n, dtype=np.int64)
    block_brc = np.full((n, nblocks), -1, dtype=np.int16)
    block_thidx = np.full((n, nblocks), -1, dtype=np.int16)
    if n:
        flat = iq.view(np.float32)
        _decode_batch(
            buf,
            starts.astype(np.int64),
            ends.astype(np.int64),
            number_of_quads.astype(np.int64),
            baq_modes.astype(np.int64),
            flat,
            status,
            block_brc,
            block_thidx,
        )
    return iq, status, block_brc, block_thidx
