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

Packets are independent once framed: they are decoded in parallel (numba ``prange``),
FDBAQ packets two at a time where two have the same NQ (:func:`pair_schedule`,
:func:`sar.l0.fdbaq.decode_fdbaq_codes_pair`), several samples per Huffman table lookup
(:mod:`sar.l0.huffman`). The output is bit-identical to the previous one-sample-per-step
decoder, kept as :mod:`sar.l0.userdata_reference` (``reference=True``).
"""

from __future__ import annotations

import numba as nb
import numpy as np
import numpy.typing as npt

from sar.errors import Level0Error
from sar.l0.bitio import U64, refill
from sar.l0.fdbaq import (
    BAD_BRC,
    BLOCK_QUADS,
    OK,
    TOO_SHORT,
    decode_fdbaq_codes,
    decode_fdbaq_codes_pair,
    reconstruct_fdbaq,
)
from sar.l0.luts import BAQ_RECON
from sar.l0.userdata_reference import decode_batch_reference

BAD_MODE = 3
STATUS_TEXT = {
    OK: "ok",
    TOO_SHORT: "user data too short for number_of_quads",
    BAD_BRC: "invalid bit-rate code (BRC > 4)",
    BAD_MODE: "unsupported BAQ mode",
}
"""Meaning of the per-packet status codes of :func:`decode_user_data`."""

__all__ = [
    "BAD_BRC",
    "BAD_MODE",
    "BLOCK_QUADS",
    "OK",
    "STATUS_TEXT",
    "TOO_SHORT",
    "decode_user_data",
    "decode_user_data_blocks",
    "pair_schedule",
]

CHUNK_ITEMS = 4
"""Work items (packet pairs) a thread takes at a time: small, so that a thread slowed
down by other processes does not hold back the others (dynamic scheduling)."""

_SLOT = (0, 2, 1, 3)
"""Float offset inside a quad's ``IE, QE, IO, QO`` of channel IE, IO, QE, QO."""


@nb.njit(cache=True)
def _decode_bypass(base: int, start: int, end: int, nq: int, out: npt.NDArray[np.float32]) -> int:
    """Bypass: four channels of 10-bit sign-magnitude samples (section 4.2)."""
    words = (10 * nq + 15) // 16
    if start + 8 * words > end:
        return TOO_SHORT
    for ch in range(4):
        pos = start + ch * 2 * words
        bitbuf = U64(0)
        bitcount = 0
        slot = U64(_SLOT[ch])
        for k in range(U64(nq)):
            if bitcount < 10:
                pos, bitbuf, bitcount = refill(base, end, pos, bitbuf, bitcount)
            code = bitbuf >> U64(54)
            bitbuf <<= U64(10)
            bitcount -= 10
            mag = np.float32(code & U64(0x1FF))
            out[U64(4) * k + slot] = -mag if code & U64(0x200) else mag
    return OK


@nb.njit(cache=True)
def _decode_baq(
    base: int, start: int, end: int, nq: int, nbits: int,
    out: npt.NDArray[np.float32], thidx: npt.NDArray[np.int16],
) -> int:  # fmt: skip
    """BAQ 3/4/5 bit: n-bit sign-magnitude M-codes, THIDX per QE block (section 4.3)."""
    nblocks = (nq + BLOCK_QUADS - 1) // BLOCK_QUADS
    words = (nbits * nq + 15) // 16
    words_qe = (nbits * nq + 8 * nblocks + 15) // 16
    if start + 2 * (3 * words + words_qe) > end:
        return TOO_SHORT
    shift = U64(64 - nbits)
    sign_bit = U64(1 << (nbits - 1))
    mask = sign_bit - U64(1)
    for ch in (2, 0, 1, 3):  # QE first: it carries the THIDX of every block
        pos = start + 2 * (ch * words if ch < 3 else 2 * words + words_qe)
        bitbuf = U64(0)
        bitcount = 0
        slot = U64(_SLOT[ch])
        for b in range(nblocks):
            if ch == 2:
                pos, bitbuf, bitcount = refill(base, end, pos, bitbuf, bitcount)
                thidx[b] = bitbuf >> U64(56)
                bitbuf <<= U64(8)
                bitcount -= 8
            levels = BAQ_RECON[nbits, thidx[b]]
            for k in range(U64(b * BLOCK_QUADS), U64(min(nq, (b + 1) * BLOCK_QUADS))):
                if bitcount < nbits:
                    pos, bitbuf, bitcount = refill(base, end, pos, bitbuf, bitcount)
                code = bitbuf >> shift
                bitbuf <<= U64(nbits)
                bitcount -= nbits
                mag = levels[code & mask]
                out[U64(4) * k + slot] = -mag if code & sign_bit else mag
    return OK


@nb.njit(cache=True)
def _decode_fdbaq(
    base: int, start: int, end: int, nq: int, out: npt.NDArray[np.float32],
    brc: npt.NDArray[np.int16], thidx: npt.NDArray[np.int16],
) -> int:  # fmt: skip
    """FDBAQ, one packet (section 4.4): Huffman codes, then reconstruction."""
    codes = np.empty(4 * nq + 8, dtype=np.uint8)
    status = decode_fdbaq_codes(base, start, end, nq, codes, brc, thidx)
    if status == OK:
        reconstruct_fdbaq(codes, brc, thidx, nq, out)
    return status


@nb.njit(cache=True)
def _decode_one(
    base: int, start: int, end: int, nq: int, mode: int, out: npt.NDArray[np.float32],
    brc: npt.NDArray[np.int16], thidx: npt.NDArray[np.int16],
) -> int:  # fmt: skip
    """Decode one packet of any BAQ mode into ``out`` (4 * nq float32)."""
    if mode == 0:
        return _decode_bypass(base, start, end, nq, out)
    if mode == 3 or mode == 4 or mode == 5:
        return _decode_baq(base, start, end, nq, mode, out, thidx)
    if mode == 12 or mode == 13 or mode == 14:
        return _decode_fdbaq(base, start, end, nq, out, brc, thidx)
    return BAD_MODE


@nb.njit(cache=True)
def _decode_pair(
    base: int, start_a: int, end_a: int, start_b: int, end_b: int, nq: int,
    out_a: npt.NDArray[np.float32], out_b: npt.NDArray[np.float32],
    brc_a: npt.NDArray[np.int16], thidx_a: npt.NDArray[np.int16],
    brc_b: npt.NDArray[np.int16], thidx_b: npt.NDArray[np.int16],
) -> tuple[int, int]:  # fmt: skip
    """Two FDBAQ packets of the same NQ in lockstep; each alone if either fails."""
    codes_a = np.empty(4 * nq + 8, dtype=np.uint8)
    codes_b = np.empty(4 * nq + 8, dtype=np.uint8)
    status = decode_fdbaq_codes_pair(
        base, start_a, end_a, start_b, end_b, nq, codes_a, codes_b, brc_a, thidx_a, brc_b, thidx_b
    )
    if status != OK:  # which one, and why: as if decoded alone
        return (
            _decode_fdbaq(base, start_a, end_a, nq, out_a, brc_a, thidx_a),
            _decode_fdbaq(base, start_b, end_b, nq, out_b, brc_b, thidx_b),
        )
    reconstruct_fdbaq(codes_a, brc_a, thidx_a, nq, out_a)
    reconstruct_fdbaq(codes_b, brc_b, thidx_b, nq, out_b)
    return OK, OK


@nb.njit(cache=True, parallel=True)
def _decode_batch(
    buf: npt.NDArray[np.uint8],
    starts: npt.NDArray[np.int64],
    ends: npt.NDArray[np.int64],
    quads: npt.NDArray[np.int64],
    modes: npt.NDArray[np.int64],
    first: npt.NDArray[np.int64],
    second: npt.NDArray[np.int64],
    out: npt.NDArray[np.float32],
    status: npt.NDArray[np.int64],
    block_brc: npt.NDArray[np.int16],
    block_thidx: npt.NDArray[np.int16],
) -> None:
    base = buf.ctypes.data
    for j in nb.prange(first.shape[0]):
        a = first[j]
        b = second[j]
        if b >= 0:
            status[a], status[b] = _decode_pair(
                base, starts[a], ends[a], starts[b], ends[b], quads[a], out[a], out[b],
                block_brc[a], block_thidx[a], block_brc[b], block_thidx[b],
            )  # fmt: skip
            out[b, 4 * quads[b] :] = 0.0
        else:
            status[a] = _decode_one(
                base, starts[a], ends[a], quads[a], modes[a], out[a], block_brc[a], block_thidx[a]
            )
        out[a, 4 * quads[a] :] = 0.0


def pair_schedule(
    number_of_quads: npt.NDArray[np.int64], baq_modes: npt.NDArray[np.int64]
) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64]]:
    """Order of work: FDBAQ packets paired by equal NQ, every other packet alone.

    Returns
    -------
    first, second : numpy.ndarray
        int64 packet indices of each work item; ``second`` is -1 for a single packet.
        Pairs are formed in stream order within each NQ, so that a pair's bytes are
        close together.
    """
    fdbaq = np.flatnonzero(np.isin(baq_modes, (12, 13, 14)))
    order = fdbaq[np.argsort(number_of_quads[fdbaq], kind="stable")]
    nq = number_of_quads[order]
    run_start = np.flatnonzero(np.r_[True, nq[1:] != nq[:-1]]) if order.size else order
    rank = np.arange(order.size) - np.repeat(run_start, np.diff(np.r_[run_start, order.size]))
    lead = (rank % 2 == 0) & np.r_[nq[1:] == nq[:-1], False]
    lead_at = np.flatnonzero(lead)
    paired = np.zeros(order.size, dtype=bool)
    paired[lead_at] = paired[lead_at + 1] = True
    singles = np.sort(np.r_[order[~paired], np.flatnonzero(~np.isin(baq_modes, (12, 13, 14)))])
    first = np.r_[order[lead_at], singles].astype(np.int64)
    second = np.r_[order[lead_at + 1], np.full(singles.size, -1)].astype(np.int64)
    return first, second


def decode_user_data(
    buf: npt.NDArray[np.uint8],
    starts: npt.NDArray[np.int64],
    ends: npt.NDArray[np.int64],
    number_of_quads: npt.NDArray[np.int64],
    baq_modes: npt.NDArray[np.int64],
    n_columns: int | None = None,
    *,
    reference: bool = False,
) -> tuple[npt.NDArray[np.complex64], npt.NDArray[np.int64]]:
    """Decode the user data of many packets in parallel (samples and status only).

    Arguments and results as in :func:`decode_user_data_blocks`, without the per-block
    parameters.
    """
    iq, status, _, _ = decode_user_data_blocks(
        buf, starts, ends, number_of_quads, baq_modes, n_columns, reference=reference
    )
    return iq, status


def decode_user_data_blocks(
    buf: npt.NDArray[np.uint8],
    starts: npt.NDArray[np.int64],
    ends: npt.NDArray[np.int64],
    number_of_quads: npt.NDArray[np.int64],
    baq_modes: npt.NDArray[np.int64],
    n_columns: int | None = None,
    *,
    reference: bool = False,
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
    reference
        Use the previous one-sample-per-step kernels (:mod:`sar.l0.userdata_reference`):
        same output, several times slower; for tests and benchmarks.

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

    Raises
    ------
    Level0Error
        If a byte range lies outside ``buf`` or the arrays differ in length.
    """
    buf = np.ascontiguousarray(buf, dtype=np.uint8).ravel()
    starts = np.asarray(starts, dtype=np.int64)
    ends = np.asarray(ends, dtype=np.int64)
    quads = np.asarray(number_of_quads, dtype=np.int64)
    modes = np.asarray(baq_modes, dtype=np.int64)
    n = starts.shape[0]
    if not ends.shape == quads.shape == modes.shape == (n,):
        raise Level0Error("starts, ends, number_of_quads and baq_modes must have one entry each")
    if n and (starts.min() < 0 or ends.max() > buf.size or np.any(ends < starts)):
        raise Level0Error(f"user data byte ranges must lie inside the {buf.size}-byte buffer")
    if n and quads.min() < 0:
        raise Level0Error("number_of_quads must not be negative")
    width = int(2 * quads.max()) if n_columns is None and n else (n_columns or 0)
    max_quads = int(quads.max()) if n else 0
    if width < 2 * max_quads:
        raise Level0Error(f"n_columns {width} is less than 2 * max(number_of_quads)")
    nblocks = (max_quads + BLOCK_QUADS - 1) // BLOCK_QUADS
    iq = np.empty((n, width), dtype=np.complex64)  # the kernels zero each row's tail
    status = np.zeros(n, dtype=np.int64)
    block_brc = np.full((n, nblocks), -1, dtype=np.int16)
    block_thidx = np.full((n, nblocks), -1, dtype=np.int16)
    if n:
        flat = iq.view(np.float32)
        if reference:
            decode_batch_reference(
                buf, starts, ends, quads, modes, flat, status, block_brc, block_thidx
            )
        else:
            first, second = pair_schedule(quads, modes)
            previous_chunk = nb.get_parallel_chunksize()
            nb.set_parallel_chunksize(CHUNK_ITEMS)
            try:
                _decode_batch(
                    buf, starts, ends, quads, modes, first, second, flat, status, block_brc,
                    block_thidx,
                )  # fmt: skip
            finally:
                nb.set_parallel_chunksize(previous_chunk)
    return iq, status, block_brc, block_thidx
